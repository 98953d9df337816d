//! Drives the real `jsbox` binary.
//!
//! Every factory build compiles wasm, so the tests share a handful of
//! plugin sources and option sets (the compiled snapshots land in a cache
//! under CARGO_TARGET_TMPDIR, never in ~/.cache).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

/// The test plugin: a function export plus named ones for each failure.
const PLUGIN: &str = r#"const util = require('./lib/util');
module.exports = (x) => ({ sum: util.sum(x.nums), n: x.nums.length });
module.exports.boom = () => {
  throw new TypeError('kaboom');
};
module.exports.spin = () => { while (true) {} };
module.exports.read = (p) => require('fs').readFileSync(p, 'utf8');
module.exports.exec = (prog) => require('exec').run(prog, ['hi']).stdout;
module.exports.joined = (parts) => require('path').join(...parts);
module.exports.console = () => require('console') && 1;
module.exports.record = (x) => {
  if (x.fail) throw new RangeError('record ' + x.i + ' failed');
  return { i: x.i, sq: x.i * x.i };
};
module.exports.later = async (x) => {
  await new Promise((resolve) => setTimeout(resolve, x.ms));
  if (x.fail) throw new RangeError('record ' + x.i + ' failed late');
  return { i: x.i, waited: x.ms };
};
module.exports.never = () => new Promise(() => {});
"#;

const UTIL: &str = "exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n";

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache")
}

fn jsbox() -> Command {
    let mut cmd = Command::cargo_bin("jsbox").unwrap();
    cmd.env("JSBOX_CACHE_DIR", cache_dir()).env_remove("RUST_LOG");
    cmd
}

/// A temp dir holding `plugin.js`, `lib/util.js` and `data/hello.txt`.
fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("plugin.js"), PLUGIN).unwrap();
    std::fs::write(dir.path().join("lib/util.js"), UTIL).unwrap();
    std::fs::write(dir.path().join("data/hello.txt"), "hello from data\n").unwrap();
    dir
}

fn plugin(dir: &TempDir) -> PathBuf {
    dir.path().join("plugin.js")
}

#[test]
fn run_prints_the_result() {
    let dir = fixture();
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--input", r#"{"nums": [1, 2, 3, 4]}"#])
        .assert()
        .code(0)
        .stdout(r#"{"sum":10,"n":4}"#.to_owned() + "\n");
    // Input from stdin, and from a file.
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .write_stdin(r#"{"nums": [5]}"#)
        .assert()
        .code(0)
        .stdout("{\"sum\":5,\"n\":1}\n");
    let input = dir.path().join("in.json");
    std::fs::write(&input, r#"{"nums": [2, 2]}"#).unwrap();
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .arg("--input-file")
        .arg(&input)
        .assert()
        .code(0)
        .stdout("{\"sum\":4,\"n\":2}\n");
}

#[test]
fn js_error_exits_1_with_name_message_and_location() {
    let dir = fixture();
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "boom"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains("TypeError: kaboom"))
        .stderr(contains("plugin.js:4:"))
        .stderr(contains("stack:"));
    // A missing export is a JS TypeError too.
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "nope"])
        .assert()
        .code(1)
        .stderr(contains("'nope' is not a function"));
}

#[test]
fn syntax_error_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.js");
    std::fs::write(&path, "module.exports = () => {\n  return 1 +* 2;\n};\n").unwrap();
    jsbox().arg("run").arg(&path).assert().code(1).stderr(contains("SyntaxError")).stderr(contains("broken.js:2:"));
}

#[test]
fn timeout_exits_3() {
    let dir = fixture();
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "spin", "--timeout", "200ms"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(3)
        .stderr(contains("timed out"));
}

#[test]
fn fs_outside_the_grant_is_denied() {
    let dir = fixture();
    let data = dir.path().join("data");
    let inside = data.join("hello.txt");
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "read", "--allow-read"])
        .arg(&data)
        .arg("--input")
        .arg(serde_json::to_string(inside.to_str().unwrap()).unwrap())
        .assert()
        .code(0)
        .stdout("\"hello from data\\n\"\n");
    let outside = dir.path().join("lib/util.js");
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "read", "--allow-read"])
        .arg(&data)
        .arg("--input")
        .arg(serde_json::to_string(outside.to_str().unwrap()).unwrap())
        .assert()
        .code(5)
        .stderr(contains("not inside a granted directory"));
    // No grant at all: `fs` is not there.
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "read", "--input", "\"/etc/hostname\""])
        .assert()
        .code(5)
        .stderr(contains("--allow-read"));
}

