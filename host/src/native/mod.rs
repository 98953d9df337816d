//! Native modules: functions implemented by the host in Rust, reachable from
//! JS as `require("name").fn(...)`.
//!
//! A module is registered once, on the factory options. Its JS side (a
//! frozen object of stubs) is built by the guest's prelude inside the
//! snapshot; a call crosses into the host through the `host.call` import,
//! with the arguments as a JSON array, and is dispatched here.
//!
//! # Values across the boundary
//!
//! Arguments are `JSON.stringify`'d in the guest: `undefined` and functions
//! become `null` inside the argument array, cyclic values and `BigInt`
//! throw a `TypeError` in JS before the host is reached. Results are JSON
//! too. A function's arguments deserialize from that array, so a Rust
//! function of two numbers takes `(f64, f64)` and one of one string takes
//! `(String,)`.
//!
//! # Errors
//!
//! A native function's error becomes a JS `Error` carrying the host's
//! message (JS can catch it). If JS does not catch it, the typed error the
//! host returned comes back to Rust (for example [`Error::Denied`] from the
//! `fs` module).

pub mod exec;
pub mod fs;
pub mod net;

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;

/// The type-erased form of a native function: JSON arguments in, JSON out.
pub(crate) type NativeFn = Arc<dyn Fn(&str) -> Result<String, Error> + Send + Sync>;

/// A native module: a name and its functions.
///
/// # Examples
///
/// ```
/// use jsbox::{EngineOptions, NativeModule};
///
/// let math = NativeModule::new("math")
///     .function("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b))
///     .function("shout", |(s,): (String,)| Ok::<_, String>(s.to_uppercase()));
/// let mut rt = jsbox::open(EngineOptions::new().native_module(math))?;
/// let v: f64 = rt.eval_as("require('math').add(40, 2)")?;
/// assert_eq!(v, 42.0);
/// # Ok::<(), jsbox::Error>(())
/// ```
#[derive(Clone)]
pub struct NativeModule {
    pub(crate) name: String,
    pub(crate) functions: HashMap<String, NativeFn>,
}

impl std::fmt::Debug for NativeModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("NativeModule").field("name", &self.name).field("functions", &names).finish()
    }
}

impl NativeModule {
    /// A module named `name` with no functions yet.
    pub fn new(name: impl Into<String>) -> Self {
        NativeModule { name: name.into(), functions: HashMap::new() }
    }

    /// The module's name (what JS passes to `require`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a typed function. `A` deserializes from the JSON array of the JS
    /// arguments (use a tuple); `R` serializes to the JS result. An `Err`
    /// becomes a JS exception with its `Display` text.
    pub fn function<A, R, E, F>(self, name: impl Into<String>, f: F) -> Self
    where
        A: DeserializeOwned,
        R: Serialize,
        E: Display,
        F: Fn(A) -> Result<R, E> + Send + Sync + 'static,
    {
        let module = self.name.clone();
        let function: String = name.into();
        let fname = function.clone();
        self.raw(function, move |args: &str| {
            let host_error = |message: String| Error::Host {
                module: module.clone(),
                function: fname.clone(),
                message,
            };
            let args: A = serde_json::from_str(args)
                .map_err(|e| host_error(format!("bad arguments: {e}")))?;
            let result = f(args).map_err(|e| host_error(e.to_string()))?;
            serde_json::to_string(&result).map_err(|e| host_error(format!("bad result: {e}")))
        })
    }

    /// Adds a function that works on raw JSON text and returns a jsbox
    /// [`Error`] (so it can report [`Error::Denied`] and keep its type).
    pub fn raw<F>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&str) -> Result<String, Error> + Send + Sync + 'static,
    {
        self.functions.insert(name.into(), Arc::new(f));
        self
    }

    /// The names of the module's functions, sorted (what the guest's stub
    /// object gets).
    pub(crate) fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.functions.keys().cloned().collect();
        names.sort();
        names
    }
}

/// Every native module of a factory, for dispatch.
#[derive(Default, Clone)]
pub(crate) struct NativeRegistry {
    modules: HashMap<String, NativeModule>,
}

impl NativeRegistry {
    pub(crate) fn insert(&mut self, module: NativeModule) -> Result<(), Error> {
        if self.modules.contains_key(&module.name) {
            return Err(Error::InvalidOptions(format!("native module '{}' registered twice", module.name)));
        }
        self.modules.insert(module.name.clone(), module);
        Ok(())
    }

    pub(crate) fn get(&self, module: &str, function: &str) -> Option<&NativeFn> {
        self.modules.get(module)?.functions.get(function)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &NativeModule> {
        self.modules.values()
    }
}

/// Serializes a host value to JSON text, as a host error when it cannot be.
pub(crate) fn to_json<T: Serialize>(module: &str, function: &str, value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Host {
        module: module.into(),
        function: function.into(),
        message: format!("bad result: {e}"),
    })
}

/// Parses the JSON argument array for a built-in module's function. JS
/// callers leave optional trailing arguments out, so a short array is
/// padded with `null`s (up to two) before it is given up on.
pub(crate) fn parse_args<A: DeserializeOwned>(module: &str, function: &str, args: &str) -> Result<A, Error> {
    let first = match serde_json::from_str(args) {
        Ok(a) => return Ok(a),
        Err(e) => e,
    };
    if let Ok(mut values) = serde_json::from_str::<Vec<serde_json::Value>>(args) {
        for _ in 0..2 {
            values.push(serde_json::Value::Null);
            if let Ok(a) = serde_json::from_value(serde_json::Value::Array(values.clone())) {
                return Ok(a);
            }
        }
    }
    Err(Error::Host { module: module.into(), function: function.into(), message: format!("bad arguments: {first}") })
}
