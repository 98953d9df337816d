//! Limits: deadlines (also across host calls), interrupts, memory, stack,
//! fuel, size caps, console cap, stats and per-runtime overrides.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use jsbox::{CacheDir, ConsoleOutput, EngineFactory, EngineOptions, Error, Limits, NativeModule, Runtime};
use serde_json::json;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn natives() -> NativeModule {
    NativeModule::new("host")
        .function("sleep", |(ms,): (u64,)| {
            std::thread::sleep(Duration::from_millis(ms));
            Ok::<_, String>(ms)
        })
        .function("inc", |(n,): (i64,)| Ok::<_, String>(n + 1))
        .function("big", |(n,): (usize,)| Ok::<_, String>("y".repeat(n)))
}

fn options() -> EngineOptions {
    EngineOptions::new()
        .cache(cache())
        .max_runtimes(32)
        .native_module(natives())
        .console(ConsoleOutput::Capture)
}

/// Default limits (10 s timeout, 128 MiB).
static DEFAULT: LazyLock<EngineFactory> = LazyLock::new(|| EngineFactory::new(options()).unwrap());

fn with_timeout(ms: u64) -> Limits {
    Limits { timeout: Some(Duration::from_millis(ms)), ..Limits::default() }
}

/// A 100 ms deadline on the factory.
static SHORT: LazyLock<EngineFactory> =
    LazyLock::new(|| EngineFactory::new(options().limits(with_timeout(100))).unwrap());

fn rt() -> Runtime {
    DEFAULT.new_runtime().unwrap()
}

fn assert_poisoned(rt: &mut Runtime) {
    match rt.eval("1 + 1") {
        Err(Error::Poisoned(_)) => {}
        other => panic!("expected Error::Poisoned, got {other:?}"),
    }
    assert!(matches!(rt.require("host"), Err(Error::Poisoned(_))));
    assert!(matches!(rt.call_module("host", "inc", (1,)), Err(Error::Poisoned(_))));
}

#[test]
fn infinite_loop_times_out_and_poisons_the_runtime() {
    let mut rt = SHORT.new_runtime().unwrap();
    assert_eq!(rt.limits().timeout, Some(Duration::from_millis(100)));
    let start = Instant::now();
    let err = rt.eval("while (true) {}").unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err, Error::Timeout(d) if d == Duration::from_millis(100)), "{err:?}");
    assert!(err.is_fatal());
    assert!(elapsed >= Duration::from_millis(100), "stopped early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_poisoned(&mut rt);
    // The factory still makes working runtimes.
    let mut fresh = SHORT.new_runtime().unwrap();
    assert_eq!(fresh.eval("6 * 7").unwrap(), json!(42));
    // A loop in a function, and a loop in a promise job, time out too.
    assert!(matches!(fresh.eval("function spin() { for (;;) {} } spin()"), Err(Error::Timeout(_))));
    let mut again = SHORT.new_runtime().unwrap();
    assert!(matches!(again.eval("Promise.resolve().then(() => { for (;;) {} })"), Err(Error::Timeout(_))));
}

#[test]
fn deadline_applies_per_call_not_per_runtime() {
    let mut rt = SHORT.new_runtime().unwrap();
    // Many short calls adding up to more than the 100 ms deadline are fine.
    let mut total = 0;
    for _ in 0..20 {
        total += rt.eval_as::<i64>("{ const t = Date.now(); while (Date.now() - t < 10) {} } 1").unwrap();
    }
    assert_eq!(total, 20);
}

#[test]
fn interrupt_handle_from_another_thread() {
    let mut rt = rt();
    rt.set_limits(Limits { timeout: None, ..Limits::default() }).unwrap();
    let handle = rt.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    let start = Instant::now();
    let err = rt.eval("let i = 0; while (true) { i++ }").unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
    assert_poisoned(&mut rt);
    // Other runtimes of the factory are not affected by the interrupt.
    let mut other = DEFAULT.new_runtime().unwrap();
    assert_eq!(other.eval("let s = 0; for (let i = 0; i < 100000; i++) s += i; s").unwrap(), json!(4999950000u64));
}

#[test]
fn interrupt_only_hits_its_own_runtime() {
    let mut a = rt();
    let mut b = rt();
    let handle = a.interrupt_handle();
    let t = std::thread::spawn(move || {
        // B runs a long (but finite) loop while A is interrupted.
        let v = b.eval("let s = 0; for (let i = 0; i < 3e6; i++) s += 1; s");
        (v, b)
    });
    std::thread::sleep(Duration::from_millis(20));
    handle.interrupt();
    let (v, _b) = t.join().unwrap();
    assert_eq!(v.unwrap(), json!(3_000_000));
    // A is interrupted at its next call that runs long enough to see it.
    assert!(matches!(a.eval("for (;;) {}"), Err(Error::Timeout(_))));
}

