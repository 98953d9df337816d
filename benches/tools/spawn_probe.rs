//! Where the time of `new_runtime` goes (a diagnostic, not a benchmark):
//! `spawn_probe [spawn|eval|reuse|scale] [N]`. `scale` compares one thread
//! with two, for spawn + eval and for eval in a reused runtime (pure CPU:
//! the machine's own scaling).
use std::time::Instant;
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let n: u32 = std::env::args().nth(2).map_or(20000, |s| s.parse().unwrap());
    let f = jsbox::EngineFactory::new(jsbox::EngineOptions::new()).unwrap();
    println!("{:?}", f.info().engine);
    for _ in 0..1000 { drop(f.new_runtime().unwrap()); }
    if mode == "all" || mode == "bare" {
        let t = Instant::now();
        for _ in 0..n { f.bare_instance().unwrap(); }
        println!("bare instance {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "spawn" {
        let t = Instant::now();
        for _ in 0..n { drop(f.new_runtime().unwrap()); }
        println!("spawn+drop {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "eval" {
        let t = Instant::now();
        for _ in 0..n { let mut r = f.new_runtime().unwrap(); r.eval_json("var n = 41; n + 1;", "x").unwrap(); }
        println!("spawn+eval+drop {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "reuse" {
        let mut r = f.new_runtime().unwrap();
        let t = Instant::now();
        for _ in 0..n { r.eval_json("var n = 41; n + 1;", "x").unwrap(); }
        println!("eval reused {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "scale" {
        let f = std::sync::Arc::new(f);
        for reuse in [false, true] {
            let run = |threads: u32| {
                // `SCALE_SEPARATE=1`: a factory (engine, pool) per thread, to
                // tell the shared engine's costs from the process's.
                let factories: Vec<_> = (0..threads)
                    .map(|_| match std::env::var_os("SCALE_SEPARATE") {
                        Some(_) => std::sync::Arc::new(jsbox::EngineFactory::new(jsbox::EngineOptions::new()).unwrap()),
                        None => f.clone(),
                    })
                    .collect();
                let t = Instant::now();
                std::thread::scope(|s| {
                    for f in factories {
                        s.spawn(move || {
                            let mut kept = reuse.then(|| f.new_runtime().unwrap());
                            for _ in 0..n {
                                let mut fresh = if reuse { None } else { Some(f.new_runtime().unwrap()) };
                                let r = kept.as_mut().or(fresh.as_mut()).unwrap();
                                r.eval_json("var n = 41; n + 1;", "x").unwrap();
                            }
                        });
                    }
                });
                t.elapsed()
            };
            // `SCALE_THREADS=N`: only N threads (for `perf stat`).
            if let Some(t) = std::env::var("SCALE_THREADS").ok().and_then(|t| t.parse().ok()) {
                println!("{t} threads: {:?}/op", run(t) / n);
                continue;
            }
            let (one, two) = (run(1), run(2));
            let name = if reuse { "reused eval" } else { "spawn+eval" };
            println!("{name}: 1 thread {:?}/op, 2 threads {:.2}x", one / n, 2.0 * one.as_secs_f64() / two.as_secs_f64());
        }
    }
}
