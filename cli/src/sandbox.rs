//! Turning command-line flags (and a `--manifest`) into a `jsbox::Manifest`
//! and `jsbox::EngineOptions`, and the plugin's module registry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use jsbox::capabilities;
use jsbox::manifest::{self, CallLog, Grants, Manifest};
use jsbox::{is_contained_name, is_es_module_file, CacheDir, ConsoleOutput, DirLoader, EngineFactory, EngineOptions};

use crate::failure::usage;
use crate::names::{MAIN_EXPORT, MAIN_MODULE};

/// Flags shared by `run`, `batch`, `eval`, `repl`, `types` and `sql`: a
/// manifest file and flags that add to it. Together they make one
/// [`Manifest`], the sandbox's description (`batch --resume` keys a job by
/// its fingerprint).
#[derive(Args, Debug, Clone, Default)]
pub struct SandboxArgs {
    /// Read the sandbox (plugin, grants, modules, limits, call log, cache)
    /// from this manifest: a `jsbox.toml`, a `.json` file, or a
    /// `package.json`'s `jsbox` key. Flags add grants to it and override its
    /// other values; its relative paths are relative to its directory.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// `--allow-read`, `--allow-write`, `--allow-exec`, `--allow-net`: one
    /// flag per capability grant key.
    #[command(flatten)]
    pub grants: GrantArgs,
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

    /// Wall-time limit of one call, e.g. `5s`, `500ms`, `1m`; `0` for none
    /// [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = manifest::parse_duration, help_heading = "Limits")]
    pub timeout: Option<Duration>,
    /// Cap on the sandbox's memory: bytes, or with a KiB/MiB/GiB (or K/M/G)
    /// suffix [default: 128MiB].
    #[arg(long, value_name = "SIZE", value_parser = manifest::parse_size, help_heading = "Limits")]
    pub max_memory: Option<usize>,
    /// Instruction budget of one call (turns on fuel metering).
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub fuel: Option<u64>,

    /// Record every host call into this SQLite database (see `jsbox calllog`).
    #[arg(long, value_name = "FILE.sqlite")]
    pub calllog: Option<PathBuf>,
    /// Commit (and fsync) each call's row before the call returns, instead
    /// of in batches every 50 ms / 1000 rows.
    #[arg(long)]
    pub calllog_durable: bool,
    /// Directory of the compiled-snapshot cache (default: the user cache dir).
    #[arg(long, value_name = "DIR", env = "JSBOX_CACHE_DIR", help_heading = "Cache")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-snapshot cache.
    #[arg(long, help_heading = "Cache")]
    pub no_cache: bool,
}

/// The grant flags: `--allow-KEY VALUE` (repeatable) for every grant key
/// of every capability (`jsbox::capabilities`), so a new capability has
/// its flag without a change here.
#[derive(Debug, Clone, Default)]
pub struct GrantArgs(pub Grants);

fn grant_arg_id(key: &str) -> String {
    format!("allow_{key}")
}

impl clap::FromArgMatches for GrantArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut grants = Grants::new();
        for key in capabilities::grant_keys() {
            for value in matches.get_many::<String>(&grant_arg_id(key.key)).into_iter().flatten() {
                grants.add(key.key, value);
            }
        }
        Ok(GrantArgs(grants))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for GrantArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        capabilities::grant_keys().fold(cmd, |cmd, key| {
            cmd.arg(
                clap::Arg::new(grant_arg_id(key.key))
                    .long(format!("allow-{}", key.key))
                    .value_name(key.value_name)
                    .action(clap::ArgAction::Append)
                    .help(format!("{} Repeatable.", key.help))
                    .help_heading("Capabilities"),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("'{s}' is not NAME=VALUE")),
    }
}

impl SandboxArgs {
    /// The sandbox these flags describe: the `--manifest` file (if any),
    /// with the flags' grants added and their values put over its own.
    /// The console goes to stderr unless the manifest says otherwise.
    pub fn manifest(&self) -> Result<Manifest> {
        self.over(self.file()?)
    }

