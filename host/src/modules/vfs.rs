//! The files module resolution sees: the registry's in-memory modules laid
//! over a directory on disk (the sandbox root), addressed by paths relative
//! to it (`node_modules/x/index.js`). Every disk lookup is recorded in a
//! [`Manifest`], so a cached snapshot can be checked against the files that
//! went into it. Disk reads go through [`super::confined`]: nothing outside the
//! root is read, whatever symlinks say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::confined::{Entry, Root};

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
    /// A path leading out of the root (see [`super::confined`]).
    Refused,
}

/// Every disk path (relative to the root) a resolution looked at, with what
/// it found: the files baked into a snapshot, and the absences that made
/// resolution pick them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) root: Option<PathBuf>,
    pub(crate) probes: BTreeMap<String, Probe>,
    /// The source maps made from these files (see [`super::sourcemap`]), so
    /// a snapshot loaded from the cache still maps its errors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) maps: BTreeMap<String, super::sourcemap::LineMap>,
}

impl Manifest {
    /// Whether the disk still looks as it did.
    pub(crate) fn still_valid(&self) -> bool {
        let Some(root) = &self.root else { return self.probes.is_empty() };
        let Ok(root) = Root::open(root) else { return false };
        self.probes.iter().all(|(path, probe)| probe_disk(&root, path).0 == *probe)
    }
}

/// Looks at one disk path; a file's contents come along, a refusal's
/// reason instead.
fn probe_disk(root: &Root, path: &str) -> (Probe, Option<String>) {
    match root.entry(path) {
        Entry::Missing => (Probe::Missing, None),
        Entry::Dir => (Probe::Dir, None),
        Entry::File(text) => (Probe::File(blake3::hash(text.as_bytes()).to_hex().to_string()), Some(text)),
        Entry::Refused(reason) => (Probe::Refused, Some(reason)),
    }
}

/// The registry over the root.
pub(crate) struct Vfs {
    /// The root, opened (or why it could not be).
    root: Option<Result<Root, String>>,
    registry: BTreeMap<String, String>,
    registry_dirs: BTreeSet<String>,
    manifest: Mutex<Manifest>,
    /// Paths refused so far, with the reason.
    refused: Mutex<Vec<(String, String)>>,
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
        let manifest = Mutex::new(Manifest { root: root.clone(), probes: BTreeMap::new(), maps: BTreeMap::new() });
        let root = root.map(|r| Root::open(&r).map_err(|e| format!("module root {}: {e}", r.display())));
        Vfs { root, registry, registry_dirs, manifest, refused: Mutex::new(Vec::new()) }
    }

    fn disk(&self, path: &str) -> (Probe, Option<String>) {
        let (probe, text) = match &self.root {
            None => return (Probe::Missing, None),
            Some(Err(why)) => (Probe::Refused, Some(why.clone())),
            Some(Ok(root)) => {
                if let Ok(m) = self.manifest.lock() {
                    if let Some(Probe::Missing | Probe::Dir) = m.probes.get(path) {
                        return (m.probes[path].clone(), None);
                    }
                }
                probe_disk(root, path)
            }
        };
        if let Ok(mut m) = self.manifest.lock() {
            m.probes.insert(path.to_string(), probe.clone());
        }
        if probe == Probe::Refused {
            if let Ok(mut refused) = self.refused.lock() {
                refused.push((path.to_string(), text.clone().unwrap_or_default()));
            }
            return (probe, None);
        }
        (probe, text)
    }

    /// How many paths were refused so far, and the last one's reason.
    pub(crate) fn refusals(&self) -> (usize, Option<String>) {
        self.refused.lock().map(|r| (r.len(), r.last().map(|(_, why)| why.clone()))).unwrap_or((0, None))
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
