//! Hardening: no data left behind in a reused pool slot, no ambient
//! authority, failures contained to their runtime, hostile inputs.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use jsbox::{CacheDir, Clock, DenyReason, EngineFactory, EngineOptions, Error, Limits, NativeModule, Runtime};
use rand::RngCore;
use serde_json::json;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn options() -> EngineOptions {
    EngineOptions::new()
        .cache(cache())
        .module("store", "let s = null;\nexports.set = (v) => { s = v; return s.length };\nexports.get = () => s;")
        .native_module(
            NativeModule::new("host")
                .function("proto", |_: serde_json::Value| Ok::<_, String>(json!({"__proto__": {"polluted": 1}, "ok": true})))
                .function("deep", |(n,): (usize,)| Ok::<_, String>(serde_json::Value::String(format!("{}{}", "[".repeat(n), "]".repeat(n)))))
                // Returns raw JSON text: a 100k-deep array.
                .raw("deepRaw", |_args: &str| Ok(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)))),
        )
        .init_script(
            "function f(o) { return Object.keys(o) }\n\
             function merge(o) { const t = {}; for (const k of Object.keys(o)) t[k] = o[k]; return [Object.keys(t), ({}).polluted === undefined] }\n\
             function count(x) { return JSON.stringify(x).length }",
        )
}

static SHARED: LazyLock<Arc<EngineFactory>> =
    LazyLock::new(|| Arc::new(EngineFactory::new(options().max_runtimes(64)).unwrap()));

fn rt() -> Runtime {
    SHARED.new_runtime().unwrap()
}

fn random_marker() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("SeCrEt-{hex}-")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runtime A leaves a secret in a global and in module state; runtime B in
/// the same pool slot must see none of it, in JS or in its memory.
fn slot_reuse_leaks_nothing(repeat: usize) {
    let f = EngineFactory::new(options().max_runtimes(1)).unwrap();
    assert!(f.info().engine.pooling);
    let marker = random_marker();
    let mut a = f.new_runtime().unwrap();
    // Build the secret inside the guest from a short seed, then keep it.
    let len: usize = a
        .eval_as(&format!(
            "globalThis.secret = '{marker}'.repeat({repeat});\n\
             globalThis.copy = {repeat} <= 4096 ? secret.split('').join('') : secret;\n\
             require('store').set(copy)"
        ))
        .unwrap();
    assert_eq!(len, marker.len() * repeat);
    assert!(contains(a.guest_memory(), marker.as_bytes()), "sanity: the secret is in A's memory");
    drop(a);

    let mut b = f.new_runtime().expect("the one slot is free again");
    // Scan before running anything in B, and after.
    assert!(!contains(b.guest_memory(), marker.as_bytes()), "B's fresh memory holds A's secret");
    assert_eq!(
        b.eval("[typeof secret, typeof copy, require('store').get()]").unwrap(),
        json!(["undefined", "undefined", null])
    );
    // Grow B's memory over the region A used, then scan again.
    b.eval("globalThis.filler = []; for (let i = 0; i < 64; i++) filler.push(new Array(65536).fill(i)); filler.length").unwrap();
    assert!(!contains(b.guest_memory(), marker.as_bytes()), "B's memory holds A's secret after growing");
    drop(b);
    // And a third runtime after B.
    let c = f.new_runtime().unwrap();
    assert!(!contains(c.guest_memory(), marker.as_bytes()));
}

#[test]
fn reused_slot_leaks_nothing_small() {
    // 64 KiB of secret: inside the slot's keep-resident region.
    slot_reuse_leaks_nothing(65536 / 32);
}

#[test]
fn reused_slot_leaks_nothing_large() {
    // 16 MiB of secret: past the keep-resident region, memory grown.
    slot_reuse_leaks_nothing((16 << 20) / 32);
}

