//! The host's side of the canonical ABI of `wit/jsbox.wit`.
//!
//! The guest is a core module whose imports and exports follow the
//! canonical ABI of the `sandbox` world (the `wit_contract` test checks it).
//! This file lowers host values into guest memory, calls the guest's exports
//! and lifts what comes back. Everything read from guest memory is untrusted:
//! decoding checks every bound and every discriminant and never panics (the
//! `decode` fuzz target drives [`decode_result`]).

use wasmtime::{AsContextMut, ExternType, Func, Instance, Memory, Module, ModuleExport, Store, ValRaw, ValType};

use crate::error::{DenyReason, Error, JsException, Location, Result};

/// Export names of the `guest` interface.
pub(crate) mod names {
    pub const HOST_INTERFACE: &str = "jsbox:sandbox/host@0.1.0";
    pub const REALLOC: &str = "cabi_realloc";
    pub const MEMORY: &str = "memory";
    pub const INIT: &str = "jsbox:sandbox/guest@0.1.0#init";
    pub const EVAL: &str = "jsbox:sandbox/guest@0.1.0#eval";
    pub const CALL: &str = "jsbox:sandbox/guest@0.1.0#call";
    pub const CALL_COLUMNS: &str = "jsbox:sandbox/guest@0.1.0#call-columns";
    pub const REQUIRE: &str = "jsbox:sandbox/guest@0.1.0#require";
    pub const RUN_LOOP: &str = "jsbox:sandbox/guest@0.1.0#run-loop";
    pub const POST_PREFIX: &str = "cabi_post_";
}

/// Pre-resolved export indices: looking exports up by index is much cheaper
/// than by name on every spawn. Their signatures are checked once, here,
/// which is what makes the unchecked calls of [`GuestFunc`] sound.
#[derive(Clone)]
pub(crate) struct ExportIndex {
    memory: ModuleExport,
    realloc: ModuleExport,
    init: Option<(ModuleExport, ModuleExport)>,
    eval: (ModuleExport, ModuleExport),
    call: (ModuleExport, ModuleExport),
    call_columns: (ModuleExport, ModuleExport),
    require: (ModuleExport, ModuleExport),
    run_loop: (ModuleExport, ModuleExport),
}

fn export(module: &Module, name: &str, params: usize, results: usize) -> Result<ModuleExport> {
    let bad = |why: &str| Error::Engine(format!("the guest's export `{name}` {why}"));
    match module.get_export(name) {
        Some(ExternType::Func(ty)) => {
            let all_i32 = ty.params().chain(ty.results()).all(|t| matches!(t, ValType::I32));
            if ty.params().len() != params || ty.results().len() != results || !all_i32 {
                return Err(bad(&format!("has the wrong signature ({ty:?})")));
            }
        }
        Some(ExternType::Memory(_)) if name == names::MEMORY => {}
        Some(_) => return Err(bad("has the wrong kind")),
        None => return Err(bad("is missing")),
    }
    module.get_export_index(name).ok_or_else(|| bad("is missing"))
}

/// An export returning through memory, and its post-return function.
fn with_post(module: &Module, name: &str, params: usize) -> Result<(ModuleExport, ModuleExport)> {
    Ok((export(module, name, params, 1)?, export(module, &format!("{}{name}", names::POST_PREFIX), 1, 0)?))
}

impl ExportIndex {
    pub(crate) fn new(module: &Module) -> Result<Self> {
        Ok(ExportIndex {
            memory: export(module, names::MEMORY, 0, 0)?,
            realloc: export(module, names::REALLOC, 4, 1)?,
            // A snapshot no longer exports `init` (Wizer removes it).
            init: with_post(module, names::INIT, 2).ok(),
            eval: with_post(module, names::EVAL, 4)?,
            call: with_post(module, names::CALL, 7)?,
            call_columns: with_post(module, names::CALL_COLUMNS, 8)?,
            require: with_post(module, names::REQUIRE, 2)?,
            run_loop: with_post(module, names::RUN_LOOP, 0)?,
        })
    }
}

/// The most parameters a guest export takes (`call-columns`: two strings,
/// a flag, a byte list and a row).
const MAX_PARAMS: usize = 8;

