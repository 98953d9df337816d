//! What the guest imports, implemented by the host: the `host` interface of
//! `wit/jsbox.wit` (native-module calls and console) and the handful of WASI
//! preview 1 functions QuickJS and Rust's std link against.
//!
//! The WASI functions are a deliberately small, deny-by-default set written
//! here rather than `wasmtime-wasi`'s full implementation: the guest gets
//! randomness, a clock the embedder chooses, empty environment and
//! arguments, and stdout/stderr that go to the runtime's console. It has no
//! file descriptors, no preopens, no sockets. It also needs no per-instance
//! context, which keeps `new_runtime` in the microseconds.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use wasmtime::{Caller, Linker, Memory};

use crate::abi::{lift_str, lower_str, names, str_at, GuestFunc};
use crate::calllog::Direction;
use crate::console::LogLevel;
use crate::error::Error;
use crate::state::{Clock, HostState};

mod async_calls;

// WASI preview 1 errno values.
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const ERRNO_SPIPE: i32 = 70;

const WASI: &str = "wasi_snapshot_preview1";

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    if let Some(m) = caller.data().memory {
        return Ok(m);
    }
    caller
        .get_export(names::MEMORY)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::format_err!("the guest exports no memory"))
}

fn write_bytes(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> i32 {
    let Ok(mem) = memory(caller) else { return ERRNO_FAULT };
    match mem.write(caller, ptr as u32 as usize, bytes) {
        Ok(()) => ERRNO_SUCCESS,
        Err(_) => ERRNO_FAULT,
    }
}

/// Reads a guest string for an import, or explains why not.
fn read_str(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<Result<String, String>> {
    let mem = memory(caller)?;
    Ok(lift_str(mem.data(&*caller), ptr as u32, len as u32))
}

/// Copies `text` into a fresh guest allocation (the guest takes it over).
fn lower_text(caller: &mut Caller<'_, HostState>, text: &str) -> wasmtime::Result<(i32, i32)> {
    let mem = memory(caller)?;
    let realloc = match caller.data().realloc {
        Some(r) => r,
        None => {
            let func = caller
                .get_export(names::REALLOC)
                .and_then(|e| e.into_func())
                .ok_or_else(|| wasmtime::format_err!("the guest exports no cabi_realloc"))?;
            // SAFETY: imports are only ever linked into the factory's guest
            // module, whose `cabi_realloc` signature ExportIndex::new checked.
            let r = unsafe { GuestFunc::new(func) };
            // Cached: a runtime's native calls all need it.
            caller.data_mut().realloc = Some(r);
            r
        }
    };
    lower_str(&mut *caller, realloc, &mem, text)
}

/// Writes `result<string, string>` into the import's return area.
fn write_result(caller: &mut Caller<'_, HostState>, retptr: i32, result: Result<&str, &str>) -> wasmtime::Result<()> {
    let (tag, text) = match result {
        Ok(s) => (0u8, s),
        Err(s) => (1u8, s),
    };
    let (ptr, len) = lower_text(caller, text)?;
    let mem = memory(caller)?;
    let mut area = [0u8; 12];
    area[0] = tag;
    area[4..8].copy_from_slice(&ptr.to_le_bytes());
    area[8..12].copy_from_slice(&len.to_le_bytes());
    mem.write(&mut *caller, retptr as u32 as usize, &area)?;
    Ok(())
}

/// Why a native call failed: a message for JS, and the typed error Rust
/// gets back if JS does not catch it.
enum CallFailure {
    /// The guest sent something unreadable (no typed error to keep).
    Guest(String),
    Host(Error),
}

/// Runs a native call on arguments borrowed in place from guest memory (no
/// copies of the module, function or argument strings) and logs it.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    mem: &[u8],
    state: &mut HostState,
    mp: i32,
    ml: i32,
    fp: i32,
    fl: i32,
    ap: i32,
    al: i32,
) -> Result<String, CallFailure> {
    let max = state.limits.max_value_bytes;
    let module = str_at(mem, mp as u32, ml as u32).map_err(CallFailure::Guest)?;
    let function = str_at(mem, fp as u32, fl as u32).map_err(CallFailure::Guest)?;
    if al as u32 as usize > max {
        return Err(CallFailure::Host(Error::TooLarge {
            what: "native call arguments",
            size: al as u32 as usize,
            limit: max,
        }));
    }
    let args = str_at(mem, ap as u32, al as u32).map_err(CallFailure::Guest)?;

    state.host_calls += 1;
    let started_at = state.calllog.as_ref().map(|_| (SystemTime::now(), Instant::now()));
    // A failing call log: refuse before the side effect, which would go
    // unrecorded.
    let log_health = state.calllog.as_ref().map_or(Ok(()), |log| log.health());
    let mut outcome = match state.shared.natives.get(module, function) {
        _ if log_health.is_err() => log_health.map(|()| String::new()),
        Some(f) => f(args).and_then(|r| {
            if r.len() > max {
                Err(Error::TooLarge { what: "native call result", size: r.len(), limit: max })
            } else {
                Ok(r)
            }
        }),
        None => Err(Error::Denied(format!("no native function {module}.{function}"))),
    };
    if let (Some(log), Some((wall, start))) = (state.calllog.as_mut(), started_at) {
        let logged = outcome.as_deref().map_err(|e| e.to_string());
        if let Err(e) = log.record(Direction::JsToHost, module, function, args, wall, start.elapsed(), logged) {
            outcome = Err(e);
        }
    }
    outcome.map_err(CallFailure::Host)
}

/// `host.call`: dispatches a native-module call and logs it.
#[allow(clippy::too_many_arguments)]
fn host_call(
    mut caller: Caller<'_, HostState>,
    mp: i32,
    ml: i32,
    fp: i32,
    fl: i32,
    ap: i32,
    al: i32,
    retptr: i32,
) -> wasmtime::Result<()> {
    let mem = memory(&mut caller)?;
    let outcome = {
        let (data, state) = mem.data_and_store_mut(&mut caller);
        dispatch(data, state, mp, ml, fp, fl, ap, al)
    };
    match outcome {
        Ok(result) => write_result(&mut caller, retptr, Ok(&result)),
        Err(CallFailure::Guest(message)) => write_result(&mut caller, retptr, Err(&message)),
        Err(CallFailure::Host(e)) => {
            let message = match &e {
                Error::Host { message, .. } => message.clone(),
                other => other.to_string(),
            };
            // Kept so that, if JS does not catch it, Rust gets the typed error.
            caller.data_mut().last_host_error = Some((message.clone(), e));
            write_result(&mut caller, retptr, Err(&message))
        }
    }
}

/// `host.resolve-module`: node resolution for the guest's `init` (see
/// `modules`). Refused when the factory gave the store no session (the
/// runtimes of a snapshot).
#[allow(clippy::too_many_arguments)]
fn host_resolve_module(
    mut caller: Caller<'_, HostState>,
    fp: i32,
    fl: i32,
    sp: i32,
    sl: i32,
    mp: i32,
    ml: i32,
    retptr: i32,
) -> wasmtime::Result<()> {
    let (from, spec, mode) = match (read_str(&mut caller, fp, fl)?, read_str(&mut caller, sp, sl)?, read_str(&mut caller, mp, ml)?) {
        (Ok(f), Ok(s), Ok(m)) => (f, s, m),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return write_result(&mut caller, retptr, Err(&e)),
    };
    let answer = match caller.data().shared.modules.clone() {
        Some(session) => session.resolve(&from, &spec, &mode),
        None => Err(format!("Cannot find module '{spec}' imported from {from}: modules are resolved when the factory is built")),
    };
    match answer {
        Ok(json) => write_result(&mut caller, retptr, Ok(&json)),
        Err(message) => write_result(&mut caller, retptr, Err(&message)),
    }
}

fn host_console(mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let state = caller.data_mut();
    let max = state.limits.max_console_bytes;
    // Over the cap: count it without copying it out of the guest.
    if state.console.bytes.saturating_add(len as u32 as usize) > max {
        state.console.dropped += len as u32 as u64;
        return Ok(());
    }
    if let Ok(message) = read_str(&mut caller, ptr, len)? {
        caller.data_mut().console.write(LogLevel::from_abi(level), message, max);
    }
    Ok(())
}

fn fd_write(mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> wasmtime::Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(ERRNO_BADF);
    }
    let mem = memory(&mut caller)?;
    let data = mem.data(&caller);
    let mut text = Vec::new();
    for i in 0..iovs_len as u32 as usize {
        let at = iovs as u32 as usize + i * 8;
        let Some(iov) = data.get(at..at + 8) else { return Ok(ERRNO_FAULT) };
        let ptr = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]) as usize;
        let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]) as usize;
        let Some(bytes) = ptr.checked_add(len).and_then(|end| data.get(ptr..end)) else { return Ok(ERRNO_FAULT) };
        text.extend_from_slice(bytes);
    }
    let total = text.len() as u32;
    let level = if fd == 1 { LogLevel::Log } else { LogLevel::Error };
    let max = caller.data().limits.max_console_bytes;
    let message = String::from_utf8_lossy(&text).trim_end_matches('\n').to_string();
    caller.data_mut().console.write(level, message, max);
    Ok(write_bytes(&mut caller, nwritten, &total.to_le_bytes()))
}

