//! The factory: isolation between runtimes, thread safety, the disk cache,
//! snapshot equivalence, the registry sources (modules, module dirs,
//! loaders, preload, init scripts), build-time errors, calls and capacity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use jsbox::{CacheDir, CacheOutcome, EngineFactory, EngineOptions, Error, Runtime};
use serde::Deserialize;
use serde_json::json;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn base() -> EngineOptions {
    EngineOptions::new().cache(cache())
}

/// The registry most tests here share.
fn shared_options() -> EngineOptions {
    base()
        .module("counter", "let n = 0;\nexports.next = () => ++n;\nexports.peek = () => n;")
        .module(
            "math",
            "exports.pi = 2.5;\nexports.mul = (a, b) => a * b;\nexports.point = (x, y) => ({ x, y, sum: x + y });\n\
             exports.later = async (v) => { await null; return v * 2; };",
        )
        .module("lib/strings.js", "exports.shout = (s) => String(s).toUpperCase() + '!';")
        .module("data.json", r#"{"name": "jsbox", "list": [1, 2, 3]}"#)
        .init_script(
            "var g = 0;\nvar answer = 42;\nfunction add(a, b) { return a + b }\n\
             function person(name, age) { return { name, age, tags: ['a', 'b'] } }\n\
             async function slow(v) { await Promise.resolve(); return v + 1 }\n\
             function throws(m) { throw new RangeError(m) }",
        )
        .init_script("const doubled = answer * 2;")
}

static SHARED: LazyLock<Arc<EngineFactory>> =
    LazyLock::new(|| Arc::new(EngineFactory::new(shared_options()).expect("shared factory builds")));

fn rt() -> Runtime {
    SHARED.new_runtime().expect("a runtime")
}

#[test]
fn factory_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<EngineFactory>();
    check::<Arc<EngineFactory>>();
    fn send<T: Send>() {}
    send::<Runtime>();
}

#[test]
fn runtimes_do_not_share_module_state_or_globals() {
    let mut a = rt();
    assert_eq!(
        a.eval("const c = require('counter'); c.next(); c.next(); c.next()").unwrap(),
        json!(3)
    );
    a.eval("g = 99; globalThis.leaked = 'yes'; Object.prototype.polluted = 1; Array.prototype.push = null; 0")
        .unwrap();
    assert_eq!(a.eval("[g, leaked, ({}).polluted, require('counter').peek()]").unwrap(), json!([99, "yes", 1, 3]));

    // B is created while A is alive, C after A is gone (possibly A's slot).
    let mut b = rt();
    let pristine = "[require('counter').peek(), g, typeof leaked, ({}).polluted === undefined, typeof [].push]";
    assert_eq!(b.eval(pristine).unwrap(), json!([0, 0, "undefined", true, "function"]));
    assert_eq!(b.eval("require('counter').next()").unwrap(), json!(1));
    drop(a);
    let mut c = rt();
    assert_eq!(c.eval(pristine).unwrap(), json!([0, 0, "undefined", true, "function"]));
    // B's own state is still its own.
    assert_eq!(b.eval("require('counter').peek()").unwrap(), json!(1));
}

#[test]
fn math_random_differs_between_runtimes() {
    let sample = |rt: &mut Runtime| -> Vec<f64> { rt.eval_as("Array.from({ length: 8 }, () => Math.random())").unwrap() };
    let mut a = rt();
    let mut b = rt();
    let (va, vb) = (sample(&mut a), sample(&mut b));
    assert!(va.iter().all(|x| (0.0..1.0).contains(x)));
    assert_ne!(va, vb, "two runtimes drew the same random sequence");
    drop(a);
    let mut c = rt();
    let vc = sample(&mut c);
    assert_ne!(va, vc, "a runtime in a reused slot repeated the previous sequence");
    assert_ne!(vb, vc);
    // Not a constant within one runtime either.
    let again = sample(&mut c);
    assert_ne!(vc, again);
}

#[test]
fn math_random_differs_without_snapshot_too() {
    let f = EngineFactory::new(base().without_snapshot().max_runtimes(4)).unwrap();
    let mut a = f.new_runtime().unwrap();
    let mut b = f.new_runtime().unwrap();
    let va: Vec<f64> = a.eval_as("Array.from({ length: 8 }, () => Math.random())").unwrap();
    let vb: Vec<f64> = b.eval_as("Array.from({ length: 8 }, () => Math.random())").unwrap();
    assert_ne!(va, vb);
}

