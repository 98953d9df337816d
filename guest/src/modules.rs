//! ES modules in the guest: QuickJS's module loader, wired to `modules.js`.
//!
//! QuickJS is the parser: compiling a module (`JS_Eval` with
//! `COMPILE_ONLY`) resolves and loads its imports through the two hooks set
//! here, recursively, so the import graph is discovered by the engine that
//! runs it and only reachable files are ever read. The hooks call
//! `modules.js`, which answers from what it already knows (registry
//! modules, built-ins, earlier answers) or, only while `init` runs, asks the
//! host's resolver (`host.resolve-module`, node's algorithm over the sandbox
//! root; `host/src/modules/`). Everything compiled, linked and evaluated in
//! `init` is in the Wizer snapshot: a runtime pays nothing to load modules.
//!
//! The raw QuickJS API is used (through `javy::quickjs::qjs`) because javy
//! does not expose its `rquickjs::Runtime`, and because `require()` of an ES
//! module needs the module record itself (evaluate, namespace), which
//! rquickjs's loader traits do not hand back.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null_mut, NonNull};

use javy::quickjs::promise::PromiseState;
use javy::quickjs::{
    context::EvalOptions, qjs, Ctx, Error, Exception, Function, Object, Persistent, Result, Value,
};

use crate::jsbox::sandbox::host;

/// The JS half: an expression evaluating to its bootstrap function.
const MODULES_JS: &str = include_str!("modules.js");
const MODULES_NAME: &str = "jsbox:modules";

thread_local! {
    /// The hooks `modules.js` returned.
    static HOOKS: RefCell<Option<Persistent<Object<'static>>>> = const { RefCell::new(None) };
    /// Compiled modules by canonical name. QuickJS keeps every loaded module
    /// for the life of the runtime, so the pointers stay valid.
    static MODULES: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
    /// True while `init` runs: the only time the host may be asked to
    /// resolve (a snapshot's runtimes never ask).
    static BUILDING: Cell<bool> = const { Cell::new(false) };
}

/// Marks the start and end of `init`.
pub(crate) fn set_building(on: bool) {
    BUILDING.set(on);
}

fn hooks<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    HOOKS.with_borrow(|h| match h {
        Some(h) => h.clone().restore(ctx),
        None => Err(Exception::throw_message(ctx, "the module system is not initialised")),
    })
}

fn raw(ctx: &Ctx<'_>) -> *mut qjs::JSContext {
    ctx.as_raw().as_ptr()
}

/// Leaves `e` pending as a JS exception (an `Exception` already is).
fn throw(ctx: &Ctx<'_>, e: Error) {
    if !matches!(e, Error::Exception) {
        let _ = Exception::throw_message(ctx, &e.to_string());
    }
}

/// Evaluates `modules.js`, hands it the prelude's `internals`, and installs
/// the loader hooks on the runtime.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, internals: Object<'js>) -> Result<()> {
    let native = Object::new(ctx.clone())?;
    native.set("building", Function::new(ctx.clone(), || BUILDING.get())?)?;
    native.set(
        "hostResolve",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, dir: String, spec: String, mode: String| {
            host::resolve_module(&dir, &spec, &mode).map_err(|message| Exception::throw_message(&ctx, &message))
        })?,
    )?;
    native.set(
        "compileCommonJS",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String, source: String| -> Result<Value<'js>> {
            let mut options = EvalOptions::default();
            options.global = true;
            options.strict = false;
            options.backtrace_barrier = true;
            options.filename = Some(name.clone());
            ctx.eval_with_options(crate::commonjs_wrapper(&name, &source), options)
        })?,
    )?;
    native.set(
        "evaluate",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| evaluate(&ctx, &name, false))?,
    )?;
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(MODULES_NAME.to_string());
    let bootstrap: Function = ctx.eval_with_options(MODULES_JS, options)?;
    let api: Object = bootstrap.call((internals.clone(), native))?;
    let set_require_file: Function = internals.get("setRequireFile")?;
    set_require_file.call::<_, ()>((api.get::<_, Function>("requireFile")?,))?;
    HOOKS.set(Some(Persistent::save(ctx, api)));
    // SAFETY: the runtime outlives every module; the hooks take no opaque.
    unsafe {
        qjs::JS_SetModuleLoaderFunc(qjs::JS_GetRuntime(raw(ctx)), Some(normalize), Some(loader), null_mut());
    }
    Ok(())
}

