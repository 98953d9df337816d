//! The event loop: timers in node's order, promises awaited across loop
//! turns, deadlines and interrupts while waiting, promises that can never
//! settle, and timers that die with their runtime.
//!
//! The ordering tests assert the expected order, and when `node` is on PATH
//! also run the same script in node and compare.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsbox::{CacheDir, EngineFactory, EngineOptions, Error, Limits, NativeModule};
use serde_json::{json, Value};

#[path = "support/node.rs"]
mod node;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn base() -> EngineOptions {
    EngineOptions::new().cache(cache()).max_runtimes(8)
}

/// Runs `script` (which defines `main()` returning a promise) in jsbox and,
/// in node; both must print the same JSON.
fn same_as_node(script: &str, expected: Value) {
    let mut rt = jsbox::open(base()).unwrap();
    let got = rt.eval(&format!("{script}\nmain()")).unwrap();
    assert_eq!(got, expected, "jsbox");
    let program = format!("{script}\nmain().then((v) => console.log(JSON.stringify(v)));");
    let out = node::node_command().arg("-e").arg(&program).output().expect("node ran");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    let node: Value = serde_json::from_slice(&out.stdout).expect("node printed JSON");
    assert_eq!(node, expected, "node");
}

#[test]
fn microtasks_then_timers_by_due_time_then_creation() {
    same_as_node(
        r#"
        async function main() {
          const log = [];
          setTimeout(() => log.push('timeout 0'));
          Promise.resolve().then(() => log.push('then'));
          queueMicrotask(() => log.push('queueMicrotask'));
          setTimeout(() => log.push('a 1'), 1);
          setTimeout(() => {
            log.push('t1');
            Promise.resolve().then(() => log.push('t1 then'));
            queueMicrotask(() => log.push('t1 queueMicrotask'));
            setTimeout(() => log.push('nested 0'), 0);
          }, 0);
          setTimeout(() => log.push('t2'), 0);
          const gone = setTimeout(() => log.push('cleared'), 0);
          clearTimeout(gone);
          setTimeout((x, y) => log.push(`args ${x} ${y}`), 0, 'p', 'q');
          log.push('sync');
          await new Promise((resolve) => setTimeout(resolve, 50));
          // Created latest-due first: they run by due time.
          setTimeout(() => log.push('z 30'), 30);
          setTimeout(() => log.push('y 20'), 20);
          setTimeout(() => log.push('x 10'), 10);
          await new Promise((resolve) => setTimeout(resolve, 60));
          return log;
        }
        "#,
        json!([
            "sync", "then", "queueMicrotask",
            "timeout 0", "a 1", "t1", "t1 then", "t1 queueMicrotask", "t2", "args p q",
            "nested 0", "x 10", "y 20", "z 30"
        ]),
    );
}

#[test]
fn intervals_repeat_until_cleared() {
    same_as_node(
        r#"
        function main() {
          const log = [];
          // clearTimeout clears intervals too, and ids work as well as objects.
          const other = setInterval(() => log.push('never'), 1);
          clearTimeout(+other);
          return new Promise((resolve) => {
            let n = 0;
            const iv = setInterval(() => {
              n += 1;
              log.push(`tick ${n}`);
              if (n === 3) {
                clearInterval(iv);
                setTimeout(() => resolve(log), 10);
              }
            }, 2);
          });
        }
        "#,
        json!(["tick 1", "tick 2", "tick 3"]),
    );
}

#[test]
fn timer_objects_behave_like_nodes() {
    same_as_node(
        r#"
        async function main() {
          const t = setTimeout(() => {}, 1);
          const shape = [typeof t, typeof +t, t.hasRef(), t.unref().hasRef(), t.ref().hasRef()];
          let thisIsTimer = false;
          const u = setTimeout(function () { thisIsTimer = this === u; }, 1);
          let refreshed = 0;
          const r = setTimeout(() => refreshed++, 5);
          r.refresh();
          // The web branch's AbortSignal.timeout runs on these timers.
          const signal = AbortSignal.timeout(5);
          await new Promise((resolve) => setTimeout(resolve, 30));
          let threw = '';
          try { setTimeout('not a function', 1); } catch (e) { threw = e.name; }
          return [shape, thisIsTimer, refreshed, threw, typeof setInterval, typeof clearInterval,
                  signal.aborted, signal.reason.name];
        }
        "#,
        json!([["object", "number", true, false, true], true, 1, "TypeError", "function", "function", true, "TimeoutError"]),
    );
}