#[test]
fn interrupt_while_idle_stops_the_next_call() {
    let mut a = rt();
    a.interrupt_handle().interrupt();
    // Documented: "Stops the runtime's current (or next) call".
    assert!(matches!(a.eval("1"), Err(Error::Timeout(_))), "the next call ran despite the interrupt");
    assert_poisoned(&mut a);
}

#[test]
fn host_time_counts_toward_the_deadline() {
    let mut rt = SHORT.new_runtime().unwrap();
    let start = Instant::now();
    let err = rt.eval("require('host').sleep(300); while (true) {}").unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(elapsed >= Duration::from_millis(300));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_poisoned(&mut rt);

    // A script that only waits on the host past its deadline is stopped
    // as soon as it is back in JS.
    let mut rt = SHORT.new_runtime().unwrap();
    let err = rt.eval("for (let i = 0; i < 5; i++) require('host').sleep(60); 'finished'").unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
}

#[test]
fn allocation_bomb_is_out_of_memory() {
    let f = EngineFactory::new(options().limits(Limits { max_memory: 32 << 20, ..Limits::default() })).unwrap();
    let mut rt = f.new_runtime().unwrap();
    let err = rt.eval("let a = []; for (;;) a.push(new Array(1e6).fill(1))").unwrap_err();
    match err {
        Error::OutOfMemory { limit } => assert_eq!(limit, 32 << 20),
        other => panic!("expected Error::OutOfMemory, got {other:?}"),
    }
    assert!(rt.guest_memory().len() <= 32 << 20, "memory grew past the cap: {}", rt.guest_memory().len());
    assert!(rt.stats().peak_memory <= 32 << 20);
    assert_poisoned(&mut rt);
    // The host and the factory are fine.
    let mut fresh = f.new_runtime().unwrap();
    assert_eq!(fresh.eval("[1, 2, 3].length").unwrap(), json!(3));
    // A string bomb too.
    let mut s = f.new_runtime().unwrap();
    let err = s.eval("const parts = []; for (;;) parts.push('x'.repeat(1e6) + parts.length)").unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { .. }), "{err:?}");
}