#[test]
fn runtimes_change_nothing_process_global() {
    let env_before: BTreeMap<_, _> = std::env::vars_os().collect();
    let cwd_before = std::env::current_dir().unwrap();

    let only_x = base().module("only_x", "exports.who = 'x';").max_runtimes(8);
    let only_y = base().module("only_y", "exports.who = 'y';").max_runtimes(8);
    let fx = EngineFactory::new(only_x).unwrap();
    let fy = EngineFactory::new(only_y).unwrap();
    let mut x = fx.new_runtime().unwrap();
    let mut y = fy.new_runtime().unwrap();
    assert_eq!(x.eval("require('only_x').who").unwrap(), json!("x"));
    assert_eq!(y.eval("require('only_y').who").unwrap(), json!("y"));
    assert!(matches!(x.require("only_y"), Err(Error::ModuleNotFound(_))), "factory x sees y's module");
    assert!(matches!(y.require("only_x"), Err(Error::ModuleNotFound(_))), "factory y sees x's module");
    assert!(!fx.info().modules.contains(&"only_y".to_string()));
    assert!(!fy.info().modules.contains(&"only_x".to_string()));
    // A global set in one factory's runtime is not in the other's.
    x.eval("globalThis.fromX = 1").unwrap();
    assert_eq!(y.eval("typeof fromX").unwrap(), json!("undefined"));
    drop((x, y));

    let env_after: BTreeMap<_, _> = std::env::vars_os().collect();
    assert_eq!(env_before, env_after, "environment variables changed");
    assert_eq!(cwd_before, std::env::current_dir().unwrap(), "the working directory changed");
}

#[test]
fn many_threads_share_one_factory() {
    let factory = SHARED.clone();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let factory = factory.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let mut rt = factory.new_runtime().unwrap();
                    let v: Vec<serde_json::Value> = rt
                        .eval_as(&format!(
                            "const before = [typeof mark, require('counter').peek()];\n\
                             globalThis.mark = {t}; require('counter').next();\n\
                             [before[0], before[1], {t} * 1000 + {i}, add({t}, {i})]"
                        ))
                        .unwrap();
                    assert_eq!(v, vec![json!("undefined"), json!(0), json!(t * 1000 + i), json!(t + i)]);
                    drop(rt);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a worker thread panicked");
    }
}

#[test]
fn runtimes_move_between_threads() {
    let mut a = rt();
    a.eval("globalThis.kept = 'here'").unwrap();
    let mut a = std::thread::spawn(move || {
        assert_eq!(a.eval("kept").unwrap(), json!("here"));
        a.eval("kept = 'there'").unwrap();
        a
    })
    .join()
    .unwrap();
    assert_eq!(a.eval("kept").unwrap(), json!("there"));
}

fn cwasm_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    files.sort();
    files
}

fn cached_options(dir: &Path, module_source: &str) -> EngineOptions {
    EngineOptions::new()
        .cache(CacheDir::Path(dir.to_path_buf()))
        .module("cached", module_source)
        .max_runtimes(4)
}

fn check_cached(f: &EngineFactory, expected: &str) {
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.eval("require('cached').v").unwrap(), json!(expected));
}

#[test]
fn disk_cache_hits_and_survives_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let src = "exports.v = 'cache-test';";

    let first = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(first.info().cache, CacheOutcome::Miss);
    check_cached(&first, "cache-test");
    drop(first);
    let entries = cwasm_files(dir.path());
    assert_eq!(entries.len(), 1, "one entry: {entries:?}");

    let second = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(second.info().cache, CacheOutcome::Hit);
    check_cached(&second, "cache-test");
    drop(second);

    // Truncated entry.
    let entry = &entries[0];
    let len = std::fs::metadata(entry).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(entry).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let third = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(third.info().cache, CacheOutcome::Miss);
    check_cached(&third, "cache-test");
    drop(third);
    assert_eq!(EngineFactory::new(cached_options(dir.path(), src)).unwrap().info().cache, CacheOutcome::Hit);

    // Same length, bytes flipped in the middle of the compiled code.
    let mut bytes = std::fs::read(entry).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xa5;
    }
    std::fs::write(entry, &bytes).unwrap();
    let fourth = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(fourth.info().cache, CacheOutcome::Miss);
    check_cached(&fourth, "cache-test");
    drop(fourth);

    // Empty file.
    std::fs::write(entry, b"").unwrap();
    let fifth = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(fifth.info().cache, CacheOutcome::Miss);
    check_cached(&fifth, "cache-test");
    drop(fifth);
    assert_eq!(EngineFactory::new(cached_options(dir.path(), src)).unwrap().info().cache, CacheOutcome::Hit);
}

