//! Exit codes, error kinds and the way errors are printed.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | JS error: uncaught exception, syntax error, module not found, a native call that failed, a result that is not JSON, a promise that can never settle |
//! | 2 | bad usage: unknown flag, bad value, unreadable plugin or input, input that is not JSON |
//! | 3 | timeout (`--timeout`) |
//! | 4 | resource limit: out of memory (`--max-memory`), stack overflow, fuel exhausted (`--fuel`), value too large |
//! | 5 | denied: a capability that was not granted (fs path, exec program, a `fetch` to a host `--allow-net` does not grant, `fs`/`exec` without a grant), a module the policy denies, a module file reached through a symlink leading out of the plugin's directory |
//! | 6 | anything else (engine, cache, call log, I/O) |
//! | 7 | `batch --resume`: the existing output does not belong to this job |
//! | 8 | `batch --output`: another run is writing the same output (it holds its lock) |

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use jsbox::{DenyReason, Error};

pub const JS_ERROR: u8 = 1;
pub const USAGE: u8 = 2;
pub const TIMEOUT: u8 = 3;
pub const RESOURCE: u8 = 4;
pub const DENIED: u8 = 5;
pub const OTHER: u8 = 6;
pub const RESUME: u8 = 7;
pub const BUSY: u8 = 8;

/// A usage problem found after argument parsing (unreadable plugin, input
/// that is not JSON ...): exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Shorthand for a usage error as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// An error with its exit code and a one-line message: how a subcommand
/// hands its own errors (`sql`'s, `batch`'s resume and lock) to [`exit`].
#[derive(Debug)]
pub struct Failed {
    pub code: u8,
    /// Printed as `error[kind]:` when set.
    pub kind: Option<&'static str>,
    pub message: String,
}

impl Failed {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failed { code, kind: None, message: message.into() }
    }

    /// With a kind, printed as `error[kind]: message`.
    pub fn kind(code: u8, kind: &'static str, message: impl Into<String>) -> Self {
        Failed { code, kind: Some(kind), message: message.into() }
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failed {}

/// The directory of the plugin being run, so error locations inside
/// registry modules (`/plugin.js`) print as real paths.
static PLUGIN_DIR: OnceLock<PathBuf> = OnceLock::new();

pub fn set_plugin_dir(dir: &Path) {
    let _ = PLUGIN_DIR.set(dir.to_path_buf());
}

/// A capability module (`fs`, `exec`) required without a grant, or a
/// request no grant covers: the library names the module or the grant key;
/// the CLI adds a hint naming the flags that grant it (`--allow-read DIR or
/// --allow-write DIR`, `--allow-net 127.0.0.1:8080`).
fn missing_capability(e: &Error) -> Option<String> {
    match e {
        Error::NotGranted { grant, wanted, .. } => Some(format!("--allow-{grant} {wanted}")),
        Error::ModuleDenied { module, reason: DenyReason::NotGranted } => {
            let capability = jsbox::capabilities::by_module(module)?;
            let flags: Vec<String> =
                capability.grants.iter().map(|g| format!("--allow-{} {}", g.key, g.value_name)).collect();
            Some(flags.join(" or "))
        }
        _ => None,
    }
}

/// The exit code for a library error.
pub fn code(e: &Error) -> u8 {
    if missing_capability(e).is_some() {
        return DENIED;
    }
    match e {
        // A grant that does not parse, or a key no capability owns.
        Error::InvalidOptions { option: "allow_net" | "grant", .. } => USAGE,
        Error::InvalidManifest { .. } => USAGE,
        Error::Exception(_) | Error::Syntax { .. } | Error::ModuleNotFound(_) | Error::Host { .. } => JS_ERROR,
        Error::InvalidValue(_) | Error::NeverSettles | Error::NondeterministicBuild { .. } => JS_ERROR,
        Error::TypeScriptUnsupported { .. } => JS_ERROR,
        Error::Timeout(_) => TIMEOUT,
        Error::OutOfMemory { .. } | Error::StackOverflow | Error::FuelExhausted(_) | Error::TooLarge { .. } => RESOURCE,
        Error::Denied(_) | Error::NotGranted { .. } | Error::ModuleDenied { .. } | Error::ModuleRefused { .. } => DENIED,
        _ => OTHER,
    }
}

/// A short machine-readable kind (used in `batch` error lines).
pub fn kind(e: &Error) -> &'static str {
    if missing_capability(e).is_some() {
        return "denied";
    }
    match e {
        Error::Exception(_) => "exception",
        Error::Syntax { .. } => "syntax",
        Error::TypeScriptUnsupported { .. } => "typescript_unsupported",
        Error::ModuleNotFound(_) => "module_not_found",
        Error::ModuleDenied { .. } => "module_denied",
        Error::ModuleRefused { .. } => "module_refused",
        Error::Denied(_) | Error::NotGranted { .. } => "denied",
        Error::Host { .. } => "host",
        Error::Timeout(_) => "timeout",
        Error::OutOfMemory { .. } => "out_of_memory",
        Error::StackOverflow => "stack_overflow",
        Error::FuelExhausted(_) => "fuel_exhausted",
        Error::TooLarge { .. } => "too_large",
        Error::InvalidValue(_) => "invalid_value",
        Error::NeverSettles => "never_settles",
        Error::Cancelled => "cancelled",
        Error::NondeterministicBuild { .. } => "nondeterministic_build",
        Error::InvalidManifest { .. } => "invalid_manifest",
        Error::Trap(_) => "trap",
        Error::Poisoned(_) => "poisoned",
        Error::Capacity(_) | Error::CapacityTimeout { .. } => "capacity",
        _ => "internal",
    }
}

