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
use std::arch::wasm32::memory_size;

/// The largest piece taken at once; bigger free chunks are taken in pieces.
const LARGEST: usize = 64 << 10;
/// A bound on the search for the top (64 KiB pieces: 256 MiB).
const MAX_PIECES: usize = 4096;

/// Allocates every free chunk below the heap's top and keeps it.
pub(crate) fn seal() {
    // SAFETY: each pointer is freed with the layout it was allocated with,
    // or deliberately never freed.
    unsafe {
        let largest = Layout::from_size_align_unchecked(LARGEST, 8);
        // The allocator takes from the top only when no free chunk fits, and
        // grows memory only when the top is used up: the first piece that
        // grows memory is the top. Pieces before it (free chunks, the rest of
        // the old top) are kept. Memory grows by about one piece.
        let mut top = None;
        for _ in 0..MAX_PIECES {
            let pages = memory_size::<0>();
            let p = alloc(largest);
            if p.is_null() {
                return;
            }
            if memory_size::<0>() > pages {
                // Handed back: it merges into the top chunk again.
                dealloc(p, largest);
                top = Some(p as usize);
                break;
            }
        }
        let Some(top) = top else { return };
        let mut size = LARGEST / 2;
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
