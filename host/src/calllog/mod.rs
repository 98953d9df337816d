//! The runtime-scoped call log: every call from JS into a native module
//! (`js->host`) and every call from the host into JS (`host->js`), with
//! arguments, result, duration and error.
//!
//! The policy is set on the factory options ([`CallLogPolicy`]); it is off
//! by default and then costs one branch per call. There is no global
//! logger: each runtime records into its own buffer, tagged with its runtime
//! id, and hands full buffers (and what is left when it is dropped) to the
//! factory's sink. The SQLite sink writes on its own thread, in batches, so
//! the call path never waits for the disk; dropping the factory (or
//! [`crate::EngineFactory::flush_calllog`]) waits until everything handed
//! over is committed.
//!
//! The SQLite sink needs the `sqlite` feature (on by default); without it
//! jsbox does not build SQLite, and the memory and custom sinks remain.

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use memory::MemoryCallLog;
#[cfg(feature = "sqlite")]
pub use sqlite::read_entries;

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
/// `record` receives batches from many runtimes on many threads; it must
/// not lose entries. `flush` returns once every batch recorded before it is
/// durable.
pub trait CallLogSink: Send + Sync {
    /// Takes a batch of entries.
    fn record(&self, entries: Vec<CallEntry>);
    /// Makes everything recorded so far durable.
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The call-log policy of a factory. (Non-exhaustive: the `Sqlite` variant
/// exists only with the `sqlite` feature.)
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum CallLogPolicy {
    /// No logging (the default).
    #[default]
    Disabled,
    /// An SQLite database file (created if missing; WAL mode). Read it back
    /// with [`read_entries`] or `jsbox calllog show`.
    #[cfg(feature = "sqlite")]
    Sqlite(PathBuf),
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
            CallLogPolicy::Sqlite(path) => Some(Arc::new(sqlite::SqliteCallLog::open(path)?)),
            CallLogPolicy::Memory(m) => Some(Arc::new(m.clone())),
            CallLogPolicy::Custom(sink) => Some(sink.clone()),
        })
    }
}

/// Entries a runtime buffers before handing a batch to the sink.
const BATCH: usize = 256;

/// A runtime's binding to the factory's sink.
pub(crate) struct RuntimeLog {
    sink: Arc<dyn CallLogSink>,
    runtime_id: u64,
    buffer: Vec<CallEntry>,
}

impl RuntimeLog {
    pub(crate) fn new(sink: Arc<dyn CallLogSink>, runtime_id: u64) -> Self {
        RuntimeLog { sink, runtime_id, buffer: Vec::new() }
    }

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
    ) {
        let ts_unix_ms = started.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let (result_json, error) = match outcome {
            Ok(r) => (Some(r.to_owned()), None),
            Err(e) => (None, Some(e)),
        };
        self.buffer.push(CallEntry {
            ts_unix_ms,
            runtime_id: self.runtime_id,
            direction,
            module: module.to_owned(),
            function: function.to_owned(),
            args_json: args_json.to_owned(),
            result_json,
            duration,
            error,
        });
        if self.buffer.len() >= BATCH {
            self.sink.record(std::mem::take(&mut self.buffer));
        }
    }
}

impl Drop for RuntimeLog {
    fn drop(&mut self) {
        if !self.buffer.is_empty() {
            self.sink.record(std::mem::take(&mut self.buffer));
        }
    }
}
