//! What a UDF runs: the plugin's sources ([`Plugin`]), plain data so they
//! travel with a plan, as the sandbox they run in ([`jsbox::Manifest`]) does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jsbox::{is_contained_name, is_es_module_file, DirLoader, EngineOptions, Manifest};
use serde::{Deserialize, Serialize};

use crate::error::UdfError;

/// The registry name of the generated module that calls the plugin.
pub(crate) const WRAPPER_MODULE: &str = "__jsbox_udf.cjs";
/// Its export.
pub(crate) const WRAPPER_EXPORT: &str = "call";

/// A plugin's sources: its modules by registry name, which one is the
/// entry, and which export to call.
///
/// The function called is the entry's export named by
/// [`Plugin::export`], or else the module itself when it is a function
/// (`module.exports = (x) => ...`), its `default` export, or its `main`
/// export. It gets the SQL arguments as positional arguments; a returned
/// promise is awaited.
///
/// # Examples
///
/// ```
/// use jsbox_datafusion::Plugin;
///
/// let plugin = Plugin::from_source("upper.js", "module.exports = (s) => s.toUpperCase();");
/// let with_helpers = Plugin::from_source("main.js", "const h = require('./h.js'); exports.run = (s) => h.f(s);")
///     .module("h.js", "exports.f = (s) => s + '!';")
///     .export("run");
/// # let _ = (plugin, with_helpers);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Plugin {
    modules: BTreeMap<String, String>,
    es_modules: BTreeSet<String>,
    entry: String,
    export: Option<String>,
}

impl Plugin {
    /// A plugin from one module's source. `name` is its registry name (a
    /// file name such as `plugin.js`); a name ending in `.mjs` is an ES
    /// module, any other CommonJS.
    pub fn from_source(name: impl Into<String>, source: impl Into<String>) -> Self {
        let name = name.into();
        let mut es_modules = BTreeSet::new();
        if name.ends_with(".mjs") {
            es_modules.insert(name.clone());
        }
        Plugin { modules: [(name.clone(), source.into())].into(), es_modules, entry: name, export: None }
    }

    /// A plugin whose entry is an ES module (`export default ...`), whatever
    /// its name.
    pub fn es_module(name: impl Into<String>, source: impl Into<String>) -> Self {
        let mut plugin = Plugin::from_source(name, source);
        plugin.es_modules.insert(plugin.entry.clone());
        plugin
    }

