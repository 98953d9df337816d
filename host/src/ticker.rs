//! The epoch ticker: a thread that advances the factory's engines' epochs
//! every millisecond, so running guests reach their deadline checks. Started on
//! the first call that needs it; stopped when the last runtime and the
//! factory are gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Engine;

/// The tick period: deadlines are met to within about this much.
const TICK: Duration = Duration::from_millis(1);

pub(crate) struct Ticker {
    engines: Vec<Engine>,
    stop: Arc<AtomicBool>,
    thread: OnceLock<Mutex<Option<JoinHandle<()>>>>,
}

impl Ticker {
    pub(crate) fn new(engines: Vec<Engine>) -> Self {
        Ticker { engines, stop: Arc::new(AtomicBool::new(false)), thread: OnceLock::new() }
    }

    /// Starts the thread if it is not running yet (cheap once it is).
    pub(crate) fn ensure_running(&self) {
        self.thread.get_or_init(|| {
            let engines = self.engines.clone();
            let stop = self.stop.clone();
            let handle = std::thread::Builder::new()
                .name("jsbox-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::park_timeout(TICK);
                        engines.iter().for_each(Engine::increment_epoch);
                    }
                })
                .map_err(|e| tracing::error!(error = %e, "cannot start the epoch ticker; timeouts will not fire"))
                .ok();
            Mutex::new(handle)
        });
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.thread.get_mut().and_then(|m| m.get_mut().ok()).and_then(Option::take) {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}
