//! The event-loop imports of the `host` interface: `call-async` starts an
//! async native call, `take-completion` hands the guest the finished ones,
//! `loop-now` is the loop's clock (see [`crate::event_loop`]).

use std::task::{Context, Poll, Waker};
use std::time::{Instant, SystemTime};

use wasmtime::{Caller, Linker};

use super::{lower_text, memory, read_str};
use crate::abi::names;
use crate::calllog::Direction;
use crate::error::Error;
use crate::event_loop::{checked_result, js_message, InFlight, LoggedCall};
use crate::state::HostState;

/// Writes `call-start::ready(result)` (tag 0) into the return area.
fn write_ready(caller: &mut Caller<'_, HostState>, retptr: i32, result: Result<&str, &str>) -> wasmtime::Result<()> {
    let (tag, text) = match result {
        Ok(s) => (0u8, s),
        Err(s) => (1u8, s),
    };
    let (ptr, len) = lower_text(caller, text)?;
    let mut area = [0u8; 16];
    area[4] = tag;
    area[8..12].copy_from_slice(&ptr.to_le_bytes());
    area[12..16].copy_from_slice(&len.to_le_bytes());
    memory(caller)?.write(&mut *caller, retptr as u32 as usize, &area)?;
    Ok(())
}

/// Fails the call at once: JS gets a rejected promise; Rust the typed error
/// if JS does not catch it.
fn fail(caller: &mut Caller<'_, HostState>, retptr: i32, e: Error) -> wasmtime::Result<()> {
    let message = js_message(&e);
    caller.data_mut().last_host_error = Some((message.clone(), e));
    write_ready(caller, retptr, Err(&message))
}

/// `host.call-async`: starts the native future and polls it once.
#[allow(clippy::too_many_arguments)]
fn call_async(
    mut caller: Caller<'_, HostState>,
    mp: i32,
    ml: i32,
    fp: i32,
    fl: i32,
    ap: i32,
    al: i32,
    retptr: i32,
) -> wasmtime::Result<()> {
    let max = caller.data().limits.max_value_bytes;
    let (module, function) = match (read_str(&mut caller, mp, ml)?, read_str(&mut caller, fp, fl)?) {
        (Ok(m), Ok(f)) => (m, f),
        (Err(e), _) | (_, Err(e)) => return write_ready(&mut caller, retptr, Err(&e)),
    };
    if al as u32 as usize > max {
        let e = Error::TooLarge { what: "native call arguments", size: al as u32 as usize, limit: max };
        return fail(&mut caller, retptr, e);
    }
    let args = match read_str(&mut caller, ap, al)? {
        Ok(a) => a,
        Err(e) => return write_ready(&mut caller, retptr, Err(&e)),
    };

    let state = caller.data_mut();
    state.host_calls += 1;
    let Some(f) = state.shared.natives.get_async(&module, &function).cloned() else {
        if module == crate::capabilities::net::MODULE {
            return fail(&mut caller, retptr, crate::capabilities::net::not_granted(&args));
        }
        return fail(&mut caller, retptr, Error::Denied(format!("no async native function {module}.{function}")));
    };
    let handle = match state.event_loop.handle() {
        Ok(h) => h,
        Err(e) => return fail(&mut caller, retptr, e),
    };
    let log = state.calllog.is_some().then(|| LoggedCall {
        module: module.clone(),
        function: function.clone(),
        args: args.clone(),
        wall: SystemTime::now(),
    });
    let started = Instant::now();
    // Created and first polled inside the tokio context: the future may
    // need its timers or reactor.
    let (future, polled) = {
        let _context = handle.enter();
        let mut future = f(args);
        let polled = future.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        (future, polled)
    };
    match polled {
        Poll::Ready(result) => {
            let mut result = checked_result(result, max);
            let state = caller.data_mut();
            if let (Some(calllog), Some(call)) = (state.calllog.as_mut(), &log) {
                let logged = result.as_deref().map_err(|e| e.to_string());
                // A call the log cannot record fails (as a sync call does).
                if let Err(e) = calllog.record(Direction::JsToHost, &module, &function, &call.args, call.wall, started.elapsed(), logged) {
                    result = Err(e);
                }
            }
            match result {
                Ok(json) => write_ready(&mut caller, retptr, Ok(&json)),
                Err(e) => fail(&mut caller, retptr, e),
            }
        }
        Poll::Pending => {
            // From now on the runtime's wait polls it with a real waker.
            let state = caller.data_mut();
            let id = state.event_loop.next_id();
            state.event_loop.start(InFlight { id, future, started, log });
            let mut area = [0u8; 16];
            area[0] = 1;
            area[4..8].copy_from_slice(&id.to_le_bytes());
            memory(&mut caller)?.write(&mut caller, retptr as u32 as usize, &area)?;
            Ok(())
        }
    }
}

/// `host.take-completion`: `option<completion>` into the return area.
fn take_completion(mut caller: Caller<'_, HostState>, retptr: i32) -> wasmtime::Result<()> {
    let mut area = [0u8; 20];
    if let Some((id, result)) = caller.data_mut().event_loop.take() {
        let (tag, text) = match result {
            Ok(json) => (0u8, json),
            Err((message, e)) => {
                // Kept so that, if JS does not catch it, Rust gets the typed error.
                caller.data_mut().last_host_error = Some((message.clone(), e));
                (1u8, message)
            }
        };
        let (ptr, len) = lower_text(&mut caller, &text)?;
        area[0] = 1;
        area[4..8].copy_from_slice(&id.to_le_bytes());
        area[8] = tag;
        area[12..16].copy_from_slice(&ptr.to_le_bytes());
        area[16..20].copy_from_slice(&len.to_le_bytes());
    }
    memory(&mut caller)?.write(&mut caller, retptr as u32 as usize, &area)?;
    Ok(())
}

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(names::HOST_INTERFACE, "call-async", call_async)?;
    linker.func_wrap(names::HOST_INTERFACE, "take-completion", take_completion)?;
    linker.func_wrap(names::HOST_INTERFACE, "loop-now", |caller: Caller<'_, HostState>| -> f64 {
        caller.data().shared.started.elapsed().as_secs_f64() * 1e3
    })?;
    Ok(())
}
