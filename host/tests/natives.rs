//! Native modules: typed functions, host errors, values that are not JSON,
//! the `fs` and `exec` capability modules, console, module policy and the
//! `path` built-in.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use jsbox::{
    CacheDir, ConsoleLine, ConsoleOutput, EngineFactory, EngineOptions, Error, LogLevel, ModulePolicy,
    NativeModule, Runtime,
};
use jsbox::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn base() -> EngineOptions {
    EngineOptions::new().cache(cache()).max_runtimes(16)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "jsbox::schemars")]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "jsbox::schemars")]
struct Scaled {
    len: f64,
    scaled: [f64; 2],
    label: String,
}

static ECHO_CALLS: AtomicUsize = AtomicUsize::new(0);

fn geo() -> NativeModule {
    NativeModule::new("geo")
        .function("scale", |(p, k, label): (Point, f64, Option<String>)| {
            Ok::<_, String>(Scaled {
                len: (p.x * p.x + p.y * p.y).sqrt(),
                scaled: [p.x * k, p.y * k],
                label: label.unwrap_or_else(|| "none".into()),
            })
        })
        .function("fail", |_: serde_json::Value| Err::<(), _>("the disk is on fire"))
        .function("failWith", |(m,): (String,)| Err::<(), _>(m))
        .function("echo", |args: serde_json::Value| {
            ECHO_CALLS.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(args)
        })
        .function("count", |_: serde_json::Value| Ok::<_, String>(ECHO_CALLS.load(Ordering::SeqCst)))
}

static GEO: LazyLock<EngineFactory> = LazyLock::new(|| {
    EngineFactory::new(
        base()
            .native_module(geo())
            .module("uses_geo", "const g = require('geo');\nexports.run = () => g.scale({x: 1, y: 1}, 3, null);"),
    )
    .unwrap()
});

fn geo_rt() -> Runtime {
    GEO.new_runtime().unwrap()
}

#[test]
fn typed_native_function_with_serde_args() {
    let mut rt = geo_rt();
    assert_eq!(
        rt.eval("require('geo').scale({ x: 3, y: 4, extra: true }, 2, 'p')").unwrap(),
        json!({"len": 5, "scaled": [6, 8], "label": "p"})
    );
    assert_eq!(rt.eval("require('geo').scale({ x: 0, y: 0 }, 1, null).label").unwrap(), json!("none"));
    assert_eq!(rt.call_module("uses_geo", "run", json!([])).unwrap(), json!({"len": 2f64.sqrt(), "scaled": [3, 3], "label": "none"}));
    // The stub object is frozen and lists exactly the registered functions.
    assert_eq!(
        rt.eval("const g = require('geo'); [Object.isFrozen(g), Object.keys(g).sort(), g === require('geo')]").unwrap(),
        json!([true, ["count", "echo", "fail", "failWith", "scale"], true])
    );
    // Wrong argument types are a catchable error naming the problem.
    let msg = rt.eval("try { require('geo').scale('nope', 2); 'no error' } catch (e) { e.message }").unwrap();
    assert!(msg.as_str().unwrap().contains("bad arguments"), "{msg}");
}

#[test]
fn host_error_is_a_catchable_js_exception() {
    let mut rt = geo_rt();
    assert_eq!(
        rt.eval("try { require('geo').fail() } catch (e) { [e instanceof Error, e.message] }").unwrap(),
        json!([true, "the disk is on fire"])
    );
    // JS can carry on after catching it.
    assert_eq!(
        rt.eval("let seen = []; for (const m of ['a', 'b']) { try { require('geo').failWith(m) } catch (e) { seen.push(e.message) } } seen").unwrap(),
        json!(["a", "b"])
    );
}

#[test]
fn uncaught_host_error_comes_back_as_error_host() {
    let mut rt = geo_rt();
    match rt.eval("require('geo').fail()").unwrap_err() {
        Error::Host { module, function, message } => {
            assert_eq!((module.as_str(), function.as_str(), message.as_str()), ("geo", "fail", "the disk is on fire"));
        }
        other => panic!("expected Error::Host, got {other:?}"),
    }
    // A caught host error followed by an unrelated JS error is that JS error.
    match rt.eval("try { require('geo').fail() } catch (_) {} throw new Error('mine')").unwrap_err() {
        Error::Exception(e) => assert_eq!(e.message, "mine"),
        other => panic!("expected the script's own exception, got {other:?}"),
    }
    // Rethrowing the host error keeps it typed.
    assert!(matches!(
        rt.eval("try { require('geo').failWith('x') } catch (e) { throw e }"),
        Err(Error::Host { .. })
    ));
    assert_eq!(rt.eval("1 + 1").unwrap(), json!(2), "the runtime survives host errors");
}

