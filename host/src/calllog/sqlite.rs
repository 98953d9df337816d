//! The SQLite call log: one writer thread per factory, batched transactions
//! within a bounded window, or one commit per call in durable mode; WAL
//! mode. The `call_log` table keeps the seed's columns
//! (`ts_unix_ms, direction, module, function, args_json, result_json,
//! duration_ms, error`) plus `runtime_id` and `duration_us`. Rows are in
//! `id` order, the order the calls were handed over; the one index is on
//! `runtime_id` (what `jsbox calllog show --runtime` filters on). Each
//! extra index is another B-tree the writer updates for every row.
//!
//! Callers push onto a queue under a mutex and wake the writer only when a
//! window opens, fills, or a caller waits (durable calls, flushes): the
//! batched call path costs a lock and a push, no syscall.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use super::{CallEntry, CallLogSink, Direction};
use crate::error::Error;

// `id` is the rowid without AUTOINCREMENT: rows are never deleted, so ids
// grow anyway, and AUTOINCREMENT would update `sqlite_sequence` on every
// insert.
const SCHEMA: &str = "
PRAGMA journal_mode=WAL;
PRAGMA busy_timeout=5000;
CREATE TABLE IF NOT EXISTS call_log (
    id INTEGER PRIMARY KEY,
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
CREATE INDEX IF NOT EXISTS idx_call_log_runtime ON call_log(runtime_id);
";

/// How long a batched row may wait before it is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Commit as soon as this many rows wait (callers block, never drop,
    /// while this many wait for the writer).
    pub max_rows: usize,
    /// Commit once the oldest waiting row is this old.
    pub max_delay: Duration,
}

impl Default for Window {
    /// 1000 rows or 50 ms, whichever comes first.
    fn default() -> Self {
        Window { max_rows: 1000, max_delay: Duration::from_millis(50) }
    }
}

/// When a row reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// In batches within a [`Window`]; `synchronous=NORMAL`: a committed
    /// row survives a process kill, not necessarily a power loss.
    Batched(Window),
    /// Each call's row is committed and the WAL fsynced
    /// (`synchronous=FULL`) before the call returns.
    PerCall,
}

impl Default for Durability {
    fn default() -> Self {
        Durability::Batched(Window::default())
    }
}

/// Options of [`SqliteCallLog::open_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqliteOptions {
    /// When rows become durable.
    pub durability: Durability,
    /// Cap on the database size (SQLite's `max_page_count`); writes past it
    /// fail with [`Error::CallLog`]. `None`: no cap but the disk's.
    pub max_bytes: Option<u64>,
}

type Ack = SyncSender<Result<(), String>>;

#[derive(Default)]
struct Queue {
    entries: Vec<CallEntry>,
    acks: Vec<Ack>,
    /// When the oldest waiting entry arrived.
    oldest: Option<Instant>,
    /// Whether the writer is inside a commit.
    writing: bool,
    closed: bool,
}

/// Rows that could not be written, and why.
#[derive(Default)]
struct Loss {
    rows: u64,
    first_error: String,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer (a window opened or filled, a waiter, shutdown).
    work: Condvar,
    /// Wakes callers blocked on a full queue.
    room: Condvar,
    failed: AtomicBool,
    loss: Mutex<Loss>,
    window: Option<Window>,
    path: PathBuf,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failure(&self) -> Option<Error> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        let loss = self.loss.lock().unwrap_or_else(|p| p.into_inner());
        Some(Error::CallLog(format!(
            "{}: {} row(s) could not be written: {}",
            self.path.display(),
            loss.rows,
            loss.first_error
        )))
    }
}

/// The SQLite sink. Cheap to hand entries to from any thread; dropping it
/// writes what is queued and joins the writer.
pub struct SqliteCallLog {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn sql_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::CallLog(format!("{}: {e}", path.display()))
}

