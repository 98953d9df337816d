//! Writes `target/bench-report.md` and `target/bench-report.json` from the
//! criterion results of `cargo bench -p jsbox-bench --bench jsbox`, plus two
//! measurements criterion cannot make: resident memory per live runtime and
//! whole-process start of `jsbox run` against `node`, `jsbox batch`
//! throughput on the transform example, and the peer sandboxes timed by
//! `scripts/bench-peers.sh` (`target/bench-peers.json`) and arrow-udf-js
//! by `benches/peers/arrow-udf-js` (`target/bench-arrow-udf-js.json`). Every target of
//! the speed goals is printed with its number and met / missed. Run by
//! `make bench`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use jsbox::{CacheDir, EngineFactory, EngineOptions};
use serde_json::{json, Value};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Every criterion benchmark's median, in ns, by `group/name`.
fn medians(dir: &Path) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "report") {
                    continue;
                }
                let est = p.join("new/estimates.json");
                if est.is_file() {
                    let v: Value = serde_json::from_str(&std::fs::read_to_string(&est).unwrap()).unwrap();
                    let name = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                    if let Some(m) = v["median"]["point_estimate"].as_f64() {
                        out.insert(name, m);
                    }
                }
                stack.push(p);
            }
        }
    }
    out
}

/// (resident, private) bytes of this process. Resident counts the shared
/// copy-on-write image pages once per runtime that maps them; private
/// (`Private_Clean + Private_Dirty` of smaps_rollup) counts only pages that
/// belong to one mapping: what each runtime really adds.
fn memory_bytes() -> (u64, u64) {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| -> u64 {
        rollup
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("Rss:"), field("Private_Clean:") + field("Private_Dirty:"))
}

/// (resident, private) bytes per live runtime, each after a small eval.
fn memory_per_runtime(count: usize) -> (f64, f64) {
    let factory = EngineFactory::new(
        EngineOptions::new()
            .cache(CacheDir::Path(std::env::temp_dir().join("jsbox-bench-cache")))
            .max_runtimes(count as u32 + 8),
    )
    .unwrap();
    // Warm up allocator and pool bookkeeping.
    drop(factory.new_runtime().unwrap());
    let before = memory_bytes();
    let runtimes: Vec<_> = (0..count)
        .map(|_| {
            let mut rt = factory.new_runtime().unwrap();
            rt.eval_json("var n = 41; n + 1;", "<eval>").unwrap();
            rt
        })
        .collect();
    let after = memory_bytes();
    drop(runtimes);
    let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / count as f64;
    (per(after.0, before.0), per(after.1, before.1))
}