/// A guest export or `cabi_realloc`, called through wasmtime's untyped entry
/// with raw values. Every one takes only `i32`s and returns at most one
/// `i32`, as [`ExportIndex::new`] checks once per factory. (A `TypedFunc`
/// would root the function's type in the engine's type registry when made,
/// and again on every clone: a lock and reference counts that every thread
/// making runtimes writes to.)
#[derive(Clone, Copy)]
pub(crate) struct GuestFunc(Func);

impl GuestFunc {
    /// # Safety
    ///
    /// `func` is an export of the factory's guest module whose signature
    /// [`ExportIndex::new`] checked: `i32` parameters, at most one `i32`
    /// result. Callers pass exactly that many arguments.
    pub(crate) unsafe fn new(func: Func) -> Self {
        GuestFunc(func)
    }

    /// Calls the export; its result, or 0 when it has none.
    pub(crate) fn call(self, mut store: impl AsContextMut, args: &[i32]) -> wasmtime::Result<i32> {
        let mut vals = [ValRaw::i32(0); MAX_PARAMS];
        for (val, &arg) in vals.iter_mut().zip(args) {
            *val = ValRaw::i32(arg);
        }
        // SAFETY: the signature is `args.len()` i32s to at most one i32
        // (`new`'s contract); `vals` holds every parameter and the result,
        // and holds no references.
        unsafe { self.0.call_unchecked(&mut store, &mut vals as *mut [ValRaw]) }?;
        Ok(vals[0].get_i32())
    }
}

/// An export returning through memory, and its post-return function.
type Export = (GuestFunc, GuestFunc);

/// The guest's exports in one instance. Only the memory is looked up at
/// spawn; functions are looked up on first use (most runtimes use one or
/// two of them).
pub(crate) struct GuestExports {
    instance: Instance,
    index: ExportIndex,
    pub(crate) memory: Memory,
    realloc: Option<GuestFunc>,
    init: Option<Export>,
    eval: Option<Export>,
    call: Option<Export>,
    call_columns: Option<Export>,
    require: Option<Export>,
    run_loop: Option<Export>,
}

/// An export whose signature [`ExportIndex::new`] checked.
fn func<T>(store: &mut Store<T>, instance: &Instance, index: &ModuleExport) -> wasmtime::Result<GuestFunc> {
    let func = instance
        .get_module_export(&mut *store, index)
        .and_then(|e| e.into_func())
        .ok_or_else(|| wasmtime::format_err!("a guest export is not a function"))?;
    // SAFETY: the factory built its ExportIndex, checking this export's
    // signature, from this very module.
    Ok(unsafe { GuestFunc::new(func) })
}

fn pair<T>(
    store: &mut Store<T>,
    instance: &Instance,
    index: &(ModuleExport, ModuleExport),
) -> wasmtime::Result<Export> {
    Ok((func(store, instance, &index.0)?, func(store, instance, &index.1)?))
}

/// An export looked up on first use, then kept.
fn lazy<F: Copy>(slot: &mut Option<F>, look_up: impl FnOnce() -> wasmtime::Result<F>) -> wasmtime::Result<F> {
    if let Some(f) = *slot {
        return Ok(f);
    }
    let f = look_up()?;
    *slot = Some(f);
    Ok(f)
}

impl GuestExports {
    pub(crate) fn resolve<T>(store: &mut Store<T>, instance: &Instance, index: &ExportIndex) -> Result<Self> {
        let memory = instance
            .get_module_export(&mut *store, &index.memory)
            .and_then(|e| e.into_memory())
            .ok_or_else(|| Error::Engine("the guest exports no memory".into()))?;
        Ok(GuestExports {
            instance: *instance,
            index: index.clone(),
            memory,
            realloc: None,
            init: None,
            eval: None,
            call: None,
            call_columns: None,
            require: None,
            run_loop: None,
        })
    }
}

/// Copies `s` into a fresh guest allocation (the guest takes ownership).
pub(crate) fn lower_str(
    store: impl AsContextMut,
    realloc: GuestFunc,
    memory: &Memory,
    s: &str,
) -> wasmtime::Result<(i32, i32)> {
    lower_bytes(store, realloc, memory, s.as_bytes())
}

