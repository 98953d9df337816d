//! The built-in `exec` module: runs programs the embedder allows by name.
//!
//! `require("exec").run(program, args)` runs `program` directly (no shell,
//! so arguments are never re-parsed) and returns
//! `{ status, stdout, stderr }`. A program not on the allow list is denied
//! with [`Error::NotGranted`] before anything is started. The child gets an
//! empty environment except `PATH`, and stdin from `/dev/null`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::{Capability, GrantKey};
use crate::error::Error;
use crate::native::{parse_args, to_json, NativeModule};
use crate::options::EngineOptions;

const MODULE: &str = "exec";

/// `exec`, turned on by an `exec` grant.
pub(crate) const CAPABILITY: Capability = Capability {
    module: MODULE,
    requirable: true,
    grants: &[GrantKey {
        key: "exec",
        value_name: "PROG",
        path: false,
        help: "Allow `require('exec').run(PROG, args)` for PROG (by name, looked up on PATH, or by path).",
    }],
    build: |options| Ok(module(options)),
    declarations: include_str!("exec.d.ts"),
};

#[derive(Serialize)]
struct Output {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Builds the `exec` native module allowing exactly the granted programs.
fn module(options: &EngineOptions) -> NativeModule {
    let allowed: BTreeSet<String> = options.sandbox.grants.get("exec").iter().cloned().collect();
    NativeModule::new(MODULE).raw("run", move |args| {
        let (program, argv): (String, Option<Vec<String>>) = parse_args(MODULE, "run", args)?;
        if !allowed.contains(&program) {
            let granted: Vec<&str> = allowed.iter().map(String::as_str).collect();
            return Err(Error::NotGranted { grant: "exec", wanted: program, detail: format!("exec grant: {}", granted.join(", ")) });
        }
        let out = Command::new(&program)
            .args(argv.unwrap_or_default())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Host { module: MODULE.into(), function: "run".into(), message: format!("{program}: {e}") })?;
        to_json(
            MODULE,
            "run",
            &Output {
                status: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            },
        )
    })
}