#[test]
fn a_new_plugin_reuses_the_compiled_guest_functions() {
    // Every snapshot is the same guest code with another memory image: an
    // edited plugin must not send that code through Cranelift again.
    let dir = tempfile::tempdir().unwrap();
    let first = EngineFactory::new(cached_options(dir.path(), "exports.v = 'plugin-one';")).unwrap();
    assert_eq!(first.info().cache, CacheOutcome::Miss);
    let all = first.info().compiled_functions;
    assert!(all > 1000, "a cold build compiles the whole guest: {all} functions");
    check_cached(&first, "plugin-one");
    drop(first);

    for edit in ["plugin-two", "plugin-three"] {
        let edited = EngineFactory::new(cached_options(dir.path(), &format!("exports.v = '{edit}';"))).unwrap();
        assert_eq!(edited.info().cache, CacheOutcome::Miss, "a new snapshot, not a cached one");
        // Most functions are reused. (Up to about a tenth of Cranelift's
        // incremental-cache keys differ from one compile to the next, 163
        // to 213 of 2,021 seen on a first edit, so those functions are
        // compiled again; the store converges as their variants accumulate.)
        let compiled = edited.info().compiled_functions;
        assert!(compiled < all / 4, "{edit}: {compiled} of {all} functions compiled again");
        check_cached(&edited, edit);
    }
    let again = EngineFactory::new(cached_options(dir.path(), "exports.v = 'plugin-one';")).unwrap();
    assert_eq!((again.info().cache, again.info().compiled_functions), (CacheOutcome::Hit, 0));

    // A damaged function store is ignored: the guest is compiled again and
    // still runs the new plugin.
    let store: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("functions-"))
        .collect();
    assert_eq!(store.len(), 1, "one function store per guest and engine: {store:?}");
    let mut bytes = std::fs::read(&store[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&store[0], &bytes).unwrap();
    let rebuilt = EngineFactory::new(cached_options(dir.path(), "exports.v = 'plugin-four';")).unwrap();
    // Compiled again, nearly whole (a cold compile's count varies by a few
    // functions, like the keys above).
    assert!(rebuilt.info().compiled_functions > all * 9 / 10, "{} of {all}", rebuilt.info().compiled_functions);
    check_cached(&rebuilt, "plugin-four");
    let next = EngineFactory::new(cached_options(dir.path(), "exports.v = 'plugin-five';")).unwrap();
    assert!(next.info().compiled_functions < all / 4, "the store was written whole again");
    check_cached(&next, "plugin-five");

    // `cache clear` removes the store and the compiled Wizer step too.
    let (files, _) = CacheDir::Path(dir.path().to_path_buf()).clear().unwrap();
    assert!(files >= 3, "entries, the instrumented guest and the store: {files}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn build_time_code_may_not_read_the_clock_or_randomness() {
    // What a module's top level reads at build time would be the same in
    // every runtime: refused, with the reason, unless allowed.
    let cases = [
        ("exports.started = Date.now();", "clock"),
        ("exports.t = performance.now();", "clock"),
        ("exports.d = new Date().toISOString();", "clock"),
        ("exports.id = Math.random();", "randomness"),
        ("exports.id = crypto.randomUUID();", "randomness"),
        ("exports.b = crypto.getRandomValues(new Uint8Array(4));", "randomness"),
    ];
    for (source, what) in cases {
        let options = EngineOptions::new().cache(CacheDir::Off).module("m", source).preload("m");
        match EngineFactory::new(options.clone()) {
            Err(Error::NondeterministicBuild { what: read }) => assert!(read.contains(what), "{source}: {read}"),
            other => panic!("{source}: expected NondeterministicBuild, got {other:?}"),
        }
        let allowed = EngineFactory::new(options.allow_nondeterministic_build(true)).unwrap();
        allowed.new_runtime().unwrap().eval("require('m')").unwrap();
    }
    // Init scripts and ES-module top levels are build-time code too.
    let init = EngineOptions::new().cache(CacheDir::Off).init_script("globalThis.t0 = Date.now();");
    assert!(matches!(EngineFactory::new(init).unwrap_err(), Error::NondeterministicBuild { .. }));

    // Read at run time, inside functions: per runtime, never refused.
    let f = EngineFactory::new(
        EngineOptions::new()
            .cache(CacheDir::Off)
            .module("m", "exports.now = () => Date.now(); exports.id = () => Math.random();")
            .preload("m"),
    )
    .unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert!(rt.eval_as::<f64>("require('m').now()").unwrap() > 1.6e12);
    let (a, b): (f64, f64) = (
        rt.eval_as("require('m').id()").unwrap(),
        f.new_runtime().unwrap().eval_as("require('m').id()").unwrap(),
    );
    assert_ne!(a, b, "each runtime draws its own");
}

#[test]
fn disk_cache_rejects_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = "exports.v = 'foreign-test';";
    drop(EngineFactory::new(cached_options(dir.path(), src)).unwrap());
    let entries = cwasm_files(dir.path());
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];

    // Unrelated files in the directory do not disturb a hit.
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    std::fs::write(dir.path().join("0000.cwasm"), vec![7u8; 4096]).unwrap();
    let f = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(f.info().cache, CacheOutcome::Hit);
    check_cached(&f, "foreign-test");
    drop(f);

    // Random bytes in place of the entry.
    let noise: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(entry, &noise).unwrap();
    let f = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(f.info().cache, CacheOutcome::Miss);
    check_cached(&f, "foreign-test");
    drop(f);

    // A plain wasm module where the entry should be.
    std::fs::write(entry, jsbox::guest_wasm()).unwrap();
    let f = EngineFactory::new(cached_options(dir.path(), src)).unwrap();
    assert_eq!(f.info().cache, CacheOutcome::Miss);
    check_cached(&f, "foreign-test");
    drop(f);
    assert_eq!(EngineFactory::new(cached_options(dir.path(), src)).unwrap().info().cache, CacheOutcome::Hit);
}

