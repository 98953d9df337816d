//! The SQLite call log: one writer thread per factory, batched transactions,
//! WAL mode. The `call_log` table keeps the seed's columns
//! (`ts_unix_ms, direction, module, function, args_json, result_json,
//! duration_ms, error`) plus `runtime_id` and `duration_us`.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::{CallEntry, CallLogSink, Direction};
use crate::error::Error;

const SCHEMA: &str = "
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA busy_timeout=5000;
CREATE TABLE IF NOT EXISTS call_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_unix_ms INTEGER NOT NULL,
    runtime_id INTEGER NOT NULL,
    direction TEXT NOT NULL,
    module TEXT,
    function TEXT NOT NULL,
    args_json TEXT,
    result_json TEXT,
    duration_ms INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS idx_call_log_ts ON call_log(ts_unix_ms);
CREATE INDEX IF NOT EXISTS idx_call_log_runtime ON call_log(runtime_id);
";

enum Message {
    Batch(Vec<CallEntry>),
    Flush(SyncSender<Result<(), String>>),
}

/// The SQLite sink. Cheap to hand batches to from any thread; dropping it
/// writes what is queued and joins the writer.
pub(crate) struct SqliteCallLog {
    path: PathBuf,
    sender: Mutex<Option<Sender<Message>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::CallLog(format!("{}: {e}", path.display()))
}

fn insert(conn: &mut Connection, batches: &[Vec<CallEntry>]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO call_log (ts_unix_ms, runtime_id, direction, module, function, args_json,
                                   result_json, duration_ms, duration_us, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for e in batches.iter().flatten() {
            stmt.execute(params![
                e.ts_unix_ms,
                e.runtime_id as i64,
                e.direction.as_str(),
                e.module,
                e.function,
                e.args_json,
                e.result_json,
                e.duration.as_millis() as i64,
                e.duration.as_micros() as i64,
                e.error,
            ])?;
        }
    }
    tx.commit()
}

fn writer(mut conn: Connection, rx: Receiver<Message>) {
    let mut failure: Option<String> = None;
    while let Ok(first) = rx.recv() {
        // Take everything already queued into one transaction.
        let mut batches = Vec::new();
        let mut flushes = Vec::new();
        for message in std::iter::once(first).chain(rx.try_iter()) {
            match message {
                Message::Batch(b) => batches.push(b),
                Message::Flush(ack) => flushes.push(ack),
            }
        }
        if !batches.is_empty() {
            if let Err(e) = insert(&mut conn, &batches) {
                tracing::error!(error = %e, "calllog: insert failed");
                failure = Some(e.to_string());
            }
        }
        for ack in flushes {
            let _ = ack.send(failure.clone().map_or(Ok(()), Err));
        }
    }
}

impl SqliteCallLog {
    /// Opens (or creates) the database and starts its writer thread.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| Error::Io { context: format!("calllog dir {}", dir.display()), source })?;
        }
        let conn = Connection::open(path).map_err(|e| sql_error(path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| sql_error(path, e))?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("jsbox-calllog".into())
            .spawn(move || writer(conn, rx))
            .map_err(|source| Error::Io { context: "calllog writer thread".into(), source })?;
        Ok(SqliteCallLog { path: path.to_owned(), sender: Mutex::new(Some(tx)), writer: Mutex::new(Some(writer)) })
    }

    fn send(&self, message: Message) -> bool {
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        sender.as_ref().is_some_and(|s| s.send(message).is_ok())
    }
}

impl CallLogSink for SqliteCallLog {
    fn record(&self, entries: Vec<CallEntry>) {
        if !self.send(Message::Batch(entries)) {
            tracing::error!(path = %self.path.display(), "calllog: writer is gone; entries dropped");
        }
    }

    fn flush(&self) -> Result<(), Error> {
        let (ack, done) = mpsc::sync_channel(1);
        if !self.send(Message::Flush(ack)) {
            return Err(Error::CallLog("the writer thread is gone".into()));
        }
        done.recv()
            .map_err(|_| Error::CallLog("the writer thread is gone".into()))?
            .map_err(|e| Error::CallLog(format!("{}: {e}", self.path.display())))
    }
}

impl Drop for SqliteCallLog {
    fn drop(&mut self) {
        // Closing the channel ends the writer once the queue is drained.
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

/// Reads entries back from a call-log database, newest last; filters are
/// optional. Used by `jsbox calllog show` and by tests.
///
/// # Errors
///
/// [`Error::CallLog`] when the file cannot be opened read-only, is not a
/// jsbox call log (no `call_log` table), or a row does not decode.
pub fn read_entries(
    path: &Path,
    runtime_id: Option<u64>,
    module: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<CallEntry>, Error> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sql_error(path, e))?;
    let has_table: Option<i64> = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type='table' AND name='call_log'", [], |r| r.get(0))
        .optional()
        .map_err(|e| sql_error(path, e))?;
    if has_table.is_none() {
        return Err(Error::CallLog(format!("{}: not a jsbox call log (no call_log table)", path.display())));
    }
    let mut stmt = conn
        .prepare(
            "SELECT ts_unix_ms, runtime_id, direction, module, function, args_json, result_json,
                    duration_us, error
             FROM call_log
             WHERE (?1 IS NULL OR runtime_id = ?1) AND (?2 IS NULL OR module = ?2)
             ORDER BY id LIMIT ?3",
        )
        .map_err(|e| sql_error(path, e))?;
    let limit = limit.map_or(-1, |l| l as i64);
    let rows = stmt
        .query_map(params![runtime_id.map(|r| r as i64), module, limit], |r| {
            let direction: String = r.get(2)?;
            Ok(CallEntry {
                ts_unix_ms: r.get(0)?,
                runtime_id: r.get::<_, i64>(1)? as u64,
                direction: if direction == "js->host" { Direction::JsToHost } else { Direction::HostToJs },
                module: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                function: r.get(4)?,
                args_json: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                result_json: r.get(6)?,
                duration: Duration::from_micros(r.get::<_, i64>(7)?.max(0) as u64),
                error: r.get(8)?,
            })
        })
        .map_err(|e| sql_error(path, e))?;
    rows.collect::<Result<_, _>>().map_err(|e| sql_error(path, e))
}
