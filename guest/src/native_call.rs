//! The fast path of JS -> native calls: the stub of each native function is
//! a Rust function bound to its module and function names (no name strings
//! cross from JS per call), which writes the JSON argument array itself for
//! numbers, strings, booleans and null, and reads scalar results without
//! `JSON.parse`. Anything else (objects, arrays, functions, BigInt, strings
//! that are not valid UTF-8) goes through `JSON.stringify` / `JSON.parse`
//! exactly as before, so what the host receives and what JS gets back are
//! unchanged; the host still sees one JSON array of arguments.

use std::fmt::Write;

use javy::quickjs::{function::Rest, Ctx, Exception, Function, Type, Value};

use crate::jsbox::sandbox::host;

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends an integer in decimal (without `core::fmt`, which costs about
/// as much as the rest of a native call's encoding).
fn push_int(out: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Appends a number as JSON.stringify would (non-finite numbers are null).
fn push_json_number(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("null");
    } else if n == n.trunc() && n.abs() < 9_007_199_254_740_992.0 {
        // Integral (and -0, which JSON.stringify writes as 0).
        push_int(out, n as i64);
    } else {
        // Shortest round-trip digits; `{:?}` uses an exponent for very
        // large or small magnitudes. Valid JSON, same value.
        let _ = write!(out, "{n:?}");
    }
}

/// The JSON array of `args`, or `None` when one of them needs the general
/// path (JSON.stringify semantics: toJSON, nested values, errors).
fn encode_args(args: &[Value<'_>]) -> Option<String> {
    let mut out = String::with_capacity(16);
    out.push('[');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match arg.type_of() {
            Type::Int => push_int(&mut out, i64::from(arg.as_int()?)),
            Type::Float => push_json_number(&mut out, arg.as_float()?),
            Type::Bool => out.push_str(if arg.as_bool()? { "true" } else { "false" }),
            // JSON.stringify writes undefined inside an array as null.
            Type::Null | Type::Undefined | Type::Uninitialized => out.push_str("null"),
            Type::String => push_json_str(&mut out, &arg.as_string()?.to_string().ok()?),
            _ => return None,
        }
    }
    out.push(']');
    Some(out)
}

/// The general path: `JSON.stringify(args)`, which may throw (cycles,
/// BigInt) exactly as the JS stub did.
fn stringify_args<'js>(ctx: &Ctx<'js>, args: Vec<Value<'js>>) -> javy::quickjs::Result<String> {
    let array = javy::quickjs::Array::new(ctx.clone())?;
    for (i, arg) in args.into_iter().enumerate() {
        array.set(i, arg)?;
    }
    match ctx.json_stringify(array)? {
        Some(s) => s.to_string(),
        None => Ok("[]".to_string()),
    }
}

/// A scalar result without JSON.parse; `None` for everything else.
fn decode_scalar<'js>(ctx: &Ctx<'js>, text: &str) -> Option<Value<'js>> {
    match text.as_bytes().first()? {
        b'n' if text == "null" => Some(Value::new_null(ctx.clone())),
        b't' if text == "true" => Some(Value::new_bool(ctx.clone(), true)),
        b'f' if text == "false" => Some(Value::new_bool(ctx.clone(), false)),
        b'-' | b'0'..=b'9' => {
            // Small integers, the common case, without float parsing.
            if text.len() <= 9 {
                if let Ok(i) = text.parse::<i32>() {
                    if text != "-0" {
                        return Some(Value::new_int(ctx.clone(), i));
                    }
                }
            }
            let n: f64 = text.parse().ok()?;
            // -0 must stay a float (an int cannot carry the sign).
            Some(if n == 0.0 && n.is_sign_negative() {
                Value::new_float(ctx.clone(), n)
            } else {
                Value::new_number(ctx.clone(), n)
            })
        }
        // A string with no escapes is its own contents.
        b'"' if text.len() >= 2 && text.ends_with('"') && !text[1..text.len() - 1].contains(['\\', '"']) => {
            javy::quickjs::String::from_str(ctx.clone(), &text[1..text.len() - 1]).ok().map(Into::into)
        }
        _ => None,
    }
}

/// The JS function that calls native function `module.function`.
pub(crate) fn bind<'js>(ctx: &Ctx<'js>, module: String, function: String) -> javy::quickjs::Result<Function<'js>> {
    let name = function.clone();
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> javy::quickjs::Result<Value<'js>> {
        let json = match encode_args(&args.0) {
            Some(json) => json,
            None => stringify_args(&ctx, args.0)?,
        };
        let text = host::call(&module, &function, &json).map_err(|message| Exception::throw_message(&ctx, &message))?;
        match decode_scalar(&ctx, &text) {
            Some(value) => Ok(value),
            None => ctx.json_parse(text),
        }
    })?
    .with_name(name)
}

/// `hostBind(module, function)` for the prelude: makes the stub of one
/// native function.
pub(crate) fn binder<'js>(ctx: &Ctx<'js>) -> javy::quickjs::Result<Function<'js>> {
    Function::new(ctx.clone(), |ctx: Ctx<'js>, module: String, function: String| bind(&ctx, module, function))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn json_numbers() {
        let text = |n: f64| {
            let mut s = String::new();
            push_json_number(&mut s, n);
            s
        };
        assert_eq!(text(3.0), "3");
        assert_eq!(text(-1234567.0), "-1234567");
        assert_eq!(text(9007199254740991.0), "9007199254740991");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(text(f64::NAN), "null");
        assert_eq!(text(1e300).parse::<f64>().unwrap(), 1e300);
    }
}
