//! Compiled guest functions, kept across snapshots.
//!
//! Every snapshot is the same guest code with another memory image: Wizer
//! copies the code section as it is and rewrites only the data segments,
//! globals and memory sizes. Compiling a new snapshot from scratch would run
//! Cranelift over thousands of functions it has already compiled. This is
//! the store behind Cranelift's incremental compilation cache
//! ([`wasmtime::Config::enable_incremental_compilation`]): Cranelift keys
//! each function by its IR and the target's flags, so a new plugin's
//! snapshot finds all of its functions here and is only translated, looked
//! up and linked.
//!
//! One file per guest and engine configuration,
//! `functions-<BLAKE3 of both>.bin`: [`FORMAT`], a BLAKE3 digest of the
//! rest, then length-prefixed key/value pairs. A file that fails the digest
//! is ignored (and replaced by the next write): compiled code is only ever
//! taken from a whole file that this format wrote. Files are rewritten
//! (through a temporary file renamed into place) only when a compile added
//! functions, so the store settles after the first build.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use wasmtime::{CacheStore, Engine};

use super::{update_sized, Blake3Hasher, TMP_PREFIX, TMP_SUFFIX};
use crate::error::{Error, Result};

/// The file format; bump it when the layout changes.
const FORMAT: &[u8; 8] = b"jsbox\0f1";
const DIGEST: usize = 32;
/// File name prefix and suffix of a function store.
pub(super) const PREFIX: &str = "functions-";
pub(super) const SUFFIX: &str = ".bin";

/// The functions read from a store's file.
#[derive(Default)]
struct Loaded {
    bytes: Vec<u8>,
    /// Key -> the value's range in `bytes`.
    index: HashMap<Box<[u8]>, Range<usize>>,
}

/// BLAKE3 of a store's body (several MiB) on every core, as the entries'
/// digests are (`super::digest`).
fn hash(body: &[u8]) -> blake3::Hash {
    blake3::Hasher::new().update_rayon(body).finalize()
}

impl Loaded {
    fn read(path: &Path) -> Loaded {
        let Ok(bytes) = std::fs::read(path) else { return Loaded::default() };
        match Self::index(&bytes) {
            Some(index) => Loaded { bytes, index },
            None => {
                tracing::warn!(path = %path.display(), "compiled-function store is truncated or corrupt; ignoring it");
                Loaded::default()
            }
        }
    }

    /// The entries of a whole, unmodified file.
    fn index(bytes: &[u8]) -> Option<HashMap<Box<[u8]>, Range<usize>>> {
        let body_at = FORMAT.len() + DIGEST;
        if bytes.len() < body_at || &bytes[..FORMAT.len()] != FORMAT {
            return None;
        }
        let body = &bytes[body_at..];
        if hash(body).as_bytes()[..] != bytes[FORMAT.len()..body_at] {
            return None;
        }
        let mut index = HashMap::new();
        let mut at = body_at;
        let take = |at: &mut usize| -> Option<Range<usize>> {
            let len = u32::from_le_bytes(bytes.get(*at..*at + 4)?.try_into().ok()?) as usize;
            let range = *at + 4..(*at + 4).checked_add(len)?;
            bytes.get(range.clone())?;
            *at = range.end;
            Some(range)
        };
        while at < bytes.len() {
            let key = take(&mut at)?;
            let value = take(&mut at)?;
            index.insert(bytes[key].into(), value);
        }
        Some(index)
    }

    fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.index.get(key).map(|r| &self.bytes[r.clone()])
    }
}

/// A disk-backed [`CacheStore`] for Cranelift's incremental compilation.
///
/// Created before the engine (the engine's configuration takes it), bound
/// to a file by [`FunctionStore::bind`] once the engine exists, read on the
/// first lookup and written by [`FunctionStore::persist`].
#[derive(Debug)]
pub(crate) struct FunctionStore {
    dir: PathBuf,
    path: OnceLock<PathBuf>,
    loaded: OnceLock<Loaded>,
    /// Functions compiled since the file was read.
    added: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded").field("functions", &self.index.len()).finish()
    }
}

impl FunctionStore {
    /// A store in `dir`; nothing is read until it is bound and used.
    pub(crate) fn new(dir: &Path) -> Self {
        FunctionStore {
            dir: dir.to_path_buf(),
            path: OnceLock::new(),
            loaded: OnceLock::new(),
            added: Mutex::new(HashMap::new()),
        }
    }

