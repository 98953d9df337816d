//! Node built-ins written in JS: `node:process` (`process.js`),
//! `node:buffer` (the npm `buffer` package, vendored as data with its
//! license in `vendor/`) and `node:stream/web` (`stream_web.js` over the
//! npm `web-streams-polyfill` package, also vendored; the prelude's
//! Streams globals load it), `blob.js` behind the `Blob` and `File`
//! globals, `form_data.js` behind `FormData` (and fetch.js's FormData
//! bodies and `formData()`), `pair_iterator.js`, the iterators of
//! Headers and FormData, and `subtle.js` behind `crypto.subtle` (loaded by
//! `guest/src/web/crypto.js`). `stream_web.js` also has
//! `CompressionStream` and `DecompressionStream`, over the Rust codecs of
//! `compression.rs`, which it reaches as `require('jsbox:compression')`.
//! `guest/src/web/urlpattern.js`, behind `URLPattern`, and
//! `guest/src/web/messaging.js`, behind `MessageChannel`, are among them:
//! [`SOURCES`] is the guest's one registry of JS compiled on first use.
//! Their sources are kept in the guest's data
//! segment and compiled on first `require`, not in `init`: a runtime that
//! never uses them has nothing of them in its heap, and the snapshot's heap
//! (which every runtime maps and a collection walks) does not grow.

mod compression;

use javy::quickjs::context::EvalOptions;
use javy::quickjs::{Ctx, Exception, Function, Object, Result, Value};

/// Module name -> CommonJS source: every built-in JS file compiled on first
/// use rather than in `init`. `base64-js` and `ieee754` are only
/// reachable from `buffer`, and `web-streams-polyfill` from `stream/web`
/// (the prelude's internal `require`); `subtle`, `urlpattern` and
/// `messaging` from the web globals (`web.loadModule`, which gives them
/// `require('jsbox:web')`).
const SOURCES: &[(&str, &str)] = &[
    ("process", include_str!("process.js")),
    ("buffer", include_str!("vendor/buffer/index.js")),
    ("base64-js", include_str!("vendor/base64-js/index.js")),
    ("ieee754", include_str!("vendor/ieee754/index.js")),
    ("stream/web", include_str!("stream_web.js")),
    ("blob", include_str!("blob.js")),
    ("subtle", include_str!("subtle.js")),
    ("form_data", include_str!("form_data.js")),
    ("pair_iterator", include_str!("pair_iterator.js")),
    ("urlpattern", include_str!("../web/urlpattern.js")),
    ("messaging", include_str!("../web/messaging.js")),
    ("web-streams-polyfill", include_str!("vendor/web-streams-polyfill/dist/ponyfill.js")),
];

/// `jsbox:` name -> the Rust functions behind it, which only the built-in
/// JS modules can `require`. Made on that first `require`, not in `init`,
/// for the same reason as the sources above.
const NATIVES: &[(&str, for<'js> fn(&Ctx<'js>) -> Result<Object<'js>>)] =
    &[("jsbox:compression", compression::natives)];

/// The prelude's `nodeModule(name)`: the compiled CommonJS function of a
/// built-in JS module, called as `(exports, require, module)`; for a
/// `jsbox:` name, the object of Rust functions itself.
pub(crate) fn compiler<'js>(ctx: &Ctx<'js>) -> Result<Function<'js>> {
    Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| -> Result<Value<'js>> {
        if let Some((_, natives)) = NATIVES.iter().find(|(n, _)| *n == name) {
            return natives(&ctx).map(Value::from);
        }
        let Some((_, source)) = SOURCES.iter().find(|(n, _)| *n == name) else {
            return Err(Exception::throw_message(&ctx, &format!("no built-in module '{name}'")));
        };
        let mut options = EvalOptions::default();
        options.global = true;
        options.strict = false;
        options.backtrace_barrier = true;
        options.filename = Some(format!("node:{name}"));
        ctx.eval_with_options(crate::commonjs_wrapper(&name, source), options)
    })
}
