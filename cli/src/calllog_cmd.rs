//! `jsbox calllog show|stats`: reading a call log recorded with `--calllog`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Result;
use clap::Subcommand;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use jsbox::CallEntry;

use crate::failure::usage;

#[derive(Subcommand, Debug)]
pub enum CalllogCommand {
    /// Print the logged calls as a table, oldest first.
    #[command(after_help = "\
Examples:
  jsbox calllog show calls.sqlite
  jsbox calllog show calls.sqlite --runtime 1 --module exec --limit 20
  jsbox calllog show calls.sqlite --json | head")]
    Show {
        /// The call-log database.
        #[arg(value_name = "FILE.sqlite")]
        file: PathBuf,
        /// Only calls of this runtime id.
        #[arg(long, value_name = "ID")]
        runtime: Option<u64>,
        /// Only calls of this module (`""` for globals and eval).
        #[arg(long, value_name = "M")]
        module: Option<String>,
        /// At most N calls.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// One JSON object per call instead of a table.
        #[arg(long)]
        json: bool,
        /// Longest argument/result text shown in the table.
        #[arg(long, value_name = "CHARS", default_value_t = 48)]
        width: usize,
    },
    /// Calls, errors, total and mean time per module and function.
    #[command(after_help = "\
Examples:
  jsbox calllog stats calls.sqlite")]
    Stats {
        /// The call-log database.
        #[arg(value_name = "FILE.sqlite")]
        file: PathBuf,
    },
}

fn open(file: &Path, runtime: Option<u64>, module: Option<&str>, limit: Option<usize>) -> Result<Vec<CallEntry>> {
    if !file.is_file() {
        return Err(usage(format!("{}: no such call-log file", file.display())));
    }
    Ok(jsbox::calllog::read_entries(file, runtime, module, limit)?)
}

fn clip(s: &str, width: usize) -> String {
    let s = s.replace('\n', "\\n");
    if s.chars().count() <= width {
        s
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{:.2} s", us as f64 / 1e6)
    }
}

fn module_name(m: &str) -> &str {
    if m.is_empty() {
        "(global)"
    } else {
        m
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled).set_header(header.to_vec());
    t
}

pub fn run(command: CalllogCommand) -> Result<ExitCode> {
    match command {
        CalllogCommand::Show { file, runtime, module, limit, json, width } => {
            let entries = open(&file, runtime, module.as_deref(), limit)?;
            if json {
                for e in &entries {
                    println!("{}", serde_json::to_string(e)?);
                }
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(&[
                "time (UTC)",
                "runtime",
                "direction",
                "module",
                "function",
                "args",
                "result / error",
                "duration",
            ]);
            for e in &entries {
                let ts = UNIX_EPOCH + Duration::from_millis(e.ts_unix_ms.max(0) as u64);
                let outcome = match (&e.error, &e.result_json) {
                    (Some(err), _) => format!("error: {err}"),
                    (None, Some(r)) => r.clone(),
                    (None, None) => String::new(),
                };
                t.add_row(vec![
                    humantime::format_rfc3339_millis(ts).to_string(),
                    e.runtime_id.to_string(),
                    e.direction.as_str().to_string(),
                    module_name(&e.module).to_string(),
                    e.function.clone(),
                    clip(&e.args_json, width),
                    clip(&outcome, width),
                    duration(e.duration),
                ]);
            }
            for col in [1, 7] {
                if let Some(c) = t.column_mut(col) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
            println!("{t}");
            println!("{} call(s)", entries.len());
        }
        CalllogCommand::Stats { file } => {
            let entries = open(&file, None, None, None)?;
            #[derive(Default)]
            struct Acc {
                calls: u64,
                errors: u64,
                total: Duration,
                max: Duration,
            }
            let mut groups: BTreeMap<(&str, &str, &str), Acc> = BTreeMap::new();
            for e in &entries {
                let acc =
                    groups.entry((module_name(&e.module), e.function.as_str(), e.direction.as_str())).or_default();
                acc.calls += 1;
                acc.errors += e.error.is_some() as u64;
                acc.total += e.duration;
                acc.max = acc.max.max(e.duration);
            }
            let mut rows: Vec<_> = groups.into_iter().collect();
            rows.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(&b.0)));
            let mut t = table(&["module", "function", "direction", "calls", "errors", "total", "mean", "max"]);
            for ((module, function, direction), acc) in &rows {
                t.add_row(vec![
                    module.to_string(),
                    function.to_string(),
                    direction.to_string(),
                    acc.calls.to_string(),
                    acc.errors.to_string(),
                    duration(acc.total),
                    duration(acc.total / acc.calls.max(1) as u32),
                    duration(acc.max),
                ]);
            }
            for col in 3..8 {
                if let Some(c) = t.column_mut(col) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
            println!("{t}");
            let runtimes: std::collections::BTreeSet<u64> = entries.iter().map(|e| e.runtime_id).collect();
            // Runtime ids are unique within one factory (one jsbox process), not
            // across the processes that appended to the same file.
            println!("{} call(s), {} distinct runtime id(s)", entries.len(), runtimes.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
