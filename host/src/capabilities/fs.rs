//! The built-in `fs` module: file access confined to directories the
//! embedder grants, enforced with capability handles (`cap-std`).
//!
//! The path rule (documented for users in the crate docs, "Filesystem
//! grants and paths"): grants and the relative paths scripts pass are both
//! resolved against one working directory, fixed when the factory is built;
//! a path is then looked up beneath the most specific grant that contains
//! it, by the grant's path as given or its canonical path. Every access goes
//! through that grant's directory handle, so `..` and symlinks cannot lead
//! out, whatever the path says.

use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, DirBuilder};
use serde::Deserialize;

use super::{Capability, GrantKey};
use crate::error::Error;
use crate::native::{parse_args, to_json, NativeModule};
use crate::options::EngineOptions;

const MODULE: &str = "fs";

/// `fs`, turned on by a `read` or `write` grant.
pub(crate) const CAPABILITY: Capability = Capability {
    module: MODULE,
    requirable: true,
    grants: &[
        GrantKey {
            key: "read",
            value_name: "DIR",
            path: true,
            help: "Grant `require('fs')` read access to DIR and everything beneath it. Relative paths, here and in the plugin's `fs` calls, are resolved against the working directory.",
        },
        GrantKey {
            key: "write",
            value_name: "DIR",
            path: true,
            help: "Grant `require('fs')` read and write access to DIR and everything beneath it.",
        },
    ],
    build: module,
    declarations: include_str!("fs.d.ts"),
};

/// Whether a grant allows writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Read files and list directories.
    ReadOnly,
    /// Also write files and create directories.
    ReadWrite,
}

/// A directory the embedder grants to scripts.
#[derive(Debug, Clone)]
struct FsGrant {
    /// The directory on the host.
    path: PathBuf,
    /// What scripts may do in it.
    access: Access,
}

struct OpenGrant {
    /// The names a script may use for the grant's directory: the path as
    /// granted (made absolute against the working directory) and its
    /// canonical path (symlinks resolved), when they differ.
    roots: Vec<PathBuf>,
    dir: Dir,
    access: Access,
}

/// The grants, opened once when the factory is built and shared by every
/// runtime (directory handles are safe to share).
struct Fs {
    grants: Vec<OpenGrant>,
    /// What relative paths are resolved against.
    working_dir: PathBuf,
}

/// `path` without `.` components and with `..` applied to the components
/// before it (only for the embedder's grant paths, which are trusted; the
/// directory handle is what confines scripts).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The working directory of a factory's `fs` module: `dir` made absolute
/// against the process's current directory, or that directory itself.
fn working_dir(dir: Option<&Path>) -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir()
        .map_err(|source| Error::Io { context: "the current directory (the fs working directory)".into(), source })?;
    Ok(normalize(&match dir {
        Some(d) => cwd.join(d),
        None => cwd,
    }))
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
    /// Opens `grants`, resolving relative ones against `working_dir` (an
    /// absolute path).
    fn open(grants: &[FsGrant], working_dir: PathBuf) -> Result<Self, Error> {
        let grants = grants
            .iter()
            .map(|g| {
                let io = |source| Error::Io { context: format!("fs grant {}", g.path.display()), source };
                let given = normalize(&working_dir.join(&g.path));
                let canonical = std::fs::canonicalize(&given).map_err(io)?;
                let dir = Dir::open_ambient_dir(&canonical, ambient_authority()).map_err(io)?;
                let mut roots = vec![given];
                if roots[0] != canonical {
                    roots.push(canonical);
                }
                Ok(OpenGrant { roots, dir, access: g.access })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Fs { grants, working_dir })
    }

    /// Finds the grant a JS path falls under and the path relative to it.
    fn resolve(&self, path: &str, write: bool) -> Result<(&OpenGrant, PathBuf), Error> {
        let p = Path::new(path);
        if p.components().any(|c| c == Component::ParentDir) {
            return Err(denied(format!("{path}: `..` is not allowed in paths")));
        }
        // `join` keeps an absolute `p` as it is; `components` drops the
        // `.`s, so `./a`, `a/./b` and `a/` compare as expected.
        let absolute: PathBuf = self.working_dir.join(p).components().collect();
        let (grant, root, rel) = self
            .grants
            .iter()
            .flat_map(|g| g.roots.iter().map(move |root| (g, root)))
            .filter_map(|(g, root)| absolute.strip_prefix(root).ok().map(|rel| (g, root, rel.to_path_buf())))
            // The most specific grant wins.
            .max_by_key(|(_, root, _)| root.as_os_str().len())
            .ok_or_else(|| {
                let resolved = if p.is_absolute() {
                    String::new()
                } else {
                    format!(" (relative paths are resolved against {})", self.working_dir.display())
                };
                denied(format!("{path}: not inside a granted directory{resolved}"))
            })?;
        if write && grant.access != Access::ReadWrite {
            return Err(denied(format!("{path}: the grant {} is read-only", root.display())));
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

/// Builds the `fs` native module over `grants`, with relative paths
/// resolved against `working_dir` (see [`working_dir`]).
fn module(options: &EngineOptions) -> Result<NativeModule, Error> {
    let grants = options.sandbox.grants.get("read").iter().map(|p| FsGrant { path: p.into(), access: Access::ReadOnly });
    let grants: Vec<FsGrant> =
        grants.chain(options.sandbox.grants.get("write").iter().map(|p| FsGrant { path: p.into(), access: Access::ReadWrite })).collect();
    let fs = Arc::new(Fs::open(&grants, working_dir(options.sandbox.working_dir.as_deref())?)?);
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
