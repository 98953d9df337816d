//! Module files read the way `fs` reads granted files: through a
//! capability handle on their root directory (`cap-std`), so neither `..`
//! nor a symlink (to a file, to a directory, to `/proc/...`) leads out of
//! it, whatever the path says. Symlinks that stay inside the root (npm
//! workspaces, links between packages under `node_modules`) are followed.
//!
//! Every reader of module sources goes through here: node resolution's
//! [`super::vfs::Vfs`] (ES `import`, `require` and JSON modules under
//! [`crate::EngineOptions::module_root`]), [`crate::EngineOptions::module_dir`],
//! and [`DirLoader`], the [`ModuleLoader`] hosts use for a plugin's
//! relative `require`s (the CLI, `jsbox-datafusion`).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::error::{Error, Result};
use crate::registry::ModuleLoader;

/// What one path under the root holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Nothing there (or a file that is not UTF-8 text: no module).
    Missing,
    /// A directory.
    Dir,
    /// A file, with its text.
    File(String),
    /// The path leads out of the root (or the file may not be read): why.
    Refused(String),
}

/// A module root, opened once.
#[derive(Debug)]
pub(crate) struct Root {
    dir: Dir,
}

impl Root {
    /// Opens `path` (a directory) as a root.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Root { dir: Dir::open_ambient_dir(path, ambient_authority())? })
    }

    /// Looks at `rel`, a `/`-separated path relative to the root.
    pub(crate) fn entry(&self, rel: &str) -> Entry {
        let refused = |e: std::io::Error| {
            // cap-std reports a path that leads out (a symlink, `..`) as
            // PermissionDenied, as the OS does an unreadable file.
            if e.kind() == ErrorKind::PermissionDenied {
                Entry::Refused(format!("{rel}: {e} (module files are read only from inside the module root)"))
            } else {
                Entry::Missing
            }
        };
        match self.dir.metadata(rel) {
            Ok(m) if m.is_dir() => Entry::Dir,
            Ok(_) => match self.dir.read_to_string(rel) {
                Ok(text) => Entry::File(text),
                Err(e) => refused(e),
            },
            Err(e) => refused(e),
        }
    }
}

/// A [`ModuleLoader`] that serves the files under one directory by their
/// relative name (`lib/util.js`), read through a capability handle on it:
/// a name that is not a plain relative path is not served, and a file
/// reached through a symlink leading out of the directory (or to `/proc`)
/// fails the factory build with [`Error::ModuleRefused`] naming it.
/// Symlinks that stay inside the directory are followed.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("util.js"), "exports.twice = (x) => 2 * x;")?;
/// let options = jsbox::EngineOptions::new()
///     .module("main.js", "exports.run = (x) => require('./util').twice(x);")
///     .loader(jsbox::DirLoader::open(dir.path())?);
/// let mut rt = jsbox::EngineFactory::new(options)?.new_runtime()?;
/// assert_eq!(rt.call_module("main.js", "run", (21,))?, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DirLoader {
    root: std::sync::Arc<Root>,
    path: PathBuf,
}

impl DirLoader {
    /// Opens `dir`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `dir` is not a directory that can be opened.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let path = dir.as_ref().to_path_buf();
        let root = Root::open(&path)
            .map_err(|source| Error::Io { context: format!("module directory {}", path.display()), source })?;
        Ok(DirLoader { root: std::sync::Arc::new(root), path })
    }

    /// The directory served.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text of file `name` under the directory: `Ok(None)` when there
    /// is none (or `name` is not a plain relative path).
    ///
    /// # Errors
    ///
    /// [`Error::ModuleRefused`] when the path leads out of the directory.
    pub fn read(&self, name: &str) -> Result<Option<String>> {
        if !super::is_contained_name(name) {
            return Ok(None);
        }
        match self.root.entry(name) {
            Entry::File(text) => Ok(Some(text)),
            Entry::Missing | Entry::Dir => Ok(None),
            Entry::Refused(reason) => Err(Error::ModuleRefused { module: name.to_string(), reason }),
        }
    }
}

impl ModuleLoader for DirLoader {
    fn load(&self, name: &str) -> Result<Option<String>> {
        self.read(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_inside_are_followed_and_out_refused() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir_all(root.join("packages/lib")).unwrap();
        std::fs::create_dir_all(root.join("node_modules")).unwrap();
        std::fs::write(top.path().join("secret.json"), "{\"secret\": 1}").unwrap();
        std::fs::write(root.join("packages/lib/index.js"), "exports.x = 1;").unwrap();
        symlink("../packages/lib", root.join("node_modules/lib")).unwrap();
        symlink("../secret.json", root.join("data.json")).unwrap();
        symlink("/proc/self/environ", root.join("env.json")).unwrap();
        symlink("..", root.join("up")).unwrap();
        let r = Root::open(&root).unwrap();
        assert_eq!(r.entry("node_modules/lib/index.js"), Entry::File("exports.x = 1;".into()));
        assert_eq!(r.entry("node_modules/lib"), Entry::Dir);
        assert_eq!(r.entry("nothing.js"), Entry::Missing);
        for escape in ["data.json", "env.json", "up/secret.json", "up", "../secret.json"] {
            assert!(matches!(r.entry(escape), Entry::Refused(_)), "{escape}: {:?}", r.entry(escape));
        }
        let loader = DirLoader::open(&root).unwrap();
        assert!(loader.read("node_modules/lib/index.js").unwrap().is_some());
        // Not a plain relative name: not served, not an error.
        assert_eq!(loader.read("../secret.json").unwrap(), None);
        let err = loader.read("data.json").unwrap_err();
        assert!(matches!(&err, Error::ModuleRefused { module, .. } if module == "data.json"), "{err}");
    }
}
