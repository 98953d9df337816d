//! A runtime: one wasmtime instance of the factory's snapshot, with its own
//! store, memory, console, call-log binding and limits.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasmtime::{Engine, Store, Trap};

use crate::abi::{CallOutcome, GuestError, GuestExports, PENDING};
use crate::calllog::Direction;
use crate::columns::{self, Cells, Columns};
use crate::console::ConsoleLine;
use crate::error::{Error, Result};
use crate::limits::{Limits, Stats};
use crate::pool::Slot;
use crate::state::{HostState, Interrupt};

mod async_api;
mod settle;

/// What [`Runtime::begin`] armed for one call.
struct Frame {
    limits: Limits,
    fuel_budget: Option<u64>,
    /// When the call started, for the call log (`None` without one).
    wall: Option<SystemTime>,
    started: Instant,
}

/// What the guest's first answer to a call means.
enum Step {
    Done(Result<String>),
    /// The result is a pending promise: drive the event loop.
    Pending,
}

/// Cancels a running call from another thread.
///
/// # Examples
///
/// ```
/// let mut rt = jsbox::open(jsbox::EngineOptions::new())?;
/// let handle = rt.interrupt_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_millis(50));
///     handle.interrupt();
/// });
/// let err = rt.eval("while (true) {}").unwrap_err();
/// assert!(matches!(err, jsbox::Error::Timeout(_)));
/// # Ok::<(), jsbox::Error>(())
/// ```
#[derive(Clone)]
pub struct InterruptHandle {
    cancelled: Arc<Interrupt>,
    engine: Engine,
}

impl InterruptHandle {
    /// Stops the runtime's current (or next) call with [`Error::Timeout`].
    pub fn interrupt(&self) {
        self.cancelled.flag.store(true, Ordering::SeqCst);
        // Make every store check its deadline now rather than at the next tick.
        self.engine.increment_epoch();
        // And end the wait of a runtime whose event loop is idle.
        self.cancelled.waker.wake();
    }
}

/// A fresh, isolated JS runtime: one wasm instance of the factory's
/// snapshot. Nothing is shared with other runtimes; dropping it frees its
/// pool slot and hands its call-log entries to the sink.
pub struct Runtime {
    store: Store<HostState>,
    guest: GuestExports,
    id: u64,
    wall_time: Duration,
    fuel_consumed: Option<u64>,
    poisoned: Option<String>,
    /// The pool slot; declared last so it is freed after the store (and so
    /// the instance) is gone, when a waiter can really use it.
    _slot: Slot,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("id", &self.id).field("poisoned", &self.poisoned).finish()
    }
}

/// How much of an `eval` source goes into the call log.
const LOGGED_SOURCE: usize = 4096;

impl Runtime {
    pub(crate) fn new(mut store: Store<HostState>, guest: GuestExports, id: u64, slot: Slot) -> Self {
        store.data_mut().memory = Some(guest.memory);
        Runtime { store, guest, id, wall_time: Duration::ZERO, fuel_consumed: None, poisoned: None, _slot: slot }
    }

    /// Initialises an un-snapshotted guest with the registry.
    pub(crate) fn init(&mut self, registry_json: &str) -> Result<()> {
        self.run("", "init", None, |guest, store| guest.init(store, registry_json)).map(drop)
    }

