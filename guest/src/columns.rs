//! `call-columns`: one guest call evaluates a whole batch of rows. The
//! encoding (cells of a tag byte and a value, column after column) is
//! described in the host's `src/columns.rs`; this side decodes the
//! arguments row by row, calls the function, and encodes each result.

use javy::quickjs::function::Args;
use javy::quickjs::{CatchResultExt, Ctx, Function, Value};

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
    String(&'a str),
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

    fn text(&mut self) -> Result<&'a str, JsError> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| malformed("a string is not UTF-8"))
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
            STRING => Cell::String(self.text()?),
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

fn js_value<'js>(ctx: &Ctx<'js>, cell: Cell<'_>) -> Result<Value<'js>, JsError> {
    let invalid = |e: javy::quickjs::Error| error(ErrorKind::Invalid, e.to_string());
    Ok(match cell {
        Cell::Null => Value::new_null(ctx.clone()),
        Cell::Bool(b) => Value::new_bool(ctx.clone(), b),
        Cell::Number(n) => Value::new_number(ctx.clone(), n),
        Cell::String(s) => javy::quickjs::String::from_str(ctx.clone(), s).map_err(invalid)?.into_value(),
        Cell::Json(s) => ctx.json_parse(s).catch(ctx).map_err(|c| caught_to_error(ctx, c))?,
    })
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
    if let Some(s) = value.as_string() {
        match s.clone().to_cstring() {
            Ok(s) => put_text(out, STRING, s.as_str()),
            Err(e) => put_thrown(out, &error(ErrorKind::Invalid, e.to_string())),
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
    let invalid = |e: javy::quickjs::Error| error(ErrorKind::Invalid, e.to_string());
    let mut out = Vec::with_capacity((rows - start) * 16);
    for _ in start..rows {
        let mut args = Args::new(ctx.clone(), cursors.len());
        args.this(target.clone()).map_err(invalid)?;
        for c in cursors.iter_mut() {
            let cell = c.cell()?;
            args.push_arg(js_value(ctx, cell)?).map_err(invalid)?;
        }
        let called = f.call_arg::<Value>(args).catch(ctx).map_err(|c| caught_to_error(ctx, c));
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