fn random_get(mut caller: Caller<'_, HostState>, buf: i32, len: i32) -> i32 {
    let mut bytes = vec![0u8; len as u32 as usize];
    rand::rng().fill_bytes(&mut bytes);
    write_bytes(&mut caller, buf, &bytes)
}

fn clock_time_get(mut caller: Caller<'_, HostState>, id: i32, _precision: i64, out: i32) -> i32 {
    let clock = caller.data().shared.clock;
    let nanos: u64 = match (clock, id) {
        (Clock::Frozen(ms), 0) => ms.saturating_mul(1_000_000),
        (Clock::Frozen(_), 1..=3) => 0,
        (Clock::System, 0) => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
        (Clock::System, 1..=3) => caller.data().shared.started.elapsed().as_nanos() as u64,
        _ => return ERRNO_INVAL,
    };
    write_bytes(&mut caller, out, &nanos.to_le_bytes())
}

/// The imports of the snapshot step (Wizer's `init`): a runtime's, except
/// that once the embedder's code runs (the guest's `user-code` call) the
/// clock and the random source trap with [`Error::NondeterministicBuild`]
/// unless `allow_nondeterminism`: what that code read would otherwise be
/// the same in every runtime. (The guest's own setup before that point may
/// read them: QuickJS seeds internal state from the clock; nothing of it is
/// observable as time.) Wizer itself refuses WASI during init by default.
pub(crate) fn add_to_build_linker(linker: &mut Linker<HostState>, allow_nondeterminism: bool) -> wasmtime::Result<()> {
    add_to_linker(linker)?;
    linker.allow_shadowing(true);
    linker.func_wrap(names::HOST_INTERFACE, "user-code", |mut caller: Caller<'_, HostState>| {
        caller.data_mut().user_code = true;
    })?;
    if !allow_nondeterminism {
        linker.func_wrap(WASI, "random_get", |caller: Caller<'_, HostState>, buf: i32, len: i32| {
            refuse_in_user_code(&caller, "randomness (Math.random, crypto.getRandomValues, crypto.randomUUID)")?;
            Ok(random_get(caller, buf, len))
        })?;
        linker.func_wrap(
            WASI,
            "clock_time_get",
            |caller: Caller<'_, HostState>, id: i32, precision: i64, out: i32| {
                refuse_in_user_code(&caller, "the clock (Date, performance.now)")?;
                Ok(clock_time_get(caller, id, precision, out))
            },
        )?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