    /// This runtime's id: the call log's `runtime_id`. A random 32-bit
    /// factory prefix and a counter, so ids do not repeat across factories
    /// and processes sharing one log.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Evaluates a script and returns its completion value as JSON
    /// (`undefined` is `null`). A returned promise is awaited: the
    /// runtime's event loop runs (timers, async native calls) until it
    /// settles, blocking this thread (see the crate docs, "Event loop", and
    /// [`Runtime::eval_async`]).
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] with line and column, [`Error::Exception`] with
    /// message and stack, [`Error::Timeout`] and the other limits,
    /// [`Error::NeverSettles`] for a promise nothing can settle.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rt = jsbox::open(jsbox::EngineOptions::new())?;
    /// assert_eq!(rt.eval("var n = 41; n + 1;")?, serde_json::json!(42));
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn eval(&mut self, source: &str) -> Result<serde_json::Value> {
        let json = self.eval_json(source, "<eval>")?;
        parse_json(&json)
    }

    /// Like [`Runtime::eval`], deserialized into `T`.
    ///
    /// # Errors
    ///
    /// As [`Runtime::eval`], and [`Error::InvalidValue`] when the value is
    /// not a `T`.
    pub fn eval_as<T: DeserializeOwned>(&mut self, source: &str) -> Result<T> {
        let json = self.eval_json(source, "<eval>")?;
        parse_json(&json)
    }

    /// Evaluates `source` as the script `filename` (the name that appears in
    /// stack traces and error locations) and returns the JSON text.
    ///
    /// # Errors
    ///
    /// As [`Runtime::eval`]; [`Error::TooLarge`] for a source over
    /// [`Limits::max_source_bytes`].
    pub fn eval_json(&mut self, source: &str, filename: &str) -> Result<String> {
        let logged = self.eval_logged(source, filename)?;
        self.run("", "eval", logged, |guest, store| guest.eval(store, source, filename))
    }

    /// Checks an `eval` source's size; its call-log arguments.
    fn eval_logged(&self, source: &str, filename: &str) -> Result<Option<String>> {
        let max = self.store.data().limits.max_source_bytes;
        if source.len() > max {
            return Err(Error::TooLarge { what: "source", size: source.len(), limit: max });
        }
        Ok(self.store.data().calllog.is_some().then(|| {
            let mut s: String = source.chars().take(LOGGED_SOURCE).collect();
            if s.len() < source.len() {
                s.push('…');
            }
            serde_json::json!([filename, s]).to_string()
        }))
    }

    /// Evaluates raw bytes as a script (for sources read from files).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValue`] when `source` is not UTF-8, else as
    /// [`Runtime::eval`].
    pub fn eval_bytes(&mut self, source: &[u8], filename: &str) -> Result<serde_json::Value> {
        let source = std::str::from_utf8(source)
            .map_err(|e| Error::InvalidValue(format!("{filename} is not valid UTF-8: {e}")))?;
        parse_json(&self.eval_json(source, filename)?)
    }

    /// Calls the global function `function` with `args` (anything that
    /// serializes to a JSON array, such as a tuple or a `Vec`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rt = jsbox::open(jsbox::EngineOptions::new().init_script("function add(a, b) { return a + b }"))?;
    /// assert_eq!(rt.call_as::<i64>("add", (40, 2))?, 42);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValue`] when `function` is not a function or `args`
    /// is not an array, [`Error::TooLarge`] for arguments over the value
    /// limit, and what the function throws or hits, as for
    /// [`Runtime::eval`].
    pub fn call(&mut self, function: &str, args: impl Serialize) -> Result<serde_json::Value> {
        parse_json(&self.call_json(None, function, &args_json(args, self.max_value())?)?)
    }

    /// Like [`Runtime::call`], deserialized into `T`.
    ///
    /// # Errors
    ///
    /// As [`Runtime::call`], and [`Error::InvalidValue`] when the result is
    /// not a `T`.
    pub fn call_as<T: DeserializeOwned>(&mut self, function: &str, args: impl Serialize) -> Result<T> {
        parse_json(&self.call_json(None, function, &args_json(args, self.max_value())?)?)
    }

    /// Calls export `function` of registry module `module`.
    ///
    /// # Errors
    ///
    /// As [`Runtime::call`], and the module's own load errors
    /// ([`Error::ModuleNotFound`], [`Error::ModuleDenied`], ...).
    pub fn call_module(&mut self, module: &str, function: &str, args: impl Serialize) -> Result<serde_json::Value> {
        parse_json(&self.call_json(Some(module), function, &args_json(args, self.max_value())?)?)
    }

    /// Calls a function with a JSON array text of arguments and returns the
    /// JSON text of the result; `module: None` means a global function.
    ///
    /// # Errors
    ///
    /// As [`Runtime::call_module`].
    pub fn call_json(&mut self, module: Option<&str>, function: &str, args_json: &str) -> Result<String> {
        let logged = self.call_logged(args_json)?;
        self.run(module.unwrap_or(""), function, logged, |guest, store| guest.call(store, module, function, args_json))
    }

    /// Calls a function once per row of a batch, in one guest call: the
    /// arguments cross as columns in one buffer ([`Columns`]) and the
    /// results come back as one ([`Cells`]), one cell per row. Rows run in
    /// order in this runtime's JS globals (state one row leaves is seen by
    /// the next). A row that throws is a [`crate::Cell::Thrown`] and the
    /// other rows still run; a row's promise is awaited, as for
    /// [`Runtime::call`]. `module: None` means a global function.
    ///
    /// The limits apply to the call as a whole: the timeout and fuel cover
    /// every row, and [`Limits::max_value_bytes`] caps the encoded
    /// arguments and the encoded results. The call log records one entry
    /// for the call, its arguments and result summarized as
    /// `{"rows":..,"columns":..,"bytes":..}` and `{"rows":..,"bytes":..}`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValue`] when `columns` is incomplete, the function
    /// is not a function, or a JSON cell does not parse;
    /// [`Error::TooLarge`] over the value limit; a limit hit while any
    /// row runs ([`Error::Timeout`], [`Error::OutOfMemory`], ...), which
    /// fails the whole call.
    ///
    /// # Examples
    ///
    /// ```
    /// use jsbox::{Cell, Columns, EngineOptions};
    ///
    /// let mut rt = jsbox::open(EngineOptions::new().init_script("function tag(s, n) { if (n < 0) throw new RangeError('negative'); return s + n }"))?;
    /// let mut args = Columns::new(3, 2);
    /// for s in ["a", "b", "c"] {
    ///     args.push_str(s);
    /// }
    /// for n in [1.0, -1.0, 3.0] {
    ///     args.push_number(n);
    /// }
    /// let results = rt.call_columns(None, "tag", &args)?;
    /// let cells: Vec<Cell> = results.iter().collect();
    /// assert_eq!(cells, [Cell::String("a1"), Cell::Thrown("RangeError: negative"), Cell::String("c3")]);
    /// # Ok::<(), jsbox::Error>(())
    /// ```
    pub fn call_columns(&mut self, module: Option<&str>, function: &str, columns: &Columns) -> Result<Cells> {
        columns.check()?;
        let max = self.max_value();
        if columns.byte_len() > max {
            return Err(Error::TooLarge { what: "arguments", size: columns.byte_len(), limit: max });
        }
        let logged = self.store.data().calllog.is_some().then(|| {
            format!(r#"{{"rows":{},"columns":{},"bytes":{}}}"#, columns.rows(), columns.columns(), columns.byte_len())
        });
        let frame = self.begin(None)?;
        let result = self.columns_rows(module, function, columns, &frame.limits);
        self.finish(frame, module.unwrap_or(""), function, logged, result)
    }

    /// The guest calls of [`Runtime::call_columns`]: one, plus one more
    /// after each row whose promise had to be awaited.
    fn columns_rows(&mut self, module: Option<&str>, function: &str, args: &Columns, limits: &Limits) -> Result<Cells> {
        let rows = args.rows();
        let mut out: Vec<u8> = Vec::new();
        let mut start = 0;
        loop {
            let outcome = self.guest.call_columns(&mut self.store, module, function, args.bytes(), start as u32);
            if self.store.data().limiter.refused {
                // A row ran out of memory: the guest saw an exception, but
                // the runtime is at its cap.
                return Err(Error::OutOfMemory { limit: limits.max_memory });
            }
            let chunk = self.map_outcome(outcome, limits)?;
            let scan = columns::scan(&chunk).map_err(|e| Error::Trap(format!("malformed answer from the guest: {e}")))?;
            start += scan.cells;
            if start > rows {
                return Err(Error::Trap(format!("the guest answered {start} rows of {rows}")));
            }
            if out.is_empty() && !scan.pending {
                out = chunk;
            } else {
                out.extend_from_slice(&chunk[..chunk.len() - usize::from(scan.pending)]);
            }
            if scan.pending {
                let json = self.settle_blocking(limits);
                match json {
                    Ok(json) => columns::push_settled(&mut out, &json),
                    // A rejection is the row's; a limit hit is the call's.
                    Err(e) if !e.is_fatal() => columns::push_thrown(&mut out, &e),
                    Err(e) => return Err(e),
                }
                continue;
            }
            if start != rows {
                return Err(Error::Trap(format!("the guest answered {start} rows of {rows}")));
            }
            return Ok(Cells::new(out, rows));
        }
    }

    /// Checks a call's arguments' size; their call-log form.
    fn call_logged(&self, args_json: &str) -> Result<Option<String>> {
        let max = self.max_value();
        if args_json.len() > max {
            return Err(Error::TooLarge { what: "arguments", size: args_json.len(), limit: max });
        }
        Ok(self.store.data().calllog.is_some().then(|| args_json.to_string()))
    }

    fn require_logged(&self, name: &str) -> Option<String> {
        self.store.data().calllog.is_some().then(|| serde_json::json!([name]).to_string())
    }

    /// `require(name)` and returns the module's exports as JSON (functions
    /// are left out, as `JSON.stringify` does).
    ///
    /// # Errors
    ///
    /// [`Error::ModuleNotFound`], [`Error::ModuleDenied`], or what the
    /// module's top level throws or hits, as for [`Runtime::eval`].
    pub fn require(&mut self, name: &str) -> Result<serde_json::Value> {
        let logged = self.require_logged(name);
        parse_json(&self.run(name, "require", logged, |guest, store| guest.require(store, name))?)
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.store.data().limits
    }

    /// Replaces this runtime's limits. The memory cap cannot go above the
    /// factory's (the pool's slots are sized by it).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] when the memory cap exceeds the factory's.
    pub fn set_limits(&mut self, limits: Limits) -> Result<()> {
        let ceiling = self.store.data().shared.max_memory;
        if limits.max_memory > ceiling {
            return Err(Error::InvalidOptions {
                option: "max_memory",
                reason: format!("{} is above the factory's {}", limits.max_memory, ceiling),
            });
        }
        let data = self.store.data_mut();
        data.limiter.max_memory = limits.max_memory;
        data.limits = limits;
        Ok(())
    }

    /// What this runtime has used so far.
    pub fn stats(&self) -> Stats {
        let data = self.store.data();
        Stats {
            wall_time: self.wall_time,
            fuel_consumed: self.fuel_consumed,
            peak_memory: data.limiter.peak.max(self.guest.memory.data_size(&self.store)),
            host_calls: data.host_calls,
            console_bytes_dropped: data.console.dropped,
        }
    }

    /// Takes the console lines captured so far (with
    /// [`crate::ConsoleOutput::Capture`]).
    pub fn take_console(&mut self) -> Vec<ConsoleLine> {
        std::mem::take(&mut self.store.data_mut().console.lines)
    }

    /// A handle that cancels this runtime's running call from any thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        let data = self.store.data();
        InterruptHandle {
            cancelled: data.cancelled.clone(),
            engine: self.store.engine().clone(),
        }
    }

    /// The guest's linear memory, read-only (for inspection and tests).
    pub fn guest_memory(&self) -> &[u8] {
        self.guest.memory.data(&self.store)
    }

    fn max_value(&self) -> usize {
        self.store.data().limits.max_value_bytes
    }

    /// Runs one call into the guest under the limits (a pending promise is
    /// awaited by driving the event loop, blocking this thread), logs it,
    /// and maps every failure to a typed error.
    fn run(
        &mut self,
        module: &str,
        function: &str,
        logged_args: Option<String>,
        call: impl FnOnce(&mut GuestExports, &mut Store<HostState>) -> CallOutcome,
    ) -> Result<String> {
        let frame = self.begin(None)?;
        let outcome = call(&mut self.guest, &mut self.store);
        let result = match self.step(outcome, &frame.limits) {
            Step::Done(result) => result,
            Step::Pending => self.settle_blocking(&frame.limits),
        };
        self.finish(frame, module, function, logged_args, result)
    }

    /// Checks the runtime can run a call and arms its limits. `handle` is
    /// the tokio runtime async native calls use (`None`: the shared one).
    fn begin(&mut self, handle: Option<tokio::runtime::Handle>) -> Result<Frame> {
        if let Some(reason) = &self.poisoned {
            return Err(Error::Poisoned(reason.clone()));
        }
        let limits = self.store.data().limits.clone();
        // Interrupted while idle: this is the "next call" the handle stops.
        if self.store.data().cancelled.flag.load(Ordering::SeqCst) {
            let e = Error::Timeout(Duration::ZERO);
            self.poisoned = Some(e.to_string());
            return Err(e);
        }
        // One clock read for the deadline and the call's duration; the wall
        // clock only when the call log needs a timestamp.
        let started = Instant::now();
        let wall = self.store.data().calllog.is_some().then(SystemTime::now);
        {
            let data = self.store.data_mut();
            data.deadline = limits.timeout.map(|t| started + t);
            data.last_host_error = None;
            data.limiter.refused = false;
            data.event_loop.handle = handle;
        }
        if let Some(ticker) = &self.store.data().shared.ticker {
            ticker.ensure_running();
        }
        self.store.set_epoch_deadline(1);
        let fuel_budget = if self.store.data().shared.fuel {
            let budget = limits.fuel.unwrap_or(u64::MAX);
            self.store.set_fuel(budget).map_err(Error::engine)?;
            Some(budget)
        } else {
            None
        };
        Ok(Frame { limits, fuel_budget, wall, started })
    }

    /// A guest answer: a result, or the news that it is a pending promise.
    fn step(&mut self, outcome: CallOutcome, limits: &Limits) -> Step {
        match outcome {
            Ok(Err(e)) if e.kind == PENDING => Step::Pending,
            outcome => Step::Done(self.map_outcome(outcome, limits)),
        }
    }

    /// Accounts for a finished call (time, fuel, size cap, call log,
    /// poisoning).
    fn finish<T: Answer>(
        &mut self,
        frame: Frame,
        module: &str,
        function: &str,
        logged_args: Option<String>,
        result: Result<T>,
    ) -> Result<T> {
        let elapsed = frame.started.elapsed();
        self.wall_time += elapsed;
        if let Some(budget) = frame.fuel_budget {
            let left = self.store.get_fuel().unwrap_or(0);
            *self.fuel_consumed.get_or_insert(0) += budget - left;
        }
        // An allocation the limiter refused means the call ran out of
        // memory, whatever that became on the way out: inside a promise
        // job QuickJS only leaves the awaited promise pending (which reads
        // as NeverSettles), and a script may catch it and go on in a heap
        // it can no longer trust.
        let result = match result {
            Err(Error::OutOfMemory { .. }) => result,
            _ if self.store.data().limiter.refused => Err(Error::OutOfMemory { limit: frame.limits.max_memory }),
            _ => result,
        };
        let max = frame.limits.max_value_bytes;
        let result = result.and_then(|answer| {
            if answer.size() > max {
                Err(Error::TooLarge { what: "result", size: answer.size(), limit: max })
            } else {
                Ok(answer)
            }
        });
        if let (Some(log), Some(args), Some(wall)) = (self.store.data_mut().calllog.as_mut(), logged_args, frame.wall) {
            let logged = match &result {
                Ok(answer) => Ok(answer.logged()),
                Err(e) => Err(e.to_string()),
            };
            let outcome = match &logged {
                Ok(text) => Ok(text.as_ref()),
                Err(e) => Err(e.clone()),
            };
            log.record(Direction::HostToJs, module, function, &args, wall, elapsed, outcome)?;
        }
        if let Err(e) = &result {
            if e.is_fatal() {
                self.poisoned = Some(e.to_string());
            }
        }
        result
    }

    fn map_outcome<T>(&mut self, outcome: wasmtime::Result<std::result::Result<T, GuestError>>, limits: &Limits) -> Result<T> {
        let data = self.store.data_mut();
        let oom = data.limiter.refused;
        match outcome {
            Ok(Ok(json)) => Ok(json),
            Ok(Err(guest_error)) => {
                if oom {
                    return Err(Error::OutOfMemory { limit: limits.max_memory });
                }
                // A RangeError from QuickJS's own stack check.
                if guest_error.name == "RangeError" && guest_error.message.contains("call stack") {
                    return Err(Error::StackOverflow);
                }
                if let Some((message, host_error)) = data.last_host_error.take() {
                    if guest_error.kind == 0 && guest_error.message == message {
                        return Err(host_error);
                    }
                }
                Err(data.shared.maps.apply(guest_error.into()))
            }
            Err(e) => Err(match e.downcast_ref::<Trap>() {
                Some(Trap::Interrupt) => Error::Timeout(limits.timeout.unwrap_or_default()),
                Some(Trap::OutOfFuel) => Error::FuelExhausted(limits.fuel.unwrap_or_default()),
                Some(Trap::StackOverflow) => Error::StackOverflow,
                _ if oom => Error::OutOfMemory { limit: limits.max_memory },
                _ => Error::Trap(format!("{e:#}")),
            }),
        }
    }
}

