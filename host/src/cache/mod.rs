//! The on-disk cache of compiled snapshots.
//!
//! Building a factory snapshots the guest and compiles the result with
//! Cranelift, which takes seconds; the compiled module is cached so the next
//! factory with the same inputs (a second `jsbox run`, a restarted service)
//! loads it in milliseconds.
//!
//! Key: a BLAKE3 hash of everything that changes the artifact: the entry
//! format ([`FORMAT`]), jsbox's version, the guest module, whether the
//! guest is snapshotted and with what (the registry document: modules,
//! native module and function names, policy, preloads, init scripts), the
//! clock scripts see during the snapshot, and the engine's compatibility
//! hash (wasmtime's version, the target and CPU features, Cranelift's
//! flags, the tunables such as memory reservation and fuel or epoch
//! instrumentation).
//!
//! Entry: `<key>.cwasm` holding wasmtime's serialized module, then a
//! trailer: the key, a BLAKE3 digest of key and module, and [`FORMAT`]. On
//! load the trailer and the digest are checked before wasmtime sees a byte,
//! so a truncated, corrupt, renamed or foreign file is detected, removed and
//! rebuilt, never deserialized; wasmtime's own header check (version,
//! configuration) is a second line. The trailer comes last so that a
//! compiled module is mapped from its file as it is (no copy into the
//! heap; runtimes' memory images come from the page cache) and a snapshot
//! read into memory is only truncated. Writes go to a temporary file
//! renamed into place, so readers never see half an entry, and an entry's
//! file is never changed in place, so a mapping of it stays valid.
//!
//! Files read from disk by module resolution are not known before the
//! snapshot is taken, so they are not in the key: `<key>.files.json` lists
//! every path resolution looked at (with its BLAKE3 hash, or its absence)
//! and is re-checked before the entry is used.
//!
//! Beside the entries, [`functions`] keeps every guest function Cranelift
//! compiled, so a snapshot never built before (a new or edited plugin)
//! reuses the machine code of the ones that were.

mod functions;

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use crate::error::{Error, Result};
use crate::modules::vfs::Manifest;
use crate::state::Clock;

pub(crate) use functions::FunctionStore;

/// The entry format; bump it when the snapshot step or the header changes,
/// so entries written by an older build with the same version are ignored.
const FORMAT: &[u8; 8] = b"jsbox\0c4";
/// A key: 32 bytes of BLAKE3 in hex.
const KEY_LEN: usize = 64;
const DIGEST: usize = 32;
const TRAILER: usize = KEY_LEN + DIGEST + FORMAT.len();
/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The module runtimes are instances of (`<key>.cwasm`).
    Runtime,
    /// The guest instrumented by Wizer, compiled for the snapshot step
    /// (`<key>.wizer`): the same for every snapshot of one guest.
    Instrumented,
    /// The guest's code shared by every snapshot (`<key>.shared`, see
    /// `crate::image`).
    Shared,
    /// A snapshot's wasm (`<key>.snapshot`), for a shared-code factory
    /// (its image is split from it): the Wizer step is not run again.
    Snapshot,
}

impl Entry {
    fn ext(self) -> &'static str {
        match self {
            Entry::Runtime => "cwasm",
            Entry::Instrumented => "wizer",
            Entry::Shared => "shared",
            Entry::Snapshot => "snapshot",
        }
    }
}
/// Prefix and suffix of the temporary files entries are written through.
const TMP_PREFIX: &str = ".jsbox-";
const TMP_SUFFIX: &str = ".tmp";
/// File name suffix of the manifest of files an entry's snapshot read.
const MANIFEST_SUFFIX: &str = ".files.json";

/// Where compiled snapshots are cached on disk.
///
/// [`CacheDir::Default`] is `jsbox` under the user's cache directory:
/// `$XDG_CACHE_HOME/jsbox` or `~/.cache/jsbox` on Linux,
/// `~/Library/Caches/jsbox` on macOS, `%LOCALAPPDATA%\jsbox` on Windows.
/// Each distinct set of options that enters the snapshot has its own entry
/// (`<key>.cwasm`, the size of the compiled module, a few MiB); nothing is
/// evicted. Deleting the directory, or [`CacheDir::clear`] (`jsbox cache
/// clear` on the command line), is always safe: entries are rebuilt on
/// demand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheDir {
    /// `jsbox` under the user's cache directory (the default).
    #[default]
    Default,
    /// This directory.
    Path(PathBuf),
    /// No disk cache: every factory compiles.
    Off,
}

