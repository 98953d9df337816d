//! The guest's event loop: timers, async native calls, and the promise a
//! call is waiting on.
//!
//! The guest never blocks and never spins. When the value of `eval`, `call`
//! or `require` is a promise still pending after its microtasks ran,
//! [`settle`] keeps it and answers with the `pending` error kind. The host
//! then sleeps until the next timer is due or an async host call finishes,
//! and calls the `run-loop` export ([`run_loop`]), which runs one turn (due
//! timers, then finished host calls, then `MessagePort` deliveries, each
//! followed by its microtasks) and reports whether the kept promise settled
//! or what the loop waits for. Messages still queued for a started port
//! are reported as a timer due at 0: the host comes back at once.
//!
//! Timers and the promises of async calls live in `event_loop.js`, in the
//! runtime's own memory. Its `callAsync` is the internal hook built-in JS
//! uses for host I/O (see that file).

use std::cell::{Cell, RefCell};

use javy::quickjs::promise::PromiseState;
use javy::quickjs::{CatchResultExt, Ctx, Function, Object, Persistent, Promise, Value};

use crate::exports::jsbox::sandbox::guest::{ErrorKind, JsError, Waiting};
use crate::jsbox::sandbox::host::{self, CallStart};
use crate::{caught_to_error, error, eval_script};

const EVENT_LOOP: &str = include_str!("event_loop.js");
const EVENT_LOOP_NAME: &str = "jsbox:event_loop";

thread_local! {
    /// The API object `event_loop.js` returns.
    static API: RefCell<Option<Persistent<Object<'static>>>> = const { RefCell::new(None) };
    /// The promise the last `pending` answer is about.
    static AWAITED: RefCell<Option<Persistent<Promise<'static>>>> = const { RefCell::new(None) };
    /// The loop clock, read once per entry into the guest (node reads it
    /// once per loop iteration): timers set during a turn are due after it.
    static NOW: Cell<Option<f64>> = const { Cell::new(None) };
}

fn now() -> f64 {
    NOW.get().unwrap_or_else(|| {
        let now = host::loop_now();
        NOW.set(Some(now));
        now
    })
}

/// Called on every entry into the guest: the loop clock is read afresh.
pub(crate) fn enter() {
    NOW.set(None);
}

fn invalid(e: impl std::fmt::Display) -> JsError {
    error(ErrorKind::Invalid, e.to_string())
}

/// Evaluates `event_loop.js`, installs the timer globals, and returns the
/// `callAsync` function the prelude's native stubs use.
pub(crate) fn install<'js>(ctx: &Ctx<'js>) -> Result<Function<'js>, JsError> {
    let call_async = Function::new(ctx.clone(), |ctx: Ctx<'js>, module: String, function: String, args: String| {
        match host::call_async(&module, &function, &args) {
            CallStart::Pending(id) => Ok(Value::new_number(ctx, f64::from(id))),
            CallStart::Ready(Ok(json)) => javy::quickjs::String::from_str(ctx, &json).map(|s| s.into_value()),
            CallStart::Ready(Err(message)) => Err(javy::quickjs::Exception::throw_message(&ctx, &message)),
        }
    })
    .map_err(invalid)?;
    let host_now = Function::new(ctx.clone(), now).map_err(invalid)?;
    let bootstrap: Function = eval_script(ctx, EVENT_LOOP, EVENT_LOOP_NAME)?
        .into_function()
        .ok_or_else(|| invalid("the event loop is not a function"))?;
    let api: Object = bootstrap
        .call((call_async, host_now))
        .catch(ctx)
        .map_err(|c| caught_to_error(ctx, c))?;
    let call_async: Function = api.get("callAsync").map_err(invalid)?;
    API.set(Some(Persistent::save(ctx, api)));
    Ok(call_async)
}

fn api<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>, JsError> {
    API.with_borrow(|api| api.clone())
        .ok_or_else(|| invalid("the event loop is not installed"))?
        .restore(ctx)
        .map_err(invalid)
}

/// The event loop's `queueTask(task)`, for `MessagePort`s
/// (guest/src/web/messaging.js, which asks for it when it is compiled).
pub(crate) fn queue_task<'js>(ctx: Ctx<'js>) -> javy::quickjs::Result<Function<'js>> {
    let api = API
        .with_borrow(|api| api.clone())
        .ok_or_else(|| javy::quickjs::Exception::throw_message(&ctx, "the event loop is not installed"))?
        .restore(&ctx)?;
    api.get("queueTask")
}