/// A one-line message (used in `batch` error lines).
pub fn message(e: &Error) -> String {
    if let Some(hint) = missing_capability(e) {
        return format!("{e} (capability not granted; pass {hint})");
    }
    match e {
        Error::Exception(x) if x.name.is_empty() => x.message.clone(),
        Error::Exception(x) => format!("{}: {}", x.name, x.message),
        Error::Syntax { message, .. } => format!("SyntaxError: {message}"),
        other => other.to_string(),
    }
}

/// `file:line:column` with registry names mapped to the plugin's directory.
fn location(loc: &jsbox::Location) -> Option<String> {
    if loc.file.is_empty() && loc.line == 0 {
        return None;
    }
    let name = loc.file.trim_start_matches('/');
    let file = match PLUGIN_DIR.get() {
        Some(dir) if !name.is_empty() && !name.starts_with('<') && dir.join(name).is_file() => {
            dir.join(name).display().to_string()
        }
        _ => loc.file.clone(),
    };
    Some(format!("{file}:{}:{}", loc.line, loc.column))
}

/// Prints a library error to stderr: name and message, location, stack.
pub fn report(e: &Error) {
    let mut out = format!("error[{}]: {}\n", kind(e), message(e));
    match e {
        Error::Exception(x) => {
            if let Some(at) = location(&x.location) {
                out.push_str(&format!("  --> {at}\n"));
            }
            let stack = x.stack.trim_end();
            if !stack.is_empty() {
                out.push_str("stack:\n");
                for line in stack.lines().filter(|l| !l.contains(crate::names::MAIN_MODULE)) {
                    out.push_str(&format!("    {}\n", line.trim_start()));
                }
            }
        }
        Error::Syntax { location: loc, .. } => {
            if let Some(at) = location(loc) {
                out.push_str(&format!("  --> {at}\n"));
            }
        }
        Error::TypeScriptUnsupported { file, line, column, .. } => {
            let loc = jsbox::Location { file: file.clone(), line: *line, column: *column };
            if let Some(at) = location(&loc) {
                out.push_str(&format!("  --> {at}\n"));
            }
        }
        _ => {}
    }
    eprint!("{out}");
}

/// Prints any error and gives the process exit code.
pub fn exit(err: anyhow::Error) -> ExitCode {
    if let Some(e) = err.downcast_ref::<Error>() {
        report(e);
        return ExitCode::from(code(e));
    }
    if let Some(f) = err.downcast_ref::<Failed>() {
        match f.kind {
            Some(kind) => eprintln!("error[{kind}]: {}", f.message),
            None => eprintln!("error: {}", f.message),
        }
        return ExitCode::from(f.code);
    }
    if let Some(u) = err.downcast_ref::<Usage>() {
        eprintln!("error[usage]: {u}");
        eprintln!("\nFor more information, try '--help'.");
        return ExitCode::from(USAGE);
    }
    eprintln!("error[internal]: {err:#}");
    ExitCode::from(OTHER)
}
