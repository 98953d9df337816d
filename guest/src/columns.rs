//! `call-columns`: one guest call evaluates a whole batch of rows. The
//! encoding (cells of a tag byte and a value, column after column) is
//! described in the host's `src/columns.rs`; this side decodes the
//! arguments row by row, calls the function, and encodes each result.
//!
//! The per-row path calls QuickJS's C API directly (`qjs`): through
//! rquickjs's wrappers each row took and dropped five or six context
//! references and validated and copied every string once more, which was
//! about a tenth of a batch's time for a small function.

use std::ffi::c_char;

use javy::quickjs::{qjs, CatchResultExt, Ctx, Error, Function, Value};

use crate::exports::jsbox::sandbox::guest::{ErrorKind, JsError};
use crate::{caught_to_error, error, event_loop};

const VERSION: u8 = 1;
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NUMBER: u8 = 3;
const STRING: u8 = 4;
const JSON: u8 = 5;
const THROWN: u8 = 6;
const PENDING: u8 = 7;

fn malformed(what: &str) -> JsError {
    error(ErrorKind::Invalid, format!("malformed columns: {what}"))
}

/// A cell of the arguments, borrowed from the buffer.
enum Cell<'a> {
    Null,
    Bool(bool),
    Number(f64),
    /// UTF-8, as the host writes it (QuickJS's decoder replaces anything
    /// malformed, so it is not validated again here).
    String(&'a [u8]),
    Json(&'a str),
}

/// Reads one column's cells in order.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], JsError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| malformed("cut short"))?;
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32, JsError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], JsError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn text(&mut self) -> Result<&'a str, JsError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| malformed("a string is not UTF-8"))
    }

    fn cell(&mut self) -> Result<Cell<'a>, JsError> {
        Ok(match self.take(1)?[0] {
            NULL => Cell::Null,
            FALSE => Cell::Bool(false),
            TRUE => Cell::Bool(true),
            NUMBER => {
                let b = self.take(8)?;
                Cell::Number(f64::from_le_bytes(b.try_into().map_err(|_| malformed("a number"))?))
            }
            STRING => Cell::String(self.bytes()?),
            JSON => Cell::Json(self.text()?),
            _ => return Err(malformed("an unknown tag")),
        })
    }
}

/// The columns' cursors, each at its first row.
fn columns(buf: &[u8]) -> Result<(usize, Vec<Cursor<'_>>), JsError> {
    let mut header = Cursor { buf, at: 0 };
    if header.take(1)?[0] != VERSION {
        return Err(malformed("unknown version"));
    }
    let rows = header.u32()? as usize;
    let count = header.u32()? as usize;
    let mut cursors = Vec::with_capacity(count.min(1024));
    let mut at = header.at;
    for _ in 0..count {
        let mut c = Cursor { buf, at };
        // Skip to the next column: its start is where this one's rows end.
        for _ in 0..rows {
            c.cell()?;
        }
        cursors.push(Cursor { buf, at });
        at = c.at;
    }
    Ok((rows, cursors))
}

/// A cell as an owned raw QuickJS value (freed by [`RawArgs`]).
fn raw_value<'js>(ctx: &Ctx<'js>, cell: Cell<'_>) -> Result<qjs::JSValue, JsError> {
    let value = match cell {
        Cell::String(s) => {
            // SAFETY: the context is live and `s` is a valid slice.
            let v = unsafe { qjs::JS_NewStringLen(ctx.as_raw().as_ptr(), s.as_ptr().cast::<c_char>(), s.len() as _) };
            if unsafe { qjs::JS_IsException(v) } {
                return Err(caught_to_error(ctx, Err::<(), _>(Error::Exception).catch(ctx).unwrap_err()));
            }
            return Ok(v);
        }
        Cell::Null => Value::new_null(ctx.clone()),
        Cell::Bool(b) => Value::new_bool(ctx.clone(), b),
        Cell::Number(n) => Value::new_number(ctx.clone(), n),
        Cell::Json(s) => ctx.json_parse(s).catch(ctx).map_err(|c| caught_to_error(ctx, c))?,
    };
    // SAFETY: a new reference for the caller; `value`'s own is dropped.
    Ok(unsafe { qjs::JS_DupValue(ctx.as_raw().as_ptr(), value.as_raw()) })
}

