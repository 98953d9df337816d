//! Options for a factory: what goes into the snapshot, what runtimes may do,
//! and how the engine is set up. A builder: every method takes and returns
//! `self`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cache::CacheDir;
use crate::calllog::CallLogPolicy;
use crate::console::ConsoleOutput;
use crate::error::Result;
use crate::state::Clock;
use crate::limits::Limits;
use crate::capabilities::net::NetOptions;
use crate::capabilities::{self, Grants};
use crate::native::NativeModule;
use crate::registry::{self, ModuleLoader};

/// Which modules `require` may load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ModulePolicy {
    /// Every registered module (the default).
    #[default]
    AllowAll,
    /// Only these names.
    Allow(BTreeSet<String>),
    /// Everything but these names.
    Deny(BTreeSet<String>),
    /// Only JS modules from the registry and the pure built-ins (`path`,
    /// `console`): no native modules at all.
    DataOnly,
}

/// How a factory turns its snapshot into runtimes ([`EngineOptions::compile`]).
///
/// A snapshot differs from another of the same guest only in its memory
/// and globals; its code is the guest's. `Whole` compiles each snapshot as
/// one module, `Shared` compiles the guest's code once for every plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compile {
    /// The snapshot compiled as one module, its memory a copy-on-write
    /// image: the fastest runtimes. A new or edited plugin is compiled
    /// (most of its functions found in the disk cache's compiled-function
    /// store), which takes seconds. What [`crate::EngineFactory::new`] does
    /// unless told otherwise: a factory usually makes many runtimes.
    Whole,
    /// The guest's code compiled once, cached on disk and shared by every
    /// plugin; each runtime gets the snapshot's memory and globals copied
    /// in when it is made. A new or edited plugin builds in milliseconds
    /// (the Wizer step only), each runtime costs the copy (the image is
    /// about a MiB: a few hundred microseconds more than `Whole`). A whole module
    /// already in the cache is used instead. What [`crate::open`] and the
    /// CLI's `run` and `eval` do: they make one runtime.
    Shared,
}

/// Options for [`crate::EngineFactory::new`] and [`crate::open`].
///
/// # Examples
///
/// ```
/// use jsbox::{EngineFactory, EngineOptions};
///
/// let options = EngineOptions::new()
///     .module("greet", "exports.hello = (n) => `hello, ${n}`;")
///     .init_script("const answer = 42;");
/// let factory = EngineFactory::new(options)?;
/// let mut rt = factory.new_runtime()?;
/// assert_eq!(rt.eval_as::<String>("require('greet').hello('box')")?, "hello, box");
/// assert_eq!(rt.eval_as::<i32>("answer")?, 42);
/// # Ok::<(), jsbox::Error>(())
/// ```
#[derive(Clone, Default, Debug)]
pub struct EngineOptions {
    /// What the snapshot holds.
    pub(crate) registry: RegistryOptions,
    /// What runtimes may do and see.
    pub(crate) sandbox: SandboxOptions,
    /// How the factory is built.
    pub(crate) build: BuildOptions,
}

/// The registry and what runs while the snapshot is taken: the plan's
/// input (`factory/plan.rs`).
#[derive(Clone, Default)]
pub(crate) struct RegistryOptions {
    pub(crate) modules: BTreeMap<String, String>,
    pub(crate) esm_modules: BTreeSet<String>,
    pub(crate) module_dirs: Vec<PathBuf>,
    pub(crate) loaders: Vec<Arc<dyn ModuleLoader>>,
    pub(crate) module_root: Option<PathBuf>,
    pub(crate) conditions: Option<Vec<String>>,
    pub(crate) preload: Vec<String>,
    /// Preloads that fall back to loading per runtime (see `try_preload`).
    pub(crate) try_preload: Vec<String>,
    pub(crate) imports: Vec<String>,
    pub(crate) init_scripts: Vec<(String, String)>,
    pub(crate) env: BTreeMap<String, String>,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("modules", &self.modules.keys().collect::<Vec<_>>())
            .field("esm_modules", &self.esm_modules)
            .field("module_dirs", &self.module_dirs)
            .field("loaders", &self.loaders.len())
            .field("module_root", &self.module_root)
            .field("conditions", &self.conditions)
            .field("preload", &self.preload)
            .field("try_preload", &self.try_preload)
            .field("imports", &self.imports)
            .field("init_scripts", &self.init_scripts.len())
            .field("env", &self.env)
            .finish()
    }
}

