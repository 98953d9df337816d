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
//! let mut runtime = factory.new_runtime()?;         // per task: about a microsecond
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
//! - **[`EngineOptions`]**: what goes into a factory: the registry of JS
//!   modules (sources, directories, loaders), init scripts, [`NativeModule`]s,
//!   capability grants (`fs`, `exec`, net for `fetch`: see [`native::net`]), the [`ModulePolicy`], the console and
//!   call-log policies, [`Limits`] and the disk cache.
//! - **[`EngineFactory`]**: does the expensive work once. It runs the guest's
//!   `init` with the registry and snapshots the result with Wizer (the
//!   registry is compiled, and preloaded modules evaluated, inside the memory
//!   image), compiles the snapshot with Cranelift, caches the compiled module
//!   on disk, and keeps an `InstancePre` over the pooling allocator with
//!   copy-on-write memory. It is `Send + Sync`.
//! - **[`Runtime`]**: one wasm instance of that snapshot: its own linear
//!   memory, so no JS state is shared between runtimes. `eval`, `call`,
//!   `require`; values come back as `serde_json::Value` or any `Deserialize`
//!   type. It is `Send`; dropping it frees its pool slot.
//! - **Native modules**: Rust functions JS reaches with
//!   `require("name").fn(...)`, through one host import; arguments and
//!   results cross as JSON.
//! - **Call log** ([`calllog`]): every JS→host and host→JS call, recorded per
//!   runtime into a sink the factory owns (SQLite, memory, or your own).
//! - **Limits and errors**: deadlines (epoch interruption), memory caps,
//!   fuel, size caps; every failure is a typed [`Error`], and nothing a
//!   script does can panic or abort the host.
//! - **[`open`]**: a factory and one runtime, the simple path.
#![deny(missing_docs)]

mod abi;
pub mod cache;
pub mod calllog;
mod console;
mod engine;
mod error;
mod event_loop;
mod factory;
mod imports;
mod limits;
mod modules;
pub mod native;
mod options;
mod pool;
mod registry;
mod runtime;
mod snapshot;
mod state;
mod ticker;

pub use calllog::{CallEntry, CallLogPolicy, CallLogSink, Direction, MemoryCallLog};
pub use console::{ConsoleLine, ConsoleOutput, LogLevel};
pub use engine::EngineInfo;
pub use error::{Error, JsException, Location, Result};
pub use factory::{open, CacheOutcome, EngineFactory, FactoryInfo};
pub use state::Clock;
pub use limits::{Limits, Stats};
pub use modules::DEFAULT_CONDITIONS;
pub use native::NativeModule;
pub use options::{CacheDir, EngineOptions, ModulePolicy};
pub use registry::ModuleLoader;
pub use runtime::{InterruptHandle, Runtime};

/// The guest module jsbox embeds (for tools that inspect it).
pub fn guest_wasm() -> &'static [u8] {
    factory::GUEST
}

/// Entry points for the fuzz targets (`fuzz/`); not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a guest answer at `retptr` in `memory` the way the host does;
    /// must never panic, whatever the bytes.
    pub fn decode(memory: &[u8], retptr: u32) -> bool {
        crate::abi::decode_result(memory, retptr, true).is_ok()
    }
}
