//! Async native functions (`NativeModule::async_function`, `raw_async`) and
//! the async Rust API (`Runtime::eval_async` and friends).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsbox::{CacheDir, CallLogPolicy, Direction, EngineFactory, EngineOptions, Error, MemoryCallLog, NativeModule};
use serde_json::json;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

/// `io.sleep(ms)` resolves with `ms` after a real tokio sleep; `io.fail`
/// rejects; `io.add` is ready at once; `io.deny` fails with a typed error.
fn io() -> NativeModule {
    NativeModule::new("io")
        .async_function("sleep", |(ms,): (u64,)| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, String>(ms)
        })
        .async_function("fail", |(why,): (String,)| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Err::<(), _>(format!("failed: {why}"))
        })
        .async_function("add", |(a, b): (f64, f64)| async move { Ok::<_, String>(a + b) })
        .raw_async("deny", |args: String| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Err::<String, _>(Error::Denied(format!("net access to {args}")))
        })
        .function("sync_add", |(a, b): (f64, f64)| Ok::<_, String>(a + b))
}

fn base() -> EngineOptions {
    EngineOptions::new().cache(cache()).max_runtimes(64).native_module(io())
}

#[test]
fn async_natives_resolve_and_reject_with_the_host_message() {
    let mut rt = jsbox::open(base()).unwrap();
    assert_eq!(rt.eval("require('io').sleep(20)").unwrap(), json!(20));
    assert_eq!(rt.eval("require('io').add(40, 2)").unwrap(), json!(42));
    // The stub returns a promise even when the host is done at once.
    assert_eq!(rt.eval("require('io').add(1, 2) instanceof Promise").unwrap(), json!(true));
    assert_eq!(rt.eval("require('io').sync_add(1, 2)").unwrap(), json!(3));
    let caught = rt
        .eval("require('io').fail('disk').catch((e) => [e instanceof Error, e.message])")
        .unwrap();
    assert_eq!(caught, json!([true, "failed: disk"]));
    let both = rt
        .eval("(async () => { const io = require('io'); const [a, b] = await Promise.all([io.sleep(30), io.sleep(10)]); return a + b; })()")
        .unwrap();
    assert_eq!(both, json!(40));
}

#[test]
fn uncaught_async_errors_keep_their_type() {
    let mut rt = jsbox::open(base()).unwrap();
    match rt.eval("require('io').fail('x')").unwrap_err() {
        Error::Host { module, function, message } => {
            assert_eq!((module.as_str(), function.as_str(), message.as_str()), ("io", "fail", "failed: x"))
        }
        other => panic!("{other:?}"),
    }
    match rt.eval("require('io').deny('example.com')").unwrap_err() {
        Error::Denied(message) => assert!(message.contains("example.com"), "{message}"),
        other => panic!("{other:?}"),
    }
    match rt.eval("require('io').sleep('not a number')").unwrap_err() {
        Error::Host { message, .. } => assert!(message.starts_with("bad arguments"), "{message}"),
        other => panic!("{other:?}"),
    }
    // The runtime is still usable.
    assert_eq!(rt.eval("require('io').sleep(1)").unwrap(), json!(1));
}

#[test]
fn the_calllog_records_async_calls_with_their_duration() {
    let log = MemoryCallLog::new();
    let f = EngineFactory::new(base().calllog(CallLogPolicy::Memory(log.clone()))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.eval("require('io').sleep(40)").unwrap(), json!(40));
    let _ = rt.eval("require('io').fail('late')");
    drop(rt);
    f.flush_calllog().unwrap();
    let entries = log.entries();
    let sleep = entries.iter().find(|e| e.function == "sleep").expect("the sleep call is logged");
    assert_eq!(sleep.direction, Direction::JsToHost);
    assert_eq!((sleep.module.as_str(), sleep.args_json.as_str()), ("io", "[40]"));
    assert_eq!(sleep.result_json.as_deref(), Some("40"));
    assert!(sleep.duration >= Duration::from_millis(40), "{:?}", sleep.duration);
    let fail = entries.iter().find(|e| e.function == "fail").expect("the failed call is logged");
    assert!(fail.error.as_deref().is_some_and(|e| e.contains("failed: late")), "{fail:?}");
    // The host->js call covers the whole wait.
    let eval = entries.iter().find(|e| e.function == "eval").unwrap();
    assert!(eval.duration >= Duration::from_millis(40), "{:?}", eval.duration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_async_waits_without_a_thread() {
    let f = Arc::new(EngineFactory::new(base().max_runtimes(200)).unwrap());
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut rt = f.new_runtime()?;
            rt.eval_async(&format!("require('io').sleep(30).then((ms) => ms + {i})")).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap(), json!(30 + i));
    }
}

