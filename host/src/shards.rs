//! A factory's engines. Each shard is a wasmtime engine with its own
//! instance pool and its own copy of the compiled module; every thread
//! makes its runtimes on one home shard.
//!
//! Why more than one: making and dropping a runtime writes to state the
//! whole engine shares (its type registry's reference counts, its pool's
//! free list and counters, the module's reference counts), so two threads
//! on one engine pass those cache lines back and forth on every spawn.
//! Measured on 2 cores (`spawn_probe scale`): two threads made 1.55x the
//! runtimes of one with a single engine, 1.7-1.8x with a shard each (two
//! separate factories: 1.82x). A shard costs its own copy of the compiled
//! code and memory image (a few MiB) and about 3 ms of build time.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::{Engine, InstancePre, Linker, Module};

use crate::abi::ExportIndex;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::state::HostState;

/// At most this many shards, whatever the core count: past it, the copies
/// cost more memory than the contention they save.
const MAX_SHARDS: usize = 8;

/// One engine, its pool, and the module pre-linked for it.
pub(crate) struct Shard {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<HostState>,
    /// Export indices are per module, so per shard.
    pub(crate) exports: ExportIndex,
    /// The snapshot's image when `module` is the guest's shared code
    /// ([`crate::Compile::Shared`]): applied to every instance.
    pub(crate) image: Option<Arc<Image>>,
}

impl Shard {
    /// Links the host's imports for `module`, compiled for `engine`.
    pub(crate) fn new(engine: Engine, module: &Module, image: Option<Arc<Image>>) -> Result<Self> {
        let mut linker = Linker::new(&engine);
        crate::imports::add_to_linker(&mut linker).map_err(Error::engine)?;
        let pre = linker.instantiate_pre(module).map_err(Error::engine)?;
        Ok(Shard { engine, pre, exports: ExportIndex::new(module)?, image })
    }
}

/// How many shards a factory gets: one per core up to [`MAX_SHARDS`], no
/// more than `requested` (if set) or than runtimes can be alive at once.
pub(crate) fn count(requested: Option<u32>, max_runtimes: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = requested.map_or(cores.min(MAX_SHARDS), |n| n as usize);
    wanted.clamp(1, max_runtimes.max(1) as usize)
}

/// The calling thread's home shard out of `shards`: threads are numbered in
/// the order they first make a runtime, so consecutive threads land on
/// different shards.
pub(crate) fn home(shards: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static THREAD: Cell<Option<usize>> = const { Cell::new(None) };
    }
    THREAD.with(|t| {
        let n = t.get().unwrap_or_else(|| {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            t.set(Some(n));
            n
        });
        n % shards
    })
}
