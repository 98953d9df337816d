//! The guest's `init` payload: everything a snapshot is built from, as one
//! JSON document (`init(registry-json)` in wit/jsbox.wit). Its hash keys the
//! disk cache, so every input of the snapshot is in it, including a few
//! the guest does not read (marked "host only").
//!
//! The guest reads it in guest/src/lib.rs (Rust) and guest/src/prelude.js
//! (JS); `tests/wit_contract.rs` checks that every key they read is a
//! field here and that every field not marked host-only is read.

use std::collections::BTreeMap;

use schemars::JsonSchema;

use crate::modules::literals::Literals;
use serde::Serialize;

/// What the guest's `init` receives.
#[derive(Serialize, JsonSchema)]
pub(crate) struct InitPayload<'a> {
    /// Registry modules by name: source text (CommonJS, ES module or JSON).
    pub(crate) modules: &'a BTreeMap<String, String>,
    /// Native modules by name: their synchronous functions.
    pub(crate) natives: BTreeMap<&'a str, Vec<String>>,
    /// Native modules by name: their async functions (stubs return promises).
    pub(crate) async_natives: BTreeMap<&'a str, Vec<String>>,
    /// Which modules `require`/`import` may load.
    pub(crate) policy: Policy<'a>,
    /// Modules evaluated inside the snapshot.
    pub(crate) preload: &'a [String],
    /// Scripts run in global scope inside the snapshot.
    pub(crate) init_scripts: Vec<InitScript<'a>>,
    /// Registry modules that are ES modules.
    pub(crate) esm: Vec<&'a str>,
    /// ES modules to import (link and evaluate) in `init`.
    pub(crate) imports: &'a [String],
    /// Host only: what resolution depends on besides the files (which the
    /// cache's manifest covers).
    pub(crate) resolution: Resolution<'a>,
    /// Host only: whether code run at build time may read the clock and
    /// randomness (the host's snapshot imports enforce it).
    pub(crate) nondeterministic_build: bool,
    /// Whether `init` runs once for a snapshot (else once per runtime):
    /// work that only pays off when kept (instantiating every built-in) is
    /// skipped without one.
    pub(crate) snapshot: bool,
    /// `process.env` (guest/src/node/process.js).
    pub(crate) env: &'a BTreeMap<String, String>,
    /// `process.versions.jsbox`.
    pub(crate) version: &'static str,
    /// The capability modules scripts `require` (granted or not): one not
    /// granted is denied as such, not "not found".
    pub(crate) capabilities: Vec<&'static str>,
    /// Registry modules' literal `require()`/`import()` specifiers
    /// (`modules/literals.rs`), resolved at build time; modules with none
    /// are left out.
    pub(crate) literals: BTreeMap<&'a str, Literals>,
}

/// A module policy: `mode` is `all`, `allow`, `deny` or `data-only`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Policy<'a> {
    pub(crate) mode: &'static str,
    /// The names an `allow` or `deny` policy lists.
    pub(crate) list: Vec<&'a str>,
}

/// One init script.
#[derive(Serialize, JsonSchema)]
pub(crate) struct InitScript<'a> {
    /// Its file name in stacks (`init-0.js`).
    pub(crate) name: &'a str,
    pub(crate) source: &'a str,
}

/// Host only: the inputs of module resolution.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Resolution<'a> {
    /// The module root, canonical.
    pub(crate) root: Option<String>,
    pub(crate) conditions: &'a [String],
}

/// The payload's top-level keys, with whether the guest reads each (the
/// others are host only: they are there for the cache key).
pub(crate) fn fields() -> Vec<(String, bool)> {
    let schema = schemars::schema_for!(InitPayload<'static>);
    let properties = schema.get("properties").and_then(|p| p.as_object()).cloned().unwrap_or_default();
    properties
        .into_iter()
        .map(|(name, field)| {
            let host_only = field.get("description").and_then(|d| d.as_str()).is_some_and(|d| d.starts_with("Host only"));
            (name, !host_only)
        })
        .collect()
}
