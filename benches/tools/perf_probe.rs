//! One benchmark workload in a loop, for instruction counting under
//! callgrind (repeatable on a loaded machine, unlike wall time):
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='perf_probe::measure' \
//!     target/release/perf_probe reuse 2000
//! ```
//!
//! Only `measure` (the timed loop) is counted, so the factory build and
//! compile are left out; divide the total by N. For `spawn`, compare
//! totals without glibc's `memcpy` (`callgrind_annotate`): it resets the
//! slot's dirty pages, and its count depends on how those pages cluster
//! into runs, not on how many there are (guests doing the same work have
//! read 129k-148k a spawn with it, 103.9k each without). Workloads mirror
//! `benches/jsbox.rs`: `spawn` (fresh runtime + eval), `reuse` (eval in a
//! reused runtime), `native` (the same eval in native rquickjs),
//! `reuse_empty` / `native_empty` (evaluating `0`: the fixed cost), `call`
//! (a global function with a JSON argument), `call_module` (the same on a
//! module's exports), `sql_row` / `sql_batch` (`sql_transform`'s per-row
//! and batch modes; `native_batch` is the batch in native rquickjs), `hostcall` / `hostcall_sqlite`
//! (100 JS -> native calls in one eval), `transform` / `transform_warm`
//! (the transform example's plugin on one record, in a fresh runtime as
//! `jsbox batch` does, or in one reused runtime). Without valgrind it prints
//! the wall time per iteration too.

use std::hint::black_box;
use std::time::Instant;

use jsbox::{CacheDir, CallLogPolicy, Columns, EngineFactory, EngineOptions, NativeModule};

const SCRIPT: &str = "var n = 41; n + 1;";
const MATH: &str = "exports.add = (a, b) => a + b; exports.mul = (a, b) => a * b;";
const UTIL: &str = "const m = require('math'); exports.sumsq = (a, b) => m.add(m.mul(a, a), m.mul(b, b));";
const INIT: &str = "function answer(x) { return x + 1; }";
/// The string transform of `sql_transform` in `benches/jsbox.rs`.
const TAG: &str = "exports.tag = (name) => name.trim().toLowerCase().split(' ').reverse().join('-');";