fn refuse_in_user_code(caller: &Caller<'_, HostState>, what: &'static str) -> wasmtime::Result<()> {
    if caller.data().user_code {
        return Err(wasmtime::Error::new(Error::NondeterministicBuild { what }));
    }
    Ok(())
}

/// Adds every import the guest needs to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(names::HOST_INTERFACE, "call", host_call)?;
    linker.func_wrap(names::HOST_INTERFACE, "console", host_console)?;
    linker.func_wrap(names::HOST_INTERFACE, "resolve-module", host_resolve_module)?;
    async_calls::add_to_linker(linker)?;

    linker.func_wrap(names::HOST_INTERFACE, "user-code", |_: Caller<'_, HostState>| {})?;
    linker.func_wrap(WASI, "random_get", random_get)?;
    linker.func_wrap(WASI, "environ_get", |_: Caller<'_, HostState>, _: i32, _: i32| ERRNO_SUCCESS)?;
    linker.func_wrap(WASI, "environ_sizes_get", |mut caller: Caller<'_, HostState>, count: i32, size: i32| {
        let a = write_bytes(&mut caller, count, &0u32.to_le_bytes());
        let b = write_bytes(&mut caller, size, &0u32.to_le_bytes());
        if a == ERRNO_SUCCESS { b } else { a }
    })?;
    linker.func_wrap(WASI, "clock_time_get", clock_time_get)?;
    linker.func_wrap(WASI, "fd_close", |_: Caller<'_, HostState>, _fd: i32| ERRNO_BADF)?;
    linker.func_wrap(WASI, "fd_fdstat_get", |mut caller: Caller<'_, HostState>, fd: i32, out: i32| {
        if !(0..=2).contains(&fd) {
            return ERRNO_BADF;
        }
        // filetype character_device, no flags, rights fd_write (1 << 6).
        let mut stat = [0u8; 24];
        stat[0] = 2;
        stat[8..16].copy_from_slice(&(1u64 << 6).to_le_bytes());
        write_bytes(&mut caller, out, &stat)
    })?;
    linker.func_wrap(WASI, "fd_seek", |_: Caller<'_, HostState>, fd: i32, _: i64, _: i32, _: i32| {
        if (0..=2).contains(&fd) { ERRNO_SPIPE } else { ERRNO_BADF }
    })?;
    linker.func_wrap(WASI, "fd_write", fd_write)?;
    linker.func_wrap(WASI, "proc_exit", |_: Caller<'_, HostState>, code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::format_err!("the guest called proc_exit({code})"))
    })?;
    Ok(())
}
