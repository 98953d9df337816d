//! The Arrow types a plugin's values may have, and their names
//! (`int64`, `list<utf8>`, `struct<a: int64, b: utf8>`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields};
use serde::{Deserialize, Serialize};

use crate::error::UdfError;

/// An Arrow type that crosses into JS as a JSON value, and back.
///
/// | `JsType` | Arrow | JS |
/// |---|---|---|
/// | `Null` | `Null` | `null` |
/// | `Boolean` | `Boolean` | boolean |
/// | `Int8` ... `Int64`, `UInt8` ... `UInt64` | the same | number (exact up to 2^53) |
/// | `Float32`, `Float64` | the same | number (NaN and infinities are `null`) |
/// | `Utf8`, `LargeUtf8` (and `Utf8View` arguments) | the same | string |
/// | `List(T)` (and `LargeList`, `FixedSizeList` arguments) | `List` | array |
/// | `Struct(fields)` | `Struct` | object |
///
/// Anything else (dates, timestamps, decimals, binary, maps, unions) is
/// refused when the query is planned; cast it in SQL first (for example
/// `CAST(ts AS VARCHAR)`). A dictionary-encoded argument is passed as its
/// values.
///
/// Names, as [`FromStr`] reads them and [`Display`](fmt::Display) writes
/// them (case-insensitive, SQL spellings accepted): `bool`/`boolean`,
/// `int8` ... `int64` (`tinyint`, `smallint`, `int`/`integer`, `bigint`),
/// `uint8` ... `uint64`, `float32`/`real`/`float`, `float64`/`double`,
/// `utf8`/`string`/`text`/`varchar`, `large_utf8`, `null`, `list<T>`,
/// `struct<name: T, ...>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum JsType {
    /// Always null.
    Null,
    /// `true`/`false`.
    Boolean,
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 8-bit unsigned integer.
    UInt8,
    /// 16-bit unsigned integer.
    UInt16,
    /// 32-bit unsigned integer.
    UInt32,
    /// 64-bit unsigned integer.
    UInt64,
    /// 32-bit float.
    Float32,
    /// 64-bit float.
    Float64,
    /// UTF-8 string (32-bit offsets). As a return type it takes any JS
    /// value: strings as they are, anything else as its JSON text.
    Utf8,
    /// UTF-8 string (64-bit offsets); returns as [`JsType::Utf8`].
    LargeUtf8,
    /// A list of values of one type.
    List(Box<JsType>),
    /// Named fields, each of its own type.
    Struct(Vec<(String, JsType)>),
}

impl JsType {
    /// The Arrow type for this type. Struct fields and list items are
    /// nullable.
    pub fn to_arrow(&self) -> DataType {
        match self {
            JsType::Null => DataType::Null,
            JsType::Boolean => DataType::Boolean,
            JsType::Int8 => DataType::Int8,
            JsType::Int16 => DataType::Int16,
            JsType::Int32 => DataType::Int32,
            JsType::Int64 => DataType::Int64,
            JsType::UInt8 => DataType::UInt8,
            JsType::UInt16 => DataType::UInt16,
            JsType::UInt32 => DataType::UInt32,
            JsType::UInt64 => DataType::UInt64,
            JsType::Float32 => DataType::Float32,
            JsType::Float64 => DataType::Float64,
            JsType::Utf8 => DataType::Utf8,
            JsType::LargeUtf8 => DataType::LargeUtf8,
            JsType::List(item) => DataType::List(Arc::new(Field::new("item", item.to_arrow(), true))),
            JsType::Struct(fields) => DataType::Struct(
                fields.iter().map(|(name, ty)| Field::new(name, ty.to_arrow(), true)).collect::<Fields>(),
            ),
        }
    }

    /// The `JsType` of an Arrow type, for an argument: string views, large
    /// and fixed-size lists and dictionaries map to their plain forms.
    ///
    /// # Errors
    ///
    /// [`UdfError::UnsupportedType`] for a type that has no JSON form.
    pub fn from_arrow(ty: &DataType) -> Result<JsType, UdfError> {
        Ok(match ty {
            DataType::Null => JsType::Null,
            DataType::Boolean => JsType::Boolean,
            DataType::Int8 => JsType::Int8,
            DataType::Int16 => JsType::Int16,
            DataType::Int32 => JsType::Int32,
            DataType::Int64 => JsType::Int64,
            DataType::UInt8 => JsType::UInt8,
            DataType::UInt16 => JsType::UInt16,
            DataType::UInt32 => JsType::UInt32,
            DataType::UInt64 => JsType::UInt64,
            DataType::Float32 => JsType::Float32,
            DataType::Float64 => JsType::Float64,
            DataType::Utf8 | DataType::Utf8View => JsType::Utf8,
            DataType::LargeUtf8 => JsType::LargeUtf8,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                JsType::List(Box::new(JsType::from_arrow(f.data_type())?))
            }
            DataType::Struct(fields) => JsType::Struct(
                fields
                    .iter()
                    .map(|f| Ok((f.name().clone(), JsType::from_arrow(f.data_type())?)))
                    .collect::<Result<_, UdfError>>()?,
            ),
            DataType::Dictionary(_, values) => JsType::from_arrow(values)?,
            other => return Err(UdfError::UnsupportedType(other.to_string())),
        })
    }
}

