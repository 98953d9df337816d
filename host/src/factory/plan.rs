//! The first phase of a factory build: the plan. From the options it
//! collects the registry (TypeScript stripped), opens the granted
//! capabilities, and writes the guest's init payload, whose hash keys the
//! cache. Nothing is compiled or snapshotted yet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::payload::{InitPayload, InitScript, Policy, Resolution};
use crate::capabilities;
use crate::error::{Error, Result};
use crate::modules;
use crate::modules::literals;
use crate::modules::sourcemap::SourceMaps;
use crate::modules::typescript;
use crate::native::NativeRegistry;
use crate::options::{EngineOptions, ModulePolicy};

/// What a factory is built from, worked out from its options.
pub(super) struct Plan {
    /// The registry, TypeScript modules stripped of their types.
    pub(super) modules: BTreeMap<String, String>,
    /// The native modules the policy lets through, capabilities included.
    pub(super) natives: NativeRegistry,
    /// The source maps of stripped modules (and, later, of resolved files).
    pub(super) maps: Arc<SourceMaps>,
    /// Module resolution under the module root, for the guest's `init`.
    pub(super) session: Arc<modules::Session>,
    /// The guest's `init` payload ([`InitPayload`] as JSON).
    pub(super) registry_json: String,
    /// Whether runtimes start from a snapshot (else each runs `init`).
    pub(super) snapshot: bool,
}

impl Plan {
    pub(super) fn new(options: &EngineOptions) -> Result<Self> {
        let maps = Arc::new(SourceMaps::default());
        let modules = strip_registry(options.collect_modules()?, &options.registry.esm_modules, &maps)?;
        let natives = natives(options)?;
        let conditions = options.effective_conditions();
        let root: Option<PathBuf> = match &options.registry.module_root {
            Some(dir) => Some(std::fs::canonicalize(dir).map_err(|source| Error::Io {
                context: format!("module root {}", dir.display()),
                source,
            })?),
            None => None,
        };
        let session = modules::Session::new(
            root.clone(),
            modules.clone(),
            options.registry.esm_modules.clone(),
            conditions.clone(),
            maps.clone(),
        );
        let esm_names = session.esm_registry_names(&modules);

        let mut native_names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut async_names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        // A capability scripts do not `require` (`jsbox:net`, reached
        // through `fetch`) stays out of the registry: the snapshot is the
        // same with or without its grants.
        let hidden = |name: &str| capabilities::by_module(name).is_some_and(|c| !c.requirable);
        for m in natives.iter().filter(|m| !hidden(m.name())) {
            native_names.insert(m.name(), m.function_names());
            if !m.async_functions.is_empty() {
                async_names.insert(m.name(), m.async_function_names());
            }
        }
        let registry_json = serde_json::to_string(&InitPayload {
            modules: &modules,
            natives: native_names,
            async_natives: async_names,
            policy: policy_doc(&options.sandbox.policy),
            preload: &options.registry.preload,
            init_scripts: options
                .registry
                .init_scripts
                .iter()
                .map(|(name, source)| InitScript { name, source })
                .collect(),
            esm: esm_names.iter().map(String::as_str).collect(),
            imports: &options.registry.imports,
            resolution: Resolution { root: root.as_ref().map(|r| r.display().to_string()), conditions: &conditions },
            nondeterministic_build: options.build.nondeterministic_build,
            snapshot: !options.build.no_snapshot,
            env: &options.registry.env,
            version: env!("CARGO_PKG_VERSION"),
            capabilities: capabilities::ALL.iter().filter(|c| c.requirable).map(|c| c.module).collect(),
            literals: modules
                .iter()
                .map(|(name, source)| (name.as_str(), literals::of(name, source)))
                .filter(|(_, found)| !found.is_empty())
                .collect(),
        })
        .map_err(|e| Error::InvalidOptions { option: "modules", reason: e.to_string() })?;
        Ok(Plan { modules, natives, maps, session: Arc::new(session), registry_json, snapshot: !options.build.no_snapshot })
    }
}

/// The registry with its TypeScript modules stripped of their types (their
/// maps kept in `maps`): `.mts` and declared ES modules are ES modules, the
/// other `.ts` and `.cts` modules CommonJS, as `.js` registry modules are.
fn strip_registry(
    mut modules: BTreeMap<String, String>,
    esm: &BTreeSet<String>,
    maps: &SourceMaps,
) -> Result<BTreeMap<String, String>> {
    for (name, source) in modules.iter_mut().filter(|(name, _)| typescript::is_typescript(name)) {
        let kind = if esm.contains(name) || modules::is_esm_name(name) {
            typescript::Kind::Module
        } else {
            typescript::Kind::CommonJs
        };
        let stripped = typescript::strip(name, source, kind)?;
        maps.insert(name, stripped.map);
        *source = stripped.code;
    }
    Ok(modules)
}

fn policy_doc(policy: &ModulePolicy) -> Policy<'_> {
    match policy {
        ModulePolicy::AllowAll => Policy { mode: "all", list: vec![] },
        ModulePolicy::Allow(l) => Policy { mode: "allow", list: l.iter().map(String::as_str).collect() },
        ModulePolicy::Deny(l) => Policy { mode: "deny", list: l.iter().map(String::as_str).collect() },
        ModulePolicy::DataOnly => Policy { mode: "data-only", list: vec![] },
    }
}

pub(crate) fn allowed_native(policy: &ModulePolicy, name: &str) -> bool {
    match policy {
        ModulePolicy::AllowAll => true,
        ModulePolicy::Allow(l) => l.contains(name),
        ModulePolicy::Deny(l) => !l.contains(name),
        ModulePolicy::DataOnly => false,
    }
}

/// The native modules the policy lets through, built-ins included. A module
/// the policy denies is not registered at all: the host refuses it even if
/// the guest were subverted.
fn natives(options: &EngineOptions) -> Result<NativeRegistry> {
    options.sandbox.grants.check()?;
    let mut registry = NativeRegistry::default();
    let mut all = options.sandbox.natives.clone();
    for capability in options.sandbox.grants.capabilities() {
        all.push((capability.build)(options)?);
    }
    for module in all {
        if allowed_native(&options.sandbox.policy, module.name()) {
            registry.insert(module)?;
        }
    }
    Ok(registry)
}

