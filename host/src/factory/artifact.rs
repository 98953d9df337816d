//! The second phase of a factory build: the artifact, the compiled module
//! runtimes are instances of. Loaded from the disk cache when its key (the
//! engine, the guest, the plan's init payload, the clock) and the files it
//! was resolved from still match; else built: the Wizer snapshot, then
//! Cranelift, in either way of [`Compile`], and stored.

use std::path::Path;
use std::sync::Arc;

use wasmtime::{Engine, Module};

use super::plan::Plan;
use super::{CacheOutcome, GUEST};
use crate::cache;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::options::{Compile, EngineOptions};
use crate::state::{Clock, HostEnv};

/// A compiled module and where it came from.
pub(super) struct Artifact {
    pub(super) module: Module,
    /// The snapshot's memory and globals, copied into each runtime of a
    /// shared-code module ([`Compile::Shared`]).
    pub(super) image: Option<Arc<Image>>,
    /// The size of the module (or of the image, for shared code).
    pub(super) bytes: usize,
    pub(super) outcome: CacheOutcome,
    /// Guest functions Cranelift compiled now.
    pub(super) compiled_functions: usize,
    /// The cache key.
    pub(super) key: String,
}

/// What building the artifact needs besides the plan.
pub(super) struct Inputs<'a> {
    pub(super) options: &'a EngineOptions,
    pub(super) engine: &'a Engine,
    pub(super) cache_dir: Option<&'a Path>,
    pub(super) functions: Option<&'a cache::FunctionStore>,
    /// The host environment of the Wizer step (no natives, no call log).
    pub(super) build_env: Arc<HostEnv>,
}

impl Artifact {
    pub(super) fn load_or_build(plan: &Plan, inputs: Inputs<'_>) -> Result<Self> {
        let Inputs { options, engine, cache_dir, functions, build_env } = inputs;
        let snapshot = plan.snapshot;
        let key = cache::key(engine, super::guest_digest(), snapshot.then_some(plan.registry_json.as_str()), options.sandbox.clock);
        // A snapshot is only as fresh as the files resolution read.
        let valid_dir = cache_dir.filter(|dir| !snapshot || cache::manifest_valid(dir, &key));
        let cached = valid_dir.and_then(|dir| cache::load(engine, dir, &key, cache::Entry::Runtime));
        let shared = snapshot && cached.is_none() && options.build.compile == Some(Compile::Shared);
        // A shared-code factory needs the snapshot only (its code is the guest's).
        let cached_snapshot =
            valid_dir.filter(|_| shared).and_then(|dir| cache::load_bytes(dir, &key, cache::Entry::Snapshot));
        let outcome = match (cached.is_some() || cached_snapshot.is_some(), cache_dir) {
            (true, _) => CacheOutcome::Hit,
            (false, Some(_)) => CacheOutcome::Miss,
            (false, None) => CacheOutcome::Off,
        };
        // The Wizer step, for either way of compiling its snapshot.
        let build_snapshot = || {
            crate::snapshot::snapshot(GUEST, &plan.registry_json, build_env.clone(), options.build.nondeterministic_build, cache_dir)
                .map_err(|e| plan.maps.apply(plan.session.refused_or(e)))
        };
        let store_manifest = |dir: &Path| cache::store_manifest(dir, &key, &plan.session.manifest());

        if let Some(module) = cached {
            let range = module.image_range();
            let bytes = range.end as usize - range.start as usize;
            return Ok(Artifact { module, image: None, bytes, outcome, compiled_functions: 0, key });
        }
        if shared {
            let wasm = match cached_snapshot {
                Some(wasm) => wasm,
                None => {
                    let wasm = build_snapshot()?;
                    if let Some(dir) = cache_dir {
                        let stored =
                            store_manifest(dir).and_then(|()| cache::store_bytes(dir, &key, cache::Entry::Snapshot, &wasm));
                        if let Err(e) = stored {
                            tracing::warn!(error = %e, "could not write the snapshot cache");
                        }
                    }
                    wasm
                }
            };
            let (code, own) = crate::image::split(wasm)?;
            let (module, compiled_functions) = shared_code(engine, &code, cache_dir, functions)?;
            let bytes = own.len();
            return Ok(Artifact { module, image: Some(Arc::new(own)), bytes, outcome, compiled_functions, key });
        }
        let wasm = if snapshot { build_snapshot()? } else { GUEST.to_vec() };
        let module = Module::new(engine, &wasm).map_err(Error::engine)?;
        let compiled_functions = functions.map_or(module.functions().len(), |f| f.added());
        persist(functions);
        if let Some(dir) = cache_dir {
            let stored = if snapshot { store_manifest(dir) } else { Ok(()) };
            if let Err(e) = stored.and_then(|()| cache::store(dir, &key, cache::Entry::Runtime, &module)) {
                tracing::warn!(error = %e, "could not write the compiled-module cache");
            }
        }
        Ok(Artifact { module, image: None, bytes: wasm.len(), outcome, compiled_functions, key })
    }
}

/// Writes the functions Cranelift just compiled to the store.
fn persist(functions: Option<&cache::FunctionStore>) {
    if let Some(Err(e)) = functions.map(cache::FunctionStore::persist) {
        tracing::warn!(error = %e, "could not write the compiled-function store");
    }
}

/// The guest's code shared by every snapshot ([`Compile::Shared`]): from
/// the disk cache, or compiled (and stored there). Returns the module and
/// how many functions were compiled.
fn shared_code(
    engine: &Engine,
    code: &[u8],
    cache_dir: Option<&Path>,
    functions: Option<&cache::FunctionStore>,
) -> Result<(Module, usize)> {
    let key = cache::key(engine, &blake3::hash(code), None, Clock::System);
    if let Some(module) = cache_dir.and_then(|dir| cache::load(engine, dir, &key, cache::Entry::Shared)) {
        return Ok((module, 0));
    }
    let module = Module::new(engine, code).map_err(Error::engine)?;
    let compiled = functions.map_or(module.functions().len(), |f| f.added());
    persist(functions);
    if let Some(dir) = cache_dir {
        if let Err(e) = cache::store(dir, &key, cache::Entry::Shared, &module) {
            tracing::warn!(error = %e, "could not cache the shared guest code");
        }
    }
    Ok((module, compiled))
}
