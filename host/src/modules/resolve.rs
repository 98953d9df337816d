//! Node's module resolution, over a [`Vfs`]: relative and absolute
//! specifiers, bare specifiers from `node_modules` up the tree, package.json
//! `exports` (subpaths, conditions, `*` patterns) and `imports` (`#x`),
//! `module` and `main`, directory `index`, and the module format
//! (`.mjs`/`.cjs`/`.json`, or `.js` by the nearest package.json `"type"`;
//! a `.js` file no `"type"` covers is [`Format::Detect`]: node 22's syntax
//! detection, done by the guest's parser).
//!
//! Paths are relative to the sandbox root, `/`-separated, never above it
//! (`..` at the root stays at the root, as in a chroot).

use super::json::{self, Map, Value};

use super::vfs::Vfs;

/// Whether the specifier was imported or required (selects the `import` or
/// `require` condition and node's stricter ESM file lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Import,
    Require,
}

/// How a module file is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Esm,
    CommonJs,
    Json,
    /// A `.js` (or extensionless) file whose nearest package.json has no
    /// `"type"` (or that has no package.json): CommonJS unless it does not
    /// compile as CommonJS (an `import`/`export` statement, `import.meta`,
    /// top-level `await`), then an ES module. Node 22 (and 20.19) decide
    /// such files this way, and bundlers by the same syntax; so the
    /// `import`/`module`/`browser` build of a package that ships ES-module
    /// `.js` files without `"type": "module"` loads as the ES module it is.
    /// The guest decides, with the parser that will run the file.
    Detect,
}

impl Format {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Esm => "esm",
            Format::CommonJs => "cjs",
            Format::Json => "json",
            Format::Detect => "detect",
        }
    }
}

/// What a specifier resolved to.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) path: String,
    pub(crate) format: Format,
    pub(crate) source: String,
}

/// The inputs of one resolution.
pub(crate) struct Resolver<'a> {
    pub(crate) fs: &'a Vfs,
    /// The user's conditions (without `import`/`require`/`default`).
    pub(crate) conditions: &'a [String],
    /// Registry names that are ES modules whatever their extension.
    pub(crate) esm_names: &'a std::collections::BTreeSet<String>,
}

/// `dir` joined with a relative path, normalised; never above the root.
pub(crate) fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') { Vec::new() } else { dir.split('/').filter(|p| !p.is_empty()).collect() };
    for part in rel.split('/') {
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

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        None
    } else {
        Some(path.rfind('/').map_or("", |i| &path[..i]))
    }
}

fn is_path(spec: &str) -> bool {
    spec == "." || spec == ".." || spec.starts_with("./") || spec.starts_with("../") || spec.starts_with('/')
}

