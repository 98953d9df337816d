//! The wasmtime engine behind a factory: Cranelift, epoch interruption,
//! copy-on-write memory images and, when the machine allows, the pooling
//! allocator with keep-resident memory and pagemap scanning.

use std::sync::Arc;

use wasmtime::{CacheStore, Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::error::{Error, Result};

/// What the engine ended up with on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineInfo {
    /// Instances come from a pre-reserved pool (else: allocated per runtime).
    pub pooling: bool,
    /// Freed slots are reset with the `PAGEMAP_SCAN` ioctl (Linux 6.7+).
    pub pagemap_scan: bool,
    /// Fuel metering is compiled in.
    pub fuel: bool,
}

/// Bytes of each freed memory slot kept resident (reset in place rather than
/// returned to the kernel), so the next runtime takes no page faults there.
const KEEP_RESIDENT: usize = 4 << 20;

/// Host stack for guest frames. QuickJS's own stack check is compiled out
/// for WASI, so this limit is what stops runaway recursion, and it must trip
/// before the guest's 1 MiB shadow stack (in linear memory) runs out: JS
/// recursion uses about twice as much native stack as shadow stack, so
/// 1 MiB here stops it at about 1,800 frames with shadow stack to spare.
/// (It also has to fit in the calling thread's stack: Rust's spawned
/// threads get 2 MiB.)
const WASM_STACK: usize = 1 << 20;

fn base_config(fuel: bool, functions: Option<&Arc<dyn CacheStore>>) -> Result<Config> {
    let mut config = Config::new();
    // Compiled functions reused across snapshots (see cache::functions).
    if let Some(store) = functions {
        config.enable_incremental_compilation(store.clone()).map_err(Error::engine)?;
    }
    config
        .cranelift_opt_level(OptLevel::Speed)
        .epoch_interruption(true)
        .consume_fuel(fuel)
        .memory_init_cow(true)
        .max_wasm_stack(WASM_STACK)
        .parallel_compilation(true);
    // `JSBOX_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf` can name guest
    // functions (for profiling only).
    if std::env::var_os("JSBOX_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Ok(config)
}

/// Builds the engine, trying pooling first and falling back to on-demand
/// allocation when the address space does not allow the pool. `functions`
/// is where Cranelift finds functions it compiled before.
pub(crate) fn build(
    max_memory: usize,
    max_runtimes: u32,
    fuel: bool,
    functions: Option<Arc<dyn CacheStore>>,
) -> Result<(Engine, EngineInfo)> {
    let pagemap = PoolingAllocationConfig::is_pagemap_scan_available();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(max_runtimes)
        .total_memories(max_runtimes)
        .total_tables(max_runtimes)
        .total_stacks(0)
        .total_component_instances(0)
        .total_gc_heaps(0)
        .max_memory_size(max_memory)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 << 10)
        .pagemap_scan(if pagemap { Enabled::Yes } else { Enabled::No });
    let mut config = base_config(fuel, functions.as_ref())?;
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(engine) => Ok((engine, EngineInfo { pooling: true, pagemap_scan: pagemap, fuel })),
        Err(e) => {
            tracing::warn!(error = %e, "pooling allocator unavailable; using on-demand allocation");
            let engine = Engine::new(&base_config(fuel, functions.as_ref())?).map_err(Error::engine)?;
            Ok((engine, EngineInfo { pooling: false, pagemap_scan: false, fuel }))
        }
    }
}
