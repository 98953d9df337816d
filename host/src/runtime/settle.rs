//! Driving a runtime's event loop until the promise a call returned
//! settles: guest turns (`run-loop`) alternate with host waits (see
//! [`crate::event_loop`]).

use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::Runtime;
use crate::abi::LoopState;
use crate::error::{Error, Result};
use crate::event_loop::{self, Wake};
use crate::limits::Limits;

/// A little past the due time, so the guest's clock has reached it when
/// the host wakes (the two clocks round differently).
const SLACK: Duration = Duration::from_micros(50);

impl Runtime {
    /// Runs loop turns until the awaited promise settles, waiting in
    /// between without the guest. The call's deadline covers the whole
    /// wait; an interrupt ends it.
    pub(super) async fn settle(&mut self, limits: &Limits, handle: &Handle) -> Result<String> {
        loop {
            self.store.set_epoch_deadline(1);
            let turn = self.guest.run_loop(&mut self.store);
            let (next_timer, keep_alive) = match turn {
                Ok(Ok(LoopState::Done(json))) => return Ok(json),
                Ok(Ok(LoopState::Waiting { next_timer, keep_alive })) => (next_timer, keep_alive),
                Ok(Err(e)) => return self.map_outcome(Ok(Err(e)), limits),
                Err(trap) => return self.map_outcome(Err(trap), limits),
            };
            let data = self.store.data_mut();
            if data.event_loop.has_finished() {
                continue;
            }
            if !keep_alive && data.event_loop.idle() {
                return Err(Error::NeverSettles);
            }
            let deadline = data.deadline;
            let started = data.shared.started;
            // The due time is the guest's word: an absurd one is no timer.
            // 0 (or less) means work is ready now (messages a MessagePort
            // will deliver): the wait only polls the native calls.
            let timer = match next_timer {
                Some(ms) if ms <= 0.0 => Some(Instant::now()),
                _ => next_timer
                    .and_then(|ms| Duration::try_from_secs_f64(ms / 1e3).ok())
                    .and_then(|d| started.checked_add(d + SLACK)),
            };
            let until = match (timer, deadline) {
                (Some(t), Some(d)) => Some(t.min(d)),
                (t, d) => t.or(d),
            };
            let timed_out = || deadline.is_some_and(|d| Instant::now() >= d);
            if timed_out() {
                return Err(Error::Timeout(limits.timeout.unwrap_or_default()));
            }
            match event_loop::wait(data, until, handle).await {
                Wake::Interrupted => return Err(Error::Timeout(limits.timeout.unwrap_or_default())),
                Wake::Time | Wake::Finished if timed_out() => {
                    return Err(Error::Timeout(limits.timeout.unwrap_or_default()))
                }
                Wake::Time | Wake::Finished => {}
            }
        }
    }

    /// [`Runtime::settle`] for the sync API: blocks this thread; native
    /// futures and timers run on the shared tokio runtime.
    pub(super) fn settle_blocking(&mut self, limits: &Limits) -> Result<String> {
        let handle = event_loop::shared()?;
        pollster::block_on(self.settle(limits, handle))
    }
}
