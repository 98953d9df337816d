//! Waiting between two turns of the loop, and the tokio runtime the sync
//! API waits on.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::Poll;
use std::time::Instant;

use tokio::runtime::{Handle, Runtime};

use crate::error::Error;
use crate::state::HostState;

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Async native calls finished (queued for the guest).
    Finished,
    /// The time waited for came.
    Time,
    /// The runtime was interrupted.
    Interrupted,
}

/// The process-wide tokio runtime that drives native futures and timers
/// for the sync API (one worker thread, started on first use). Runtimes
/// that never wait never start it.
///
/// # Errors
///
/// [`Error::Engine`] when the OS refuses its thread or reactor.
pub(crate) fn shared() -> Result<&'static Handle, Error> {
    static SHARED: OnceLock<Result<Runtime, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("jsbox-loop")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map(Runtime::handle)
        .map_err(|e| Error::Engine(format!("cannot start the event loop's tokio runtime: {e}")))
}

/// Waits until an async native call of this runtime finishes, `until`
/// passes, or the runtime is interrupted; finished calls are queued for the
/// guest. Timers are created on `handle`'s timer driver.
pub(crate) async fn wait(state: &mut HostState, until: Option<Instant>, handle: &Handle) -> Wake {
    // A time already passed wakes after one poll, without a tokio timer
    // (which would round it up to its next millisecond tick).
    let passed = until.is_some_and(|t| t <= Instant::now());
    let sleep = until.filter(|_| !passed).map(|t| {
        let _context = handle.enter();
        tokio::time::sleep_until(t.into())
    });
    let mut sleep = pin!(sleep);
    let max = state.limits.max_value_bytes;
    poll_fn(|cx| {
        state.cancelled.waker.register(cx.waker());
        if state.cancelled.flag.load(std::sync::atomic::Ordering::SeqCst) {
            return Poll::Ready(Wake::Interrupted);
        }
        // Every poll of a native future runs inside the tokio context, not
        // only the first: hyper/reqwest create timers and spawn connection
        // tasks on later polls too (outside a context they panic).
        let finished = {
            let _context = handle.enter();
            state.event_loop.poll_finished(cx, &mut state.calllog, max)
        };
        if finished {
            return Poll::Ready(Wake::Finished);
        }
        if passed {
            return Poll::Ready(Wake::Time);
        }
        if let Some(sleep) = sleep.as_mut().as_pin_mut() {
            if sleep.poll(cx).is_ready() {
                return Poll::Ready(Wake::Time);
            }
        }
        Poll::Pending
    })
    .await
}