#[test]
fn the_loop_runs_across_calls_of_one_runtime() {
    let mut rt = jsbox::open(base()).unwrap();
    // A timer left pending by one call fires while a later call waits.
    assert_eq!(rt.eval("globalThis.fired = 0; setTimeout(() => fired++, 1); 'left'").unwrap(), json!("left"));
    assert_eq!(rt.eval("new Promise((r) => setTimeout(() => r(fired), 20))").unwrap(), json!(1));
    // call and require await too.
    let mut rt = jsbox::open(
        base()
            .module("later", "module.exports = new Promise((r) => setTimeout(() => r({ v: 7 }), 5));")
            .init_script("function wait(ms, v) { return new Promise((r) => setTimeout(r, ms, v)); }"),
    )
    .unwrap();
    assert_eq!(rt.call("wait", (10, "x")).unwrap(), json!("x"));
    assert_eq!(rt.require("later").unwrap(), json!({ "v": 7 }));
    assert_eq!(rt.eval("require('later')").unwrap(), json!({ "v": 7 }));
    // A rejection after a timer is the call's error; a throwing timer
    // callback fails the call that was waiting.
    match rt.eval("new Promise((_, no) => setTimeout(() => no(new RangeError('late')), 5))").unwrap_err() {
        Error::Exception(e) => assert_eq!((e.name.as_str(), e.message.as_str()), ("RangeError", "late")),
        other => panic!("{other:?}"),
    }
    match rt.eval("setTimeout(() => { throw new Error('in a timer') }, 1); new Promise((r) => setTimeout(r, 10))").unwrap_err() {
        Error::Exception(e) => assert_eq!(e.message, "in a timer"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rt.eval("1 + 1").unwrap(), json!(2));
}

#[test]
fn a_promise_that_can_never_settle_is_an_error() {
    let mut rt = jsbox::open(base()).unwrap();
    let start = Instant::now();
    assert!(matches!(rt.eval("new Promise(() => {})"), Err(Error::NeverSettles)));
    // Only an unref()ed timer is left: node would exit here too.
    assert!(matches!(rt.eval("new Promise((r) => setTimeout(r, 50).unref())"), Err(Error::NeverSettles)));
    // The timers that could settle it are cleared.
    let err = rt.eval("new Promise((r) => { const t = setTimeout(r, 5); setTimeout(() => clearTimeout(t), 1); })");
    assert!(matches!(err, Err(Error::NeverSettles)), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!Error::NeverSettles.is_fatal());
    assert_eq!(rt.eval("'still usable'").unwrap(), json!("still usable"));
}

#[test]
fn the_deadline_covers_the_wait() {
    let limits = Limits { timeout: Some(Duration::from_millis(150)), ..Limits::default() };
    let f = EngineFactory::new(base().limits(limits.clone())).unwrap();
    let mut rt = f.new_runtime().unwrap();
    let start = Instant::now();
    assert!(matches!(rt.eval("new Promise((r) => setTimeout(r, 60000))"), Err(Error::Timeout(_))));
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    // An interval that never lets the promise settle.
    let mut rt = f.new_runtime().unwrap();
    assert!(matches!(rt.eval("setInterval(() => {}, 1); new Promise(() => {})"), Err(Error::Timeout(_))));
    // A slow native future too.
    let slow = NativeModule::new("slow").async_function("sleep", |(ms,): (u64,)| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, String>(())
    });
    let mut rt = jsbox::open(base().limits(limits).native_module(slow)).unwrap();
    let start = Instant::now();
    assert!(matches!(rt.eval("require('slow').sleep(60000)"), Err(Error::Timeout(_))));
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

#[test]
fn an_interrupt_stops_a_waiting_runtime() {
    let limits = Limits { timeout: None, ..Limits::default() };
    let mut rt = jsbox::open(base().limits(limits)).unwrap();
    let handle = rt.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    let start = Instant::now();
    let err = rt.eval("new Promise((r) => setTimeout(r, 60000))").unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    stopper.join().unwrap();
}

/// Counts its futures that were dropped before they finished.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn timers_and_host_calls_die_with_their_runtime() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let (c, s) = (cancelled.clone(), started.clone());
    let hang = NativeModule::new("hang").async_function("forever", move |_: Value| {
        s.fetch_add(1, Ordering::SeqCst);
        let flag = DropFlag(c.clone());
        async move {
            let _flag = flag;
            std::future::pending::<()>().await;
            Ok::<_, String>(())
        }
    });
    // One pool slot: the second runtime reuses the first one's memory.
    let f = EngineFactory::new(base().max_runtimes(1).native_module(hang)).unwrap();
    let mut first = f.new_runtime().unwrap();
    let left = first
        .eval("globalThis.hits = 0; setInterval(() => hits++, 1); setTimeout(() => hits++, 5); require('hang').forever(); 'left'")
        .unwrap();
    assert_eq!(left, json!("left"));
    assert_eq!(first.eval("new Promise((r) => setTimeout(() => r(hits > 0), 20))").unwrap(), json!(true));
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert!(!cancelled.load(Ordering::SeqCst));
    drop(first);
    assert!(cancelled.load(Ordering::SeqCst), "the pending native future is dropped with its runtime");

    let mut second = f.new_runtime().unwrap();
    let seen = second.eval("new Promise((r) => setTimeout(() => r(typeof globalThis.hits), 30))").unwrap();
    assert_eq!(seen, json!("undefined"));
    // Nothing of the first runtime's loop is left to wait on.
    assert!(matches!(second.eval("new Promise(() => {})"), Err(Error::NeverSettles)));
}

#[test]
fn many_runtimes_wait_at_once() {
    // The sync API from many threads at once: each blocks its own thread,
    // the timers all run on the shared loop.
    let f = Arc::new(EngineFactory::new(base().max_runtimes(16)).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut rt = f.new_runtime().unwrap();
                rt.eval(&format!("new Promise((r) => setTimeout(r, 20, {i}))")).unwrap()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), json!(i));
    }
}
