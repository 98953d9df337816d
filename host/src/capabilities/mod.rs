//! Capabilities: the built-in modules a sandbox has only when the embedder
//! grants them (`fs`, `exec`, and `jsbox:net` behind `fetch`).
//!
//! Each capability is one file here declaring a [`Capability`]: its module,
//! the grant keys it owns, how it is built from their values and its
//! TypeScript declarations. [`ALL`] registers them. Everything else reads
//! that table: [`EngineOptions::grant`], a manifest's `[grants]`
//! ([`Grants`]), the CLI's `--allow-KEY` flags and grant hints, the
//! factory's native registry, the module allow-list and `jsbox types`. So
//! adding a capability is a new file plus one line in [`ALL`] (and a `mod`
//! line), as a spin factor or a wasmtime-wasi interface is one part.
//!
//! Native modules the embedder writes ([`crate::NativeModule`]) are not
//! capabilities: registering one is the grant.

pub(crate) mod exec;
pub(crate) mod fs;
pub mod net;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::native::NativeModule;
use crate::options::EngineOptions;

/// One built-in capability. The table of them is [`ALL`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Capability {
    /// The module it provides (`require` name, or the host module `fetch`
    /// calls).
    pub module: &'static str,
    /// Whether scripts `require` it (`jsbox:net` is reached through `fetch`
    /// only, so it stays out of the registry and the snapshot).
    pub requirable: bool,
    /// The grant keys it owns: any value under one of them turns it on.
    pub grants: &'static [GrantKey],
    /// Builds its native module from the options' grants (called only
    /// when it is granted).
    pub(crate) build: fn(&EngineOptions) -> Result<NativeModule>,
    /// Its TypeScript declarations ([`crate::types`]): a `declare module`
    /// for a requirable one, globals otherwise (none for `jsbox:net`:
    /// `fetch` exists in every sandbox, so the web globals declare it).
    pub(crate) declarations: &'static str,
}

/// A grant key: `read` in a manifest's `[grants]`, `EngineOptions::grant("read", ..)`,
/// `--allow-read` on the CLI.
#[derive(Debug)]
#[non_exhaustive]
pub struct GrantKey {
    /// The key.
    pub key: &'static str,
    /// What one value is, for help texts (`DIR`, `PROG`, `HOST[:PORT]`).
    pub value_name: &'static str,
    /// Whether values are paths: relative ones are made absolute against a
    /// manifest's directory (or the CLI's current directory), so a sandbox
    /// means the same from anywhere.
    pub path: bool,
    /// What a value grants.
    pub help: &'static str,
}

/// Every capability, in the order their grant keys are listed.
pub static ALL: &[&Capability] = &[&fs::CAPABILITY, &exec::CAPABILITY, &net::CAPABILITY];

/// The capability providing `module` (`node:` prefix ignored).
pub fn by_module(module: &str) -> Option<&'static Capability> {
    let module = module.strip_prefix("node:").unwrap_or(module);
    ALL.iter().copied().find(|c| c.module == module)
}

/// The capability owning grant `key`, and the key's description.
pub fn by_grant(key: &str) -> Option<(&'static Capability, &'static GrantKey)> {
    ALL.iter().find_map(|c| c.grants.iter().find(|g| g.key == key).map(|g| (*c, g)))
}

/// Every grant key, in [`ALL`]'s order.
pub fn grant_keys() -> impl Iterator<Item = &'static GrantKey> {
    ALL.iter().flat_map(|c| c.grants.iter())
}

impl Capability {
    /// Whether `grants` turn this capability on.
    pub fn granted(&self, grants: &Grants) -> bool {
        self.grants.iter().any(|g| !grants.get(g.key).is_empty())
    }
}

/// What a sandbox is granted: values by grant key (`read`, `write`, `exec`,
/// `net`: see [`ALL`]). The `[grants]` table of a manifest; inside
/// [`EngineOptions`] too. Keys no capability owns are refused when a
/// manifest is read and when a factory is built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Grants(BTreeMap<String, Vec<String>>);

impl Grants {
    /// No grants.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` under `key` (checked by [`Grants::check`]).
    pub fn add(&mut self, key: &str, value: impl Into<String>) {
        self.0.entry(key.to_string()).or_default().push(value.into());
    }