    /// A plugin file, with every file it requires relatively (read now, from
    /// its directory, the way `jsbox run` bakes them), so the plugin is
    /// self-contained. It is an ES module when node would say so (`.mjs`,
    /// or `.js` under a package.json with `"type": "module"`); imports of
    /// packages from `node_modules` are not collected.
    ///
    /// # Errors
    ///
    /// [`UdfError::ReadPlugin`] when the file cannot be read;
    /// [`UdfError::Build`] when a required file cannot, or leads out of the
    /// plugin's directory (a symlink: [`jsbox::Error::ModuleRefused`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, UdfError> {
        let path = path.as_ref();
        let read_error = |source| UdfError::ReadPlugin { path: path.to_path_buf(), source };
        let source = std::fs::read_to_string(path).map_err(read_error)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| is_contained_name(n) && *n != WRAPPER_MODULE)
            .ok_or_else(|| {
                read_error(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plugin file name"))
            })?
            .to_string();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let es = is_es_module_file(path);
        let mut plugin = if es { Plugin::es_module(&name, source) } else { Plugin::from_source(&name, source) };
        // The files its requires reach, as the loader bakes them (read
        // confined to the directory, as `jsbox run` reads them).
        let build_error = |source: jsbox::Error| UdfError::Build { udf: name.clone(), source: source.into() };
        let loader = DirLoader::open(&dir).map_err(build_error)?;
        let probe = plugin.add_modules(EngineOptions::new()).loader(loader.clone());
        let names = probe.module_names().map_err(build_error)?;
        for other in names {
            if plugin.modules.contains_key(&other) {
                continue;
            }
            if let Some(text) = loader.read(&other).map_err(build_error)? {
                if es && (other.ends_with(".js") || other.ends_with(".mjs")) {
                    plugin.es_modules.insert(other.clone());
                }
                plugin.modules.insert(other, text);
            }
        }
        Ok(plugin)
    }

    /// Adds a module the plugin requires (`require('./name')`).
    pub fn module(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.modules.insert(name.into(), source.into());
        self
    }

    /// Calls this named export of the entry module.
    pub fn export(mut self, name: impl Into<String>) -> Self {
        self.export = Some(name.into());
        self
    }

    /// The entry module's registry name.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// The registry names of its modules.
    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    fn add_modules(&self, mut options: EngineOptions) -> EngineOptions {
        for (name, source) in &self.modules {
            options = if self.es_modules.contains(name) {
                options.es_module(name, source)
            } else {
                options.module(name, source)
            };
        }
        options
    }

    /// The engine options for this plugin in `sandbox`, with the wrapper
    /// module the UDF calls. The wrapper (and so the plugin) is evaluated
    /// in the snapshot when its top level allows, so a fresh runtime (a
    /// row's, a batch's) goes straight to the call.
    pub(crate) fn engine_options(&self, sandbox: &Manifest) -> jsbox::Result<EngineOptions> {
        let mut own: BTreeSet<String> = self.modules.keys().cloned().collect();
        own.insert(WRAPPER_MODULE.to_string());
        let options = self.add_modules(sandbox.engine_options(&own)?).module(WRAPPER_MODULE, self.wrapper());
        Ok(options.try_preload(WRAPPER_MODULE))
    }

    /// The wrapper module: finds the function and calls it with the
    /// arguments.
    fn wrapper(&self) -> String {
        let spec = serde_json::to_string(&format!("./{}", self.entry)).expect("a string serializes");
        let export = serde_json::to_string(&self.export).expect("a string serializes");
        format!(
            "const entry = {spec};\n\
             const m = require(entry);\n\
             const name = {export};\n\
             function pick() {{\n\
             \x20 if (name !== null) return m == null ? undefined : m[name];\n\
             \x20 if (typeof m === 'function') return m;\n\
             \x20 if (m && typeof m.default === 'function') return m.default;\n\
             \x20 if (m && typeof m.main === 'function') return m.main;\n\
             }}\n\
             exports.{WRAPPER_EXPORT} = function (...args) {{\n\
             \x20 const f = pick();\n\
             \x20 if (typeof f !== 'function') throw new TypeError({spec} + (name === null ? ' exports no function' : ' has no function export ' + name));\n\
             \x20 return f(...args);\n\
             }};\n\
             exports.call_all = function (rows) {{\n\
             \x20 const settle = (args) => new Promise((ok) => ok(exports.{WRAPPER_EXPORT}(...args))).then(\n\
             \x20   (value) => ({{ value: value === undefined ? null : value }}),\n\
             \x20   (e) => ({{ error: e instanceof Error ? (e.name ? e.name + ': ' + e.message : e.message) : String(e) }}));\n\
             \x20 return Promise.all(rows.map(settle));\n\
             }};\n\
             exports.table_rows = function (...args) {{\n\
             \x20 const rows = [];\n\
             \x20 for (const row of exports.{WRAPPER_EXPORT}(...args)) rows.push(row);\n\
             \x20 return rows;\n\
             }};\n{AGGREGATE_WRAPPER}"
        )
    }
}

/// The wrapper's aggregate exports (see [`crate::JsUdaf`]): the four
/// functions are the entry module's (or its export's, with
/// [`Plugin::export`]); states cross as JSON, `null` for a state not
/// created yet. `accumulate` and `merge`
/// may return the new state or change the one they are given.
const AGGREGATE_WRAPPER: &str = r#"function aggregate() {
  const a = name === null || m == null ? m : m[name];
  for (const f of ['create_state', 'accumulate', 'merge', 'finish'])
    if (a == null || typeof a[f] !== 'function') throw new TypeError(entry + (name === null ? '' : ' ' + name) + ' exports no function ' + f + ' (an aggregate exports create_state, accumulate, merge and finish)');
  return a;
}
function start(a, state) { return state === null ? a.create_state() : state; }
exports.aggregate_update = function (state, rows) {
  const a = aggregate();
  let s = start(a, state);
  for (const args of rows) { const r = a.accumulate(s, ...args); if (r !== undefined) s = r; }
  return s;
};
exports.aggregate_merge = function (state, others) {
  const a = aggregate();
  let s = start(a, state);
  for (const o of others) if (o !== null) { const r = a.merge(s, o); if (r !== undefined) s = r; }
  return s;
};
exports.aggregate_finish = function (state) {
  const a = aggregate();
  return a.finish(start(a, state));
};
"#;
