//! Where `jsbox batch` writes its results, and how `--resume` picks an
//! interrupted `--output` file up again.
//!
//! # What survives a crash
//!
//! Result lines are written in input order, each group of whole lines with
//! one `write(2)` as soon as it is in order. A killed process (`SIGKILL`,
//! OOM killer, panic) loses nothing that was written: the data is in the
//! kernel's page cache. The file is `fdatasync`ed at least every
//! [`SYNC_EVERY`] and when the run ends, so a power loss or kernel crash
//! loses at most the lines of the last second.
//!
//! A torn last line is possible in two ways: Linux checks for a fatal
//! signal between the pages of a large `write`, so a `SIGKILL` can cut a
//! line longer than a page (4 KiB); after a power loss the file may end in a
//! partial line or in zeros (the size reached the disk, the data did not).
//! `--resume` therefore keeps the longest prefix of complete, well-formed
//! result lines (`{"ok":...}` or `{"error":...}` followed by `\n`), cuts
//! everything after it (saying how many bytes), and appends from there.
//!
//! # Does the output belong to this input?
//!
//! Next to `FILE` the run keeps `FILE.jsbox-resume`, a small JSON record of
//! the job: hashes (BLAKE3) of the plugin (its files, the guest and the
//! jsbox version), of the options that change results (limits, grants, the
//! export; not `--jobs`, the cache or the call log) and of the whole input,
//! plus the record count. `--resume` recomputes them and refuses with
//! [`ResumeError`] (exit code 7) when one differs, when the record is
//! missing, or when the output has more lines than the input has records.
//! A fresh run removes the old record, truncates `FILE`, syncs it and only
//! then writes the new record (atomically, by rename), so no crash leaves a
//! record that vouches for another job's lines.
//!
//! An `--output` that exists and is not a regular file (`/dev/null`, a
//! FIFO, a terminal) is written as a stream, like stdout: no record, no
//! sync, and `--resume` refuses it.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// How often a file output is synced to disk while the run goes on.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

const FORMAT: &str = "jsbox-batch-resume/1";

/// What identifies a batch job: if any of it differs, the existing output
/// is not a prefix of what this run would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    format: String,
    plugin: String,
    options: String,
    input: String,
    records: usize,
}

impl Job {
    /// `plugin_files` are the plugin's sources as `(name, bytes)`;
    /// `options` any text that changes with every result-changing option.
    pub fn new(plugin_files: &[(String, Vec<u8>)], options: &str, input: &[u8], records: usize) -> Self {
        let mut plugin = blake3::Hasher::new();
        plugin.update(env!("CARGO_PKG_VERSION").as_bytes());
        plugin.update(blake3::hash(jsbox::guest_wasm()).as_bytes());
        for (name, bytes) in plugin_files {
            // Length-prefixed, so file boundaries cannot shift.
            for part in [name.as_bytes(), bytes] {
                plugin.update(&(part.len() as u64).to_le_bytes());
                plugin.update(part);
            }
        }
        Job {
            format: FORMAT.into(),
            plugin: plugin.finalize().to_hex().to_string(),
            options: blake3::hash(options.as_bytes()).to_hex().to_string(),
            input: blake3::hash(input).to_hex().to_string(),
            records,
        }
    }
}

/// Why `--resume` refused an existing output.
#[derive(Debug)]
pub enum ResumeError {
    /// `FILE` exists without a `FILE.jsbox-resume` record.
    NoRecord(PathBuf),
    /// The record is not one this version writes.
    BadRecord(PathBuf, String),
    /// The record is for another job; names what differs.
    Mismatch(PathBuf, Vec<&'static str>),
    /// The output has more result lines than the input has records.
    TooLong { path: PathBuf, lines: usize, records: usize },
    /// The output is a device or a FIFO: a stream cannot be resumed.
    NotAFile(PathBuf),
}

impl std::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResumeError::NoRecord(p) => write!(
                f,
                "cannot resume {}: it has no {} record, so it may belong to another input (run without --resume to start over)",
                p.display(),
                record_path(p).display()
            ),
            ResumeError::BadRecord(p, why) => {
                write!(f, "cannot resume {}: its resume record is unreadable: {why}", p.display())
            }
            ResumeError::Mismatch(p, what) => write!(
                f,
                "cannot resume {}: it was written for a different {} (run without --resume to start over)",
                p.display(),
                what.join(" and ")
            ),
            ResumeError::TooLong { path, lines, records } => write!(
                f,
                "cannot resume {}: it holds {lines} result lines but the input has {records} records",
                path.display()
            ),
            ResumeError::NotAFile(p) => {
                write!(f, "cannot resume {}: it is not a regular file (run without --resume)", p.display())
            }
        }
    }
}