/// Rows per INSERT statement: one statement per row spent about a third of
/// the writer's time starting and finishing statements. A batch's last
/// rows (fewer than this) go one per statement, so two statements stay
/// prepared.
const ROWS_PER_INSERT: usize = 32;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO call_log (ts_unix_ms, runtime_id, direction, module, function, args_json,
                               result_json, duration_ms, duration_us, error) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(?,?,?,?,?,?,?,?,?,?)" } else { ",(?,?,?,?,?,?,?,?,?,?)" });
    }
    sql
}

fn insert(conn: &mut Connection, entries: &[CallEntry]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let whole = entries.len() - entries.len() % ROWS_PER_INSERT;
    let (chunked, rest) = entries.split_at(whole);
    for (rows, part) in [(ROWS_PER_INSERT, chunked), (1, rest)] {
        if part.is_empty() {
            continue;
        }
        let mut stmt = tx.prepare_cached(&insert_sql(rows))?;
        for chunk in part.chunks(rows) {
            for (row, e) in chunk.iter().enumerate() {
                let at = row * 10;
                stmt.raw_bind_parameter(at + 1, e.ts_unix_ms)?;
                stmt.raw_bind_parameter(at + 2, e.runtime_id as i64)?;
                stmt.raw_bind_parameter(at + 3, e.direction.as_str())?;
                stmt.raw_bind_parameter(at + 4, &e.module)?;
                stmt.raw_bind_parameter(at + 5, &e.function)?;
                stmt.raw_bind_parameter(at + 6, &e.args_json)?;
                stmt.raw_bind_parameter(at + 7, &e.result_json)?;
                stmt.raw_bind_parameter(at + 8, e.duration.as_millis() as i64)?;
                stmt.raw_bind_parameter(at + 9, e.duration.as_micros() as i64)?;
                stmt.raw_bind_parameter(at + 10, &e.error)?;
            }
            stmt.raw_execute()?;
        }
    }
    tx.commit()
}

fn writer(mut conn: Connection, shared: Arc<Shared>) {
    loop {
        let mut q = shared.lock();
        // Wait for work, then (batched) for the window to fill or expire.
        loop {
            let has_work = !q.entries.is_empty() || !q.acks.is_empty();
            if q.closed || !q.acks.is_empty() {
                break;
            }
            match (has_work, shared.window, q.oldest) {
                (true, Some(w), Some(oldest)) if q.entries.len() < w.max_rows => {
                    match (oldest + w.max_delay).checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => {
                            q = shared.work.wait_timeout(q, left).unwrap_or_else(|p| p.into_inner()).0;
                        }
                        _ => break,
                    }
                }
                (true, _, _) => break,
                (false, _, _) => q = shared.work.wait(q).unwrap_or_else(|p| p.into_inner()),
            }
        }
        let entries = std::mem::take(&mut q.entries);
        let acks = std::mem::take(&mut q.acks);
        let closing = q.closed;
        q.oldest = None;
        q.writing = true;
        drop(q);
        shared.room.notify_all();

        let result = if entries.is_empty() {
            Ok(())
        } else {
            insert(&mut conn, &entries).map_err(|e| {
                tracing::error!(error = %e, rows = entries.len(), "calllog: commit failed");
                let mut loss = shared.loss.lock().unwrap_or_else(|p| p.into_inner());
                if loss.rows == 0 {
                    loss.first_error = e.to_string();
                }
                loss.rows += entries.len() as u64;
                shared.failed.store(true, Ordering::Release);
                e.to_string()
            })
        };
        let answer = match (&result, shared.failure()) {
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Some(earlier)) => Err(earlier.to_string()),
            (Ok(()), None) => Ok(()),
        };
        for ack in acks {
            let _ = ack.send(answer.clone());
        }
        shared.lock().writing = false;
        shared.room.notify_all();
        if closing && shared.lock().entries.is_empty() {
            return;
        }
    }
}

