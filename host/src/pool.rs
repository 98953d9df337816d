//! The factory's runtime slots: a counting semaphore sized like the
//! instance pool (`max_runtimes`). A runtime holds a [`Slot`] for its whole
//! life and gives it back when it drops, on whatever thread that happens,
//! so callers can wait for a free slot instead of failing at once.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Taking and giving back a slot are single atomic operations: every
/// thread that makes runtimes touches this count, so a lock here was
/// cache-line traffic between cores on every spawn and drop. The lock and
/// condition variable are only for callers that wait.
#[derive(Debug)]
pub(crate) struct Slots {
    free: AtomicU32,
    /// Callers blocked in `take_within`: a release wakes one when nonzero.
    waiting: AtomicU32,
    lock: Mutex<()>,
    released: Condvar,
}

#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
}

impl Slots {
    pub(crate) fn new(total: u32) -> Arc<Self> {
        Arc::new(Slots {
            free: AtomicU32::new(total),
            waiting: AtomicU32::new(0),
            lock: Mutex::new(()),
            released: Condvar::new(),
        })
    }

    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Slot> {
        self.free.fetch_update(SeqCst, SeqCst, |free| free.checked_sub(1)).ok()?;
        Some(Slot { slots: self.clone() })
    }

    pub(crate) fn take_within(self: &Arc<Self>, timeout: Duration) -> Option<Slot> {
        if let Some(slot) = self.try_take() {
            return Some(slot);
        }
        // A timeout too large for an Instant waits forever.
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // Announced before looking again, under the lock: a release either
        // happened before the look (and the look sees it) or sees `waiting`
        // and notifies once this thread waits.
        self.waiting.fetch_add(1, SeqCst);
        let slot = loop {
            if let Some(slot) = self.try_take() {
                break Some(slot);
            }
            guard = match deadline {
                None => self.released.wait(guard).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else {
                        break None;
                    };
                    self.released.wait_timeout(guard, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        };
        self.waiting.fetch_sub(1, SeqCst);
        slot
    }

    pub(crate) fn available(&self) -> u32 {
        self.free.load(SeqCst)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let slots = &self.slots;
        slots.free.fetch_add(1, SeqCst);
        if slots.waiting.load(SeqCst) > 0 {
            let _guard = slots.lock.lock().unwrap_or_else(|p| p.into_inner());
            slots.released.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_times_out() {
        let slots = Slots::new(2);
        let a = slots.try_take().unwrap();
        let _b = slots.try_take().unwrap();
        assert!(slots.try_take().is_none());
        assert!(slots.take_within(Duration::from_millis(20)).is_none());
        let waiter = {
            let slots = slots.clone();
            std::thread::spawn(move || slots.take_within(Duration::from_secs(30)).is_some())
        };
        std::thread::sleep(Duration::from_millis(20));
        drop(a);
        assert!(waiter.join().unwrap());
        assert_eq!(slots.available(), 1);
    }
}
