//! Writes `target/bench-report.md` and `target/bench-report.json` from the
//! criterion results of `cargo bench -p jsbox-bench --bench jsbox`, plus two
//! measurements criterion cannot make: resident memory per live runtime and
//! whole-process start of `jsbox run` against `node`. Run by `make bench`.

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

    let mut md = format!("# jsbox benchmarks\n\nMachine: {machine}. Date: {date}. Command: `make bench`.\n\n");
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
    if let Some(d) = node_run {
        md.push_str(&format!("| process: `node` hello world | {:.2} ms |\n", d.as_secs_f64() * 1e3));
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
            "node": node_run.map(|d| d.as_secs_f64() * 1e3),
        },
        "ratios": ratios,
    });
    std::fs::write(target.join("bench-report.md"), &md).unwrap();
    std::fs::write(target.join("bench-report.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("{md}");
}
