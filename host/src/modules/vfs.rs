//! The files module resolution sees: the registry's in-memory modules laid
//! over a directory on disk (the sandbox root), addressed by paths relative
//! to it (`node_modules/x/index.js`). Every disk lookup is recorded in a
//! [`Manifest`], so a cached snapshot can be checked against the files that
//! went into it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What a lookup of one path found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Probe {
    /// Nothing there.
    Missing,
    /// A directory.
    Dir,
    /// A file with this BLAKE3 hash.
    File(String),
}

/// Every disk path (relative to the root) a resolution looked at, with what
/// it found: the files baked into a snapshot, and the absences that made
/// resolution pick them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) root: Option<PathBuf>,
    pub(crate) probes: BTreeMap<String, Probe>,
}

impl Manifest {
    /// Whether the disk still looks as it did.
    pub(crate) fn still_valid(&self) -> bool {
        let Some(root) = &self.root else { return self.probes.is_empty() };
        self.probes.iter().all(|(path, probe)| probe_disk(&root.join(path)).0 == *probe)
    }
}

/// Looks at one disk path; a file's contents come along.
fn probe_disk(path: &Path) -> (Probe, Option<String>) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => (Probe::Dir, None),
        Ok(_) => match std::fs::read_to_string(path) {
            Ok(text) => (Probe::File(blake3::hash(text.as_bytes()).to_hex().to_string()), Some(text)),
            // Unreadable or not UTF-8: not a module resolution can use.
            Err(_) => (Probe::Missing, None),
        },
        Err(_) => (Probe::Missing, None),
    }
}

/// The registry over the root.
pub(crate) struct Vfs {
    root: Option<PathBuf>,
    registry: BTreeMap<String, String>,
    registry_dirs: BTreeSet<String>,
    manifest: Mutex<Manifest>,
}

impl Vfs {
    pub(crate) fn new(root: Option<PathBuf>, registry: BTreeMap<String, String>) -> Self {
        let mut registry_dirs = BTreeSet::new();
        for name in registry.keys() {
            let mut dir = name.as_str();
            while let Some(i) = dir.rfind('/') {
                dir = &dir[..i];
                registry_dirs.insert(dir.to_string());
            }
        }
        let manifest = Mutex::new(Manifest { root: root.clone(), probes: BTreeMap::new() });
        Vfs { root, registry, registry_dirs, manifest }
    }

    fn disk(&self, path: &str) -> (Probe, Option<String>) {
        let Some(root) = &self.root else { return (Probe::Missing, None) };
        if let Ok(m) = self.manifest.lock() {
            if let Some(Probe::Missing | Probe::Dir) = m.probes.get(path) {
                return (m.probes[path].clone(), None);
            }
        }
        let (probe, text) = probe_disk(&root.join(path));
        if let Ok(mut m) = self.manifest.lock() {
            m.probes.insert(path.to_string(), probe.clone());
        }
        (probe, text)
    }

    /// The source of the module file at `path`, if there is one.
    pub(crate) fn read(&self, path: &str) -> Option<String> {
        if let Some(source) = self.registry.get(path) {
            return Some(source.clone());
        }
        if path.is_empty() {
            return None;
        }
        self.disk(path).1
    }

    /// Whether `path` is a file.
    pub(crate) fn is_file(&self, path: &str) -> bool {
        self.registry.contains_key(path) || (!path.is_empty() && matches!(self.disk(path).0, Probe::File(_)))
    }

    /// Whether `path` is a directory.
    pub(crate) fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.registry_dirs.contains(path) || self.disk(path).0 == Probe::Dir
    }

    /// Whether `path` is a registry module.
    pub(crate) fn in_registry(&self, path: &str) -> bool {
        self.registry.contains_key(path)
    }

    pub(crate) fn manifest(&self) -> Manifest {
        self.manifest.lock().map(|m| m.clone()).unwrap_or_default()
    }
}
