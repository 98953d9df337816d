//! The jsbox guest: QuickJS (through `javy`) behind the `sandbox` world of
//! `wit/jsbox.wit`.
//!
//! Life of a guest instance:
//! 1. `init(registry)` builds the QuickJS runtime and context, compiles every
//!    registry module, runs the prelude (`require`, `console`, `path`, native
//!    module stubs) and the init scripts. In a factory the host runs this once
//!    and Wizer snapshots the result, so instances start with it done.
//! 2. `eval` / `call` / `require` run user code and return JSON text or a
//!    structured `js-error`. A result still pending on timers or host calls
//!    is driven by the host through `run-loop` (see `event_loop.rs`).
//!
//! The guest holds no authority of its own: native modules and console
//! output go through the `host` imports, and everything else it could reach
//! is what the host's WASI functions allow.

use std::cell::{Cell, RefCell};

use javy::quickjs::{
    context::EvalOptions, function::{Flat, This}, Array, CatchResultExt, CaughtError, Ctx, Function,
    Object, Persistent, Value,
};
use javy::{Config, Runtime};

mod columns;
mod event_loop;

wit_bindgen::generate!({ path: "../wit", world: "sandbox" });

mod heap;
mod modules;

use exports::jsbox::sandbox::guest::{ErrorKind, Guest, JsError, LoopState};
use jsbox::sandbox::host::{self, LogLevel};

mod fetch;
mod node;
mod web;

struct Sandbox;
export!(Sandbox);

mod native_call;

/// The prelude: an expression evaluating to the bootstrap function.
const PRELUDE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "jsbox:prelude";
const BUILTINS: &str = include_str!("builtins.js");
const BUILTINS_NAME: &str = "jsbox:builtins";

struct State {
    runtime: Runtime,
    /// `{ require, lookup }` returned by the prelude.
    api: Persistent<Object<'static>>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    /// Whether `Math.random` was seeded in this instance. `init` leaves it
    /// false so the snapshot carries no seed: every instance seeds its own.
    static SEEDED: Cell<bool> = const { Cell::new(false) };
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, len: usize) -> u16;
}

/// `Math.random`: fastrand (as javy's), seeded from the host on an
/// instance's first draw rather than on its first call, so a runtime that
/// never draws makes no `random_get` host call.
fn install_math_random(ctx: &Ctx<'_>) -> javy::quickjs::Result<()> {
    let math: Object = ctx.globals().get("Math")?;
    math.set(
        "random",
        Function::new(ctx.clone(), || {
            seed_random();
            fastrand::f64()
        })?
        .with_name("random")?,
    )
}

fn seed_random() {
    if SEEDED.get() {
        return;
    }
    let mut seed = [0u8; 8];
    // SAFETY: the buffer is valid for 8 bytes. On failure the seed stays 0,
    // which fastrand accepts; the host's random_get does not fail.
    unsafe { wasi_random_get(seed.as_mut_ptr(), seed.len()) };
    fastrand::seed(u64::from_le_bytes(seed));
    SEEDED.set(true);
}

fn error(kind: ErrorKind, message: impl Into<String>) -> JsError {
    JsError {
        kind,
        name: String::new(),
        message: message.into(),
        stack: String::new(),
        file: String::new(),
        line: 0,
        column: 0,
        module: String::new(),
    }
}

/// Finds the first `file:line:col` in a QuickJS stack, skipping the prelude.
/// Frames look like `    at fn (file:12:5)` or, for parse errors, `    at file:12:5`.
fn location(stack: &str) -> Option<(String, u32, u32)> {
    stack.lines().find_map(|line| {
        let frame = line.trim().strip_prefix("at ")?;
        let loc = match frame.rfind(" (") {
            Some(i) if frame.ends_with(')') => &frame[i + 2..frame.len() - 1],
            _ => frame,
        };
        let mut parts = loc.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        (file != PRELUDE_NAME).then(|| (file.to_string(), line, column))
    })
}

/// QuickJS-ng reports column 1 for most parse errors. When the message
/// quotes the offending token (`unexpected token in expression: ';'`), find
/// it on the reported line; else point at the line's first non-blank.
fn syntax_column(source: &str, line: u32, message: &str) -> Option<u32> {
    let text = source.lines().nth(line.checked_sub(1)? as usize)?;
    let token = message
        .rsplit_once(": '")
        .and_then(|(_, t)| t.strip_suffix('\''))
        .filter(|t| !t.is_empty());
    let byte = match token.and_then(|t| text.find(t)) {
        Some(i) => i,
        None => text.len() - text.trim_start().len(),
    };
    Some(text[..byte].chars().count() as u32 + 1)
}

