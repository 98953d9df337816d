//! The in-memory call log, for tests and inspection.

use std::sync::{Arc, Mutex};

use super::{CallEntry, CallLogSink};

/// A call log kept in memory and readable by the host. Clones share the
/// same entries.
///
/// # Examples
///
/// ```
/// use jsbox::{CallLogPolicy, EngineOptions, MemoryCallLog};
///
/// let log = MemoryCallLog::new();
/// let mut rt = jsbox::open(EngineOptions::new().calllog(CallLogPolicy::Memory(log.clone())))?;
/// rt.eval("1 + 1")?;
/// drop(rt);
/// assert_eq!(log.entries()[0].function, "eval");
/// # Ok::<(), jsbox::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryCallLog {
    entries: Arc<Mutex<Vec<CallEntry>>>,
}

impl MemoryCallLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every entry handed over so far (runtimes hand each over as
    /// its call returns).
    pub fn entries(&self) -> Vec<CallEntry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl CallLogSink for MemoryCallLog {
    fn record(&self, mut entries: Vec<CallEntry>) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).append(&mut entries);
    }

    fn record_call(&self, entry: CallEntry) -> Result<(), crate::Error> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
        Ok(())
    }
}