impl Resolver<'_> {
    /// Resolves `spec` imported or required from `from` (a module path, or a
    /// directory when it ends in `/`).
    pub(crate) fn resolve(&self, from: &str, spec: &str, mode: Mode) -> Result<Resolved, String> {
        let from_dir = if from.ends_with('/') { join(from, ".") } else { parent(&join("", from)).unwrap_or("").to_string() };
        let shown = format!("/{from}");
        let not_found = || format!("Cannot find module '{spec}' imported from {shown}");
        let path = if is_path(spec) {
            let p = join(&from_dir, spec);
            match mode {
                // Node's ESM loader wants the exact file; say what would do.
                Mode::Import => {
                    if self.fs.is_file(&p) {
                        p
                    } else if let Some(hint) = self.file_or_dir(&p) {
                        return Err(format!("{} (ES module imports need the full path: did you mean '{}'?)", not_found(), hint_spec(spec, &p, &hint)));
                    } else {
                        return Err(not_found());
                    }
                }
                Mode::Require => self.file_or_dir(&p).ok_or_else(not_found)?,
            }
        } else if let Some(rest) = spec.strip_prefix('#') {
            let _ = rest;
            self.package_imports(&from_dir, spec, mode).map_err(|e| format!("{e} (imported from {shown})"))?
        } else if self.fs.in_registry(spec) {
            spec.to_string()
        } else {
            self.package(&from_dir, spec, mode).map_err(|e| format!("{e} (imported from {shown})"))?
        };
        let source = self.fs.read(&path).ok_or_else(not_found)?;
        Ok(Resolved { format: self.format(&path), path, source })
    }

    fn conditions(&self, mode: Mode) -> Vec<&str> {
        let mut c = vec![if mode == Mode::Import { "import" } else { "require" }];
        c.extend(self.conditions.iter().map(String::as_str));
        c.push("default");
        c
    }

    /// LOAD_AS_FILE then LOAD_AS_DIRECTORY, as `require` does.
    fn file_or_dir(&self, p: &str) -> Option<String> {
        for candidate in [p.to_string(), format!("{p}.js"), format!("{p}.json"), format!("{p}.mjs"), format!("{p}.cjs")] {
            if self.fs.is_file(&candidate) {
                return Some(candidate);
            }
        }
        if self.fs.is_dir(p) {
            if let Some(main) = self.package_json(p).and_then(|pj| pj.get("main").and_then(Value::as_str).map(str::to_string)) {
                let m = join(p, &main);
                for candidate in [m.clone(), format!("{m}.js"), format!("{m}.json"), format!("{m}/index.js")] {
                    if self.fs.is_file(&candidate) {
                        return Some(candidate);
                    }
                }
            }
            for index in ["index.js", "index.json", "index.mjs", "index.cjs"] {
                let candidate = join(p, index);
                if self.fs.is_file(&candidate) {
                    return Some(candidate);
                }
            }
        }
        None
    }

    fn package_json(&self, dir: &str) -> Option<Value> {
        let text = self.fs.read(&join(dir, "package.json"))?;
        json::parse(&text)
    }

    /// A bare specifier: the registry, then `node_modules` up the tree.
    fn package(&self, from_dir: &str, spec: &str, mode: Mode) -> Result<String, String> {
        let mut parts = spec.splitn(if spec.starts_with('@') { 3 } else { 2 }, '/');
        let name = if spec.starts_with('@') {
            let scope = parts.next().unwrap_or_default();
            format!("{scope}/{}", parts.next().unwrap_or_default())
        } else {
            parts.next().unwrap_or_default().to_string()
        };
        let subpath = match parts.next() {
            Some(rest) => format!("./{rest}"),
            None => ".".to_string(),
        };
        if name.is_empty() || name.ends_with('/') || name.starts_with('.') {
            return Err(format!("'{spec}' is not a valid package name"));
        }
        let mut dir = Some(from_dir.to_string());
        while let Some(d) = dir {
            if !d.ends_with("node_modules") {
                let pkg = join(&d, &format!("node_modules/{name}"));
                if self.fs.is_dir(&pkg) {
                    return self.package_entry(&pkg, &subpath, mode);
                }
            }
            dir = parent(&d).map(str::to_string);
        }
        Err(format!("Cannot find package '{name}' (looked in node_modules from /{from_dir} up to the sandbox root)"))
    }

    /// The file `subpath` of the package in `pkg` names.
    fn package_entry(&self, pkg: &str, subpath: &str, mode: Mode) -> Result<String, String> {
        let pj = self.package_json(pkg).unwrap_or(Value::Null);
        if let Some(exports) = pj.get("exports").filter(|e| !e.is_null()) {
            let target = self
                .exports(pkg, subpath, exports, mode)?
                .ok_or_else(|| format!("Package subpath '{subpath}' is not defined by \"exports\" in /{pkg}/package.json"))?;
            return if self.fs.is_file(&target) {
                Ok(target)
            } else {
                Err(format!("'/{target}' (from the \"exports\" of /{pkg}/package.json) does not exist"))
            };
        }
        if subpath == "." {
            let conditions = self.conditions(mode);
            if mode == Mode::Import && conditions.contains(&"module") {
                if let Some(module) = pj.get("module").and_then(Value::as_str) {
                    let m = join(pkg, module);
                    if self.fs.is_file(&m) {
                        return Ok(m);
                    }
                }
            }
            return self.file_or_dir(pkg).ok_or_else(|| format!("package /{pkg} has no main file"));
        }
        let p = join(pkg, subpath);
        self.file_or_dir(&p).ok_or_else(|| format!("Cannot find '/{p}'"))
    }

    /// PACKAGE_EXPORTS_RESOLVE.
    fn exports(&self, pkg: &str, subpath: &str, exports: &Value, mode: Mode) -> Result<Option<String>, String> {
        let sugar = match exports {
            Value::Object(map) => !map.keys().any(|k| k.starts_with('.')),
            _ => true,
        };
        if sugar {
            return if subpath == "." { self.target(pkg, exports, None, mode) } else { Ok(None) };
        }
        let Value::Object(map) = exports else { return Ok(None) };
        self.match_map(pkg, subpath, map, mode)
    }

    /// Exact keys first, then the best `*` pattern (node's
    /// PATTERN_KEY_COMPARE: longest prefix, then longest key).
    fn match_map(&self, pkg: &str, key: &str, map: &Map, mode: Mode) -> Result<Option<String>, String> {
        if let Some(target) = map.get(key).filter(|_| !key.contains('*')) {
            return self.target(pkg, target, None, mode);
        }
        let mut best: Option<(&str, &str)> = None;
        for pattern in map.keys() {
            let Some(star) = pattern.find('*') else { continue };
            if pattern[star + 1..].contains('*') {
                continue;
            }
            let (prefix, suffix) = (&pattern[..star], &pattern[star + 1..]);
            if key.len() >= pattern.len() && key.starts_with(prefix) && key.ends_with(suffix) && key != prefix {
                let better = match best {
                    None => true,
                    Some((b, _)) => {
                        let bp = b.find('*').unwrap_or(b.len());
                        star > bp || (star == bp && pattern.len() > b.len())
                    }
                };
                if better {
                    best = Some((pattern, &key[prefix.len()..key.len() - suffix.len()]));
                }
            }
        }
        match best {
            Some((pattern, matched)) => match map.get(pattern) {
                Some(target) => self.target(pkg, target, Some(matched), mode),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// PACKAGE_TARGET_RESOLVE: strings, fallback arrays, condition objects
    /// (in the object's key order), null.
    fn target(&self, pkg: &str, target: &Value, matched: Option<&str>, mode: Mode) -> Result<Option<String>, String> {
        match target {
            Value::String(t) => {
                let t = match matched {
                    Some(m) => t.replace('*', m),
                    None => t.clone(),
                };
                if !t.starts_with("./") {
                    return Err(format!("invalid target '{t}' in /{pkg}/package.json (targets start with './')"));
                }
                let resolved = join(pkg, &t);
                if !(resolved == pkg || resolved.starts_with(&format!("{pkg}/"))) || t.split('/').any(|p| p == ".." || p == "node_modules") {
                    return Err(format!("invalid target '{t}' in /{pkg}/package.json (it leaves the package)"));
                }
                Ok(Some(resolved))
            }
            Value::Array(items) => {
                let mut last = Ok(None);
                for item in items {
                    last = self.target(pkg, item, matched, mode);
                    if let Ok(Some(_)) = last {
                        return last;
                    }
                }
                last
            }
            Value::Object(map) => {
                let conditions = self.conditions(mode);
                for (key, value) in map.iter() {
                    if conditions.contains(&key.as_str()) {
                        if let Some(found) = self.target(pkg, value, matched, mode)? {
                            return Ok(Some(found));
                        }
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// `#name` specifiers: the `imports` of the nearest package.json.
    fn package_imports(&self, from_dir: &str, spec: &str, mode: Mode) -> Result<String, String> {
        let mut dir = Some(from_dir.to_string());
        while let Some(d) = dir {
            if let Some(pj) = self.package_json(&d) {
                let Some(Value::Object(imports)) = pj.get("imports") else {
                    return Err(format!("'{spec}' is not defined by \"imports\" in /{d}/package.json"));
                };
                return match self.match_map(&d, spec, imports, mode) {
                    Ok(Some(t)) if self.fs.is_file(&t) => Ok(t),
                    Ok(Some(t)) => Err(format!("'/{t}' (from the \"imports\" of /{d}/package.json) does not exist")),
                    // A bare target ("#dep": "dep") names another package.
                    Err(_) => match imports.get(spec).and_then(|t| self.bare_import_target(t, mode)) {
                        Some(bare) => self.package(&d, &bare, mode),
                        None => Err(format!("'{spec}' is not defined by \"imports\" in /{d}/package.json")),
                    },
                    Ok(None) => Err(format!("'{spec}' is not defined by \"imports\" in /{d}/package.json")),
                };
            }
            dir = parent(&d).map(str::to_string);
        }
        Err(format!("'{spec}' is used outside any package"))
    }

    fn bare_import_target(&self, target: &Value, mode: Mode) -> Option<String> {
        match target {
            Value::String(s) if !s.starts_with("./") => Some(s.clone()),
            Value::Object(map) => {
                let conditions = self.conditions(mode);
                map.iter().filter(|(k, _)| conditions.contains(&k.as_str())).find_map(|(_, v)| self.bare_import_target(v, mode))
            }
            _ => None,
        }
    }

    /// The format of the file at `path`.
    pub(crate) fn format(&self, path: &str) -> Format {
        if self.esm_names.contains(path) {
            return Format::Esm;
        }
        let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        // Registry modules are CommonJS unless declared ES modules or `.mjs`:
        // a package.json on disk does not change what the embedder added.
        if self.fs.in_registry(path) {
            return match ext {
                "mjs" | "mts" => Format::Esm,
                "json" => Format::Json,
                _ => Format::CommonJs,
            };
        }
        match ext {
            "mjs" | "mts" => Format::Esm,
            "cjs" | "cts" => Format::CommonJs,
            "json" => Format::Json,
            _ => {
                // The nearest package.json's `"type"` decides; without one,
                // the file's syntax does.
                let mut dir = parent(path);
                while let Some(d) = dir {
                    if let Some(pj) = self.package_json(d) {
                        return match pj.get("type").and_then(Value::as_str) {
                            Some("module") => Format::Esm,
                            Some("commonjs") => Format::CommonJs,
                            _ => Format::Detect,
                        };
                    }
                    dir = parent(d);
                }
                Format::Detect
            }
        }
    }
}

/// The specifier the user meant, for the "did you mean" hint.
fn hint_spec(spec: &str, asked: &str, found: &str) -> String {
    match found.strip_prefix(asked) {
        Some(rest) => format!("{spec}{rest}"),
        None => format!("/{found}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn resolver_over(files: &[(&str, &str)], f: impl FnOnce(&Resolver<'_>)) {
        let registry: BTreeMap<String, String> = files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let fs = Vfs::new(None, registry);
        let conditions = vec!["browser".to_string(), "module".to_string()];
        let esm = BTreeSet::new();
        f(&Resolver { fs: &fs, conditions: &conditions, esm_names: &esm });
    }

    #[test]
    fn joins_inside_the_root() {
        assert_eq!(join("a/b", "../c"), "a/c");
        assert_eq!(join("", "../../x"), "x");
        assert_eq!(join("a", "/b/./c"), "b/c");
    }

    #[test]
    fn exports_conditions_patterns_and_formats() {
        let pj = r#"{"name":"p","type":"module","exports":{".":{"node":"./node.js","browser":"./browser.js","default":"./index.js"},"./feat/*":"./src/feat/*.js","./feat/internal/*":null,"./data":{"require":"./data.cjs","import":"./data.mjs"}}}"#;
        let files = [
            ("node_modules/p/package.json", pj),
            ("node_modules/p/browser.js", "export default 1"),
            ("node_modules/p/src/feat/x.js", ""),
            ("node_modules/p/data.cjs", ""),
            ("node_modules/p/data.mjs", ""),
            ("lib/a.mjs", ""),
        ];
        resolver_over(&files, |r| {
            let got = r.resolve("lib/a.mjs", "p", Mode::Import).unwrap();
            // These files are registry entries (not on disk), and registry
            // modules are CommonJS unless declared ES modules or `.mjs`;
            // "type": "module" on disk is covered by tests/esm.rs.
            assert_eq!((got.path.as_str(), got.format), ("node_modules/p/browser.js", Format::CommonJs));
            assert_eq!(r.resolve("lib/a.mjs", "p/feat/x", Mode::Import).unwrap().path, "node_modules/p/src/feat/x.js");
            assert!(r.resolve("lib/a.mjs", "p/feat/internal/y", Mode::Import).is_err());
            assert_eq!(r.resolve("lib/a.mjs", "p/data", Mode::Require).unwrap().format, Format::CommonJs);
            assert_eq!(r.resolve("lib/a.mjs", "p/data", Mode::Import).unwrap().format, Format::Esm);
            let e = r.resolve("lib/a.mjs", "p/nope", Mode::Import).unwrap_err();
            assert!(e.contains("not defined by \"exports\""), "{e}");
            let e = r.resolve("lib/a.mjs", "missing", Mode::Import).unwrap_err();
            assert!(e.contains("Cannot find package 'missing'") && e.contains("lib/a.mjs"), "{e}");
        });
    }

    #[test]
    fn typeless_js_files_are_left_to_syntax_detection() {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [
            ("untyped/package.json", r#"{"name":"untyped"}"#),
            ("typed-cjs/package.json", r#"{"type":"commonjs"}"#),
            ("typed-esm/package.json", r#"{"type":"module"}"#),
            ("untyped/a.js", ""),
            ("typed-cjs/a.js", ""),
            ("typed-esm/a.js", ""),
            ("untyped/b.cjs", ""),
            ("loose.js", ""),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let fs = Vfs::new(Some(dir.path().to_path_buf()), BTreeMap::new());
        let esm = BTreeSet::new();
        let r = Resolver { fs: &fs, conditions: &[], esm_names: &esm };
        let formats: Vec<Format> =
            ["untyped/a.js", "typed-cjs/a.js", "typed-esm/a.js", "untyped/b.cjs", "loose.js"].iter().map(|p| r.format(p)).collect();
        assert_eq!(formats, [Format::Detect, Format::CommonJs, Format::Esm, Format::CommonJs, Format::Detect]);
    }

    #[test]
    fn relative_main_index_and_imports() {
        let files = [
            ("app/package.json", r##"{"imports":{"#util":"./src/util.js"}}"##),
            ("app/src/util.js", ""),
            ("app/main.js", ""),
            ("node_modules/old/package.json", r#"{"main":"lib/entry","module":"esm/entry.js"}"#),
            ("node_modules/old/lib/entry.js", ""),
            ("node_modules/old/esm/entry.js", ""),
            ("node_modules/dir/index.js", ""),
        ];
        resolver_over(&files, |r| {
            assert_eq!(r.resolve("app/main.js", "#util", Mode::Import).unwrap().path, "app/src/util.js");
            assert_eq!(r.resolve("app/main.js", "old", Mode::Require).unwrap().path, "node_modules/old/lib/entry.js");
            assert_eq!(r.resolve("app/main.js", "old", Mode::Import).unwrap().path, "node_modules/old/esm/entry.js");
            assert_eq!(r.resolve("app/main.js", "dir", Mode::Import).unwrap().path, "node_modules/dir/index.js");
            assert_eq!(r.resolve("app/", "./src/util", Mode::Require).unwrap().path, "app/src/util.js");
            let e = r.resolve("app/main.js", "./src/util", Mode::Import).unwrap_err();
            assert!(e.contains("did you mean './src/util.js'"), "{e}");
        });
    }
}
