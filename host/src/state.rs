//! The state a runtime's store carries, shared by the runtime (which drives
//! calls into the guest) and the host imports (which the guest calls back).
//! Both depend on this module; it depends on neither.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::task::AtomicWaker;
use wasmtime::{Memory, Store, Trap, UpdateDeadline};

use crate::abi::GuestFunc;
use crate::calllog::{CallLogSink, RuntimeLog};
use crate::console::{Console, ConsoleOutput};
use crate::error::Error;
use crate::event_loop::HostLoop;
use crate::limits::{Limits, MemoryLimiter};
use crate::native::NativeRegistry;
use crate::ticker::Ticker;

/// What `Date.now()` and `performance.now()` see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The host's real clock (the default).
    #[default]
    System,
    /// A clock frozen at this many milliseconds after the Unix epoch: scripts
    /// learn nothing about real time, and results are reproducible.
    Frozen(u64),
}

/// What every runtime of a factory shares (read-only, or internally
/// synchronised). It outlives the factory while runtimes are alive.
pub(crate) struct HostEnv {
    pub(crate) natives: NativeRegistry,
    pub(crate) clock: Clock,
    pub(crate) console: ConsoleOutput,
    pub(crate) calllog: Option<Arc<dyn CallLogSink>>,
    pub(crate) started: Instant,
    /// The factory's memory cap: the size of a pool slot.
    pub(crate) max_memory: usize,
    /// Whether fuel metering is compiled in.
    pub(crate) fuel: bool,
    /// Drives epoch deadlines; stops when the last runtime and the factory
    /// are gone.
    pub(crate) ticker: Option<Ticker>,
    /// Module resolution for the guest's `init` (none for the runtimes of a
    /// snapshot: they never resolve).
    pub(crate) modules: Option<Arc<crate::modules::Session>>,
    /// Source maps of the factory's modules: errors are reported at the
    /// line and column of the file the author wrote.
    pub(crate) maps: Arc<crate::modules::sourcemap::SourceMaps>,
}

/// What an [`crate::InterruptHandle`] shares with its runtime: the flag
/// the deadline check reads, and the waker of the runtime's event-loop wait
/// (see [`crate::event_loop`]).
#[derive(Default)]
pub(crate) struct Interrupt {
    pub(crate) flag: AtomicBool,
    pub(crate) waker: AtomicWaker,
}

/// The data of a runtime's store.
pub(crate) struct HostState {
    pub(crate) shared: Arc<HostEnv>,
    pub(crate) limits: Limits,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) console: Console,
    pub(crate) calllog: Option<RuntimeLog>,
    pub(crate) host_calls: u64,
    /// The last error a native function returned, with the message JS saw.
    pub(crate) last_host_error: Option<(String, Error)>,
    pub(crate) memory: Option<Memory>,
    pub(crate) realloc: Option<GuestFunc>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) cancelled: Arc<Interrupt>,
    /// Async native calls in flight and finished (see [`crate::event_loop`]).
    pub(crate) event_loop: HostLoop,
    /// The embedder's code is running in `init` (the guest's `user-code`
    /// call); the snapshot step refuses it the clock and randomness.
    pub(crate) user_code: bool,
}

impl HostState {
    pub(crate) fn new(shared: Arc<HostEnv>, runtime_id: u64, limits: Option<Limits>) -> Self {
        let limits = limits.unwrap_or_default();
        HostState {
            calllog: shared.calllog.clone().map(|sink| RuntimeLog::new(sink, runtime_id)),
            console: Console::new(shared.console),
            limiter: MemoryLimiter { max_memory: limits.max_memory, peak: 0, refused: false },
            limits,
            shared,
            host_calls: 0,
            last_host_error: None,
            memory: None,
            realloc: None,
            deadline: None,
            cancelled: Arc::new(Interrupt::default()),
            event_loop: HostLoop::default(),
            user_code: false,
        }
    }
}

/// Installs the memory limiter and the deadline check on a new store
/// (before instantiation, so the initial memory is checked too).
pub(crate) fn prepare_store(store: &mut Store<HostState>) {
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_callback(|ctx| {
        let state = ctx.data();
        let expired = state.deadline.is_some_and(|d| Instant::now() >= d);
        if expired || state.cancelled.flag.load(Ordering::Relaxed) {
            return Err(Trap::Interrupt.into());
        }
        Ok(UpdateDeadline::Continue(1))
    });
}

