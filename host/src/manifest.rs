//! The plugin manifest: one plain-data description of a sandbox (which
//! plugin, its grants, module rules, limits, call log, cache), read from a
//! `jsbox.toml`, a `jsbox` key in `package.json`, or built in code, and
//! turned into [`EngineOptions`]. The CLI's flags, `jsbox sql` and
//! jsbox-datafusion's plans (on Ballista, every executor) all carry this
//! one type, so a sandbox means the same thing at every edge.
//!
//! A manifest holds only data: native modules and loaders, which are code,
//! are added to the [`EngineOptions`] it makes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::capabilities::Grants;
use crate::cache::CacheDir;
use crate::calllog::CallLogPolicy;
use crate::console::ConsoleOutput;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::options::{EngineOptions, ModulePolicy};

/// The manifest format this crate reads and writes ([`Manifest::version`]).
pub const MANIFEST_VERSION: u32 = 1;

/// A sandbox described as data.
///
/// In TOML (`jsbox.toml`; every key is optional):
///
/// ```toml
/// version = 1
/// plugin = "plugin.js"
/// export = "main"
/// console = "stderr"
///
/// [grants]
/// read = ["data"]
/// exec = ["git"]
/// net = ["api.example.com"]
///
/// [modules]
/// conditions = ["worker", "browser"]
/// env = { NODE_ENV = "production" }
///
/// [limits]
/// timeout = "5s"
/// max-memory = "64MiB"
///
/// [calllog]
/// path = "calls.sqlite"
/// ```
///
/// The `[grants]` keys are the capabilities' grant keys
/// ([`crate::capabilities`]), each a list of values. Unknown keys are
/// errors (a misspelt grant must not pass silently), and
/// so is a `version` other than [`MANIFEST_VERSION`]. Relative paths in a
/// manifest file are relative to the file's directory. The JSON Schema is
/// [`Manifest::json_schema`] (published as `docs/manifest.schema.json`).
///
/// # Examples
///
/// ```
/// use jsbox::Manifest;
///
/// let manifest = Manifest::from_toml(r#"
///     [grants]
///     exec = ["git"]
///     [limits]
///     max-memory = "64MiB"
///     [modules]
///     env = { NODE_ENV = "production" }
/// "#)?;
/// assert_eq!(manifest.limits.max_memory, Some(64 << 20));
/// assert_eq!(manifest.grants.get("exec"), ["git"]);
/// let options = manifest.engine_options(&Default::default())?.module("m", "exports.env = () => process.env.NODE_ENV;");
/// let mut rt = jsbox::open(options)?;
/// assert_eq!(rt.eval_as::<String>("require('m').env()")?, "production");
/// # Ok::<(), jsbox::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    title = "jsbox manifest",
    description = "A jsbox sandbox (jsbox.toml, or a package.json's `jsbox` key): plugin, grants, modules, limits, call log, cache. Relative paths are relative to the file."
)]
#[non_exhaustive]
pub struct Manifest {
    /// The format's version: [`MANIFEST_VERSION`] (the default).
    #[serde(default = "current_version")]
    pub version: u32,
    /// The plugin file (for `jsbox run` and `batch` when no file is named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PathBuf>,
    /// The export to call instead of the plugin's function export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<String>,
    /// What the plugin may reach.
    #[serde(default, skip_serializing_if = "is_default")]
    pub grants: Grants,
    /// How modules are resolved and which may load.
    #[serde(default, skip_serializing_if = "is_default")]
    pub modules: Modules,
    /// Per-call limits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub limits: ManifestLimits,
    /// Where host calls are recorded (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calllog: Option<CallLog>,
    /// The compiled-snapshot cache: `"default"`, `"off"` or `{ path = "DIR" }`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub cache: CacheDir,
    /// Where the plugin's `console.*` goes: `"discard"`, `"stderr"`,
    /// `"inherit"` or `"capture"`; unset, the embedder's choice (the
    /// library discards it, the CLI writes it to stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<ConsoleOutput>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn current_version() -> u32 {
    MANIFEST_VERSION
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: MANIFEST_VERSION,
            plugin: None,
            export: None,
            grants: Grants::default(),
            modules: Modules::default(),
            limits: ManifestLimits::default(),
            calllog: None,
            cache: CacheDir::Default,
            console: None,
        }
    }
}

