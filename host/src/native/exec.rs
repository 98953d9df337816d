//! The built-in `exec` module: runs programs the embedder allows by name.
//!
//! `require("exec").run(program, args)` runs `program` directly (no shell,
//! so arguments are never re-parsed) and returns
//! `{ status, stdout, stderr }`. A program not on the allow list is denied
//! with [`Error::Denied`] before anything is started. The child gets an
//! empty environment except `PATH`, and stdin from `/dev/null`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::{parse_args, to_json, NativeModule};
use crate::error::Error;

const MODULE: &str = "exec";

#[derive(Serialize)]
struct Output {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Builds the `exec` native module allowing exactly `programs`.
pub(crate) fn module(programs: &BTreeSet<String>) -> NativeModule {
    let allowed = programs.clone();
    NativeModule::new(MODULE).raw("run", move |args| {
        let (program, argv): (String, Option<Vec<String>>) = parse_args(MODULE, "run", args)?;
        if !allowed.contains(&program) {
            return Err(Error::Denied(format!("exec: program '{program}' is not allowed")));
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
