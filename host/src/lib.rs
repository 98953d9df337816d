//! # jsbox
//!
//! Fresh, isolated JavaScript runtimes in microseconds, each inside a
//! WebAssembly sandbox.
//!
//! ```
//! use jsbox::{EngineFactory, EngineOptions, NativeModule};
//!
//! let options = EngineOptions::new()
//!     .module("greeting", "exports.greet = (name) => require('host').shout(`hello, ${name}`);")
//!     .native_module(NativeModule::new("host").function("shout", |(s,): (String,)| Ok::<_, String>(s.to_uppercase())));
//! let factory = EngineFactory::new(options)?;      // once: snapshot + compile
//! let mut runtime = factory.new_runtime()?;         // per task: a few microseconds
//! let greeting: String = runtime.eval_as("require('greeting').greet('box')")?;
//! assert_eq!(greeting, "HELLO, BOX");
//! # Ok::<(), jsbox::Error>(())
//! ```
//!
//! # Core concepts
//!
//! - **Guest**: QuickJS (through the `javy` crate) compiled to a wasm32-wasip1
//!   module, committed as `src/jsbox_guest.wasm` inside this crate and embedded here. Its
//!   boundary with the host is `wit/jsbox.wit`.
//! - **[`Manifest`]**: a sandbox as plain data (plugin, grants, module
//!   rules, limits, call log, cache), read from a `jsbox.toml` or a
//!   `package.json`'s `jsbox` key, versioned, with a JSON Schema; the CLI,
//!   `jsbox sql` and jsbox-datafusion's plans carry it. It makes
//!   [`EngineOptions`].
//! - **[`EngineOptions`]**: what goes into a factory: the registry of JS
//!   modules (sources, directories, loaders), init scripts, [`NativeModule`]s,
//!   capability grants, the [`ModulePolicy`], the console and call-log
//!   policies, [`Limits`] and the disk cache.
//! - **[`capabilities`]**: the built-in modules a sandbox has only when
//!   granted: `fs` (grant keys `read`, `write`), `exec` (`exec`) and the
//!   net module behind `fetch` (`net`, see [`net`]). Each is one file that
//!   declares its module, grant keys, builder and TypeScript types; one
//!   table ([`capabilities::ALL`]) registers them, and options, manifests,
//!   the CLI's `--allow-KEY` flags and `jsbox types` read it.
//! - **[`EngineFactory`]**: does the expensive work once. It runs the guest's
//!   `init` with the registry and snapshots the result with Wizer (the
//!   registry is compiled, and preloaded modules evaluated, inside the memory
//!   image), compiles the snapshot with Cranelift, caches the compiled module
//!   on disk, and keeps an `InstancePre` over the pooling allocator with
//!   copy-on-write memory: one per engine, one engine per core (see
//!   [`EngineOptions::engines`]), each thread making its runtimes on its
//!   own. It is `Send + Sync`.
//! - **[`Runtime`]**: one wasm instance of that snapshot: its own linear
//!   memory, so no JS state is shared between runtimes. `eval`, `call`,
//!   `require`; values come back as `serde_json::Value` or any `Deserialize`
//!   type. It is `Send`; dropping it frees its pool slot.
//! - **Batches**: [`Runtime::call_columns`] calls a function once per row
//!   of a batch in one guest call; the arguments cross as [`Columns`] in
//!   one binary buffer and the results come back as [`Cells`], one
//!   [`Cell`] per row (a row that throws fails alone). For engines that
//!   apply one function to many rows (`jsbox-datafusion`'s batch mode).
//! - **Native modules**: Rust functions JS reaches with
//!   `require("name").fn(...)`, through one host import; arguments and
//!   results cross as JSON.
//! - **Call log** ([`calllog`]): every JS→host and host→JS call, recorded per
//!   runtime into a sink the factory owns (SQLite, memory, or your own).
//! - **Limits and errors**: deadlines (epoch interruption), memory caps,
//!   fuel, size caps; every failure is a typed [`Error`], and nothing a
//!   script does can panic or abort the host.
//! - **[`open`]**: a factory and one runtime, the simple path.
//! - **Web platform globals**: scripts have `URL`, `URLSearchParams`,
//!   `URLPattern` (compiled on first use), `atob`, `btoa`, `structuredClone`, `crypto`, `performance`, `Event`,
//!   `EventTarget`, `AbortController`, `AbortSignal`, `DOMException`,
//!   `TextEncoder` and `TextDecoder`, installed in the snapshot; random
//!   bytes and the clock's origin are drawn per runtime, never baked in.
//!   `docs/web-platform.md` in the repository maps them against the
//!   WinterTC Minimum Common API.
//!
//! # Capabilities: `fs` and `exec`
//!
//! Scripts have no filesystem, no processes, no network and no environment
//! unless the embedder grants them. [`EngineOptions::allow_read`] and
//! [`EngineOptions::allow_write`] make the built-in `fs` module available,
//! confined to the granted directories:
//!
//! | JS | does |
//! |---|---|
//! | `readFileSync(path)` | the file's text (UTF-8) |
//! | `writeFileSync(path, text)` | creates or truncates the file (needs `allow_write`) |
//! | `readdirSync(path)` | the entry names, sorted |
//! | `existsSync(path)` | whether it exists |
//! | `mkdirSync(path, {recursive})` | creates a directory (needs `allow_write`) |
//!
//! [`EngineOptions::allow_exec`] makes `require('exec').run(program, args)`
//! available for the programs allowed by name (run directly, no shell;
//! returns `{ status, stdout, stderr }`).
//!
//! # Filesystem grants and paths
//!
//! jsbox follows the rule of Deno's `--allow-read` (and of Node, whose `fs`
//! resolves relative paths against the process's directory), so the
//! obvious code works:
//!
//! - **One working directory.** A factory's `fs` module has a working
//!   directory: the process's current directory when the factory is built
//!   (a later `chdir` does not move it), or [`EngineOptions::working_dir`].
//! - **Grants** are resolved against it: `.allow_read("examples/texts")`
//!   run from `/srv/app` grants `/srv/app/examples/texts` and everything
//!   beneath it.
//! - **Script paths** are resolved against it too: a script reads that grant
//!   as `examples/texts/a.txt` (the path the embedder used), as
//!   `/srv/app/examples/texts/a.txt`, or by its canonical path when the
//!   grant's path goes through a symlink. `./x`, `a/./b` and trailing
//!   slashes are fine.
//! - **The most specific grant** containing the path decides (a read-write
//!   grant inside a read-only one allows writes there).
//! - **Escapes are impossible**: a path outside every grant is
//!   [`Error::Denied`] (existence of such a path is not revealed either),
//!   and so is any path with a `..` component. The access itself goes
//!   through a directory handle opened when the factory was built
//!   (`cap-std`, the same mechanism as WASI's preopened directories), so a
//!   symlink inside a grant that points outside it is denied too.
//!
//! WASI preopens work differently: the guest sees each directory under a
//! name the host chooses, and its relative paths resolve against the guest's
//! own working directory. jsbox's guest has no WASI file descriptors at
//! all; the `fs` module's paths are host paths, so a plugin and its
//! embedder talk about the same files by the same names.
//!
//! ```
//! use jsbox::EngineOptions;
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("data/in"))?;
//! std::fs::write(root.path().join("data/in/a.txt"), "hello")?;
//! std::fs::write(root.path().join("secret.txt"), "no")?;
//!
//! let options = EngineOptions::new().working_dir(root.path()).allow_read("data/in");
//! let mut rt = jsbox::open(options)?;
//! // By the path as granted, relative to the working directory ...
//! assert_eq!(rt.eval_as::<Vec<String>>("require('fs').readdirSync('data/in')")?, ["a.txt"]);
//! // ... or by its absolute path.
//! let absolute = root.path().join("data/in/a.txt");
//! let read = format!("require('fs').readFileSync({:?}, 'utf8')", absolute.to_str().unwrap());
//! assert_eq!(rt.eval_as::<String>(&read)?, "hello");
//! // Outside the grant: denied, however it is spelled.
//! for path in ["secret.txt", "data/in/../../secret.txt", "/etc/passwd"] {
//!     let err = rt.eval(&format!("require('fs').readFileSync('{path}')")).unwrap_err();
//!     assert!(matches!(err, jsbox::Error::Denied(_)), "{path}: {err}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Event loop
//!
//! Each runtime has its own event loop, as a node process has: microtasks
//! and `queueMicrotask`, `setTimeout` / `setInterval` / `clearTimeout` /
//! `clearInterval`, and the promises of async native functions
//! ([`NativeModule::async_function`], [`NativeModule::raw_async`]). The
//! order is node's: a call's synchronous code, then its microtasks; then
//! timers by due time and creation (a delay under 1 ms is 1 ms), each
//! followed by its microtasks; then finished host calls, each followed by
//! its microtasks; then `MessagePort` messages, each followed by its
//! microtasks.
//!
//! The host drives the loop. When the value of `eval`, `call` or `require`
//! is a promise still pending, the guest returns to the host and says so;
//! the host waits, without the guest, until the next timer is due or an
//! async native call finishes, then re-enters the guest for one turn of the
//! loop, and so on until the promise settles. The guest never blocks or
//! spins; every entry is a short synchronous wasm call.
//!
//! - The sync calls ([`Runtime::eval`] ...) wait by blocking the calling
//!   thread; native futures and timers then run on a small process-wide
//!   tokio runtime (one thread, started on first use).
//! - The async calls ([`Runtime::eval_async`], [`Runtime::call_async`],
//!   [`Runtime::call_module_async`], [`Runtime::call_json_async`],
//!   [`Runtime::require_async`]) wait with `.await`, and native futures run
//!   on the caller's tokio runtime: a waiting runtime holds no thread, so a
//!   few threads keep thousands of runtimes waiting on host I/O.
//! - The call's deadline ([`Limits::timeout`]) covers the whole wait, and
//!   [`InterruptHandle::interrupt`] ends it: both are [`Error::Timeout`].
//!   A promise that nothing can settle any more (no timer keeping the loop
//!   alive, no host call in flight, no message on its way to a started
//!   `MessagePort`) is [`Error::NeverSettles`], never a hang.
//! - Timers and host calls belong to the runtime, in its own memory: a timer
//!   set by one call can fire while a later call of the same runtime waits,
//!   and all of them die with the runtime. Unlike a node process, which runs
//!   until its loop is empty, a call whose value is not a promise returns at
//!   once, leaving its timers pending.
//!
//! Why the host drives the loop, rather than running the guest on
//! wasmtime's async support (fibers): JS never blocks inside a call anyway,
//! it only waits between jobs, so the loop can live in the host without
//! suspending wasm. Guest calls stay plain synchronous calls, so the sync
//! API keeps its speed (no fiber switch per call, no async host imports);
//! a waiting runtime costs its pending futures, not a suspended native
//! stack per runtime; and waiting, deadlines and interrupts are ordinary
//! tokio futures the embedder can select on or drop.
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod abi;
mod cache;
pub mod capabilities;
pub mod calllog;
mod columns;
mod console;
mod engine;
mod error;
mod event_loop;
mod factory;
mod image;
mod imports;
mod limits;
pub mod manifest;
mod modules;
mod native;
mod options;
mod pool;
mod registry;
mod runtime;
mod shards;
mod snapshot;
mod state;
mod ticker;
pub mod types;

