//! Turning command-line flags into `jsbox::EngineOptions`: capabilities,
//! limits, call log, cache, and the plugin's module registry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use jsbox::{
    is_contained_name, is_es_module_file, CacheDir, DirLoader, CallLogPolicy, ConsoleOutput, EngineFactory, EngineOptions, Limits,
    ModulePolicy,
};

use crate::failure::usage;
use crate::names::{MAIN_EXPORT, MAIN_MODULE};

/// Flags shared by `run`, `batch`, `eval` and `repl`. Serialized (as JSON)
/// they identify a `batch --resume` job: a new flag changes results unless
/// marked `serde(skip)`.
#[derive(Args, Debug, Clone, Default, serde::Serialize)]
pub struct SandboxArgs {
    /// Grant `require('fs')` read access to DIR (repeatable). Relative paths,
    /// here and in the plugin's `fs` calls, are resolved against the current
    /// directory.
    #[arg(long, value_name = "DIR", help_heading = "Capabilities")]
    pub allow_read: Vec<PathBuf>,
    /// Grant `require('fs')` read and write access to DIR (repeatable).
    #[arg(long, value_name = "DIR", help_heading = "Capabilities")]
    pub allow_write: Vec<PathBuf>,
    /// Allow `require('exec').run(PROG, args)` for PROG (repeatable).
    #[arg(long, value_name = "PROG", help_heading = "Capabilities")]
    pub allow_exec: Vec<String>,
    /// Allow `fetch` to reach HOST (any port) or HOST:PORT (repeatable), as
    /// deno's `--allow-net`: `example.com`, `api.example.com:443`,
    /// `127.0.0.1:8080`, `[::1]:8080`, `localhost:3000`. Redirects are
    /// followed only to granted hosts; a hostname reaches public addresses
    /// only (grant the IP or `localhost` for loopback and private ones).
    #[arg(long, value_name = "HOST[:PORT]", help_heading = "Capabilities")]
    pub allow_net: Vec<String>,
    /// Only these modules may be required (repeatable). The plugin's own
    /// files, and `fs`/`exec` when granted, are always allowed. Without this
    /// flag every module is allowed.
    #[arg(long, value_name = "NAME", help_heading = "Capabilities")]
    pub allow_module: Vec<String>,

    /// package.json "exports" conditions to match when resolving imports,
    /// comma-separated (besides import/require and default; default:
    /// jsbox,worker,browser,module).
    #[arg(long, value_name = "LIST", value_delimiter = ',', help_heading = "Modules")]
    pub conditions: Vec<String>,
    /// Set `process.env.NAME` in the sandbox (repeatable), e.g.
    /// `--env NODE_ENV=production`; `process.env` is empty otherwise (the
    /// shell's environment never reaches the sandbox).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_env, help_heading = "Modules")]
    pub env: Vec<(String, String)>,

    /// Wall-time limit of one call, e.g. `5s`, `500ms`, `1m`; `0` for none.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, help_heading = "Limits")]
    pub timeout: Duration,
    /// Cap on the sandbox's memory: bytes, or with a KiB/MiB/GiB (or K/M/G)
    /// suffix.
    #[arg(long, value_name = "SIZE", default_value = "128MiB", value_parser = parse_size, help_heading = "Limits")]
    pub max_memory: usize,
    /// Instruction budget of one call (turns on fuel metering).
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub fuel: Option<u64>,

    /// Record every host call into this SQLite database (see `jsbox calllog`).
    #[arg(long, value_name = "FILE.sqlite")]
    #[serde(skip)]
    pub calllog: Option<PathBuf>,
    /// Commit (and fsync) each call's row before the call returns, instead
    /// of in batches every 50 ms / 1000 rows.
    #[arg(long, requires = "calllog")]
    #[serde(skip)]
    pub calllog_durable: bool,
    /// Directory of the compiled-snapshot cache (default: the user cache dir).
    #[arg(long, value_name = "DIR", env = "JSBOX_CACHE_DIR", help_heading = "Cache")]
    #[serde(skip)]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-snapshot cache.
    #[arg(long, help_heading = "Cache")]
    #[serde(skip)]
    pub no_cache: bool,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("'{s}' is not NAME=VALUE")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (try `5s` or `500ms`)"))
}

/// Bytes, or a number with a size suffix (binary: K, KiB, M, MiB, G, GiB;
/// decimal: KB, MB, GB).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{s}` is not a size (try `64MiB` or `1048576`)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    let bytes = number * factor;
    if !(1.0..=(1u64 << 40) as f64).contains(&bytes) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(bytes as usize)
}

