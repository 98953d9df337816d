//! `TextDecoder`'s decoders, for every encoding of the Encoding Standard
//! (UTF-8, UTF-16LE/BE, the legacy single-byte and CJK encodings), as node
//! (with full ICU) has them. UTF-8 goes through them too: measured in the
//! guest, encoding_rs decodes UTF-8 as fast as javy's decoder (faster on
//! ASCII), and ends a sequence split across chunks exactly as the standard
//! says.
//!
//! encoding_rs does the work: it is Firefox's implementation of exactly
//! this standard (its label table, its decoders with their error handling,
//! BOM handling and state kept across chunks), so nothing of the standard
//! is written again here. Its default features are the small ones (the
//! `fast-*` features add encode tables); only decoders are reached, so LTO
//! drops the encoders.
//!
//! A decoder is a Rust-owned [`Decoder`] that the JS `TextDecoder` holds;
//! each `decode` call takes one chunk and returns its text.

use javy::quickjs::{Class, Ctx, Exception, Result, TypedArray};

use encoding_rs::{DecoderResult, Encoding, UTF_8};

use super::opaque_class;

/// `encodingName(label)`: the canonical (lower-case) name of the encoding
/// `label` names, as `TextDecoder.encoding` gives it; `undefined` for an
/// unknown label. The `replacement` encoding's labels give `replacement`,
/// which the constructor rejects too (node's error names it).
pub(super) fn encoding_name(label: String) -> Option<String> {
    Encoding::for_label(label.as_bytes()).map(|e| e.name().to_ascii_lowercase())
}

/// One `TextDecoder`'s stream state: the encoding_rs decoder, which keeps
/// a partial sequence (and whether the BOM was looked at) between chunks.
pub(super) struct Decoder {
    encoding: &'static Encoding,
    ignore_bom: bool,
    inner: encoding_rs::Decoder,
}

impl Decoder {
    /// A decoder in its initial state: the standard's BOM handling is
    /// encoding_rs's "BOM removal" (a BOM of this very encoding is dropped
    /// once, at the start), or none with `ignoreBOM`.
    fn fresh(encoding: &'static Encoding, ignore_bom: bool) -> encoding_rs::Decoder {
        if ignore_bom {
            encoding.new_decoder_without_bom_handling()
        } else {
            encoding.new_decoder_with_bom_removal()
        }
    }

    /// Decodes `input`; `last` flushes what is pending (a partial sequence
    /// becomes U+FFFD, or an error with `fatal`). `None` on a decoding
    /// error with `fatal`. After `last` or an error the decoder starts over,
    /// as the standard's next `decode()` does.
    fn decode(&mut self, input: &[u8], last: bool, fatal: bool) -> Option<String> {
        // Capacity for the worst case, so one call decodes all the input.
        let cap = self.inner.max_utf8_buffer_length(input.len()).unwrap_or(usize::MAX);
        let mut out = String::with_capacity(cap);
        let ok = if fatal {
            let (result, _) = self.inner.decode_to_string_without_replacement(input, &mut out, last);
            !matches!(result, DecoderResult::Malformed(..))
        } else {
            // Never `OutputFull`: `out` has room for the worst case.
            let _ = self.inner.decode_to_string(input, &mut out, last);
            true
        };
        if last || !ok {
            self.inner = Self::fresh(self.encoding, self.ignore_bom);
        }
        ok.then_some(out)
    }
}

// SAFETY: a decoder holds no JS values, as opaque_class! requires.
opaque_class!(Decoder);

/// `decoderNew(name, ignoreBOM)`: a decoder for the encoding `name` (one
/// that [`encoding_name`] gave).
pub(super) fn decoder_new<'js>(ctx: Ctx<'js>, name: String, ignore_bom: bool) -> Result<Class<'js, Decoder>> {
    let encoding = Encoding::for_label_no_replacement(name.as_bytes()).unwrap_or(UTF_8);
    let inner = Decoder::fresh(encoding, ignore_bom);
    Class::instance(ctx, Decoder { encoding, ignore_bom, inner })
}

/// `decoderDecode(decoder, bytes, stream, fatal)`: the text of one more
/// chunk (`stream` false ends the stream); `undefined` on invalid data
/// with `fatal` (the JS throws node's TypeError).
pub(super) fn decoder_decode<'js>(
    ctx: Ctx<'js>,
    decoder: Class<'js, Decoder>,
    bytes: TypedArray<'js, u8>,
    stream: bool,
    fatal: bool,
) -> Result<Option<String>> {
    let input = bytes
        .as_bytes()
        .ok_or_else(|| Exception::throw_type(&ctx, "The input's ArrayBuffer is detached"))?;
    Ok(decoder.borrow_mut().decode(input, !stream, fatal))
}
