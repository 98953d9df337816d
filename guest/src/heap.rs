//! Sealing the heap at the end of a snapshot's `init`.
//!
//! After `init`, the allocator's free lists hold the chunks that init code
//! freed, scattered over the heap the snapshot carries. Every later
//! allocation would reuse one of them, and each runtime would then write to
//! (dirty) pages spread across the whole image: on one small eval, 19 pages
//! between 1.3 and 1.8 MiB. A dirty page is private memory for the
//! runtime's life and a page to copy back when its slot is reset.
//!
//! [`seal`] takes every free chunk below the heap's top out of circulation
//! by allocating it and never freeing it (leaked into the image, where
//! unused bytes cost nothing: the image's pages are shared copy-on-write).
//! Allocations after the snapshot then come from the top of the heap, one
//! page after the next.

use std::alloc::{alloc, dealloc, Layout};

/// Larger than any free chunk init leaves, so it comes from the top.
const PROBE: usize = 1 << 20;
/// The largest piece taken at once; bigger free chunks are taken in pieces.
const LARGEST: usize = 64 << 10;

/// Allocates every free chunk below the heap's top and keeps it.
pub(crate) fn seal() {
    let Ok(probe_layout) = Layout::from_size_align(PROBE, 8) else { return };
    // SAFETY: each pointer is freed with the layout it was allocated with,
    // or deliberately never freed.
    unsafe {
        let probe = alloc(probe_layout);
        if probe.is_null() {
            return;
        }
        let top = probe as usize;
        // Handed back: it merges into the top chunk again.
        dealloc(probe, probe_layout);
        let mut size = LARGEST;
        while size >= 8 {
            let layout = Layout::from_size_align_unchecked(size, 8);
            loop {
                let p = alloc(layout);
                if p.is_null() {
                    break;
                }
                if p as usize >= top {
                    // Nothing of this size is left below the top.
                    dealloc(p, layout);
                    break;
                }
            }
            size /= 2;
        }
    }
}