#[test]
fn values_that_are_not_json() {
    let mut rt = geo_rt();
    assert_eq!(rt.eval("require('geo').echo(undefined)").unwrap(), json!([null]));
    assert_eq!(rt.eval("require('geo').echo(function f() {}, 1)").unwrap(), json!([null, 1]));
    assert_eq!(rt.eval("require('geo').echo({ a: undefined, b: () => 1, c: 2 })").unwrap(), json!([{"c": 2}]));
    assert_eq!(rt.eval("require('geo').echo(NaN, Infinity)").unwrap(), json!([null, null]));
    assert_eq!(rt.eval("require('geo').echo(new Date(0))").unwrap(), json!(["1970-01-01T00:00:00.000Z"]));

    let calls_before = rt.stats().host_calls;
    let cyclic = rt
        .eval("const o = { n: 1 }; o.self = o; try { require('geo').echo(o); 'no error' } catch (e) { [e instanceof TypeError, e.name] }")
        .unwrap();
    assert_eq!(cyclic, json!([true, "TypeError"]));
    let bigint = rt
        .eval("try { require('geo').echo(10n); 'no error' } catch (e) { [e instanceof TypeError, e.name] }")
        .unwrap();
    assert_eq!(bigint, json!([true, "TypeError"]));
    assert_eq!(rt.stats().host_calls, calls_before, "a non-JSON argument reached the host");
    // Uncaught, it is an ordinary exception.
    match rt.eval("const p = {}; p.p = p; require('geo').echo(p)").unwrap_err() {
        Error::Exception(e) => assert_eq!(e.name, "TypeError"),
        other => panic!("expected a TypeError, got {other:?}"),
    }
}

/// Numbers, strings and scalar results skip JSON in the guest (a fast
/// path); what the host receives and what JS gets back must be exactly what
/// `JSON.stringify` / `JSON.parse` would give, edge cases included.
#[test]
fn scalar_fast_path_matches_json() {
    let pass = NativeModule::new("pass").raw("first", |args: &str| {
        let mut values: Vec<serde_json::Value> = serde_json::from_str(args).map_err(|e| Error::InvalidValue(e.to_string()))?;
        Ok(values.remove(0).to_string())
    });
    let mut rt = jsbox::open(base().native_module(geo()).native_module(pass)).unwrap();
    let bad = rt
        .eval(
            r#"
            const echo = require('geo').echo, first = require('pass').first;
            const cases = [0, -0, 1, -1, 42, 2147483647, 2147483648, -2147483649, 2 ** 53, 2 ** 60, 0.1, 0.1 + 0.2,
              -1.5, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity, true, false, null,
              undefined, '', 'plain', 'quote " back \\ slash', 'ctl \u0001\u001f\n\r\t\b\f', 'é ü 中文 😀',
              '\u2028\u2029', '"', '\\', [1, 'a'], { k: -0 }];
            const bad = [];
            for (const c of cases) {
              const viaHost = JSON.stringify(echo(c, c));
              const viaJs = JSON.stringify([c, c]);
              if (viaHost !== viaJs) bad.push(['echo', viaJs, viaHost]);
              if (typeof c === 'object' && c !== null) continue;
              const back = first(c);
              const expected = JSON.parse(JSON.stringify([c]))[0];
              if (!Object.is(back, expected)) bad.push(['first', JSON.stringify([c]), String(back)]);
            }
            bad
            "#,
        )
        .unwrap();
    assert_eq!(bad, json!([]));
    // The stub carries the function's name.
    assert_eq!(rt.eval("require('geo').echo.name").unwrap(), json!("echo"));
}

// ---- fs ------------------------------------------------------------------

struct FsFixture {
    _tmp: tempfile::TempDir,
    ro: PathBuf,
    rw: PathBuf,
    outside: PathBuf,
    factory: EngineFactory,
}

