//! Native modules: functions implemented by the host in Rust, reachable from
//! JS as `require("name").fn(...)`. The user-facing rules are on
//! [`NativeModule`]; the granted built-ins made of them are in
//! `crate::capabilities`.

// Ordered maps: a lookup per native call is a few string compares, cheaper
// than hashing both names with SipHash.
use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;

/// The type-erased form of a native function: JSON arguments in, JSON out.
pub(crate) type NativeFn = Arc<dyn Fn(&str) -> Result<String, Error> + Send + Sync>;

/// The future of one async native call: the JSON text of its result.
pub(crate) type NativeFuture = Pin<Box<dyn Future<Output = Result<String, Error>> + Send>>;

/// The type-erased form of an async native function.
pub(crate) type AsyncNativeFn = Arc<dyn Fn(String) -> NativeFuture + Send + Sync>;

/// Makes the JSON Schema of one Rust type in a generator (whose settings say
/// whether it is the deserialize or the serialize side).
pub(crate) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The Rust types of a typed native function, for its TypeScript
/// declaration (`crate::types`): the argument tuple `A` as deserialized and
/// the result `R` as serialized. Functions added with `raw` have none.
#[derive(Clone, Copy)]
pub(crate) struct Signature {
    pub(crate) args: SchemaFn,
    pub(crate) result: SchemaFn,
}

impl Signature {
    fn of<A: JsonSchema, R: JsonSchema>() -> Self {
        Signature { args: |g| g.subschema_for::<A>(), result: |g| g.subschema_for::<R>() }
    }
}

/// A native module: a name and its functions, implemented in Rust and
/// reachable from JS as `require("name").fn(...)`.
///
/// A module is registered once, on the factory options. Its JS side (a
/// frozen object of stubs) is built inside the snapshot; a call crosses into
/// the host through one import, with the arguments as a JSON array, and is
/// dispatched to the Rust function.
///
/// # Values across the boundary
///
/// Arguments are `JSON.stringify`'d in the guest: `undefined` and functions
/// become `null` inside the argument array, cyclic values and `BigInt`
/// throw a `TypeError` in JS before the host is reached. Results are JSON
/// too. A function's arguments deserialize from that array, so a Rust
/// function of two numbers takes `(f64, f64)` and one of one string takes
/// `(String,)`.
///
/// # Errors in native functions
///
/// A native function's error becomes a JS `Error` carrying the host's
/// message (JS can catch it). If JS does not catch it, the typed error the
/// host returned comes back to Rust (for example [`Error::Denied`] from the
/// `fs` module).
///
/// # Types
///
/// Typed functions ([`NativeModule::function`],
/// [`NativeModule::async_function`]) need their argument and result types
/// to implement [`schemars::JsonSchema`] (`#[derive(JsonSchema)]` next to
/// serde's derives; jsbox re-exports the crate as [`crate::schemars`]), so
/// that [`crate::types::declarations`] (`jsbox types`) can describe them to
/// TypeScript: a tuple `(A, B)` becomes two parameters, a struct an object
/// type, `Option<T>` `T | null`, a result `R` the return type (`Promise<R>`
/// for async functions). Functions added with [`NativeModule::raw`] or
/// [`NativeModule::raw_async`] are declared as taking and returning
/// `unknown`.
///
/// # Async functions
///
/// [`NativeModule::async_function`] and [`NativeModule::raw_async`] add
/// functions whose JS stubs return promises; see the crate docs, "Event
/// loop".
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
    pub(crate) functions: BTreeMap<String, NativeFn>,
    pub(crate) async_functions: BTreeMap<String, AsyncNativeFn>,
    pub(crate) signatures: BTreeMap<String, Signature>,
}

impl std::fmt::Debug for NativeModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("NativeModule")
            .field("name", &self.name)
            .field("functions", &names)
            .field("async_functions", &self.async_function_names())
            .finish()
    }
}

impl NativeModule {
    /// A module named `name` with no functions yet.
    pub fn new(name: impl Into<String>) -> Self {
        NativeModule {
            name: name.into(),
            functions: BTreeMap::new(),
            async_functions: BTreeMap::new(),
            signatures: BTreeMap::new(),
        }
    }

    /// The module's name (what JS passes to `require`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a typed function. `A` deserializes from the JSON array of the JS
    /// arguments (use a tuple); `R` serializes to the JS result. An `Err`
    /// becomes a JS exception with its `Display` text. Both types' JSON
    /// Schemas give the function's TypeScript declaration (see "Types"
    /// above).
    pub fn function<A, R, E, F>(self, name: impl Into<String>, f: F) -> Self
    where
        A: DeserializeOwned + JsonSchema,
        R: Serialize + JsonSchema,
        E: Display,
        F: Fn(A) -> Result<R, E> + Send + Sync + 'static,
    {
        let module = self.name.clone();
        let function: String = name.into();
        let fname = function.clone();
        let signature = Signature::of::<A, R>();
        let mut typed = self.raw(function.clone(), move |args: &str| {
            let host_error = |message: String| Error::Host {
                module: module.clone(),
                function: fname.clone(),
                message,
            };
            let args: A = serde_json::from_str(args)
                .map_err(|e| host_error(format!("bad arguments: {e}")))?;
            let result = f(args).map_err(|e| host_error(e.to_string()))?;
            serde_json::to_string(&result).map_err(|e| host_error(format!("bad result: {e}")))
        });
        typed.signatures.insert(function, signature);
        typed
    }

