//! The async API: the same calls as the sync one, whose waits on timers
//! and async native functions are `.await`s instead of a blocked thread.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::runtime::Handle;

use super::{args_json, parse_json, Frame, Runtime, Step};
use crate::abi::{CallOutcome, GuestExports};
use crate::error::{Error, Result};
use crate::event_loop;
use crate::state::HostState;

impl Runtime {
    /// [`Runtime::eval`] for async code: while the script's promise waits on
    /// timers or async native functions, this future is pending and holds
    /// no thread. Use it from tokio (async native functions then run on the
    /// caller's tokio runtime) or from any executor (they then run on
    /// jsbox's own small tokio runtime).
    ///
    /// Dropping the future while it waits abandons the call: the runtime
    /// stays usable, its timers and native calls in flight stay pending,
    /// and the call is accounted for as [`crate::Error::Cancelled`] (its
    /// call-log row, its time and fuel in [`Runtime::stats`]).
    ///
    /// # Errors
    ///
    /// As [`Runtime::eval`]; [`crate::Error::NeverSettles`] when the promise
    /// can never settle.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), jsbox::Error> {
    /// let mut rt = jsbox::open(jsbox::EngineOptions::new())?;
    /// let v = rt.eval_async("new Promise((resolve) => setTimeout(resolve, 10, 42))").await?;
    /// assert_eq!(v, serde_json::json!(42));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn eval_async(&mut self, source: &str) -> Result<serde_json::Value> {
        parse_json(&self.eval_json_async(source, "<eval>").await?)
    }

    /// [`Runtime::eval_as`], async.
    ///
    /// # Errors
    ///
    /// As [`Runtime::eval_async`], and [`crate::Error::InvalidValue`] when
    /// the value does not deserialize into `T`.
    pub async fn eval_as_async<T: DeserializeOwned>(&mut self, source: &str) -> Result<T> {
        parse_json(&self.eval_json_async(source, "<eval>").await?)
    }

    /// [`Runtime::eval_json`], async.
    ///
    /// # Errors
    ///
    /// As [`Runtime::eval_async`].
    pub async fn eval_json_async(&mut self, source: &str, filename: &str) -> Result<String> {
        let logged = self.eval_logged(source, filename)?;
        self.run_async("", "eval", logged, |guest, store| guest.eval(store, source, filename)).await
    }

    /// [`Runtime::call`], async.
    ///
    /// # Errors
    ///
    /// As [`Runtime::call`] and [`Runtime::eval_async`].
    pub fn call_async<'a>(
        &'a mut self,
        function: &'a str,
        args: impl Serialize,
    ) -> impl Future<Output = Result<serde_json::Value>> + Send + 'a {
        let args = args_json(args, self.max_value());
        async move { parse_json(&self.call_json_async(None, function, &args?).await?) }
    }

    /// [`Runtime::call_module`], async.
    ///
    /// # Errors
    ///
    /// As [`Runtime::call`] and [`Runtime::eval_async`].
    pub fn call_module_async<'a>(
        &'a mut self,
        module: &'a str,
        function: &'a str,
        args: impl Serialize,
    ) -> impl Future<Output = Result<serde_json::Value>> + Send + 'a {
        let args = args_json(args, self.max_value());
        async move { parse_json(&self.call_json_async(Some(module), function, &args?).await?) }
    }

    /// [`Runtime::call_json`], async.
    ///
    /// # Errors
    ///
    /// As [`Runtime::call`] and [`Runtime::eval_async`].
    pub async fn call_json_async(&mut self, module: Option<&str>, function: &str, args_json: &str) -> Result<String> {
        let logged = self.call_logged(args_json)?;
        self.run_async(module.unwrap_or(""), function, logged, |guest, store| {
            guest.call(store, module, function, args_json)
        })
        .await
    }

    /// [`Runtime::require`], async.
    ///
    /// # Errors
    ///
    /// As [`Runtime::require`] and [`Runtime::eval_async`].
    pub async fn require_async(&mut self, name: &str) -> Result<serde_json::Value> {
        let logged = self.require_logged(name);
        parse_json(&self.run_async(name, "require", logged, |guest, store| guest.require(store, name)).await?)
    }

    /// [`Runtime::run`] with an awaited wait.
    async fn run_async(
        &mut self,
        module: &str,
        function: &str,
        logged_args: Option<String>,
        call: impl FnOnce(&mut GuestExports, &mut wasmtime::Store<HostState>) -> CallOutcome + Send,
    ) -> Result<String> {
        let handle = match Handle::try_current() {
            Ok(h) => h,
            Err(_) => event_loop::shared()?.clone(),
        };
        let frame: Frame = self.begin(Some(handle.clone()))?;
        let limits = frame.limits.clone();
        // From here on the call is accounted for even if this future is
        // dropped at the await below.
        let call_guard = Unfinished { rt: self, frame: Some(frame), module, function, logged_args };
        let rt = &mut *call_guard.rt;
        let outcome = call(&mut rt.guest, &mut rt.store);
        let result = match call_guard.rt.step(outcome, &limits) {
            Step::Done(result) => result,
            Step::Pending => call_guard.rt.settle(&limits, &handle).await,
        };
        call_guard.finish(result)
    }
}

/// An async call between `begin` and `finish`. Dropped unfinished (its
/// future was dropped mid-wait), it finishes the call as
/// [`Error::Cancelled`]: the call log gets its row, and the runtime its
/// time and fuel accounting, as for any other call.
struct Unfinished<'a> {
    rt: &'a mut Runtime,
    frame: Option<Frame>,
    module: &'a str,
    function: &'a str,
    logged_args: Option<String>,
}

impl Unfinished<'_> {
    fn finish(mut self, result: Result<String>) -> Result<String> {
        let frame = self.frame.take().ok_or(Error::Cancelled)?;
        self.rt.store.data_mut().event_loop.handle = None;
        self.rt.finish(frame, self.module, self.function, self.logged_args.take(), result)
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            self.rt.store.data_mut().event_loop.handle = None;
            // No caller to hand an error to (a failing call log reports
            // itself at the next call).
            let _ = self.rt.finish::<String>(frame, self.module, self.function, self.logged_args.take(), Err(Error::Cancelled));
        }
    }
}
