//! jsbox's benchmarks (criterion). `make bench` runs them and writes
//! `target/bench-report.{md,json}`; `make bench-quick` is a short run.
//!
//! Groups mirror the seed's Go suite (go-go-goja `perf/goja/bench_test.go`)
//! so numbers compare point by point.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use jsbox::{CacheDir, EngineFactory, EngineOptions};

const SCRIPT: &str = "var n = 41; n + 1;";

fn cache_dir() -> CacheDir {
    CacheDir::Path(std::env::temp_dir().join("jsbox-bench-cache"))
}

fn registry() -> EngineOptions {
    EngineOptions::new()
        .cache(cache_dir())
        .module("math", "exports.add = (a, b) => a + b; exports.mul = (a, b) => a * b;")
        .module("util", "const m = require('math'); exports.sumsq = (a, b) => m.add(m.mul(a, a), m.mul(b, b));")
        .init_script("function answer(x) { return x + 1; }")
}

fn runtime_spawn(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let raw = EngineFactory::new(registry().without_snapshot()).unwrap();
    let mut g = c.benchmark_group("runtime_spawn");
    g.bench_function("factory", |b| b.iter(|| drop(black_box(factory.new_runtime().unwrap()))));
    g.bench_function("no_snapshot", |b| b.iter(|| drop(black_box(raw.new_runtime().unwrap()))));
    g.bench_function("open", |b| b.iter(|| drop(black_box(jsbox::open(registry()).unwrap()))));
    g.finish();
}

fn spawn_and_execute(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let raw = EngineFactory::new(registry().without_snapshot()).unwrap();
    let mut g = c.benchmark_group("spawn_and_execute");
    g.bench_function("factory", |b| {
        b.iter(|| {
            let mut rt = factory.new_runtime().unwrap();
            let v: i64 = rt.eval_as(SCRIPT).unwrap();
            assert_eq!(v, 42);
        })
    });
    g.bench_function("no_snapshot", |b| {
        b.iter(|| {
            let mut rt = raw.new_runtime().unwrap();
            let v: i64 = rt.eval_as(SCRIPT).unwrap();
            assert_eq!(v, 42);
        })
    });
    g.finish();
}

fn config() -> Criterion {
    let quick = std::env::var_os("JSBOX_BENCH_QUICK").is_some();
    Criterion::default()
        .sample_size(if quick { 20 } else { 100 })
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 3 }))
}

criterion_group! { name = benches; config = config(); targets = runtime_spawn, spawn_and_execute }
criterion_main!(benches);
