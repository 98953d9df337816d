//! `performance.now()` and `performance.timeOrigin`.
//!
//! The origin is taken the first time a runtime reads the clock through
//! `performance` (or an `Event` timestamp), never during `init`: a Wizer
//! snapshot must not carry a time, so every runtime has its own origin.
//! [`forget`] runs after `init` in case init code read the clock.

use std::cell::Cell;

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "clock_time_get"]
    fn wasi_clock_time_get(id: u32, precision: u64, out: *mut u64) -> u16;
}

const REALTIME: u32 = 0;
const MONOTONIC: u32 = 1;

// (monotonic ns, wall-clock ms since the Unix epoch) at this runtime's origin.
thread_local! {
    static ORIGIN: Cell<Option<(u64, f64)>> = const { Cell::new(None) };
}

fn read(id: u32) -> u64 {
    let mut out = 0u64;
    // SAFETY: `out` is valid for one u64. On failure it stays 0.
    unsafe { wasi_clock_time_get(id, 1_000, &mut out) };
    out
}

fn origin() -> (u64, f64) {
    ORIGIN.get().unwrap_or_else(|| {
        let origin = (read(MONOTONIC), read(REALTIME) as f64 / 1e6);
        ORIGIN.set(Some(origin));
        origin
    })
}

/// Milliseconds since this runtime's origin, with microsecond resolution.
pub(crate) fn now() -> f64 {
    let (start, _) = origin();
    let micros = read(MONOTONIC).saturating_sub(start) / 1_000;
    micros as f64 / 1_000.0
}

/// The origin as milliseconds since the Unix epoch.
pub(crate) fn time_origin() -> f64 {
    origin().1
}

/// Drops an origin taken during `init`, so the snapshot carries none.
pub(crate) fn forget() {
    ORIGIN.set(None);
}