#[test]
fn exec_not_allowed_is_denied() {
    let dir = fixture();
    // No --allow-exec at all.
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "exec", "--input", "\"echo\""])
        .assert()
        .code(5)
        .stderr(contains("--allow-exec"));
    // Another program than the one allowed.
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "exec", "--allow-exec", "echo", "--input", "\"ls\""])
        .assert()
        .code(5)
        .stderr(contains("exec: ls is not granted (exec grant: echo)").and(contains("pass --allow-exec ls")));
}

#[test]
fn module_policy_allows_the_plugin_files_and_named_modules() {
    let dir = fixture();
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--allow-module", "path", "--export", "joined", "--input", r#"["a", "b", "c.txt"]"#])
        .assert()
        .code(0)
        .stdout("\"a/b/c.txt\"\n");
    // The plugin's relative require still works under the policy.
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--allow-module", "path", "--input", r#"{"nums": [1]}"#])
        .assert()
        .code(0)
        .stdout("{\"sum\":1,\"n\":1}\n");
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--allow-module", "path", "--export", "console"])
        .assert()
        .code(5)
        .stderr(contains("denied by the module policy"));
}

#[test]
fn bad_usage_exits_2() {
    let dir = fixture();
    jsbox().args(["run", "--no-such-flag"]).assert().code(2);
    jsbox().arg("run").assert().code(2).stderr(contains("PLUGIN.js"));
    jsbox().arg("frobnicate").assert().code(2);
    jsbox().arg("run").arg(plugin(&dir)).args(["--timeout", "soon"]).assert().code(2);
    jsbox().arg("run").arg(plugin(&dir)).args(["--max-memory", "12 parsecs"]).assert().code(2);
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--input", "{not json"])
        .assert()
        .code(2)
        .stderr(contains("not valid JSON"));
    jsbox().arg("run").arg(dir.path().join("missing.js")).assert().code(2).stderr(contains("cannot read plugin"));
    jsbox().arg("run").arg(plugin(&dir)).args(["--input", "1", "--input-file", "x.json"]).assert().code(2);
}

#[test]
fn batch_keeps_order_and_reports_errors_per_line() {
    let dir = fixture();
    let input = dir.path().join("in.jsonl");
    let output = dir.path().join("out.jsonl");
    let mut lines = Vec::new();
    for i in 0..40 {
        lines.push(match i {
            13 => "{this is not json".to_string(),
            i if i % 7 == 3 => format!(r#"{{"i": {i}, "fail": true}}"#),
            i => format!(r#"{{"i": {i}}}"#),
        });
    }
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    jsbox()
        .arg("batch")
        .arg(plugin(&dir))
        .args(["--export", "record", "--jobs", "3", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains("40 records").and(contains("errors")).and(contains("records/s")));
    let out = std::fs::read_to_string(&output).unwrap();
    let out: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.len(), 40);
    for (i, v) in out.iter().enumerate() {
        if i == 13 {
            assert_eq!(v["error"]["kind"], "invalid_input", "line {i}: {v}");
        } else if i % 7 == 3 {
            assert_eq!(v["error"]["kind"], "exception", "line {i}: {v}");
            assert_eq!(v["error"]["message"], format!("RangeError: record {i} failed"));
        } else {
            assert_eq!(v["ok"], serde_json::json!({ "i": i, "sq": i * i }), "line {i}");
        }
    }
}

#[test]
fn run_awaits_async_plugins() {
    let dir = fixture();
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "later", "--input", r#"{"i": 3, "ms": 20}"#])
        .assert()
        .success()
        .stdout("{\"i\":3,\"waited\":20}\n");
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "never", "--input", "null"])
        .assert()
        .code(1)
        .stderr(contains("can never settle"));
    jsbox()
        .arg("run")
        .arg(plugin(&dir))
        .args(["--export", "later", "--timeout", "100ms", "--input", r#"{"i": 1, "ms": 60000}"#])
        .assert()
        .code(3);
}

#[test]
fn batch_overlaps_waiting_records_and_keeps_order() {
    let dir = fixture();
    let input = dir.path().join("in.jsonl");
    // Early records wait longest, so they finish last.
    let mut lines = Vec::new();
    for i in 0..30 {
        lines.push(match i {
            7 => "not json".to_string(),
            i if i % 5 == 4 => format!(r#"{{"i": {i}, "ms": 5, "fail": true}}"#),
            i => format!(r#"{{"i": {i}, "ms": {}}}"#, 2 * (30 - i)),
        });
    }
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    for concurrency in ["1", "8"] {
        let assert = jsbox()
            .arg("batch")
            .arg(plugin(&dir))
            .args(["--export", "later", "--jobs", "2", "--concurrency", concurrency, "--input"])
            .arg(&input)
            .assert()
            .code(1);
        let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
        let out: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(out.len(), 30, "{stdout}");
        for (i, v) in out.iter().enumerate() {
            if i == 7 {
                assert_eq!(v["error"]["kind"], "invalid_input", "line {i}: {v}");
            } else if i % 5 == 4 {
                assert_eq!(v["error"]["message"], format!("RangeError: record {i} failed late"), "line {i}");
            } else {
                assert_eq!(v["ok"], serde_json::json!({ "i": i, "waited": 2 * (30 - i) }), "line {i}");
            }
        }
    }
}

#[test]
fn batch_to_stdout_survives_timeouts() {
    let dir = fixture();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"nums\": [1]}\n{\"nums\": [1, 2]}\n{\"nums\": 5}\n").unwrap();
    let assert = jsbox().arg("batch").arg(plugin(&dir)).arg("--input").arg(&input).args(["-j", "2"]).assert().code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0], r#"{"ok":{"sum":1,"n":1}}"#);
    assert_eq!(lines[1], r#"{"ok":{"sum":3,"n":2}}"#);
    assert!(lines[2].contains(r#""kind":"exception""#), "{}", lines[2]);

    std::fs::write(&input, "\"a\"\n\"b\"\n").unwrap();
    let assert = jsbox()
        .arg("batch")
        .arg(plugin(&dir))
        .args(["--export", "spin", "--timeout", "200ms", "--input"])
        .arg(&input)
        .assert()
        .code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().filter(|l| l.contains(r#""kind":"timeout""#)).count(), 2, "{stdout}");
}

#[test]
fn calllog_show_and_stats() {
    let dir = fixture();
    let db = dir.path().join("calls.sqlite");
    for word in ["echo", "echo"] {
        jsbox()
            .arg("run")
            .arg(plugin(&dir))
            .args(["--export", "exec", "--allow-exec", "echo", "--calllog"])
            .arg(&db)
            .args(["--input", &format!("\"{word}\"")])
            .assert()
            .code(0)
            .stdout("\"hi\\n\"\n");
    }
    jsbox()
        .args(["calllog", "show"])
        .arg(&db)
        .assert()
        .code(0)
        .stdout(contains("js->host").and(contains("host->js")).and(contains("exec")).and(contains("run")))
        .stdout(contains("4 call(s)"));
    let assert = jsbox().args(["calllog", "show"]).arg(&db).args(["--module", "exec", "--json"]).assert().code(0);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let entries: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 2, "{stdout}");
    assert!(entries.iter().all(|e| e["module"] == "exec" && e["function"] == "run" && e["direction"] == "js->host"));
    jsbox().args(["calllog", "show"]).arg(&db).args(["--limit", "1"]).assert().code(0).stdout(contains("1 call(s)"));
    jsbox()
        .args(["calllog", "stats"])
        .arg(&db)
        .assert()
        .code(0)
        .stdout(contains("exec").and(contains("run")).and(contains("mean")))
        .stdout(contains("4 call(s)"));
    jsbox().args(["calllog", "stats"]).arg(dir.path().join("none.sqlite")).assert().code(2);
}

#[test]
fn eval_prints_json() {
    jsbox().args(["eval", "[1, 2, 3].map(x => x * 2)"]).assert().code(0).stdout("[2,4,6]\n");
    jsbox().args(["eval", "({a: 1, b: [true, null]})", "--pretty"]).assert().code(0).stdout(contains("\"b\": [\n"));
    jsbox().args(["eval", "undefined"]).assert().code(0).stdout("null\n");
    jsbox()
        .args(["eval", "throw new RangeError('nope')"])
        .assert()
        .code(1)
        .stderr(contains("RangeError: nope").and(contains("<eval>:1:")));
    jsbox().args(["eval", "1 +* 2"]).assert().code(1).stderr(contains("SyntaxError"));
    jsbox().args(["eval", "require('exec')"]).assert().code(5);
}

#[test]
fn env_sets_process_env() {
    jsbox()
        .args(["eval", "[process.env.NODE_ENV, process.env.EMPTY, Object.keys(process.env).length]"])
        .args(["--env", "NODE_ENV=production", "--env", "EMPTY="])
        .env("JSBOX_SHELL_VARIABLE", "not passed")
        .assert()
        .code(0)
        .stdout("[\"production\",\"\",2]\n");
    jsbox().args(["eval", "1", "--env", "NOEQUALS"]).assert().code(2).stderr(contains("is not NAME=VALUE"));
}

#[test]
fn help_has_examples() {
    jsbox()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(contains("Examples:").and(contains("Exit codes:")).and(contains("jsbox batch")));
    for sub in ["run", "batch", "eval", "repl", "calllog"] {
        jsbox().args([sub, "--help"]).assert().code(0).stdout(contains("Examples:"));
    }
    jsbox().args(["calllog", "show", "--help"]).assert().code(0).stdout(contains("Examples:"));
}

/// The ES-module fixture the library's tests use (real npm packages in a
/// checked-in node_modules).
fn esm_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/tests/fixtures/esm")
}

#[test]
fn run_an_es_module_plugin_with_npm_packages() {
    let plugin = esm_fixture().join("plugin.mjs");
    let out = jsbox()
        .arg("run")
        .arg(&plugin)
        .args(["--input", r#"{"words": ["hello", "big", "world"], "pattern": "a.b*c"}"#])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(got["camel"], "helloBigWorld");
    assert_eq!(got["total"], "4.3333333333");
    assert_eq!(got["lengths"], serde_json::json!([5, 3, 5]));
    assert_eq!(got["url"], true);
    jsbox()
        .arg("run")
        .arg(&plugin)
        .args(["--export", "shout", "--input", r#"{"words": ["es", "modules"]}"#])
        .assert()
        .code(0)
        .stdout("\"ES MODULES!\"\n");
    // A `.js` plugin in a "type": "module" package, as a user has it.
    jsbox()
        .arg("run")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/esm/plugin.js"))
        .args(["--input", r#"["hello", "ES modules"]"#])
        .assert()
        .code(0)
        .stdout("[{\"camel\":\"hello\",\"slug\":\"hello\"},{\"camel\":\"esModules\",\"slug\":\"es-modules\"}]\n");
}

#[test]
fn batch_runs_a_commonjs_top_level_once_unless_it_needs_the_host() {
    let dir = fixture();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "1\n2\n3\n").unwrap();
    let outputs = |plugin: &str, source: &str, grant: &[&str]| -> Vec<String> {
        std::fs::write(dir.path().join(plugin), source).unwrap();
        let out = jsbox()
            .arg("batch")
            .arg(dir.path().join(plugin))
            .args(["--jobs", "2"])
            .args(grant)
            .arg("--input")
            .arg(&input)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap().lines().map(str::to_string).collect()
    };
    // Run once, in the snapshot, like an ES module's top level: every
    // record sees the one object it made.
    let made = outputs("made.js", "const at = { n: 0 };\nmodule.exports = (x) => [x, ++at.n];\n", &[]);
    let at = |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap()["ok"][1].clone();
    assert_eq!(made.len(), 3);
    assert!(made.iter().all(|l| at(l) == serde_json::json!(1)), "a fresh runtime per record: {made:?}");
    // A top level that draws randomness may not run at build time (the
    // value would be every record's): it runs in each runtime instead.
    let drawn = outputs("drawn.js", "const at = Math.random();\nmodule.exports = (x) => [x, at];\n", &[]);
    assert_eq!(drawn.len(), 3);
    assert!(drawn.iter().skip(1).all(|l| at(l) != at(&drawn[0])), "{drawn:?}");
    // A top level that calls a native module cannot run at build time: it
    // runs in each runtime, as before.
    let data = dir.path().join("data");
    let reads = format!(
        "const text = require('fs').readFileSync({}, 'utf8').trim();\nmodule.exports = (x) => text + ' ' + x;\n",
        serde_json::to_string(data.join("hello.txt").to_str().unwrap()).unwrap()
    );
    let read = outputs("reads.js", &reads, &["--allow-read", data.to_str().unwrap()]);
    assert_eq!(read, ["{\"ok\":\"hello from data 1\"}", "{\"ok\":\"hello from data 2\"}", "{\"ok\":\"hello from data 3\"}"]);
}

#[test]
fn batch_runs_an_es_module_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"words\": [\"a\"]}\n{\"words\": [\"b\", \"c\"]}\n").unwrap();
    jsbox()
        .arg("batch")
        .arg(esm_fixture().join("plugin.mjs"))
        .args(["--export", "shout", "--jobs", "2", "--input"])
        .arg(&input)
        .assert()
        .code(0)
        .stdout("{\"ok\":\"A!\"}\n{\"ok\":\"B C!\"}\n");
}

#[test]
fn es_module_errors_exit_1_with_locations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin.mjs"), "import { f } from './lib.mjs';\nexport default f;\n").unwrap();
    std::fs::write(dir.path().join("lib.mjs"), "export const f = 1;\nexport const g = 1 +* 2;\n").unwrap();
    jsbox()
        .arg("run")
        .arg(dir.path().join("plugin.mjs"))
        .assert()
        .code(1)
        .stderr(contains("SyntaxError"))
        .stderr(contains("lib.mjs:2:"));
    std::fs::write(dir.path().join("lib.mjs"), "import pad from 'left-pad';\nexport const f = pad;\n").unwrap();
    jsbox()
        .arg("run")
        .arg(dir.path().join("plugin.mjs"))
        .assert()
        .code(1)
        .stderr(contains("'left-pad'"))
        .stderr(contains("lib.mjs"));
}
