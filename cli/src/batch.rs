//! `jsbox batch`: one factory, a fresh runtime per JSON Lines record, N
//! worker threads, output in input order (crash-safe with `--output`, and
//! resumable: see [`output`]).

mod output;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jsbox::{EngineFactory, Manifest};
use serde_json::json;

use self::output::{OutputBusy, ResumeError};
use self::output::{Done, Job, Locked, Output};
use crate::failure::{self, usage};
use crate::sandbox::{self, SandboxArgs};

mod concurrent;

#[derive(clap::Args, Debug)]
pub struct BatchArgs {
    /// The plugin file: CommonJS, or an ES module (`.mjs`, or `.js` in a `"type": "module"` package), or TypeScript (`.ts`, `.mts`, `.cts`).
    /// Optional with a --manifest that names it.
    #[arg(value_name = "PLUGIN.js")]
    plugin: Option<PathBuf>,
    /// JSON Lines input: one JSON value a line.
    #[arg(long, value_name = "FILE.jsonl")]
    input: PathBuf,
    /// Where to write the results (default: stdout). Written crash-safe:
    /// after a kill the file holds a prefix of the results.
    #[arg(long, value_name = "FILE.jsonl")]
    output: Option<PathBuf>,
    /// Continue an interrupted run: keep the results already in --output
    /// (checked to belong to this plugin, options and input), and append the
    /// rest.
    #[arg(long, requires = "output")]
    resume: bool,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    jobs: Option<u32>,
    /// Call this named export instead of the module's function export.
    #[arg(long, value_name = "NAME")]
    export: Option<String>,
    /// Records each worker keeps in flight: while one waits on timers or
    /// async host calls, the worker runs another (order and output unchanged).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    concurrency: u32,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// Splits the input into lines (`\n`, optional `\r`); a final newline does
/// not make an extra empty record.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect()
}

/// A worker hands its outcomes to the writer this many at a time, or fewer
/// when the first of them is [`GROUP_WAIT`] old as a record finishes (so
/// slow records do not hold finished ones back for long; a kill loses only
/// what `--resume` recomputes).
const GROUP: usize = 32;
const GROUP_WAIT: Duration = Duration::from_millis(20);

/// `(error kind, output line)`; the kind is `None` for a success.
type Outcome = (Option<String>, String);

fn error_line(kind: &str, message: String) -> Outcome {
    (Some(kind.to_string()), json!({ "error": { "kind": kind, "message": message } }).to_string())
}

/// One record: parse, fresh runtime, call. Never fails: every outcome is a
/// line.
fn process(factory: &EngineFactory, target: &(String, String), line: &[u8]) -> Outcome {
    let args = match call_args(line) {
        Ok(args) => args,
        Err(outcome) => return outcome,
    };
    let outcome = factory.new_runtime().and_then(|mut rt| rt.call_json(Some(&target.0), &target.1, &args));
    output_line(outcome)
}

/// The plugin's arguments for a record (`[input]`), or the record's error
/// line when it is not JSON.
fn call_args(line: &[u8]) -> Result<String, Outcome> {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => return Err(error_line("invalid_input", format!("the line is not UTF-8: {e}"))),
    };
    // Checked, then handed over as written: JSON.parse in the sandbox reads
    // it as node would (no round trip through serde's numbers).
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(error_line("invalid_input", format!("the line is not valid JSON: {e}")));
    }
    Ok(format!("[{text}]"))
}

/// The output line for a record's result.
fn output_line(outcome: jsbox::Result<String>) -> Outcome {
    match outcome {
        // The JSON text as the plugin produced it (key order kept), checked.
        Ok(json) => match serde_json::from_str::<serde::de::IgnoredAny>(&json) {
            Ok(_) => (None, format!("{{\"ok\":{}}}", json.trim())),
            Err(e) => error_line("invalid_value", format!("the result is not JSON: {e}")),
        },
        Err(e) => error_line(failure::kind(&e), failure::message(&e)),
    }
}

/// Text that changes with every option that can change a result: the
/// manifest's fingerprint (not where the call log and the cache go) and
/// the export called.
fn result_options(manifest: &Manifest, plugin: &sandbox::Plugin) -> Result<String> {
    Ok(serde_json::to_string(&serde_json::json!({ "manifest": manifest.fingerprint(), "target": &plugin.target }))?)
}

pub fn run(args: BatchArgs) -> Result<ExitCode> {
    run_batch(args).map_err(|err| {
        // The output's own errors, with their exit codes.
        if let Some(r) = err.downcast_ref::<ResumeError>() {
            return failure::Failed::kind(failure::RESUME, "resume", r.to_string()).into();
        }
        if let Some(b) = err.downcast_ref::<OutputBusy>() {
            return failure::Failed::kind(failure::BUSY, "busy", b.to_string()).into();
        }
        err
    })
}