#[test]
fn disk_cache_entry_of_another_registry_is_not_used() {
    // A valid entry copied under another key (a stale copy, a sync tool, a
    // mix-up): the factory must still run its own registry.
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    drop(EngineFactory::new(cached_options(dir_a.path(), "exports.v = 'registry-a';")).unwrap());
    drop(EngineFactory::new(cached_options(dir_b.path(), "exports.v = 'registry-b';")).unwrap());
    let (a, b) = (cwasm_files(dir_a.path()), cwasm_files(dir_b.path()));
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_ne!(a[0].file_name(), b[0].file_name(), "different registries have different keys");
    std::fs::copy(&a[0], &b[0]).unwrap();
    let f = EngineFactory::new(cached_options(dir_b.path(), "exports.v = 'registry-b';")).unwrap();
    check_cached(&f, "registry-b");
}

#[test]
fn cache_off_reports_off() {
    let f = EngineFactory::new(EngineOptions::new().cache(CacheDir::Off).max_runtimes(2)).unwrap();
    assert_eq!(f.info().cache, CacheOutcome::Off);
    assert!(f.info().snapshot);
    assert_eq!(f.new_runtime().unwrap().eval("6 * 7").unwrap(), json!(42));
}

const EQUIVALENCE_SCRIPTS: &[&str] = &[
    "1 + 1",
    "require('counter').next() + require('counter').next()",
    "require('math').point(2, 3)",
    "require('lib/strings.js').shout('hi')",
    "require('lib/strings').shout(answer)",
    "require('data.json')",
    "require('data').list.map((x) => x * doubled)",
    "[g, typeof add, typeof person, Object.keys(require('math')).sort()]",
    "Object.getOwnPropertyNames(globalThis).filter((k) => !/^[A-Z]/.test(k)).sort()",
    "typeof require + ' ' + typeof module + ' ' + typeof exports + ' ' + typeof console",
    "JSON.stringify({ a: [1, { b: null }], c: 'é✓' })",
    "slow(41)",
    "require('math').later(21)",
    "[1, 2, 3].reduce((a, b) => a + b, 0) / 7",
    "new Date(0).toISOString()",
    "'abc'.padStart(6, '-') + String.fromCharCode(0x263a)",
    "Object.keys(require.cache).sort()",
    "throws('eq')",
    "let x = ;",
    "require('nope')",
    "undefinedVariable + 1",
    "(function () { 'use strict'; return this })()",
    "typeof Symbol.iterator + [...new Set([3, 1, 3])].join()",
    "var t = 0; for (let i = 0; i < 1000; i++) t += i * i; t",
];