/// Registers and compiles a registry ES module (not evaluated: that happens
/// on first import or require, as in node).
pub(crate) fn add_registry_module(ctx: &Ctx<'_>, name: &str, source: &str) -> Result<()> {
    let add: Function = hooks(ctx)?.get("addRegistryModule")?;
    let canonical: String = add.call((name, source))?;
    compile(ctx, &canonical)?;
    Ok(())
}

/// Imports `spec` (relative to the root) and evaluates it, settling its
/// top-level await with the jobs that can run now.
pub(crate) fn import_entry<'js>(ctx: &Ctx<'js>, spec: &str) -> Result<()> {
    let resolve: Function = hooks(ctx)?.get("resolve")?;
    let canonical: String = resolve.call(("/", spec))?;
    evaluate(ctx, &canonical, true)?;
    Ok(())
}

/// Compiles what string-literal `import()`s named, so runtimes find them
/// linked. A failure now is left for the `import()` that would meet it.
pub(crate) fn compile_prefetched(ctx: &Ctx<'_>) -> Result<()> {
    let take: Function = hooks(ctx)?.get("takePrefetched")?;
    loop {
        let names: Vec<String> = take.call(())?;
        if names.is_empty() {
            return Ok(());
        }
        for name in names {
            if !MODULES.with_borrow(|m| m.contains_key(&name)) && compile(ctx, &name).is_err() {
                let _ = ctx.catch();
            }
        }
    }
}

/// Compiles (and so links) canonical module `name`, sets its
/// `import.meta.url`, and remembers it.
fn compile(ctx: &Ctx<'_>, name: &str) -> Result<*mut qjs::JSModuleDef> {
    let load: Function = hooks(ctx)?.get("load")?;
    let record: Object = load.call((name,))?;
    let source: String = record.get("source")?;
    let url: String = record.get("url")?;
    let c_name = CString::new(name)?;
    let c_source = CString::new(source.as_str())?;
    let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_STRICT | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: both strings are NUL-terminated and live across the call.
    let value = unsafe { qjs::JS_Eval(raw(ctx), c_source.as_ptr(), source.len() as _, c_name.as_ptr(), flags) };
    if unsafe { qjs::JS_IsException(value) } {
        mark_syntax_column(ctx, name, &source);
        return Err(Error::Exception);
    }
    // SAFETY: a module compiled with COMPILE_ONLY is a JS_TAG_MODULE value;
    // the runtime's module list keeps it alive after this reference is freed.
    let module = unsafe { qjs::JS_VALUE_GET_PTR(value) } as *mut qjs::JSModuleDef;
    unsafe { qjs::JS_FreeValue(raw(ctx), value) };
    MODULES.with_borrow_mut(|m| m.insert(name.to_string(), module as usize));
    let meta = unsafe { qjs::JS_GetImportMeta(raw(ctx), module) };
    if unsafe { qjs::JS_IsException(meta) } {
        return Err(Error::Exception);
    }
    // SAFETY: JS_GetImportMeta returned a new reference, owned by `meta`.
    let meta = unsafe { Value::from_raw(ctx.clone(), meta) };
    if let Some(meta) = meta.as_object() {
        meta.set("url", url)?;
    }
    Ok(module)
}

/// QuickJS-ng reports column 1 for most parse errors: record the column
/// `syntax_column` finds on the exception, for `caught_to_error`.
fn mark_syntax_column(ctx: &Ctx<'_>, name: &str, source: &str) {
    let exception = ctx.catch();
    if let Some(obj) = exception.as_object() {
        let stack: String = obj.get::<_, Option<String>>("stack").ok().flatten().unwrap_or_default();
        let message: String = obj.get::<_, Option<String>>("message").ok().flatten().unwrap_or_default();
        if let Some((file, line, _)) = crate::location(&stack) {
            if file == name {
                if let Some(column) = crate::syntax_column(source, line, &message) {
                    let _ = obj.set("jsboxColumn", column);
                }
            }
        }
    }
    let _ = ctx.throw(exception);
}