/// One row's arguments, owned; freed when cleared or dropped (so a cell
/// that fails to decode does not leak the ones before it).
struct RawArgs {
    ctx: *mut qjs::JSContext,
    values: Vec<qjs::JSValue>,
}

impl RawArgs {
    fn clear(&mut self) {
        for v in self.values.drain(..) {
            // SAFETY: each value is an owned reference made by `raw_value`.
            unsafe { qjs::JS_FreeValue(self.ctx, v) };
        }
    }
}

impl Drop for RawArgs {
    fn drop(&mut self) {
        self.clear();
    }
}

fn put_text(out: &mut Vec<u8>, tag: u8, s: &str) {
    out.push(tag);
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_thrown(out: &mut Vec<u8>, e: &JsError) {
    let text = match (e.name.is_empty(), e.message.is_empty()) {
        (true, _) => e.message.clone(),
        (false, true) => e.name.clone(),
        (false, false) => format!("{}: {}", e.name, e.message),
    };
    put_text(out, THROWN, &text);
}

/// Encodes a row's result as a cell.
fn put_value<'js>(ctx: &Ctx<'js>, out: &mut Vec<u8>, value: Value<'js>) {
    if value.is_string() {
        let raw = ctx.as_raw().as_ptr();
        let mut len = 0;
        // SAFETY: `value` is a live string of this context; the UTF-8 copy
        // QuickJS makes is read once and freed.
        let ptr = unsafe { qjs::JS_ToCStringLen2(raw, &mut len, value.as_raw(), false) };
        if ptr.is_null() {
            put_thrown(out, &error(ErrorKind::Invalid, "a result string could not be encoded"));
        } else {
            let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize) };
            out.push(STRING);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
            unsafe { qjs::JS_FreeCString(raw, ptr) };
        }
    } else if let Some(i) = value.as_int() {
        out.push(NUMBER);
        out.extend_from_slice(&f64::from(i).to_le_bytes());
    } else if let Some(n) = value.as_float() {
        out.push(NUMBER);
        out.extend_from_slice(&n.to_le_bytes());
    } else if let Some(b) = value.as_bool() {
        out.push(if b { TRUE } else { FALSE });
    } else if value.is_null() || value.is_undefined() {
        out.push(NULL);
    } else {
        match crate::to_json(ctx, value) {
            Ok(json) => put_text(out, JSON, &json),
            Err(e) => put_thrown(out, &e),
        }
    }
}

/// Calls `f` (with `this` = `target`) for the rows from `start`, one
/// result cell per row; stops after a row whose promise is pending.
pub(crate) fn call_rows<'js>(
    ctx: &Ctx<'js>,
    target: Value<'js>,
    f: Function<'js>,
    buf: &[u8],
    start: u32,
) -> Result<Vec<u8>, JsError> {
    let (rows, mut cursors) = columns(buf)?;
    let start = start as usize;
    if start > rows {
        return Err(malformed("start is past the last row"));
    }
    for c in cursors.iter_mut() {
        for _ in 0..start {
            c.cell()?;
        }
    }
    let raw = ctx.as_raw().as_ptr();
    let mut args = RawArgs { ctx: raw, values: Vec::with_capacity(cursors.len()) };
    let mut out = Vec::with_capacity((rows - start) * 16);
    for _ in start..rows {
        args.clear();
        for c in cursors.iter_mut() {
            let cell = c.cell()?;
            args.values.push(raw_value(ctx, cell)?);
        }
        // SAFETY: `f`, `target` and the arguments are live values of this
        // context; JS_Call borrows them and returns a new reference.
        let ret = unsafe {
            qjs::JS_Call(raw, f.as_value().as_raw(), target.as_raw(), args.values.len() as _, args.values.as_mut_ptr())
        };
        let called = if unsafe { qjs::JS_IsException(ret) } {
            Err(Error::Exception)
        } else {
            Ok(unsafe { Value::from_raw(ctx.clone(), ret) })
        };
        let called = called.catch(ctx).map_err(|c| caught_to_error(ctx, c));
        match called.and_then(|v| event_loop::settle(ctx, v)) {
            Ok(value) => put_value(ctx, &mut out, value),
            Err(e) if e.kind == ErrorKind::Pending => {
                out.push(PENDING);
                return Ok(out);
            }
            Err(e) => put_thrown(&mut out, &e),
        }
    }
    Ok(out)
}