fn run_batch(args: BatchArgs) -> Result<ExitCode> {
    let data = std::fs::read(&args.input).map_err(|e| usage(format!("cannot read {}: {e}", args.input.display())))?;
    let all_records = lines(&data);
    // Before the (slow) build: another run on this output, or an output
    // that is the input, is refused at once, and nothing is written yet.
    let locked = args.output.as_deref().map(|path| Locked::open(path, &args.input)).transpose()?;
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, all_records.len().max(1));
    let built = sandbox::plugin_options(&args.sandbox, args.plugin.as_deref(), args.export.as_deref()).and_then(
        |(options, plugin, manifest)| {
            failure::set_plugin_dir(&plugin.dir);
            Ok((plugin.preloaded_factory(options.max_runtimes(jobs as u32 * args.concurrency))?, plugin, manifest))
        },
    );
    let (factory, plugin, manifest) = match built {
        Ok(built) => built,
        Err(e) => {
            // An output this run created would be an empty file without a
            // resume record, which `--resume` would refuse.
            if let Some(locked) = locked {
                locked.abandon();
            }
            return Err(e);
        }
    };
    let (mut out, done) = match locked {
        None => (Output::stdout(), Done::default()),
        Some(locked) => {
            // What the sandbox was built from, not the files named on the
            // command line: an edited module the plugin imports is a new job.
            let job = Job::new(&factory.info().sources, &result_options(&manifest, &plugin)?, &data, all_records.len());
            if args.resume {
                locked.resume(&job)?
            } else {
                (locked.start(&job).map_err(|e| usage(format!("{e:#}")))?, Done::default())
            }
        }
    };
    if done.cut_bytes > 0 {
        eprintln!("batch: cut {} bytes of a torn last line from the output", done.cut_bytes);
    }
    if done.lines > 0 {
        eprintln!("batch: resuming after {} of {} records", done.lines, all_records.len());
    }
    let records = &all_records[done.lines..];
    let jobs = jobs.min(records.len().max(1));

    let bar = ProgressBar::with_draw_target(Some(all_records.len() as u64), ProgressDrawTarget::stderr());
    bar.set_position(done.lines as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} records ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let mut errors = done.error_kinds.len();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for kind in &done.error_kinds {
        *kinds.entry(kind.clone()).or_default() += 1;
    }
    let write_result: Result<()> = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Vec<(usize, Outcome)>>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (factory, next, records, target) = (&factory, &next, &records, &plugin.target);
            if args.concurrency > 1 {
                scope.spawn(move || concurrent::worker(factory, target, records, next, tx, args.concurrency));
                continue;
            }
            scope.spawn(move || {
                // Outcomes go to the writer in groups: a wake-up (two context
                // switches) per record cost a tenth of a core at 10k records/s.
                let mut group = Vec::with_capacity(GROUP);
                let mut opened = Instant::now();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= records.len() {
                        break;
                    }
                    let outcome = catch_unwind(AssertUnwindSafe(|| process(factory, target, records[i])))
                        .unwrap_or_else(|_| error_line("internal", "the worker panicked on this record".into()));
                    if group.is_empty() {
                        opened = Instant::now();
                    }
                    group.push((i, outcome));
                    if (group.len() >= GROUP || opened.elapsed() >= GROUP_WAIT)
                        && tx.send(std::mem::replace(&mut group, Vec::with_capacity(GROUP))).is_err()
                    {
                        return;
                    }
                }
                let _ = tx.send(group);
            });
        }
        drop(tx);
        // Reorder: write record i as soon as records 0..i are written.
        let mut pending: BTreeMap<usize, String> = BTreeMap::new();
        let mut written = 0usize;
        for group in rx {
            let received = group.len() as u64;
            for (i, (kind, line)) in group {
                if let Some(kind) = kind {
                    errors += 1;
                    *kinds.entry(kind).or_default() += 1;
                }
                pending.insert(i, line);
            }
            // Every line now in order goes out in one write.
            let mut ready = Vec::new();
            while let Some(line) = pending.remove(&(written + ready.len())) {
                ready.push(line);
            }
            out.write_lines(&ready)?;
            written += ready.len();
            bar.inc(received);
        }
        anyhow::ensure!(written == records.len(), "internal: {} of {} records written", written, records.len());
        Ok(())
    });
    bar.finish_and_clear();
    write_result?;
    out.finish()?;
    factory.flush_calllog()?;
    drop(factory);

    let elapsed = started.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 { records.len() as f64 / elapsed } else { 0.0 };
    let detail = if kinds.is_empty() {
        String::new()
    } else {
        format!(" ({})", kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", "))
    };
    eprintln!(
        "batch: {} records, {} ok, {} errors{detail}, {:.2} s, {:.0} records/s, {} jobs",
        all_records.len(),
        all_records.len() - errors,
        errors,
        elapsed,
        rate,
        jobs
    );
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(failure::JS_ERROR) })
}

#[cfg(test)]
mod tests {
    use super::lines;

    #[test]
    fn splits_lines() {
        assert_eq!(lines(b""), Vec::<&[u8]>::new());
        assert_eq!(lines(b"1\n2\n"), vec![&b"1"[..], b"2"]);
        assert_eq!(lines(b"1\r\n\n3"), vec![&b"1"[..], b"", b"3"]);
    }
}
