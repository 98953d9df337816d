//! Columns of arguments in, one result per row out: the binary encoding of
//! [`crate::Runtime::call_columns`], one guest call for a whole batch of
//! rows (the wit `call-columns` export).
//!
//! Both directions are sequences of *cells*, one byte of tag and then the
//! value, little-endian:
//!
//! | tag | cell | value |
//! |-----|------|-------|
//! | 0 | null (`null`; `undefined` results too) | |
//! | 1 | `false` | |
//! | 2 | `true` | |
//! | 3 | number | `f64` |
//! | 4 | string | `u32` byte length, UTF-8 bytes |
//! | 5 | JSON (arrays, objects) | `u32` byte length, UTF-8 JSON text |
//! | 6 | thrown (results only) | `u32` byte length, `Name: message` |
//! | 7 | pending promise (results only, last cell of a guest answer) | |
//!
//! The arguments are a header (`u8` version 1, `u32` rows, `u32` columns)
//! and then the columns one after another, each `rows` cells. The guest
//! calls the function once per row with that row's cell of every column as
//! positional arguments, and answers with one cell per row. A row that
//! throws is a *thrown* cell and the next rows still run. A row whose
//! result is a promise that is still pending after its microtasks ends the
//! guest's answer with a *pending* cell; the host drives the event loop
//! until it settles (as [`crate::Runtime::call`] does), puts its value in
//! the row's place, and calls the guest again from the next row. So every
//! row is called exactly once, in order, in the runtime's one set of JS
//! globals.

use crate::error::{Error, Result};

pub(crate) const VERSION: u8 = 1;
/// Version, rows, columns.
const HEADER: usize = 9;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NUMBER: u8 = 3;
const STRING: u8 = 4;
const JSON: u8 = 5;
const THROWN: u8 = 6;
pub(crate) const PENDING: u8 = 7;

/// The arguments of a [`crate::Runtime::call_columns`] call: `columns`
/// columns of `rows` values each, pushed column by column (all the rows of
/// the first column, then of the second, ...).
///
/// # Examples
///
/// ```
/// let mut args = jsbox::Columns::new(2, 2);
/// args.push_str("a");
/// args.push_null();
/// args.push_number(1.0);
/// args.push_number(2.5);
/// assert!(args.is_complete());
/// ```
#[derive(Debug, Clone)]
pub struct Columns {
    buf: Vec<u8>,
    rows: usize,
    columns: usize,
    cells: usize,
}

impl Columns {
    /// Room for `columns` columns of `rows` values.
    pub fn new(rows: usize, columns: usize) -> Self {
        // A guess (a small string per cell), capped: the buffer grows as needed.
        let mut buf = Vec::with_capacity(HEADER + rows.saturating_mul(columns).saturating_mul(16).min(1 << 24));
        buf.push(VERSION);
        // Counts over u32::MAX are caught by `Runtime::call_columns`.
        buf.extend_from_slice(&(rows as u32).to_le_bytes());
        buf.extend_from_slice(&(columns as u32).to_le_bytes());
        Columns { buf, rows, columns, cells: 0 }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Whether every cell has been pushed (`rows * columns`).
    pub fn is_complete(&self) -> bool {
        self.cells == self.rows * self.columns
    }

    /// The encoded size in bytes (what [`crate::Limits::max_value_bytes`]
    /// caps).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The encoded arguments.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    fn tag(&mut self, tag: u8) {
        self.buf.push(tag);
        self.cells += 1;
    }

    fn text(&mut self, tag: u8, s: &str) {
        self.cells += 1;
        // A string over 4 GiB is over every value limit: its length is
        // saturated there and the call refused by the size check.
        put_text(&mut self.buf, tag, s);
    }

    /// Pushes `null`.
    pub fn push_null(&mut self) {
        self.tag(NULL);
    }

    /// Pushes a boolean.
    pub fn push_bool(&mut self, b: bool) {
        self.tag(if b { TRUE } else { FALSE });
    }