static FS: LazyLock<FsFixture> = LazyLock::new(|| {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let (ro, rw, outside) = (root.join("ro"), root.join("rw"), root.join("outside"));
    for d in [&ro, &rw, &outside] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(ro.join("b.txt"), "bee").unwrap();
    std::fs::write(ro.join("a.txt"), "héllo ✓\nline 2").unwrap();
    std::fs::create_dir(ro.join("c")).unwrap();
    std::fs::write(ro.join("c/deep.txt"), "deep").unwrap();
    std::fs::write(outside.join("secret.txt"), "TOP-SECRET").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), ro.join("link_out")).unwrap();
    std::os::unix::fs::symlink(&outside, ro.join("dir_out")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), rw.join("link_out")).unwrap();
    std::os::unix::fs::symlink("a.txt", ro.join("link_in")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", ro.join("rel_out")).unwrap();
    // Relative paths (grants and script paths) resolve against `root`.
    let factory = EngineFactory::new(base().working_dir(&root).allow_read("ro").allow_write(&rw)).unwrap();
    FsFixture { _tmp: tmp, ro, rw, outside, factory }
});

fn fs_rt() -> Runtime {
    FS.factory.new_runtime().unwrap()
}

fn js(p: &Path) -> String {
    serde_json::to_string(p.to_str().unwrap()).unwrap()
}

#[test]
fn fs_reads_writes_lists_and_creates() {
    let f = &*FS;
    let mut rt = fs_rt();
    let (ro, rw) = (js(&f.ro), js(&f.rw));
    assert_eq!(rt.eval(&format!("require('fs').readFileSync({ro} + '/a.txt', 'utf8')")).unwrap(), json!("héllo ✓\nline 2"));
    // Relative paths are relative to the working directory.
    assert_eq!(rt.eval("require('fs').readFileSync('ro/c/deep.txt', 'utf8')").unwrap(), json!("deep"));
    // A symlink that stays inside the grant is fine.
    assert_eq!(rt.eval(&format!("require('fs').readFileSync({ro} + '/link_in', 'utf8')")).unwrap(), json!("héllo ✓\nline 2"));
    let listing = rt.eval(&format!("require('fs').readdirSync({ro})")).unwrap();
    assert_eq!(listing, json!(["a.txt", "b.txt", "c", "dir_out", "link_in", "link_out", "rel_out"]));
    assert_eq!(
        rt.eval(&format!(
            "const fs = require('fs'); [fs.existsSync({ro} + '/a.txt'), fs.existsSync({ro} + '/zzz'), fs.existsSync({ro} + '/c')]"
        ))
        .unwrap(),
        json!([true, false, true])
    );

    rt.eval(&format!("require('fs').writeFileSync({rw} + '/out.txt', 'written ✓')")).unwrap();
    assert_eq!(std::fs::read_to_string(f.rw.join("out.txt")).unwrap(), "written ✓");
    // Truncates on rewrite.
    rt.eval(&format!("require('fs').writeFileSync({rw} + '/out.txt', 'x')")).unwrap();
    assert_eq!(std::fs::read_to_string(f.rw.join("out.txt")).unwrap(), "x");
    assert_eq!(rt.eval(&format!("require('fs').readFileSync({rw} + '/out.txt', 'utf8')")).unwrap(), json!("x"));

    rt.eval(&format!("require('fs').mkdirSync({rw} + '/x/y/z', {{ recursive: true }})")).unwrap();
    assert!(f.rw.join("x/y/z").is_dir());
    // Recursive mkdir of an existing directory is fine.
    rt.eval(&format!("require('fs').mkdirSync({rw} + '/x/y', {{ recursive: true }})")).unwrap();
    rt.eval(&format!("require('fs').writeFileSync({rw} + '/x/y/z/f.txt', 'f')")).unwrap();
    assert_eq!(
        rt.eval(&format!("const fs2 = require('fs'); [fs2.existsSync({rw} + '/x/y/z'), fs2.readdirSync({rw} + '/x/y/z')]")).unwrap(),
        json!([true, ["f.txt"]])
    );
    // Non-recursive mkdir with a missing parent fails (not denied: a plain host error).
    let err = rt.eval(&format!("require('fs').mkdirSync({rw} + '/p/q', {{ recursive: false }})")).unwrap_err();
    assert!(matches!(err, Error::Host { .. }), "{err:?}");
    // A missing file is a host error JS can catch.
    assert_eq!(
        rt.eval(&format!("try {{ require('fs').readFileSync({ro} + '/missing', 'utf8') }} catch (e) {{ 'caught' }}")).unwrap(),
        json!("caught")
    );
    assert!(matches!(rt.eval(&format!("require('fs').readFileSync({ro} + '/missing', 'utf8')")), Err(Error::Host { .. })));
}