#[test]
fn snapshot_and_fresh_start_agree() {
    let snap = &*SHARED;
    let fresh = EngineFactory::new(shared_options().without_snapshot().max_runtimes(4)).unwrap();
    assert!(snap.info().snapshot);
    assert!(!fresh.info().snapshot);
    assert_eq!(snap.info().modules, fresh.info().modules);
    // Each script in a new runtime, and all of them in sequence in one.
    let mut seq_snap = snap.new_runtime().unwrap();
    let mut seq_fresh = fresh.new_runtime().unwrap();
    for script in EQUIVALENCE_SCRIPTS {
        let a = format!("{:?}", snap.new_runtime().unwrap().eval(script));
        let b = format!("{:?}", fresh.new_runtime().unwrap().eval(script));
        assert_eq!(a, b, "script {script:?} differs (snapshot vs fresh)");
        let a = format!("{:?}", seq_snap.eval(script));
        let b = format!("{:?}", seq_fresh.eval(script));
        assert_eq!(a, b, "script {script:?} differs in sequence (snapshot vs fresh)");
    }
}

#[test]
fn open_builds_a_runtime() {
    let mut rt = jsbox::open(base().module("hello", "exports.hi = (n) => 'hi ' + n;").max_runtimes(2)).unwrap();
    assert_eq!(rt.eval("require('hello').hi('open')").unwrap(), json!("hi open"));
    assert!(rt.id() > 0);
}

#[test]
fn module_dir_with_nested_files_and_relative_requires() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("lib/helpers")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(
        root.join("main.js"),
        "const util = require('./lib/util');\nconst cfg = require('./data/config.json');\n\
         module.exports = { total: util.sum(cfg.values), label: util.label, name: cfg.name };",
    )
    .unwrap();
    std::fs::write(
        root.join("lib/util.js"),
        "const h = require('./helpers');\nconst cfg = require('../data/config');\n\
         exports.sum = (xs) => xs.reduce(h.add, 0);\nexports.label = h.tag(cfg.name) + ':' + __filename + ':' + __dirname;",
    )
    .unwrap();
    std::fs::write(root.join("lib/helpers/index.js"), "exports.add = (a, b) => a + b;\nexports.tag = (s) => `<${s}>`;")
        .unwrap();
    std::fs::write(root.join("data/config.json"), r#"{"name": "cfg", "values": [1, 2, 3, 4]}"#).unwrap();
    std::fs::write(root.join("README.md"), "not a module").unwrap();
    std::fs::write(root.join("lib/notes.txt"), "not a module either").unwrap();

    let f = EngineFactory::new(base().module_dir(root).max_runtimes(4)).unwrap();
    assert_eq!(
        f.info().modules,
        vec!["data/config.json", "lib/helpers/index.js", "lib/util.js", "main.js"]
    );
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(
        rt.require("main").unwrap(),
        json!({"total": 10, "label": "<cfg>:/lib/util.js:/lib", "name": "cfg"})
    );
    assert_eq!(rt.eval("require('lib/helpers').add(2, 3)").unwrap(), json!(5));
    assert!(matches!(rt.require("README.md"), Err(Error::ModuleNotFound(_))));
}