    /// Pushes a number.
    pub fn push_number(&mut self, n: f64) {
        self.tag(NUMBER);
        self.buf.extend_from_slice(&n.to_le_bytes());
    }

    /// Pushes a string.
    pub fn push_str(&mut self, s: &str) {
        self.text(STRING, s);
    }

    /// Pushes a value given as JSON text (an array or an object, usually),
    /// which the guest parses. Text that does not parse fails the call.
    pub fn push_json(&mut self, json: &str) {
        self.text(JSON, json);
    }

    /// Checks the arguments are whole and fit the guest's counts.
    pub(crate) fn check(&self) -> Result<()> {
        if !self.is_complete() {
            return Err(Error::InvalidValue(format!(
                "{} cells pushed for {} rows of {} columns",
                self.cells, self.rows, self.columns
            )));
        }
        if u32::try_from(self.rows).is_err() || u32::try_from(self.columns).is_err() {
            return Err(Error::InvalidValue("over u32::MAX rows or columns".into()));
        }
        Ok(())
    }
}

/// One row's result of a [`crate::Runtime::call_columns`] call, borrowed
/// from [`Cells`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// `null` or `undefined`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(&'a str),
    /// Any other value, as its JSON text (arrays, objects).
    Json(&'a str),
    /// The row's call threw (or its promise rejected): `Name: message`,
    /// or the thrown value as text. The other rows are unaffected.
    Thrown(&'a str),
}

/// The results of a [`crate::Runtime::call_columns`] call: one [`Cell`]
/// per row, in row order. The guest's answer was checked whole when the
/// call returned.
#[derive(Debug, Clone, Default)]
pub struct Cells {
    buf: Vec<u8>,
    rows: usize,
}

impl Cells {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The encoded size in bytes.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The rows' results, in order.
    pub fn iter(&self) -> impl Iterator<Item = Cell<'_>> + '_ {
        let mut at = 0;
        // `new` checked every cell, so decoding stops only at the end.
        std::iter::from_fn(move || {
            let (cell, next) = decode(&self.buf, at).ok()??;
            at = next;
            Some(cell)
        })
    }

    pub(crate) fn new(buf: Vec<u8>, rows: usize) -> Self {
        Cells { buf, rows }
    }
}

/// What one guest answer holds: how many cells, and whether its last is a
/// pending promise.
pub(crate) struct Scan {
    pub cells: usize,
    pub pending: bool,
}

/// Checks a guest answer cell by cell (it is untrusted: every bound,
/// every tag and every string's UTF-8 is checked).
pub(crate) fn scan(buf: &[u8]) -> std::result::Result<Scan, String> {
    let mut at = 0;
    let mut cells = 0;
    while at < buf.len() {
        if buf[at] == PENDING {
            if at + 1 != buf.len() {
                return Err(format!("a pending cell at byte {at} is not the last"));
            }
            return Ok(Scan { cells: cells + 1, pending: true });
        }
        match decode(buf, at)? {
            Some((_, next)) => at = next,
            None => break,
        }
        cells += 1;
    }
    Ok(Scan { cells, pending: false })
}

/// Appends a settled promise's value (its JSON text, from the guest's
/// event loop) as the cell the guest would have made of the value itself.
pub(crate) fn push_settled(buf: &mut Vec<u8>, json: &str) {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Null) => buf.push(NULL),
        Ok(serde_json::Value::Bool(b)) => buf.push(if b { TRUE } else { FALSE }),
        Ok(serde_json::Value::Number(n)) => {
            buf.push(NUMBER);
            buf.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
        }
        Ok(serde_json::Value::String(s)) => put_text(buf, STRING, &s),
        _ => put_text(buf, JSON, json),
    }
}

