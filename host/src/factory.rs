//! The factory: does the expensive work once (registry, Wizer snapshot,
//! compile, disk cache, `InstancePre`) and then hands out runtimes that are
//! each just a new wasm instance.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::{Engine, Module, Store};

use crate::abi::GuestExports;
use crate::cache;
use crate::engine::{self, EngineInfo};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::modules;
use crate::modules::sourcemap::SourceMaps;
use crate::modules::typescript;
use crate::capabilities;
use crate::native::NativeRegistry;
use crate::options::{Compile, EngineOptions, ModulePolicy};
use crate::pool::{Slot, Slots};
use crate::runtime::Runtime;
use crate::shards::{self, Shard};
use crate::state::{Clock, HostEnv, HostState};
use crate::ticker::Ticker;

/// The committed guest: QuickJS through javy, built from `guest/` by
/// `make guest` (and checked byte for byte by `make guest-check`).
pub(crate) const GUEST: &[u8] = include_bytes!("jsbox_guest.wasm");

/// Default size of the instance pool.
const DEFAULT_MAX_RUNTIMES: u32 = 1000;

/// Where a factory's compiled module came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the disk cache.
    Hit,
    /// Built and written to the disk cache.
    Miss,
    /// The disk cache is off.
    Off,
}

/// How a factory was built (for diagnostics and benchmark reports).
#[derive(Debug, Clone)]
pub struct FactoryInfo {
    /// The engine's allocation features on this machine.
    pub engine: EngineInfo,
    /// Whether runtimes start from a Wizer snapshot.
    pub snapshot: bool,
    /// Where the compiled module came from.
    pub cache: CacheOutcome,
    /// Size of the wasm module runtimes are instances of.
    pub module_bytes: usize,
    /// Time `EngineFactory::new` took.
    pub build_time: Duration,
    /// Names of the modules baked into the registry.
    pub modules: Vec<String>,
    /// How many engines runtimes are spread over ([`EngineOptions::engines`]).
    pub engines: usize,
    /// A BLAKE3 hash (hex) of every source runtimes start from: the guest,
    /// the registry (module sources, loaders' answers, init scripts,
    /// preloads, ES imports, module policy, conditions) and every file
    /// module resolution read under the module root. Factories with equal
    /// `sources` run the same code (limits and native modules aside): what
    /// `jsbox batch --resume` checks a plugin by.
    pub sources: String,
    /// Guest functions Cranelift compiled for this factory: 0 when the
    /// module came from the cache, or when every function of a new
    /// snapshot was found in the cache's compiled-function store (a new or
    /// edited plugin of a guest compiled before).
    pub compiled_functions: usize,
    /// How runtimes are made: [`Compile::Shared`] when they are instances
    /// of the guest's shared code given the snapshot's image (and
    /// `module_bytes` is the image's size), else [`Compile::Whole`].
    pub compile: Compile,
}

/// Builds runtimes. Build once, share across threads, call
/// [`EngineFactory::new_runtime`] per task.
///
/// # Examples
///
/// ```
/// use jsbox::{EngineFactory, EngineOptions};
///
/// let factory = EngineFactory::new(EngineOptions::new().module("counter", "let n = 0; exports.next = () => ++n;"))?;
/// let mut a = factory.new_runtime()?;
/// let mut b = factory.new_runtime()?;
/// assert_eq!(a.eval_as::<i32>("const c = require('counter'); c.next(); c.next()")?, 2);
/// // b starts from the pristine snapshot: a's state is not visible.
/// assert_eq!(b.eval_as::<i32>("require('counter').next()")?, 1);
/// # Ok::<(), jsbox::Error>(())
/// ```
pub struct EngineFactory {
    /// At least one; a thread makes its runtimes on its home shard.
    shards: Vec<Shard>,
    env: Arc<HostEnv>,
    limits: Limits,
    next_id: AtomicU64,
    /// The registry for guests that initialise per runtime (no snapshot).
    init_registry: Option<String>,
    max_runtimes: u32,
    /// One per pool slot: taken by each live runtime.
    slots: Arc<Slots>,
    info: FactoryInfo,
}

impl std::fmt::Debug for EngineFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineFactory").field("info", &self.info).finish()
    }
}