#[test]
fn module_dir_that_does_not_exist_is_an_io_error() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("definitely/not/here");
    let err = EngineFactory::new(base().module_dir(&missing)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn loader_supplies_modules_required_by_registry_modules() {
    let asked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let asked2 = asked.clone();
    let loader = move |name: &str| -> Option<String> {
        asked2.lock().unwrap().push(name.to_string());
        match name {
            "dep" => Some("const leaf = require('./leaf');\nexports.value = leaf.base * 2;\nexports.kind = 'dep';".into()),
            "leaf.js" => Some("exports.base = 21;".into()),
            _ => None,
        }
    };
    let opts = base()
        .module("app", "const dep = require('dep');\nmodule.exports = { v: dep.value, k: dep.kind };")
        .loader(loader)
        .max_runtimes(4);
    let f = EngineFactory::new(opts).unwrap();
    assert_eq!(f.info().modules, vec!["app", "dep", "leaf.js"]);
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.require("app").unwrap(), json!({"v": 42, "k": "dep"}));
    assert_eq!(rt.eval("require('dep').value").unwrap(), json!(42));
    // Loaders are a build-time source only: a name nothing baked asked for
    // is not fetched at run time.
    let before = asked.lock().unwrap().len();
    assert!(matches!(rt.require("other"), Err(Error::ModuleNotFound(_))));
    assert_eq!(asked.lock().unwrap().len(), before, "the loader was consulted at run time");
}

#[test]
fn loader_errors_abort_the_build() {
    struct Failing;
    impl jsbox::ModuleLoader for Failing {
        fn load(&self, name: &str) -> jsbox::Result<Option<String>> {
            Err(Error::InvalidOptions { option: "loader", reason: format!("cannot load {name}") })
        }
    }
    let err = EngineFactory::new(base().module("app", "require('x')").loader(Failing)).unwrap_err();
    match err {
        Error::InvalidOptions { reason, .. } => assert!(reason.contains("cannot load x"), "{reason}"),
        other => panic!("expected the loader's error, got {other:?}"),
    }
}

#[test]
fn preload_runs_in_the_snapshot_once() {
    let opts = base()
        .module(
            "pre",
            "globalThis.loads = (globalThis.loads || 0) + 1;\nexports.table = Array.from({ length: 5 }, (_, i) => i * i);",
        )
        .module("lazy", "globalThis.lazyLoads = (globalThis.lazyLoads || 0) + 1;\nexports.ok = true;")
        .preload("pre")
        .max_runtimes(4);
    let f = EngineFactory::new(opts).unwrap();
    for _ in 0..2 {
        let mut rt = f.new_runtime().unwrap();
        assert_eq!(rt.eval("[globalThis.loads, typeof lazyLoads, 'pre' in require.cache]").unwrap(), json!([1, "undefined", true]));
        assert_eq!(rt.eval("require('pre').table").unwrap(), json!([0, 1, 4, 9, 16]));
        assert_eq!(rt.eval("[loads, require('lazy').ok, lazyLoads]").unwrap(), json!([1, true, 1]));
    }
}

#[test]
fn init_scripts_define_globals() {
    let mut rt = rt();
    assert_eq!(rt.eval("[answer, doubled, add(1, 2), typeof person]").unwrap(), json!([42, 84, 3, "function"]));
}

#[test]
fn syntax_error_in_a_registry_module_is_typed() {
    for no_snapshot in [false, true] {
        let mut opts = base().module("ok", "exports.a = 1;").module("broken.js", "exports.a = 1;\nlet x = ;\n");
        if no_snapshot {
            opts = opts.without_snapshot();
        }
        match EngineFactory::new(opts.max_runtimes(2)) {
            Err(Error::Syntax { message, location }) => {
                assert!(!message.is_empty());
                assert_eq!(location.file, "broken.js", "no_snapshot={no_snapshot}");
                assert_eq!(location.line, 2, "no_snapshot={no_snapshot}");
            }
            other => panic!("expected Error::Syntax (no_snapshot={no_snapshot}), got {other:?}"),
        }
    }
}

