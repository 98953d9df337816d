//! Pool pressure: a full pool fails at once with `Capacity`, or waits for a
//! slot with `new_runtime_timeout`; slots come back when runtimes drop on
//! any thread, and nothing deadlocks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use jsbox::{CacheDir, EngineFactory, EngineOptions, Error};

fn factory(slots: u32) -> EngineFactory {
    let cache = CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"));
    EngineFactory::new(EngineOptions::new().cache(cache).max_runtimes(slots)).unwrap()
}

#[test]
fn full_pool_fails_at_once_or_times_out_typed() {
    let f = factory(2);
    let a = f.new_runtime().unwrap();
    let _b = f.new_runtime().unwrap();
    assert_eq!(f.available_runtimes(), 0);
    assert!(matches!(f.new_runtime().unwrap_err(), Error::Capacity(2)));
    let start = Instant::now();
    let err = f.new_runtime_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(100), "{:?}", start.elapsed());
    assert!(matches!(err, Error::CapacityTimeout { slots: 2, waited } if waited == Duration::from_millis(100)), "{err}");
    drop(a);
    assert_eq!(f.available_runtimes(), 1);
    let mut c = f.new_runtime_timeout(Duration::ZERO).unwrap();
    assert_eq!(c.eval_as::<i32>("1 + 1").unwrap(), 2);
}

#[test]
fn a_runtime_dropped_on_another_thread_wakes_a_waiter() {
    let f = factory(1);
    let held = f.new_runtime().unwrap();
    let (tx, rx) = mpsc::channel();
    let dropper = std::thread::spawn(move || {
        let rt: jsbox::Runtime = rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(rt);
    });
    tx.send(held).unwrap();
    let start = Instant::now();
    let mut rt = f.new_runtime_timeout(Duration::from_secs(60)).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(40));
    assert_eq!(rt.eval_as::<i32>("40 + 2").unwrap(), 42);
    dropper.join().unwrap();
}

/// More threads than slots; every runtime is dropped by a different thread
/// than the one that made it. Every request is served, the pool is never
/// over-subscribed, and the run ends (no lost wake-up, no deadlock).
#[test]
fn more_threads_than_slots_all_get_served() {
    const SLOTS: u32 = 3;
    const THREADS: usize = 12;
    const EACH: usize = 8;
    let f = Arc::new(factory(SLOTS));
    let alive = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    // Droppers: runtimes are handed over and dropped there.
    let (tx, rx) = mpsc::channel::<(jsbox::Runtime, Arc<AtomicUsize>)>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let droppers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || loop {
                let next = rx.lock().unwrap().recv();
                let Ok((rt, alive)) = next else { break };
                std::thread::sleep(Duration::from_millis(2));
                // Counted down before the drop: a waiter can only get the
                // slot once the drop has freed it.
                alive.fetch_sub(1, Ordering::SeqCst);
                drop(rt);
            })
        })
        .collect();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (f, alive, peak, tx) = (f.clone(), alive.clone(), peak.clone(), tx.clone());
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let mut rt = f.new_runtime_timeout(Duration::from_secs(120)).expect("a slot within the timeout");
                    let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let n = (t * EACH + i) as i64;
                    assert_eq!(rt.eval_as::<i64>(&format!("{n} * 2")).unwrap(), n * 2);
                    tx.send((rt, alive.clone())).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    for w in workers {
        w.join().unwrap();
    }
    for d in droppers {
        d.join().unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= SLOTS as usize);
    assert_eq!(f.available_runtimes(), SLOTS);
}

#[test]
fn runtimes_spread_over_engines_and_spill_when_one_is_full() {
    let cache = CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"));
    let limits = jsbox::Limits { timeout: Some(Duration::from_millis(100)), ..jsbox::Limits::default() };
    let options = EngineOptions::new().cache(cache).max_runtimes(3).engines(2).limits(limits);
    let f = Arc::new(EngineFactory::new(options).unwrap());
    assert_eq!(f.info().engines, 2);
    // Three slots over two engines (two each): one thread fills its home
    // engine, then the other.
    let mut held: Vec<_> = (0..3).map(|_| f.new_runtime().unwrap()).collect();
    assert!(matches!(f.new_runtime().unwrap_err(), Error::Capacity(3)));
    for rt in &mut held {
        assert_eq!(rt.eval_as::<i32>("6 * 7").unwrap(), 42);
    }
    drop(held);
    // Every engine's epoch advances: a runaway script times out on
    // whichever engine its thread makes runtimes on.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || {
                let err = f.new_runtime().unwrap().eval_json("for (;;) {}", "spin.js").unwrap_err();
                assert!(matches!(err, Error::Timeout(_)), "{err}");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(EngineFactory::new(EngineOptions::new().max_runtimes(1).engines(4)).unwrap().info().engines, 1);
}