/// Appends a row's failure (a rejected promise) as a thrown cell.
pub(crate) fn push_thrown(buf: &mut Vec<u8>, e: &Error) {
    let text = match e {
        Error::Exception(x) if x.name.is_empty() => x.message.clone(),
        Error::Exception(x) => format!("{}: {}", x.name, x.message),
        other => other.to_string(),
    };
    put_text(buf, THROWN, &text);
}

fn put_text(buf: &mut Vec<u8>, tag: u8, s: &str) {
    buf.push(tag);
    buf.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// The cell at `at` and where the next starts; `None` at the end.
fn decode(buf: &[u8], at: usize) -> std::result::Result<Option<(Cell<'_>, usize)>, String> {
    let Some(&tag) = buf.get(at) else { return Ok(None) };
    let body = at + 1;
    let bytes = |len: usize| buf.get(body..body + len).ok_or_else(|| format!("cell at byte {at} is cut short"));
    let text = || -> std::result::Result<(&str, usize), String> {
        let len = u32::from_le_bytes(bytes(4)?.try_into().expect("4 bytes")) as usize;
        let start = body + 4;
        let raw = buf.get(start..start + len).ok_or_else(|| format!("cell at byte {at} is cut short"))?;
        let s = std::str::from_utf8(raw).map_err(|e| format!("cell at byte {at} is not UTF-8: {e}"))?;
        Ok((s, start + len))
    };
    let decoded = match tag {
        NULL => (Cell::Null, body),
        FALSE => (Cell::Bool(false), body),
        TRUE => (Cell::Bool(true), body),
        NUMBER => (Cell::Number(f64::from_le_bytes(bytes(8)?.try_into().expect("8 bytes"))), body + 8),
        STRING => text().map(|(s, next)| (Cell::String(s), next))?,
        JSON => text().map(|(s, next)| (Cell::Json(s), next))?,
        THROWN => text().map(|(s, next)| (Cell::Thrown(s), next))?,
        t => return Err(format!("unknown cell tag {t} at byte {at}")),
    };
    Ok(Some(decoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_and_decodes_every_cell() {
        let mut buf = vec![NULL, FALSE, TRUE, NUMBER];
        buf.extend_from_slice(&2.5f64.to_le_bytes());
        for (tag, s) in [(STRING, "é"), (JSON, "[1]"), (THROWN, "Error: x")] {
            buf.push(tag);
            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        let scan = scan(&buf).unwrap();
        assert_eq!((scan.cells, scan.pending), (7, false));
        let all = Cells::new(buf.clone(), 7);
        let cells: Vec<_> = all.iter().collect();
        assert_eq!(
            cells,
            [Cell::Null, Cell::Bool(false), Cell::Bool(true), Cell::Number(2.5), Cell::String("é"), Cell::Json("[1]"), Cell::Thrown("Error: x")]
        );
        buf.push(PENDING);
        let scan = super::scan(&buf).unwrap();
        assert_eq!((scan.cells, scan.pending), (8, true));
    }

    #[test]
    fn rejects_malformed_answers() {
        assert!(scan(&[STRING, 9, 0, 0, 0, b'a']).is_err(), "cut short");
        assert!(scan(&[STRING, 1, 0, 0, 0, 0xff]).is_err(), "not UTF-8");
        assert!(scan(&[NUMBER, 0, 0]).is_err(), "short number");
        assert!(scan(&[9]).is_err(), "unknown tag");
        assert!(scan(&[PENDING, NULL]).is_err(), "pending not last");
        assert!(scan(&[STRING, 0xff, 0xff, 0xff, 0xff]).is_err(), "huge length");
    }

    #[test]
    fn settled_values_become_cells() {
        let mut buf = Vec::new();
        for json in ["null", "true", "\"s\"", "4", "{\"a\":1}"] {
            push_settled(&mut buf, json);
        }
        let all = Cells::new(buf, 5);
        let cells: Vec<_> = all.iter().collect();
        assert_eq!(cells, [Cell::Null, Cell::Bool(true), Cell::String("s"), Cell::Number(4.0), Cell::Json("{\"a\":1}")]);
    }
}
