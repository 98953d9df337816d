//! `--allow-net` end to end: the real `jsbox` binary, the `examples/fetch`
//! plugin, and a real HTTP server on 127.0.0.1 started by each test.

#[path = "../../host/tests/common/http_server.rs"]
mod http_server;
#[path = "../../host/tests/support/node.rs"]
mod node;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use http_server::Server;
use predicates::prelude::*;
use predicates::str::contains;

fn jsbox() -> Command {
    let mut cmd = Command::cargo_bin("jsbox").unwrap();
    cmd.env("JSBOX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache"))
        .env_remove("RUST_LOG");
    cmd
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fetch/plugin.js")
}

fn input(server: &Server, path: &str) -> String {
    serde_json::json!({ "url": format!("{}{path}", server.base()) }).to_string()
}

#[test]
fn the_fetch_example_reads_json_from_a_granted_host() {
    let server = Server::start();
    let out = jsbox()
        .arg("run")
        .arg(example())
        .args(["--allow-net", &server.grant(), "--input", &input(&server, "/json")])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "{\"ok\":true,\"status\":200,\"contentType\":\"application/json\",\"keys\":[\"hello\",\"n\"],\"doc\":{\"hello\":\"world\",\"n\":42}}\n"
    );
    // node's own fetch gives the same output for the same plugin and input.
    let node = node::node_command()
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fetch/node.js"))
        .arg(input(&server, "/json"))
        .output()
        .expect("node ran");
    assert!(node.status.success(), "node failed: {}", String::from_utf8_lossy(&node.stderr));
    assert_eq!(String::from_utf8_lossy(&node.stdout), out);
    // A 404 is a result, not an error.
    jsbox()
        .arg("run")
        .arg(example())
        .args(["--allow-net", &server.grant(), "--input", &input(&server, "/missing")])
        .assert()
        .code(0)
        .stdout("{\"ok\":false,\"status\":404,\"statusText\":\"Not Found\"}\n");
}

#[test]
fn ungranted_hosts_exit_5() {
    let server = Server::start();
    // No grant at all.
    jsbox()
        .arg("run")
        .arg(example())
        .args(["--input", &input(&server, "/json")])
        .assert()
        .code(5)
        .stderr(contains("error[denied]").and(contains("--allow-net")));
    // A grant for another port.
    jsbox()
        .arg("run")
        .arg(example())
        .args(["--allow-net", "127.0.0.1:1", "--input", &input(&server, "/json")])
        .assert()
        .code(5)
        .stderr(contains(format!("net: {} is not granted (net grant: 127.0.0.1:1)", server.grant())));
    assert_eq!(server.hits(), 0);
    // A redirect to an ungranted port.
    let to = "/redirect?to=http%3A%2F%2F127.0.0.1%3A1%2F";
    jsbox()
        .arg("run")
        .arg(example())
        .args(["--allow-net", &server.grant(), "--input", &input(&server, to)])
        .assert()
        .code(5)
        .stderr(contains("127.0.0.1:1 is not granted"));
}

#[test]
fn eval_and_the_module_policy_and_bad_grants() {
    let server = Server::start();
    let script = format!("fetch('{}/json').then((r) => r.json()).then((d) => d.n)", server.base());
    jsbox().args(["eval", &script, "--allow-net", &server.grant()]).assert().code(0).stdout("42\n");
    // --allow-module lists user modules; the net module stays reachable.
    jsbox()
        .args(["eval", &script, "--allow-net", &server.grant(), "--allow-module", "path"])
        .assert()
        .code(0)
        .stdout("42\n");
    // A script that catches the denial sees a TypeError.
    let caught = format!("fetch('{}/json').catch((e) => e.name)", server.base());
    jsbox().args(["eval", &caught]).assert().code(0).stdout("\"TypeError\"\n");
    jsbox()
        .args(["eval", "1", "--allow-net", "http://example.com/"])
        .assert()
        .code(2)
        .stderr(contains("allow_net"));
}

#[test]
fn ambient_proxy_settings_are_ignored() {
    let server = Server::start();
    let script = format!("fetch('{}/json').then((r) => r.status)", server.base());
    jsbox()
        .args(["eval", &script, "--allow-net", &server.grant()])
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("http_proxy", "http://127.0.0.1:1")
        .env("ALL_PROXY", "http://127.0.0.1:1")
        .assert()
        .code(0)
        .stdout("200\n");
}