#[test]
fn reused_slot_after_a_trap_leaks_nothing() {
    let f = EngineFactory::new(options().max_runtimes(1).limits(Limits { timeout: Some(Duration::from_millis(100)), ..Limits::default() }))
        .unwrap();
    let marker = random_marker();
    let mut a = f.new_runtime().unwrap();
    let err = a.eval(&format!("globalThis.secret = '{marker}'.repeat(4096); require('store').set(secret + '?'); for (;;) {{}}")).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)));
    assert!(contains(a.guest_memory(), marker.as_bytes()));
    drop(a);
    let mut b = f.new_runtime().unwrap();
    assert!(!contains(b.guest_memory(), marker.as_bytes()));
    assert_eq!(b.eval("[typeof secret, require('store').get()]").unwrap(), json!(["undefined", null]));
}

#[test]
fn clock_system_and_frozen() {
    let mut rt = rt();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let js_now: i64 = rt.eval_as("Date.now()").unwrap();
    assert!((js_now - now_ms).abs() < 60_000, "Date.now() {js_now} vs host {now_ms}");
    assert_eq!(rt.eval("typeof Date.now() === 'number' && new Date().getFullYear() >= 2024").unwrap(), json!(true));

    let f = EngineFactory::new(options().clock(Clock::Frozen(1234)).max_runtimes(4)).unwrap();
    let mut frozen = f.new_runtime().unwrap();
    assert_eq!(frozen.eval("Date.now()").unwrap(), json!(1234));
    assert_eq!(frozen.eval("new Date().getTime()").unwrap(), json!(1234));
    assert_eq!(frozen.eval("{ const t = Date.now(); for (let i = 0; i < 1e5; i++); Date.now() - t }").unwrap(), json!(0));
    assert_eq!(f.new_runtime().unwrap().eval("Date.now() === 1234").unwrap(), json!(true));
}

#[test]
fn no_ambient_authority() {
    let mut rt = rt();
    let probe = rt
        .eval(
            "[typeof XMLHttpRequest, typeof WebSocket, typeof std, typeof os, \
              typeof Deno, typeof Bun, typeof setTimeout === 'undefined' || typeof setTimeout === 'function', \
              Object.keys(process.env).length, typeof process.binding, typeof process.exit, typeof process.cwd]",
        )
        .unwrap();
    // `process` exists (node compatibility) but reaches nothing of the host:
    // an empty environment, no bindings, no exit, no working directory.
    assert_eq!(
        probe,
        json!(["undefined", "undefined", "undefined", "undefined", "undefined", "undefined", true, 0, "undefined", "undefined", "undefined"])
    );
    // `fetch` is a web global, but without a net grant the host refuses
    // every request before any connection is made.
    let denied = rt
        .eval("fetch('http://127.0.0.1:9/').then(() => 'fetched', (e) => [e instanceof TypeError, e.message.includes('net: 127.0.0.1:9 is not granted (net grant: none)')])")
        .unwrap();
    assert_eq!(denied, json!([true, true]));
    // fs and exec exist only with a grant: asking for them fails with a
    // typed module error.
    for name in ["fs", "exec"] {
        let r = rt.require(name);
        assert!(
            matches!(&r, Err(Error::ModuleDenied { module, reason: DenyReason::NotGranted }) if module == name),
            "require('{name}') without a grant: {r:?}"
        );
    }
    // (`process` is the global's module: `require('process')` is it.)
    assert_eq!(rt.require("process").unwrap()["env"], json!({}));
    for name in ["child_process", "net", "http", "os"] {
        match rt.require(name) {
            Err(Error::ModuleNotFound(_)) => {}
            other => panic!("require('{name}') without a grant: expected ModuleNotFound, got {other:?}"),
        }
    }
    assert!(matches!(
        rt.eval("require('fs').readFileSync('/etc/passwd', 'utf8')"),
        Err(Error::ModuleNotFound(_) | Error::ModuleDenied { .. })
    ));
    // A native function that is not registered cannot be reached even by name.
    assert!(matches!(rt.eval("require('host').nothere()"), Err(Error::Exception(_))));
}