/// Out of memory inside a promise job or a timer callback: when the job that
/// would settle the awaited promise dies of it, the promise stays pending,
/// which used to read as `NeverSettles`. A refused allocation makes the
/// call `OutOfMemory`, at every cap (issue 23).
#[test]
fn out_of_memory_in_promise_jobs_is_out_of_memory() {
    let scripts = [
        "(async () => { await null; const a = []; for (;;) a.push(new Array(1e5).fill(1)); })()",
        "Promise.resolve().then(() => { const a = []; for (;;) a.push({ k: a.length, s: 'v' + a.length }); })",
        // The callback that would resolve the awaited promise dies instead.
        "new Promise((resolve) => setTimeout(() => { const a = []; for (;;) a.push(new Array(1e5).fill(1)); resolve(a); }, 1))",
        "new Promise((resolve) => queueMicrotask(() => { const a = []; for (;;) a.push('v' + a.length); resolve(a); }))",
        "new Promise((r) => setTimeout(r, 1)).then(() => { const a = []; for (;;) a.push([a.length]); })",
    ];
    let mut failures = Vec::new();
    for mib in (8..=64).step_by(4) {
        for script in scripts {
            let mut rt = DEFAULT.new_runtime().unwrap();
            rt.set_limits(Limits { max_memory: mib << 20, ..Limits::default() }).unwrap();
            match rt.eval(script) {
                Err(Error::OutOfMemory { limit }) if limit == mib << 20 => {}
                other => failures.push(format!("{mib} MiB, {script}: {other:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} were not OutOfMemory:\n{}", failures.len(), 15 * scripts.len(), failures.join("\n"));
}

#[test]
fn lower_memory_cap_per_runtime() {
    let mut rt = rt();
    rt.set_limits(Limits { max_memory: 24 << 20, ..Limits::default() }).unwrap();
    match rt.eval("let a = []; for (;;) a.push(new Array(1e6).fill(1))").unwrap_err() {
        Error::OutOfMemory { limit } => assert_eq!(limit, 24 << 20),
        other => panic!("expected Error::OutOfMemory, got {other:?}"),
    }
    assert!(rt.guest_memory().len() <= 24 << 20);
}

#[test]
fn unbounded_recursion_is_stack_overflow() {
    let mut rt = rt();
    let err = rt.eval("function f() { return f() + 1 } f()").unwrap_err();
    assert!(matches!(err, Error::StackOverflow), "{err:?}");
    assert!(err.is_fatal());
    assert_poisoned(&mut rt);
    let mut fresh = rt_after();
    assert!(matches!(fresh.eval("const g = (n) => g(n + 1) * 2; g(0)"), Err(Error::StackOverflow)));
    let mut fresh = rt_after();
    // Recursion through a native module call.
    assert!(matches!(fresh.eval("function h(n) { return require('host').inc(h(n + 1)) } h(0)"), Err(Error::StackOverflow)));
    // Bounded recursion is fine.
    let mut fresh = rt_after();
    assert_eq!(fresh.eval("function d(n) { return n === 0 ? 0 : 1 + d(n - 1) } d(500)").unwrap(), json!(500));
}

#[test]
fn moderate_recursion_works_and_overflow_ends_the_runtime() {
    let mut rt = rt();
    assert_eq!(rt.eval("function d(n) { return n === 0 ? 0 : 1 + d(n - 1) } d(1500)").unwrap(), json!(1500));
    // QuickJS's own stack check is compiled out for WASI: the host's wasm
    // stack limit stops the recursion, which JS cannot catch.
    assert!(matches!(
        rt.eval("function f() { return f() + 1 } try { f() } catch (e) { 'caught' }"),
        Err(Error::StackOverflow)
    ));
    assert!(matches!(rt.eval("'usable'"), Err(Error::Poisoned(_))));
}

fn rt_after() -> Runtime {
    DEFAULT.new_runtime().unwrap()
}

#[test]
fn fuel_exhaustion_and_fuel_stats() {
    let f = EngineFactory::new(options().fuel_metering(true).limits(Limits { fuel: Some(1_000_000), ..Limits::default() }))
        .unwrap();
    assert!(f.info().engine.fuel);
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.stats().fuel_consumed, None, "nothing ran yet");
    assert_eq!(rt.eval("1 + 1").unwrap(), json!(2));
    let used = rt.stats().fuel_consumed.expect("fuel is reported with metering on");
    assert!(used > 0 && used < 1_000_000, "{used}");
    rt.eval("2 + 2").unwrap();
    assert!(rt.stats().fuel_consumed.unwrap() > used, "fuel accumulates over calls");

    let err = rt.eval("while (true) {}").unwrap_err();
    assert!(matches!(err, Error::FuelExhausted(1_000_000)), "{err:?}");
    assert_poisoned(&mut rt);

    let mut fresh = f.new_runtime().unwrap();
    assert_eq!(fresh.eval("'still fine'").unwrap(), json!("still fine"));
    // Without metering there is no fuel figure.
    let mut plain = rt_after();
    plain.eval("1").unwrap();
    assert_eq!(plain.stats().fuel_consumed, None);
}

#[test]
fn source_over_max_source_bytes_is_too_large() {
    let mut rt = rt();
    let source = "x".repeat(100_000_000);
    match rt.eval(&source).unwrap_err() {
        Error::TooLarge { what, size, limit } => {
            assert_eq!(what, "source");
            assert_eq!(size, 100_000_000);
            assert_eq!(limit, Limits::default().max_source_bytes);
        }
        other => panic!("expected Error::TooLarge, got {other:?}"),
    }
    assert!(matches!(rt.eval_bytes(source.as_bytes(), "big.js"), Err(Error::TooLarge { what: "source", .. })));
    drop(source);
    // Not fatal.
    assert_eq!(rt.eval("1").unwrap(), json!(1));
    // Exactly at the limit is accepted (by the size check).
    rt.set_limits(Limits { max_source_bytes: 8, ..Limits::default() }).unwrap();
    assert_eq!(rt.eval("1 + 2 + 3").unwrap_err().to_string(), Error::TooLarge { what: "source", size: 9, limit: 8 }.to_string());
    assert_eq!(rt.eval("10 + 200").unwrap(), json!(210));
}

#[test]
fn values_over_max_value_bytes_are_too_large() {
    let mut rt = rt();
    rt.set_limits(Limits { max_value_bytes: 1024, ..Limits::default() }).unwrap();
    match rt.eval("'x'.repeat(2000)").unwrap_err() {
        Error::TooLarge { what, size, limit } => {
            assert_eq!((what, limit), ("result", 1024));
            assert_eq!(size, 2002);
        }
        other => panic!("expected Error::TooLarge, got {other:?}"),
    }
    assert!(rt.require("host").is_ok());
    // Arguments going in.
    let big = "z".repeat(2000);
    assert!(matches!(rt.call_module("host", "inc", (big.as_str(),)), Err(Error::TooLarge { what: "arguments", .. })));
    // A native result over the limit is a catchable error ...
    assert_eq!(
        rt.eval("try { require('host').big(5000); 'no error' } catch (e) { 'caught' }").unwrap(),
        json!("caught")
    );
    // ... and the typed error when uncaught.
    assert!(matches!(rt.eval("require('host').big(5000).length"), Err(Error::TooLarge { what: "native call result", .. })));
    // Under the limit everything works.
    assert_eq!(rt.eval("require('host').big(10).length").unwrap(), json!(10));
    assert_eq!(rt.eval("'x'.repeat(1000).length").unwrap(), json!(1000));
}

#[test]
fn native_arguments_over_max_value_bytes_are_too_large() {
    let mut rt = rt();
    rt.set_limits(Limits { max_value_bytes: 1024, ..Limits::default() }).unwrap();
    assert_eq!(
        rt.eval("try { require('host').inc('x'.repeat(5000)); 'no error' } catch (e) { 'caught' }").unwrap(),
        json!("caught")
    );
    match rt.eval("require('host').inc('x'.repeat(5000))") {
        Err(Error::TooLarge { what, limit, .. }) => assert_eq!((what, limit), ("native call arguments", 1024)),
        other => panic!("expected Error::TooLarge, got {other:?}"),
    }
}

#[test]
fn console_cap_drops_and_counts() {
    let mut rt = rt();
    rt.set_limits(Limits { max_console_bytes: 100, ..Limits::default() }).unwrap();
    rt.eval("for (let i = 0; i < 50; i++) console.log('0123456789')").unwrap();
    let lines = rt.take_console();
    let kept: usize = lines.iter().map(|l| l.message.len()).sum();
    assert_eq!(lines.len(), 10);
    assert!(kept <= 100);
    assert_eq!(rt.stats().console_bytes_dropped, 400);
    // One huge line is dropped whole, without error.
    rt.eval("console.log('x'.repeat(1e6))").unwrap();
    assert!(rt.take_console().is_empty());
    assert_eq!(rt.stats().console_bytes_dropped, 400 + 1_000_000);
}

#[test]
fn stats_count_host_calls_and_memory() {
    let mut rt = rt();
    let s0 = rt.stats();
    assert_eq!(s0.host_calls, 0);
    assert!(s0.peak_memory > 0, "the snapshot's memory counts");
    rt.eval("const h = require('host'); for (let i = 0; i < 5; i++) h.inc(i)").unwrap();
    assert_eq!(rt.stats().host_calls, 5);
    // Failing host calls count too; non-JSON arguments never reach the host.
    rt.eval("try { require('host').inc('not a number') } catch (_) {}").unwrap();
    rt.eval("try { require('host').inc(1n) } catch (_) {}").unwrap();
    assert_eq!(rt.stats().host_calls, 6);
    let before = rt.stats().peak_memory;
    rt.eval("globalThis.keep = new Array(4e6).fill(1.5); keep.length").unwrap();
    let after = rt.stats().peak_memory;
    assert!(after > before, "peak {before} -> {after}");
    assert!(after >= rt.guest_memory().len());
    assert!(rt.stats().wall_time > Duration::ZERO);
}

#[test]
fn per_runtime_limits_override_the_factory() {
    let mut a = rt();
    let mut b = rt();
    assert_eq!(a.limits(), DEFAULT.limits());
    a.set_limits(with_timeout(100)).unwrap();
    assert_eq!(a.limits().timeout, Some(Duration::from_millis(100)));
    assert_eq!(b.limits(), DEFAULT.limits(), "another runtime keeps the factory's limits");
    let start = Instant::now();
    assert!(matches!(a.eval("while (true) {}"), Err(Error::Timeout(_))));
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(b.eval("'b fine'").unwrap(), json!("b fine"));
    // A new runtime starts with the factory's limits again.
    assert_eq!(rt().limits(), DEFAULT.limits());
    // Raising the deadline over a factory with a short one.
    let mut c = SHORT.new_runtime().unwrap();
    c.set_limits(with_timeout(2000)).unwrap();
    assert_eq!(c.eval("let t = Date.now(); while (Date.now() - t < 300) {} 'slow but fine'").unwrap(), json!("slow but fine"));
}

#[test]
fn set_limits_above_the_factory_memory_is_invalid() {
    let mut rt = rt();
    let before = rt.limits().clone();
    let err = rt.set_limits(Limits { max_memory: DEFAULT.limits().max_memory + 65536, ..Limits::default() }).unwrap_err();
    assert!(matches!(err, Error::InvalidOptions { option: "max_memory", .. }), "{err:?}");
    assert_eq!(rt.limits(), &before, "a rejected set_limits changes nothing");
    // Equal to the factory's is fine.
    rt.set_limits(Limits::default()).unwrap();
    assert_eq!(rt.eval("1").unwrap(), json!(1));
}

#[test]
fn a_failed_limit_does_not_touch_other_runtimes() {
    let mut bystander = SHORT.new_runtime().unwrap();
    bystander.eval("globalThis.state = 'kept'").unwrap();
    let mut victim = SHORT.new_runtime().unwrap();
    assert!(matches!(victim.eval("for (;;) {}"), Err(Error::Timeout(_))));
    assert_eq!(bystander.eval("state").unwrap(), json!("kept"));
}
