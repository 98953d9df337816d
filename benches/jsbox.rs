//! jsbox's benchmarks (criterion). `make bench` runs them and then writes
//! `target/bench-report.{md,json}` (benches/tools/bench_report.rs);
//! `make bench-quick` is a short run.
//!
//! The groups mirror the seed's Go suite (go-go-goja `perf/goja/bench_test.go`)
//! so the numbers compare point by point, and put what a user would pick
//! instead (native QuickJS through rquickjs, no sandbox) in the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use jsbox::{CacheDir, CallLogPolicy, Cell, Columns, Compile, EngineFactory, EngineOptions, NativeModule};

const SCRIPT: &str = "var n = 41; n + 1;";
const MATH: &str = "exports.add = (a, b) => a + b; exports.mul = (a, b) => a * b;";
const UTIL: &str = "const m = require('math'); exports.sumsq = (a, b) => m.add(m.mul(a, a), m.mul(b, b));";
const INIT: &str = "function answer(x) { return x + 1; }";

fn cache_dir() -> CacheDir {
    CacheDir::Path(std::env::temp_dir().join("jsbox-bench-cache"))
}

fn calllog_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("jsbox-bench-calllog");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A future that is pending once (waking itself), then ready: an async
/// native call that makes the runtime go round its event loop.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

fn add_module() -> NativeModule {
    NativeModule::new("host")
        .function("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b))
        .async_function("add_async", |(a, b): (f64, f64)| async move { Ok::<_, String>(a + b) })
        .async_function("add_later", |(a, b): (f64, f64)| async move {
            YieldOnce(false).await;
            Ok::<_, String>(a + b)
        })
        .async_function("sleep", |(ms,): (u64,)| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, String>(ms)
        })
}

/// The registry every group uses: two JS modules, a global function and a
/// native module.
fn registry() -> EngineOptions {
    EngineOptions::new()
        .cache(cache_dir())
        .module("math", MATH)
        .module("util", UTIL)
        .init_script(INIT)
        .native_module(add_module())
}

/// A native runtime + context with the same registry, no sandbox.
fn rquickjs_runtime() -> (rquickjs::Runtime, rquickjs::Context) {
    let rt = rquickjs::Runtime::new().unwrap();
    let ctx = rquickjs::Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        let setup = format!(
            "var __m = {{}}; (function (exports) {{ {MATH} }})(__m.math = {{}}); \
             (function (exports) {{ const require = (n) => __m[n]; {UTIL} }})(__m.util = {{}}); \
             globalThis.require = (n) => __m[n]; {INIT}"
        );
        ctx.eval::<(), _>(setup).unwrap();
    });
    (rt, ctx)
}

fn rquickjs_eval(ctx: &rquickjs::Context, src: &str) -> i64 {
    ctx.with(|ctx| ctx.eval::<i64, _>(src).unwrap())
}

/// The seed's `buildArithmeticScript`: `lines` statements of arithmetic.
fn arithmetic_script(lines: usize) -> String {
    let mut s = String::from("var acc = 0;\n");
    for i in 0..lines {
        s.push_str(&format!("acc = (acc + {i} * 3 - {}) % 1000003;\n", i % 7));
    }
    s.push_str("acc;\n");
    s
}

fn runtime_spawn(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let raw = EngineFactory::new(registry().without_snapshot()).unwrap();
    let logged = EngineFactory::new(registry().calllog(CallLogPolicy::Sqlite(calllog_path("spawn")))).unwrap();
    let mut g = c.benchmark_group("runtime_spawn");
    g.bench_function("bare_instance", |b| b.iter(|| factory.bare_instance().unwrap()));
    g.bench_function("factory", |b| b.iter(|| drop(black_box(factory.new_runtime().unwrap()))));
    g.bench_function("factory_sqlite_calllog", |b| b.iter(|| drop(black_box(logged.new_runtime().unwrap()))));
    g.bench_function("open", |b| b.iter(|| drop(black_box(jsbox::open(registry()).unwrap()))));
    g.bench_function("no_snapshot", |b| b.iter(|| drop(black_box(raw.new_runtime().unwrap()))));
    g.bench_function("rquickjs_native", |b| b.iter(|| drop(black_box(rquickjs_runtime()))));
    g.finish();
}