fn expect_denied(rt: &mut Runtime, script: &str) {
    match rt.eval(script) {
        Err(Error::Denied(m)) => assert!(m.starts_with("fs:"), "{m}"),
        other => panic!("expected Error::Denied for {script}, got {other:?}"),
    }
}

#[test]
fn fs_denials() {
    let f = &*FS;
    let mut rt = fs_rt();
    let (ro, rw, outside) = (js(&f.ro), js(&f.rw), js(&f.outside));
    // Absolute path outside every grant.
    expect_denied(&mut rt, "require('fs').readFileSync('/etc/passwd', 'utf8')");
    expect_denied(&mut rt, &format!("require('fs').readFileSync({outside} + '/secret.txt', 'utf8')"));
    expect_denied(&mut rt, &format!("require('fs').existsSync({outside} + '/secret.txt')"));
    expect_denied(&mut rt, &format!("require('fs').readdirSync({outside})"));
    // `..` traversal, absolute and relative.
    expect_denied(&mut rt, &format!("require('fs').readFileSync({ro} + '/../outside/secret.txt', 'utf8')"));
    expect_denied(&mut rt, "require('fs').readFileSync('../outside/secret.txt', 'utf8')");
    expect_denied(&mut rt, "require('fs').readFileSync('c/../../outside/secret.txt', 'utf8')");
    // A symlink inside the grant pointing outside.
    expect_denied(&mut rt, &format!("require('fs').readFileSync({ro} + '/link_out', 'utf8')"));
    expect_denied(&mut rt, &format!("require('fs').readFileSync({ro} + '/dir_out/secret.txt', 'utf8')"));
    expect_denied(&mut rt, &format!("require('fs').readFileSync({ro} + '/rel_out', 'utf8')"));
    expect_denied(&mut rt, "require('fs').readFileSync('rel_out', 'utf8')");
    expect_denied(&mut rt, &format!("require('fs').readdirSync({ro} + '/dir_out')"));
    // Writes into a read-only grant.
    expect_denied(&mut rt, &format!("require('fs').writeFileSync({ro} + '/new.txt', 'x')"));
    expect_denied(&mut rt, &format!("require('fs').writeFileSync({ro} + '/a.txt', 'x')"));
    expect_denied(&mut rt, &format!("require('fs').mkdirSync({ro} + '/newdir', {{}})"));
    expect_denied(&mut rt, "require('fs').writeFileSync('relative.txt', 'x')");
    // Writes through a symlink in the writable grant pointing outside.
    expect_denied(&mut rt, &format!("require('fs').writeFileSync({rw} + '/link_out', 'pwned')"));
    // A prefix that only looks like the grant.
    expect_denied(&mut rt, &format!("require('fs').readFileSync({ro} + 'x/a.txt', 'utf8')"));

    assert_eq!(std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(), "TOP-SECRET");
    assert!(!f.ro.join("new.txt").exists() && !f.ro.join("newdir").exists() && !f.ro.join("relative.txt").exists());
    assert_eq!(std::fs::read_to_string(f.ro.join("a.txt")).unwrap(), "héllo ✓\nline 2");

    // Denials are catchable in JS, with a message.
    let caught = rt
        .eval(&format!("try {{ require('fs').readFileSync({ro} + '/link_out', 'utf8') }} catch (e) {{ e.message }}"))
        .unwrap();
    assert!(caught.as_str().unwrap().contains("denied") || caught.as_str().unwrap().contains("outside"), "{caught}");
    assert!(!caught.as_str().unwrap().contains("TOP-SECRET"));
}

