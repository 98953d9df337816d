//! Arrow values to a UDF's arguments and back from its results: as JSON
//! values (a row at a time) or as [`jsbox::Columns`] and [`jsbox::Cells`]
//! (a batch at a time).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, GenericStringBuilder, Int16Array,
    Int32Array, Int64Array, Int8Array, LargeStringArray, ListArray, NullArray, OffsetSizeTrait, StringArray,
    StructArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{self as t, DataType, Field};
use jsbox::{Cell, Cells, Columns};
use serde_json::{Map, Number, Value};

use crate::JsType;

/// The JSON value of row `row` of `array`. The array's type has been
/// checked by [`JsType::from_arrow`] at planning time; a type it refuses
/// (unreachable) is `null`.
pub(crate) fn to_json(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    fn float(v: f64) -> Value {
        Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<t::Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<t::Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<t::Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<t::Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<t::UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<t::UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<t::UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<t::UInt64Type>().value(row).into(),
        DataType::Float32 => float(array.as_primitive::<t::Float32Type>().value(row) as f64),
        DataType::Float64 => float(array.as_primitive::<t::Float64Type>().value(row)),
        DataType::Utf8 => array.as_string::<i32>().value(row).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into(),
        DataType::Utf8View => array.as_string_view().value(row).into(),
        DataType::List(_) => items(array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => items(array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(_, _) => items(array.as_fixed_size_list().value(row).as_ref()),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut object = Map::with_capacity(fields.len());
            for (field, column) in fields.iter().zip(s.columns()) {
                object.insert(field.name().clone(), to_json(column.as_ref(), row));
            }
            Value::Object(object)
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let key = dict.normalized_keys()[row];
            to_json(dict.values().as_ref(), key)
        }
        _ => Value::Null,
    }
}

fn items(array: &dyn Array) -> Value {
    Value::Array((0..array.len()).map(|i| to_json(array, i)).collect())
}

/// A short name of a JSON value's kind, for error messages.
fn kind(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 40 {
        format!("{}...", &text[..text.floor_char_boundary(40)])
    } else {
        text
    }
}

/// Whether `value` fits `ty` (`null` fits every type); the reason when not.
pub(crate) fn check(value: &Value, ty: &JsType) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let fits = match ty {
        JsType::Null => false,
        JsType::Boolean => value.is_boolean(),
        JsType::Int8 => int_in(value, i8::MIN as i64, i8::MAX as i64),
        JsType::Int16 => int_in(value, i16::MIN as i64, i16::MAX as i64),
        JsType::Int32 => int_in(value, i32::MIN as i64, i32::MAX as i64),
        JsType::Int64 => as_i64(value).is_some(),
        JsType::UInt8 => int_in(value, 0, u8::MAX as i64),
        JsType::UInt16 => int_in(value, 0, u16::MAX as i64),
        JsType::UInt32 => int_in(value, 0, u32::MAX as i64),
        JsType::UInt64 => as_u64(value).is_some(),
        JsType::Float32 | JsType::Float64 => value.is_number(),
        // Strings as they are, anything else as its JSON text.
        JsType::Utf8 | JsType::LargeUtf8 => true,
        JsType::List(item) => match value {
            Value::Array(values) => {
                for (i, v) in values.iter().enumerate() {
                    check(v, item).map_err(|e| format!("item {i}: {e}"))?;
                }
                true
            }
            _ => false,
        },
        JsType::Struct(fields) => match value {
            Value::Object(object) => {
                for (name, ty) in fields {
                    if let Some(v) = object.get(name) {
                        check(v, ty).map_err(|e| format!("field {name}: {e}"))?;
                    }
                }
                true
            }
            _ => false,
        },
    };
    if fits {
        Ok(())
    } else {
        Err(format!("the plugin returned {} where the return type is {ty}", kind(value)))
    }
}

fn as_i64(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        let f = value.as_f64()?;
        (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
    })
}