/// Copies `bytes` (a `string` or a `list<u8>`) into a fresh guest
/// allocation (the guest takes ownership).
fn lower_bytes(mut store: impl AsContextMut, realloc: GuestFunc, memory: &Memory, bytes: &[u8]) -> wasmtime::Result<(i32, i32)> {
    let len = i32::try_from(bytes.len()).map_err(|_| wasmtime::format_err!("value over 2 GiB"))?;
    if len == 0 {
        return Ok((1, 0));
    }
    let ptr = realloc.call(&mut store, &[0, 0, 1, len])?;
    memory.write(&mut store, ptr as u32 as usize, bytes)?;
    Ok((ptr, len))
}

/// Reads a UTF-8 string the guest handed over; every bound is checked.
pub(crate) fn lift_str(mem: &[u8], ptr: u32, len: u32) -> Result<String, String> {
    str_at(mem, ptr, len).map(str::to_owned)
}

/// A UTF-8 string in guest memory, borrowed in place (no copy); every
/// bound is checked.
pub(crate) fn str_at(mem: &[u8], ptr: u32, len: u32) -> Result<&str, String> {
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .filter(|&end| end <= mem.len())
        .ok_or_else(|| format!("string at {ptr}+{len} is outside guest memory"))?;
    std::str::from_utf8(&mem[start..end]).map_err(|e| format!("guest string is not UTF-8: {e}"))
}

fn load_u32(mem: &[u8], at: usize) -> Result<u32, String> {
    mem.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("read at {at} is outside guest memory"))
}

fn load_u8(mem: &[u8], at: usize) -> Result<u8, String> {
    mem.get(at).copied().ok_or_else(|| format!("read at {at} is outside guest memory"))
}

fn load_str(mem: &[u8], at: usize) -> Result<String, String> {
    lift_str(mem, load_u32(mem, at)?, load_u32(mem, at + 4)?)
}

/// The `error-kind` that is no error: the result is a pending promise the
/// guest keeps for `run-loop`.
pub(crate) const PENDING: u8 = 6;

/// A `js-error` record as the guest sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestError {
    pub kind: u8,
    pub name: String,
    pub message: String,
    pub stack: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub module: String,
}

impl From<GuestError> for Error {
    fn from(e: GuestError) -> Self {
        let location = Location { file: e.file, line: e.line, column: e.column };
        match e.kind {
            0 => Error::Exception(Box::new(JsException {
                name: e.name,
                message: e.message,
                stack: e.stack,
                location,
            })),
            1 => Error::Syntax { message: e.message, location },
            2 => Error::ModuleNotFound(e.message),
            3 => Error::ModuleDenied { module: e.module, reason: DenyReason::Policy },
            4 => Error::ModuleDenied { module: e.module, reason: DenyReason::NotGranted },
            _ => Error::InvalidValue(e.message),
        }
    }
}

/// The offset of each field of a `js-error` record (canonical ABI: `u8`
/// then strings and `u32`s, 4-aligned); `tests/wit_contract.rs` checks
/// them against `wit-parser`'s layout of the WIT record.
pub(crate) const JS_ERROR_FIELDS: [(&str, usize); 8] =
    [("kind", 0), ("name", 4), ("message", 12), ("stack", 20), ("file", 28), ("line", 36), ("column", 40), ("module", 44)];

/// Decodes a `js-error` record at `at` (layout: [`JS_ERROR_FIELDS`]).
fn decode_error(mem: &[u8], at: usize) -> Result<GuestError, String> {
    let [kind, name, message, stack, file, line, column, module] = JS_ERROR_FIELDS.map(|(_, offset)| at + offset);
    let kind = load_u8(mem, kind)?;
    if kind > PENDING {
        return Err(format!("unknown error kind {kind}"));
    }
    Ok(GuestError {
        kind,
        name: load_str(mem, name)?,
        message: load_str(mem, message)?,
        stack: load_str(mem, stack)?,
        file: load_str(mem, file)?,
        line: load_u32(mem, line)?,
        column: load_u32(mem, column)?,
        module: load_str(mem, module)?,
    })
}