#[test]
// Was a bug at HEAD 162523f ("bad arguments: invalid length 1"); fixed by
// padding short argument arrays in native::parse_args.
fn optional_arguments_of_builtin_modules_may_be_left_out() {
    let f = &*FS;
    let mut rt = fs_rt();
    let (ro, rw) = (js(&f.ro), js(&f.rw));
    assert_eq!(rt.eval(&format!("require('fs').readFileSync({ro} + '/b.txt')")).unwrap(), json!("bee"));
    rt.eval(&format!("require('fs').mkdirSync({rw} + '/plain')")).unwrap();
    assert!(f.rw.join("plain").is_dir());
    match rt.eval("require('fs').readFileSync('/etc/passwd')") {
        Err(Error::Denied(_)) => {}
        other => panic!("expected Error::Denied, got {other:?}"),
    }
    let exec = EngineFactory::new(base().allow_exec("true")).unwrap();
    assert_eq!(exec.new_runtime().unwrap().eval("require('exec').run('true').status").unwrap(), json!(0));
}

#[test]
fn fs_grant_that_does_not_exist_fails_the_build() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no/such/grant");
    assert!(matches!(EngineFactory::new(base().allow_read(missing)), Err(Error::Io { .. })));
}

// ---- exec ----------------------------------------------------------------

#[test]
fn exec_runs_allowed_programs_only() {
    let f = EngineFactory::new(base().allow_exec("echo")).unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(
        rt.eval("require('exec').run('echo', ['hi'])").unwrap(),
        json!({"status": 0, "stdout": "hi\n", "stderr": ""})
    );
    // Arguments are not re-parsed by a shell.
    assert_eq!(rt.eval("require('exec').run('echo', ['$HOME; ls', '*']).stdout").unwrap(), json!("$HOME; ls *\n"));
    for script in [
        "require('exec').run('ls', ['/'])",
        "require('exec').run('sh', ['-c', 'echo pwned'])",
        "require('exec').run('/bin/echo', ['hi'])",
        "require('exec').run('echo ', ['hi'])",
    ] {
        match rt.eval(script) {
            Err(Error::NotGranted { grant: "exec", detail, .. }) => assert_eq!(detail, "exec grant: echo"),
            other => panic!("expected Error::NotGranted for {script}, got {other:?}"),
        }
    }
    assert_eq!(
        rt.eval("try { require('exec').run('sh', ['-c', 'true']) } catch (e) { e.message.includes('sh is not granted') }").unwrap(),
        json!(true)
    );
}

#[test]
fn exec_is_absent_without_grants() {
    let mut rt = geo_rt();
    // Not found, or denied for want of a grant: a typed module error either way.
    assert!(matches!(rt.eval("require('exec').run('echo', ['hi'])"), Err(Error::ModuleNotFound(_) | Error::ModuleDenied { .. })));
    assert!(matches!(rt.eval("require('fs')"), Err(Error::ModuleNotFound(_) | Error::ModuleDenied { .. })));
}

// ---- console ---------------------------------------------------------------

#[test]
fn console_capture_keeps_lines_with_levels() {
    let f = EngineFactory::new(base().console(ConsoleOutput::Capture).module("logs", "console.info('from module'); exports.x = 1;")).unwrap();
    let mut rt = f.new_runtime().unwrap();
    rt.eval(
        "console.log('plain', 1, true, null, undefined);\n\
         console.warn('careful', { a: 1, b: [1, 'two'] });\n\
         console.error([1, 2, 3]);\n\
         console.info('info');\n\
         console.debug('dbg');\n\
         console.log(function named() {});\n\
         const o = {}; o.o = o; console.log(o);\n\
         require('logs');",
    )
    .unwrap();
    let lines = rt.take_console();
    let line = |level, message: &str| ConsoleLine { level, message: message.to_string() };
    assert_eq!(
        lines[..7],
        [
            line(LogLevel::Log, "plain 1 true null undefined"),
            line(LogLevel::Warn, r#"careful {"a":1,"b":[1,"two"]}"#),
            line(LogLevel::Error, "[1,2,3]"),
            line(LogLevel::Info, "info"),
            line(LogLevel::Debug, "dbg"),
            line(LogLevel::Log, "[Function named]"),
            line(LogLevel::Log, "[object Object]"),
        ]
    );
    assert_eq!(lines[7..], [line(LogLevel::Info, "from module")]);
    // take_console empties the buffer.
    assert!(rt.take_console().is_empty());
    rt.eval("console.error(new TypeError('bad'))").unwrap();
    let err = rt.take_console();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].level, LogLevel::Error);
    assert!(err[0].message.starts_with("TypeError: bad"), "{:?}", err[0].message);
    // Each runtime has its own buffer.
    let mut other = f.new_runtime().unwrap();
    rt.eval("console.log('only in rt')").unwrap();
    assert!(other.take_console().is_empty());
    assert_eq!(rt.take_console(), vec![line(LogLevel::Log, "only in rt")]);
}

