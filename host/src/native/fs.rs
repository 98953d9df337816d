//! The built-in `fs` module: file access confined to directories the
//! embedder grants, enforced with capability handles (`cap-std`).
//!
//! JS names files by their host path (`/data/in/a.txt`) or relative to the
//! first grant. Every access is resolved beneath a granted directory handle:
//! absolute paths outside every grant, `..` components and symlinks leading
//! out are all denied with [`Error::Denied`]. Writes need a read-write grant.
//!
//! | JS | does |
//! |---|---|
//! | `readFileSync(path)` | the file's text (UTF-8) |
//! | `writeFileSync(path, text)` | creates or truncates the file |
//! | `readdirSync(path)` | the entry names, sorted |
//! | `existsSync(path)` | whether it exists (denied outside grants) |
//! | `mkdirSync(path, {recursive})` | creates a directory |

use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, DirBuilder};
use serde::Deserialize;

use super::{parse_args, to_json, NativeModule};
use crate::error::Error;

const MODULE: &str = "fs";

/// Whether a grant allows writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read files and list directories.
    ReadOnly,
    /// Also write files and create directories.
    ReadWrite,
}

/// A directory the embedder grants to scripts.
#[derive(Debug, Clone)]
pub struct FsGrant {
    /// The directory on the host.
    pub path: PathBuf,
    /// What scripts may do in it.
    pub access: Access,
}

struct OpenGrant {
    root: PathBuf,
    dir: Dir,
    access: Access,
}

/// The grants, opened once when the factory is built and shared by every
/// runtime (directory handles are safe to share).
pub(crate) struct Fs {
    grants: Vec<OpenGrant>,
}

fn denied(message: String) -> Error {
    Error::Denied(format!("fs: {message}"))
}

fn io_error(function: &str, path: &str, e: std::io::Error) -> Error {
    // cap-std reports escapes (a symlink or `..` leading out of the
    // directory) as PermissionDenied.
    if e.kind() == ErrorKind::PermissionDenied {
        return denied(format!("{path}: access outside the granted directory ({e})"));
    }
    Error::Host { module: MODULE.into(), function: function.into(), message: format!("{path}: {e}") }
}

impl Fs {
    pub(crate) fn open(grants: &[FsGrant]) -> Result<Self, Error> {
        let grants = grants
            .iter()
            .map(|g| {
                let root = std::fs::canonicalize(&g.path).map_err(|source| Error::Io {
                    context: format!("fs grant {}", g.path.display()),
                    source,
                })?;
                let dir = Dir::open_ambient_dir(&root, ambient_authority()).map_err(|source| Error::Io {
                    context: format!("fs grant {}", g.path.display()),
                    source,
                })?;
                Ok(OpenGrant { root, dir, access: g.access })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Fs { grants })
    }

    /// Finds the grant a JS path falls under and the path relative to it.
    fn resolve(&self, path: &str, write: bool) -> Result<(&OpenGrant, PathBuf), Error> {
        let p = Path::new(path);
        if p.components().any(|c| c == Component::ParentDir) {
            return Err(denied(format!("{path}: `..` is not allowed in paths")));
        }
        let found = if p.is_absolute() {
            self.grants
                .iter()
                .filter_map(|g| p.strip_prefix(&g.root).ok().map(|rel| (g, rel.to_path_buf())))
                // The most specific grant wins.
                .max_by_key(|(g, _)| g.root.as_os_str().len())
        } else {
            self.grants.first().map(|g| (g, p.to_path_buf()))
        };
        let (grant, rel) = found.ok_or_else(|| denied(format!("{path}: not inside a granted directory")))?;
        if write && grant.access != Access::ReadWrite {
            return Err(denied(format!("{path}: the grant {} is read-only", grant.root.display())));
        }
        let rel = if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel };
        Ok((grant, rel))
    }

    fn read_file(&self, path: &str) -> Result<String, Error> {
        let (g, rel) = self.resolve(path, false)?;
        g.dir.read_to_string(&rel).map_err(|e| io_error("readFileSync", path, e))
    }

    fn write_file(&self, path: &str, data: &str) -> Result<(), Error> {
        let (g, rel) = self.resolve(path, true)?;
        let mut file = g.dir.create(&rel).map_err(|e| io_error("writeFileSync", path, e))?;
        file.write_all(data.as_bytes()).map_err(|e| io_error("writeFileSync", path, e))
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, Error> {
        let (g, rel) = self.resolve(path, false)?;
        let mut names = g
            .dir
            .read_dir(&rel)
            .map_err(|e| io_error("readdirSync", path, e))?
            .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| io_error("readdirSync", path, e))?;
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &str) -> Result<bool, Error> {
        let (g, rel) = self.resolve(path, false)?;
        match g.dir.try_exists(&rel) {
            Ok(b) => Ok(b),
            Err(e) => Err(io_error("existsSync", path, e)),
        }
    }

    fn mkdir(&self, path: &str, recursive: bool) -> Result<(), Error> {
        let (g, rel) = self.resolve(path, true)?;
        let mut builder = DirBuilder::new();
        builder.recursive(recursive);
        g.dir.create_dir_with(&rel, &builder).map_err(|e| io_error("mkdirSync", path, e))
    }
}

#[derive(Deserialize, Default)]
struct MkdirOptions {
    #[serde(default)]
    recursive: bool,
}

/// Builds the `fs` native module over `grants`.
pub(crate) fn module(grants: &[FsGrant]) -> Result<NativeModule, Error> {
    let fs = Arc::new(Fs::open(grants)?);
    let (a, b, c, d, e) = (fs.clone(), fs.clone(), fs.clone(), fs.clone(), fs);
    Ok(NativeModule::new(MODULE)
        .raw("readFileSync", move |args| {
            let (path, _encoding): (String, Option<serde_json::Value>) = parse_args(MODULE, "readFileSync", args)?;
            to_json(MODULE, "readFileSync", &a.read_file(&path)?)
        })
        .raw("writeFileSync", move |args| {
            let (path, data): (String, String) = parse_args(MODULE, "writeFileSync", args)?;
            b.write_file(&path, &data)?;
            Ok("null".into())
        })
        .raw("readdirSync", move |args| {
            let (path,): (String,) = parse_args(MODULE, "readdirSync", args)?;
            to_json(MODULE, "readdirSync", &c.read_dir(&path)?)
        })
        .raw("existsSync", move |args| {
            let (path,): (String,) = parse_args(MODULE, "existsSync", args)?;
            to_json(MODULE, "existsSync", &d.exists(&path)?)
        })
        .raw("mkdirSync", move |args| {
            let (path, options): (String, Option<MkdirOptions>) = parse_args(MODULE, "mkdirSync", args)?;
            e.mkdir(&path, options.unwrap_or_default().recursive)?;
            Ok("null".into())
        }))
}
