//! The on-disk cache of compiled snapshots.
//!
//! Key: a BLAKE3 hash of the guest, the registry (everything baked into the
//! snapshot, including the module root and conditions), the engine's compatibility hash (configuration, target,
//! wasmtime version) and jsbox's version. Entry: `<key>.cwasm` holding a
//! BLAKE3 digest of the compiled module followed by the module. On load the
//! digest is checked before wasmtime sees a byte, so a truncated, corrupt or
//! foreign file is detected and rebuilt, never deserialized blindly. Files
//! read from disk by module resolution are not known before the snapshot is
//! taken, so they are not in the key: `<key>.files.json` lists every path
//! resolution looked at (with its BLAKE3 hash, or its absence) and is
//! re-checked before the entry is used. Writes
//! go to a temporary file renamed into place, so readers never see half an
//! entry.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use crate::error::{Error, Result};
use crate::modules::vfs::Manifest;
use crate::options::CacheDir;

const DIGEST: usize = 32;
const MAGIC: &[u8; 8] = b"jsbox\0c2";

/// Feeds `std::hash::Hash` values into BLAKE3.
struct Blake3Hasher<'a>(&'a mut blake3::Hasher);

impl Hasher for Blake3Hasher<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache key of a snapshot built from `guest` and `registry_json`.
pub(crate) fn key(engine: &Engine, guest: &[u8], registry_json: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(MAGIC);
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(&(guest.len() as u64).to_le_bytes());
    h.update(guest);
    h.update(&(registry_json.len() as u64).to_le_bytes());
    h.update(registry_json.as_bytes());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut Blake3Hasher(&mut h));
    h.finalize().to_hex().to_string()
}

/// The directory a policy names, if any.
pub(crate) fn dir(policy: &CacheDir) -> Option<PathBuf> {
    match policy {
        CacheDir::Off => None,
        CacheDir::Path(p) => Some(p.clone()),
        CacheDir::Default => dirs::cache_dir().map(|d| d.join("jsbox")),
    }
}

/// The digest stored in an entry: it binds the module to its key.
fn digest(key: &str, compiled: &[u8]) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(key.as_bytes());
    h.update(compiled);
    h.finalize()
}

fn entry_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.cwasm"))
}

/// Loads a cached module, or `None` when there is no valid entry (a bad
/// entry is removed so it gets rebuilt).
pub(crate) fn load(engine: &Engine, dir: &Path, key: &str) -> Option<Module> {
    let path = entry_path(dir, key);
    let bytes = std::fs::read(&path).ok()?;
    let valid = bytes.len() > MAGIC.len() + DIGEST
        && &bytes[..MAGIC.len()] == MAGIC
        && digest(key, &bytes[MAGIC.len() + DIGEST..]).as_bytes()[..] == bytes[MAGIC.len()..MAGIC.len() + DIGEST];
    if !valid {
        tracing::warn!(path = %path.display(), "cache entry is corrupt or foreign; rebuilding");
        let _ = std::fs::remove_file(&path);
        return None;
    }
    // SAFETY: the bytes carry a digest that matches, and wasmtime's own
    // header check rejects modules from another engine configuration or
    // version; the entry was written by `store` below.
    match unsafe { Module::deserialize(engine, &bytes[MAGIC.len() + DIGEST..]) } {
        Ok(module) => Some(module),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cache entry rejected by wasmtime; rebuilding");
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// Stores a compiled module under `key`.
pub(crate) fn store(dir: &Path, key: &str, module: &Module) -> Result<()> {
    let cache_error = |e: &dyn std::fmt::Display| Error::Cache(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|e| cache_error(&e))?;
    let compiled = module.serialize().map_err(|e| cache_error(&e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| cache_error(&e))?;
    tmp.write_all(MAGIC).map_err(|e| cache_error(&e))?;
    tmp.write_all(digest(key, &compiled).as_bytes()).map_err(|e| cache_error(&e))?;
    tmp.write_all(&compiled).map_err(|e| cache_error(&e))?;
    tmp.persist(entry_path(dir, key)).map_err(|e| cache_error(&e))?;
    Ok(())
}

fn manifest_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.files.json"))
}

/// Stores the manifest of the files module resolution read for the snapshot
/// under `key` (none when it read no file).
pub(crate) fn store_manifest(dir: &Path, key: &str, manifest: &Manifest) -> Result<()> {
    let path = manifest_path(dir, key);
    if manifest.probes.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let cache_error = |e: &dyn std::fmt::Display| Error::Cache(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|e| cache_error(&e))?;
    let json = serde_json::to_vec(manifest).map_err(|e| cache_error(&e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| cache_error(&e))?;
    tmp.write_all(&json).map_err(|e| cache_error(&e))?;
    tmp.persist(path).map_err(|e| cache_error(&e))?;
    Ok(())
}

/// Whether the files behind the entry for `key` are unchanged: every path
/// its manifest lists still hashes (or is missing) as it did. No manifest
/// means the snapshot read no file.
pub(crate) fn manifest_valid(dir: &Path, key: &str) -> bool {
    let Ok(bytes) = std::fs::read(manifest_path(dir, key)) else { return true };
    match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(manifest) if manifest.still_valid() => true,
        _ => {
            tracing::info!(key, "files behind a cached snapshot changed; rebuilding");
            false
        }
    }
}

/// The path of the entry for `key` (for tests and `jsbox` diagnostics).
pub fn entry_for(dir: &Path, key: &str) -> PathBuf {
    entry_path(dir, key)
}