#[derive(Serialize)]
struct Policy<'a> {
    mode: &'static str,
    list: Vec<&'a str>,
}

#[derive(Serialize)]
struct InitScript<'a> {
    name: &'a str,
    source: &'a str,
}

/// What the guest's `init` receives.
#[derive(Serialize)]
struct RegistryDoc<'a> {
    modules: &'a BTreeMap<String, String>,
    natives: BTreeMap<&'a str, Vec<String>>,
    async_natives: BTreeMap<&'a str, Vec<String>>,
    policy: Policy<'a>,
    preload: &'a [String],
    init_scripts: Vec<InitScript<'a>>,
    /// Registry modules that are ES modules.
    esm: Vec<&'a str>,
    /// ES modules to import (link and evaluate) in `init`.
    imports: &'a [String],
    /// What resolution depends on besides the files (which the cache's
    /// manifest covers): part of the cache key, unused by the guest.
    resolution: Resolution<'a>,
    /// Whether code run at build time may read the clock and randomness:
    /// part of the cache key, unused by the guest.
    nondeterministic_build: bool,
    /// Whether `init` runs once for a snapshot (else once per runtime):
    /// work that only pays off when kept (instantiating every built-in) is
    /// skipped without one.
    snapshot: bool,
    /// `process.env` (guest/src/node/process.js).
    env: &'a BTreeMap<String, String>,
    /// `process.versions.jsbox`.
    version: &'static str,
}

#[derive(Serialize)]
struct Resolution<'a> {
    root: Option<String>,
    conditions: &'a [String],
}

/// The registry with its TypeScript modules stripped of their types (their
/// maps kept in `maps`): `.mts` and declared ES modules are ES modules, the
/// other `.ts` and `.cts` modules CommonJS, as `.js` registry modules are.
fn strip_registry(
    mut modules: BTreeMap<String, String>,
    esm: &std::collections::BTreeSet<String>,
    maps: &SourceMaps,
) -> Result<BTreeMap<String, String>> {
    for (name, source) in modules.iter_mut().filter(|(name, _)| typescript::is_typescript(name)) {
        let kind = if esm.contains(name) || modules::is_esm_name(name) {
            typescript::Kind::Module
        } else {
            typescript::Kind::CommonJs
        };
        let stripped = typescript::strip(name, source, kind)?;
        maps.insert(name, stripped.map);
        *source = stripped.code;
    }
    Ok(modules)
}

fn policy_doc(policy: &ModulePolicy) -> Policy<'_> {
    match policy {
        ModulePolicy::AllowAll => Policy { mode: "all", list: vec![] },
        ModulePolicy::Allow(l) => Policy { mode: "allow", list: l.iter().map(String::as_str).collect() },
        ModulePolicy::Deny(l) => Policy { mode: "deny", list: l.iter().map(String::as_str).collect() },
        ModulePolicy::DataOnly => Policy { mode: "data-only", list: vec![] },
    }
}

pub(crate) fn allowed_native(policy: &ModulePolicy, name: &str) -> bool {
    match policy {
        ModulePolicy::AllowAll => true,
        ModulePolicy::Allow(l) => l.contains(name),
        ModulePolicy::Deny(l) => !l.contains(name),
        ModulePolicy::DataOnly => false,
    }
}

/// The native modules the policy lets through, built-ins included. A module
/// the policy denies is not registered at all: the host refuses it even if
/// the guest were subverted.
fn natives(options: &EngineOptions) -> Result<NativeRegistry> {
    options.grants.check()?;
    let mut registry = NativeRegistry::default();
    let mut all = options.natives.clone();
    for capability in options.grants.capabilities() {
        all.push((capability.build)(options)?);
    }
    for module in all {
        if allowed_native(&options.policy, module.name()) {
            registry.insert(module)?;
        }
    }
    Ok(registry)
}

