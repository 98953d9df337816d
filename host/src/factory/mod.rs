//! The factory: does the expensive work once (registry, Wizer snapshot,
//! compile, disk cache, `InstancePre`) and then hands out runtimes that are
//! each just a new wasm instance.

mod artifact;
pub(crate) mod payload;
mod plan;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Module, Store};

use crate::abi::GuestExports;
use crate::cache;
use crate::engine::{self, EngineInfo};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::calllog::CallLogSink;
use crate::modules;
use crate::native::NativeRegistry;
use crate::options::{Compile, EngineOptions};
use crate::pool::{Slot, Slots};
use crate::runtime::Runtime;
use crate::shards::{self, Shard};
use crate::state::{HostEnv, HostState};
use crate::ticker::Ticker;
use artifact::Artifact;
pub(crate) use plan::allowed_native;
use plan::Plan;

/// The committed guest: QuickJS through javy, built from `guest/` by
/// `make guest` (and checked byte for byte by `make guest-check`).
pub(crate) const GUEST: &[u8] = include_bytes!("../jsbox_guest.wasm");

/// BLAKE3 of [`GUEST`], computed once per process: cache keys and
/// [`FactoryInfo::sources`] name the guest by it (hashing its 3.5 MB costs
/// about half a millisecond, which a `jsbox run` would pay twice).
pub(crate) fn guest_digest() -> &'static blake3::Hash {
    static DIGEST: std::sync::OnceLock<blake3::Hash> = std::sync::OnceLock::new();
    DIGEST.get_or_init(|| blake3::hash(GUEST))
}

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
    /// Modules evaluated inside the snapshot: [`EngineOptions::preload`]s,
    /// and [`EngineOptions::try_preload`]s whose top level could run there.
    pub preloaded: Vec<String>,
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
    pub fn new(mut options: EngineOptions) -> Result<Self> {
        let start = Instant::now();
        let tried = std::mem::take(&mut options.registry.try_preload);
        if tried.is_empty() {
            return Self::build(options, start);
        }
        let mut eager = options.clone();
        eager.registry.preload.extend(tried);
        // A top level that cannot run in the snapshot runs per runtime.
        Self::build(eager, start).or_else(|_| Self::build(options, start))
    }

    /// [`EngineFactory::new`] with every preload settled.
    fn build(options: EngineOptions, start: Instant) -> Result<Self> {
        let max_runtimes = options.build.max_runtimes.unwrap_or(DEFAULT_MAX_RUNTIMES);
        if max_runtimes == 0 {
            return Err(Error::InvalidOptions { option: "max_runtimes", reason: "must be at least 1".into() });
        }
        let limits = options.sandbox.limits.clone();

        // Plan: the registry, the capabilities, the guest's init payload.
        let mut plan = Plan::new(&options)?;
        let natives = std::mem::take(&mut plan.natives);
        let snapshot = plan.snapshot;

        // Engines: the first compiles (or loads) the artifact, the others
        // get a copy. Each engine's pool holds its share; a full pool
        // sends a spawn to the next engine, and `slots` caps the total.
        let wanted_shards = shards::count(options.build.engines, max_runtimes);
        let per_shard = max_runtimes.div_ceil(wanted_shards as u32);
        let cache_dir = options.build.cache.path();
        let functions = cache_dir.as_deref().map(|dir| Arc::new(cache::FunctionStore::new(dir)));
        let (engine, engine_info) = engine::build(
            limits.max_memory,
            per_shard,
            options.build.fuel_metering,
            functions.clone().map(|f| f as Arc<dyn wasmtime::CacheStore>),
        )?;
        if let Some(functions) = &functions {
            functions.bind(&engine, GUEST);
        }
        // Without the pool there is no pool state to contend on (and the
        // one engine's pool-less allocation has room for every runtime).
        let shard_count = if engine_info.pooling { wanted_shards } else { 1 };

        // Artifact: the compiled module, from the cache or built.
        let artifact = Artifact::load_or_build(
            &plan,
            artifact::Inputs {
                options: &options,
                engine: &engine,
                cache_dir: cache_dir.as_deref(),
                functions: functions.as_deref(),
                build_env: host_env(&options, &plan, NativeRegistry::default(), None, None, Some(plan.session.clone())),
            },
        )?;
        let mut shards = vec![Shard::new(engine, &artifact.module, artifact.image.clone())?];
        if shard_count > 1 {
            let compiled = artifact.module.serialize().map_err(Error::engine)?;
            for _ in 1..shard_count {
                let (engine, _) = engine::build(limits.max_memory, per_shard, options.build.fuel_metering, None)?;
                // SAFETY: these bytes were serialized just now, in this
                // process, by an engine with the very same configuration.
                let module = unsafe { Module::deserialize(&engine, &compiled) }.map_err(Error::engine)?;
                shards.push(Shard::new(engine, &module, artifact.image.clone())?);
            }
        }

        // Host environment of the runtimes: natives, call log, ticker.
        // Runtimes of a snapshot never resolve; per-runtime init does.
        let calllog = options.sandbox.calllog.open()?;
        let ticker = Ticker::new(shards.iter().map(|s| s.engine.clone()).collect());
        let resolver = (!snapshot).then(|| plan.session.clone());
        let env = host_env(&options, &plan, natives, Some(ticker), calllog, resolver);

        let factory = EngineFactory {
            shards,
            env,
            limits,
            // Random high bits: ids stay unique when several factories (or
            // processes) log into one database.
            next_id: AtomicU64::new((u64::from(rand::random::<u32>()) << 32) | 1),
            init_registry: (!snapshot).then(|| plan.registry_json.clone()),
            max_runtimes,
            slots: Slots::new(max_runtimes),
            info: FactoryInfo {
                engine: engine_info,
                snapshot,
                cache: artifact.outcome,
                module_bytes: artifact.bytes,
                build_time: Duration::ZERO,
                modules: plan.modules.keys().cloned().collect(),
                preloaded: options.registry.preload.clone(),
                engines: shard_count,
                sources: String::new(),
                compiled_functions: artifact.compiled_functions,
                compile: if artifact.image.is_some() { Compile::Shared } else { Compile::Whole },
            },
        };
        // A snapshot is only as good as its init: surface registry errors
        // now, not in the first runtime. (A no-snapshot factory checks by
        // initialising one runtime.)
        if !snapshot {
            drop(factory.new_runtime().map_err(|e| plan.maps.apply(plan.session.refused_or(e)))?);
        }
        let mut factory = factory;
        // A snapshot from the cache read no file now: its stored manifest
        // lists (and has just checked) the files it was built from.
        let manifest = match (&factory.info.cache, &cache_dir) {
            (CacheOutcome::Hit, Some(dir)) if snapshot => cache::stored_manifest(dir, &artifact.key),
            _ => plan.session.manifest(),
        };
        // The maps of the files the snapshot read come with its manifest.
        for (path, map) in &manifest.maps {
            plan.maps.insert(path, map.clone());
        }
        let registry_digest = blake3::hash(plan.registry_json.as_bytes());
        factory.info.sources = modules::sources_digest(guest_digest(), &registry_digest, &manifest);
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

/// The host environment runtimes (or the Wizer step) call into.
fn host_env(
    options: &EngineOptions,
    plan: &Plan,
    natives: NativeRegistry,
    ticker: Option<Ticker>,
    calllog: Option<Arc<dyn CallLogSink>>,
    modules: Option<Arc<modules::Session>>,
) -> Arc<HostEnv> {
    Arc::new(HostEnv {
        natives,
        clock: options.sandbox.clock,
        console: options.sandbox.console,
        calllog,
        started: Instant::now(),
        max_memory: options.sandbox.limits.max_memory,
        fuel: options.build.fuel_metering,
        ticker,
        modules,
        maps: plan.maps.clone(),
    })
}

impl Drop for EngineFactory {
    fn drop(&mut self) {
        if let Err(e) = self.flush_calllog() {
            tracing::error!(error = %e, "calllog flush on factory drop failed");
        }
    }
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
    options.build.engines.get_or_insert(1);
    // One runtime: a new plugin should not wait for a compile.
    options.build.compile.get_or_insert(Compile::Shared);
    EngineFactory::new(options)?.new_runtime()
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<EngineFactory>();
};
