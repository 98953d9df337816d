//! The runtime-scoped call log: every call from JS into a native module
//! (`js->host`) and every call from the host into JS (`host->js`), with
//! arguments, result, duration and error.
//!
//! The policy is set on the factory options ([`CallLogPolicy`]); it is off
//! by default and then costs one branch per call. There is no global
//! logger: each runtime hands every entry, tagged with its runtime id, to
//! the factory's sink as the call returns ([`CallLogSink::record_call`]).
//!
//! # When a row is durable (SQLite)
//!
//! - **Batched** ([`CallLogPolicy::Sqlite`], the default): the call returns
//!   at once; a writer thread commits the waiting rows in one transaction
//!   when [`Window::max_rows`] rows wait or the oldest has waited
//!   [`Window::max_delay`] (defaults: 1000 rows, 50 ms), whichever comes
//!   first. Callers block (never drop) while `max_rows` rows wait. A committed row survives the process being killed
//!   (`synchronous=NORMAL` in WAL mode); a power loss can also take the
//!   transactions since the last WAL sync, and never corrupts the file. So
//!   a `SIGKILL` loses at most the rows of the last `max_delay` plus one
//!   commit, and at most `2 * max_rows` rows.
//! - **Durable** ([`CallLogPolicy::SqliteDurable`]): a call's row is
//!   committed with `synchronous=FULL` (the WAL is fsynced) before the call
//!   returns to its caller, JS or Rust; concurrent runtimes share commits
//!   (group commit). Nothing that returned is lost, even on power loss.
//! - [`crate::EngineFactory::flush_calllog`] and dropping the factory
//!   commit everything handed over so far, in either mode.
//!
//! The SQLite sink needs the `sqlite` feature (on by default); without it
//! jsbox does not build SQLite, and the memory and custom sinks remain.
//!
//! # Failures
//!
//! An unwritable location is [`Error::CallLog`] when the factory is built.
//! A write that fails later (a full disk, [`SqliteOptions::max_bytes`]) is
//! counted, never silently dropped: in durable mode the call whose row
//! failed itself fails with [`Error::CallLog`]; in both modes every later
//! call, `flush_calllog` and `new_runtime` return [`Error::CallLog`] naming
//! how many rows were lost, and no native function runs while the log is
//! failing (its side effect would go unrecorded).

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use memory::MemoryCallLog;
#[cfg(feature = "sqlite")]
pub use sqlite::{read_entries, Durability, SqliteCallLog, SqliteOptions, Window};

use crate::error::Error;

/// Which way a logged call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Direction {
    /// JS called a native module.
    #[serde(rename = "js->host")]
    JsToHost,
    /// The host called into JS (`eval`, `call`, `require`).
    #[serde(rename = "host->js")]
    HostToJs,
}

impl Direction {
    /// The text stored in the `direction` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::JsToHost => "js->host",
            Direction::HostToJs => "host->js",
        }
    }
}

/// One logged call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallEntry {
    /// When the call started, Unix milliseconds.
    pub ts_unix_ms: i64,
    /// The runtime that made (or received) the call.
    pub runtime_id: u64,
    /// Which way it went.
    pub direction: Direction,
    /// Native module name, or the JS module (`""` for globals and `eval`).
    pub module: String,
    /// Function name (`eval` and `require` for those calls).
    pub function: String,
    /// The arguments as JSON text.
    pub args_json: String,
    /// The result as JSON text, when the call succeeded.
    pub result_json: Option<String>,
    /// How long it took.
    pub duration: Duration,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Where call-log entries go. Implement it to send them elsewhere.
