//! Web platform globals (the WinterTC Minimum Common API subset jsbox has;
//! `docs/web-platform.md` has the table): `URL`, `URLSearchParams`, `atob`,
//! `btoa`, `structuredClone`, `crypto`, `performance`, `Event`,
//! `EventTarget`, `AbortController`, `AbortSignal`, `DOMException`,
//! `queueMicrotask`, `reportError`, `navigator`, `MessageChannel`,
//! `MessagePort`, `MessageEvent`, and fixes to javy's
//! `TextEncoder` / `TextDecoder`.
//!
//! Rust does what needs a crate or the host (URL parsing with the `url`
//! crate, base64, WASI randomness and clocks); each concept's JS file in
//! this folder builds the WebIDL-shaped classes on top. [`install`] runs
//! once in `init`, so everything is compiled into the Wizer snapshot and a
//! runtime pays nothing to have these globals, except the classes few
//! runtimes use (`URLPattern`, `crypto.subtle`): their global is an
//! accessor that compiles a built-in CommonJS module on first read
//! (`web.loadModule`, from the one registry of such sources,
//! `crate::node`'s), so the snapshot's heap does not carry them. Nothing
//! per-runtime (random bytes, the time origin) is computed here.
//!
//! The JS files are expressions: functions called with `(native, web)`,
//! where `native` holds the Rust functions below and `web` is an internal
//! object through which files share classes (e.g. `DOMException`) without
//! exposing more globals. Neither is reachable from user code.

mod base64;
mod clock;
mod random;
mod subtle;
mod text_decoder;
mod url;
mod urlpattern;

use javy::quickjs::context::EvalOptions;
use javy::quickjs::{Ctx, Function, Object, Result, Value};

/// Makes `$ty` a class that a JS object can hold: `Class::instance(ctx,
/// value)` wraps a Rust value in an object with no prototype or
/// constructor (`NAME` is the type's name), which JS only hands back to
/// the Rust functions that `borrow` or `borrow_mut` it (a `URL`'s parsed
/// record, a `TextDecoder`'s decoder, a compression codec).
///
/// Only for a type that holds no JS values (no `Value`, `Object` or
/// `Persistent`): its `Trace` visits nothing and its `JsLifetime` says it
/// outlives any `'js`, which holds only then: a `// SAFETY:` comment at
/// the call site says why the type qualifies.
macro_rules! opaque_class {
    ($ty:ident) => {
        impl<'js> ::javy::quickjs::class::Trace<'js> for $ty {
            fn trace<'a>(&self, _tracer: ::javy::quickjs::class::Tracer<'a, 'js>) {}
        }

        // SAFETY: the caller's promise (see the macro): `$ty` holds no JS
        // values, so it lives as long as any 'js.
        unsafe impl<'js> ::javy::quickjs::JsLifetime<'js> for $ty {
            type Changed<'to> = $ty;
        }

        impl<'js> ::javy::quickjs::class::JsClass<'js> for $ty {
            const NAME: &'static str = stringify!($ty);
            type Mutable = ::javy::quickjs::class::Writable;

            fn prototype(
                _ctx: &::javy::quickjs::Ctx<'js>,
            ) -> ::javy::quickjs::Result<Option<::javy::quickjs::Object<'js>>> {
                Ok(None)
            }

            fn constructor(
                _ctx: &::javy::quickjs::Ctx<'js>,
            ) -> ::javy::quickjs::Result<Option<::javy::quickjs::Constructor<'js>>> {
                Ok(None)
            }
        }
    };
}
pub(crate) use opaque_class;

/// The JS files, in dependency order (later files use what earlier ones put
/// on `web`).
const SCRIPTS: &[(&str, &str)] = &[
    ("dom_exception.js", include_str!("dom_exception.js")),
    ("events.js", include_str!("events.js")),
    ("abort.js", include_str!("abort.js")),
    ("url.js", include_str!("url.js")),
    ("structured_clone.js", include_str!("structured_clone.js")),
    ("encoding.js", include_str!("encoding.js")),
    ("crypto.js", include_str!("crypto.js")),
    ("globals.js", include_str!("globals.js")),
];

fn eval_file<'js>(ctx: &Ctx<'js>, name: &str, source: &str) -> Result<Function<'js>> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = true;
    options.filename = Some(format!("jsbox:web/{name}"));
    ctx.eval_with_options(source, options)
}

