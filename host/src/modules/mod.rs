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

mod json;
pub(crate) mod resolve;
pub(crate) mod vfs;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use resolve::{Mode, Resolver};
use serde::Serialize;
use vfs::{Manifest, Vfs};

/// The conditions used when none are configured: after `import` or
/// `require`, the keys a package uses for a build that needs no node
/// built-ins (jsbox has none of node's `fs`, `crypto`, `process` ...), then
/// `default`. `node` is deliberately absent.
pub const DEFAULT_CONDITIONS: &[&str] = &["jsbox", "worker", "browser", "module"];

/// What resolution needs for one factory build, and what it found.
pub(crate) struct Session {
    fs: Vfs,
    conditions: Vec<String>,
    esm_names: BTreeSet<String>,
    answers: Mutex<HashMap<(String, String, String), Result<String, String>>>,
}

#[derive(Serialize)]
struct Answer<'a> {
    name: &'a str,
    format: &'a str,
    source: &'a str,
}

impl Session {
    pub(crate) fn new(
        root: Option<PathBuf>,
        registry: BTreeMap<String, String>,
        esm_names: BTreeSet<String>,
        conditions: Vec<String>,
    ) -> Self {
        Session { fs: Vfs::new(root, registry), conditions, esm_names, answers: Mutex::new(HashMap::new()) }
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
        let answer = resolver.resolve(from_path, spec, mode_value).and_then(|r| {
            serde_json::to_string(&Answer { name: &r.path, format: r.format.as_str(), source: &r.source })
                .map_err(|e| e.to_string())
        });
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

    /// The disk paths looked at so far.
    pub(crate) fn manifest(&self) -> Manifest {
        self.fs.manifest()
    }
}

/// Whether a registry module is an ES module by its name alone.
pub(crate) fn is_esm_name(name: &str) -> bool {
    name.ends_with(".mjs")
}