fn time_command(cmd: &mut Command, runs: u32) -> Option<Duration> {
    let ok = cmd.output().ok()?.status.success();
    if !ok {
        return None;
    }
    let start = Instant::now();
    for _ in 0..runs {
        cmd.output().ok()?;
    }
    Some(start.elapsed() / runs)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The peers' medians (ns per operation) by peer and workload, and how they
/// were taken (node and package versions, method), from
/// `scripts/bench-peers.sh`; empty when it was skipped.
fn peers(target: &Path) -> (BTreeMap<String, BTreeMap<String, f64>>, String) {
    let Ok(text) = std::fs::read_to_string(target.join("bench-peers.json")) else {
        return (BTreeMap::new(), String::new());
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else { return (BTreeMap::new(), String::new()) };
    let mut out = BTreeMap::new();
    for (peer, workloads) in doc["peers"].as_object().into_iter().flatten() {
        let times: BTreeMap<String, f64> = workloads
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(w, v)| Some((w.clone(), v.as_f64()?)))
            .collect();
        if !times.is_empty() {
            out.insert(peer.clone(), times);
        }
    }
    let s = |k: &str| doc[k].as_str().unwrap_or("?");
    let how = format!(
        "node {}, quickjs-emscripten {} ({}); {}.",
        s("node"),
        s("quickjs_emscripten"),
        s("quickjs_emscripten_variant"),
        s("method")
    );
    (out, how)
}

/// Records per second of `jsbox batch` on the transform example (its
/// records repeated to 30,000 lines), 2 jobs: the median of 3 runs of the
/// rate the CLI itself reports (factory build excluded).
fn batch_rate(jsbox_bin: &Path, root: &Path, target: &Path) -> Option<f64> {
    let records = std::fs::read_to_string(root.join("examples/transform/records.jsonl")).ok()?;
    let lines = records.lines().count().max(1);
    let input = target.join("bench-transform.jsonl");
    std::fs::write(&input, records.repeat(30_000usize.div_ceil(lines))).ok()?;
    let mut rates: Vec<f64> = (0..3)
        .filter_map(|_| {
            let out = Command::new(jsbox_bin)
                .arg("batch")
                .arg(root.join("examples/transform/plugin.js"))
                .arg("--input")
                .arg(&input)
                .args(["--output", "/dev/null", "--jobs", "2"])
                .output()
                .ok()?;
            // "batch: N records, ..., 1234 records/s, 2 jobs"
            let err = String::from_utf8_lossy(&out.stderr);
            let line = err.lines().find(|l| l.starts_with("batch:"))?;
            let before = line.split(" records/s").next()?;
            before.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied()
}

/// Median wall time of a whole `jsbox run` process right after its plugin
/// was edited (a plugin never built before; the cache warm from others):
/// the author's loop. Each run edits the plugin first, so none is a hit.
fn edited_run(jsbox_bin: &Path, target: &Path) -> Option<Duration> {
    let dir = target.join("bench-edited-plugin");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&dir).ok()?;
    let plugin = dir.join("plugin.js");
    let mut run = |edit: u32| -> Option<Duration> {
        let source = format!("// edit {edit} of {}\nmodule.exports = (name) => `hello, ${{name}} ({edit})`;\n", std::process::id());
        std::fs::write(&plugin, source).ok()?;
        let start = Instant::now();
        let out = Command::new(jsbox_bin).arg("run").arg(&plugin).arg("--cache-dir").arg(&cache).args(["--input", "\"world\""]).output().ok()?;
        let took = start.elapsed();
        (out.status.success() && String::from_utf8_lossy(&out.stdout).contains(&format!("({edit})"))).then_some(took)
    };
    // The first build fills the cache (the guest's compiled functions).
    run(0)?;
    let mut times: Vec<Duration> = (1..=7).map(&mut run).collect::<Option<_>>()?;
    times.sort();
    Some(times[times.len() / 2])
}

/// One speed goal: its measured value and whether it is met.
struct Goal {
    what: &'static str,
    goal: &'static str,
    value: Option<f64>,
    unit: &'static str,
    met: fn(f64) -> bool,
}

impl Goal {
    fn row(&self) -> String {
        let (value, status) = match self.value {
            Some(v) => (format!("{v:.3}{}", self.unit), if (self.met)(v) { "met" } else { "missed" }),
            None => ("n/a".to_string(), "not measured"),
        };
        format!("| {} | {} | {value} | {status} |\n", self.what, self.goal)
    }

    fn json(&self) -> Value {
        json!({ "goal": self.goal, "value": self.value, "met": self.value.map(self.met) })
    }
}

fn main() {
    let target = target_dir();
    let m = medians(&target.join("criterion"));
    if m.is_empty() {
        eprintln!("no criterion results under {}; run `cargo bench -p jsbox-bench --bench jsbox` first", target.display());
        std::process::exit(1);
    }
    let get = |k: &str| m.get(k).copied();
    let ratio = |a: &str, b: &str| Some(get(b)? / get(a)?);

    let mem_1k = memory_per_runtime(1_000);
    let mem_10k = memory_per_runtime(10_000);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let jsbox_bin = target.join("release/jsbox");
    let plugin = root.join("examples/hello/plugin.js");
    let jsbox_run = time_command(
        Command::new(&jsbox_bin).args(["run"]).arg(&plugin).args(["--input", "\"world\""]),
        20,
    );
    let node_run = time_command(
        Command::new("node").arg(root.join("examples/hello/node.js")).arg("\"world\""),
        20,
    );

    // parallel_spawn: each iteration runs 200 spawns per thread.
    let parallel = ratio("parallel_spawn/threads/2", "parallel_spawn/threads/1").map(|r| 2.0 * r);

    let edited = edited_run(&jsbox_bin, &target);
    let (peers, peers_method) = peers(&target);
    let batch = batch_rate(&jsbox_bin, &root, &target);
    // jsbox's number for each peer workload (js_calling_host: per call; the
    // criterion bench makes 100 calls an iteration).
    let jsbox_workloads: [(&str, Option<f64>); 4] = [
        ("fresh_eval", get("spawn_and_execute/factory")),
        ("reused_eval", get("runtime_reuse/eval")),
        ("call_json", get("runtime_reuse/call")),
        ("js_calling_host", get("js_calling_host/native_module").map(|t| t / 100.0)),
    ];
    let peer = |p: &str, w: &str| peers.get(p).and_then(|t| t.get(w)).copied();
    let jsbox = |w: &str| jsbox_workloads.iter().find(|(n, _)| *n == w).and_then(|(_, t)| *t);
    let faster = |p: &str, w: &str| Some(peer(p, w)? / jsbox(w)?);
    // sql_transform: one thread, so rows/s is per core.
    let rows_per_s = |k: &str, rows: f64| get(k).map(|ns| rows / ns * 1e9);
    let sql_batch = rows_per_s("sql_transform/batch_200k", 200_000.0);
    let sql_row = rows_per_s("sql_transform/per_row_8192", 8192.0);
    let sql_native = rows_per_s("sql_transform/rquickjs_native_200k", 200_000.0);
    // RisingWave's arrow-udf-js on the same rows (benches/peers/arrow-udf-js).
    let arrow_udf_js: Option<Value> = std::fs::read_to_string(target.join("bench-arrow-udf-js.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let peer_rate = |k: &str| arrow_udf_js.as_ref().and_then(|v| v[k].as_f64());
    let (sql_peer_8192, sql_peer_1024) = (peer_rate("batch_8192_rows_per_s"), peer_rate("batch_1024_rows_per_s"));
    let goals = [
        Goal {
            what: "fresh spawn + eval: quickjs-emscripten time / jsbox time",
            goal: ">= 15×",
            value: faster("quickjs-emscripten", "fresh_eval"),
            unit: "×",
            met: |v| v >= 15.0,
        },
        Goal {
            what: "fresh spawn + eval: node:vm time / jsbox time",
            goal: ">= 40×",
            value: faster("node:vm", "fresh_eval"),
            unit: "×",
            met: |v| v >= 40.0,
        },
        Goal {
            what: "reused-runtime eval: jsbox time / native rquickjs time",
            goal: "<= 1.5×",
            value: ratio("runtime_reuse/rquickjs_native_eval", "runtime_reuse/eval"),
            unit: "×",
            met: |v| v <= 1.5,
        },
        Goal {
            what: "reused-runtime eval: quickjs-emscripten reused context time / jsbox time",
            goal: "> 1× (jsbox faster)",
            value: faster("quickjs-emscripten", "reused_eval"),
            unit: "×",
            met: |v| v > 1.0,
        },
        Goal {
            what: "JS -> native call, calllog off (per call)",
            goal: "<= 1 µs",
            value: get("js_calling_host/native_module").map(|t| t / 100.0 / 1e3),
            unit: " µs",
            met: |v| v <= 1.0,
        },
        Goal {
            what: "JS -> native call, SQLite calllog (per call)",
            goal: "<= 2 µs",
            value: get("js_calling_host/native_module_sqlite").map(|t| t / 100.0 / 1e3),
            unit: " µs",
            met: |v| v <= 2.0,
        },
        Goal {
            what: "spawn + eval throughput, 2 threads / 1 thread",
            goal: ">= 1.85×",
            value: parallel,
            unit: "×",
            met: |v| v >= 1.85,
        },
        Goal {
            what: "SQL string transform, batch mode (rows/s, one core)",
            goal: ">= 1,000,000",
            value: sql_batch,
            unit: "",
            met: |v| v >= 1_000_000.0,
        },
        Goal {
            what: "SQL string transform, batch mode rows/s / arrow-udf-js rows/s (8192-row batches)",
            goal: ">= 0.5×",
            value: sql_batch.zip(sql_peer_8192).map(|(j, p)| j / p),
            unit: "×",
            met: |v| v >= 0.5,
        },
        Goal {
            what: "SQL string transform, per-row fresh runtimes (rows/s, one core)",
            goal: ">= 50,000",
            value: sql_row,
            unit: "",
            met: |v| v >= 50_000.0,
        },
        Goal {
            what: "`jsbox batch` transform example, 2 jobs (records/s)",
            goal: ">= 30,000",
            value: batch,
            unit: "",
            met: |v| v >= 30_000.0,
        },
        Goal {
            what: "factory build of a new plugin: cold build time / new-plugin build time",
            goal: ">= 20×",
            value: ratio("factory_build/new_plugin", "factory_build/cold"),
            unit: "×",
            met: |v| v >= 20.0,
        },
        Goal {
            what: "`jsbox run` process of an edited plugin (ms)",
            goal: "< 200 ms",
            value: edited.map(|d| d.as_secs_f64() * 1e3),
            unit: " ms",
            met: |v| v < 200.0,
        },
    ];
    let ratios = json!({
        "spawn_and_execute factory vs no_snapshot": ratio("spawn_and_execute/factory", "spawn_and_execute/no_snapshot"),
        "spawn_and_execute factory vs rquickjs_native": ratio("spawn_and_execute/factory", "spawn_and_execute/rquickjs_native"),
        "parallel_spawn 2 threads vs 1 (throughput)": parallel,
        "jsbox run vs node (wall time)": match (jsbox_run, node_run) {
            (Some(j), Some(n)) => Some(j.as_secs_f64() / n.as_secs_f64()),
            _ => None,
        },
    });
    let date = Command::new("date").arg("+%Y-%m-%d").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let machine = machine();

    let command = if std::env::var_os("JSBOX_BENCH_QUICK").is_some() { "make bench-quick" } else { "make bench" };
    let mut md = format!("# jsbox benchmarks\n\nMachine: {machine}. Date: {date}. Command: `{command}`.\n\n");
    md.push_str("| benchmark | median |\n|---|---|\n");
    for (k, v) in &m {
        md.push_str(&format!("| {k} | {} |\n", fmt_ns(*v)));
    }
    for (n, (rss, private)) in [("1,000", mem_1k), ("10,000", mem_10k)] {
        md.push_str(&format!("| memory per live runtime, {n} alive: private (own pages) | {:.1} KiB |\n", private / 1024.0));
        md.push_str(&format!("| memory per live runtime, {n} alive: resident (shared image pages counted per runtime) | {:.1} KiB |\n", rss / 1024.0));
    }
    if let Some(d) = jsbox_run {
        md.push_str(&format!("| process: `jsbox run` hello world (warm cache) | {:.2} ms |\n", d.as_secs_f64() * 1e3));
    }
    if let Some(d) = edited {
        md.push_str(&format!("| process: `jsbox run` of an edited plugin (new snapshot, warm function store) | {:.2} ms |\n", d.as_secs_f64() * 1e3));
    }
    if let Some(d) = node_run {
        md.push_str(&format!("| process: `node` hello world | {:.2} ms |\n", d.as_secs_f64() * 1e3));
    }
    if let Some(b) = batch {
        md.push_str(&format!("| `jsbox batch` transform example, 2 jobs | {b:.0} records/s |\n"));
    }
    for (what, rate) in [("batch mode (`call_columns` per 8192 rows)", sql_batch), ("per-row fresh runtimes", sql_row), ("native QuickJS loop (rquickjs, no sandbox)", sql_native), ("arrow-udf-js, 8192-row batches (native QuickJS, no sandbox)", sql_peer_8192), ("arrow-udf-js, 1024-row batches", sql_peer_1024)] {
        if let Some(r) = rate {
            md.push_str(&format!("| SQL string transform, {what} | {r:.0} rows/s |\n"));
        }
    }

    md.push_str("\n## Peers (same workloads; ratio = peer time / jsbox time)\n\n");
    if peers.is_empty() {
        md.push_str("Peers not measured (`scripts/bench-peers.sh` skipped them: no node, or npm ci failed).\n");
    } else {
        // The peers a user weighs first, first.
        let mut order: Vec<&String> = peers.keys().collect();
        order.sort_by_key(|p| ["quickjs-emscripten", "node:vm", "isolated-vm"].iter().position(|q| q == p).unwrap_or(9));
        md.push_str(&format!("{peers_method}\n\n"));
        md.push_str("| workload | jsbox |");
        for p in &order {
            md.push_str(&format!(" {p} |"));
        }
        md.push_str("\n|---|---|");
        md.push_str(&"---|".repeat(peers.len()));
        md.push('\n');
        for (w, t) in &jsbox_workloads {
            md.push_str(&format!("| {w} | {} |", t.map_or("n/a".into(), fmt_ns)));
            for p in &order {
                let cell = match (peer(p, w), faster(p, w)) {
                    (Some(pt), Some(r)) => format!(" {} ({r:.1}×) |", fmt_ns(pt)),
                    (Some(pt), None) => format!(" {} |", fmt_ns(pt)),
                    _ => " n/a |".to_string(),
                };
                md.push_str(&cell);
            }
            md.push('\n');
        }
    }

    md.push_str("\n## Targets\n\n| target | goal | measured | status |\n|---|---|---|---|\n");
    for g in &goals {
        md.push_str(&g.row());
    }

    md.push_str("\n| ratio | value |\n|---|---|\n");
    for (k, v) in ratios.as_object().unwrap() {
        let v = v.as_f64().map_or("n/a".to_string(), |x| format!("{x:.2}×"));
        md.push_str(&format!("| {k} | {v} |\n"));
    }
    let report = json!({
        "machine": machine,
        "date": date,
        "medians_ns": m,
        "memory_bytes_per_runtime": {
            "private": { "1000": mem_1k.1, "10000": mem_10k.1 },
            "resident": { "1000": mem_1k.0, "10000": mem_10k.0 },
        },
        "process_ms": {
            "jsbox_run": jsbox_run.map(|d| d.as_secs_f64() * 1e3),
            "jsbox_run_edited": edited.map(|d| d.as_secs_f64() * 1e3),
            "node": node_run.map(|d| d.as_secs_f64() * 1e3),
        },
        "ratios": ratios,
        "batch_records_per_s": batch,
        "sql_transform_rows_per_s": { "batch": sql_batch, "per_row": sql_row, "rquickjs_native": sql_native, "arrow_udf_js_8192": sql_peer_8192, "arrow_udf_js_1024": sql_peer_1024 },
        "peers_ns": peers,
        "peers_method": peers_method,
        "targets": goals.iter().map(|g| (g.what, g.json())).collect::<BTreeMap<_, _>>(),
    });
    std::fs::write(target.join("bench-report.md"), &md).unwrap();
    std::fs::write(target.join("bench-report.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("{md}");
}
