//! `jsbox run` and `jsbox batch` with TypeScript plugins (the fixtures of
//! host/tests/typescript.rs, which compares them with node 22): no flags,
//! no bundler, errors printed at the `.ts` file's line and column.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/tests/fixtures/ts").join(name).canonicalize().unwrap()
}

fn jsbox() -> Command {
    let mut cmd = Command::cargo_bin("jsbox").unwrap();
    cmd.env("JSBOX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-ts-cache")).env_remove("RUST_LOG");
    cmd
}

#[test]
fn run_typescript_plugins() {
    jsbox()
        .arg("run")
        .arg(fixture("uses-module.ts"))
        .args(["--input", r#"{"samples":[{"name":"a","value":3},{"name":"b","value":1}]}"#])
        .assert()
        .success()
        .stdout(r#"{"mean":2,"median":2,"legacy":"2 samples","scaled":[6,2]}"#.to_owned() + "\n");
    jsbox()
        .arg("run")
        .arg(fixture("uses-package.ts"))
        .args(["--input", r#"{"measures":[{"value":2,"unit":"ft"}],"to":"cm"}"#])
        .assert()
        .success()
        .stdout("[\"60.96 cm\"]\n");
}

#[test]
fn errors_are_printed_at_the_typescript_line_and_column() {
    // plain.ts:37:81: the constructor of `throw new RangeError(..)`, where
    // QuickJS reports it (node 22: 37:77, the `new`).
    let plain = fixture("plain.ts");
    jsbox()
        .arg("run")
        .arg(&plain)
        .args(["--export", "check", "--input", r#"{"n":12}"#])
        .assert()
        .code(1)
        .stderr(contains("RangeError: n too big: 12"))
        .stderr(contains(format!("--> {}:37:81", plain.display())))
        .stderr(contains("at check (/plain.ts:37:81)"));
    // Through the package's source map, into its original source.
    jsbox()
        .arg("run")
        .arg(fixture("uses-package.ts"))
        .args(["--input", r#"{"measures":[{"value":1,"unit":"parsec"}],"to":"km"}"#])
        .assert()
        .code(1)
        .stderr(contains("node_modules/tiny-units/src/index.ts:13:34"))
        .stderr(contains("dist/index.js").not());
}

#[test]
fn batch_runs_a_commonjs_typescript_plugin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugin.cts"),
        "type Rec = { i: number };\nmodule.exports = (r: Rec): { sq: number } => {\n  const k: number = 1; if (r.i < 0) throw new RangeError('negative');\n  return { sq: r.i * r.i * k };\n};\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("input.jsonl"), "{\"i\":2}\n{\"i\":3}\n").unwrap();
    jsbox()
        .arg("batch")
        .arg(dir.path().join("plugin.cts"))
        .arg("--input")
        .arg(dir.path().join("input.jsonl"))
        .assert()
        .success()
        .stdout("{\"ok\":{\"sq\":4}}\n{\"ok\":{\"sq\":9}}\n");
}

#[test]
fn refused_typescript_names_the_construct_and_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
    std::fs::write(dir.path().join("plugin.ts"), "const a: number = 1;\n  enum Color { Red }\nexport default () => a;\n").unwrap();
    jsbox()
        .arg("run")
        .arg(dir.path().join("plugin.ts"))
        .assert()
        .code(1)
        .stderr(contains("error[typescript_unsupported]: TypeScript enum at /plugin.ts:2:3"))
        .stderr(contains("plugin.ts:2:3"));
}