impl CacheDir {
    /// The directory this policy names: `None` when the cache is off, or
    /// when the platform has no user cache directory (then the default
    /// policy caches nothing).
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::CacheDir;
    ///
    /// assert_eq!(CacheDir::Path("/tmp/c".into()).path(), Some("/tmp/c".into()));
    /// assert_eq!(CacheDir::Off.path(), None);
    /// ```
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            CacheDir::Off => None,
            CacheDir::Path(p) => Some(p.clone()),
            CacheDir::Default => dirs::cache_dir().map(|d| d.join("jsbox")),
        }
    }

    /// Removes every cache entry (and any temporary file a crashed writer
    /// left) from the directory, and returns how many files and bytes it
    /// removed. Other files in the directory are left alone; a missing
    /// directory is an empty cache.
    ///
    /// # Errors
    ///
    /// [`Error::Cache`] when the directory cannot be listed or an entry
    /// cannot be removed.
    pub fn clear(&self) -> Result<(usize, u64)> {
        let Some(dir) = self.path() else { return Ok((0, 0)) };
        let cache_error = |e: std::io::Error| Error::Cache(format!("{}: {e}", dir.display()));
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(cache_error(e)),
        };
        let (mut files, mut bytes) = (0, 0);
        for entry in entries {
            let entry = entry.map_err(cache_error)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = Path::new(&*name)
                .extension()
                .is_some_and(|e| [Entry::Runtime, Entry::Instrumented, Entry::Shared, Entry::Snapshot].iter().any(|k| e == k.ext()))
                || name.ends_with(MANIFEST_SUFFIX)
                || (name.starts_with(functions::PREFIX) && name.ends_with(functions::SUFFIX))
                || (name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX));
            if ours && entry.file_type().map_err(cache_error)?.is_file() {
                bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(entry.path()).map_err(cache_error)?;
                files += 1;
            }
        }
        Ok((files, bytes))
    }
}

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

fn update_sized(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The cache key of the module built from the guest whose BLAKE3 digest is
/// `guest`: snapshotted with `registry_json` under `clock`, or the bare
/// guest when `registry_json` is `None`.
pub(crate) fn key(engine: &Engine, guest: &blake3::Hash, registry_json: Option<&str>, clock: Clock) -> String {
    let mut h = blake3::Hasher::new();
    h.update(FORMAT);
    update_sized(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    h.update(guest.as_bytes());
    match registry_json {
        Some(registry) => {
            h.update(b"snapshot");
            update_sized(&mut h, registry.as_bytes());
            // Init code that reads `Date.now()` bakes the clock's answer.
            update_sized(&mut h, format!("{clock:?}").as_bytes());
        }
        None => {
            h.update(b"no-snapshot");
        }
    }
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut Blake3Hasher(&mut h));
    h.finalize().to_hex().to_string()
}

/// The digest stored in an entry: it binds the module to its key. BLAKE3
/// hashes a tree, so a large input is hashed on every core (rayon, which
/// wasmtime already brings): a cached module is several MiB, and its digest
/// is checked on every load.
fn digest(key: &str, compiled: &[u8]) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    update_sized(&mut h, key.as_bytes());
    h.update_rayon(compiled);
    h.finalize()
}