/// Module resolution and the module allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Modules {
    /// When not empty, the only modules `require`/`import` may load; the
    /// plugin's own files and the granted built-ins are always allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// package.json `exports` conditions ([`EngineOptions::conditions`]);
    /// empty for [`crate::DEFAULT_CONDITIONS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// `process.env` in the sandbox ([`EngineOptions::env`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The limits a manifest sets; what it leaves out is [`Limits::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ManifestLimits {
    /// Wall time of one call, as text (`"5s"`, `"500ms"`); `"0"` for none.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Cap on the sandbox's memory: bytes, or text with a unit (`"64MiB"`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "size_text")]
    #[schemars(with = "Option<SizeSchema>")]
    pub max_memory: Option<usize>,
    /// Instruction budget of one call (turns fuel metering on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

/// The call log a manifest asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CallLog {
    /// The SQLite database every host call is recorded into.
    pub path: PathBuf,
    /// Commit (and fsync) each row before the call returns
    /// ([`CallLogPolicy::SqliteDurable`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub durable: bool,
}

impl CallLog {
    /// A call log into `path`, committed in batches.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CallLog { path: path.into(), durable: false }
    }
}

/// A size in the schema: bytes, or text with a unit.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum SizeSchema {
    Bytes(u64),
    Text(String),
}

impl ManifestLimits {
    /// The [`Limits`] these stand for.
    pub fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            timeout: match self.timeout {
                Some(t) if t.is_zero() => None,
                Some(t) => Some(t),
                None => defaults.timeout,
            },
            max_memory: self.max_memory.unwrap_or(defaults.max_memory),
            fuel: self.fuel,
            ..defaults
        }
    }
}