    /// The `--manifest` file as it is (an empty manifest without one).
    pub fn file(&self) -> Result<Manifest> {
        Ok(match &self.manifest {
            Some(path) => Manifest::load(path)?,
            None => Manifest::new(),
        })
    }

    /// `m` with these flags put over it (see [`SandboxArgs::manifest`]).
    pub fn over(&self, mut m: Manifest) -> Result<Manifest> {
        m.console.get_or_insert(ConsoleOutput::Stderr);
        // Absolute, as a manifest file's are: a sandbox has one identity
        // (`batch --resume`) whichever way its grants were written.
        let mut grants = self.grants.0.clone();
        grants.join_paths(&std::env::current_dir()?);
        m.grants.extend(&grants);
        m.modules.allow.extend(self.allow_module.iter().cloned());
        if !self.conditions.is_empty() {
            m.modules.conditions = self.conditions.clone();
        }
        m.modules.env.extend(self.env.iter().cloned());
        if let Some(timeout) = self.timeout {
            m.limits.timeout = Some(timeout);
        }
        if let Some(bytes) = self.max_memory {
            m.limits.max_memory = Some(bytes);
        }
        if let Some(fuel) = self.fuel {
            m.limits.fuel = Some(fuel);
        }
        if let Some(path) = &self.calllog {
            m.calllog = Some(CallLog::new(path));
        }
        if self.calllog_durable {
            let log = m.calllog.as_mut().ok_or_else(|| usage("--calllog-durable needs a call log (--calllog FILE)"))?;
            log.durable = true;
        }
        if self.no_cache {
            m.cache = CacheDir::Off;
        } else if let Some(dir) = &self.cache_dir {
            m.cache = CacheDir::Path(dir.clone());
        }
        Ok(m)
    }

    /// Options without any plugin: capabilities, limits, console, call log,
    /// cache.
    pub fn options(&self) -> Result<EngineOptions> {
        Ok(self.manifest()?.engine_options(&BTreeSet::new())?)
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
    /// ES module's always is, so no runtime runs it again; one whose top
    /// level cannot run at build time (it calls a native module, say) is
    /// loaded by each runtime ([`EngineOptions::try_preload`]).
    pub fn preloaded_factory(&self, options: EngineOptions) -> jsbox::Result<EngineFactory> {
        EngineFactory::new(if self.commonjs { options.try_preload(MAIN_MODULE) } else { options })
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
///
/// The plugin and export are the command line's, else the manifest's.
pub fn plugin_options(args: &SandboxArgs, path: Option<&Path>, export: Option<&str>) -> Result<(EngineOptions, Plugin, Manifest)> {
    let manifest = args.manifest()?;
    let path = path
        .or(manifest.plugin.as_deref())
        .ok_or_else(|| usage("no plugin: name a PLUGIN.js file, or `plugin` in the --manifest"))?
        .to_path_buf();
    let path = path.as_path();
    let export = export.or(manifest.export.as_deref());
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
        let options = manifest.engine_options(&names)?.module_root(&dir).import(spec.clone()).module(MAIN_MODULE, wrapper);
        let target = match export {
            Some(e) => (spec, e.to_string()),
            None => (MAIN_MODULE.to_string(), MAIN_EXPORT.to_string()),
        };
        return Ok((options, Plugin { dir, target, commonjs: false }, manifest));
    }
    let load = DirLoader::open(&dir)?;
    let with_plugin = |o: EngineOptions| {
        o.module(name.clone(), source.clone()).module(MAIN_MODULE, wrapper.clone()).loader(load.clone())
    };
    // The module policy must name the plugin's own files (only needed with
    // --allow-module): ask the library which files the loader bakes in.
    let names: BTreeSet<String> = if manifest.modules.allow.is_empty() {
        BTreeSet::new()
    } else {
        with_plugin(EngineOptions::new()).module_names()?.into_iter().collect()
    };
    let options = with_plugin(manifest.engine_options(&names)?);
    let target = match export {
        Some(e) => (name, e.to_string()),
        None => (MAIN_MODULE.to_string(), MAIN_EXPORT.to_string()),
    };
    Ok((options, Plugin { dir, target, commonjs: true }, manifest))
}
