//! The factory's runtime slots: a counting semaphore sized like the
//! instance pool (`max_runtimes`). A runtime holds a [`Slot`] for its whole
//! life and gives it back when it drops, on whatever thread that happens,
//! so callers can wait for a free slot instead of failing at once.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Counts the free slots; shared by the factory and every live slot.
#[derive(Debug)]
pub(crate) struct Slots {
    free: Mutex<u32>,
    released: Condvar,
}

/// One taken slot; dropping it frees the slot and wakes one waiter.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
}

impl Slots {
    pub(crate) fn new(total: u32) -> Arc<Self> {
        Arc::new(Slots { free: Mutex::new(total), released: Condvar::new() })
    }

    /// Takes a slot if one is free now.
    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        self.take_locked(&mut free)
    }

    /// Takes a slot, waiting up to `timeout` for one to be freed.
    pub(crate) fn take_within(self: &Arc<Self>, timeout: Duration) -> Option<Slot> {
        // A timeout too large for an Instant waits forever.
        let deadline = Instant::now().checked_add(timeout);
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(slot) = self.take_locked(&mut free) {
                return Some(slot);
            }
            free = match deadline {
                None => self.released.wait(free).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
                    self.released.wait_timeout(free, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }

    fn take_locked(self: &Arc<Self>, free: &mut u32) -> Option<Slot> {
        if *free == 0 {
            return None;
        }
        *free -= 1;
        Some(Slot { slots: self.clone() })
    }

    /// Slots free right now.
    pub(crate) fn available(&self) -> u32 {
        *self.free.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.slots.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.slots.released.notify_one();
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