#[test]
fn exceptions_at_build_time_are_typed() {
    let opts = base()
        .module("boom", "exports.a = 1;\n\nthrow new TypeError('boom at load');\n")
        .preload("boom");
    match EngineFactory::new(opts) {
        Err(Error::Exception(e)) => {
            assert_eq!(e.name, "TypeError");
            assert_eq!(e.message, "boom at load");
            assert_eq!((e.location.file.as_str(), e.location.line), ("boom", 3));
        }
        other => panic!("expected Error::Exception, got {other:?}"),
    }
    let opts = base().init_script("var fine = 1;").init_script("var y = 2;\nnoSuchFunction();");
    match EngineFactory::new(opts) {
        Err(Error::Exception(e)) => {
            assert_eq!(e.name, "ReferenceError");
            assert_eq!((e.location.file.as_str(), e.location.line), ("init-1.js", 2));
        }
        other => panic!("expected Error::Exception, got {other:?}"),
    }
    match EngineFactory::new(base().init_script("var = 3")) {
        Err(Error::Syntax { location, .. }) => assert_eq!((location.file.as_str(), location.line), ("init-0.js", 1)),
        other => panic!("expected Error::Syntax, got {other:?}"),
    }
}

#[test]
fn max_runtimes_zero_is_invalid() {
    assert!(matches!(EngineFactory::new(base().max_runtimes(0)), Err(Error::InvalidOptions { option: "max_runtimes", .. })));
}