fn as_u64(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let f = value.as_f64()?;
        (f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}

fn int_in(value: &Value, min: i64, max: i64) -> bool {
    as_i64(value).is_some_and(|v| (min..=max).contains(&v))
}

/// The Arrow array of `values`, each already [`check`]ed against `ty`
/// (`None` and JSON `null` are nulls).
pub(crate) fn from_json(values: &[Option<&Value>], ty: &JsType) -> ArrayRef {
    fn present<'a>(v: &Option<&'a Value>) -> Option<&'a Value> {
        v.filter(|v| !v.is_null())
    }
    macro_rules! ints {
        ($array:ty, $native:ty, $get:ident) => {
            Arc::new(values.iter().map(|v| present(v).and_then($get).map(|x| x as $native)).collect::<$array>())
        };
    }
    match ty {
        JsType::Null => Arc::new(NullArray::new(values.len())),
        JsType::Boolean => Arc::new(values.iter().map(|v| present(v).and_then(Value::as_bool)).collect::<BooleanArray>()),
        JsType::Int8 => ints!(Int8Array, i8, as_i64),
        JsType::Int16 => ints!(Int16Array, i16, as_i64),
        JsType::Int32 => ints!(Int32Array, i32, as_i64),
        JsType::Int64 => ints!(Int64Array, i64, as_i64),
        JsType::UInt8 => ints!(UInt8Array, u8, as_u64),
        JsType::UInt16 => ints!(UInt16Array, u16, as_u64),
        JsType::UInt32 => ints!(UInt32Array, u32, as_u64),
        JsType::UInt64 => ints!(UInt64Array, u64, as_u64),
        JsType::Float32 => {
            Arc::new(values.iter().map(|v| present(v).and_then(Value::as_f64).map(|x| x as f32)).collect::<Float32Array>())
        }
        JsType::Float64 => Arc::new(values.iter().map(|v| present(v).and_then(Value::as_f64)).collect::<Float64Array>()),
        JsType::Utf8 => Arc::new(values.iter().map(|v| present(v).map(text)).collect::<StringArray>()),
        JsType::LargeUtf8 => Arc::new(values.iter().map(|v| present(v).map(text)).collect::<LargeStringArray>()),
        JsType::List(item) => {
            let mut lengths = Vec::with_capacity(values.len());
            let mut children: Vec<Option<&Value>> = Vec::new();
            for v in values {
                match present(v).and_then(Value::as_array) {
                    Some(items) => {
                        lengths.push(items.len());
                        children.extend(items.iter().map(Some));
                    }
                    None => lengths.push(0),
                }
            }
            let nulls = NullBuffer::from_iter(values.iter().map(|v| present(v).is_some()));
            let field = Arc::new(Field::new("item", item.to_arrow(), true));
            Arc::new(ListArray::new(
                field,
                OffsetBuffer::from_lengths(lengths),
                from_json(&children, item),
                Some(nulls),
            ))
        }
        JsType::Struct(fields) => {
            let DataType::Struct(arrow_fields) = ty.to_arrow() else { unreachable!("a struct type") };
            let columns = fields
                .iter()
                .map(|(name, ty)| {
                    let column: Vec<Option<&Value>> =
                        values.iter().map(|v| present(v).and_then(|o| o.get(name))).collect();
                    from_json(&column, ty)
                })
                .collect();
            let nulls = NullBuffer::from_iter(values.iter().map(|v| present(v).is_some()));
            Arc::new(StructArray::new(arrow_fields, columns, Some(nulls)))
        }
    }
}

/// A string value as itself, anything else as its JSON text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The rows of `arrays` as the columns of one [`jsbox::Runtime::call_columns`]
/// call: scalars as themselves (numbers as `f64`, what JS has; NaN and the
/// infinities as `null`, as JSON has them in the row path), lists,
/// structs and dictionaries as their JSON text.
pub(crate) fn to_columns(arrays: &[ArrayRef], rows: usize) -> Columns {
    let mut columns = Columns::new(rows, arrays.len());
    for array in arrays {
        let array = array.as_ref();
        macro_rules! cells {
            ($value:expr, $push:ident) => {
                for row in 0..rows {
                    if array.is_null(row) {
                        columns.push_null();
                    } else {
                        columns.$push($value(row));
                    }
                }
            };
        }
        macro_rules! numbers {
            ($t:ty) => {{
                let a = array.as_primitive::<$t>();
                cells!(|row| a.value(row) as f64, push_finite)
            }};
        }
        match array.data_type() {
            DataType::Null => (0..rows).for_each(|_| columns.push_null()),
            DataType::Boolean => {
                let a = array.as_boolean();
                cells!(|row| a.value(row), push_bool)
            }
            DataType::Int8 => numbers!(t::Int8Type),
            DataType::Int16 => numbers!(t::Int16Type),
            DataType::Int32 => numbers!(t::Int32Type),
            DataType::Int64 => numbers!(t::Int64Type),
            DataType::UInt8 => numbers!(t::UInt8Type),
            DataType::UInt16 => numbers!(t::UInt16Type),
            DataType::UInt32 => numbers!(t::UInt32Type),
            DataType::UInt64 => numbers!(t::UInt64Type),
            DataType::Float32 => numbers!(t::Float32Type),
            DataType::Float64 => numbers!(t::Float64Type),
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                cells!(|row| a.value(row), push_str)
            }
            DataType::LargeUtf8 => {
                let a = array.as_string::<i64>();
                cells!(|row| a.value(row), push_str)
            }
            DataType::Utf8View => {
                let a = array.as_string_view();
                cells!(|row| a.value(row), push_str)
            }
            _ => {
                for row in 0..rows {
                    match to_json(array, row) {
                        Value::Null => columns.push_null(),
                        Value::String(s) => columns.push_str(&s),
                        value => columns.push_json(&value.to_string()),
                    }
                }
            }
        }
    }
    columns
}