#[test]
fn a_failing_runtime_does_not_disturb_others_on_other_threads() {
    let f = Arc::new(
        EngineFactory::new(options().max_runtimes(16).limits(Limits { timeout: Some(Duration::from_millis(200)), ..Limits::default() }))
            .unwrap(),
    );
    let bad = {
        let f = f.clone();
        std::thread::spawn(move || {
            for script in [
                "for (;;) {}",
                "function r() { return r() + 1 } r()",
                "let a = []; for (;;) a.push(new Array(1e6).fill(1))",
            ] {
                for _ in 0..2 {
                    let mut rt = f.new_runtime().unwrap();
                    let err = rt.eval(script).unwrap_err();
                    assert!(err.is_fatal(), "{script}: {err:?}");
                }
            }
        })
    };
    let good: Vec<_> = (0..3)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut kept = f.new_runtime().unwrap();
                kept.eval(&format!("globalThis.mine = {t}")).unwrap();
                for i in 0..100 {
                    let mut rt = f.new_runtime().unwrap();
                    assert_eq!(rt.eval(&format!("{t} * 1000 + {i}")).unwrap(), json!(t * 1000 + i));
                    assert_eq!(kept.eval("mine").unwrap(), json!(t));
                }
            })
        })
        .collect();
    bad.join().expect("the failing thread panicked");
    for g in good {
        g.join().expect("a healthy thread panicked");
    }
}