impl Manifest {
    /// An empty manifest: no plugin, no grants, default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a manifest from TOML text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidManifest`] naming the key (and line) at fault.
    pub fn from_toml(text: &str) -> Result<Self> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| invalid(None, e.to_string()))?;
        manifest.checked(None)
    }

    /// Reads a manifest from JSON text (the schema's form).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidManifest`].
    pub fn from_json(text: &str) -> Result<Self> {
        let manifest: Manifest = serde_json::from_str(text).map_err(|e| invalid(None, e.to_string()))?;
        manifest.checked(None)
    }

    /// Reads a manifest file: `*.toml` as TOML, `package.json` by its
    /// `jsbox` key, any other `*.json` as JSON. Its relative paths are made
    /// relative to the file's directory.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidManifest`] naming the file: unreadable, not valid,
    /// or a `package.json` without a `jsbox` key.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let at = |reason: String| invalid(Some(path), reason);
        let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read it: {e}")))?;
        let is = |ext: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext));
        let manifest: Manifest = if path.file_name().is_some_and(|n| n == "package.json") {
            let mut package: serde_json::Value = serde_json::from_str(&text).map_err(|e| at(e.to_string()))?;
            let section = package.get_mut("jsbox").map(serde_json::Value::take).ok_or_else(|| at("no `jsbox` key".into()))?;
            serde_json::from_value(section).map_err(|e| at(format!("`jsbox` key: {e}")))?
        } else if is("json") {
            serde_json::from_str(&text).map_err(|e| at(e.to_string()))?
        } else if is("toml") {
            toml::from_str(&text).map_err(|e| at(e.to_string()))?
        } else {
            return Err(at("a manifest is a .toml file, a .json file or a package.json".into()));
        };
        // Absolute, so the manifest means the same from any directory.
        let dir = std::path::absolute(path).map_err(|e| at(e.to_string()))?;
        let dir = dir.parent().unwrap_or(Path::new("/"));
        manifest.checked(Some(path)).map(|m| m.relative_to(dir))
    }

    fn checked(self, path: Option<&Path>) -> Result<Self> {
        if self.version != MANIFEST_VERSION {
            return Err(invalid(
                path,
                format!("version {} is not supported (this jsbox reads version {MANIFEST_VERSION})", self.version),
            ));
        }
        Ok(self)
    }

    /// The manifest with its relative paths (plugin, grants, call log,
    /// cache) joined to `base`.
    pub fn relative_to(mut self, base: &Path) -> Self {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.plugin.iter_mut().for_each(join);
        self.grants.join_paths(base);
        if let Some(log) = &mut self.calllog {
            join(&mut log.path);
        }
        if let CacheDir::Path(dir) = &mut self.cache {
            join(dir);
        }
        self
    }

    /// The manifest as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a manifest serializes to TOML")
    }

    /// The JSON Schema of the manifest's JSON form (the TOML form has the
    /// same keys).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Manifest)).expect("a schema serializes")
    }

    /// A hash of the sandbox's part of a plugin's results: grants, module
    /// rules, limits. Not where its call log, cache and console go, nor
    /// which plugin and export (the caller keys those by what they are:
    /// `jsbox batch --resume` by the plugin's sources and the function).
    pub fn fingerprint(&self) -> String {
        let results = Manifest {
            plugin: None,
            export: None,
            calllog: None,
            cache: CacheDir::Default,
            console: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&results).expect("a manifest serializes");
        blake3::hash(&json).to_hex().to_string()
    }

    /// Engine options for this sandbox: grants, module rules, limits
    /// (fuel metering on when a fuel budget is set), console, call log and
    /// cache. The plugin itself is not read: add its modules (or a
    /// [`crate::DirLoader`]) to the result. `own_modules` are registry names
    /// a [`Modules::allow`] list must let through (the plugin's own files).
    /// Grants are checked when the factory is built, as any option is.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidManifest`] for a call log when this crate was built
    /// without its `sqlite` feature.
    pub fn engine_options(&self, own_modules: &BTreeSet<String>) -> Result<EngineOptions> {
        let mut o = EngineOptions::new()
            .console(self.console.unwrap_or_default())
            .limits(self.limits.limits())
            .fuel_metering(self.limits.fuel.is_some());
        o = o.grants(&self.grants);
        if !self.modules.allow.is_empty() {
            let mut names: BTreeSet<String> = self.modules.allow.iter().cloned().collect();
            names.extend(own_modules.iter().cloned());
            names.extend(self.grants.capabilities().map(|c| c.module.to_string()));
            o = o.module_policy(ModulePolicy::Allow(names));
        }
        let conditions: Vec<&String> = self.modules.conditions.iter().filter(|c| !c.is_empty()).collect();
        if !conditions.is_empty() {
            o = o.conditions(conditions);
        }
        for (name, value) in &self.modules.env {
            o = o.env(name, value);
        }
        if let Some(log) = &self.calllog {
            o = o.calllog(calllog_policy(log)?);
        }
        Ok(o.cache(self.cache.clone()))
    }

    /// Names the plugin file.
    pub fn plugin(mut self, path: impl Into<PathBuf>) -> Self {
        self.plugin = Some(path.into());
        self
    }

    /// Names the export to call.
    pub fn export(mut self, name: impl Into<String>) -> Self {
        self.export = Some(name.into());
        self
    }

    /// Grants `value` under the capability grant `key` (as
    /// [`EngineOptions::grant`]; an unknown key fails the factory build).
    pub fn grant(mut self, key: &str, value: impl Into<String>) -> Self {
        self.grants.add(key, value);
        self
    }

    /// Grants read access to `dir`.
    pub fn allow_read(self, dir: impl AsRef<Path>) -> Self {
        self.grant("read", dir.as_ref().to_string_lossy())
    }

    /// Grants read and write access to `dir`.
    pub fn allow_write(self, dir: impl AsRef<Path>) -> Self {
        self.grant("write", dir.as_ref().to_string_lossy())
    }

    /// Lets `exec` run `program`.
    pub fn allow_exec(self, program: impl Into<String>) -> Self {
        self.grant("exec", program)
    }

    /// Lets `fetch` reach `host` (`HOST` or `HOST:PORT`).
    pub fn allow_net(self, host: impl Into<String>) -> Self {
        self.grant("net", host)
    }

    /// Adds `name` to the module allow-list.
    pub fn allow_module(mut self, name: impl Into<String>) -> Self {
        self.modules.allow.push(name.into());
        self
    }

    /// Sets `process.env[name]`.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.modules.env.insert(name.into(), value.into());
        self
    }

    /// Sets the wall-time limit of one call (`None`: no limit).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.timeout = Some(timeout.unwrap_or(Duration::ZERO));
        self
    }

    /// Sets the memory cap, in bytes.
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.limits.max_memory = Some(bytes);
        self
    }

    /// Sets the instruction budget of one call.
    pub fn fuel(mut self, fuel: Option<u64>) -> Self {
        self.limits.fuel = fuel;
        self
    }

    /// Sets the call log.
    pub fn calllog(mut self, log: Option<CallLog>) -> Self {
        self.calllog = log;
        self
    }

    /// Sets the compiled-snapshot cache.
    pub fn cache(mut self, cache: CacheDir) -> Self {
        self.cache = cache;
        self
    }

    /// Sets where `console.*` goes.
    pub fn console(mut self, console: ConsoleOutput) -> Self {
        self.console = Some(console);
        self
    }
}

