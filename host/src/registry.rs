//! The module registry: the JS modules baked into a factory's snapshot.
//!
//! Modules come from three places, all read when the factory is built (never
//! at `require` time, so runtimes do no I/O):
//! - sources given directly ([`crate::EngineOptions::module`]);
//! - a directory ([`crate::EngineOptions::module_dir`]): every `.js` and
//!   `.json` file under it, named by its relative path;
//! - loaders ([`ModuleLoader`]): asked for every name some baked module
//!   `require`s with a string literal and that nothing else provides, until
//!   nothing new turns up (like the seed's `require.WithLoader`, moved to
//!   build time).
//!
//! Names are paths without a leading `/` (`lib/util.js`) or bare names
//! (`math`). `require("./x")` inside `lib/a.js` looks for `lib/x`,
//! `lib/x.js`, `lib/x.json` and `lib/x/index.js`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::modules::confined::Entry;

/// Supplies module sources by name while a factory is built.
///
/// Any `Fn(&str) -> Option<String>` is a loader.
pub trait ModuleLoader: Send + Sync {
    /// The source of module `name`, or `None` if this loader has none.
    ///
    /// # Errors
    ///
    /// An error aborts the factory build.
    fn load(&self, name: &str) -> Result<Option<String>>;
}

impl<F> ModuleLoader for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn load(&self, name: &str) -> Result<Option<String>> {
        Ok(self(name))
    }
}

/// Reads every `.js`/`.json` file under `dir` into `(name, source)` pairs.
/// Files are read through [`crate::modules::confined`]: a symlink leading
/// out of `dir` fails with [`Error::ModuleRefused`]. (Symlinked directories
/// are not descended into.)
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<(String, String)>> {
    let root = crate::modules::confined::Root::open(dir)
        .map_err(|source| Error::Io { context: format!("module dir {}", dir.display()), source })?;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let io = |source| Error::Io { context: format!("module dir {}", current.display()), source };
        for entry in std::fs::read_dir(&current).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            if entry.file_type().map_err(io)?.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("js" | "json" | "cjs" | "mjs")) {
                let name = path
                    .strip_prefix(dir)
                    .map_err(|e| Error::InvalidOptions { option: "module_dir", reason: e.to_string() })?
                    .to_string_lossy()
                    .replace('\\', "/");
                match root.entry(&name) {
                    Entry::File(source) => out.push((name, source)),
                    Entry::Refused(reason) => return Err(Error::ModuleRefused { module: name, reason }),
                    Entry::Missing | Entry::Dir => {
                        return Err(Error::Io {
                            context: format!("module {}", path.display()),
                            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a UTF-8 text file"),
                        })
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The specifiers `source` (module `name`) passes to `require` as literals.
fn required_names(name: &str, source: &str) -> Vec<String> {
    crate::modules::literals::of(name, source).requires
}

/// Resolves `spec` as required from module `from` (a registry name) the way
/// the guest does, giving the base name to look for.
fn resolve_base(spec: &str, from: &str) -> String {
    let relative = spec.starts_with("./") || spec.starts_with("../");
    let joined = if relative {
        match from.rfind('/') {
            Some(i) => format!("{}/{spec}", &from[..i]),
            None => spec.to_string(),
        }
    } else {
        spec.trim_start_matches('/').to_string()
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Candidate names for a base, in the guest's lookup order.
fn candidates(base: &str) -> [String; 4] {
    [base.to_string(), format!("{base}.js"), format!("{base}.json"), format!("{base}/index.js")]
}

/// The built-in modules the guest implements itself (`PURE_MODULES` in
/// `guest/src/prelude.js`; `tests/wit_contract.rs` checks the two lists
/// agree): never asked of a loader.
pub(crate) const GUEST_BUILTINS: &[&str] = &["path", "console", "process", "buffer", "stream/web"];

/// Fills `modules` with what `loaders` provide for names required by the
/// modules and `extra_sources`, until nothing new turns up. `provided` are
/// names served elsewhere (native and built-in modules).
pub(crate) fn resolve_with_loaders(
    modules: &mut BTreeMap<String, String>,
    extra_sources: &[String],
    loaders: &[Arc<dyn ModuleLoader>],
    provided: &BTreeSet<String>,
) -> Result<()> {
    if loaders.is_empty() {
        return Ok(());
    }
    let mut asked: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<(String, String)> = extra_sources
        .iter()
        .flat_map(|s| required_names("init.js", s).into_iter().map(|n| (n, String::new())))
        .collect();
    for (name, source) in modules.iter() {
        queue.extend(required_names(name, source).into_iter().map(|n| (n, name.clone())));
    }
    while let Some((spec, from)) = queue.pop() {
        let base = resolve_base(&spec, &from);
        if provided.contains(&base) || candidates(&base).iter().any(|c| modules.contains_key(c)) {
            continue;
        }
        if !asked.insert(base.clone()) {
            continue;
        }
        for candidate in candidates(&base) {
            let mut found = None;
            for loader in loaders {
                if let Some(source) = loader.load(&candidate)? {
                    found = Some(source);
                    break;
                }
            }
            if let Some(source) = found {
                queue.extend(required_names(&candidate, &source).into_iter().map(|n| (n, candidate.clone())));
                modules.insert(candidate, source);
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_to_the_requiring_module() {
        assert_eq!(resolve_base("./x", "lib/a.js"), "lib/x");
        assert_eq!(resolve_base("../x", "lib/sub/a.js"), "lib/x");
        assert_eq!(resolve_base("x", "lib/a.js"), "x");
        assert_eq!(resolve_base("../../../etc", "a.js"), "etc");
    }

    #[test]
    fn loaders_fill_in_transitively() {
        let mut modules = BTreeMap::from([("main.js".to_string(), "require('./dep')".to_string())]);
        let loader: Arc<dyn ModuleLoader> = Arc::new(|name: &str| match name {
            "dep.js" => Some("module.exports = require('leaf')".to_string()),
            "leaf" => Some("module.exports = 1".to_string()),
            _ => None,
        });
        resolve_with_loaders(&mut modules, &[], &[loader], &BTreeSet::new()).unwrap();
        assert_eq!(modules.keys().collect::<Vec<_>>(), vec!["dep.js", "leaf", "main.js"]);
    }
}