pub use columns::{Cell, Cells, Columns};
pub use calllog::{CallEntry, CallLogPolicy, CallLogSink, Direction, MemoryCallLog};
pub use console::{ConsoleLine, ConsoleOutput, LogLevel};
pub use engine::EngineInfo;
pub use error::{DenyReason, Error, JsException, Location, Result};
pub use factory::{open, CacheOutcome, EngineFactory, FactoryInfo};
pub use state::Clock;
pub use limits::{Limits, Stats};
pub use manifest::{Manifest, MANIFEST_VERSION};
pub use modules::{is_contained_name, is_es_module_file, DirLoader, DEFAULT_CONDITIONS};
pub use native::NativeModule;
/// The JSON Schema crate whose [`JsonSchema`](schemars::JsonSchema) trait typed native
/// functions need (see [`NativeModule`], "Types"), re-exported so that its
/// version is the one jsbox uses.
pub use schemars;
pub use capabilities::net;
pub use cache::CacheDir;
pub use options::{Compile, EngineOptions, ModulePolicy};
pub use registry::ModuleLoader;
pub use runtime::{InterruptHandle, Runtime};

/// The guest module jsbox embeds (for tools that inspect it).
pub fn guest_wasm() -> &'static [u8] {
    factory::GUEST
}

// The README's Rust blocks are doctests (a hidden first line moves them to
// the workspace root, where the files they read are).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Entry points for the fuzz targets (`fuzz/`); not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a guest answer at `retptr` in `memory` the way the host does;
    /// must never panic, whatever the bytes.
    pub fn decode(memory: &[u8], retptr: u32) -> bool {
        // Every answer shape: `result<string, js-error>`, the event loop's
        // `result<loop-state, js-error>`, `call-columns`'s
        // `result<list<u8>, js-error>` and the cells in it.
        let loop_state = crate::abi::decode_loop_state(memory, retptr).is_ok();
        let cells = match crate::abi::decode_bytes_result(memory, retptr) {
            Ok(Ok(bytes)) => crate::columns::scan(&bytes).is_ok(),
            _ => crate::columns::scan(memory).is_ok(),
        };
        crate::abi::decode_result(memory, retptr, true).is_ok() || loop_state || cells
    }

    /// The field offsets the host decodes a `js-error` record with, for the
    /// contract test.
    pub fn js_error_fields() -> &'static [(&'static str, usize)] {
        &crate::abi::JS_ERROR_FIELDS
    }

    /// The `init` payload's top-level keys and whether the guest reads
    /// each, for the contract test.
    pub fn init_payload_fields() -> Vec<(String, bool)> {
        crate::factory::payload::fields()
    }

    /// The built-in modules the host knows the guest implements, for the
    /// contract test.
    pub fn guest_builtins() -> &'static [&'static str] {
        crate::registry::GUEST_BUILTINS
    }
}
