//! `atob` / `btoa`: the HTML standard's forgiving-base64 decode and the
//! base64 encode of a "binary string" (one byte per UTF-16 code unit).
//! The `base64` crate does the coding; this file adds the standard's
//! validation, whose failures `encoding.js` turns into the
//! `InvalidCharacterError` DOMException node throws.

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Decodes with no padding required and stray low bits allowed: the
/// forgiving-base64 rules, once padding is stripped.
const FORGIVING: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Why a decode failed. The numbers are what `encoding.js` reads.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A character outside the alphabet, or misplaced `=` (node: "Invalid character").
    InvalidCharacter = 1,
    /// A length that leaves one dangling character (node: "The string to
    /// be decoded is not correctly encoded.").
    BadLength = 2,
}

fn is_ascii_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Forgiving-base64 decode of `input` into a binary string.
pub(crate) fn decode(input: &str) -> Result<String, DecodeError> {
    let mut data = String::with_capacity(input.len());
    let mut padding = 0usize;
    for c in input.chars().filter(|&c| !is_ascii_whitespace(c)) {
        match c {
            '=' => padding += 1,
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' if padding == 0 => data.push(c),
            _ => return Err(DecodeError::InvalidCharacter),
        }
    }
    // At most two `=`, only at the end, and only completing a 4-char group.
    if padding > 2 || (padding > 0 && (data.len() + padding) % 4 != 0) {
        return Err(DecodeError::InvalidCharacter);
    }
    if data.len() % 4 == 1 {
        return Err(DecodeError::BadLength);
    }
    let bytes = FORGIVING.decode(data.as_bytes()).map_err(|_| DecodeError::InvalidCharacter)?;
    Ok(bytes.into_iter().map(char::from).collect())
}

/// Base64 of a binary string; `None` when a character is above U+00FF.
pub(crate) fn encode(input: &str) -> Option<String> {
    let bytes = input.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect::<Option<Vec<u8>>>()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}
