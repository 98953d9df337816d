//! ES modules and node-style resolution, done once, at factory build.
//!
//! # Where the module graph is discovered
//!
//! QuickJS itself is the parser. The guest compiles an entry module inside
//! its `init` (so inside the Wizer snapshot); compiling a module makes
//! QuickJS resolve and load each of its imports through the guest's loader
//! hooks (`guest/src/modules.rs`), recursively. For a specifier the guest
//! does not know yet it asks the host through the `resolve-module` import,
//! answered here: node's algorithm ([`resolve`]) over the registry laid on
//! the sandbox root directory ([`vfs`]). So there is one parser (the engine
//! that will run the code: no second JS grammar in the host to disagree
//! with it), only files reachable from the entries are read, and the
//! answers, compiled modules and evaluated top levels all land in the
//! snapshot. Wizer's linker is the host's, so the import is just another
//! host function; runtimes of a snapshot never call it (the guest stops
//! asking once `init` returns, and the host refuses if asked).
//!
//! A pre-pass in the host would have needed its own ES parser (or a
//! regex that misreads comments and strings) and a second walk of the graph;
//! rquickjs's `Resolver`/`Loader` traits were not usable because javy
//! keeps its `rquickjs::Runtime` private and `require()` of an ES module
//! needs the module record the traits do not hand back.
//!
//! # Cache
//!
//! Every disk path resolution looked at is recorded ([`vfs::Manifest`]:
//! files with their hash, absences, directories). The manifest is stored
//! beside the compiled snapshot in the disk cache and re-checked on load: a
//! changed, added or removed file means a rebuild.

pub(crate) mod confined;
mod json;
pub(crate) mod literals;
pub(crate) mod resolve;
pub(crate) mod sourcemap;
pub(crate) mod typescript;
pub(crate) mod vfs;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use resolve::{Format, Mode, Resolved as Found, Resolver};
use serde::Serialize;
use sourcemap::SourceMaps;
use vfs::{Manifest, Vfs};

pub use confined::DirLoader;

/// The conditions used when none are configured: after `import` or
/// `require`, the keys a package uses for a build that needs no node
/// built-ins (jsbox has none of node's `fs`, `crypto`, `process` ...), then
/// `default`. `node` is deliberately absent.
pub const DEFAULT_CONDITIONS: &[&str] = &["jsbox", "worker", "browser", "module"];

/// Whether a plugin file on disk is an ES module, as node decides for an
/// entry point: `.mjs` and `.mts` are; `.js` and `.ts` are when the nearest
/// `package.json` up the tree says `"type": "module"`; anything else is
/// not. For hosts that load
/// a plugin by path (the CLI, `jsbox-datafusion`) and must pick between
/// [`crate::EngineOptions::import`] and [`crate::EngineOptions::module`].
pub fn is_es_module_file(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("mjs" | "mts") => return true,
        Some("js" | "ts") => {}
        _ => return false,
    }
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    for dir in absolute.ancestors().skip(1) {
        if let Ok(text) = std::fs::read_to_string(dir.join("package.json")) {
            return serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .is_some_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("module"));
        }
    }
    false
}

/// Whether a module name stays inside the directory it is read from:
/// relative, not empty, and made of plain components only (no `..`, `.`,
/// root or backslash). A loader that maps registry names to files under a
/// directory uses it to refuse names that would escape it.
pub fn is_contained_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && Path::new(name).components().all(|c| matches!(c, Component::Normal(_)))
}

/// A resolution answer: the resolved path, or why there is none.
type Resolved = Result<String, String>;

/// What resolution needs for one factory build, and what it found.
pub(crate) struct Session {
    fs: Vfs,
    conditions: Vec<String>,
    esm_names: BTreeSet<String>,
    answers: Mutex<HashMap<(String, String, String), Resolved>>,
    /// The first resolution refused for a path leading out of the root:
    /// `(specifier, reason)`.
    refused: Mutex<Option<(String, String)>>,
    /// The first TypeScript module that could not be stripped.
    failed: Mutex<Option<crate::Error>>,
    /// The source maps of the files read (TypeScript stripped, or a
    /// bundle's `sourceMappingURL`), shared with the factory.
    maps: Arc<SourceMaps>,
}

/// A resolved file as `resolve-module` answers it.
#[derive(Serialize)]
struct Answer<'a> {
    name: &'a str,
    format: &'a str,
    source: &'a str,
    /// Its literal `require()`/`import()` specifiers, for the guest to
    /// resolve now.
    #[serde(flatten)]
    literals: literals::Literals,
}

impl Session {
    pub(crate) fn new(
        root: Option<PathBuf>,
        registry: BTreeMap<String, String>,
        esm_names: BTreeSet<String>,
        conditions: Vec<String>,
        maps: Arc<SourceMaps>,
    ) -> Self {
        Session {
            fs: Vfs::new(root, registry),
            conditions,
            esm_names,
            answers: Mutex::new(HashMap::new()),
            refused: Mutex::new(None),
            failed: Mutex::new(None),
            maps,
        }
    }