/// [`digest`] of a module read from `compiled`, through a buffer of 1 MiB
/// (nothing the size of the module is allocated).
fn digest_read(key: &str, mut compiled: impl std::io::Read) -> std::io::Result<blake3::Hash> {
    let mut h = blake3::Hasher::new();
    update_sized(&mut h, key.as_bytes());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match compiled.read(&mut buf) {
            Ok(0) => return Ok(h.finalize()),
            Ok(n) => {
                h.update_rayon(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn entry_path(dir: &Path, key: &str, kind: Entry) -> PathBuf {
    dir.join(format!("{key}.{}", kind.ext()))
}

/// The length of the module in an entry of `len` bytes whose trailer is
/// `trailer`, if the trailer is whole and was written for `key` (the
/// digest is checked by the caller).
fn module_len(len: u64, trailer: &[u8; TRAILER], key: &str) -> Option<u64> {
    let (stored_key, rest) = trailer.split_at(KEY_LEN);
    let format = &rest[DIGEST..];
    (len > TRAILER as u64 && key.len() == KEY_LEN && format == FORMAT && stored_key == key.as_bytes())
        .then(|| len - TRAILER as u64)
}

fn stored_digest(trailer: &[u8; TRAILER]) -> &[u8] {
    &trailer[KEY_LEN..KEY_LEN + DIGEST]
}

/// Removes a bad entry so it gets rebuilt.
fn reject(path: &Path) {
    tracing::warn!(path = %path.display(), "cache entry is truncated, corrupt or foreign; rebuilding");
    let _ = std::fs::remove_file(path);
}

/// The file of a valid entry, or `None` (a bad entry is removed). The
/// module is hashed as it streams through a small buffer: nothing the size
/// of the module is allocated.
fn checked_file(path: &Path, key: &str) -> Option<std::fs::File> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let checked = (|| {
        let len = file.metadata().ok()?.len();
        let mut trailer = [0u8; TRAILER];
        file.seek(SeekFrom::End(-(TRAILER.min(len as usize) as i64))).ok()?;
        file.read_exact(&mut trailer).ok()?;
        let module = module_len(len, &trailer, key)?;
        file.rewind().ok()?;
        let digest = digest_read(key, (&file).take(module)).ok()?;
        (digest.as_bytes()[..] == *stored_digest(&trailer)).then_some(())
    })();
    match checked {
        Some(()) => Some(file),
        None => {
            reject(path);
            None
        }
    }
}

/// Loads a cached module, or `None` when there is no valid entry (a bad
/// entry is removed so it gets rebuilt).
pub(crate) fn load(engine: &Engine, dir: &Path, key: &str, kind: Entry) -> Option<Module> {
    let path = entry_path(dir, key, kind);
    let file = checked_file(&path, key)?;
    // SAFETY: `Module::deserialize_open_file` maps the file and runs the
    // native code in it. The file was written by `store` below for exactly
    // this key (the digest over key and module matches, so it is whole and
    // unmodified), entries are replaced by renaming, never rewritten, so the
    // mapping cannot change under the module, and wasmtime's own header
    // check rejects modules from another wasmtime version or engine
    // configuration. The trailer after the module is outside every section
    // wasmtime reads.
    match unsafe { Module::deserialize_open_file(engine, file) } {
        Ok(module) => Some(module),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cache entry rejected by wasmtime; rebuilding");
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// The bytes of a valid entry, or `None` (a bad entry is removed).
pub(crate) fn load_bytes(dir: &Path, key: &str, kind: Entry) -> Option<Vec<u8>> {
    let path = entry_path(dir, key, kind);
    let mut bytes = std::fs::read(&path).ok()?;
    let len = bytes.len() as u64;
    let trailer: Option<&[u8; TRAILER]> = bytes.get(bytes.len().saturating_sub(TRAILER)..).and_then(|t| t.try_into().ok());
    let valid = trailer.and_then(|trailer| {
        let module = module_len(len, trailer, key)? as usize;
        let digest = digest(key, &bytes[..module]);
        (digest.as_bytes()[..] == *stored_digest(trailer)).then_some(module)
    });
    let Some(module) = valid else {
        reject(&path);
        return None;
    };
    bytes.truncate(module);
    Some(bytes)
}

/// Stores a compiled module under `key`.
pub(crate) fn store(dir: &Path, key: &str, kind: Entry, module: &Module) -> Result<()> {
    let compiled = module.serialize().map_err(|e| Error::Cache(format!("{}: {e}", dir.display())))?;
    store_bytes(dir, key, kind, &compiled)
}

/// Stores `compiled` (a module's bytes) under `key`, whole or not at all.
pub(crate) fn store_bytes(dir: &Path, key: &str, kind: Entry, compiled: &[u8]) -> Result<()> {
    let cache_error = |e: &dyn std::fmt::Display| Error::Cache(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|e| cache_error(&e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| cache_error(&e))?;
    let digest = digest(key, compiled);
    tmp.write_all(compiled).map_err(|e| cache_error(&e))?;
    tmp.write_all(key.as_bytes()).map_err(|e| cache_error(&e))?;
    tmp.write_all(digest.as_bytes()).map_err(|e| cache_error(&e))?;
    tmp.write_all(FORMAT).map_err(|e| cache_error(&e))?;
    tmp.persist(entry_path(dir, key, kind)).map_err(|e| cache_error(&e))?;
    Ok(())
}

fn manifest_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}{MANIFEST_SUFFIX}"))
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
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| cache_error(&e))?;
    tmp.write_all(&json).map_err(|e| cache_error(&e))?;
    tmp.persist(path).map_err(|e| cache_error(&e))?;
    Ok(())
}

/// The manifest stored for the entry under `key` (empty when there is none:
/// the snapshot read no file).
pub(crate) fn stored_manifest(dir: &Path, key: &str) -> Manifest {
    std::fs::read(manifest_path(dir, key))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    //! The entry checks, on a tiny module (compiling the real guest is the
    //! factory tests' job: `tests/cache.rs`).

    use super::*;
    use wasmtime::{Config, ModuleVersionStrategy};

    /// The smallest valid wasm module: magic and version.
    const EMPTY_WASM: &[u8] = b"\0asm\x01\0\0\0";

    fn engine(fuel: bool) -> Engine {
        let mut config = Config::new();
        config.consume_fuel(fuel);
        Engine::new(&config).unwrap()
    }

    fn stored(engine: &Engine) -> (tempfile::TempDir, String, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let key = key(engine, &blake3::hash(EMPTY_WASM), Some("{}"), Clock::System);
        let module = Module::new(engine, EMPTY_WASM).unwrap();
        store(dir.path(), &key, Entry::Runtime, &module).unwrap();
        let path = entry_path(dir.path(), &key, Entry::Runtime);
        (dir, key, path)
    }

    fn assert_rebuilt(engine: &Engine, dir: &Path, key: &str, what: &str) {
        assert!(load(engine, dir, key, Entry::Runtime).is_none(), "{what}: the entry was loaded");
        assert!(!entry_path(dir, key, Entry::Runtime).exists(), "{what}: the bad entry was left in place");
    }

    #[test]
    fn a_whole_entry_loads() {
        let engine = engine(false);
        let (dir, key, path) = stored(&engine);
        assert!(std::fs::metadata(&path).unwrap().len() > TRAILER as u64);
        assert!(load(&engine, dir.path(), &key, Entry::Runtime).is_some());
        // Nothing but the entry is left behind (the temp file was renamed).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn truncated_entries_are_rebuilt() {
        let engine = engine(false);
        let (dir, key, path) = stored(&engine);
        let whole = std::fs::read(&path).unwrap();
        for len in [0, 7, FORMAT.len() + 10, TRAILER, TRAILER + 1, whole.len() / 2, whole.len() - 1] {
            std::fs::write(&path, &whole[..len]).unwrap();
            assert_rebuilt(&engine, dir.path(), &key, &format!("truncated to {len} bytes"));
        }
    }

    #[test]
    fn flipped_bytes_are_rebuilt() {
        let engine = engine(false);
        let (dir, key, path) = stored(&engine);
        let whole = std::fs::read(&path).unwrap();
        // All over the module, then one byte in each part of the trailer:
        // key, digest, format.
        let module = whole.len() - TRAILER;
        let mut offsets: Vec<usize> = (0..module).step_by(module / 16 + 1).collect();
        offsets.extend([module - 1, module + 3, module + KEY_LEN + 5, whole.len() - 1]);
        for at in offsets {
            let mut bad = whole.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            assert_rebuilt(&engine, dir.path(), &key, &format!("byte {at} flipped"));
        }
    }

    #[test]
    fn entries_of_other_keys_are_rebuilt() {
        // An entry written for other inputs (another jsbox version, guest or
        // registry has another key) and copied or renamed onto this key.
        let engine = engine(false);
        let (dir, key, path) = stored(&engine);
        let other = key_with_version(&engine, "0.0.0-other");
        assert_ne!(other, key);
        std::fs::copy(&path, entry_path(dir.path(), &other, Entry::Runtime)).unwrap();
        assert_rebuilt(&engine, dir.path(), &other, "an entry of another key");
        assert!(load(&engine, dir.path(), &key, Entry::Runtime).is_some(), "the original entry still loads");
    }

    #[test]
    fn entries_from_another_wasmtime_are_rebuilt() {
        // An entry that passes jsbox's checks but whose module another
        // wasmtime version compiled (wasmtime stamps its version into the
        // module; `Custom` stands in for another release): wasmtime's own
        // header check refuses it.
        let engine = engine(false);
        let (dir, key, path) = stored(&engine);
        let mut config = Config::new();
        config.module_version(ModuleVersionStrategy::Custom("47".into())).unwrap();
        let older = Engine::new(&config).unwrap();
        let foreign = Module::new(&older, EMPTY_WASM).unwrap().serialize().unwrap();
        store_bytes(dir.path(), &key, Entry::Runtime, &foreign).unwrap();
        assert!(checked_file(&path, &key).is_some(), "sanity: jsbox's checks pass");
        assert_rebuilt(&engine, dir.path(), &key, "a module of another wasmtime version");
    }

    #[test]
    fn entries_from_another_engine_configuration_are_rebuilt() {
        // Same key on disk, module compiled with fuel metering: the engine
        // without it must not run that code.
        let fuel = engine(true);
        let (dir, key, _) = stored(&fuel);
        assert_rebuilt(&engine(false), dir.path(), &key, "a module of another configuration");
    }

    #[test]
    fn the_key_covers_every_input() {
        let plain = engine(false);
        let base = key(&plain, &blake3::hash(EMPTY_WASM), Some("{}"), Clock::System);
        assert_eq!(base, key(&plain, &blake3::hash(EMPTY_WASM), Some("{}"), Clock::System), "the key is stable");
        assert_eq!(base.len(), KEY_LEN);
        assert_eq!(key_with_version(&plain, env!("CARGO_PKG_VERSION")), base, "the test's key is jsbox's");
        let others = [
            key(&plain, &blake3::hash(b"\0asm\x01\0\0\0\0"), Some("{}"), Clock::System),
            key(&plain, &blake3::hash(EMPTY_WASM), Some("{\"modules\":{}}"), Clock::System),
            key(&plain, &blake3::hash(EMPTY_WASM), None, Clock::System),
            key(&plain, &blake3::hash(EMPTY_WASM), Some("{}"), Clock::Frozen(0)),
            key(&engine(true), &blake3::hash(EMPTY_WASM), Some("{}"), Clock::System),
            key_with_version(&plain, "0.0.0-other"),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&base, other, "input {i} does not change the key");
        }
    }

    #[test]
    fn clear_removes_entries_and_leftovers_only() {
        let engine = engine(false);
        let (dir, _key, _) = stored(&engine);
        std::fs::write(dir.path().join(format!("{TMP_PREFIX}abc{TMP_SUFFIX}")), b"half").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let cache = CacheDir::Path(dir.path().to_path_buf());
        let (files, bytes) = cache.clear().unwrap();
        assert_eq!(files, 2);
        assert!(bytes > TRAILER as u64);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["notes.txt"]);
        assert_eq!(CacheDir::Path(dir.path().join("missing")).clear().unwrap(), (0, 0));
        assert_eq!(CacheDir::Off.clear().unwrap(), (0, 0));
    }

    /// `key` as another jsbox version would compute it.
    fn key_with_version(engine: &Engine, version: &str) -> String {
        let mut h = blake3::Hasher::new();
        h.update(FORMAT);
        update_sized(&mut h, version.as_bytes());
        h.update(blake3::hash(EMPTY_WASM).as_bytes());
        h.update(b"snapshot");
        update_sized(&mut h, b"{}");
        update_sized(&mut h, format!("{:?}", Clock::System).as_bytes());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut Blake3Hasher(&mut h));
        h.finalize().to_hex().to_string()
    }
}
