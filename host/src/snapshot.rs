//! The Wizer step: run the guest's `init` with the registry once, then write
//! the initialised memory and globals back into a new wasm module.
//!
//! Wizer's split API is used (`instrument`, run, `snapshot`) because `init`
//! takes the registry as an argument (canonical ABI), which Wizer's one-shot
//! `run` cannot pass. During the snapshot the host imports exist but native
//! calls are refused, and so are the clock and the random source once the
//! embedder's code runs: nothing host-specific or per-run may be baked into
//! the image.

use std::path::Path;
use std::sync::Arc;

use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store};
use wasmtime_wizer::{WasmtimeWizer, Wizer};

use crate::abi::{names, ExportIndex, GuestExports};
use crate::cache;
use crate::error::{Error, Result};
use crate::state::Clock;
use crate::state::{HostEnv, HostState};

/// Runs `init(registry_json)` on `guest` and returns the snapshot module.
/// The instrumented guest is the same for every snapshot: with a `cache`
/// directory it is compiled once and loaded from there after that.
/// Unless `nondeterminism` is allowed, the embedder's code may not read the
/// clock or the random source (see `imports::add_to_build_linker`).
pub(crate) fn snapshot(
    guest: &[u8],
    registry_json: &str,
    env: Arc<HostEnv>,
    nondeterminism: bool,
    cache: Option<&Path>,
) -> Result<Vec<u8>> {
    let mut wizer = Wizer::new();
    wizer.init_func(names::INIT);
    let (cx, instrumented) = wizer.instrument(guest).map_err(Error::engine)?;

    // Each instance of this module runs once: compile it as fast as possible.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&config).map_err(Error::engine)?;
    let module = instrumented_module(&engine, &instrumented, cache)?;
    let mut linker = Linker::new(&engine);
    crate::imports::add_to_build_linker(&mut linker, nondeterminism).map_err(Error::engine)?;
    let mut store = Store::new(&engine, HostState::new(env, 0, None));
    let instance = linker.instantiate(&mut store, &module).map_err(Error::engine)?;
    let exports = ExportIndex::new(&module)?;
    let mut guest_exports = GuestExports::resolve(&mut store, &instance, &exports)?;
    guest_exports
        .init(&mut store, registry_json)
        .map_err(|e| match e.downcast::<Error>() {
            // A refusal of the build linker, as it was raised.
            Ok(refused) => refused,
            Err(e) => Error::Engine(format!("guest init trapped: {e:#}")),
        })?
        .map_err(Error::from)?;

    let snapshot = pollster::block_on(wizer.snapshot(&cx, &mut WasmtimeWizer { store: &mut store, instance }))
        .map_err(Error::engine)?;
    Ok(snapshot)
}

/// The compiled instrumented guest, from the disk cache when it is there.
fn instrumented_module(engine: &Engine, instrumented: &[u8], cache: Option<&Path>) -> Result<Module> {
    let compile = || Module::new(engine, instrumented).map_err(Error::engine);
    let Some(dir) = cache else { return compile() };
    // The clock plays no part in compiling; any fixed value keys the entry.
    let key = cache::key(engine, &blake3::hash(instrumented), None, Clock::System);
    if let Some(module) = cache::load(engine, dir, &key, cache::Entry::Instrumented) {
        return Ok(module);
    }
    let module = compile()?;
    if let Err(e) = cache::store(dir, &key, cache::Entry::Instrumented, &module) {
        tracing::warn!(error = %e, "could not cache the instrumented guest");
    }
    Ok(module)
}
