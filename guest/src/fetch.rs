//! `fetch`, `Headers`, `Request` and `Response`: installs `fetch.js` as
//! globals. The requests go to the host's built-in `jsbox:net` module
//! (registered only when the embedder grants net access) through the event
//! loop's `callAsync`; the host checks the grants, so nothing here decides
//! what may be reached. The one exception is a `data:` URL, whose response
//! is made here (it reaches nothing outside the sandbox, so needs no grant).

use javy::quickjs::{Array, ArrayBuffer, CatchResultExt, Ctx, Function, Value};

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
    let data_url = Function::new(ctx.clone(), data_url).map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
    install
        .call::<_, ()>((call_async, builtin_module, data_url))
        .catch(ctx)
        .map_err(|c| caught_to_error(ctx, c))
}

/// `dataUrl(url)`: the Fetch Standard's data: URL processor on a parsed
/// URL's serialization, as `[mime type serialized, body ArrayBuffer]`, or
/// null on failure (fetch.js turns that into a network error). The
/// `data-url` crate implements the processor; it ignores the fragment.
fn data_url<'js>(ctx: Ctx<'js>, url: String) -> javy::quickjs::Result<Value<'js>> {
    let Ok(parsed) = data_url::DataUrl::process(&url) else { return Ok(Value::new_null(ctx)) };
    let Ok((body, _fragment)) = parsed.decode_to_vec() else { return Ok(Value::new_null(ctx)) };
    let out = Array::new(ctx.clone())?;
    out.set(0, parsed.mime_type().to_string())?;
    out.set(1, ArrayBuffer::new(ctx, body)?)?;
    Ok(out.into_value())
}