/// What a guest call answers with: JSON text, or the cells of
/// [`Runtime::call_columns`]; its size for the value limit and its
/// call-log form.
trait Answer {
    fn size(&self) -> usize;
    fn logged(&self) -> Cow<'_, str>;
}

impl Answer for String {
    fn size(&self) -> usize {
        self.len()
    }

    fn logged(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl Answer for Cells {
    fn size(&self) -> usize {
        self.byte_len()
    }

    fn logged(&self) -> Cow<'_, str> {
        Cow::Owned(format!(r#"{{"rows":{},"bytes":{}}}"#, self.len(), self.byte_len()))
    }
}

fn parse_json<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::InvalidValue(format!("result does not deserialize: {e}")))
}

fn args_json(args: impl Serialize, max: usize) -> Result<String> {
    let json = serde_json::to_string(&args).map_err(|e| Error::InvalidValue(format!("arguments: {e}")))?;
    if !json.starts_with('[') {
        return Err(Error::InvalidValue("arguments must serialize to a JSON array (use a tuple)".into()));
    }
    if json.len() > max {
        return Err(Error::TooLarge { what: "arguments", size: json.len(), limit: max });
    }
    Ok(json)
}

/// `Runtime` moves between threads; the factory is shared by them.
const _: () = {
    const fn send<T: Send>() {}
    send::<Runtime>();
};