fn caught_to_error<'js>(ctx: &Ctx<'js>, caught: CaughtError<'js>) -> JsError {
    match caught {
        CaughtError::Exception(exception) => {
            let obj = exception.as_object();
            let get = |key: &str| -> String {
                obj.get::<_, Option<String>>(key).ok().flatten().unwrap_or_default()
            };
            let name = get("name");
            let stack = get("stack");
            let module_kind = get("jsboxKind");
            let (file, line, mut column) = location(&stack).unwrap_or_default();
            // A module's parse error carries the column modules.rs found.
            if let Ok(Some(c)) = obj.get::<_, Option<u32>>("jsboxColumn") {
                column = c;
            }
            // A parse error's stack starts with a bare `at file:line:col`
            // frame (no function name); a SyntaxError thrown at run time
            // (JSON.parse, new Function) has a function frame first.
            let is_parse_error = name == "SyntaxError"
                && stack
                    .lines()
                    .next()
                    .is_some_and(|l| !l.trim_end().ends_with(')'));
            let kind = match module_kind.as_str() {
                "not-found" => ErrorKind::ModuleNotFound,
                "denied" => ErrorKind::ModuleDenied,
                "not-granted" => ErrorKind::ModuleNotGranted,
                _ if is_parse_error => ErrorKind::Syntax,
                _ => ErrorKind::Exception,
            };
            let module = get("jsboxModule");
            JsError { kind, name, message: get("message"), stack, file, line, column, module }
        }
        CaughtError::Value(value) => {
            let message = ctx
                .json_stringify(value.clone())
                .ok()
                .flatten()
                .and_then(|s| s.to_string().ok())
                .or_else(|| javy::val_to_string(ctx, value).ok())
                .unwrap_or_else(|| "uncaught non-error value".into());
            error(ErrorKind::Exception, message)
        }
        CaughtError::Error(e) => error(ErrorKind::Invalid, e.to_string()),
    }
}

fn with_state<R>(
    f: impl for<'js> FnOnce(Ctx<'js>, Object<'js>) -> Result<R, JsError>,
) -> Result<R, JsError> {
    event_loop::enter();
    STATE.with_borrow(|state| {
        let state = state
            .as_ref()
            .ok_or_else(|| error(ErrorKind::Invalid, "the guest was not initialised"))?;
        state.runtime.context().with(|ctx| {
            let api = state
                .api
                .clone()
                .restore(&ctx)
                .map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
            f(ctx, api)
        })
    })
}

fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<String, JsError> {
    // Fast paths for the common scalar results: no JSON.stringify call.
    if let Some(i) = value.as_int() {
        return Ok(i.to_string());
    }
    if let Some(b) = value.as_bool() {
        return Ok(b.to_string());
    }
    if value.is_null() || value.is_undefined() {
        return Ok("null".to_string());
    }
    match ctx.json_stringify(value).catch(ctx) {
        Ok(Some(s)) => s.to_string().map_err(|e| error(ErrorKind::Invalid, e.to_string())),
        // undefined, functions and symbols have no JSON form.
        Ok(None) => Ok("null".to_string()),
        Err(caught) => {
            let mut e = caught_to_error(ctx, caught);
            e.kind = ErrorKind::Invalid;
            e.message = format!("the result does not convert to JSON: {}", e.message);
            Err(e)
        }
    }
}

fn eval_script<'js>(ctx: &Ctx<'js>, source: &str, filename: &str) -> Result<Value<'js>, JsError> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.backtrace_barrier = true;
    options.filename = Some(filename.to_string());
    ctx.eval_with_options::<Value, _>(source, options).catch(ctx).map_err(|c| {
        let mut e = caught_to_error(ctx, c);
        if e.kind == ErrorKind::Syntax && e.file == filename {
            e.column = syntax_column(source, e.line, &e.message).unwrap_or(e.column);
        }
        e
    })
}

/// Wraps a registry module in the CommonJS function shape. The wrapper opens
/// on the module's first line so reported line numbers match the source.
fn commonjs_wrapper(name: &str, source: &str) -> String {
    if name.ends_with(".json") {
        format!("(function (exports, require, module) {{ module.exports = {source}\n}})")
    } else {
        format!("(function (exports, require, module, __filename, __dirname) {{{source}\n}})")
    }
}

