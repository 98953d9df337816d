//! Node built-ins written in JS (guest/src/node): `process` (the global and
//! `node:process`) and `node:buffer` (the npm `buffer` package).
//!
//! Each script runs in jsbox and its result is asserted; when `node` is on
//! PATH the same script runs in node too and the results must be equal.
//! The values jsbox documents as different (`process.platform`,
//! `process.version(s)`, an empty `process.env`, error messages of
//! `Buffer`) are asserted for jsbox alone.

#[path = "support/node.rs"]
mod node;

use std::path::PathBuf;
use std::sync::LazyLock;

use jsbox::{CacheDir, EngineFactory, EngineOptions, ModulePolicy};
use node::{node_eval, node_eval_with_env};
use serde_json::{json, Value};

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-builtins-cache"))
}

static FACTORY: LazyLock<EngineFactory> =
    LazyLock::new(|| EngineFactory::new(EngineOptions::new().cache(cache())).expect("factory"));

fn jsbox_eval(factory: &EngineFactory, script: &str) -> Value {
    let mut rt = factory.new_runtime().expect("runtime");
    rt.eval(script).unwrap_or_else(|e| panic!("jsbox failed on\n{script}\n{e:?}"))
}

/// Runs `script` in jsbox, asserts `expected`, and asserts node agrees.
fn check(script: &str, expected: Value) {
    let ours = jsbox_eval(&FACTORY, script);
    assert_eq!(ours, expected, "jsbox result for\n{script}");
    assert_eq!(ours, node_eval(script), "jsbox and node differ on\n{script}");
}

const CATCH: &str = "function caught(f) { try { f(); return 'no error'; } catch (e) { \
    return [e.constructor.name, e.message, e.code === undefined ? null : e.code]; } }\n";

#[test]
fn process_is_the_same_object_everywhere_and_queues_ticks() {
    check(
        "const p = require('node:process');\
         new Promise((resolve) => { const order = []; \
           process.nextTick((a, b) => order.push(['tick', a, b]), 1, 2); \
           process.nextTick(() => resolve([p === process, require('process') === process, \
             Object.prototype.toString.call(process), typeof process.env, typeof process.nextTick, \
             order])); })",
        json!([true, true, "[object process]", "object", "function", [["tick", 1, 2]]]),
    );
    check(
        &format!("{CATCH}[caught(() => process.nextTick(42)), caught(() => process.nextTick())]"),
        json!([
            ["TypeError", "The \"callback\" argument must be of type function. Received type number (42)", "ERR_INVALID_ARG_TYPE"],
            ["TypeError", "The \"callback\" argument must be of type function. Received undefined", "ERR_INVALID_ARG_TYPE"]
        ]),
    );
    // Assignments stay in the runtime (and the global can be replaced).
    check(
        "process.env.JSBOX_TEST = 'x'; const e = process.env.JSBOX_TEST; \
         globalThis.process = 5; [e, globalThis.process]",
        json!(["x", 5]),
    );
}

#[test]
fn process_values_are_the_documented_ones() {
    // Not node's: jsbox is not node, so `versions.node` is absent.
    let got = jsbox_eval(
        &FACTORY,
        "[process.platform, process.version, Object.keys(process.versions), \
          typeof process.versions.jsbox, Object.keys(process.env).length, process.env.NODE_ENV === undefined]",
    );
    assert_eq!(got, json!(["wasi", "", ["jsbox"], "string", 0, true]));
    // A change in one runtime is not seen by the next.
    assert_eq!(jsbox_eval(&FACTORY, "process.env.X = '1'; process.env.X"), json!("1"));
    assert_eq!(jsbox_eval(&FACTORY, "process.env.X === undefined"), json!(true));
}

#[test]
fn node_env_comes_from_the_embedder() {
    let factory = EngineFactory::new(
        EngineOptions::new().cache(cache()).env("NODE_ENV", "production").env("API_URL", "http://127.0.0.1:1"),
    )
    .unwrap();
    let script = "import('node:process').then(({ env, default: p }) => [env.NODE_ENV, p.env.API_URL, env === process.env])";
    let want = json!(["production", "http://127.0.0.1:1", true]);
    assert_eq!(jsbox_eval(&factory, script), want);
    assert_eq!(node_eval_with_env(script, &[("NODE_ENV", "production"), ("API_URL", "http://127.0.0.1:1")]), want);
}

#[test]
fn process_and_buffer_are_pure_and_data_only_allows_them() {
    let factory = EngineFactory::new(EngineOptions::new().cache(cache()).module_policy(ModulePolicy::DataOnly)).unwrap();
    let got = jsbox_eval(&factory, "[typeof require('buffer').Buffer, require('node:process') === process]");
    assert_eq!(got, json!(["function", true]));
}

#[test]
fn buffer_matches_node() {
    check(
        include_str!("fixtures/buffer.js"),
        json!([
            "68c3a96c6c6f2077c3b6726c64", "aMOpbGxvIHfDtnJsZA==", 13, 6, "hé", "hi", "abcd", -1, 3735928559u32,
            std::f64::consts::PI, -2, "deadbeef182d4454fb210940feff0000", "c3a9", "örld", 7, false, true, "ababa",
            "{\"type\":\"Buffer\",\"data\":[1,2,3]}", true, true, 3, 255, "68006900", -6, "cba", "8", "-2", "hi", true,
            false, "é", "01000200", 11, -6259853398707798000i64, false, 8192
        ]),
    );
    // Out of range: a RangeError in both (the messages differ: the npm
    // package's own, documented in docs/web-platform.md).
    check(
        "const { Buffer } = require('buffer');\
         [() => Buffer.alloc(2).readUInt32BE(0), () => Buffer.alloc(-1), () => Buffer.alloc(1).writeUInt8(300)]\
           .map((f) => { try { f(); return 'no error'; } catch (e) { return e.constructor.name; } })",
        json!(["RangeError", "RangeError", "RangeError"]),
    );
}

#[test]
fn es_modules_import_the_builtins() {
    let factory = EngineFactory::new(
        EngineOptions::new()
            .cache(cache())
            .es_module(
                "m.mjs",
                "import { Buffer } from 'node:buffer';\nimport process, { nextTick } from 'node:process';\n\
                 export const hex = Buffer.from('ok').toString('hex');\nexport const same = nextTick === process.nextTick;\n",
            )
            .import("./m.mjs"),
    )
    .unwrap();
    assert_eq!(jsbox_eval(&factory, "const m = require('./m.mjs'); [m.hex, m.same]"), json!(["6f6b", true]));
}