/// What runtimes may do (native modules, capability grants, the module
/// policy) and what they see (console, call log, limits, clock).
#[derive(Debug, Clone, Default)]
pub(crate) struct SandboxOptions {
    pub(crate) natives: Vec<NativeModule>,
    pub(crate) grants: Grants,
    pub(crate) working_dir: Option<PathBuf>,
    pub(crate) net: NetOptions,
    pub(crate) policy: ModulePolicy,
    pub(crate) console: ConsoleOutput,
    pub(crate) calllog: CallLogPolicy,
    pub(crate) limits: Limits,
    pub(crate) clock: Clock,
}

/// How the factory is built: cache, compilation, engines and pool.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildOptions {
    pub(crate) cache: CacheDir,
    pub(crate) no_snapshot: bool,
    pub(crate) compile: Option<Compile>,
    pub(crate) nondeterministic_build: bool,
    pub(crate) fuel_metering: bool,
    pub(crate) max_runtimes: Option<u32>,
    pub(crate) engines: Option<u32>,
}

impl EngineOptions {
    /// Default options: no modules, no capabilities, default [`Limits`],
    /// console discarded, call log off, disk cache on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a JS module (CommonJS: assign `module.exports` or `exports.x`).
    /// A name ending in `.json` is a JSON document.
    pub fn module(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.registry.modules.insert(name.into(), source.into());
        self
    }

    /// Adds an ES module to the registry (`import`/`export`; names ending in
    /// `.mjs` are ES modules even when added with [`EngineOptions::module`]).
    /// It is compiled and linked when the factory is built; its top level
    /// runs on its first `import`, `import()` or `require()` (or at build
    /// time, when named by [`EngineOptions::import`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::EngineOptions;
    ///
    /// let options = EngineOptions::new()
    ///     .es_module("math.mjs", "export const square = (x) => x * x; export default 'math';")
    ///     .module("main", "const m = require('./math.mjs'); exports.run = (x) => [m.default, m.square(x)];");
    /// let mut rt = jsbox::open(options)?;
    /// assert_eq!(rt.eval_as::<(String, i32)>("require('main').run(7)")?, ("math".to_string(), 49));
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn es_module(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        let name = name.into();
        self.registry.esm_modules.insert(name.clone());
        self.registry.modules.insert(name, source.into());
        self
    }

