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
//! the job: hashes (BLAKE3) of the plugin (every source baked into the
//! sandbox, [`jsbox::FactoryInfo::sources`]: the plugin, every module it
//! imports or requires, ES and CommonJS, JSON files, the guest; and the
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
//!
//! # One writer per output
//!
//! `FILE` is opened (never truncated yet) and locked exclusively
//! ([`File::try_lock`], an advisory `flock`) before the plugin is built or
//! anything is written, and stays locked until the run ends. A second run
//! on the same `FILE` (or on `FILE` through a link) refuses at once with
//! [`OutputBusy`] (exit code 8), leaving the first run's output alone. The
//! lock covers `FILE.jsbox-resume` too: it is only written by the holder.
//! An `--output` that is the `--input` (the same file, through a symlink or
//! a hard link too) is refused before anything is written.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// How often a file output is synced to disk while the run goes on.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

// 2: the plugin hash covers every source baked into the sandbox.
const FORMAT: &str = "jsbox-batch-resume/2";

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
    /// `sources` identifies the plugin's code ([`jsbox::FactoryInfo::sources`]);
    /// `options` any text that changes with every result-changing option.
    pub fn new(sources: &str, options: &str, input: &[u8], records: usize) -> Self {
        let mut plugin = blake3::Hasher::new();
        // Length-prefixed, so the boundary cannot shift.
        for part in [env!("CARGO_PKG_VERSION").as_bytes(), sources.as_bytes()] {
            plugin.update(&(part.len() as u64).to_le_bytes());
            plugin.update(part);
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

/// Another process holds `--output` (exit code 8).
#[derive(Debug)]
pub struct OutputBusy(pub PathBuf);

impl std::fmt::Display for OutputBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is being written by another jsbox batch (it holds the file's lock); wait for it to end, or pick another --output",
            self.0.display()
        )
    }
}

impl std::error::Error for OutputBusy {}

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

/// `--output FILE` opened and locked, not written yet.
pub enum Locked {
    /// A device or FIFO.
    Stream(File, PathBuf),
    /// A regular file, locked; `created` when this run made it.
    File { file: File, path: PathBuf, created: bool },
}

impl Locked {
    /// Opens `path` without truncating it and takes its lock.
    ///
    /// # Errors
    ///
    /// A usage error when `path` is `input` (by identity: device and
    /// inode, so also through a symlink or a hard link); [`OutputBusy`]
    /// when another process holds the lock.
    pub fn open(path: &Path, input: &Path) -> Result<Self> {
        let same_as_input = |file: &File| -> Result<()> {
            let ours = same_file::Handle::from_file(file.try_clone()?)?;
            if same_file::Handle::from_path(input).is_ok_and(|theirs| theirs == ours) {
                return Err(crate::failure::usage(format!(
                    "--output {} is the input file {} (it would be overwritten while read); write elsewhere",
                    path.display(),
                    input.display()
                )));
            }
            Ok(())
        };
        if is_stream(path) {
            let file = OpenOptions::new().write(true).open(path).with_context(|| format!("cannot open {}", path.display()))?;
            same_as_input(&file)?;
            return Ok(Locked::Stream(file, path.to_owned()));
        }
        let open = |create_new: bool| {
            OpenOptions::new().read(true).write(true).create_new(create_new).open(path)
        };
        let (file, created) = match open(true) {
            Ok(file) => (file, true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                (open(false).with_context(|| format!("cannot open {}", path.display()))?, false)
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        };
        same_as_input(&file)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(OutputBusy(path.to_owned()).into()),
            // A filesystem without locks: written as before, unguarded.
            Err(std::fs::TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                eprintln!("batch: warning: cannot lock {} ({e}); make sure no other run writes it", path.display());
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        Ok(Locked::File { file, path: path.to_owned(), created })
    }

    /// Gives the output up unwritten: removes it if this run created it.
    pub fn abandon(self) {
        if let Locked::File { path, created: true, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Starts the output afresh for `job`.
    pub fn start(self, job: &Job) -> Result<Output> {
        let (file, path) = match self {
            Locked::Stream(file, _) => return Ok(Output::Stream(BufWriter::new(file))),
            Locked::File { file, path, .. } => (file, path),
        };
        match std::fs::remove_file(record_path(&path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", record_path(&path).display()))
            }
            _ => {}
        }
        file.set_len(0).with_context(|| format!("truncating {}", path.display()))?;
        file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
        write_record(&path, job)?;
        Ok(Output::File { file, path, last_sync: Instant::now() })
    }

    /// Continues the output for `job`: checks the record, cuts a torn tail,
    /// and positions at the end. An output this run created starts afresh.
    pub fn resume(self, job: &Job) -> Result<(Output, Done)> {
        let (mut file, path) = match self {
            Locked::Stream(_, path) => return Err(ResumeError::NotAFile(path).into()),
            Locked::File { created: true, .. } => return Ok((self.start(job)?, Done::default())),
            Locked::File { file, path, .. } => (file, path),
        };
        let path = path.as_path();
        let record = match std::fs::read(record_path(path)) {
            Ok(r) => r,
            // Empty, it holds nothing to vouch for (a run killed before its
            // first record was written): start afresh.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.metadata().is_ok_and(|m| m.len() == 0) => {
                return Ok((Locked::File { file, path: path.to_owned(), created: true }.start(job)?, Done::default()))
            }
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
}

impl Output {
    /// Results to stdout.
    pub fn stdout() -> Self {
        Output::Stdout(BufWriter::new(std::io::stdout()))
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
        Job::new("sources", "opts", input, 3)
    }

    /// Opens `path` (with some other file as the input).
    fn open(path: &Path) -> Locked {
        Locked::open(path, Path::new("/proc/self/exe")).unwrap()
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
        let mut out = open(null).start(&job(b"a")).unwrap();
        assert!(matches!(out, Output::Stream(_)));
        out.write_lines(&["{\"ok\":1}".into()]).unwrap();
        out.finish().unwrap();
        assert!(!record_path(null).exists(), "no resume record next to a device");
        let err = open(null).resume(&job(b"a")).err().unwrap();
        assert!(matches!(err.downcast_ref::<ResumeError>(), Some(ResumeError::NotAFile(_))));
    }

    #[test]
    fn resume_cuts_a_torn_tail_and_refuses_other_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let mut out = open(&path).start(&job(b"a")).unwrap();
        out.write_lines(&["{\"ok\":1}".into(), "{\"ok\":2}".into()]).unwrap();
        out.finish().unwrap();
        // A torn third line.
        OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"ok\":3").unwrap();

        let err = open(&path).resume(&job(b"b")).err().unwrap();
        assert!(matches!(err.downcast_ref::<ResumeError>(), Some(ResumeError::Mismatch(_, w)) if w == &["input"]));
        let (mut out, done) = open(&path).resume(&job(b"a")).unwrap();
        assert_eq!((done.lines, done.cut_bytes), (2, 7));
        out.write_lines(&["{\"ok\":3}".into()]).unwrap();
        out.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"ok\":1}\n{\"ok\":2}\n{\"ok\":3}\n");

        std::fs::remove_file(record_path(&path)).unwrap();
        let err = open(&path).resume(&job(b"a")).err().unwrap();
        assert!(matches!(err.downcast_ref::<ResumeError>(), Some(ResumeError::NoRecord(_))));
    }
}
