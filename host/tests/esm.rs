//! ES modules: real ESM-only npm packages from a checked-in `node_modules`
//! (tests/fixtures/esm, installed with npm), node's resolution rules,
//! interop with CommonJS both ways, `import.meta.url`, cycles, top-level
//! await, the module policy, the disk cache's file manifest, and the error
//! cases. Outputs are compared with node's and with recorded
//! outputs.

use std::path::{Path, PathBuf};
use jsbox::{CacheDir, CacheOutcome, DenyReason, EngineFactory, EngineOptions, Error, ModulePolicy};
use serde_json::{json, Value};

#[path = "support/node.rs"]
mod node;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esm")
}

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("esm-cache"))
}

fn plugin_options() -> EngineOptions {
    EngineOptions::new().cache(cache()).module_root(fixture()).import("./plugin.mjs")
}

/// What node prints for `plugin` (under the fixture) called with `input`.
fn node_output(plugin: &str, input: &Value, export: Option<&str>) -> Value {
    node_output_with_env(plugin, input, export, &[])
}

/// [`node_output`] with these environment variables (and no others that
/// node reads: `NODE_ENV` is removed unless given).
fn node_output_with_env(plugin: &str, input: &Value, export: Option<&str>, env: &[(&str, &str)]) -> Value {
    let mut cmd = node::node_command();
    cmd.current_dir(fixture()).env_remove("NODE_ENV").envs(env.iter().copied());
    cmd.arg("run-node.mjs").arg(plugin).arg(input.to_string());
    if let Some(e) = export {
        cmd.arg(e);
    }
    let out = cmd.output().expect("node ran");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("node prints JSON")
}

fn expected_summary() -> Value {
    json!({
        "camel": "helloBigWorld", "pascal": "HelloBigWorld", "escaped": "a\\.b\\*c",
        "total": "4.3333333333", "precise": "0.3", "idLength": 8, "secureId": true, "lengths": [5, 3, 5],
        "shapes": ["area", "default", "perimeter"], "area": 6, "describe": "shape box",
        "reexports": [20, 1, 6], "parity": [true, true], "legacy": ["legacy", 42, 9],
        "config": {"name": "fixture", "tags": ["a", "b"], "limit": 3}, "tableSize": 3, "url": true
    })
}

#[test]
fn plugin_with_npm_packages_matches_node() {
    let factory = EngineFactory::new(plugin_options()).unwrap();
    let input = json!({"words": ["hello", "big", "world"], "pattern": "a.b*c"});
    let mut rt = factory.new_runtime().unwrap();
    let got = rt.call_module("./plugin.mjs", "default", [&input]).unwrap();
    assert_eq!(got, expected_summary());
    assert_eq!(got, node_output("plugin.mjs", &input, None), "jsbox and node differ");
    // A named export, in a fresh runtime (everything came from the snapshot).
    let shout_input = json!({"words": ["a", "b"]});
    let mut rt = factory.new_runtime().unwrap();
    let got = rt.call_module("./plugin.mjs", "shout", [&shout_input]).unwrap();
    assert_eq!(got, json!("A B!"));
    assert_eq!(got, node_output("plugin.mjs", &shout_input, Some("shout")));
}

/// Packages shipping browser + import + require builds (uuid 9: ES-module
/// `.js` files without `"type": "module"`, found by syntax detection;
/// tiny-invariant: `process.env.NODE_ENV`), through import and require,
/// with `node:buffer` and `node:process`, with and without `NODE_ENV`.
#[test]
fn packages_with_browser_import_and_require_builds_match_node() {
    let input = json!({"name": "jsbox.dev", "ok": false});
    let expected = |invariant: &str, node_env: Value| {
        json!({
            "v5": "c952789b-b185-5e95-9cbc-fd401da76301", "v3": "f72bc015-5a27-31cc-9636-edddce1816a4",
            "valid": [true, false, true], "version": 5, "bytes": "c952789bb1855e959cbcfd401da76301",
            "required": ["80259d4b-f549-5f97-b071-e5d0d27b2892", true, "ODAyNTlkNGItZjU0OS01Zjk3LWIwNzEtZTVkMGQyN2IyODky"],
            "invariant": invariant, "nodeEnv": node_env, "sameProcess": true
        })
    };
    for node_env in [None, Some("production")] {
        let mut options = EngineOptions::new().cache(cache()).module_root(fixture()).import("./dual-builds.mjs");
        if let Some(v) = node_env {
            options = options.env("NODE_ENV", v);
        }
        let factory = EngineFactory::new(options).unwrap();
        let got = factory.new_runtime().unwrap().call_module("./dual-builds.mjs", "default", [&input]).unwrap();
        let want = match node_env {
            None => expected("Invariant failed: ok must be set", Value::Null),
            Some(v) => expected("Invariant failed", json!(v)),
        };
        assert_eq!(got, want);
        let env: Vec<(&str, &str)> = node_env.map(|v| ("NODE_ENV", v)).into_iter().collect();
        let node = node_output_with_env("dual-builds.mjs", &input, None, &env);
        assert_eq!(got, node, "jsbox and node differ (NODE_ENV={node_env:?})");
    }
}