#[test]
fn console_discard_keeps_nothing() {
    let mut rt = geo_rt();
    rt.eval("console.log('x'); console.error('y'); console.warn({a: 1}); 1").unwrap();
    assert!(rt.take_console().is_empty());
    assert_eq!(rt.stats().console_bytes_dropped, 0, "discarded output is not 'dropped' output");
}

// ---- module policy -----------------------------------------------------------

fn policy_options(policy: ModulePolicy) -> EngineOptions {
    base()
        .module("a", "exports.name = 'a';")
        .module("b", "exports.name = 'b';")
        .module("uses_b", "exports.name = require('b').name + '!';")
        .module("uses_m", "exports.v = () => require('m').v();")
        .native_module(NativeModule::new("m").function("v", |_: serde_json::Value| Ok::<_, String>(7)))
        .module_policy(policy)
}

fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn module_policy_allow_list() {
    let f = EngineFactory::new(policy_options(ModulePolicy::Allow(names(&["a", "m", "uses_b"])))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.eval("require('a').name").unwrap(), json!("a"));
    assert_eq!(rt.eval("require('m').v()").unwrap(), json!(7));
    assert!(matches!(rt.require("b"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.eval("require('b')"), Err(Error::ModuleDenied { .. })));
    // Indirectly, through an allowed module, is denied too.
    assert!(matches!(rt.require("uses_b"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.require("path"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.require("uses_m"), Err(Error::ModuleDenied { .. })));
    assert_eq!(rt.eval("try { require('b') } catch (e) { e.message.includes('denied') }").unwrap(), json!(true));
}

#[test]
fn module_policy_deny_list() {
    let f = EngineFactory::new(policy_options(ModulePolicy::Deny(names(&["b", "m"])))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.eval("require('a').name").unwrap(), json!("a"));
    assert!(matches!(rt.require("b"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.eval("require('./b')"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.eval("require('/b')"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.require("uses_b"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.require("m"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.call_module("uses_m", "v", json!([])), Err(Error::ModuleDenied { .. })));
    assert_eq!(rt.eval("require('path').join('a', 'b')").unwrap(), json!("a/b"));
}

#[test]
fn module_policy_data_only() {
    let f = EngineFactory::new(policy_options(ModulePolicy::DataOnly).allow_exec("echo")).unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.eval("[require('a').name, require('uses_b').name]").unwrap(), json!(["a", "b!"]));
    assert!(matches!(rt.require("m"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.require("exec"), Err(Error::ModuleDenied { .. })));
    assert!(matches!(rt.call_module("uses_m", "v", json!([])), Err(Error::ModuleDenied { .. })));
    assert_eq!(rt.eval("[require('path').basename('/x/y.js'), typeof require('console').log]").unwrap(), json!(["y.js", "function"]));
}

// ---- path ------------------------------------------------------------------

#[test]
fn path_builtin() {
    let mut rt = geo_rt();
    let got = rt
        .eval(
            "const p = require('path');\n[\n\
             p.join('/a', 'b', '../c', './d.txt'), p.join('a', 'b'), p.join('a/', '/b'), p.join(''), p.join('/'),\n\
             p.dirname('/a/b/c.txt'), p.dirname('/a'), p.dirname('a'), p.dirname('a/b/'),\n\
             p.basename('/a/b/c.txt'), p.basename('/a/b/c.txt', '.txt'), p.basename('/a/b/'),\n\
             p.extname('x.tar.gz'), p.extname('.bashrc'), p.extname('noext'), p.extname('a.b/c'),\n\
             p.resolve('/foo/bar', './baz'), p.resolve('/foo/bar', '/tmp/file/'), p.resolve('a', 'b'), p.resolve('/a', '..', '..', 'b'),\n\
             p.sep, p.isAbsolute('/x'), p.isAbsolute('x'), p.normalize('/a//b/./c/..'),\n\
             ]",
        )
        .unwrap();
    assert_eq!(
        got,
        json!([
            "/a/c/d.txt", "a/b", "a/b", ".", "/",
            "/a/b", "/", ".", "a",
            "c.txt", "c", "b",
            ".gz", "", "", "",
            "/foo/bar/baz", "/tmp/file", "/a/b", "/b",
            "/", true, false, "/a/b",
        ])
    );
    // The built-in is frozen.
    assert_eq!(rt.eval("'use strict'; try { require('path').join = null; 'mutated' } catch (e) { e.name }").unwrap(), json!("TypeError"));
}

// Keep an Arc-shared fixture usable from threads too.
#[test]
fn native_calls_from_many_threads() {
    let f = Arc::new(EngineFactory::new(base().native_module(geo())).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut rt = f.new_runtime().unwrap();
                for i in 0..25 {
                    let v = rt.eval(&format!("require('geo').echo({t}, {i})")).unwrap();
                    assert_eq!(v, json!([t, i]));
                }
                assert_eq!(rt.stats().host_calls, 25);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// The path rule (crate docs, "Filesystem grants and paths"): grants and
/// script paths resolve against the working directory; a grant is reachable
/// by the path it was granted with, its absolute path and its canonical path.
#[test]
fn fs_paths_resolve_against_the_working_directory() {
    // The default working directory is the process's: cargo runs tests in
    // the package directory, so `src` is `host/src`.
    let mut rt = EngineFactory::new(base().allow_read("src")).unwrap().new_runtime().unwrap();
    for dir in ["src", "./src", "src/", "src/."] {
        let names: Vec<String> = rt.eval_as(&format!("require('fs').readdirSync('{dir}')")).unwrap();
        assert!(names.contains(&"lib.rs".to_string()), "{dir}: {names:?}");
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    let text: String = rt.eval_as(&format!("require('fs').readFileSync({}, 'utf8')", js(&lib))).unwrap();
    assert!(text.contains("deny(missing_docs)"));
    // The package directory itself is not granted.
    match rt.eval("require('fs').readFileSync('Cargo.toml', 'utf8')") {
        Err(Error::Denied(m)) => assert!(m.contains("relative paths are resolved against"), "{m}"),
        other => panic!("expected Error::Denied, got {other:?}"),
    }
    expect_denied(&mut rt, "require('fs').readFileSync('src/../Cargo.toml', 'utf8')");
    expect_denied(&mut rt, &format!("require('fs').readFileSync({})", js(&lib.join("../../Cargo.toml"))));
}

#[test]
fn fs_grants_through_symlinks_and_nested_grants() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("data/out")).unwrap();
    std::fs::write(root.join("data/a.txt"), "a").unwrap();
    std::fs::write(root.join("secret.txt"), "TOP-SECRET").unwrap();
    std::os::unix::fs::symlink(root.join("data"), root.join("alias")).unwrap();
    let options = base()
        // A relative working directory resolves against the process's.
        .working_dir(pathdiff(root))
        .allow_read("alias")
        .allow_write("data/out");
    let mut rt = EngineFactory::new(options).unwrap().new_runtime().unwrap();
    let canonical = std::fs::canonicalize(root).unwrap();
    // The grant by its name, its absolute path and its canonical path.
    for path in ["alias/a.txt".to_string(), format!("{}/alias/a.txt", root.display()), format!("{}/data/a.txt", canonical.display())] {
        assert_eq!(rt.eval_as::<String>(&format!("require('fs').readFileSync({path:?}, 'utf8')")).unwrap(), "a", "{path}");
    }
    // The most specific grant decides: data/out is writable, data is not.
    rt.eval("require('fs').writeFileSync('data/out/x.txt', 'x')").unwrap();
    assert_eq!(std::fs::read_to_string(root.join("data/out/x.txt")).unwrap(), "x");
    expect_denied(&mut rt, "require('fs').writeFileSync('alias/y.txt', 'y')");
    expect_denied(&mut rt, "require('fs').readFileSync('secret.txt')");
    expect_denied(&mut rt, "require('fs').readFileSync('alias/../secret.txt')");
    expect_denied(&mut rt, "require('fs').readdirSync('.')");
    assert!(!root.join("data/y.txt").exists());
}

/// `path` relative to the current directory (for a relative `working_dir`).
fn pathdiff(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let up = cwd.components().count() - 1;
    let mut rel = PathBuf::new();
    for _ in 0..up {
        rel.push("..");
    }
    rel.join(path.strip_prefix("/").unwrap())
}
