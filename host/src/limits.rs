//! Sandbox limits: time, memory, fuel and the size of what crosses the
//! boundary. Set on the factory, overridable per runtime
//! ([`crate::Runtime::set_limits`]).

use std::time::Duration;

/// Limits for one runtime. The defaults suit untrusted plugins.
///
/// | limit | default |
/// |---|---|
/// | `timeout` (wall time of one call, host calls included) | 10 s |
/// | `max_memory` (the guest's linear memory) | 128 MiB |
/// | `fuel` (instructions of one call; needs [`crate::EngineOptions::fuel_metering`]) | off |
/// | `max_source_bytes` (a script handed to `eval`) | 16 MiB |
/// | `max_value_bytes` (JSON crossing either way) | 16 MiB |
/// | `max_console_bytes` (console output kept per runtime) | 1 MiB |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for one call into JS; `None` for no deadline.
    pub timeout: Option<Duration>,
    /// Cap on the guest's linear memory in bytes.
    pub max_memory: usize,
    /// Instruction budget per call; `None` for no budget.
    pub fuel: Option<u64>,
    /// Largest source string `eval` accepts.
    pub max_source_bytes: usize,
    /// Largest JSON value accepted from or handed to the guest.
    pub max_value_bytes: usize,
    /// Console output kept (or written) per runtime; more is dropped and
    /// counted.
    pub max_console_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Some(Duration::from_secs(10)),
            max_memory: 128 << 20,
            fuel: None,
            max_source_bytes: 16 << 20,
            max_value_bytes: 16 << 20,
            max_console_bytes: 1 << 20,
        }
    }
}

/// What a runtime has used so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Wall time spent in calls into JS.
    pub wall_time: Duration,
    /// Fuel consumed, when fuel metering is on.
    pub fuel_consumed: Option<u64>,
    /// Largest size the guest's linear memory reached, in bytes.
    pub peak_memory: usize,
    /// Calls from JS into native modules.
    pub host_calls: u64,
    /// Console bytes dropped because of `max_console_bytes`.
    pub console_bytes_dropped: u64,
}

/// The store's resource limiter: caps memory growth and remembers whether a
/// grow was refused (so an allocation failure maps to `OutOfMemory`).
pub(crate) struct MemoryLimiter {
    pub(crate) max_memory: usize,
    pub(crate) peak: usize,
    pub(crate) refused: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired).max(current);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}
