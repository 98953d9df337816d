//! The soak run (`make soak`): one million spawn / eval / drop cycles over
//! two threads from one factory; every eval must return 42, and resident
//! memory must stay flat. `soak [cycles] [threads]`.

use std::sync::Arc;
use std::time::Instant;

use jsbox::{EngineFactory, EngineOptions};

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) * 4
}

fn main() {
    let cycles: u64 = std::env::args().nth(1).map_or(1_000_000, |s| s.parse().expect("cycles"));
    let threads: u64 = std::env::args().nth(2).map_or(2, |s| s.parse().expect("threads"));
    let factory = Arc::new(EngineFactory::new(EngineOptions::new().module("m", "exports.f = (x) => x + 1;")).unwrap());
    // Warm up so the pool's slots and the allocator reach steady state.
    for _ in 0..10_000 {
        factory.new_runtime().unwrap().eval_json("1", "w").unwrap();
    }
    let start_rss = rss_kib();
    let start = Instant::now();
    let per_thread = cycles / threads;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let f = factory.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let mut rt = f.new_runtime().expect("spawn");
                    let v = rt.eval_json("var n = 41; require('m').f(n);", "soak.js").expect("eval");
                    assert_eq!(v, "42", "thread {t} cycle {i}");
                    if t == 0 && i % 100_000 == 0 {
                        eprintln!("cycle {i}: rss {} KiB", rss_kib());
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a soak thread failed");
    }
    let elapsed = start.elapsed();
    let end_rss = rss_kib();
    println!(
        "soak: {} cycles on {threads} threads in {:.1} s ({:.0}/s), no errors; RSS start {start_rss} KiB, end {end_rss} KiB ({:+} KiB)",
        per_thread * threads,
        elapsed.as_secs_f64(),
        (per_thread * threads) as f64 / elapsed.as_secs_f64(),
        end_rss as i64 - start_rss as i64
    );
    // Flat: allow allocator noise, not growth per cycle.
    if end_rss > start_rss + 64 * 1024 {
        eprintln!("soak: resident memory grew by more than 64 MiB");
        std::process::exit(1);
    }
}