/// Decodes a `result<string, js-error>` (or `result<_, js-error>` when
/// `ok_has_string` is false) at `retptr`.
///
/// Layout (canonical ABI, 4-byte aligned): a `u8` discriminant at 0, then
/// the payload at 4: `ok` is `(ptr, len)`; `err` is the `js-error` record.
pub(crate) fn decode_result(mem: &[u8], retptr: u32, ok_has_string: bool) -> Result<Result<String, GuestError>, String> {
    decode_result_with(mem, retptr, |mem, at| if ok_has_string { load_str(mem, at) } else { Ok(String::new()) })
}

/// Decodes a `result<list<u8>, js-error>` at `retptr` (laid out as a
/// `result<string, js-error>`, with no UTF-8 check).
pub(crate) fn decode_bytes_result(mem: &[u8], retptr: u32) -> Result<Result<Vec<u8>, GuestError>, String> {
    decode_result_with(mem, retptr, |mem, at| {
        let (ptr, len) = (load_u32(mem, at)? as usize, load_u32(mem, at + 4)? as usize);
        ptr.checked_add(len)
            .and_then(|end| mem.get(ptr..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("list at {ptr}+{len} is outside guest memory"))
    })
}

fn decode_result_with<T>(
    mem: &[u8],
    retptr: u32,
    ok: impl FnOnce(&[u8], usize) -> Result<T, String>,
) -> Result<Result<T, GuestError>, String> {
    let base = retptr as usize;
    if !base.is_multiple_of(4) {
        return Err(format!("misaligned return area {retptr}"));
    }
    match load_u8(mem, base)? {
        0 => Ok(Ok(ok(mem, base + 4)?)),
        1 => Ok(Err(decode_error(mem, base + 4)?)),
        d => Err(format!("invalid result discriminant {d}")),
    }
}

/// The guest's `loop-state`: where the awaited promise stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LoopState {
    /// It resolved: the JSON text of its value.
    Done(String),
    /// Still pending: the next timer's due time (ms on the loop clock) and
    /// whether a timer keeps the loop alive.
    Waiting { next_timer: Option<f64>, keep_alive: bool },
}

fn load_bool(mem: &[u8], at: usize) -> Result<bool, String> {
    match load_u8(mem, at)? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(format!("invalid bool {b}")),
    }
}

/// Decodes a `result<loop-state, js-error>` at `retptr`.
///
/// Layout (8-byte aligned, because of the `f64`): the result's tag at 0 and
/// its payload at 8. `ok`: the `loop-state` tag at 8, its payload at 16:
/// `done` is `(ptr, len)`; `waiting` is `{next-timer: option<f64> (tag @16,
/// value @24), keep-alive: bool @32}`. `err`: the `js-error` record at 8.
pub(crate) fn decode_loop_state(mem: &[u8], retptr: u32) -> Result<Result<LoopState, GuestError>, String> {
    let base = retptr as usize;
    if !base.is_multiple_of(8) {
        return Err(format!("misaligned return area {retptr}"));
    }
    match load_u8(mem, base)? {
        0 => match load_u8(mem, base + 8)? {
            0 => Ok(Ok(LoopState::Done(load_str(mem, base + 16)?))),
            1 => {
                let next_timer = match load_u8(mem, base + 16)? {
                    0 => None,
                    1 => {
                        let lo = u64::from(load_u32(mem, base + 24)?);
                        let hi = u64::from(load_u32(mem, base + 28)?);
                        Some(f64::from_bits(hi << 32 | lo))
                    }
                    d => return Err(format!("invalid option discriminant {d}")),
                };
                Ok(Ok(LoopState::Waiting { next_timer, keep_alive: load_bool(mem, base + 32)? }))
            }
            d => Err(format!("invalid loop-state discriminant {d}")),
        },
        1 => Ok(Err(decode_error(mem, base + 8)?)),
        d => Err(format!("invalid result discriminant {d}")),
    }
}

/// What a guest export call produced: the guest's own answer, or a wasmtime
/// error (trap, limit) that the runtime turns into a typed [`Error`].
pub(crate) type CallOutcome = wasmtime::Result<Result<String, GuestError>>;

fn finish<T>(
    store: &mut Store<T>,
    memory: &Memory,
    post: GuestFunc,
    retptr: i32,
    ok_has_string: bool,
) -> CallOutcome {
    let decoded = decode_result(memory.data(&*store), retptr as u32, ok_has_string)
        .map_err(|e| wasmtime::format_err!("malformed answer from the guest: {e}"))?;
    post.call(&mut *store, &[retptr])?;
    Ok(decoded)
}