    /// A resolved disk file as the guest gets it: a TypeScript file with its
    /// types stripped, and the map of either kept when there is one.
    /// Registry modules were stripped when the registry was collected.
    fn transform(&self, mut found: Found) -> Result<Found, String> {
        if self.fs.in_registry(&found.path) {
            return Ok(found);
        }
        if typescript::is_typescript(&found.path) {
            let kind = match found.format {
                Format::Esm => typescript::Kind::Module,
                Format::CommonJs => typescript::Kind::CommonJs,
                _ => typescript::Kind::Either,
            };
            match typescript::strip(&found.path, &found.source, kind) {
                Ok(stripped) => {
                    self.maps.insert(&found.path, stripped.map);
                    found.source = stripped.code;
                }
                Err(e) => {
                    let message = e.to_string();
                    if let Ok(mut failed) = self.failed.lock() {
                        failed.get_or_insert(e);
                    }
                    return Err(message);
                }
            }
        } else if found.format != Format::Json && found.source.contains("sourceMappingURL=") {
            if let Some(map) = sourcemap::referenced_map(&found.path, &found.source, |p| self.fs.read(p)) {
                self.maps.insert(&found.path, map);
            }
        }
        Ok(found)
    }

    /// The guest's `resolve-module`: the JSON answer, or a message.
    /// Answers are remembered, so guests that initialise per runtime (no
    /// snapshot) do no I/O after the first.
    pub(crate) fn resolve(&self, from: &str, spec: &str, mode: &str) -> Result<String, String> {
        let key = (from.to_string(), spec.to_string(), mode.to_string());
        if let Some(answer) = self.answers.lock().ok().and_then(|a| a.get(&key).cloned()) {
            return answer;
        }
        let mode_value = if mode == "require" { Mode::Require } else { Mode::Import };
        let resolver = Resolver { fs: &self.fs, conditions: &self.conditions, esm_names: &self.esm_names };
        let from_path = from.trim_start_matches('/');
        let (refusals_before, _) = self.fs.refusals();
        let resolved = resolver.resolve(from_path, spec, mode_value).and_then(|found| self.transform(found));
        // A resolution that met a path leading out of the root fails,
        // whatever it found besides: the module is refused, not looked for
        // elsewhere.
        let answer = match self.fs.refusals() {
            (n, Some(reason)) if n > refusals_before => {
                if let Ok(mut refused) = self.refused.lock() {
                    refused.get_or_insert_with(|| (spec.to_string(), reason.clone()));
                }
                Err(format!("Cannot load module '{spec}' imported from {from}: refused: {reason}"))
            }
            _ => resolved.and_then(|r| {
                let literals = if r.format == Format::Json { literals::Literals::default() } else { literals::of(&r.path, &r.source) };
                serde_json::to_string(&Answer { name: &r.path, format: r.format.as_str(), source: &r.source, literals })
                    .map_err(|e| e.to_string())
            }),
        };
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(key, answer.clone());
        }
        answer
    }

    /// The registry modules that are ES modules: declared so
    /// ([`crate::EngineOptions::es_module`]) or named `.mjs`.
    pub(crate) fn esm_registry_names(&self, registry: &BTreeMap<String, String>) -> BTreeSet<String> {
        registry.keys().filter(|name| self.esm_names.contains(*name) || is_esm_name(name)).cloned().collect()
    }

    /// The build error to report when a resolution was refused (the
    /// guest saw it as a failed import): [`crate::Error::ModuleRefused`]
    /// naming the first refused module, else `error` as it is.
    pub(crate) fn refused_or(&self, error: crate::Error) -> crate::Error {
        if let Some(failed) = self.failed.lock().ok().and_then(|mut f| f.take()) {
            return failed;
        }
        match self.refused.lock().ok().and_then(|r| r.clone()) {
            Some((module, reason)) => crate::Error::ModuleRefused { module, reason },
            None => error,
        }
    }

    /// The disk paths looked at so far, with the source maps made.
    pub(crate) fn manifest(&self) -> Manifest {
        let mut manifest = self.fs.manifest();
        manifest.maps = self.maps.all();
        manifest
    }
}

/// [`crate::FactoryInfo::sources`]: the guest, the registry document's
/// hash and the files resolution read (with their hashes), each
/// length-prefixed so no boundary can shift.
pub(crate) fn sources_digest(guest: &blake3::Hash, registry: &blake3::Hash, manifest: &Manifest) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(guest.as_bytes());
    hasher.update(registry.as_bytes());
    // The probes only: the root is in the registry document, and a cached
    // entry that read no file has no stored manifest (so no root).
    let manifest = serde_json::to_vec(&manifest.probes).unwrap_or_default();
    hasher.update(&(manifest.len() as u64).to_le_bytes());
    hasher.update(&manifest);
    hasher.finalize().to_hex().to_string()
}

/// Whether a registry module is an ES module by its name alone (`.mjs`,
/// or `.mts` before its types are stripped).
pub(crate) fn is_esm_name(name: &str) -> bool {
    name.ends_with(".mjs") || name.ends_with(".mts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contained_names() {
        assert!(is_contained_name("lib/a.js"));
        assert!(is_contained_name("a.mjs"));
        assert!(!is_contained_name(""));
        assert!(!is_contained_name("../a.js"));
        assert!(!is_contained_name("./a.js"));
        assert!(!is_contained_name("/etc/passwd"));
        assert!(!is_contained_name("a/../../b"));
        assert!(!is_contained_name("a\\b.js"));
    }

    #[test]
    fn es_module_files() {
        let dir = std::env::temp_dir().join(format!("jsbox-esm-file-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("esm/sub")).unwrap();
        std::fs::write(dir.join("esm/package.json"), r#"{"type": "module"}"#).unwrap();
        std::fs::write(dir.join("package.json"), r#"{"type": "commonjs"}"#).unwrap();
        assert!(is_es_module_file(&dir.join("a.mjs")));
        assert!(!is_es_module_file(&dir.join("a.cjs")));
        assert!(!is_es_module_file(&dir.join("a.js")));
        // The nearest package.json decides.
        assert!(is_es_module_file(&dir.join("esm/sub/a.js")));
        assert!(!is_es_module_file(&dir.join("esm/sub/a.cjs")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