fn spawn_and_execute(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let raw = EngineFactory::new(registry().without_snapshot()).unwrap();
    // Shared guest code with the snapshot's image copied in (what `open`
    // and `jsbox run` use): its own cache, or the whole module is found.
    let shared_cache = tempfile::tempdir().unwrap();
    let shared =
        EngineFactory::new(registry().compile(Compile::Shared).cache(CacheDir::Path(shared_cache.path().to_path_buf())))
            .unwrap();
    assert_eq!(shared.info().compile, Compile::Shared);
    let mut g = c.benchmark_group("spawn_and_execute");
    g.bench_function("factory", |b| {
        b.iter(|| {
            let mut rt = factory.new_runtime().unwrap();
            assert_eq!(rt.eval_as::<i64>(SCRIPT).unwrap(), 42);
        })
    });
    g.bench_function("factory_call", |b| {
        b.iter(|| {
            let mut rt = factory.new_runtime().unwrap();
            assert_eq!(rt.call_json(None, "answer", "[41]").unwrap(), "42");
        })
    });
    g.bench_function("shared", |b| {
        b.iter(|| {
            let mut rt = shared.new_runtime().unwrap();
            assert_eq!(rt.eval_as::<i64>(SCRIPT).unwrap(), 42);
        })
    });
    g.bench_function("no_snapshot", |b| {
        b.iter(|| {
            let mut rt = raw.new_runtime().unwrap();
            assert_eq!(rt.eval_as::<i64>(SCRIPT).unwrap(), 42);
        })
    });
    g.bench_function("rquickjs_native", |b| {
        b.iter(|| {
            let (_rt, ctx) = rquickjs_runtime();
            assert_eq!(rquickjs_eval(&ctx, SCRIPT), 42);
        })
    });
    // The same plugin as an ES module (linked and evaluated in the
    // snapshot) and as CommonJS (required on first call): spawn + call of
    // its default export.
    let esm = EngineFactory::new(
        EngineOptions::new()
            .es_module("words.mjs", WORDS_LIB)
            .es_module("plugin.mjs", "import { total } from './words.mjs';\nexport default (input) => total(input);")
            .import("./plugin.mjs"),
    )
    .unwrap();
    let cjs = EngineFactory::new(
        EngineOptions::new()
            .module("words.js", WORDS_LIB.replace("export function", "exports.total = function"))
            .module("plugin.js", "const { total } = require('./words.js');\nexports.default = (input) => total(input);"),
    )
    .unwrap();
    let input = r#"[{"words": ["spawn", "and", "call"]}]"#;
    g.bench_function("esm_call", |b| {
        b.iter(|| {
            let mut rt = esm.new_runtime().unwrap();
            assert_eq!(rt.call_json(Some("./plugin.mjs"), "default", input).unwrap(), "12");
        })
    });
    g.bench_function("cjs_call", |b| {
        b.iter(|| {
            let mut rt = cjs.new_runtime().unwrap();
            assert_eq!(rt.call_json(Some("./plugin.js"), "default", input).unwrap(), "12");
        })
    });
    g.finish();
}

/// The helper both plugin forms of `spawn_and_execute/esm_call` use.
const WORDS_LIB: &str = "export function total(input) {\n  return input.words.reduce((n, w) => n + w.length, 0);\n}\n";

fn runtime_reuse(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let mut rt = factory.new_runtime().unwrap();
    let (_qrt, ctx) = rquickjs_runtime();
    let mut g = c.benchmark_group("runtime_reuse");
    g.bench_function("eval", |b| b.iter(|| rt.eval_json(SCRIPT, "<eval>").unwrap()));
    g.bench_function("call", |b| b.iter(|| rt.call_json(None, "answer", "[41]").unwrap()));
    g.bench_function("rquickjs_native_eval", |b| b.iter(|| rquickjs_eval(&ctx, SCRIPT)));
    g.finish();
}

fn js_loading(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let mut reused = factory.new_runtime().unwrap();
    let mut g = c.benchmark_group("js_loading");
    for lines in [32usize, 512, 4096] {
        let script = arithmetic_script(lines);
        g.throughput(Throughput::Elements(lines as u64));
        g.bench_with_input(BenchmarkId::new("fresh", lines), &script, |b, s| {
            b.iter(|| factory.new_runtime().unwrap().eval_json(s, "arith.js").unwrap())
        });
        g.bench_with_input(BenchmarkId::new("reused", lines), &script, |b, s| {
            b.iter(|| reused.eval_json(s, "arith.js").unwrap())
        });
    }
    g.finish();
}