impl GuestExports {
    /// `cabi_realloc`, looked up on first use.
    fn realloc<T>(&mut self, store: &mut Store<T>) -> wasmtime::Result<GuestFunc> {
        lazy(&mut self.realloc, || func(store, &self.instance, &self.index.realloc))
    }

    /// `init(registry-json)`; only on an un-snapshotted guest.
    pub(crate) fn init<T>(&mut self, store: &mut Store<T>, registry_json: &str) -> CallOutcome {
        let Some(index) = self.index.init else {
            return Err(wasmtime::format_err!("this guest is already initialised (a snapshot)"));
        };
        let (init, post) = match self.init {
            Some(f) => f,
            None => pair(store, &self.instance, &index)?,
        };
        let realloc = self.realloc(store)?;
        let (p, l) = lower_str(&mut *store, realloc, &self.memory, registry_json)?;
        let retptr = init.call(&mut *store, &[p, l])?;
        finish(store, &self.memory, post, retptr, false)
    }

    pub(crate) fn eval<T>(&mut self, store: &mut Store<T>, source: &str, filename: &str) -> CallOutcome {
        let (eval, post) = lazy(&mut self.eval, || pair(store, &self.instance, &self.index.eval))?;
        let realloc = self.realloc(store)?;
        let (sp, sl) = lower_str(&mut *store, realloc, &self.memory, source)?;
        let (fp, fl) = lower_str(&mut *store, realloc, &self.memory, filename)?;
        let retptr = eval.call(&mut *store, &[sp, sl, fp, fl])?;
        finish(store, &self.memory, post, retptr, true)
    }

    pub(crate) fn call<T>(
        &mut self,
        store: &mut Store<T>,
        module: Option<&str>,
        function: &str,
        args_json: &str,
    ) -> CallOutcome {
        let (call, post) = lazy(&mut self.call, || pair(store, &self.instance, &self.index.call))?;
        let realloc = self.realloc(store)?;
        let (some, mp, ml) = self.lower_module(store, realloc, module)?;
        let (fp, fl) = lower_str(&mut *store, realloc, &self.memory, function)?;
        let (ap, al) = lower_str(&mut *store, realloc, &self.memory, args_json)?;
        let retptr = call.call(&mut *store, &[some, mp, ml, fp, fl, ap, al])?;
        finish(store, &self.memory, post, retptr, true)
    }