#[test]
fn invalid_utf8_source_is_invalid_value() {
    let mut rt = rt();
    let err = rt.eval_bytes(b"'abc' + \xff\xfe", "bad.js").unwrap_err();
    match err {
        Error::InvalidValue(m) => assert!(m.contains("bad.js"), "{m}"),
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    assert_eq!(rt.eval_bytes("'ok ✓'".as_bytes(), "good.js").unwrap(), json!("ok ✓"));
}

#[test]
fn deeply_nested_arguments_are_an_error_not_a_crash() {
    let mut rt = rt();
    let n = 100_000;
    let args = format!("[{}{}]", "[".repeat(n), "]".repeat(n));
    assert!(rt.call_json(Some("store"), "set", &args).is_err());
    assert!(SHARED.new_runtime().unwrap().call_json(None, "count", &args).is_err());
    // Through serde on the Rust side: an error, not a stack overflow.
    let deep: serde_json::Value = serde_json::from_str("[[[[1]]]]").unwrap();
    assert_eq!(rt_fresh().call_module("store", "set", (deep,)).unwrap(), json!(1));
    // A deep result from a native function (as a string JS parses, and raw).
    let mut r2 = rt_fresh();
    assert!(r2.eval("JSON.parse(require('host').deep(100000)).length").is_err());
    let mut r3 = rt_fresh();
    assert!(r3.eval("require('host').deepRaw()").is_err());
    let mut r3 = rt_fresh();
    let caught = r3.eval("try { require('host').deepRaw(); 'parsed' } catch (e) { 'caught' }");
    assert!(matches!(caught, Ok(_) | Err(Error::StackOverflow)), "{caught:?}");
    // A deep value built in JS and returned.
    let mut r4 = rt_fresh();
    assert!(r4.eval("let a = []; for (let i = 0; i < 1e5; i++) a = [a]; a").is_err());
    // The factory is fine.
    assert_eq!(rt_fresh().eval("'alive'").unwrap(), json!("alive"));
}

fn rt_fresh() -> Runtime {
    SHARED.new_runtime().unwrap()
}

#[test]
fn moderately_nested_values_round_trip() {
    let mut rt = rt();
    // 100 levels: within serde_json's default recursion limit.
    let v: serde_json::Value = rt.eval("let a = 1; for (let i = 0; i < 100; i++) a = [a]; a").unwrap();
    let mut depth = 0;
    let mut cur = &v;
    while let Some(inner) = cur.get(0) {
        depth += 1;
        cur = inner;
    }
    assert_eq!((depth, cur.clone()), (100, json!(1)));
}

#[test]
fn throwing_getter_in_a_result_is_a_typed_error() {
    let mut rt = rt();
    match rt.eval("({ get x() { throw new Error('g') } })").unwrap_err() {
        Error::InvalidValue(m) => assert!(m.contains('g'), "{m}"),
        Error::Exception(e) => assert_eq!(e.message, "g"),
        other => panic!("expected a typed conversion error, got {other:?}"),
    }
    // toJSON that throws, and a BigInt result.
    assert!(matches!(rt.eval("({ toJSON() { throw new TypeError('nope') } })"), Err(Error::InvalidValue(_) | Error::Exception(_))));
    assert!(matches!(rt.eval("10n"), Err(Error::InvalidValue(_) | Error::Exception(_))));
    // A getter that loops forever is stopped by the deadline.
    rt.set_limits(Limits { timeout: Some(Duration::from_millis(100)), ..Limits::default() }).unwrap();
    assert_eq!(rt.eval("'still usable'").unwrap(), json!("still usable"));
    assert!(matches!(rt.eval("({ get x() { for (;;) {} } })"), Err(Error::Timeout(_))));
}

#[test]
fn prototype_pollution_through_host_values_does_not_stick() {
    let mut rt = rt();
    // Through call arguments.
    let keys = rt.call_module("store", "set", (json!({"__proto__": {"polluted": 1}}),));
    assert!(keys.is_ok(), "{keys:?}");
    assert_eq!(rt.eval("({}).polluted === undefined && Object.prototype.polluted === undefined").unwrap(), json!(true));
    assert_eq!(rt.eval("Object.keys(require('store').get())").unwrap(), json!(["__proto__"]));
    // Through a native function's result, copied key by key.
    assert_eq!(
        rt.eval("const o = require('host').proto(); [o.ok, Object.keys(o).sort(), ({}).polluted === undefined]").unwrap(),
        json!([true, ["__proto__", "ok"], true])
    );
    assert_eq!(rt.eval("const o2 = require('host').proto(); const t = {}; for (const k of Object.keys(o2)) t[k] = o2[k]; ({}).polluted === undefined").unwrap(), json!(true));
    // Through eval of JSON text.
    assert_eq!(rt.eval("JSON.parse('{\"__proto__\": {\"polluted\": 1}}'); ({}).polluted").unwrap(), json!(null));
}

#[test]
fn prototype_pollution_through_global_call_does_not_stick() {
    let mut rt = rt();
    assert_eq!(rt.call("f", (json!({"__proto__": {"polluted": 1}}),)).unwrap(), json!(["__proto__"]));
    assert_eq!(rt.eval("({}).polluted === undefined").unwrap(), json!(true));
    // `t["__proto__"] = ...` runs the setter on `t` alone (its own
    // prototype changes, so it has no own keys); nothing global changes.
    assert_eq!(rt.call("merge", (json!({"__proto__": {"polluted": 1}}),)).unwrap(), json!([[], true]));
    assert_eq!(rt.eval("({}).polluted === undefined && Object.prototype.polluted === undefined").unwrap(), json!(true));
}

#[test]
fn nonexistent_modules_are_module_not_found() {
    let mut rt = rt();
    for name in ["nope", "./nope", "../../etc/passwd", "/etc/passwd", "store/../../x", ""] {
        match rt.require(name) {
            Err(Error::ModuleNotFound(_)) => {}
            other => panic!("require({name:?}): expected ModuleNotFound, got {other:?}"),
        }
    }
    assert!(matches!(rt.eval("require('nope')"), Err(Error::ModuleNotFound(_))));
    assert_eq!(rt.eval("try { require('nope') } catch (e) { e.message.includes('nope') }").unwrap(), json!(true));
    // Not fatal.
    assert_eq!(rt.eval("require('store').get()").unwrap(), json!(null));
}

#[test]
fn guest_cannot_reach_the_host_through_odd_module_names() {
    let mut rt = rt();
    for name in ["__proto__", "constructor", "toString", "hasOwnProperty"] {
        let r = rt.require(name);
        assert!(matches!(r, Err(Error::ModuleNotFound(_))), "require({name:?}) -> {r:?}");
    }
}