/// Evaluates canonical module `name` (compiling it if needed) and returns
/// its namespace. With `drain`, queued jobs run first so a top-level await
/// that only needs them settles; without (a `require()`), a module still
/// pending is an error, as in node 22.
fn evaluate<'js>(ctx: &Ctx<'js>, name: &str, drain: bool) -> Result<Object<'js>> {
    let module = match MODULES.with_borrow(|m| m.get(name).copied()) {
        Some(p) => p as *mut qjs::JSModuleDef,
        None => compile(ctx, name)?,
    };
    // SAFETY: `module` is a live module of this runtime; JS_EvalFunction
    // consumes the reference JS_DupValue adds.
    let value = unsafe {
        let v = qjs::JS_MKPTR(qjs::JS_TAG_MODULE as _, module.cast::<c_void>());
        qjs::JS_EvalFunction(raw(ctx), qjs::JS_DupValue(raw(ctx), v))
    };
    if unsafe { qjs::JS_IsException(value) } {
        return Err(Error::Exception);
    }
    let promise = unsafe { Value::from_raw(ctx.clone(), value) };
    if let Some(promise) = promise.as_promise() {
        if drain {
            while promise.state() == PromiseState::Pending && ctx.execute_pending_job() {}
        }
        match promise.state() {
            PromiseState::Resolved => {}
            PromiseState::Rejected => {
                let reason: Value = promise.result::<Value>().unwrap_or_else(|| Ok(Value::new_undefined(ctx.clone())))?;
                return Err(ctx.throw(reason));
            }
            PromiseState::Pending => {
                let message = if drain {
                    format!("the top-level await of ES module '{name}' did not settle while the sandbox was built: module top levels run once, inside the snapshot, where only promises that settle without timers or host calls can finish (await those inside the exported function instead)")
                } else {
                    format!("require() of ES module '{name}', which uses top-level await, is not supported (as in node: ERR_REQUIRE_ASYNC_MODULE); import it instead")
                };
                return Err(Exception::throw_message(ctx, &message));
            }
        }
    }
    // SAFETY: as above; the namespace is a new reference owned by the Value.
    let ns = unsafe { qjs::JS_GetModuleNamespace(raw(ctx), module) };
    if unsafe { qjs::JS_IsException(ns) } {
        return Err(Error::Exception);
    }
    let ns = unsafe { Value::from_raw(ctx.clone(), ns) };
    ns.into_object().ok_or_else(|| Exception::throw_message(ctx, "a module namespace is not an object"))
}

/// QuickJS's normalize hook: `modules.js` `resolve(base, spec)`.
unsafe extern "C" fn normalize(
    ctx: *mut qjs::JSContext,
    base: *const c_char,
    spec: *const c_char,
    _opaque: *mut c_void,
) -> *mut c_char {
    let Some(ptr) = NonNull::new(ctx) else { return null_mut() };
    // SAFETY: QuickJS calls this with the runtime locked (inside a JS call).
    let ctx = unsafe { Ctx::from_raw(ptr) };
    let base = unsafe { CStr::from_ptr(base) }.to_string_lossy();
    let spec = unsafe { CStr::from_ptr(spec) }.to_string_lossy();
    let result = hooks(&ctx).and_then(|h| {
        let resolve: Function = h.get("resolve")?;
        resolve.call::<_, String>((base.as_ref(), spec.as_ref()))
    });
    match result {
        // QuickJS frees the name with js_free: allocate it with its allocator.
        Ok(name) => unsafe { qjs::js_strndup(raw(&ctx), name.as_ptr().cast(), name.len() as _) },
        Err(e) => {
            throw(&ctx, e);
            null_mut()
        }
    }
}

/// QuickJS's load hook: compiles a module it has not seen.
unsafe extern "C" fn loader(ctx: *mut qjs::JSContext, name: *const c_char, _opaque: *mut c_void) -> *mut qjs::JSModuleDef {
    let Some(ptr) = NonNull::new(ctx) else { return null_mut() };
    // SAFETY: as in `normalize`.
    let ctx = unsafe { Ctx::from_raw(ptr) };
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    compile(&ctx, &name).unwrap_or_else(|e| {
        throw(&ctx, e);
        null_mut()
    })
}
