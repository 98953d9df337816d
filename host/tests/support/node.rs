//! Running a script in node, for tests that compare jsbox with it.

// Each test file that includes this uses part of it.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// A `node` command. Node is the reference these tests compare jsbox with,
/// so a machine without it fails them (`make test` installs it through
/// scripts/test-tools.sh) instead of passing without comparing anything.
pub fn node_command() -> Command {
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => Command::new("node"),
        _ => panic!("node is not installed: the tests compare jsbox with it (run scripts/test-tools.sh, as `make test` does)"),
    }
}

/// Node's result for `script`: its completion value (awaited when a
/// promise) as JSON, like jsbox's `eval`.
pub fn node_eval(script: &str) -> Value {
    node_eval_with_env(script, &[])
}

/// [`node_eval`] with these environment variables (`NODE_ENV` removed
/// unless given).
pub fn node_eval_with_env(script: &str, env: &[(&str, &str)]) -> Value {
    // An exception thrown by a timer callback goes to the WPT harness
    // (tests/wpt/harness.js) when the script has one, as a page's would;
    // node exits once the value is written (timers may still be pending).
    // (`p`: a script may replace the `process` global.)
    const RUNNER: &str = "const p = process; p.on('uncaughtException', (e) => { if (typeof globalThis.__wpt_uncaught === 'function') \
        globalThis.__wpt_uncaught(e); else { console.error(e); p.exit(1); } });\
        const s = require('fs').readFileSync(0, 'utf8');\
        Promise.resolve((0, eval)(s)).then((v) => p.stdout.write(JSON.stringify(v === undefined ? null : v), \
          () => p.exit(0)));";
    let mut child = node_command()
        .args(["-e", RUNNER])
        .env_remove("NODE_ENV")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    child.stdin.take().expect("node's stdin").write_all(script.as_bytes()).expect("script written to node");
    let out = child.wait_with_output().expect("node ran");
    assert!(out.status.success(), "node failed on\n{script}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("node printed JSON")
}