fn js_calling_host(c: &mut Criterion) {
    const CALLS: u64 = 100;
    let loop_src = format!("var h = require('host'); var s = 0; for (var i = 0; i < {CALLS}; i++) s = h.add(s, 1); s");
    let plain = EngineFactory::new(registry()).unwrap();
    let logged = EngineFactory::new(registry().calllog(CallLogPolicy::Sqlite(calllog_path("js-host")))).unwrap();
    // Each call's row committed and fsynced before the call returns (on the
    // disk holding the temp dir).
    let durable =
        EngineFactory::new(registry().calllog(CallLogPolicy::SqliteDurable(calllog_path("js-host-durable")))).unwrap();
    let mut g = c.benchmark_group("js_calling_host");
    // Per call: each iteration makes CALLS calls.
    g.throughput(Throughput::Elements(CALLS));
    // The native function's body called from Rust, with the same JSON work.
    let direct = |a: f64, b: f64| -> Result<f64, String> { Ok(a + b) };
    g.bench_function("direct", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for _ in 0..CALLS {
                // Same work as the native module: JSON in, JSON out.
                let args: (f64, f64) = serde_json::from_str(&format!("[{s},1]")).unwrap();
                s = direct(args.0, args.1).unwrap();
                black_box(serde_json::to_string(&s).unwrap());
            }
            s
        })
    });
    for (name, factory) in
        [("native_module", &plain), ("native_module_sqlite", &logged), ("native_module_sqlite_durable", &durable)]
    {
        let mut rt = factory.new_runtime().unwrap();
        g.bench_function(name, |b| b.iter(|| rt.eval_json(&loop_src, "loop.js").unwrap()));
    }
    // Async native functions, awaited one after the other. `async_native`:
    // the future is done when first polled, so the promise settles without
    // a loop turn (the common case for cached or CPU-only work).
    // `async_native_pending`: the future is pending once, so every call
    // goes through the host's wait and a `run-loop` turn.
    let mut rt = plain.new_runtime().unwrap();
    for (name, function) in [("async_native", "add_async"), ("async_native_pending", "add_later")] {
        let src = format!(
            "(async () => {{ var h = require('host'); var s = 0; for (var i = 0; i < {CALLS}; i++) s = await h.{function}(s, 1); return s; }})()"
        );
        assert_eq!(rt.eval_json(&src, "loop.js").unwrap(), CALLS.to_string());
        g.bench_function(name, |b| b.iter(|| rt.eval_json(&src, "loop.js").unwrap()));
    }
    g.finish();
}

fn event_loop(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let mut rt = factory.new_runtime().unwrap();
    let mut g = c.benchmark_group("event_loop");
    // A zero timer round trip from a call's start to its promise settling.
    // node clamps the delay to 1 ms, and so does jsbox: the host sleeps
    // until the timer is due.
    g.bench_function("set_timeout_0", |b| {
        b.iter(|| rt.eval_json("new Promise((resolve) => setTimeout(resolve, 0))", "t.js").unwrap())
    });
    g.finish();
}

/// 1,000 runtimes from one factory, each awaiting a 50 ms async native
/// sleep, on a 2-thread tokio runtime: the wall time of all of them
/// (not serialised: about 50 ms plus the work, not 50 s; no thread each).
fn concurrent_waits(c: &mut Criterion) {
    const RUNTIMES: usize = 1000;
    let factory = Arc::new(EngineFactory::new(registry().max_runtimes(RUNTIMES as u32)).unwrap());
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut g = c.benchmark_group("async");
    g.sample_size(10);
    g.bench_function("concurrent_waits", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                tokio.block_on(async {
                    let tasks: Vec<_> = (0..RUNTIMES)
                        .map(|_| {
                            let factory = factory.clone();
                            tokio::spawn(async move {
                                let mut rt = factory.new_runtime().unwrap();
                                rt.eval_json_async("require('host').sleep(50)", "wait.js").await.unwrap()
                            })
                        })
                        .collect();
                    for t in tasks {
                        assert_eq!(t.await.unwrap(), "50");
                    }
                });
            }
            start.elapsed()
        })
    });
    g.finish();
}

