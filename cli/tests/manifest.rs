//! `--manifest`: the sandbox read from a jsbox.toml or a package.json's
//! `jsbox` key, merged with flags; `jsbox manifest show|schema`; the batch
//! resume identity taken from the manifest.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

const PLUGIN: &str = r#"module.exports = (x) => ({ n: x.n * 2 });
module.exports.read = (p) => require('fs').readFileSync(p, 'utf8');
module.exports.spin = () => { while (true) {} };
module.exports.env = () => process.env.MODE;
"#;

fn jsbox(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jsbox").unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache");
    cmd.current_dir(cwd).env("JSBOX_CACHE_DIR", cache).env_remove("RUST_LOG");
    cmd
}

/// `project/` with the plugin and `data/hello.txt`, and an empty `elsewhere/`
/// to run from (so relative paths must come from the manifest's directory).
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(project.join("data")).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(project.join("plugin.js"), PLUGIN).unwrap();
    std::fs::write(project.join("data/hello.txt"), "hello from data").unwrap();
    (dir, project, elsewhere)
}

#[test]
fn a_toml_manifest_names_the_plugin_export_and_grants_relative_to_itself() {
    let (_dir, project, elsewhere) = fixture();
    let toml = project.join("jsbox.toml");
    std::fs::write(&toml, "plugin = \"plugin.js\"\nexport = \"read\"\n[grants]\nread = [\"data\"]\n").unwrap();
    let hello = project.join("data/hello.txt");
    let input = serde_json::to_string(hello.to_str().unwrap()).unwrap();
    jsbox(&elsewhere)
        .args(["run", "--manifest", toml.to_str().unwrap(), "--input", &input])
        .assert()
        .success()
        .stdout("\"hello from data\"\n");

    // Without the grant the same call is denied (exit 5).
    std::fs::write(&toml, "plugin = \"plugin.js\"\nexport = \"read\"\n").unwrap();
    jsbox(&elsewhere)
        .args(["run", "--manifest", toml.to_str().unwrap(), "--input", &input])
        .assert()
        .code(5);
    // A flag adds the grant back; a file on the command line wins over the manifest's.
    jsbox(&elsewhere)
        .args(["run", "--manifest", toml.to_str().unwrap(), "--allow-read", project.to_str().unwrap(), "--input", &input])
        .assert()
        .success()
        .stdout("\"hello from data\"\n");
    jsbox(&elsewhere)
        .args(["run", project.join("plugin.js").to_str().unwrap(), "--manifest", toml.to_str().unwrap()])
        .args(["--export", "default", "--input", "{\"n\": 21}"])
        .assert()
        .code(1);
}

#[test]
fn a_package_json_jsbox_key_sets_limits_and_env() {
    let (_dir, project, elsewhere) = fixture();
    let package = project.join("package.json");
    std::fs::write(
        &package,
        r#"{ "name": "p", "jsbox": { "plugin": "plugin.js", "export": "spin", "limits": { "timeout": "200ms" }, "modules": { "env": { "MODE": "fast" } } } }"#,
    )
    .unwrap();
    let manifest = package.to_str().unwrap();
    jsbox(&elsewhere).args(["run", "--manifest", manifest, "--input", "null"]).assert().code(3);
    jsbox(&elsewhere)
        .args(["run", "--manifest", manifest, "--export", "env", "--input", "null"])
        .assert()
        .success()
        .stdout("\"fast\"\n");
}

#[test]
fn a_bad_manifest_is_a_usage_error_naming_the_file_and_key() {
    let (_dir, project, elsewhere) = fixture();
    let toml = project.join("jsbox.toml");
    std::fs::write(&toml, "plugin = \"plugin.js\"\n[grants]\nreed = [\"data\"]\n").unwrap();
    jsbox(&elsewhere)
        .args(["run", "--manifest", toml.to_str().unwrap(), "--input", "null"])
        .assert()
        .code(2)
        .stderr(contains("jsbox.toml").and(contains("reed")));
    std::fs::write(&toml, "version = 7\n").unwrap();
    jsbox(&elsewhere)
        .args(["run", "--manifest", toml.to_str().unwrap(), "--input", "null"])
        .assert()
        .code(2)
        .stderr(contains("version 7"));
    // Neither a file nor a manifest naming one.
    jsbox(&elsewhere).args(["run", "--input", "null"]).assert().code(2).stderr(contains("no plugin"));
}

#[test]
fn manifest_show_writes_what_the_flags_say_and_it_runs_the_same() {
    let (_dir, project, elsewhere) = fixture();
    let shown = jsbox(&project)
        .args(["manifest", "show", "plugin.js", "--export", "read", "--allow-read", "data", "--timeout", "5s"])
        .args(["--max-memory", "64MiB", "--env", "MODE=x"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(shown).unwrap();
    assert!(text.contains("plugin = \"plugin.js\"") && text.contains("timeout = \"5s\""), "{text}");
    assert!(text.contains("max-memory = 67108864") && text.contains("MODE = \"x\""), "{text}");
    std::fs::write(project.join("jsbox.toml"), &text).unwrap();
    let input = serde_json::to_string(project.join("data/hello.txt").to_str().unwrap()).unwrap();
    jsbox(&elsewhere)
        .args(["run", "--manifest", project.join("jsbox.toml").to_str().unwrap(), "--input", &input])
        .assert()
        .success()
        .stdout("\"hello from data\"\n");
}

/// The published schema is the one the binary prints.
#[test]
fn the_published_schema_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = jsbox(root).args(["manifest", "schema"]).assert().success().get_output().stdout.clone();
    let printed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("docs/manifest.schema.json")).unwrap()).unwrap();
    assert_eq!(printed, published, "docs/manifest.schema.json is stale: jsbox manifest schema > docs/manifest.schema.json");
    assert_eq!(printed["properties"]["grants"]["$ref"], "#/$defs/Grants", "{printed}");
}

/// A job is its manifest's fingerprint: the same sandbox by flags or by a
/// manifest file resumes; another grant is another job (exit 7).
#[test]
fn batch_resume_is_keyed_by_the_manifest() {
    let (_dir, project, _elsewhere) = fixture();
    std::fs::write(project.join("in.jsonl"), "{\"n\": 1}\n{\"n\": 2}\n").unwrap();
    std::fs::write(project.join("jsbox.toml"), "plugin = \"plugin.js\"\n[grants]\nread = [\"data\"]\n").unwrap();
    jsbox(&project)
        .args(["batch", "plugin.js", "--allow-read", "data", "--input", "in.jsonl", "--output", "out.jsonl"])
        .assert()
        .success();
    jsbox(&project)
        .args(["batch", "--manifest", "jsbox.toml", "--input", "in.jsonl", "--output", "out.jsonl", "--resume"])
        .assert()
        .success();
    jsbox(&project)
        .args(["batch", "--manifest", "jsbox.toml", "--allow-exec", "ls", "--input", "in.jsonl", "--output", "out.jsonl"])
        .arg("--resume")
        .assert()
        .code(7);
    assert_eq!(std::fs::read_to_string(project.join("out.jsonl")).unwrap(), "{\"ok\":{\"n\":2}}\n{\"ok\":{\"n\":4}}\n");
}
