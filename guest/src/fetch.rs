//! `fetch`, `Headers`, `Request` and `Response`: installs `fetch.js` as
//! globals. The requests go to the host's built-in `jsbox:net` module
//! (registered only when the embedder grants net access) through the event
//! loop's `callAsync`; the host checks the grants, so nothing here decides
//! what may be reached.

use javy::quickjs::{CatchResultExt, Ctx, Function};

use crate::{caught_to_error, error, eval_script, ErrorKind, JsError};

const FETCH: &str = include_str!("fetch.js");
const FETCH_NAME: &str = "jsbox:fetch";

/// Evaluates `fetch.js` and installs its globals; `call_async` is
/// `callAsync(module, fn, args)` returning a promise of the result, and
/// `builtin_module` the prelude's `builtinModule(name)` (FormData bodies
/// load `form_data.js` through it).
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    call_async: Function<'js>,
    builtin_module: Function<'js>,
) -> Result<(), JsError> {
    let install: Function = eval_script(ctx, FETCH, FETCH_NAME)?
        .into_function()
        .ok_or_else(|| error(ErrorKind::Invalid, "fetch.js is not a function"))?;
    install.call::<_, ()>((call_async, builtin_module)).catch(ctx).map_err(|c| caught_to_error(ctx, c))
}
