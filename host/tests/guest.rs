//! The committed guest, end to end: instantiation, eval, errors, require and
//! host imports.

use jsbox::{CacheDir, EngineOptions, Error, NativeModule};
use std::sync::{Arc, Mutex};

fn options() -> EngineOptions {
    EngineOptions::new().cache(CacheDir::Off)
}

#[test]
fn eval_returns_42() {
    let mut rt = jsbox::open(options()).unwrap();
    assert_eq!(rt.eval("var n = 41; n + 1;").unwrap(), serde_json::json!(42));
}

#[test]
fn syntax_error_has_line_and_column() {
    let mut rt = jsbox::open(options()).unwrap();
    let err = rt.eval_json("let a = 1;\nlet b = ;\n", "bad.js").unwrap_err();
    match err {
        Error::Syntax { message, location } => {
            assert!(!message.is_empty());
            assert_eq!(location.file, "bad.js");
            assert_eq!(location.line, 2);
            assert!(location.column >= 8, "column {}", location.column);
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn exception_has_message_and_stack() {
    let mut rt = jsbox::open(options()).unwrap();
    let err = rt
        .eval_json("function boom() {\n  throw new TypeError('no way');\n}\nboom();", "thrower.js")
        .unwrap_err();
    let e = err.as_exception().expect("an exception");
    assert_eq!(e.name, "TypeError");
    assert_eq!(e.message, "no way");
    assert!(e.stack.contains("boom"), "stack: {}", e.stack);
    assert_eq!((e.location.file.as_str(), e.location.line), ("thrower.js", 2));
}

#[test]
fn require_of_a_registry_module() {
    let opts = options()
        .module("lib/math.js", "exports.double = (x) => x * 2;")
        .module("main", "const m = require('./lib/math'); module.exports = { v: m.double(21) };");
    let mut rt = jsbox::open(opts).unwrap();
    assert_eq!(rt.require("main").unwrap(), serde_json::json!({"v": 42}));
    assert_eq!(rt.eval("require('lib/math.js').double(5)").unwrap(), serde_json::json!(10));
}

#[test]
fn missing_module_is_typed() {
    let mut rt = jsbox::open(options()).unwrap();
    assert!(matches!(rt.require("nope"), Err(Error::ModuleNotFound(_))));
}

#[test]
fn host_import_receives_arguments_intact() {
    let seen = Arc::new(Mutex::new(None));
    let seen2 = seen.clone();
    let echo = NativeModule::new("echo").function("take", move |args: (String, f64, serde_json::Value)| {
        *seen2.lock().unwrap() = Some(args.clone());
        Ok::<_, String>(args.0.len())
    });
    let mut rt = jsbox::open(options().native_module(echo)).unwrap();
    let n: usize = rt
        .eval_as(r#"require('echo').take("héllo \u0000 \"q\" ✓", 1.5, {a: [1, null, "x"]})"#)
        .unwrap();
    let got = seen.lock().unwrap().clone().unwrap();
    assert_eq!(got.0, "héllo \u{0} \"q\" ✓");
    assert_eq!(got.1, 1.5);
    assert_eq!(got.2, serde_json::json!({"a": [1, null, "x"]}));
    assert_eq!(n, got.0.len());
}