    /// `call-columns(module, function, columns, start)`: the cells of the
    /// rows from `start` (see [`crate::columns`]).
    pub(crate) fn call_columns<T>(
        &mut self,
        store: &mut Store<T>,
        module: Option<&str>,
        function: &str,
        columns: &[u8],
        start: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, GuestError>> {
        let (call, post) = lazy(&mut self.call_columns, || pair(store, &self.instance, &self.index.call_columns))?;
        let realloc = self.realloc(store)?;
        let (some, mp, ml) = self.lower_module(store, realloc, module)?;
        let (fp, fl) = lower_str(&mut *store, realloc, &self.memory, function)?;
        let (cp, cl) = lower_bytes(&mut *store, realloc, &self.memory, columns)?;
        let retptr = call.call(&mut *store, &[some, mp, ml, fp, fl, cp, cl, start as i32])?;
        let decoded = decode_bytes_result(self.memory.data(&*store), retptr as u32)
            .map_err(|e| wasmtime::format_err!("malformed answer from the guest: {e}"))?;
        post.call(&mut *store, &[retptr])?;
        Ok(decoded)
    }

    /// An `option<string>` module name, lowered.
    fn lower_module<T>(&self, store: &mut Store<T>, realloc: GuestFunc, module: Option<&str>) -> wasmtime::Result<(i32, i32, i32)> {
        Ok(match module {
            Some(m) => {
                let (p, l) = lower_str(&mut *store, realloc, &self.memory, m)?;
                (1, p, l)
            }
            None => (0, 0, 0),
        })
    }

    /// `run-loop()`: one turn of the guest's event loop.
    pub(crate) fn run_loop<T>(&mut self, store: &mut Store<T>) -> wasmtime::Result<Result<LoopState, GuestError>> {
        let (run_loop, post) = lazy(&mut self.run_loop, || pair(store, &self.instance, &self.index.run_loop))?;
        let retptr = run_loop.call(&mut *store, &[])?;
        let decoded = decode_loop_state(self.memory.data(&*store), retptr as u32)
            .map_err(|e| wasmtime::format_err!("malformed answer from the guest: {e}"))?;
        post.call(&mut *store, &[retptr])?;
        Ok(decoded)
    }

    pub(crate) fn require<T>(&mut self, store: &mut Store<T>, name: &str) -> CallOutcome {
        let (require, post) = lazy(&mut self.require, || pair(store, &self.instance, &self.index.require))?;
        let realloc = self.realloc(store)?;
        let (p, l) = lower_str(&mut *store, realloc, &self.memory, name)?;
        let retptr = require.call(&mut *store, &[p, l])?;
        finish(store, &self.memory, post, retptr, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_str(mem: &mut Vec<u8>, at: usize, s: &str) {
        let ptr = mem.len() as u32;
        mem.extend_from_slice(s.as_bytes());
        mem[at..at + 4].copy_from_slice(&ptr.to_le_bytes());
        mem[at + 4..at + 8].copy_from_slice(&(s.len() as u32).to_le_bytes());
    }

    #[test]
    fn decodes_ok_and_err() {
        let mut mem = vec![0u8; 64];
        put_str(&mut mem, 4, "42");
        assert_eq!(decode_result(&mem, 0, true).unwrap(), Ok("42".to_string()));

        let mut mem = vec![0u8; 64];
        mem[0] = 1;
        mem[4] = 1;
        put_str(&mut mem, 8, "SyntaxError");
        put_str(&mut mem, 16, "unexpected token");
        put_str(&mut mem, 24, "");
        put_str(&mut mem, 32, "a.js");
        mem[40] = 3;
        mem[44] = 7;
        let err = decode_result(&mem, 0, true).unwrap().unwrap_err();
        assert_eq!((err.kind, err.file.as_str(), err.line, err.column), (1, "a.js", 3, 7));
    }

    #[test]
    fn rejects_out_of_bounds_and_bad_tags() {
        let mut mem = vec![0u8; 16];
        mem[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        mem[8..12].copy_from_slice(&8u32.to_le_bytes());
        assert!(decode_result(&mem, 0, true).is_err());
        mem[0] = 7;
        assert!(decode_result(&mem, 0, true).is_err());
        assert!(decode_result(&mem, 2, true).is_err());
        assert!(decode_result(&mem, 4096, true).is_err());
        assert!(lift_str(&[0xff, 0xfe], 0, 2).is_err());
    }

    #[test]
    fn decodes_loop_states() {
        let mut mem = vec![0u8; 64];
        mem[8] = 1;
        mem[16] = 1;
        mem[24..32].copy_from_slice(&12.5f64.to_bits().to_le_bytes());
        mem[32] = 1;
        let want = LoopState::Waiting { next_timer: Some(12.5), keep_alive: true };
        assert_eq!(decode_loop_state(&mem, 0).unwrap(), Ok(want));
        mem[16] = 0;
        mem[32] = 0;
        let want = LoopState::Waiting { next_timer: None, keep_alive: false };
        assert_eq!(decode_loop_state(&mem, 0).unwrap(), Ok(want));

        let mut mem = vec![0u8; 64];
        put_str(&mut mem, 16, "[1]");
        assert_eq!(decode_loop_state(&mem, 0).unwrap(), Ok(LoopState::Done("[1]".into())));

        let mut mem = vec![0u8; 64];
        mem[0] = 1;
        for at in [12, 20, 28, 36] {
            put_str(&mut mem, at, "");
        }
        mem[44] = 9;
        assert_eq!(decode_loop_state(&mem, 0).unwrap().unwrap_err().line, 9);

        let mut mem = vec![0u8; 64];
        mem[8] = 1;
        mem[32] = 2;
        assert!(decode_loop_state(&mem, 0).is_err());
        assert!(decode_loop_state(&mem, 4).is_err());
        assert!(decode_loop_state(&[0u8; 8], 0).is_err());
    }
}