impl std::error::Error for ResumeError {}

/// `FILE.jsbox-resume`.
pub fn record_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".jsbox-resume");
    output.with_file_name(name)
}

/// What an existing output already holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Done {
    /// Result lines kept (records done).
    pub lines: usize,
    /// The error kind of each kept error line.
    pub error_kinds: Vec<String>,
    /// Bytes cut from a torn or malformed tail.
    pub cut_bytes: u64,
}

/// The result sink: stdout, or a crash-safe file.
pub enum Output {
    /// Buffered stdout.
    Stdout(BufWriter<std::io::Stdout>),
    /// A file written line group by line group, synced periodically.
    File { file: File, path: PathBuf, last_sync: Instant },
    /// A device or FIFO named by `--output`, written like stdout.
    Stream(BufWriter<File>),
}

/// Whether `path` exists and is something other than a regular file.
fn is_stream(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

fn sync_dir(path: &Path) {
    // Makes a rename durable; some filesystems cannot open directories.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn write_record(output: &Path, job: &Job) -> Result<()> {
    let path = record_path(output);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(serde_json::to_string_pretty(job)?.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming {}", tmp.display()))?;
    sync_dir(&path);
    Ok(())
}

/// Whether `line` (without its `\n`) is a result line this tool writes.
fn result_kind(line: &[u8]) -> Option<Option<String>> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let object = value.as_object().filter(|o| o.len() == 1)?;
    if object.contains_key("ok") {
        return Some(None);
    }
    let kind = object.get("error")?.get("kind")?.as_str()?;
    Some(Some(kind.to_string()))
}

/// The longest prefix of complete result lines in `bytes`: its length in
/// bytes and what it holds.
pub fn scan(bytes: &[u8]) -> (usize, Done) {
    let mut done = Done::default();
    let mut end = 0;
    while let Some(nl) = bytes[end..].iter().position(|&b| b == b'\n') {
        let Some(kind) = result_kind(&bytes[end..end + nl]) else { break };
        if let Some(kind) = kind {
            done.error_kinds.push(kind);
        }
        done.lines += 1;
        end += nl + 1;
    }
    done.cut_bytes = (bytes.len() - end) as u64;
    (end, done)
}

fn write_stream(out: &mut impl Write, lines: &[String]) -> Result<()> {
    for line in lines {
        writeln!(out, "{line}").context("writing the output")?;
    }
    Ok(())
}

impl Output {
    /// Results to stdout.
    pub fn stdout() -> Self {
        Output::Stdout(BufWriter::new(std::io::stdout()))
    }

    /// Starts `path` afresh for `job`.
    pub fn create(path: &Path, job: &Job) -> Result<Self> {
        if is_stream(path) {
            let file = OpenOptions::new().write(true).open(path).with_context(|| format!("cannot open {}", path.display()))?;
            return Ok(Output::Stream(BufWriter::new(file)));
        }
        match std::fs::remove_file(record_path(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", record_path(path).display()))
            }
            _ => {}
        }
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
        write_record(path, job)?;
        Ok(Output::File { file, path: path.to_owned(), last_sync: Instant::now() })
    }

    /// Opens `path` to continue `job`: checks the record, cuts a torn tail,
    /// and positions at the end. A missing `path` starts afresh.
    pub fn resume(path: &Path, job: &Job) -> Result<(Self, Done)> {
        if !path.exists() {
            return Ok((Output::create(path, job)?, Done::default()));
        }
        if is_stream(path) {
            return Err(ResumeError::NotAFile(path.to_owned()).into());
        }
        let record = match std::fs::read(record_path(path)) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ResumeError::NoRecord(path.to_owned()).into())
            }
            Err(e) => return Err(ResumeError::BadRecord(path.to_owned(), e.to_string()).into()),
        };
        let recorded: Job = serde_json::from_slice(&record)
            .map_err(|e| ResumeError::BadRecord(path.to_owned(), e.to_string()))?;
        if recorded.format != job.format {
            return Err(ResumeError::BadRecord(path.to_owned(), format!("format {}", recorded.format)).into());
        }
        let mut differs = Vec::new();
        if recorded.plugin != job.plugin {
            differs.push("plugin");
        }
        if recorded.options != job.options {
            differs.push("set of options");
        }
        if recorded.input != job.input || recorded.records != job.records {
            differs.push("input");
        }
        if !differs.is_empty() {
            return Err(ResumeError::Mismatch(path.to_owned(), differs).into());
        }

        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).with_context(|| format!("reading {}", path.display()))?;
        let (keep, done) = scan(&bytes);
        if done.lines > job.records {
            return Err(ResumeError::TooLong { path: path.to_owned(), lines: done.lines, records: job.records }.into());
        }
        if keep < bytes.len() {
            file.set_len(keep as u64).with_context(|| format!("truncating {}", path.display()))?;
            file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
        }
        file.seek(SeekFrom::Start(keep as u64))?;
        Ok((Output::File { file, path: path.to_owned(), last_sync: Instant::now() }, done))
    }

    /// Writes whole lines (each without its `\n`), in order, with one write.
    pub fn write_lines(&mut self, lines: &[String]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        match self {
            Output::Stdout(out) => write_stream(out, lines)?,
            Output::Stream(out) => write_stream(out, lines)?,
            Output::File { file, path, last_sync } => {
                let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
                for line in lines {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                }
                file.write_all(&buf).with_context(|| format!("writing {}", path.display()))?;
                if last_sync.elapsed() >= SYNC_EVERY {
                    file.sync_data().with_context(|| format!("syncing {}", path.display()))?;
                    *last_sync = Instant::now();
                }
            }
        }
        Ok(())
    }

    /// Flushes and syncs: everything written is durable when this returns.
    pub fn finish(self) -> Result<()> {
        match self {
            Output::Stdout(mut out) => out.flush().context("writing the output"),
            Output::Stream(mut out) => out.flush().context("writing the output"),
            Output::File { file, path, .. } => file.sync_all().with_context(|| format!("syncing {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(input: &[u8]) -> Job {
        Job::new(&[("p.js".into(), b"module.exports = x => x".to_vec())], "opts", input, 3)
    }

    #[test]
    fn scan_keeps_complete_result_lines() {
        let text = b"{\"ok\":1}\n{\"error\":{\"kind\":\"timeout\",\"message\":\"m\"}}\n{\"ok\":[1,";
        let (keep, done) = scan(text);
        assert_eq!(keep, text.len() - 9);
        assert_eq!(done.lines, 2);
        assert_eq!(done.error_kinds, vec!["timeout".to_string()]);
        assert_eq!(done.cut_bytes, 9);
        // Zeros after a power loss, and a line that is not a result.
        assert_eq!(scan(b"{\"ok\":1}\n\0\0\0\0").1.lines, 1);
        assert_eq!(scan(b"{\"ok\":1}\n{\"x\":1}\n{\"ok\":2}\n").1.lines, 1);
        assert_eq!(scan(b"").0, 0);
    }

    #[test]
    fn devices_are_streams_and_cannot_be_resumed() {
        let null = Path::new("/dev/null");
        let mut out = Output::create(null, &job(b"a")).unwrap();
        assert!(matches!(out, Output::Stream(_)));
        out.write_lines(&["{\"ok\":1}".into()]).unwrap();
        out.finish().unwrap();
        assert!(!record_path(null).exists(), "no resume record next to a device");
        let err = Output::resume(null, &job(b"a")).err().unwrap();
        assert!(matches!(err.downcast_ref::<ResumeError>(), Some(ResumeError::NotAFile(_))));
    }

    #[test]
    fn resume_cuts_a_torn_tail_and_refuses_other_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let mut out = Output::create(&path, &job(b"a")).unwrap();
        out.write_lines(&["{\"ok\":1}".into(), "{\"ok\":2}".into()]).unwrap();
        out.finish().unwrap();
        // A torn third line.
        OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"ok\":3").unwrap();

        let err = Output::resume(&path, &job(b"b")).err().unwrap();
        assert!(matches!(err.downcast_ref::<ResumeError>(), Some(ResumeError::Mismatch(_, w)) if w == &["input"]));
        let (mut out, done) = Output::resume(&path, &job(b"a")).unwrap();
        assert_eq!((done.lines, done.cut_bytes), (2, 7));
        out.write_lines(&["{\"ok\":3}".into()]).unwrap();
        out.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"ok\":1}\n{\"ok\":2}\n{\"ok\":3}\n");

        std::fs::remove_file(record_path(&path)).unwrap();
        let err = Output::resume(&path, &job(b"a")).err().unwrap();
        assert!(matches!(err.downcast_ref::<ResumeError>(), Some(ResumeError::NoRecord(_))));
    }
}