impl EngineFactory {
    /// Builds a factory: collects the registry, snapshots the guest with it
    /// (or loads the compiled snapshot from the disk cache), compiles it and
    /// prepares instantiation.
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] or [`Error::Exception`] when a registry module or
    /// init script fails (with its file and line), [`Error::InvalidOptions`],
    /// [`Error::Io`] for unreadable module directories or fs grants,
    /// [`Error::Engine`] when compilation fails.
    pub fn new(options: EngineOptions) -> Result<Self> {
        let start = Instant::now();
        let maps = Arc::new(SourceMaps::default());
        let modules = strip_registry(options.collect_modules()?, &options.esm_modules, &maps)?;
        let natives = natives(&options)?;
        let limits = options.limits.clone();
        let max_runtimes = options.max_runtimes.unwrap_or(DEFAULT_MAX_RUNTIMES);
        if max_runtimes == 0 {
            return Err(Error::InvalidOptions { option: "max_runtimes", reason: "must be at least 1".into() });
        }

        let conditions = options.effective_conditions();
        let root = match &options.module_root {
            Some(dir) => Some(std::fs::canonicalize(dir).map_err(|source| Error::Io {
                context: format!("module root {}", dir.display()),
                source,
            })?),
            None => None,
        };
        let session = modules::Session::new(
            root.clone(),
            modules.clone(),
            options.esm_modules.clone(),
            conditions.clone(),
            maps.clone(),
        );
        let esm_names = session.esm_registry_names(&modules);

        let mut native_names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut async_names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        // A capability scripts do not `require` (`jsbox:net`, reached
        // through `fetch`) stays out of the registry: the snapshot is the
        // same with or without its grants.
        let hidden = |name: &str| capabilities::by_module(name).is_some_and(|c| !c.requirable);
        for m in natives.iter().filter(|m| !hidden(m.name())) {
            native_names.insert(m.name(), m.function_names());
            if !m.async_functions.is_empty() {
                async_names.insert(m.name(), m.async_function_names());
            }
        }
        let registry_json = serde_json::to_string(&RegistryDoc {
            modules: &modules,
            natives: native_names,
            async_natives: async_names,
            policy: policy_doc(&options.policy),
            preload: &options.preload,
            init_scripts: options
                .init_scripts
                .iter()
                .map(|(name, source)| InitScript { name, source })
                .collect(),
            esm: esm_names.iter().map(String::as_str).collect(),
            imports: &options.imports,
            resolution: Resolution { root: root.as_ref().map(|r| r.display().to_string()), conditions: &conditions },
            nondeterministic_build: options.nondeterministic_build,
            snapshot: !options.no_snapshot,
            env: &options.env,
            version: env!("CARGO_PKG_VERSION"),
        })
        .map_err(|e| Error::InvalidOptions { option: "modules", reason: e.to_string() })?;
        let registry_digest = blake3::hash(registry_json.as_bytes());

        let wanted_shards = shards::count(options.engines, max_runtimes);
        // Each engine's pool holds its share; a full pool sends a spawn to
        // the next engine, and `slots` caps the total.
        let per_shard = max_runtimes.div_ceil(wanted_shards as u32);
        let cache_dir = options.cache.path();
        let functions = cache_dir.as_deref().map(|dir| Arc::new(cache::FunctionStore::new(dir)));
        let (engine, engine_info) = engine::build(
            limits.max_memory,
            per_shard,
            options.fuel_metering,
            functions.clone().map(|f| f as Arc<dyn wasmtime::CacheStore>),
        )?;
        if let Some(functions) = &functions {
            functions.bind(&engine, GUEST);
        }
        // Without the pool there is no pool state to contend on (and the
        // one engine's pool-less allocation has room for every runtime).
        let shard_count = if engine_info.pooling { wanted_shards } else { 1 };
        let session = Arc::new(session);
        let env = |natives: NativeRegistry, ticker: Option<Ticker>, calllog, modules| {
            Arc::new(HostEnv {
                natives,
                clock: options.clock,
                console: options.console,
                calllog,
                started: Instant::now(),
                max_memory: limits.max_memory,
                fuel: options.fuel_metering,
                ticker,
                modules,
                maps: maps.clone(),
            })
        };

        let snapshot = !options.no_snapshot;
        let key = cache::key(&engine, GUEST, snapshot.then_some(registry_json.as_str()), options.clock);
        // A snapshot is only as fresh as the files resolution read.
        let valid_dir = cache_dir.as_deref().filter(|dir| !snapshot || cache::manifest_valid(dir, &key));
        let cached = valid_dir.and_then(|dir| cache::load(&engine, dir, &key, cache::Entry::Runtime));
        let shared = snapshot && cached.is_none() && options.compile == Some(Compile::Shared);
        // A shared-code factory needs the snapshot only (its code is the guest's).
        let cached_snapshot = valid_dir.filter(|_| shared).and_then(|dir| cache::load_bytes(dir, &key, cache::Entry::Snapshot));
        let outcome = match (cached.is_some() || cached_snapshot.is_some(), &cache_dir) {
            (true, _) => CacheOutcome::Hit,
            (false, Some(_)) => CacheOutcome::Miss,
            (false, None) => CacheOutcome::Off,
        };
        // The Wizer step, for either way of compiling its snapshot.
        let build_snapshot = || {
            let build_env = env(NativeRegistry::default(), None, None, Some(session.clone()));
            crate::snapshot::snapshot(GUEST, &registry_json, build_env, options.nondeterministic_build, cache_dir.as_deref())
                .map_err(|e| maps.apply(session.refused_or(e)))
        };
        let mut compiled_functions = 0;
        let mut image = None;
        let (module, module_bytes) = match cached {
            Some(module) => {
                let range = module.image_range();
                (module, range.end as usize - range.start as usize)
            }
            None if shared => {
                let wasm = match cached_snapshot {
                    Some(wasm) => wasm,
                    None => {
                        let wasm = build_snapshot()?;
                        if let Some(dir) = &cache_dir {
                            let stored = cache::store_manifest(dir, &key, &session.manifest())
                                .and_then(|()| cache::store_bytes(dir, &key, cache::Entry::Snapshot, &wasm));
                            if let Err(e) = stored {
                                tracing::warn!(error = %e, "could not write the snapshot cache");
                            }
                        }
                        wasm
                    }
                };
                let (code, own) = crate::image::split(wasm)?;
                let (module, compiled) = shared_code(&engine, &code, cache_dir.as_deref(), functions.as_deref())?;
                compiled_functions = compiled;
                let bytes = own.len();
                image = Some(Arc::new(own));
                (module, bytes)
            }
            None => {
                let wasm = if snapshot {
                    build_snapshot()?
                } else {
                    GUEST.to_vec()
                };
                let module = Module::new(&engine, &wasm).map_err(Error::engine)?;
                compiled_functions = functions.as_ref().map_or(module.functions().len(), |f| f.added());
                if let Some(functions) = &functions {
                    if let Err(e) = functions.persist() {
                        tracing::warn!(error = %e, "could not write the compiled-function store");
                    }
                }
                if let Some(dir) = &cache_dir {
                    let stored = if snapshot { cache::store_manifest(dir, &key, &session.manifest()) } else { Ok(()) };
                    if let Err(e) = stored.and_then(|()| cache::store(dir, &key, cache::Entry::Runtime, &module)) {
                        tracing::warn!(error = %e, "could not write the compiled-module cache");
                    }
                }
                (module, wasm.len())
            }
        };

        let mut shards = vec![Shard::new(engine, &module, image.clone())?];
        if shard_count > 1 {
            let compiled = module.serialize().map_err(Error::engine)?;
            for _ in 1..shard_count {
                let (engine, _) = engine::build(limits.max_memory, per_shard, options.fuel_metering, None)?;
                // SAFETY: these bytes were serialized just now, in this
                // process, by an engine with the very same configuration.
                let module = unsafe { Module::deserialize(&engine, &compiled) }.map_err(Error::engine)?;
                shards.push(Shard::new(engine, &module, image.clone())?);
            }
        }
        let calllog = options.calllog.open()?;
        let ticker = Ticker::new(shards.iter().map(|s| s.engine.clone()).collect());
        // Runtimes of a snapshot never resolve; per-runtime init does.
        let env = env(natives, Some(ticker), calllog, (!snapshot).then(|| session.clone()));

        let factory = EngineFactory {
            shards,
            env,
            limits,
            // Random high bits: ids stay unique when several factories (or
            // processes) log into one database.
            next_id: AtomicU64::new((u64::from(rand::random::<u32>()) << 32) | 1),
            init_registry: (!snapshot).then_some(registry_json),
            max_runtimes,
            slots: Slots::new(max_runtimes),
            info: FactoryInfo {
                engine: engine_info,
                snapshot,
                cache: outcome,
                module_bytes,
                build_time: Duration::ZERO,
                modules: modules.keys().cloned().collect(),
                engines: shard_count,
                sources: String::new(),
                compiled_functions,
                compile: if image.is_some() { Compile::Shared } else { Compile::Whole },
            },
        };
        // A snapshot is only as good as its init: surface registry errors
        // now, not in the first runtime. (A no-snapshot factory checks by
        // initialising one runtime.)
        if !snapshot {
            drop(factory.new_runtime().map_err(|e| maps.apply(session.refused_or(e)))?);
        }
        let mut factory = factory;
        // A snapshot from the cache read no file now: its stored manifest
        // lists (and has just checked) the files it was built from.
        let manifest = match (&factory.info.cache, &cache_dir) {
            (CacheOutcome::Hit, Some(dir)) if snapshot => cache::stored_manifest(dir, &key),
            _ => session.manifest(),
        };
        // The maps of the files the snapshot read come with its manifest.
        for (path, map) in &manifest.maps {
            maps.insert(path, map.clone());
        }
        factory.info.sources = modules::sources_digest(GUEST, &registry_digest, &manifest);
        factory.info.build_time = start.elapsed();
        Ok(factory)
    }

    /// A fresh runtime: a new instance of the snapshot, with the factory's
    /// limits. Costs about 3 µs with the pooling allocator (2.7 µs to make and
    /// drop one on the 2-core machine of the README's benchmarks).
    ///
    /// # Errors
    ///
    /// [`Error::Capacity`] when `max_runtimes` runtimes are alive (see
    /// [`EngineFactory::new_runtime_timeout`] to wait for one to drop);
    /// [`Error::Engine`] if instantiation fails otherwise.
    pub fn new_runtime(&self) -> Result<Runtime> {
        let slot = self.slots.try_take().ok_or(Error::Capacity(self.max_runtimes))?;
        self.instantiate(slot)
    }

    /// Like [`EngineFactory::new_runtime`], but when every slot is taken it
    /// waits up to `timeout` for a runtime to be dropped (on any thread)
    /// instead of failing at once: for servers whose load can exceed the
    /// pool. Waiters are woken one per freed slot.
    ///
    /// # Errors
    ///
    /// [`Error::CapacityTimeout`] when no slot came free in time; otherwise
    /// as [`EngineFactory::new_runtime`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let factory = jsbox::EngineFactory::new(jsbox::EngineOptions::new().max_runtimes(1))?;
    /// let busy = factory.new_runtime()?;
    /// let err = factory.new_runtime_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert!(matches!(err, jsbox::Error::CapacityTimeout { slots: 1, .. }));
    /// std::thread::spawn(move || drop(busy));
    /// let mut rt = factory.new_runtime_timeout(Duration::from_secs(30))?;
    /// assert_eq!(rt.eval_as::<i32>("6 * 7")?, 42);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn new_runtime_timeout(&self, timeout: Duration) -> Result<Runtime> {
        let slot = self
            .slots
            .take_within(timeout)
            .ok_or(Error::CapacityTimeout { slots: self.max_runtimes, waited: timeout })?;
        self.instantiate(slot)
    }

    /// How many more runtimes could be created now without waiting.
    pub fn available_runtimes(&self) -> u32 {
        self.slots.available()
    }

    fn instantiate(&self, slot: Slot) -> Result<Runtime> {
        // A call log that lost rows stops new work until it is dealt with.
        if let Some(sink) = &self.env.calllog {
            sink.health()?;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let home = shards::home(self.shards.len());
        let mut attempt = 0;
        let (mut store, instance, shard) = loop {
            let shard = &self.shards[(home + attempt) % self.shards.len()];
            let mut store = Store::new(&shard.engine, HostState::new(self.env.clone(), id, Some(self.limits.clone())));
            crate::state::prepare_store(&mut store);
            match shard.pre.instantiate(&mut store) {
                Ok(instance) => {
                    if let Some(image) = &shard.image {
                        image.apply(&mut store, &instance, self.limits.max_memory)?;
                    }
                    break (store, instance, shard);
                }
                // This engine's share of the pool is in use: the slot this
                // runtime holds is free in another's.
                Err(e) if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => {
                    attempt += 1;
                    if attempt == self.shards.len() {
                        return Err(Error::Capacity(self.max_runtimes));
                    }
                }
                Err(e) => return Err(Error::engine(e)),
            }
        };
        let guest = GuestExports::resolve(&mut store, &instance, &shard.exports)?;
        let mut runtime = Runtime::new(store, guest, id, slot);
        if let Some(registry) = &self.init_registry {
            runtime.init(registry)?;
        }
        Ok(runtime)
    }

    /// Instantiates the snapshot and drops it, with none of a runtime's
    /// setup: the floor under `new_runtime`, for benchmarks.
    #[doc(hidden)]
    pub fn bare_instance(&self) -> Result<()> {
        let shard = &self.shards[shards::home(self.shards.len())];
        let mut store = Store::new(&shard.engine, HostState::new(self.env.clone(), 0, Some(self.limits.clone())));
        let instance = shard.pre.instantiate(&mut store).map_err(Error::engine)?;
        if let Some(image) = &shard.image {
            image.apply(&mut store, &instance, self.limits.max_memory)?;
        }
        Ok(())
    }

    /// How this factory was built.
    pub fn info(&self) -> &FactoryInfo {
        &self.info
    }

    /// The default limits of this factory's runtimes.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Waits until every call-log entry handed over so far is committed
    /// (runtimes hand each over as its call returns; see
    /// [`crate::calllog`] for when rows are durable without this).
    ///
    /// # Errors
    ///
    /// [`Error::CallLog`] when the sink failed to write.
    pub fn flush_calllog(&self) -> Result<()> {
        match &self.env.calllog {
            Some(sink) => sink.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for EngineFactory {
    fn drop(&mut self) {
        if let Err(e) = self.flush_calllog() {
            tracing::error!(error = %e, "calllog flush on factory drop failed");
        }
    }
}

/// The guest's code shared by every snapshot ([`Compile::Shared`]): from
/// the disk cache, or compiled (and stored there). Returns the module and
/// how many functions were compiled.
fn shared_code(
    engine: &Engine,
    code: &[u8],
    cache_dir: Option<&std::path::Path>,
    functions: Option<&cache::FunctionStore>,
) -> Result<(Module, usize)> {
    let key = cache::key(engine, code, None, Clock::System);
    if let Some(module) = cache_dir.and_then(|dir| cache::load(engine, dir, &key, cache::Entry::Shared)) {
        return Ok((module, 0));
    }
    let module = Module::new(engine, code).map_err(Error::engine)?;
    let compiled = functions.map_or(module.functions().len(), |f| f.added());
    if let Some(functions) = functions {
        if let Err(e) = functions.persist() {
            tracing::warn!(error = %e, "could not write the compiled-function store");
        }
    }
    if let Some(dir) = cache_dir {
        if let Err(e) = cache::store(dir, &key, cache::Entry::Shared, &module) {
            tracing::warn!(error = %e, "could not cache the shared guest code");
        }
    }
    Ok((module, compiled))
}

/// Builds a factory and one runtime from it: the simple path.
///
/// # Examples
///
/// ```
/// let mut rt = jsbox::open(jsbox::EngineOptions::new())?;
/// assert_eq!(rt.eval_as::<i32>("var n = 41; n + 1;")?, 42);
/// # Ok::<(), jsbox::Error>(())
/// ```
///
/// # Errors
///
/// As [`EngineFactory::new`] and [`EngineFactory::new_runtime`].
pub fn open(mut options: EngineOptions) -> Result<Runtime> {
    // One runtime from one thread: a second engine would only cost time.
    options.engines.get_or_insert(1);
    // One runtime: a new plugin should not wait for a compile.
    options.compile.get_or_insert(Compile::Shared);
    EngineFactory::new(options)?.new_runtime()
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<EngineFactory>();
};