fn registry() -> EngineOptions {
    EngineOptions::new()
        .cache(CacheDir::Path(std::env::temp_dir().join("jsbox-bench-cache")))
        .module("math", MATH)
        .module("util", UTIL)
        .module("tag", TAG)
        .try_preload("tag")
        .init_script(INIT)
        .native_module(NativeModule::new("host").function("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b)))
        .max_runtimes(8)
}

/// The counted loop (callgrind's `--toggle-collect` names this function).
#[inline(never)]
fn measure(n: u32, op: &mut dyn FnMut()) {
    for _ in 0..n {
        op();
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "reuse".into());
    let n: u32 = std::env::args().nth(2).map_or(2000, |s| s.parse().expect("N"));
    let factory = EngineFactory::new(registry()).unwrap();
    let log_path = std::env::temp_dir().join(format!("jsbox-perf-probe-{}.sqlite", std::process::id()));
    let logged = (mode == "hostcall_sqlite")
        .then(|| EngineFactory::new(registry().calllog(CallLogPolicy::Sqlite(log_path.clone()))).unwrap());
    let loop_src = "var h = require('host'); var s = 0; for (var i = 0; i < 100; i++) s = h.add(s, 1); s";

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/transform");
    let record = std::fs::read_to_string(root.join("records.jsonl")).expect("records.jsonl");
    let args = format!("[{}]", record.lines().next().expect("a record"));
    // As `jsbox batch` builds it: the plugin by file name, a loader for what
    // it requires, a wrapper calling its function export.
    let transform = mode.starts_with("transform").then(|| {
        let dir = root.clone();
        let mut o = EngineOptions::new()
            .cache(CacheDir::Path(std::env::temp_dir().join("jsbox-bench-cache")))
            .module("plugin.js", std::fs::read_to_string(root.join("plugin.js")).unwrap())
            .module("main", "const m = require('./plugin.js'); exports.main = (r) => m(r);")
            .loader(move |name: &str| std::fs::read_to_string(dir.join(name)).ok());
        if std::env::var_os("PROBE_PRELOAD").is_some() {
            o = o.preload("main");
        }
        EngineFactory::new(o).unwrap()
    });
    let mut warm = transform.as_ref().map(|f| f.new_runtime().unwrap());
    let mut rt = logged.as_ref().unwrap_or(&factory).new_runtime().unwrap();
    let qrt = rquickjs::Runtime::new().unwrap();
    let qctx = rquickjs::Context::full(&qrt).unwrap();
    let mut op: Box<dyn FnMut()> = match mode.as_str() {
        "spawn" => Box::new(|| {
            let mut rt = factory.new_runtime().unwrap();
            assert_eq!(rt.eval_as::<i64>(SCRIPT).unwrap(), 42);
        }),
        "reuse" => Box::new(|| assert_eq!(rt.eval_json(SCRIPT, "<eval>").unwrap(), "42")),
        // The fixed cost of an eval: the call in and out, nothing to parse.
        "reuse_empty" => Box::new(|| assert_eq!(rt.eval_json("0", "<eval>").unwrap(), "0")),
        "native_empty" => Box::new(|| assert_eq!(qctx.with(|ctx| ctx.eval::<i64, _>("0").unwrap()), 0)),
        "native" => Box::new(|| assert_eq!(qctx.with(|ctx| ctx.eval::<i64, _>(SCRIPT).unwrap()), 42)),
        "call" => Box::new(|| assert_eq!(rt.call_json(None, "answer", "[41]").unwrap(), "42")),
        // As `call`, the function looked up on a module's exports.
        "call_module" => Box::new(|| assert_eq!(rt.call_json(Some("math"), "add", "[41, 1]").unwrap(), "42")),
        // `jsbox-datafusion`'s per-row mode: a fresh runtime per row.
        "sql_row" => Box::new(|| {
            let mut rt = factory.new_runtime().unwrap();
            black_box(rt.call_json(Some("tag"), "tag", r#"[" Name 1 Of 2 "]"#).unwrap());
        }),
        // Its batch mode: one `call_columns` over 8192 rows in a fresh runtime.
        "sql_batch" => Box::new(|| {
            let mut args = Columns::new(8192, 1);
            for i in 0..8192 {
                args.push_str(&format!(" Name {} Of {} ", i % 977, i % 13));
            }
            black_box(factory.new_runtime().unwrap().call_columns(Some("tag"), "tag", &args).unwrap().byte_len());
        }),
        // `sql_batch`'s rows in native rquickjs (the same QuickJS, linked
        // natively, no sandbox): a Rust loop calling `tag` on each row and
        // copying each result out, as the guest's `call-columns` does.
        "native_batch" => Box::new(|| {
            qctx.with(|ctx| {
                let tag: rquickjs::Function = ctx
                    .eval(format!("(() => {{ const exports = {{}}; {TAG}; return exports.tag; }})()"))
                    .unwrap();
                let mut bytes = 0;
                for i in 0..8192 {
                    let out: String = tag.call((format!(" Name {} Of {} ", i % 977, i % 13),)).unwrap();
                    bytes += out.len();
                }
                black_box(bytes);
            })
        }),
        "hostcall" | "hostcall_sqlite" => Box::new(|| assert_eq!(rt.eval_json(loop_src, "loop.js").unwrap(), "100")),
        "transform" => Box::new(|| {
            let mut rt = transform.as_ref().unwrap().new_runtime().unwrap();
            black_box(rt.call_json(Some("main"), "main", &args).unwrap());
        }),
        "transform_warm" => Box::new(|| {
            black_box(warm.as_mut().unwrap().call_json(Some("main"), "main", &args).unwrap());
        }),
        other => panic!(
            "unknown mode {other}: spawn, reuse, reuse_empty, native, native_empty, call, hostcall, \
             hostcall_sqlite, transform, transform_warm, call_module, sql_row, sql_batch, native_batch"
        ),
    };
    // Warm up: first-use lookups, allocator, pool slots.
    measure(50, &mut op);
    let start = Instant::now();
    measure(n, &mut op);
    let per = start.elapsed() / n;
    drop(op);
    black_box(&rt);
    drop(logged);
    let _ = std::fs::remove_file(&log_path);
    println!("{mode}: {n} iterations, {per:?} each (wall clock); {:?}", factory.info().engine);
}