/// The guest's state after `init`, and whether init is kept in a snapshot.
fn init_state(registry_json: &str) -> Result<(State, bool), JsError> {
    let registry_error = |e: javy::quickjs::Error| error(ErrorKind::Invalid, format!("bad registry: {e}"));
    let mut config = Config::default();
    // A collection every 8 MiB of allocation: runtimes may be reused for
    // many calls, so cycles must not pile up (javy never collects by default).
    // QuickJS stops recursion at 256 KiB of the 1 MiB wasm stack.
    config
        .text_encoding(true)
        .javy_stream_io(false)
        .gc_threshold(8 << 20)
        .max_stack_size(256 << 10);
    let runtime = Runtime::new(config).map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
    let (api, snapshot) = runtime.context().with(|ctx| -> Result<_, JsError> {
        // Web platform globals first, so registry modules and init scripts see them.
        let lazy_global = web::install(&ctx).catch(&ctx).map_err(|c| caught_to_error(&ctx, c))?;
        install_math_random(&ctx).catch(&ctx).map_err(|c| caught_to_error(&ctx, c))?;
        let registry: Object = ctx
            .json_parse(registry_json)
            .catch(&ctx)
            .map_err(|c| caught_to_error(&ctx, c))?
            .into_object()
            .ok_or_else(|| error(ErrorKind::Invalid, "the registry is not a JSON object"))?;

        let compiled = Object::new(ctx.clone()).map_err(registry_error)?;
        // Registry ES modules: compiled by modules.rs once it is installed.
        let esm: Vec<String> = registry.get::<_, Option<Vec<String>>>("esm").map_err(registry_error)?.unwrap_or_default();
        let mut esm_sources = Vec::new();
        if let Some(modules) = registry.get::<_, Option<Object>>("modules").map_err(registry_error)? {
            for entry in modules.props::<String, String>() {
                let (name, source) = entry.map_err(registry_error)?;
                if esm.contains(&name) {
                    esm_sources.push((name, source));
                    continue;
                }
                let function = eval_script(&ctx, &commonjs_wrapper(&name, &source), &name)?;
                compiled.set(name, function).map_err(registry_error)?;
            }
        }

        let host_call = Function::new(ctx.clone(), |ctx: Ctx<'_>, module: String, function: String, args: String| {
            host::call(&module, &function, &args)
                .map_err(|message| javy::quickjs::Exception::throw_message(&ctx, &message))
        })
        .map_err(registry_error)?;
        let host_console = Function::new(ctx.clone(), |level: u32, message: String| {
            let level = match level {
                0 => LogLevel::Debug,
                1 => LogLevel::Info,
                3 => LogLevel::Warn,
                4 => LogLevel::Error,
                _ => LogLevel::Log,
            };
            host::console(level, &message);
        })
        .map_err(registry_error)?;

        let call_async = event_loop::install(&ctx)?;
        let host_bind = native_call::binder(&ctx).map_err(registry_error)?;
        let node_module = node::compiler(&ctx).map_err(registry_error)?;

        let bootstrap: Function = eval_script(&ctx, PRELUDE, PRELUDE_NAME)?
            .into_function()
            .ok_or_else(|| error(ErrorKind::Invalid, "the prelude is not a function"))?;
        // From here on the embedder's code runs (the prelude's preloads,
        // then init scripts and imports): the host refuses the clock and
        // randomness to it while a snapshot is built.
        host::user_code();
        // (`Flat`: rquickjs takes tuples of at most seven arguments.)
        let tools = Flat((node_module, lazy_global));
        let api: Object = bootstrap
            .call((registry.clone(), compiled, host_call, host_console, host_bind, call_async.clone(), tools))
            .catch(&ctx)
            .map_err(|c| caught_to_error(&ctx, c))?;

        let caught = |c| caught_to_error(&ctx, c);
        let internals: Object = api.get("internals").catch(&ctx).map_err(caught)?;
        let builtin_module: Function = internals.get("builtinModule").catch(&ctx).map_err(caught)?;
        modules::install(&ctx, internals).catch(&ctx).map_err(caught)?;
        for (name, source) in &esm_sources {
            modules::add_registry_module(&ctx, name, source).catch(&ctx).map_err(caught)?;
        }

        // fetch, Headers, Request, Response (guest/src/fetch.js).
        fetch::install(&ctx, call_async, builtin_module)?;
        // Every built-in method created now, into the snapshot, rather than
        // on first use in each runtime. Before any user code exists, so the
        // walk meets only built-ins (no user getters or proxies). Without a
        // snapshot init runs per runtime, and the walk would cost more than
        // it saves.
        let snapshot = registry.get::<_, Option<bool>>("snapshot").map_err(registry_error)?.unwrap_or(true);
        if snapshot {
            eval_script(&ctx, BUILTINS, BUILTINS_NAME)?;
        }

        if let Some(scripts) = registry.get::<_, Option<Array>>("init_scripts").map_err(registry_error)? {
            for script in scripts.iter::<Object>() {
                let script = script.map_err(registry_error)?;
                let name: String = script.get("name").map_err(registry_error)?;
                let source: String = script.get("source").map_err(registry_error)?;
                eval_script(&ctx, &source, &name)?;
            }
        }

        // ES module entries: linked and evaluated here, so inside the snapshot.
        let imports: Vec<String> =
            registry.get::<_, Option<Vec<String>>>("imports").map_err(registry_error)?.unwrap_or_default();
        for spec in &imports {
            modules::import_entry(&ctx, spec).catch(&ctx).map_err(caught)?;
        }
        modules::compile_prefetched(&ctx).catch(&ctx).map_err(caught)?;
        Ok((Persistent::save(&ctx, api), snapshot))
    })?;
    Ok((State { runtime, api }, snapshot))
}