fn host_calling_js(c: &mut Criterion) {
    let plain = EngineFactory::new(registry()).unwrap();
    let logged = EngineFactory::new(registry().calllog(CallLogPolicy::Sqlite(calllog_path("host-js")))).unwrap();
    let mut g = c.benchmark_group("host_calling_js");
    for (name, factory) in [("call", &plain), ("call_sqlite", &logged)] {
        let mut rt = factory.new_runtime().unwrap();
        g.bench_function(name, |b| b.iter(|| rt.call_json(Some("math"), "add", "[40, 2]").unwrap()));
    }
    g.finish();
}

fn require_loading(c: &mut Criterion) {
    let factory = EngineFactory::new(registry()).unwrap();
    let mut g = c.benchmark_group("require_loading");
    // `util` requires `math`: two modules evaluated.
    g.bench_function("cold", |b| {
        b.iter(|| factory.new_runtime().unwrap().eval_json("require('util').sumsq(3, 4)", "r.js").unwrap())
    });
    let mut rt = factory.new_runtime().unwrap();
    rt.eval_json("require('util')", "r.js").unwrap();
    g.bench_function("warm", |b| b.iter(|| rt.eval_json("require('util').sumsq(3, 4)", "r.js").unwrap()));
    g.finish();
}

fn parallel_spawn(c: &mut Criterion) {
    const PER_THREAD: u64 = 200;
    let factory = Arc::new(EngineFactory::new(registry()).unwrap());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("parallel_spawn");
    let mut threads = vec![1, 2];
    if cores > 2 {
        threads.push(cores);
    }
    for n in threads {
        g.throughput(Throughput::Elements(PER_THREAD * n as u64));
        g.bench_with_input(BenchmarkId::new("threads", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    std::thread::scope(|s| {
                        for _ in 0..n {
                            let f = factory.clone();
                            s.spawn(move || {
                                for _ in 0..PER_THREAD {
                                    let mut rt = f.new_runtime().unwrap();
                                    assert_eq!(rt.eval_json(SCRIPT, "<eval>").unwrap(), "42");
                                }
                            });
                        }
                    });
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

/// The author's loop: building a factory for a plugin never built before,
/// with the cache warm from others (a new or edited plugin: a new snapshot
/// of a guest compiled before). `new_plugin` shares the guest's compiled
/// code (`Compile::Shared`: Wizer only), `new_plugin_whole` compiles the
/// snapshot whole (its functions mostly from the compiled-function store);
/// `cold` is a whole build with an empty cache (everything compiled).
fn factory_build(c: &mut Criterion) {
    static EDIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let plugin = |cache: CacheDir, compile: Compile| {
        // Unique per build (process id and a counter): never in the cache.
        let edit = EDIT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        registry()
            .cache(cache)
            .compile(compile)
            .module("plugin", format!("exports.edit = {}{edit}; exports.run = (x) => x * 2;", std::process::id()))
    };
    let check = |factory: EngineFactory| {
        assert_eq!(factory.new_runtime().unwrap().eval_json("require('plugin').run(21)", "p.js").unwrap(), "42");
    };
    let warm = std::env::temp_dir().join(format!("jsbox-bench-factory-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&warm);
    check(EngineFactory::new(plugin(CacheDir::Path(warm.clone()), Compile::Whole)).unwrap());
    check(EngineFactory::new(plugin(CacheDir::Path(warm.clone()), Compile::Shared)).unwrap());
    let mut g = c.benchmark_group("factory_build");
    // Seconds per cold build: the fewest samples criterion takes, one
    // build each (linear sampling would run 1 + 2 + ... + 10 builds).
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    // `new_plugin`: the shared guest code (what `jsbox run` and `open`
    // use); `new_plugin_whole`: the snapshot compiled whole, its functions
    // from the compiled-function store (`EngineFactory::new`'s default).
    for (name, compile) in [("new_plugin", Compile::Shared), ("new_plugin_whole", Compile::Whole)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let factory = EngineFactory::new(plugin(CacheDir::Path(warm.clone()), compile)).unwrap();
                    assert_eq!(factory.info().compile, compile);
                    check(factory);
                }
                start.elapsed()
            })
        });
    }
    g.bench_function("cold", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let empty = tempfile::tempdir().unwrap();
                let start = Instant::now();
                check(EngineFactory::new(plugin(CacheDir::Path(empty.path().to_path_buf()), Compile::Whole)).unwrap());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&warm);
}

/// The string transform of a SQL UDF (issue 22, `make distributed`'s).
const TRANSFORM: &str = "exports.tag = (name) => name.trim().toLowerCase().split(' ').reverse().join('-');";
/// Rows of the batch-mode bench, in DataFusion's default batches.
const SQL_ROWS: usize = 200_000;
const SQL_BATCH: usize = 8192;

fn sql_names(rows: usize) -> Vec<String> {
    (0..rows).map(|i| format!(" Name {} Of {} ", i % 977, i % 13)).collect()
}

/// One JS function over many rows, as `jsbox-datafusion` runs it: batch
/// mode (a fresh runtime per 8192-row batch, one `call_columns` each, the
/// arguments encoded from the strings), per-row mode (a fresh runtime and
/// a JSON call per row), and the same loop in native QuickJS (rquickjs, no
/// sandbox, no encoding). Throughput is rows.
fn sql_transform(c: &mut Criterion) {
    // Preloaded where it can be, as `jsbox-datafusion` builds its plugins.
    let factory =
        EngineFactory::new(EngineOptions::new().cache(cache_dir()).module("tag", TRANSFORM).try_preload("tag")).unwrap();
    let names = sql_names(SQL_ROWS);
    let mut g = c.benchmark_group("sql_transform");
    g.throughput(Throughput::Elements(SQL_ROWS as u64));
    g.bench_function("batch_200k", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for batch in names.chunks(SQL_BATCH) {
                let mut args = Columns::new(batch.len(), 1);
                for name in batch {
                    args.push_str(name);
                }
                let cells = factory.new_runtime().unwrap().call_columns(Some("tag"), "tag", &args).unwrap();
                bytes += cells.byte_len();
            }
            black_box(bytes)
        })
    });
    let (rt, ctx) = rquickjs_runtime();
    ctx.with(|ctx| {
        ctx.eval::<(), _>(format!("var exports = {{}}; {TRANSFORM}; globalThis.tag = exports.tag;")).unwrap();
        let names_js = rquickjs::Array::new(ctx.clone()).unwrap();
        for (i, name) in names.iter().enumerate() {
            names_js.set(i, name.as_str()).unwrap();
        }
        ctx.globals().set("names", names_js).unwrap();
    });
    g.bench_function("rquickjs_native_200k", |b| {
        b.iter(|| ctx.with(|ctx| ctx.eval::<i32, _>("(() => { let n = 0; for (const s of names) n += tag(s).length; return n; })()").unwrap()))
    });
    drop(rt);
    // A fresh runtime per row is ~100x slower: one batch's worth of rows.
    g.throughput(Throughput::Elements(SQL_BATCH as u64));
    let batch: Vec<String> = names[..SQL_BATCH].iter().map(|n| serde_json::json!([n]).to_string()).collect();
    g.bench_function("per_row_8192", |b| {
        b.iter(|| {
            for args in &batch {
                let mut rt = factory.new_runtime().unwrap();
                black_box(rt.call_json(Some("tag"), "tag", args).unwrap());
            }
        })
    });
    g.finish();
    // The batch path gives what the per-row path gives.
    let mut args = Columns::new(3, 1);
    for name in &names[..3] {
        args.push_str(name);
    }
    let cells = factory.new_runtime().unwrap().call_columns(Some("tag"), "tag", &args).unwrap();
    let first: Vec<Cell> = cells.iter().take(1).collect();
    assert_eq!(first, [Cell::String("0-of-0-name")]);
}

fn config() -> Criterion {
    let quick = std::env::var_os("JSBOX_BENCH_QUICK").is_some();
    Criterion::default()
        .sample_size(if quick { 10 } else { 50 })
        .warm_up_time(Duration::from_millis(if quick { 300 } else { 1000 }))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 3 }))
}

criterion_group! {
    name = benches;
    config = config();
    targets = runtime_spawn, spawn_and_execute, runtime_reuse, js_loading, js_calling_host,
              host_calling_js, require_loading, parallel_spawn, event_loop, concurrent_waits,
              factory_build, sql_transform
}
criterion_main!(benches);