impl SqliteCallLog {
    /// Opens (or creates) the database, batched within the default
    /// [`Window`], and starts its writer thread.
    ///
    /// # Errors
    ///
    /// [`Error::CallLog`] when the location cannot be created or written.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (or creates) the database with these options and starts its
    /// writer thread. Checks that the file is writable now, so a read-only
    /// location fails here rather than at the first call.
    ///
    /// # Errors
    ///
    /// [`Error::CallLog`] when the location cannot be created or written,
    /// or the window has `max_rows == 0`.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| sql_error(dir, e))?;
        }
        let window = match options.durability {
            Durability::Batched(w) if w.max_rows == 0 => {
                return Err(Error::CallLog("the window's max_rows must be at least 1".into()))
            }
            Durability::Batched(w) => Some(w),
            Durability::PerCall => None,
        };
        let conn = Connection::open(path).map_err(|e| sql_error(path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| sql_error(path, e))?;
        let sync = if window.is_some() { "NORMAL" } else { "FULL" };
        conn.execute_batch(&format!("PRAGMA synchronous={sync};")).map_err(|e| sql_error(path, e))?;
        if let Some(max) = options.max_bytes {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(|e| sql_error(path, e))?;
            let pages = (max / page.max(1) as u64).max(1);
            // The pragma answers with the cap in force (never below the
            // current size).
            let _: i64 = conn
                .query_row(&format!("PRAGMA max_page_count={pages}"), [], |r| r.get(0))
                .map_err(|e| sql_error(path, e))?;
        }
        // A write lock now: a read-only file or directory fails here.
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;").map_err(|e| sql_error(path, e))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            room: Condvar::new(),
            failed: AtomicBool::new(false),
            loss: Mutex::new(Loss::default()),
            window,
            path: path.to_owned(),
        });
        let for_writer = shared.clone();
        let writer = std::thread::Builder::new()
            .name("jsbox-calllog".into())
            .spawn(move || writer(conn, for_writer))
            .map_err(|e| sql_error(path, e))?;
        Ok(SqliteCallLog { shared, writer: Mutex::new(Some(writer)) })
    }

    /// Queues entries; returns a receiver for the commit when `wait`.
    fn push(&self, entries: impl IntoIterator<Item = CallEntry>, wait: bool) -> Option<mpsc::Receiver<Result<(), String>>> {
        let shared = &self.shared;
        let mut q = shared.lock();
        if let Some(w) = shared.window {
            // Back-pressure: never drop, never grow without bound.
            while q.entries.len() >= w.max_rows && !q.closed {
                q = shared.room.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        }
        let was_empty = q.entries.is_empty();
        q.entries.extend(entries);
        if q.oldest.is_none() && !q.entries.is_empty() {
            q.oldest = Some(Instant::now());
        }
        let full = shared.window.is_some_and(|w| q.entries.len() >= w.max_rows);
        let done = wait.then(|| {
            let (ack, done) = mpsc::sync_channel(1);
            q.acks.push(ack);
            done
        });
        drop(q);
        // Wake the writer only when it has something new to decide.
        if was_empty || full || done.is_some() || shared.window.is_none() {
            shared.work.notify_one();
        }
        done
    }

    fn wait(&self, done: mpsc::Receiver<Result<(), String>>) -> Result<(), Error> {
        done.recv()
            .map_err(|_| sql_error(&self.shared.path, "the writer thread is gone"))?
            .map_err(|e| sql_error(&self.shared.path, e))
    }
}

impl CallLogSink for SqliteCallLog {
    fn record(&self, entries: Vec<CallEntry>) {
        let durable = self.shared.window.is_none();
        if let Some(done) = self.push(entries, durable) {
            if let Err(e) = self.wait(done) {
                tracing::error!(error = %e, "calllog: durable batch failed");
            }
        }
    }

    fn record_call(&self, entry: CallEntry) -> Result<(), Error> {
        let durable = self.shared.window.is_none();
        match self.push([entry], durable) {
            Some(done) => self.wait(done),
            // Batched: the call goes on; an earlier loss is still loud.
            None => self.health(),
        }
    }

    fn flush(&self) -> Result<(), Error> {
        match self.push([], true) {
            Some(done) => self.wait(done),
            None => Ok(()),
        }
    }

    fn health(&self) -> Result<(), Error> {
        self.shared.failure().map_or(Ok(()), Err)
    }
}

impl Drop for SqliteCallLog {
    fn drop(&mut self) {
        // The writer drains the queue, then ends.
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        self.shared.room.notify_all();
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