#[derive(Debug, Deserialize, PartialEq)]
struct Person {
    name: String,
    age: u32,
    tags: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Point {
    x: i64,
    y: i64,
    sum: i64,
}

#[test]
fn calls_global_functions_with_typed_results() {
    let mut rt = rt();
    assert_eq!(rt.call_as::<i64>("add", (40, 2)).unwrap(), 42);
    assert_eq!(rt.call_as::<String>("add", ("a", "b")).unwrap(), "ab");
    assert_eq!(rt.call("add", vec![1.5, 2.25]).unwrap(), json!(3.75));
    assert_eq!(
        rt.call_as::<Person>("person", ("Ada", 36)).unwrap(),
        Person { name: "Ada".into(), age: 36, tags: vec!["a".into(), "b".into()] }
    );
    assert_eq!(rt.call_json(None, "add", "[1,2]").unwrap(), "3");
    // An async global function's promise is awaited.
    assert_eq!(rt.call_as::<i64>("slow", (9,)).unwrap(), 10);

    // Wrong types and missing functions are typed errors, not panics.
    assert!(matches!(rt.call_as::<Person>("add", (1, 2)), Err(Error::InvalidValue(_))));
    match rt.call("noSuchFunction", json!([])).unwrap_err() {
        Error::Exception(e) => {
            assert_eq!(e.name, "TypeError");
            assert!(e.message.contains("noSuchFunction"), "{}", e.message);
        }
        other => panic!("expected a TypeError exception, got {other:?}"),
    }
    match rt.call("throws", ("bad",)).unwrap_err() {
        Error::Exception(e) => assert_eq!((e.name.as_str(), e.message.as_str()), ("RangeError", "bad")),
        other => panic!("{other:?}"),
    }
    // The runtime is still fine.
    assert_eq!(rt.call_as::<i64>("add", (1, 1)).unwrap(), 2);
}

#[test]
fn calls_module_functions_and_require_with_typed_results() {
    let mut rt = rt();
    assert_eq!(rt.call_module("math", "mul", (6, 7)).unwrap(), json!(42));
    let p: Point = serde_json::from_value(rt.call_module("math", "point", (2, 5)).unwrap()).unwrap();
    assert_eq!(p, Point { x: 2, y: 5, sum: 7 });
    assert_eq!(rt.call_json(Some("lib/strings.js"), "shout", r#"["x"]"#).unwrap(), r#""X!""#);
    assert_eq!(rt.call_json(Some("lib/strings"), "shout", r#"[1]"#).unwrap(), r#""1!""#);

    // require: exports without functions.
    assert_eq!(rt.require("math").unwrap(), json!({"pi": 2.5}));
    assert_eq!(rt.require("data.json").unwrap(), json!({"name": "jsbox", "list": [1, 2, 3]}));
    #[derive(Deserialize, PartialEq, Debug)]
    struct Data {
        name: String,
        list: Vec<u8>,
    }
    let d: Data = serde_json::from_value(rt.require("data").unwrap()).unwrap();
    assert_eq!(d, Data { name: "jsbox".into(), list: vec![1, 2, 3] });

    // Typed results through eval_as.
    let p: Person = rt.eval_as("person('Grace', 85)").unwrap();
    assert_eq!(p, Person { name: "Grace".into(), age: 85, tags: vec!["a".into(), "b".into()] });
    assert!(matches!(rt.eval_as::<Person>("42"), Err(Error::InvalidValue(_))));

    // Errors are typed, and the runtime survives them.
    assert!(matches!(rt.call_module("math", "mul", 5), Err(Error::InvalidValue(_))), "a non-array argument list");
    match rt.call_module("math", "nothere", json!([])).unwrap_err() {
        Error::Exception(e) => assert!(e.message.contains("nothere"), "{}", e.message),
        other => panic!("expected an exception naming the function, got {other:?}"),
    }
    assert!(matches!(rt.call_module("nomodule", "f", json!([])), Err(Error::ModuleNotFound(_))));
    assert!(rt.call_json(Some("math"), "mul", "not json").is_err());
    assert!(rt.call_json(Some("math"), "mul", "{}").is_err());
    assert_eq!(rt.call_module("math", "mul", (2, 2)).unwrap(), json!(4));
}

#[test]
fn promises_are_awaited() {
    let mut rt = rt();
    assert_eq!(rt.eval("Promise.resolve(5)").unwrap(), json!(5));
    assert_eq!(rt.eval("(async () => { await null; await new Promise((r) => r()); return 6; })()").unwrap(), json!(6));
    assert_eq!(rt.eval("Promise.all([1, Promise.resolve(2), slow(2)])").unwrap(), json!([1, 2, 3]));
    assert_eq!(rt.call_module("math", "later", (21,)).unwrap(), json!(42));
    match rt.eval("Promise.reject(new Error('nope'))").unwrap_err() {
        Error::Exception(e) => assert_eq!(e.message, "nope"),
        other => panic!("{other:?}"),
    }
    match rt.eval("(async () => { throw new TypeError('async boom') })()").unwrap_err() {
        Error::Exception(e) => assert_eq!((e.name.as_str(), e.message.as_str()), ("TypeError", "async boom")),
        other => panic!("{other:?}"),
    }
    // A promise nothing can settle is an error, not a hang.
    let err = rt.eval("new Promise(() => {})").unwrap_err();
    assert!(!err.is_fatal(), "{err:?}");
    assert_eq!(rt.eval("1").unwrap(), json!(1));
}

#[test]
fn capacity_is_enforced_and_freed_on_drop() {
    let f = EngineFactory::new(base().module("cap", "exports.v = 1;").max_runtimes(2)).unwrap();
    assert!(f.info().engine.pooling, "the pooling allocator is expected on this machine");
    let a = f.new_runtime().unwrap();
    let mut b = f.new_runtime().unwrap();
    match f.new_runtime() {
        Err(Error::Capacity(2)) => {}
        other => panic!("expected Error::Capacity(2), got {other:?}"),
    }
    // Still full on a second try, and the live runtimes are unaffected.
    assert!(matches!(f.new_runtime(), Err(Error::Capacity(2))));
    assert_eq!(b.eval("require('cap').v").unwrap(), json!(1));
    drop(a);
    let mut c = f.new_runtime().expect("a slot is free after drop");
    assert_eq!(c.eval("require('cap').v + 1").unwrap(), json!(2));
    assert!(matches!(f.new_runtime(), Err(Error::Capacity(2))));
    drop(b);
    drop(c);
    let _d = f.new_runtime().unwrap();
    let _e = f.new_runtime().unwrap();
}

#[test]
fn runtime_ids_are_unique() {
    let ids: std::collections::BTreeSet<u64> = (0..20).map(|_| rt().id()).collect();
    assert_eq!(ids.len(), 20);
}

#[test]
fn info_and_limits_are_reported() {
    let info = SHARED.info();
    assert!(info.snapshot);
    assert!(info.module_bytes > 0);
    assert!(info.modules.contains(&"counter".to_string()));
    assert!(info.modules.contains(&"data.json".to_string()));
    assert_eq!(SHARED.limits(), &jsbox::Limits::default());
    assert_eq!(rt().limits(), &jsbox::Limits::default());
}
