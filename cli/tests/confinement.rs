//! Module files are read confined to the plugin's directory, as `fs` reads
//! granted files (issue 23, item 1): a symlink leading out of it (to a
//! file, a directory, a package, `/proc`) is refused with exit code 5 by
//! `run`, `batch` and `sql`, for ES `import`, `require` and JSON modules
//! alike, and the file's content appears nowhere; symlinks that stay inside
//! (npm workspaces) keep working.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

const SECRET: &str = "hunter2-do-not-print";

fn jsbox(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jsbox").unwrap();
    cmd.current_dir(dir)
        .env("JSBOX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache"))
        .env("JSBOX_TEST_ENV_SECRET", SECRET)
        .env_remove("RUST_LOG");
    cmd
}

/// `top/` holds secrets; `top/plug/` is the plugin's directory.
struct Layout {
    top: TempDir,
}

impl Layout {
    fn new() -> Self {
        let top = tempfile::tempdir().unwrap();
        let t = top.path();
        std::fs::write(t.join("creds.json"), format!("{{\"secret\": \"{SECRET}\"}}")).unwrap();
        std::fs::write(t.join("outside.mjs"), format!("export default '{SECRET}';\n")).unwrap();
        std::fs::create_dir_all(t.join("pkg")).unwrap();
        std::fs::write(t.join("pkg/package.json"), r#"{"name": "evil", "main": "index.js"}"#).unwrap();
        std::fs::write(t.join("pkg/index.js"), format!("module.exports = '{SECRET}';\n")).unwrap();
        std::fs::create_dir_all(t.join("plug/node_modules")).unwrap();
        Layout { top }
    }

    fn plug(&self) -> PathBuf {
        self.top.path().join("plug")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.plug().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn link(&self, target: &str, name: &str) {
        symlink(target, self.plug().join(name)).unwrap();
    }
}

/// `jsbox run PLUGIN` is refused with exit 5, naming `module`, leaking
/// nothing.
fn assert_refused(layout: &Layout, plugin: &str, module: &str) {
    jsbox(&layout.plug())
        .args(["run", plugin, "--input", "1"])
        .assert()
        .code(5)
        .stdout(contains(SECRET).not())
        .stderr(contains("error[module_refused]"))
        .stderr(contains(module))
        .stderr(contains(SECRET).not());
}

#[test]
fn symlinks_leading_out_of_the_plugin_directory_are_refused() {
    // require() of a JSON file linked to one outside.
    let l = Layout::new();
    l.link("../creds.json", "data.json");
    l.write("plugin.js", "const d = require('./data.json');\nmodule.exports = () => d.secret;\n");
    assert_refused(&l, "plugin.js", "data.json");

    // require() through a directory linked outside.
    let l = Layout::new();
    l.link("..", "lib");
    l.write("plugin.js", "const c = require('./lib/creds.json');\nmodule.exports = () => c.secret;\n");
    assert_refused(&l, "plugin.js", "lib/creds.json");

    // An ES module importing JSON linked outside.
    let l = Layout::new();
    l.link("../creds.json", "data.json");
    l.write("plugin.mjs", "import d from './data.json' with { type: 'json' };\nexport default () => d.secret;\n");
    assert_refused(&l, "plugin.mjs", "./data.json");

    // An ES module importing a module linked outside.
    let l = Layout::new();
    l.link("../outside.mjs", "other.mjs");
    l.write("plugin.mjs", "import s from './other.mjs';\nexport default () => s;\n");
    assert_refused(&l, "plugin.mjs", "./other.mjs");

    // A package in node_modules linked outside.
    let l = Layout::new();
    l.link("../../pkg", "node_modules/evil");
    l.write("plugin.mjs", "import s from 'evil';\nexport default () => s;\n");
    assert_refused(&l, "plugin.mjs", "evil");

    // /proc: its content would leak through the parse error.
    for plugin in ["plugin.js", "plugin.mjs"] {
        let l = Layout::new();
        l.link("/proc/self/environ", "env.json");
        if plugin.ends_with(".mjs") {
            l.write(plugin, "import e from './env.json' with { type: 'json' };\nexport default () => e;\n");
        } else {
            l.write(plugin, "const e = require('./env.json');\nmodule.exports = () => e;\n");
        }
        assert_refused(&l, plugin, "env.json");
    }
}

#[test]
fn batch_and_sql_refuse_them_too() {
    let l = Layout::new();
    l.link("../creds.json", "data.json");
    l.write("plugin.js", "const d = require('./data.json');\nmodule.exports = (x) => d.secret + x;\n");
    l.write("plugin.mjs", "import d from './data.json' with { type: 'json' };\nexport default (x) => d.secret + x;\n");
    l.write("in.jsonl", "1\n2\n");
    l.write("people.csv", "id\n1\n2\n");
    for plugin in ["plugin.js", "plugin.mjs"] {
        jsbox(&l.plug())
            .args(["batch", plugin, "--input", "in.jsonl", "--output", "out.jsonl"])
            .assert()
            .code(5)
            .stderr(contains("data.json"))
            .stderr(contains(SECRET).not());
        let out = std::fs::read_to_string(l.plug().join("out.jsonl")).unwrap_or_default();
        assert!(!out.contains(SECRET), "{out}");
    }
    // `jsbox sql` collects a CommonJS plugin's files to ship them in plans.
    jsbox(&l.plug())
        .args(["sql", "SELECT f(id) FROM 'people.csv'", "--udf", "f=plugin.js"])
        .assert()
        .code(5)
        .stdout(contains(SECRET).not())
        .stderr(contains("data.json"))
        .stderr(contains(SECRET).not());
}

#[test]
fn symlinks_inside_the_plugin_directory_keep_working() {
    let l = Layout::new();
    // An npm workspace: node_modules/mylib -> ../packages/mylib.
    l.write("packages/mylib/package.json", r#"{"name": "mylib", "type": "module", "exports": "./index.js"}"#);
    l.write("packages/mylib/index.js", "export const twice = (x) => 2 * x;\n");
    l.link("../packages/mylib", "node_modules/mylib");
    // A linked file and a linked directory.
    l.write("real/data.json", "{\"n\": 20}");
    l.link("real/data.json", "data.json");
    l.link("real", "alias");
    l.write(
        "plugin.mjs",
        "import { twice } from 'mylib';\nimport d from './data.json' with { type: 'json' };\n\
         import e from './alias/data.json' with { type: 'json' };\nexport default (x) => twice(x) + d.n + e.n;\n",
    );
    l.write("plugin.js", "const d = require('./data.json');\nconst e = require('./alias/data');\nmodule.exports = (x) => x + d.n + e.n;\n");
    jsbox(&l.plug()).args(["run", "plugin.mjs", "--input", "1"]).assert().success().stdout("42\n");
    jsbox(&l.plug()).args(["run", "plugin.js", "--input", "2"]).assert().success().stdout("42\n");
    // A plugin run through a symlink is read from where it really is (as
    // node does): its own relative modules are found there.
    std::fs::create_dir_all(l.top.path().join("bin")).unwrap();
    symlink(l.plug().join("plugin.mjs"), l.top.path().join("bin/tool.mjs")).unwrap();
    jsbox(l.top.path()).args(["run", "bin/tool.mjs", "--input", "1"]).assert().success().stdout("42\n");
}