/// Node 22's format rule for `.js` files no package.json `"type"` covers:
/// CommonJS when they compile as CommonJS, else ES modules; an explicit
/// `"type": "commonjs"` turns detection off.
#[test]
fn typeless_js_files_are_detected_by_their_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("node_modules/esm-js/package.json", r#"{"name":"esm-js","exports":{"require":"./index.cjs","browser":"./browser.js"}}"#);
    write("node_modules/esm-js/browser.js", "import { tag } from './tag.js';\nexport default tag + ' browser build';\n");
    write("node_modules/esm-js/tag.js", "export const tag = import.meta.url.endsWith('/tag.js') ? 'esm' : '?';\n");
    write("node_modules/esm-js/index.cjs", "module.exports = 'cjs build';\n");
    write("node_modules/cjs-js/package.json", r#"{"name":"cjs-js","main":"index.js"}"#);
    write("node_modules/cjs-js/index.js", "exports.kind = typeof module + ' ' + typeof require;\n");
    write("node_modules/typed/package.json", r#"{"name":"typed","type":"commonjs","main":"index.js"}"#);
    write("node_modules/typed/index.js", "export default 1;\n");
    write("req.cjs", "module.exports = require('esm-js');\n");
    write("main.mjs", "import e from 'esm-js';\nimport { kind } from 'cjs-js';\nimport r from './req.cjs';\nexport default () => [e, kind, r];\n");
    write("typed.mjs", "import t from 'typed';\nexport default t;\n");
    let open = |entry: &str| jsbox::open(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import(entry));
    let mut rt = open("./main.mjs").unwrap();
    // require() of the same package takes the "require" condition's build.
    assert_eq!(rt.eval("require('./main.mjs').default()").unwrap(), json!(["esm browser build", "object function", "cjs build"]));
    // "type": "commonjs" says CommonJS: `export` is a syntax error there.
    let e = open("./typed.mjs").unwrap_err();
    assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
}

#[test]
fn import_meta_url_and_require_of_an_es_module() {
    let options = EngineOptions::new()
        .cache(cache())
        .es_module("lib/meta.mjs", "export const url = import.meta.url;\nexport default 7;")
        .module("user.js", "const m = require('./lib/meta.mjs');\nexports.both = () => [m.default, m.url, Object.keys(m)];")
        .import("./lib/meta.mjs");
    let mut rt = jsbox::open(options).unwrap();
    assert_eq!(
        rt.eval("require('user.js').both()").unwrap(),
        json!([7, "file:///lib/meta.mjs", ["default", "url"]])
    );
    // Dynamic import() of what the registry holds, at run time.
    assert_eq!(rt.eval("import('./lib/meta.mjs').then((m) => m.default * 6)").unwrap(), json!(42));
}

#[test]
fn es_modules_import_commonjs_and_builtins() {
    let options = EngineOptions::new()
        .cache(cache())
        .module("legacy", "exports.x = 1;\nmodule.exports.y = 2;\nObject.defineProperty(exports, 'z', { value: 3, enumerable: true });")
        .module("obj.js", "const a = 1, b = 2;\nmodule.exports = { a, b: b };")
        .es_module(
            "main.mjs",
            "import legacy, { x, y, z } from 'legacy';\nimport whole, { a, b } from './obj.js';\n\
             import path, { join } from 'node:path';\nimport * as consoleNs from 'console';\n\
             export default () => [legacy.x, x, y, z, whole.a, a, b, join('a', '..', 'b'), path.sep, typeof consoleNs.default.log];",
        )
        .import("./main.mjs");
    let mut rt = jsbox::open(options).unwrap();
    assert_eq!(rt.eval("require('./main.mjs').default()").unwrap(), json!([1, 1, 2, 3, 1, 1, 2, "b", "/", "function"]));
}

#[test]
fn top_level_await_settles_in_the_snapshot_or_fails_clearly() {
    let ok = EngineOptions::new()
        .cache(cache())
        .es_module("tla.mjs", "const v = await Promise.all([1, Promise.resolve(2)]);\nexport const sum = v[0] + v[1];")
        .import("./tla.mjs");
    let mut rt = jsbox::open(ok).unwrap();
    assert_eq!(rt.eval("require('./tla.mjs').sum").unwrap(), json!(3));

    let never = EngineOptions::new().cache(cache()).es_module("wait.mjs", "await new Promise(() => {});\nexport default 1;").import("./wait.mjs");
    let err = EngineFactory::new(never).unwrap_err();
    assert!(err.to_string().contains("did not settle"), "{err}");

    // require() of a module with top-level await: refused, as in node 22.
    let lazy = EngineOptions::new()
        .cache(cache())
        .es_module("later.mjs", "await null;\nexport default 1;")
        .module("req.js", "module.exports = () => require('./later.mjs');");
    let mut rt = jsbox::open(lazy).unwrap();
    let err = rt.eval("require('req.js')()").unwrap_err();
    assert!(err.to_string().contains("top-level await"), "{err}");
}

#[test]
fn syntax_errors_point_at_the_module() {
    let options = EngineOptions::new()
        .cache(cache())
        .es_module("ok.mjs", "import { f } from './bad.mjs';\nexport default f;")
        .es_module("bad.mjs", "export const f = 1;\nexport const g = (;\n");
    // The registry compiles every ES module at build: bad.mjs fails there.
    match EngineFactory::new(options) {
        Err(Error::Syntax { location, .. }) => {
            assert_eq!((location.file.as_str(), location.line), ("/bad.mjs", 2), "{location}");
            assert!(location.column > 1, "{location}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    // On disk, through an import.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.mjs"), "import './lib/broken.mjs';\nexport default 1;\n").unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/broken.mjs"), "let ok = 1;\nlet x = = 2;\n").unwrap();
    let err = EngineFactory::new(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import("./main.mjs")).unwrap_err();
    match err {
        Error::Syntax { location, .. } => assert_eq!((location.file.as_str(), location.line), ("/lib/broken.mjs", 2)),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn unresolved_imports_name_the_specifier_and_the_importer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.mjs"), "import x from './lib/a.mjs';\nexport default x;\n").unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/a.mjs"), "import pad from 'left-pad';\nexport default pad;\n").unwrap();
    std::fs::write(dir.path().join("lib/noext.mjs"), "import './a';\n").unwrap();
    std::fs::write(dir.path().join("lib/os.mjs"), "import os from 'node:os';\n").unwrap();
    let build = |entry: &str| EngineFactory::new(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import(entry));
    match build("./main.mjs").unwrap_err() {
        Error::ModuleNotFound(m) => assert!(m.contains("'left-pad'") && m.contains("/lib/a.mjs"), "{m}"),
        other => panic!("expected ModuleNotFound, got {other:?}"),
    }
    match build("./lib/noext.mjs").unwrap_err() {
        Error::ModuleNotFound(m) => assert!(m.contains("did you mean './a.mjs'"), "{m}"),
        other => panic!("expected ModuleNotFound, got {other:?}"),
    }
    match build("./lib/os.mjs").unwrap_err() {
        Error::ModuleNotFound(m) => assert!(m.contains("not available in the sandbox"), "{m}"),
        other => panic!("expected ModuleNotFound, got {other:?}"),
    }
    match build("./missing.mjs").unwrap_err() {
        Error::ModuleNotFound(m) => assert!(m.contains("./missing.mjs"), "{m}"),
        other => panic!("expected ModuleNotFound, got {other:?}"),
    }
    // A name the module does not export.
    std::fs::write(dir.path().join("named.mjs"), "import { nope } from './lib/a2.mjs';\n").unwrap();
    std::fs::write(dir.path().join("lib/a2.mjs"), "export const yes = 1;\n").unwrap();
    let err = build("./named.mjs").unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn the_module_policy_applies_to_imports() {
    let denied = plugin_options().module_policy(ModulePolicy::Deny(["camelcase".to_string()].into()));
    match EngineFactory::new(denied).unwrap_err() {
        Error::ModuleDenied { module, reason } => assert_eq!((module.as_str(), reason), ("camelcase", DenyReason::Policy)),
        other => panic!("expected ModuleDenied, got {other:?}"),
    }
    let fs = EngineOptions::new().cache(cache()).es_module("f.mjs", "import fs from 'node:fs';").import("./f.mjs");
    match EngineFactory::new(fs).unwrap_err() {
        Error::ModuleDenied { module, reason } => assert_eq!((module.as_str(), reason), ("fs", DenyReason::NotGranted)),
        other => panic!("expected ModuleDenied, got {other:?}"),
    }
}

#[test]
fn conditions_pick_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("node_modules/dual");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name":"dual","exports":{".":{"node":"./node.js","browser":"./browser.mjs","default":"./node.js"},"./feature/*":"./features/*.mjs"}}"#,
    )
    .unwrap();
    std::fs::write(pkg.join("node.js"), "module.exports = 'node build';").unwrap();
    std::fs::write(pkg.join("browser.mjs"), "export default 'browser build';").unwrap();
    std::fs::create_dir(pkg.join("features")).unwrap();
    std::fs::write(pkg.join("features/x.mjs"), "export default 'feature x';").unwrap();
    std::fs::write(dir.path().join("main.mjs"), "import d from 'dual';\nimport x from 'dual/feature/x';\nexport default () => [d, x];\n").unwrap();
    let run = |options: EngineOptions| {
        let mut rt = jsbox::open(options.cache(CacheDir::Off).module_root(dir.path()).import("./main.mjs")).unwrap();
        rt.eval("require('./main.mjs').default()").unwrap()
    };
    assert_eq!(run(EngineOptions::new()), json!(["browser build", "feature x"]));
    assert_eq!(run(EngineOptions::new().conditions(["node"])), json!(["node build", "feature x"]));
}

#[test]
fn only_reachable_files_are_read_and_the_cache_follows_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.mjs"), "import { v } from './dep.mjs';\nexport default () => v;\n").unwrap();
    std::fs::write(dir.path().join("dep.mjs"), "export const v = 1;\n").unwrap();
    // Never imported: its syntax error does not matter.
    std::fs::write(dir.path().join("unused.mjs"), "this is not javascript\n").unwrap();
    let options = || {
        EngineOptions::new().cache(CacheDir::Path(cache_dir.path().to_path_buf())).module_root(dir.path()).import("./main.mjs")
    };
    let call = |f: &EngineFactory| f.new_runtime().unwrap().eval("require('./main.mjs').default()").unwrap();
    let f = EngineFactory::new(options()).unwrap();
    assert_eq!((f.info().cache, call(&f)), (CacheOutcome::Miss, json!(1)));
    let f = EngineFactory::new(options()).unwrap();
    assert_eq!((f.info().cache, call(&f)), (CacheOutcome::Hit, json!(1)));
    // A changed dependency invalidates the cached snapshot.
    std::fs::write(dir.path().join("dep.mjs"), "export const v = 2;\n").unwrap();
    let f = EngineFactory::new(options()).unwrap();
    assert_eq!((f.info().cache, call(&f)), (CacheOutcome::Miss, json!(2)));
}

#[test]
fn without_a_snapshot_modules_behave_the_same() {
    let factory = EngineFactory::new(plugin_options().without_snapshot()).unwrap();
    let input = json!({"words": ["hello", "big", "world"], "pattern": "a.b*c"});
    let got = factory.new_runtime().unwrap().call_module("./plugin.mjs", "default", [&input]).unwrap();
    assert_eq!(got, expected_summary());
}

/// The `require()`/`import()` literals resolved at build time are found by
/// one parser (host/src/modules/literals.rs) for the registry, the loaders
/// and resolved files alike: a template literal counts, a commented-out
/// call does not, and both agree with node.
#[test]
fn literal_requires_and_imports_are_found_by_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("main.mjs", "import cjs from './lib.cjs';\nexport default async () => [cjs(), (await import(`./lazy.mjs`)).default];\n");
    write("lib.cjs", "// require('./missing.cjs') would fail: a comment is not a call\nconst dep = require(`./dep.cjs`);\nmodule.exports = () => dep;\n");
    write("dep.cjs", "module.exports = 'dep';\n");
    write("lazy.mjs", "export default 'lazy';\n");
    let mut rt = jsbox::open(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import("./main.mjs")).unwrap();
    let got = rt.call_module("./main.mjs", "default", Vec::<Value>::new()).unwrap();
    assert_eq!(got, json!(["dep", "lazy"]));
    let out = node::node_command()
        .current_dir(dir.path())
        .args(["--input-type=module", "-e", "const m = await import('./main.mjs'); console.log(JSON.stringify(await m.default()));"])
        .output()
        .expect("node ran");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(got, serde_json::from_slice::<Value>(&out.stdout).unwrap());
}