impl fmt::Display for JsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            JsType::Null => "null",
            JsType::Boolean => "boolean",
            JsType::Int8 => "int8",
            JsType::Int16 => "int16",
            JsType::Int32 => "int32",
            JsType::Int64 => "int64",
            JsType::UInt8 => "uint8",
            JsType::UInt16 => "uint16",
            JsType::UInt32 => "uint32",
            JsType::UInt64 => "uint64",
            JsType::Float32 => "float32",
            JsType::Float64 => "float64",
            JsType::Utf8 => "utf8",
            JsType::LargeUtf8 => "large_utf8",
            JsType::List(item) => return write!(f, "list<{item}>"),
            JsType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {ty}")?;
                }
                return f.write_str(">");
            }
        };
        f.write_str(name)
    }
}

impl FromStr for JsType {
    type Err = UdfError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parser = Parser { text: s, at: 0 };
        let ty = parser.ty()?;
        parser.skip_space();
        if parser.at != s.len() {
            return Err(parser.error("unexpected text after the type"));
        }
        Ok(ty)
    }
}

/// A recursive-descent reader of type names.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> UdfError {
        UdfError::BadTypeName { text: self.text.to_string(), reason: format!("{what} at offset {}", self.at) }
    }

    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.text[self.at..].starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> &str {
        self.skip_space();
        let rest = &self.text[self.at..];
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn ty(&mut self) -> Result<JsType, UdfError> {
        let word = self.word().to_ascii_lowercase();
        let ty = match word.as_str() {
            "null" => JsType::Null,
            "bool" | "boolean" => JsType::Boolean,
            "int8" | "tinyint" => JsType::Int8,
            "int16" | "smallint" => JsType::Int16,
            "int32" | "int" | "integer" => JsType::Int32,
            "int64" | "bigint" => JsType::Int64,
            "uint8" => JsType::UInt8,
            "uint16" => JsType::UInt16,
            "uint32" => JsType::UInt32,
            "uint64" => JsType::UInt64,
            "float32" | "real" | "float" => JsType::Float32,
            "float64" | "double" => JsType::Float64,
            "utf8" | "string" | "text" | "varchar" => JsType::Utf8,
            "large_utf8" | "largeutf8" => JsType::LargeUtf8,
            "list" | "array" => {
                if !self.eat('<') {
                    return Err(self.error("expected `<` after `list`"));
                }
                let item = self.ty()?;
                if !self.eat('>') {
                    return Err(self.error("expected `>`"));
                }
                JsType::List(Box::new(item))
            }
            "struct" => {
                if !self.eat('<') {
                    return Err(self.error("expected `<` after `struct`"));
                }
                let mut fields = Vec::new();
                loop {
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err(self.error("expected a field name"));
                    }
                    if !self.eat(':') {
                        return Err(self.error("expected `:` after the field name"));
                    }
                    fields.push((name, self.ty()?));
                    if self.eat('>') {
                        break;
                    }
                    if !self.eat(',') {
                        return Err(self.error("expected `,` or `>`"));
                    }
                }
                JsType::Struct(fields)
            }
            "" => return Err(self.error("expected a type name")),
            other => return Err(self.error(&format!("unknown type `{other}`"))),
        };
        Ok(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for text in ["int64", "utf8", "list<float64>", "struct<a: int64, b: list<utf8>>", "boolean"] {
            let ty: JsType = text.parse().unwrap();
            assert_eq!(ty.to_string(), text);
        }
        assert_eq!("BIGINT".parse::<JsType>().unwrap(), JsType::Int64);
        assert_eq!("varchar".parse::<JsType>().unwrap(), JsType::Utf8);
        assert!("list<".parse::<JsType>().is_err());
        assert!("struct<a int64>".parse::<JsType>().is_err());
        assert!("date32".parse::<JsType>().is_err());
        assert!("int64 x".parse::<JsType>().is_err());
    }

    #[test]
    fn arrow_mapping() {
        let ty: JsType = "struct<a: int64, b: list<utf8>>".parse().unwrap();
        assert_eq!(JsType::from_arrow(&ty.to_arrow()).unwrap(), ty);
        assert_eq!(JsType::from_arrow(&DataType::Utf8View).unwrap(), JsType::Utf8);
        assert!(matches!(JsType::from_arrow(&DataType::Date32), Err(UdfError::UnsupportedType(_))));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert_eq!(JsType::from_arrow(&dict).unwrap(), JsType::Utf8);
    }
}
