//! The Wizer step: run the guest's `init` with the registry once, then write
//! the initialised memory and globals back into a new wasm module.
//!
//! Wizer's split API is used (`instrument`, run, `snapshot`) because `init`
//! takes the registry as an argument (canonical ABI), which Wizer's one-shot
//! `run` cannot pass. During the snapshot the host imports exist but native
//! calls are refused: nothing host-specific may be baked into the image.

use std::sync::Arc;

use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store};
use wasmtime_wizer::{WasmtimeWizer, Wizer};

use crate::abi::{names, ExportIndex, GuestExports};
use crate::error::{Error, Result};
use crate::state::{HostEnv, HostState};

/// Runs `init(registry_json)` on `guest` and returns the snapshot module.
pub(crate) fn snapshot(guest: &[u8], registry_json: &str, env: Arc<HostEnv>) -> Result<Vec<u8>> {
    let mut wizer = Wizer::new();
    wizer.init_func(names::INIT);
    let (cx, instrumented) = wizer.instrument(guest).map_err(Error::engine)?;

    // This module runs once: compile it as fast as possible.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&config).map_err(Error::engine)?;
    let module = Module::new(&engine, &instrumented).map_err(Error::engine)?;
    let mut linker = Linker::new(&engine);
    crate::imports::add_to_linker(&mut linker).map_err(Error::engine)?;
    let mut store = Store::new(&engine, HostState::new(env, 0, None));
    let instance = linker.instantiate(&mut store, &module).map_err(Error::engine)?;
    let exports = ExportIndex::new(&module)?;
    let mut guest_exports = GuestExports::resolve(&mut store, &instance, &exports)?;
    guest_exports
        .init(&mut store, registry_json)
        .map_err(|e| Error::Engine(format!("guest init trapped: {e:#}")))?
        .map_err(Error::from)?;

    let snapshot = pollster::block_on(wizer.snapshot(&cx, &mut WasmtimeWizer { store: &mut store, instance }))
        .map_err(Error::engine)?;
    Ok(snapshot)
}