fn natives<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let n = Object::new(ctx.clone())?;
    n.set("urlParse", Function::new(ctx.clone(), url::parse)?)?;
    n.set("urlGet", Function::new(ctx.clone(), url::get)?)?;
    n.set("urlSet", Function::new(ctx.clone(), url::set)?)?;
    n.set("urlSetQuery", Function::new(ctx.clone(), url::set_query)?)?;
    n.set("formParse", Function::new(ctx.clone(), url::form_parse)?)?;
    n.set("formSerialize", Function::new(ctx.clone(), url::form_serialize)?)?;
    n.set("urlPatternParse", Function::new(ctx.clone(), urlpattern::parse)?)?;
    n.set("urlPatternGet", Function::new(ctx.clone(), urlpattern::get)?)?;
    n.set("urlPatternExec", Function::new(ctx.clone(), urlpattern::exec)?)?;
    // MessagePort deliveries are event loop tasks (messaging.js).
    n.set("queueTaskFunction", Function::new(ctx.clone(), crate::event_loop::queue_task)?)?;
    // A number (1 invalid character, 2 bad length) on failure, else the string.
    n.set(
        "atob",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, input: String| -> Result<Value<'js>> {
            match base64::decode(&input) {
                Ok(text) => javy::quickjs::String::from_str(ctx, &text).map(Value::from),
                Err(e) => Ok(Value::new_int(ctx, e as i32)),
            }
        })?,
    )?;
    n.set("btoa", Function::new(ctx.clone(), |input: String| base64::encode(&input))?)?;
    n.set("encodingName", Function::new(ctx.clone(), text_decoder::encoding_name)?)?;
    n.set("decoderNew", Function::new(ctx.clone(), text_decoder::decoder_new)?)?;
    n.set("decoderDecode", Function::new(ctx.clone(), text_decoder::decoder_decode)?)?;
    n.set("fillRandom", Function::new(ctx.clone(), random::fill_random)?)?;
    n.set("randomUUID", Function::new(ctx.clone(), random::random_uuid)?)?;
    n.set("now", Function::new(ctx.clone(), clock::now)?)?;
    n.set("timeOrigin", Function::new(ctx.clone(), clock::time_origin)?)?;
    // The built-in JS modules compiled on first use (`web.loadModule`):
    // crypto.subtle's (guest/src/node/subtle.js) and URLPattern's
    // (urlpattern.js), so the snapshot holds none of them.
    n.set("nodeModule", crate::node::compiler(ctx)?)?;
    n.set("digest", Function::new(ctx.clone(), subtle::digest)?)?;
    n.set("hmacSign", Function::new(ctx.clone(), subtle::hmac_sign)?)?;
    n.set("hmacVerify", Function::new(ctx.clone(), subtle::hmac_verify)?)?;
    n.set("pbkdf2", Function::new(ctx.clone(), subtle::pbkdf2)?)?;
    n.set("hkdf", Function::new(ctx.clone(), subtle::hkdf)?)?;
    n.set("aesCbc", Function::new(ctx.clone(), subtle::aes_cbc)?)?;
    n.set("aesCtr", Function::new(ctx.clone(), subtle::aes_ctr)?)?;
    n.set("aesGcm", Function::new(ctx.clone(), subtle::aes_gcm)?)?;
    n.set("aesKw", Function::new(ctx.clone(), subtle::aes_kw)?)?;
    n.set("ecGenerate", Function::new(ctx.clone(), subtle::ec_generate)?)?;
    n.set("ecPublic", Function::new(ctx.clone(), subtle::ec_public)?)?;
    n.set("ecPoint", Function::new(ctx.clone(), subtle::ec_point)?)?;
    n.set("ecImport", Function::new(ctx.clone(), subtle::ec_import)?)?;
    n.set("ecExport", Function::new(ctx.clone(), subtle::ec_export)?)?;
    n.set("ecdsaSign", Function::new(ctx.clone(), subtle::ecdsa_sign)?)?;
    n.set("ecdsaVerify", Function::new(ctx.clone(), subtle::ecdsa_verify)?)?;
    n.set("ecdh", Function::new(ctx.clone(), subtle::ecdh)?)?;
    Ok(n)
}

/// Defines the web globals on `ctx`'s global object. Called once by `init`.
/// Returns `web.exposeLazy(name, load)`, which the prelude uses for its
/// own globals compiled on first read.
///
/// # Errors
///
/// A JS exception if one of the built-in scripts throws (a bug in them).
pub(crate) fn install<'js>(ctx: &Ctx<'js>) -> Result<Function<'js>> {
    let native = natives(ctx)?;
    let web = Object::new(ctx.clone())?;
    for (name, source) in SCRIPTS {
        let setup = eval_file(ctx, name, source)?;
        setup.call::<_, ()>((native.clone(), web.clone()))?;
    }
    web.get("exposeLazy")
}

/// Forgets per-runtime state that `init` code may have created (a time
/// origin), so the snapshot carries none. Called at the end of `init`.
pub(crate) fn forget_instance_state() {
    clock::forget();
}