    /// Names the file: one per guest and engine configuration, so engines
    /// that compile differently (fuel, memory limits) never share one.
    pub(crate) fn bind(&self, engine: &Engine, guest: &[u8]) {
        let mut h = blake3::Hasher::new();
        h.update(FORMAT);
        update_sized(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
        update_sized(&mut h, guest);
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut Blake3Hasher(&mut h));
        let name = format!("{PREFIX}{}{SUFFIX}", &h.finalize().to_hex()[..32]);
        let _ = self.path.set(self.dir.join(name));
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.get_or_init(|| self.path.get().map(|p| Loaded::read(p)).unwrap_or_default())
    }

    /// How many functions the last compile added (0: every one was found).
    pub(crate) fn added(&self) -> usize {
        self.added.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// Writes the file again if a compile added functions.
    ///
    /// # Errors
    ///
    /// [`Error::Cache`] when the directory or the file cannot be written.
    pub(crate) fn persist(&self) -> Result<()> {
        let Some(path) = self.path.get() else { return Ok(()) };
        let mut added = self.added.lock().map_err(|_| Error::Cache("compiled-function store poisoned".into()))?;
        if added.is_empty() {
            return Ok(());
        }
        let loaded = self.loaded();
        let mut body = Vec::with_capacity(loaded.bytes.len() + added.values().map(Vec::len).sum::<usize>());
        let mut put = |bytes: &[u8]| {
            body.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            body.extend_from_slice(bytes);
        };
        for (key, range) in &loaded.index {
            if !added.contains_key(&key[..]) {
                put(key);
                put(&loaded.bytes[range.clone()]);
            }
        }
        for (key, value) in added.iter() {
            put(key);
            put(value);
        }
        let cache_error = |e: &dyn std::fmt::Display| Error::Cache(format!("{}: {e}", self.dir.display()));
        std::fs::create_dir_all(&self.dir).map_err(|e| cache_error(&e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .suffix(TMP_SUFFIX)
            .tempfile_in(&self.dir)
            .map_err(|e| cache_error(&e))?;
        tmp.write_all(FORMAT).map_err(|e| cache_error(&e))?;
        tmp.write_all(hash(&body).as_bytes()).map_err(|e| cache_error(&e))?;
        tmp.write_all(&body).map_err(|e| cache_error(&e))?;
        tmp.persist(path).map_err(|e| cache_error(&e))?;
        added.clear();
        Ok(())
    }
}

impl CacheStore for FunctionStore {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        if let Some(value) = self.loaded().get(key) {
            return Some(Cow::Borrowed(value));
        }
        self.added.lock().ok()?.get(key).map(|v| Cow::Owned(v.clone()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        match self.added.lock() {
            Ok(mut added) => {
                added.insert(key.to_vec(), value);
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(dir: &Path) -> FunctionStore {
        let store = FunctionStore::new(dir);
        store.bind(&Engine::default(), b"\0asm\x01\0\0\0");
        store
    }

    #[test]
    fn functions_survive_a_reload_and_corruption_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = bound(dir.path());
        assert!(store.get(b"k1").is_none());
        assert!(store.insert(b"k1", b"code one".to_vec()));
        assert!(store.insert(b"k2", vec![]));
        assert_eq!(store.added(), 2);
        store.persist().unwrap();
        assert_eq!(store.added(), 0);

        let again = bound(dir.path());
        assert_eq!(again.get(b"k1").as_deref(), Some(&b"code one"[..]));
        assert_eq!(again.get(b"k2").as_deref(), Some(&b""[..]));
        // Adding one keeps the others.
        again.insert(b"k3", b"three".to_vec());
        again.persist().unwrap();
        let third = bound(dir.path());
        assert_eq!(third.get(b"k1").as_deref(), Some(&b"code one"[..]));
        assert_eq!(third.get(b"k3").as_deref(), Some(&b"three"[..]));

        let path = third.path.get().unwrap().clone();
        let whole = std::fs::read(&path).unwrap();
        for at in [0, FORMAT.len() + 1, whole.len() - 1] {
            let mut bad = whole.clone();
            bad[at] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            assert!(bound(dir.path()).get(b"k1").is_none(), "byte {at} flipped: the file was used");
        }
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        assert!(bound(dir.path()).get(b"k1").is_none(), "a truncated file was used");
    }

    #[test]
    fn engines_that_compile_differently_use_different_files() {
        let dir = tempfile::tempdir().unwrap();
        let plain = bound(dir.path());
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let fuel = FunctionStore::new(dir.path());
        fuel.bind(&Engine::new(&config).unwrap(), b"\0asm\x01\0\0\0");
        assert_ne!(plain.path.get(), fuel.path.get());
    }
}