/// The function `call` and `call-columns` call, and its `this`: an export
/// of registry module `module`, or the global `function`.
fn lookup<'js>(
    ctx: &Ctx<'js>,
    api: &Object<'js>,
    module: Option<String>,
    function: String,
) -> Result<(Value<'js>, Function<'js>), JsError> {
    let catch = |c| caught_to_error(ctx, c);
    let lookup: Function = api.get("lookup").catch(ctx).map_err(catch)?;
    let found: Array = lookup.call((module, function)).catch(ctx).map_err(catch)?;
    Ok((found.get(0).catch(ctx).map_err(catch)?, found.get(1).catch(ctx).map_err(catch)?))
}

impl Guest for Sandbox {
    fn init(registry_json: String) -> Result<(), JsError> {
        if STATE.with_borrow(Option::is_some) {
            return Err(error(ErrorKind::Invalid, "the guest is already initialised"));
        }
        modules::set_building(true);
        let state = init_state(&registry_json);
        modules::set_building(false);
        let (state, snapshot) = state?;
        STATE.set(Some(state));
        // Init code may have drawn random numbers; the snapshot must not
        // carry a seed (see SEEDED).
        SEEDED.set(false);
        web::forget_instance_state();
        if snapshot {
            heap::seal();
        }
        Ok(())
    }

    fn eval(source: String, filename: String) -> Result<String, JsError> {
        with_state(|ctx, _| {
            let value = eval_script(&ctx, &source, &filename)?;
            let value = event_loop::settle(&ctx, value)?;
            to_json(&ctx, value)
        })
    }

    fn call(module: Option<String>, function: String, args_json: String) -> Result<String, JsError> {
        with_state(|ctx, api| {
            let catch = |c| caught_to_error(&ctx, c);
            let (target, f) = lookup(&ctx, &api, module, function)?;
            let args = ctx
                .json_parse(args_json)
                .catch(&ctx)
                .map_err(catch)?
                .into_array()
                .ok_or_else(|| error(ErrorKind::Invalid, "call arguments must be a JSON array"))?;
            let mut rest = javy::quickjs::function::Args::new(ctx.clone(), args.len());
            rest.this(This(target).0).map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
            for arg in args.iter::<Value>() {
                rest.push_arg(arg.catch(&ctx).map_err(catch)?)
                    .map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
            }
            let value: Value = f.call_arg(rest).catch(&ctx).map_err(catch)?;
            let value = event_loop::settle(&ctx, value)?;
            to_json(&ctx, value)
        })
    }

    fn call_columns(module: Option<String>, function: String, columns: Vec<u8>, start: u32) -> Result<Vec<u8>, JsError> {
        with_state(|ctx, api| {
            let (target, f) = lookup(&ctx, &api, module, function)?;
            columns::call_rows(&ctx, target, f, &columns, start)
        })
    }

    fn require(name: String) -> Result<String, JsError> {
        with_state(|ctx, api| {
            let require: Function = api.get("require").catch(&ctx).map_err(|c| caught_to_error(&ctx, c))?;
            let exports: Value = require.call((name,)).catch(&ctx).map_err(|c| caught_to_error(&ctx, c))?;
            let exports = event_loop::settle(&ctx, exports)?;
            to_json(&ctx, exports)
        })
    }

    fn run_loop() -> Result<LoopState, JsError> {
        with_state(|ctx, _| match event_loop::run_loop(&ctx)? {
            Ok(value) => Ok(LoopState::Done(to_json(&ctx, value)?)),
            Err(waiting) => Ok(LoopState::Waiting(waiting)),
        })
    }
}