///
/// Runtimes on many threads call [`CallLogSink::record_call`] once per call,
/// as the call returns; a sink must not lose entries.
pub trait CallLogSink: Send + Sync {
    /// Takes a batch of entries.
    fn record(&self, entries: Vec<CallEntry>);
    /// Takes one call's entry as the call returns. A durable sink returns
    /// once the entry is durable. An error fails the call with it.
    ///
    /// # Errors
    ///
    /// [`Error::CallLog`] when the entry cannot be (or was not) kept.
    fn record_call(&self, entry: CallEntry) -> Result<(), Error> {
        self.record(vec![entry]);
        Ok(())
    }
    /// Makes everything recorded so far durable.
    ///
    /// # Errors
    ///
    /// [`Error::CallLog`] when entries could not be written.
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
    /// Whether the sink is still keeping what it is given: an error once
    /// entries were lost. Checked before each runtime is created and each
    /// native call runs.
    ///
    /// # Errors
    ///
    /// [`Error::CallLog`] describing the failure.
    fn health(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The call-log policy of a factory. (Non-exhaustive: the SQLite variants
/// exist only with the `sqlite` feature, on by default.)
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum CallLogPolicy {
    /// No logging (the default).
    #[default]
    Disabled,
    /// An SQLite database file (created if missing; WAL mode), written in
    /// batches within the default [`Window`] (see the module docs).
    #[cfg(feature = "sqlite")]
    Sqlite(PathBuf),
    /// An SQLite database file in which each call's row is committed and
    /// fsynced before the call returns.
    #[cfg(feature = "sqlite")]
    SqliteDurable(PathBuf),
    /// In memory, readable by the host ([`MemoryCallLog::entries`]).
    Memory(MemoryCallLog),
    /// A sink the embedder implements.
    Custom(Arc<dyn CallLogSink>),
}

impl std::fmt::Debug for CallLogPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallLogPolicy::Disabled => f.write_str("Disabled"),
            #[cfg(feature = "sqlite")]
            CallLogPolicy::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            #[cfg(feature = "sqlite")]
            CallLogPolicy::SqliteDurable(p) => f.debug_tuple("SqliteDurable").field(p).finish(),
            CallLogPolicy::Memory(_) => f.write_str("Memory"),
            CallLogPolicy::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl CallLogPolicy {
    /// Opens the sink this policy names (the SQLite writer starts here).
    pub(crate) fn open(&self) -> Result<Option<Arc<dyn CallLogSink>>, Error> {
        Ok(match self {
            CallLogPolicy::Disabled => None,
            #[cfg(feature = "sqlite")]
            CallLogPolicy::Sqlite(path) => Some(Arc::new(SqliteCallLog::open(path)?)),
            #[cfg(feature = "sqlite")]
            CallLogPolicy::SqliteDurable(path) => Some(Arc::new(SqliteCallLog::open_with(
                path,
                SqliteOptions { durability: Durability::PerCall, ..SqliteOptions::default() },
            )?)),
            CallLogPolicy::Memory(m) => Some(Arc::new(m.clone())),
            CallLogPolicy::Custom(sink) => Some(sink.clone()),
        })
    }
}

/// A runtime's binding to the factory's sink.
pub(crate) struct RuntimeLog {
    sink: Arc<dyn CallLogSink>,
    runtime_id: u64,
}

impl RuntimeLog {
    pub(crate) fn new(sink: Arc<dyn CallLogSink>, runtime_id: u64) -> Self {
        RuntimeLog { sink, runtime_id }
    }

    /// Whether the sink still keeps entries (checked before side effects).
    pub(crate) fn health(&self) -> Result<(), Error> {
        self.sink.health()
    }

    /// Hands one call's entry to the sink; in durable mode it is committed
    /// when this returns.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        direction: Direction,
        module: &str,
        function: &str,
        args_json: &str,
        started: SystemTime,
        duration: Duration,
        outcome: Result<&str, String>,
    ) -> Result<(), Error> {
        let ts_unix_ms = started.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let (result_json, error) = match outcome {
            Ok(r) => (Some(r.to_owned()), None),
            Err(e) => (None, Some(e)),
        };
        self.sink.record_call(CallEntry {
            ts_unix_ms,
            runtime_id: self.runtime_id,
            direction,
            module: module.to_owned(),
            function: function.to_owned(),
            args_json: args_json.to_owned(),
            result_json,
            duration,
            error,
        })
    }
}
