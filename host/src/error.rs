//! The error type at jsbox's public boundary.

use std::fmt;

/// Where in the source a JS error points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file (script name or module path); empty when unknown.
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a module is denied ([`Error::ModuleDenied`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DenyReason {
    /// The [`crate::ModulePolicy`] does not allow it.
    #[error("is denied by the module policy")]
    Policy,
    /// A built-in whose capability was not granted (`fs` without a read or
    /// write grant, `exec` without a program).
    #[error("needs a capability the embedder did not grant")]
    NotGranted,
}

/// A value thrown in JS and not caught.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsException {
    /// The error's `name` (`TypeError`, ...); empty when the thrown value
    /// was not an `Error`.
    pub name: String,
    /// The message, or the thrown value as text.
    pub message: String,
    /// The JS stack trace (QuickJS format, one `at ...` frame a line).
    pub stack: String,
    /// Where it was thrown, from the first frame with a location.
    pub location: Location,
}

impl fmt::Display for JsException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.name, self.message)?;
        }
        if self.location.line > 0 {
            write!(f, " (at {})", self.location)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in jsbox.
///
/// Script failures (`Exception`, `Syntax`, `ModuleNotFound`, ...) leave the
/// runtime usable. Limit hits (`Timeout`, `OutOfMemory`, `StackOverflow`,
/// `FuelExhausted`) and `Trap` stop the guest mid-flight: the runtime is then
/// poisoned and every later call returns [`Error::Poisoned`]. Nothing a
/// script does can bring down the host process or the factory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A JS exception: message, stack and location.
    #[error("uncaught exception: {0}")]
    Exception(Box<JsException>),
    /// The source does not parse.
    #[error("syntax error: {message} (at {location})")]
    Syntax {
        /// The parser's message.
        message: String,
        /// Where the parser stopped.
        location: Location,
    },
    /// A TypeScript module uses syntax that cannot be erased: it has runtime
    /// semantics, so stripping the types would change the program. The
    /// constructs node's `--experimental-strip-types` refuses (`enum`,
    /// `const enum`, a namespace holding values, a constructor parameter
    /// property, `import x = require(...)`, `export =`) and decorators.
    /// Write them as JavaScript (an object for an enum, a field assigned in
    /// the constructor ...) or compile the module with `tsc` first.
    #[error(
        "TypeScript {construct} at {file}:{line}:{column} cannot be stripped: it is not type-only syntax \
         (jsbox strips types as node's --experimental-strip-types does, without compiling)"
    )]
    TypeScriptUnsupported {
        /// The construct (`enum`, `namespace with values`, `parameter
        /// property`, `decorator` ...).
        construct: String,
        /// The module's path (under the module root, with a leading `/`,
        /// or its registry name).
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
    },
    /// `require` of a module that is neither in the registry, nor a native
    /// module, nor a built-in.
    #[error("module not found: {0}")]
    ModuleNotFound(String),
    /// `require` or `import` of a module the sandbox does not allow.
    #[error("module '{module}' {reason}")]
    ModuleDenied {
        /// The module as the script named it (`fs`, `node:fs`, `lodash`).
        module: String,
        /// Why it is denied.
        reason: DenyReason,
    },
    /// A module file the sandbox refused to read while building: its path
    /// leads out of the module root (a symlink to a file or directory
    /// outside it, or to `/proc`), as `fs` refuses such paths. Nothing of
    /// the file's content is read.
    #[error("module {module} refused: {reason}")]
    ModuleRefused {
        /// The module (its specifier or registry name).
        module: String,
        /// Why, with the path that led out.
        reason: String,
    },
    /// A capability refused what a script asked for (an `fs` path outside
    /// the granted directories, a redirect to a non-public address ...).
    #[error("capability denied: {0}")]
    Denied(String),
    /// A capability's grants do not cover what a script asked for: `fetch`
    /// of a host no `net` grant names, `exec` of a program no `exec` grant
    /// names. `grant` is the key whose value would allow it
    /// ([`crate::EngineOptions::grant`], a manifest's `[grants]`; the CLI
    /// names its `--allow-KEY` flag).
    #[error("capability denied: {grant}: {wanted} is not granted ({detail})")]
    NotGranted {
        /// The grant key (`net`, `exec`).
        grant: &'static str,
        /// What was asked for, as a grant value would name it
        /// (`127.0.0.1:8080`, `git`).
        wanted: String,
        /// What is granted (`net grant: none`), and how the request came
        /// about when that matters (a redirect).
        detail: String,
    },
    /// A native (host) function failed. Inside JS this is a catchable
    /// exception; it reaches Rust when JS does not catch it.
    #[error("host function {module}.{function} failed: {message}")]
    Host {
        /// The native module.
        module: String,
        /// The function.
        function: String,
        /// The host's message.
        message: String,
    },
    /// The value awaited by a call is a promise that can never settle: it
    /// is pending, and no timer and no async host call is left that could
    /// settle it (node would exit with it pending). The runtime stays usable.
    #[error("the awaited promise can never settle: no timer and no host call is pending")]
    NeverSettles,
    /// The future of an async call (`eval_async`, `call_async`, ...) was
    /// dropped before the call finished. Only the call log sees it (the
    /// call's row has this error): there is no caller left to return it to.
    #[error("the call was cancelled: its future was dropped before it finished")]
    Cancelled,
    /// The call ran past its deadline, or was cancelled.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The guest hit its memory cap.
    #[error("out of memory (the limit is {limit} bytes)")]
    OutOfMemory {
        /// The configured cap on the guest's linear memory.
        limit: usize,
    },
    /// Unbounded recursion exhausted the stack.
    #[error("stack overflow")]
    StackOverflow,
    /// The call used up its fuel (instruction budget).
    #[error("fuel exhausted (budget {0})")]
    FuelExhausted(u64),
    /// A value crossing the boundary is larger than its limit.
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// What was too large (source, result, console output ...).
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A value did not convert (not JSON, not the requested Rust type, a
    /// function that does not exist ...).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// The guest trapped (a bug in the guest or the engine, not in the
    /// script); the runtime is poisoned.
    #[error("the guest trapped: {0}")]
    Trap(String),
    /// The runtime stopped on an earlier limit or trap and cannot run more
    /// code. Create a new one: it is cheap.
    #[error("runtime is unusable after an earlier {0}")]
    Poisoned(String),
    /// Every slot of the factory's instance pool is taken by a live runtime
    /// (see [`crate::EngineOptions::max_runtimes`]).
    #[error("all {0} runtime slots are in use")]
    Capacity(u32),
    /// No runtime slot came free within the time
    /// [`crate::EngineFactory::new_runtime_timeout`] was given.
    #[error("all {slots} runtime slots stayed in use for {waited:?}")]
    CapacityTimeout {
        /// The size of the pool.
        slots: u32,
        /// How long the caller waited.
        waited: std::time::Duration,
    },
    /// Code of the embedder's modules, preloads, init scripts or imports
    /// read the clock or the random source while the factory's snapshot
    /// was built: the value would be the same in every runtime. Read it
    /// inside a function called at run time, or allow it with
    /// [`crate::EngineOptions::allow_nondeterministic_build`].
    #[error(
        "{what} read at build time by a module's top level or an init script: the value would be baked into every \
         runtime's snapshot (read it inside a function, or allow it with EngineOptions::allow_nondeterministic_build)"
    )]
    NondeterministicBuild {
        /// What was read.
        what: &'static str,
    },
    /// An option given to the factory (or a runtime) is not valid.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOptions {
        /// The option, as the builder method names it (`allow_net`,
        /// `max_runtimes`, ...).
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A [`crate::Manifest`] that cannot be read: a key unknown or of the
    /// wrong type, an unsupported version, an unreadable file.
    #[error("invalid manifest{}: {reason}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    InvalidManifest {
        /// The manifest file, when it was read from one.
        path: Option<std::path::PathBuf>,
        /// What is wrong (the parser's message, with the key and line).
        reason: String,
    },
    /// The compiled-module cache could not be read or written (a corrupt
    /// entry is not an error: it is rebuilt).
    #[error("cache error: {0}")]
    Cache(String),
    /// The call log could not be written or read.
    #[error("calllog error: {0}")]
    CallLog(String),
    /// Building the factory failed (compile, snapshot, instantiate).
    #[error("engine error: {0}")]
    Engine(String),
    /// An I/O error reading options (a module directory, a plugin file).
    #[error("{context}: {source}")]
    Io {
        /// What was being read.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The JS exception, when this is one.
    pub fn as_exception(&self) -> Option<&JsException> {
        match self {
            Error::Exception(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the error stopped the guest (the runtime is then poisoned).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::Timeout(_)
                | Error::OutOfMemory { .. }
                | Error::StackOverflow
                | Error::FuelExhausted(_)
                | Error::Trap(_)
                | Error::Poisoned(_)
        )
    }

    pub(crate) fn engine(e: impl fmt::Display) -> Self {
        Error::Engine(format!("{e:#}"))
    }
}

/// `Result` with jsbox's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