/// `push_number`, with NaN and the infinities as `null`.
trait PushFinite {
    fn push_finite(&mut self, n: f64);
}

impl PushFinite for Columns {
    fn push_finite(&mut self, n: f64) {
        if n.is_finite() {
            self.push_number(n)
        } else {
            self.push_null()
        }
    }
}

/// A row that failed: its index and why.
pub(crate) struct Failed {
    pub row: usize,
    pub message: String,
}

/// The Arrow array of a batch's results. A thrown cell, or a value that
/// does not fit `ty`, is NULL when `null_on_error` is set, else the
/// first such row is the error.
pub(crate) fn from_cells(cells: &Cells, ty: &JsType, null_on_error: bool) -> Result<ArrayRef, Failed> {
    match ty {
        JsType::Utf8 => strings::<i32>(cells, null_on_error),
        JsType::LargeUtf8 => strings::<i64>(cells, null_on_error),
        _ => {
            let mut values = Vec::with_capacity(cells.len());
            for (row, cell) in cells.iter().enumerate() {
                let value = cell_value(cell).and_then(|v| check(&v, ty).map(|()| v));
                match value {
                    Ok(v) => values.push(Some(v)),
                    Err(_) if null_on_error => values.push(None),
                    Err(message) => return Err(Failed { row, message }),
                }
            }
            let refs: Vec<Option<&Value>> = values.iter().map(Option::as_ref).collect();
            Ok(from_json(&refs, ty))
        }
    }
}

/// A string result column without a JSON value per row: strings as they
/// are, anything else as its JSON text (as [`from_json`] makes them).
fn strings<O: OffsetSizeTrait>(cells: &Cells, null_on_error: bool) -> Result<ArrayRef, Failed> {
    let mut out = GenericStringBuilder::<O>::with_capacity(cells.len(), cells.byte_len());
    for (row, cell) in cells.iter().enumerate() {
        match cell {
            Cell::String(s) => out.append_value(s),
            Cell::Null => out.append_null(),
            Cell::Thrown(_) if null_on_error => out.append_null(),
            Cell::Thrown(message) => return Err(Failed { row, message: message.to_string() }),
            other => match cell_value(other) {
                Ok(Value::Null) => out.append_null(),
                Ok(value) => out.append_value(text(&value)),
                Err(_) if null_on_error => out.append_null(),
                Err(message) => return Err(Failed { row, message }),
            },
        }
    }
    Ok(Arc::new(out.finish()))
}

/// A result cell as the JSON value the row path would have read: numbers
/// as integers when whole (JSON.stringify writes them so), NaN and the
/// infinities as `null`.
fn cell_value(cell: Cell<'_>) -> Result<Value, String> {
    Ok(match cell {
        Cell::Null => Value::Null,
        Cell::Bool(b) => Value::Bool(b),
        Cell::Number(n) if n.fract() == 0.0 && n >= i64::MIN as f64 && n < i64::MAX as f64 => Value::from(n as i64),
        Cell::Number(n) if n.fract() == 0.0 && n >= 0.0 && n < u64::MAX as f64 => Value::from(n as u64),
        Cell::Number(n) => Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null),
        Cell::String(s) => Value::String(s.to_string()),
        Cell::Json(json) => serde_json::from_str(json).map_err(|e| format!("the plugin's result is not JSON: {e}"))?,
        Cell::Thrown(message) => return Err(message.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_nested() {
        let ty: JsType = "struct<a: int64, b: list<utf8>, c: boolean>".parse().unwrap();
        let values = [json!({"a": 1, "b": ["x", null], "c": true}), json!(null), json!({"a": null, "b": []})];
        for v in &values {
            check(v, &ty).unwrap();
        }
        let refs: Vec<Option<&Value>> = values.iter().map(Some).collect();
        let array = from_json(&refs, &ty);
        assert_eq!(array.data_type(), &ty.to_arrow());
        assert_eq!(to_json(array.as_ref(), 0), values[0]);
        assert_eq!(to_json(array.as_ref(), 1), Value::Null);
        assert_eq!(to_json(array.as_ref(), 2), json!({"a": null, "b": [], "c": null}));
    }

    #[test]
    fn checks() {
        assert!(check(&json!(3.0), &JsType::Int8).is_ok());
        assert!(check(&json!(300), &JsType::Int8).is_err());
        assert!(check(&json!(-1), &JsType::UInt32).is_err());
        assert!(check(&json!("5"), &JsType::Int64).is_err());
        assert!(check(&json!(1.5), &JsType::Int64).is_err());
        assert!(check(&json!({"a": 1}), &JsType::Utf8).is_ok());
        let err = check(&json!([1, "x"]), &JsType::List(Box::new(JsType::Int64))).unwrap_err();
        assert!(err.contains("item 1"), "{err}");
    }
}