#[cfg(feature = "sqlite")]
fn calllog_policy(log: &CallLog) -> Result<CallLogPolicy> {
    Ok(if log.durable { CallLogPolicy::SqliteDurable(log.path.clone()) } else { CallLogPolicy::Sqlite(log.path.clone()) })
}

#[cfg(not(feature = "sqlite"))]
fn calllog_policy(_: &CallLog) -> Result<CallLogPolicy> {
    Err(invalid(None, "calllog: this jsbox was built without its `sqlite` feature".into()))
}

fn invalid(path: Option<&Path>, reason: String) -> Error {
    Error::InvalidManifest { path: path.map(Path::to_path_buf), reason }
}

/// Parses a duration as the manifest and the CLI write it: `"5s"`,
/// `"500ms"`, `"1m"`, or `"0"` (zero: no limit).
///
/// # Errors
///
/// A message saying what is wrong.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| format!("`{text}`: {e} (try `5s` or `500ms`)"))
}

/// Parses a size: bytes, or a number with a unit (binary: K, KiB, M, MiB,
/// G, GiB; decimal: KB, MB, GB).
///
/// # Errors
///
/// A message saying what is wrong.
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let s = text.trim();
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

/// `Option<Duration>` as text (`"5s"`; zero is `"0"`).
mod duration_text {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
        match value {
            Some(d) if d.is_zero() => s.serialize_str("0"),
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Some).map_err(serde::de::Error::custom)
    }
}

/// `Option<usize>` bytes, read from a number or text with a unit.
mod size_text {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(value: &Option<usize>, s: S) -> std::result::Result<S::Ok, S::Error> {
        match value {
            Some(n) => s.serialize_u64(*n as u64),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<usize>, D::Error> {
        match Size::deserialize(d)? {
            Size::Bytes(n) => usize::try_from(n).map(Some).map_err(serde::de::Error::custom),
            Size::Text(text) => parse_size(&text).map(Some).map_err(serde::de::Error::custom),
        }
    }
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

    #[test]
    fn round_trips_through_toml_and_json() {
        let m = Manifest::new()
            .plugin("p.js")
            .allow_read("data")
            .allow_net("127.0.0.1:80")
            .allow_module("lodash")
            .env("NODE_ENV", "production")
            .timeout(Some(Duration::from_millis(1500)))
            .max_memory(64 << 20)
            .calllog(Some(CallLog::new("c.sqlite")));
        assert_eq!(Manifest::from_toml(&m.to_toml()).unwrap(), m);
        assert_eq!(Manifest::from_json(&serde_json::to_string(&m).unwrap()).unwrap(), m);
        let none = Manifest::new().timeout(None);
        assert_eq!(Manifest::from_toml(&none.to_toml()).unwrap().limits.limits().timeout, None);
    }

    #[test]
    fn unknown_keys_and_versions_are_refused() {
        let err = Manifest::from_toml("[grants]\nreed = ['x']").unwrap_err();
        assert!(matches!(&err, Error::InvalidManifest { path: None, reason } if reason.contains("reed")), "{err}");
        let err = Manifest::from_toml("version = 2").unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = Manifest::from_toml("[limits]\ntimeout = 'soon'").unwrap_err();
        assert!(err.to_string().contains("soon"), "{err}");
    }

    #[test]
    fn the_fingerprint_ignores_where_logs_go() {
        let a = Manifest::new().allow_exec("git");
        let logged = a.clone().calllog(Some(CallLog::new("x.sqlite"))).cache(CacheDir::Off);
        assert_eq!(a.fingerprint(), logged.fingerprint());
        assert_ne!(a.fingerprint(), a.clone().allow_exec("ls").fingerprint());
    }
}