    /// Adds a function that works on raw JSON text and returns a jsbox
    /// [`Error`] (so it can report [`Error::Denied`] and keep its type).
    pub fn raw<F>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&str) -> Result<String, Error> + Send + Sync + 'static,
    {
        let name = name.into();
        self.async_functions.remove(&name);
        self.signatures.remove(&name);
        self.functions.insert(name, Arc::new(f));
        self
    }

    /// Adds a typed async function: JS gets a promise, and the future runs
    /// on the host while the runtime's event loop waits (no thread per
    /// waiting runtime under the async API). `A` deserializes from the JSON
    /// array of the JS arguments (use a tuple); `R` serializes to the value
    /// the promise resolves with; an `Err` rejects it with an `Error`
    /// carrying its `Display` text (and comes back to Rust as
    /// [`Error::Host`] if JS does not catch it). Its TypeScript declaration
    /// returns `Promise<R>`.
    ///
    /// `f` is called, and its future first polled, inside a tokio context:
    /// the caller's under [`crate::Runtime::eval_async`] and the other async
    /// calls, else jsbox's own small runtime. So the future may use tokio's
    /// timers and I/O. The call log records the call when it settles, with
    /// its duration from start to settlement.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use jsbox::{EngineOptions, NativeModule};
    ///
    /// let timer = NativeModule::new("timer").async_function("sleep", |(ms,): (u64,)| async move {
    ///     tokio::time::sleep(Duration::from_millis(ms)).await;
    ///     Ok::<_, String>(ms)
    /// });
    /// let mut rt = jsbox::open(EngineOptions::new().native_module(timer))?;
    /// let slept: u64 = rt.eval_as("require('timer').sleep(5).then((ms) => ms * 2)")?;
    /// assert_eq!(slept, 10);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn async_function<A, R, E, F, Fut>(self, name: impl Into<String>, f: F) -> Self
    where
        A: DeserializeOwned + JsonSchema,
        R: Serialize + JsonSchema,
        E: Display,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        let module = self.name.clone();
        let function: String = name.into();
        let fname = function.clone();
        let signature = Signature::of::<A, R>();
        let mut typed = self.raw_async(function.clone(), move |args: String| {
            let (module, function) = (module.clone(), fname.clone());
            let host_error = move |message: String| Error::Host { module: module.clone(), function: function.clone(), message };
            // Arguments are checked and the future created now, in the
            // call, so bad arguments fail without a loop turn.
            let started = serde_json::from_str::<A>(&args).map(&f);
            async move {
                let future = started.map_err(|e| host_error(format!("bad arguments: {e}")))?;
                let result = future.await.map_err(|e| e.to_string());
                let result = result.map_err(&host_error)?;
                serde_json::to_string(&result).map_err(|e| host_error(format!("bad result: {e}")))
            }
        });
        typed.signatures.insert(function, signature);
        typed
    }

    /// Adds an async function that works on raw JSON text and returns a
    /// jsbox [`Error`] (so it can report [`Error::Denied`] and keep its
    /// type; JS sees its message). See [`NativeModule::async_function`].
    pub fn raw_async<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, Error>> + Send + 'static,
    {
        let name = name.into();
        self.functions.remove(&name);
        self.signatures.remove(&name);
        self.async_functions.insert(name, Arc::new(move |args| Box::pin(f(args)) as NativeFuture));
        self
    }

    /// The names of the module's functions, sorted (what the guest's stub
    /// object gets).
    pub(crate) fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.functions.keys().cloned().collect();
        names.sort();
        names
    }

    /// The names of the module's async functions, sorted.
    pub(crate) fn async_function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.async_functions.keys().cloned().collect();
        names.sort();
        names
    }
}

/// Every native module of a factory, for dispatch.
#[derive(Default, Clone)]
pub(crate) struct NativeRegistry {
    modules: BTreeMap<String, NativeModule>,
}

impl NativeRegistry {
    pub(crate) fn insert(&mut self, module: NativeModule) -> Result<(), Error> {
        if self.modules.contains_key(&module.name) {
            return Err(Error::InvalidOptions {
                option: "native_module",
                reason: format!("'{}' is registered twice", module.name),
            });
        }
        self.modules.insert(module.name.clone(), module);
        Ok(())
    }

    pub(crate) fn get(&self, module: &str, function: &str) -> Option<&NativeFn> {
        self.modules.get(module)?.functions.get(function)
    }

    pub(crate) fn get_async(&self, module: &str, function: &str) -> Option<&AsyncNativeFn> {
        self.modules.get(module)?.async_functions.get(function)
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