fn run_microtasks(ctx: &Ctx<'_>) {
    // Jobs run through the context: the runtime is locked while in `with`.
    while ctx.execute_pending_job() {}
}

/// The value of a settled promise, or its rejection as an error.
fn outcome<'js>(ctx: &Ctx<'js>, promise: &Promise<'js>) -> Result<Value<'js>, JsError> {
    promise
        .result::<Value>()
        .unwrap_or_else(|| Ok(Value::new_undefined(ctx.clone())))
        .catch(ctx)
        .map_err(|c| caught_to_error(ctx, c))
}

/// Runs the queued microtasks and, when `value` is a promise, returns what
/// it settled with; a promise still pending is kept for [`run_loop`] and
/// reported as the `pending` error kind.
pub(crate) fn settle<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Value<'js>, JsError> {
    run_microtasks(ctx);
    let Some(promise) = value.as_promise() else {
        return Ok(value);
    };
    match promise.state() {
        PromiseState::Resolved | PromiseState::Rejected => outcome(ctx, promise),
        PromiseState::Pending => {
            AWAITED.set(Some(Persistent::save(ctx, promise.clone())));
            Err(error(ErrorKind::Pending, "the promise is pending"))
        }
    }
}

/// One turn of the loop; `Ok(Err(waiting))` while the awaited promise is
/// still pending, `Ok(Ok(value))` once it resolved.
pub(crate) fn run_loop<'js>(ctx: &Ctx<'js>) -> Result<Result<Value<'js>, Waiting>, JsError> {
    let awaited = AWAITED
        .with_borrow(|p| p.clone())
        .ok_or_else(|| invalid("no promise is awaited"))?
        .restore(ctx)
        .map_err(invalid)?;
    let api = api(ctx)?;
    let catch = |c| caught_to_error(ctx, c);
    let result = (|| {
        // Timers phase: each due timer, then its microtasks.
        let fire_next: Function = api.get("fireNext").catch(ctx).map_err(catch)?;
        let now = now();
        while fire_next.call::<_, bool>((now,)).catch(ctx).map_err(catch)? {
            run_microtasks(ctx);
        }
        // Poll phase: each finished host call, then its microtasks.
        let deliver: Function = api.get("deliver").catch(ctx).map_err(catch)?;
        while let Some(done) = host::take_completion() {
            let (ok, text) = match done.outcome {
                Ok(json) => (true, json),
                Err(message) => (false, message),
            };
            deliver.call::<_, ()>((done.id, ok, text)).catch(ctx).map_err(catch)?;
            run_microtasks(ctx);
        }
        // Message phase: MessagePort deliveries (node runs them with I/O,
        // in its poll phase), each message followed by its microtasks.
        let start_tasks: Function = api.get("startTasks").catch(ctx).map_err(catch)?;
        start_tasks.call::<_, ()>(()).catch(ctx).map_err(catch)?;
        let run_task: Function = api.get("runTask").catch(ctx).map_err(catch)?;
        while run_task.call::<_, bool>(()).catch(ctx).map_err(catch)? {
            run_microtasks(ctx);
        }
        run_microtasks(ctx);
        Ok(())
    })();
    if let Err(e) = result {
        AWAITED.set(None);
        return Err(e);
    }
    match awaited.state() {
        PromiseState::Pending => {
            let tasks_pending: Function = api.get("tasksPending").catch(ctx).map_err(catch)?;
            if tasks_pending.call::<_, bool>(()).catch(ctx).map_err(catch)? {
                // Messages to deliver: due now (0 on the loop clock), and
                // they keep the loop alive (a task is queued only for a
                // started, open port).
                return Ok(Err(Waiting { next_timer: Some(0.0), keep_alive: true }));
            }
            let next_due: Function = api.get("nextDue").catch(ctx).map_err(catch)?;
            let alive: Function = api.get("alive").catch(ctx).map_err(catch)?;
            Ok(Err(Waiting {
                next_timer: next_due.call::<_, Option<f64>>(()).catch(ctx).map_err(catch)?,
                keep_alive: alive.call::<_, bool>(()).catch(ctx).map_err(catch)?,
            }))
        }
        PromiseState::Resolved | PromiseState::Rejected => {
            AWAITED.set(None);
            outcome(ctx, &awaited).map(Ok)
        }
    }
}