    /// The sandbox's root directory on the host: `import`s and `require`s
    /// of files and packages not in the registry are resolved under it, the
    /// way node does (`node_modules` up the tree, package.json `exports`,
    /// `main`, `module`, `"type"` ...), when the factory is built. Only files
    /// reachable from the entries are read. Inside the sandbox the root is
    /// `/`: a module's `import.meta.url` is `file:///` + its path under the
    /// root, whatever the root's path on the host.
    ///
    /// Files are read through a handle on the root (`cap-std`, as `fs`
    /// grants are): a symlink leading out of it, to a file, a directory or
    /// `/proc`, fails the build with [`crate::Error::ModuleRefused`] naming
    /// the module; symlinks that stay inside are followed.
    pub fn module_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.registry.module_root = Some(dir.into());
        self
    }

    /// Imports the ES module `specifier` (`"./plugin.mjs"`, a registry name,
    /// or a package) when the factory is built: it and everything it imports
    /// are resolved, compiled, linked and evaluated inside the snapshot, so
    /// runtimes start with it loaded. `require(specifier)` then returns its
    /// namespace.
    ///
    /// Its top level runs once, at build time (as node runs it once per
    /// process): randomness, time and host calls made there are not
    /// per-runtime, and a top-level `await` must settle with what can run
    /// inside the snapshot (promises and jobs, not timers or native calls).
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::EngineOptions;
    ///
    /// let options = EngineOptions::new()
    ///     .es_module("plugin.mjs", "const table = await Promise.resolve([1, 2, 3]);\nexport default (i) => table[i];")
    ///     .import("./plugin.mjs");
    /// let mut rt = jsbox::open(options)?;
    /// assert_eq!(rt.eval_as::<i32>("require('./plugin.mjs').default(2)")?, 3);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn import(mut self, specifier: impl Into<String>) -> Self {
        self.registry.imports.push(specifier.into());
        self
    }

    /// The package.json `exports`/`imports` conditions to match, besides
    /// `import`/`require` (by how the module is loaded) and `default`
    /// (always). Default: [`crate::DEFAULT_CONDITIONS`] (`jsbox`, `worker`,
    /// `browser`, `module`), so a package with a node build and a browser
    /// build gets the browser one: jsbox has none of node's built-ins.
    /// `module` also makes a package without `exports` load its
    /// package.json `module` entry for `import`.
    pub fn conditions<I, S>(mut self, conditions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.registry.conditions = Some(conditions.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `process.env[name]` in every runtime. `process.env` is empty
    /// otherwise: the host's own environment never reaches the sandbox.
    /// The values are baked into the snapshot (and are part of the cache
    /// key); a script may change its runtime's copy.
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::EngineOptions;
    ///
    /// let mut rt = jsbox::open(EngineOptions::new().env("NODE_ENV", "production"))?;
    /// assert_eq!(rt.eval_as::<String>("process.env.NODE_ENV")?, "production");
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.registry.env.insert(name.into(), value.into());
        self
    }

    /// The conditions in effect (see [`EngineOptions::conditions`]).
    pub(crate) fn effective_conditions(&self) -> Vec<String> {
        self.registry.conditions.clone().unwrap_or_else(|| crate::DEFAULT_CONDITIONS.iter().map(|s| s.to_string()).collect())
    }

    /// Adds every `.js`/`.mjs`/`.cjs`/`.json` file under `dir`, named by its path relative
    /// to `dir` (read when the factory is built, confined to `dir` as
    /// [`EngineOptions::module_root`] is: a file linked from outside fails
    /// the build with [`crate::Error::ModuleRefused`]).
    pub fn module_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.registry.module_dirs.push(dir.into());
        self
    }

    /// Adds a loader, asked at build time for modules that baked code
    /// `require`s and nothing else provides.
    pub fn loader(mut self, loader: impl ModuleLoader + 'static) -> Self {
        self.registry.loaders.push(Arc::new(loader));
        self
    }

    /// Evaluates this module inside the snapshot, so its exports are ready in
    /// every runtime without running its code again. Only for modules whose
    /// top level does not call native modules or depend on time or
    /// randomness (those would be frozen into the snapshot).
    pub fn preload(mut self, name: impl Into<String>) -> Self {
        self.registry.preload.push(name.into());
        self
    }

    /// Preloads this module when its top level can run while the snapshot
    /// is built, and otherwise leaves it to each runtime, as without
    /// [`EngineOptions::preload`]. For code the embedder did not write (a
    /// plugin, a SQL function): preloaded, a fresh runtime calls its
    /// exports without evaluating it again (about half the cost of a
    /// fresh-runtime call to a small function); a top level that calls a
    /// native module, reads the clock or throws still works, and fails or
    /// reads per runtime as it would unpreloaded. The factory is built a
    /// second time, without these preloads, only when the first build
    /// fails; the second build's result is the factory's.
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::{EngineFactory, EngineOptions};
    ///
    /// // Its top level runs in the snapshot...
    /// let pure = EngineOptions::new().module("p", "exports.f = (x) => x + 1;").try_preload("p");
    /// assert_eq!(EngineFactory::new(pure)?.info().preloaded, ["p"]);
    /// // ...unless it cannot: then each runtime runs it, reading its own clock.
    /// let timed = EngineOptions::new().module("t", "const t0 = Date.now(); exports.t0 = () => t0;").try_preload("t");
    /// let factory = EngineFactory::new(timed)?;
    /// assert!(factory.info().preloaded.is_empty());
    /// assert!(factory.new_runtime()?.call_json(Some("t"), "t0", "[]")?.parse::<f64>().unwrap() > 0.0);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn try_preload(mut self, name: impl Into<String>) -> Self {
        self.registry.try_preload.push(name.into());
        self
    }

    /// A script run in global scope inside the snapshot (after the modules
    /// are compiled). Its globals are in every runtime.
    pub fn init_script(mut self, source: impl Into<String>) -> Self {
        let n = self.registry.init_scripts.len();
        self.registry.init_scripts.push((format!("init-{n}.js"), source.into()));
        self
    }

    /// Registers a native module implemented in Rust.
    pub fn native_module(mut self, module: NativeModule) -> Self {
        self.sandbox.natives.push(module);
        self
    }

    /// Grants the `fs` module read access to `dir` and everything beneath
    /// it. A relative `dir` is resolved against the working directory (see
    /// [`EngineOptions::working_dir`]); scripts name it by the same path, or
    /// by its absolute or canonical path. See the crate docs, "Filesystem
    /// grants and paths".
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.txt"), "hello")?;
    /// let options = jsbox::EngineOptions::new().working_dir(dir.path()).allow_read(".");
    /// let mut rt = jsbox::open(options)?;
    /// let text: String = rt.eval_as("require('fs').readFileSync('a.txt', 'utf8')")?;
    /// assert_eq!(text, "hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_read(self, dir: impl AsRef<Path>) -> Self {
        self.grant("read", dir.as_ref().to_string_lossy())
    }

    /// Grants the `fs` module read and write access to `dir` (resolved as
    /// for [`EngineOptions::allow_read`]).
    pub fn allow_write(self, dir: impl AsRef<Path>) -> Self {
        self.grant("write", dir.as_ref().to_string_lossy())
    }

    /// Sets the working directory of the `fs` module: relative grant paths
    /// and the relative paths scripts pass to `fs` are resolved against it.
    /// The default is the process's current directory when the factory is
    /// built (a later `chdir` does not move it); a relative `dir` is
    /// resolved against that.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sandbox.working_dir = Some(dir.into());
        self
    }

    /// Allows the `exec` module to run `program` (by name, looked up on
    /// `PATH`, or by path).
    pub fn allow_exec(self, program: impl Into<String>) -> Self {
        self.grant("exec", program)
    }

    /// Grants `fetch` access to `host` or `host:port` (repeatable), as deno's
    /// `--allow-net`: `example.com` (any port), `example.com:443`,
    /// `127.0.0.1:8080`, `[::1]:8080` (brackets for an IPv6 address with a
    /// port), `localhost`. A hostname grant reaches only public addresses;
    /// grant an IP literal or `localhost` to reach private or loopback ones.
    /// Redirects are followed only to granted hosts. The full rules, and
    /// what is checked, are in [`crate::net`]. `fetch` of a `data:` URL needs
    /// no grant: the guest decodes it, reaching nothing outside the sandbox.
    ///
    /// A grant that does not parse fails [`crate::EngineFactory::new`] with
    /// [`crate::Error::InvalidOptions`].
    pub fn allow_net(self, grant: impl Into<String>) -> Self {
        self.grant("net", grant)
    }

    /// Grants `value` under the capability grant `key` (see
    /// [`crate::capabilities::ALL`]): `read`/`write` (directories for
    /// `fs`, as [`EngineOptions::allow_read`]), `exec` (programs),
    /// `net` (hosts). The `allow_*` methods are this with a key; a key no
    /// capability owns fails [`crate::EngineFactory::new`] with
    /// [`crate::Error::InvalidOptions`].
    ///
    /// # Examples
    ///
    /// ```
    /// let options = jsbox::EngineOptions::new().grant("exec", "true");
    /// let mut rt = jsbox::open(options)?;
    /// assert_eq!(rt.eval_as::<i32>("require('exec').run('true', []).status")?, 0);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn grant(mut self, key: &str, value: impl Into<String>) -> Self {
        self.sandbox.grants.add(key, value);
        self
    }

    /// Adds every grant of `grants` (a manifest's, say).
    pub fn grants(mut self, grants: &Grants) -> Self {
        self.sandbox.grants.extend(grants);
        self
    }

    /// Caps the body of one `fetch` response (default
    /// [`crate::net::DEFAULT_MAX_RESPONSE_BYTES`], 8 MiB); a larger
    /// body fails the fetch with [`crate::Error::TooLarge`].
    pub fn net_max_response_bytes(mut self, bytes: usize) -> Self {
        self.sandbox.net.max_response_bytes = bytes;
        self
    }

    /// How many redirects one `fetch` follows (default
    /// [`crate::net::DEFAULT_MAX_REDIRECTS`], 20).
    pub fn net_max_redirects(mut self, hops: usize) -> Self {
        self.sandbox.net.max_redirects = hops;
        self
    }

    /// Sets which modules `require` may load.
    pub fn module_policy(mut self, policy: ModulePolicy) -> Self {
        self.sandbox.policy = policy;
        self
    }

    /// Sets where console output goes.
    pub fn console(mut self, output: ConsoleOutput) -> Self {
        self.sandbox.console = output;
        self
    }

    /// Sets the call-log policy.
    pub fn calllog(mut self, policy: CallLogPolicy) -> Self {
        self.sandbox.calllog = policy;
        self
    }

    /// Sets the default limits of the factory's runtimes.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.sandbox.limits = limits;
        self
    }

    /// Sets the clock scripts see.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.sandbox.clock = clock;
        self
    }

    /// Sets the compiled-snapshot cache directory (or turns it off).
    pub fn cache(mut self, cache: CacheDir) -> Self {
        self.build.cache = cache;
        self
    }

    /// How the factory compiles its snapshot: see [`Compile`]. Unset,
    /// [`crate::EngineFactory::new`] compiles it whole and
    /// [`crate::open`] (one runtime) shares the guest's compiled code.
    pub fn compile(mut self, compile: Compile) -> Self {
        self.build.compile = Some(compile);
        self
    }

    /// Skips the Wizer snapshot: every runtime initialises QuickJS and loads
    /// the registry itself. Much slower per runtime; meant for comparison and
    /// for checking that a snapshot behaves like a fresh start.
    pub fn without_snapshot(mut self) -> Self {
        self.build.no_snapshot = true;
        self
    }

    /// Lets code that runs while the snapshot is built (module top levels,
    /// preloads, init scripts, ES-module imports) read the clock and the
    /// random source. Off by default: what it reads would be baked into the
    /// snapshot, the same in every runtime (a "random" id shared by all, a
    /// start time that never moves), so the build fails with
    /// [`crate::Error::NondeterministicBuild`] instead. Reads at run time
    /// (inside functions the runtime calls) are never affected. With this
    /// on, the [`Clock`] in force at build time is what such code sees.
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::{EngineFactory, EngineOptions, Error};
    ///
    /// // A preloaded module's top level runs while the snapshot is built.
    /// let at_build = EngineOptions::new().module("id", "exports.id = Math.random();").preload("id");
    /// let err = EngineFactory::new(at_build.clone()).unwrap_err();
    /// assert!(matches!(err, Error::NondeterministicBuild { .. }));
    /// EngineFactory::new(at_build.allow_nondeterministic_build(true))?;
    /// // Per runtime, as intended: read when called.
    /// EngineFactory::new(EngineOptions::new().module("id", "exports.id = () => Math.random();").preload("id"))?;
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn allow_nondeterministic_build(mut self, allow: bool) -> Self {
        self.build.nondeterministic_build = allow;
        self
    }

    /// Compiles with fuel metering so [`Limits::fuel`] can be enforced and
    /// [`crate::Stats::fuel_consumed`] reported (costs some speed).
    pub fn fuel_metering(mut self, on: bool) -> Self {
        self.build.fuel_metering = on;
        self
    }

    /// How many runtimes may be alive at once (the size of the instance
    /// pool; default 1000).
    pub fn max_runtimes(mut self, n: u32) -> Self {
        self.build.max_runtimes = Some(n);
        self
    }

    /// How many wasmtime engines (each with its share of the instance pool
    /// and its own copy of the compiled module, a few MiB) the factory
    /// spreads its runtimes over; each thread makes its runtimes on one.
    /// Default: one per core, at most 8. Threads on one engine contend on
    /// its shared state when they make runtimes at a high rate; `1` saves
    /// the memory when few threads make runtimes.
    pub fn engines(mut self, n: u32) -> Self {
        self.build.engines = Some(n);
        self
    }

    /// The names of every module the registry will hold: direct ones,
    /// module directories, and what the loaders supply for the modules'
    /// `require`s (the loaders are consulted now, as at build time). Useful
    /// for a [`ModulePolicy::Allow`] list that must name them.
    ///
    /// # Errors
    ///
    /// As the loaders and module directories report them.
    pub fn module_names(&self) -> Result<Vec<String>> {
        Ok(self.collect_modules()?.into_keys().collect())
    }

    /// All registry modules: direct ones, module dirs, then loaders.
    pub(crate) fn collect_modules(&self) -> Result<BTreeMap<String, String>> {
        let mut modules = BTreeMap::new();
        for dir in &self.registry.module_dirs {
            modules.extend(registry::read_dir(dir)?);
        }
        modules.extend(self.registry.modules.clone());
        let mut provided: BTreeSet<String> = self.sandbox.natives.iter().map(|m| m.name().to_string()).collect();
        provided.extend(registry::GUEST_BUILTINS.iter().map(|m| m.to_string()));
        provided.extend(capabilities::ALL.iter().map(|c| c.module.to_string()));
        let extra: Vec<String> = self.registry.init_scripts.iter().map(|(_, s)| s.clone()).collect();
        registry::resolve_with_loaders(&mut modules, &extra, &self.registry.loaders, &provided)?;
        Ok(modules)
    }
}