    /// The values granted under `key`, in the order they were added.
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    /// Every key with its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    /// Adds every grant of `other`.
    pub fn extend(&mut self, other: &Grants) {
        for (key, values) in other.iter() {
            self.0.entry(key.to_string()).or_default().extend(values.iter().cloned());
        }
    }

    /// Makes the relative values of path keys relative to `base` (a
    /// manifest's directory, the CLI's working directory), so a sandbox
    /// has one identity however its grants were written.
    pub fn join_paths(&mut self, base: &Path) {
        let paths = self.0.iter_mut().filter(|(k, _)| by_grant(k).is_some_and(|(_, g)| g.path));
        for path in paths.flat_map(|(_, v)| v.iter_mut()) {
            if Path::new(path.as_str()).is_relative() {
                *path = base.join(&*path).to_string_lossy().into_owned();
            }
        }
    }

    /// The capabilities these grants turn on.
    pub fn capabilities(&self) -> impl Iterator<Item = &'static Capability> + '_ {
        ALL.iter().copied().filter(|c| c.granted(self))
    }

    /// Fails on a key no capability owns.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] naming the key and the known ones.
    pub fn check(&self) -> Result<()> {
        match self.unknown_key() {
            None => Ok(()),
            Some(reason) => Err(Error::InvalidOptions { option: "grant", reason }),
        }
    }

    /// Why the grants are refused: a key no capability owns, named with
    /// the known ones.
    fn unknown_key(&self) -> Option<String> {
        let key = self.0.keys().find(|k| by_grant(k).is_none())?;
        let known: Vec<&str> = grant_keys().map(|g| g.key).collect();
        Some(format!("unknown grant `{key}`, expected one of {}", known.join(", ")))
    }
}

impl<'de> Deserialize<'de> for Grants {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let grants = Grants(BTreeMap::deserialize(deserializer)?);
        match grants.unknown_key() {
            None => Ok(grants),
            Some(reason) => Err(serde::de::Error::custom(reason)),
        }
    }
}

impl JsonSchema for Grants {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Grants".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let properties: serde_json::Map<String, serde_json::Value> = grant_keys()
            .map(|g| {
                let schema = serde_json::json!({ "type": "array", "items": { "type": "string" }, "description": g.help });
                (g.key.to_string(), schema)
            })
            .collect();
        json_schema!({
            "description": "Capability grants: each key names what one built-in may reach.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_and_grant_key_belongs_to_one_capability() {
        let mut modules: Vec<&str> = ALL.iter().map(|c| c.module).collect();
        let mut keys: Vec<&str> = grant_keys().map(|g| g.key).collect();
        let (m, k) = (modules.len(), keys.len());
        modules.sort();
        modules.dedup();
        keys.sort();
        keys.dedup();
        assert_eq!((modules.len(), keys.len()), (m, k));
        for capability in ALL {
            assert!(!capability.grants.is_empty(), "{} has no grant key", capability.module);
            let declares = format!("declare module \"{}\"", capability.module);
            assert_eq!(capability.declarations.contains(&declares), capability.requirable, "{}", capability.module);
        }
    }

    #[test]
    fn grants_turn_on_their_capability_and_unknown_keys_are_refused() {
        let mut grants = Grants::new();
        grants.add("write", "/tmp");
        let on: Vec<&str> = grants.capabilities().map(|c| c.module).collect();
        assert_eq!(on, ["fs"]);
        assert!(grants.check().is_ok());
        grants.add("wirte", "/tmp");
        let err = grants.check().unwrap_err();
        assert!(matches!(&err, Error::InvalidOptions { option: "grant", reason } if reason.contains("`wirte`") && reason.contains("read, write, exec, net")), "{err}");
        let err = crate::EngineFactory::new(EngineOptions::new().grant("wirte", "/tmp")).unwrap_err();
        assert!(matches!(err, Error::InvalidOptions { option: "grant", .. }), "{err}");
    }

    #[test]
    fn path_grants_are_the_ones_joined() {
        let mut grants = Grants::new();
        grants.add("read", "data");
        grants.add("read", "/abs");
        grants.add("net", "example.com");
        grants.join_paths(Path::new("/base"));
        assert_eq!(grants.get("read"), ["/base/data", "/abs"]);
        assert_eq!(grants.get("net"), ["example.com"]);
    }
}