/// The example plugin (`examples/async/plugin.js`, served by
/// `host/examples/async_plugin.rs`): an async native call and a timer.
#[test]
fn the_async_example_plugin_runs() {
    let catalog = NativeModule::new("catalog").async_function("price", |(sku,): (String,)| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok::<_, String>(match sku.as_str() {
            "apple" => Some(0.5),
            "bread" => Some(2.25),
            _ => None,
        })
    });
    let plugin = include_str!("../../examples/async/plugin.js");
    let f = EngineFactory::new(EngineOptions::new().cache(cache()).module("plugin", plugin).native_module(catalog)).unwrap();
    let mut rt = f.new_runtime().unwrap();
    let order = json!({ "id": 1, "items": ["apple", "bread", "apple"], "holdMs": 10 });
    assert_eq!(rt.call_module("plugin", "quote", (order,)).unwrap(), json!({ "id": 1, "items": 3, "total": 3.25 }));
    let order = json!({ "id": 2, "items": ["apple", "caviar"] });
    match rt.call_module("plugin", "quote", (order,)).unwrap_err() {
        Error::Exception(e) => assert_eq!(e.message, "unknown items: caviar"),
        other => panic!("{other:?}"),
    }
    let quote = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut rt = f.new_runtime().unwrap();
        rt.call_module_async("plugin", "quote", (json!({ "id": 3, "items": ["bread"] }),)).await
    });
    assert_eq!(quote.unwrap(), json!({ "id": 3, "items": 1, "total": 2.25 }));
}

#[test]
fn the_async_api_works_from_any_executor() {
    // No tokio context: native futures and timers run on jsbox's own loop.
    let mut rt = jsbox::open(base()).unwrap();
    let v = pollster::block_on(rt.eval_async("new Promise((r) => setTimeout(r, 5, 'timer')).then((t) => require('io').sleep(5).then((ms) => [t, ms]))"));
    assert_eq!(v.unwrap(), json!(["timer", 5]));
    let v = pollster::block_on(rt.call_async("Math.max", (1, 2)));
    assert!(v.is_err(), "a dotted name is not a global function: {v:?}");
    let v = pollster::block_on(rt.require_async("io")).unwrap();
    assert_eq!(v, json!({}));
}

/// The async API's futures are `Send`: they can be spawned on tokio.
#[allow(dead_code)]
fn futures_are_send(rt: &mut jsbox::Runtime) {
    fn send<T: Send>(_: T) {}
    send(rt.eval_async("1"));
    send(rt.eval_json_async("1", "x.js"));
    send(rt.call_async("f", (1,)));
    send(rt.call_module_async("m", "f", (1,)));
    send(rt.call_json_async(None, "f", "[]"));
    send(rt.require_async("m"));
}

/// A dropped `*_async` future (cancelled by a timeout or a `select!`)
/// still leaves its call-log row, marked cancelled, and its time in the
/// runtime's stats; the runtime stays usable.
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_async_call_keeps_its_calllog_row_and_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.sqlite");
    let f = EngineFactory::new(base().fuel_metering(true).calllog(CallLogPolicy::Sqlite(db.clone()))).unwrap();
    let mut rt = f.new_runtime().unwrap();

    // eval_async dropped by a timeout while its promise waits on a timer.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        rt.eval_async("new Promise((resolve) => setTimeout(resolve, 5000, 'late'))"),
    )
    .await;
    assert!(cancelled.is_err(), "the call should still be waiting");
    let after_eval = rt.stats();
    assert!(after_eval.wall_time >= Duration::from_millis(50), "{after_eval:?}");
    assert!(after_eval.fuel_consumed.is_some_and(|f| f > 0), "{after_eval:?}");

    // call_async dropped by select! while an async native call is in flight.
    rt.eval("globalThis.slow = (ms) => require('io').sleep(ms)").unwrap();
    tokio::select! {
        r = rt.call_async("slow", (5000,)) => panic!("finished first: {r:?}"),
        () = tokio::time::sleep(Duration::from_millis(30)) => {}
    }
    assert!(rt.stats().wall_time >= after_eval.wall_time + Duration::from_millis(30));
    // Still usable.
    assert_eq!(rt.eval_async("1 + 1").await.unwrap(), json!(2));
    drop(rt);
    f.flush_calllog().unwrap();

    let rows = jsbox::calllog::read_entries(&db, None, None, None).unwrap();
    let host_to_js: Vec<_> = rows.iter().filter(|e| e.direction == Direction::HostToJs).collect();
    let functions: Vec<&str> = host_to_js.iter().map(|e| e.function.as_str()).collect();
    assert_eq!(functions, ["eval", "eval", "slow", "eval"], "{host_to_js:#?}");
    for row in [host_to_js[0], host_to_js[2]] {
        let error = row.error.as_deref().unwrap_or_default();
        assert!(error.contains("cancelled"), "{row:?}");
        assert_eq!(row.result_json, None);
    }
    assert!(host_to_js[0].duration >= Duration::from_millis(50), "{:?}", host_to_js[0]);
    assert!(host_to_js[2].args_json.contains("5000"), "{:?}", host_to_js[2]);
    assert_eq!(host_to_js[3].result_json.as_deref(), Some("2"));
}