impl SandboxArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            timeout: (!self.timeout.is_zero()).then_some(self.timeout),
            max_memory: self.max_memory,
            fuel: self.fuel,
            ..Limits::default()
        }
    }

    /// Options without any plugin: capabilities, limits, console, call log,
    /// cache. `extra_modules` are registry names the module policy must let
    /// through (the plugin's own files).
    pub fn options(&self, extra_modules: &BTreeSet<String>) -> EngineOptions {
        let mut o = EngineOptions::new()
            .console(ConsoleOutput::Stderr)
            .limits(self.limits())
            .fuel_metering(self.fuel.is_some());
        for dir in &self.allow_read {
            o = o.allow_read(dir);
        }
        for dir in &self.allow_write {
            o = o.allow_write(dir);
        }
        for prog in &self.allow_exec {
            o = o.allow_exec(prog);
        }
        for host in &self.allow_net {
            o = o.allow_net(host);
        }
        if !self.allow_module.is_empty() {
            let mut names: BTreeSet<String> = self.allow_module.iter().cloned().collect();
            names.extend(extra_modules.iter().cloned());
            if !self.allow_read.is_empty() || !self.allow_write.is_empty() {
                names.insert("fs".into());
            }
            if !self.allow_exec.is_empty() {
                names.insert("exec".into());
            }
            if !self.allow_net.is_empty() {
                // The module behind `fetch`.
                names.insert("jsbox:net".into());
            }
            o = o.module_policy(ModulePolicy::Allow(names));
        }
        if !self.conditions.is_empty() {
            o = o.conditions(self.conditions.iter().filter(|c| !c.is_empty()).cloned());
        }
        for (name, value) in &self.env {
            o = o.env(name, value);
        }
        if let Some(path) = &self.calllog {
            o = o.calllog(if self.calllog_durable {
                CallLogPolicy::SqliteDurable(path.clone())
            } else {
                CallLogPolicy::Sqlite(path.clone())
            });
        }
        o.cache(if self.no_cache {
            CacheDir::Off
        } else if let Some(dir) = &self.cache_dir {
            CacheDir::Path(dir.clone())
        } else {
            CacheDir::Default
        })
    }
}

/// A plugin file and how to call it.
pub struct Plugin {
    /// Its directory: relative requires are read from here.
    pub dir: PathBuf,
    /// `(module, function)` to call.
    pub target: (String, String),
    /// A CommonJS plugin (its top level runs when it is first required;
    /// an ES module's runs at build time).
    pub commonjs: bool,
}

impl Plugin {
    /// The factory for running the plugin in many fresh runtimes (`batch`):
    /// a CommonJS plugin's top level is run once, inside the snapshot, as an
    /// ES module's always is, so no runtime runs it again. A plugin whose
    /// top level cannot run at build time (it calls a native module, say)
    /// is built as it is instead, and loaded by each runtime.
    pub fn preloaded_factory(&self, options: EngineOptions) -> jsbox::Result<EngineFactory> {
        if !self.commonjs {
            return EngineFactory::new(options);
        }
        match EngineFactory::new(options.clone().preload(MAIN_MODULE)) {
            Ok(factory) => Ok(factory),
            // Its error, if it has one, comes from each runtime as before.
            Err(_) => EngineFactory::new(options),
        }
    }
}

/// The wrapper module: calls the plugin's function export.
fn wrapper(spec: &str, name: &str) -> Result<String> {
    Ok(format!(
        "const m = require({spec});\n\
         exports.{MAIN_EXPORT} = function (input) {{\n\
         \x20 if (typeof m === 'function') return m(input);\n\
         \x20 if (m && typeof m.default === 'function') return m.default(input);\n\
         \x20 if (m && typeof m.main === 'function') return m.main(input);\n\
         \x20 throw new TypeError({name_json} + ' exports no function (exports: ' + Object.keys(m || {{}}).join(', ') + '); pick one with --export NAME');\n\
         }};\n",
        spec = serde_json::to_string(spec)?,
        name_json = serde_json::to_string(name)?,
    ))
}

/// Builds the options for a plugin: the plugin file as a registry module
/// named by its file name, a wrapper module calling a function export, and a
/// loader that bakes every relatively required file at build time.
pub fn plugin_options(args: &SandboxArgs, path: &Path, export: Option<&str>) -> Result<(EngineOptions, Plugin)> {
    let source =
        std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read plugin {}: {e}", path.display())))?;
    // As node does for its entry point: the plugin's real path (symlinks
    // resolved) decides its directory, the root its modules are confined to.
    let real = std::fs::canonicalize(path).map_err(|e| usage(format!("cannot read plugin {}: {e}", path.display())))?;
    let name = real
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| is_contained_name(n) && *n != MAIN_MODULE)
        .ok_or_else(|| usage(format!("bad plugin file name: {}", path.display())))?
        .to_string();
    let dir = match real.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let spec = format!("./{name}");
    let wrapper = wrapper(&spec, &name)?;
    if is_es_module_file(&real) {
        // An ES module: resolved node's way under its directory (its
        // node_modules included), imported and evaluated at build time.
        let names: BTreeSet<String> = [MAIN_MODULE.to_string()].into();
        let options = args.options(&names).module_root(&dir).import(spec.clone()).module(MAIN_MODULE, wrapper);
        let target = match export {
            Some(e) => (spec, e.to_string()),
            None => (MAIN_MODULE.to_string(), MAIN_EXPORT.to_string()),
        };
        return Ok((options, Plugin { dir, target, commonjs: false }));
    }
    let load = DirLoader::open(&dir)?;
    let with_plugin = |o: EngineOptions| {
        o.module(name.clone(), source.clone()).module(MAIN_MODULE, wrapper.clone()).loader(load.clone())
    };
    // The module policy must name the plugin's own files (only needed with
    // --allow-module): ask the library which files the loader bakes in.
    let names: BTreeSet<String> = if args.allow_module.is_empty() {
        BTreeSet::new()
    } else {
        with_plugin(EngineOptions::new()).module_names()?.into_iter().collect()
    };
    let options = with_plugin(args.options(&names));
    let target = match export {
        Some(e) => (name, e.to_string()),
        None => (MAIN_MODULE.to_string(), MAIN_EXPORT.to_string()),
    };
    Ok((options, Plugin { dir, target, commonjs: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }
}
