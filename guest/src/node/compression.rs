//! The codecs behind `CompressionStream` and `DecompressionStream`
//! (`stream_web.js`), for the Compression Streams standard's three formats:
//! `deflate` (zlib, RFC 1950), `deflate-raw` (RFC 1951) and `gzip`
//! (RFC 1952). miniz_oxide does the DEFLATE work and zlib's framing;
//! gzip's framing (a header, then a CRC-32 and length trailer) is done
//! here, the CRC by crc32fast.
//!
//! A codec is a Rust-owned [`Codec`] that the JS stream holds; each
//! `push` takes one chunk and returns what it produced, so data streams
//! through in pieces and nothing but the codec's window is kept.
//! Decompression fails (a `TypeError`, as the standard requires) on
//! corrupt data, on any byte after the end of the compressed data, and, in
//! `finish`, on input that stopped before that end.
//!
//! Reached by `require('jsbox:compression')` from the built-in JS modules
//! only, and created on that first use: nothing of it is in the snapshot.

use javy::quickjs::{Class, Ctx, Exception, Function, Object, Result, TypedArray};
use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus, StreamResult};

use crate::web::opaque_class;

/// The natives `stream_web.js` gets as `require('jsbox:compression')`.
pub(crate) fn natives<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let n = Object::new(ctx.clone())?;
    n.set("codec", Function::new(ctx.clone(), codec)?)?;
    n.set("push", Function::new(ctx.clone(), push)?)?;
    n.set("finish", Function::new(ctx.clone(), finish)?)?;
    Ok(n)
}

/// A format of the standard's `CompressionFormat` enum.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Deflate,
    DeflateRaw,
    Gzip,
}

impl Format {
    fn parse(name: &str) -> Option<Format> {
        match name {
            "deflate" => Some(Format::Deflate),
            "deflate-raw" => Some(Format::DeflateRaw),
            "gzip" => Some(Format::Gzip),
            _ => None,
        }
    }

    /// What miniz_oxide frames: zlib's header and Adler-32, or nothing
    /// (gzip's framing is [`GzipHeader`] and the trailer checks here).
    fn data_format(self) -> DataFormat {
        if self == Format::Deflate {
            DataFormat::Zlib
        } else {
            DataFormat::Raw
        }
    }
}

/// The gzip header this writes: no flags, no time, "unknown" extra flags,
/// OS 3 (Unix), as node's zlib writes it.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// miniz_oxide's default level (6, as zlib's and node's default).
const LEVEL: u8 = 6;

/// The size of each output piece the codecs write into.
const OUT_CHUNK: usize = 16 * 1024;

/// The CRC-32 and length (mod 2^32) of a gzip member's data.
#[derive(Default)]
struct GzipCheck {
    crc: crc32fast::Hasher,
    len: u32,
}

impl GzipCheck {
    fn update(&mut self, data: &[u8]) {
        self.crc.update(data);
        self.len = self.len.wrapping_add(data.len() as u32);
    }

    /// The 8-byte trailer: CRC-32, then ISIZE, little-endian.
    fn trailer(&self) -> [u8; 8] {
        let mut t = [0; 8];
        t[..4].copy_from_slice(&self.crc.clone().finalize().to_le_bytes());
        t[4..].copy_from_slice(&self.len.to_le_bytes());
        t
    }
}

/// One stream's compressor or decompressor, owned by its JS
/// `TransformStream` (as a class instance with no prototype, which only
/// these natives can use).
enum Codec {
    Compress {
        deflate: Box<CompressorOxide>,
        /// Bytes to write before any other output: gzip's header, until
        /// it is written.
        header: &'static [u8],
        /// Gzip's check of the data, for its trailer.
        gzip: Option<GzipCheck>,
    },
    Decompress {
        inflate: Box<InflateState>,
        gzip: Option<Gunzip>,
        /// The DEFLATE data ended (for gzip, the trailer follows it).
        ended: bool,
    },
}

// SAFETY: a codec holds no JS values, as opaque_class! requires.
opaque_class!(Codec);

/// `codec(format, decompress)`: a new codec, or `undefined` when `format` is
/// not one of the standard's (the JS constructor throws the TypeError).
fn codec<'js>(ctx: Ctx<'js>, format: String, decompress: bool) -> Result<Option<Class<'js, Codec>>> {
    let Some(format) = Format::parse(&format) else {
        return Ok(None);
    };
    let codec = if decompress {
        Codec::Decompress {
            inflate: InflateState::new_boxed(format.data_format()),
            gzip: (format == Format::Gzip).then(Gunzip::default),
            ended: false,
        }
    } else {
        let mut deflate = Box::<CompressorOxide>::default();
        deflate.set_format_and_level(format.data_format(), LEVEL);
        let gzip = format == Format::Gzip;
        Codec::Compress {
            deflate,
            header: if gzip { &GZIP_HEADER } else { &[] },
            gzip: gzip.then(GzipCheck::default),
        }
    };
    Class::instance(ctx, codec).map(Some)
}

/// `push(codec, bytes)`: the output for one more chunk of input, or
/// `undefined` when there is none yet. Throws a TypeError for bad input.
fn push<'js>(ctx: Ctx<'js>, codec: Class<'js, Codec>, bytes: TypedArray<'js, u8>) -> Result<Option<TypedArray<'js, u8>>> {
    let input = bytes
        .as_bytes()
        .ok_or_else(|| Exception::throw_type(&ctx, "The chunk's ArrayBuffer is detached"))?;
    let mut out = Vec::new();
    codec.borrow_mut().push(input, &mut out).map_err(|e| Exception::throw_type(&ctx, e))?;
    output(ctx, out)
}

/// `finish(codec)`: the output that ends the stream. Throws a TypeError
/// when compressed input stopped short of its end.
fn finish<'js>(ctx: Ctx<'js>, codec: Class<'js, Codec>) -> Result<Option<TypedArray<'js, u8>>> {
    let mut out = Vec::new();
    codec.borrow_mut().finish(&mut out).map_err(|e| Exception::throw_type(&ctx, e))?;
    output(ctx, out)
}

/// `out` as a new Uint8Array, or `undefined` when it is empty (the
/// stream enqueues no empty chunks).
fn output<'js>(ctx: Ctx<'js>, out: Vec<u8>) -> Result<Option<TypedArray<'js, u8>>> {
    if out.is_empty() {
        return Ok(None);
    }
    TypedArray::new(ctx, out).map(Some)
}

const CORRUPT: &str = "The compressed data is invalid";
const TRAILING: &str = "Junk found after the end of the compressed data";
const TRUNCATED: &str = "The compressed data ended before the end of the stream";

impl Codec {
    /// Takes one chunk of input, appending what it produced to `out`; the
    /// error is the TypeError's message.
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), &'static str> {
        match self {
            Codec::Compress { deflate, header, gzip } => {
                out.extend_from_slice(std::mem::take(header));
                if let Some(check) = gzip {
                    check.update(input);
                }
                compress(deflate, input, MZFlush::None, out);
                Ok(())
            }
            Codec::Decompress { inflate, gzip, ended } => {
                let mut input = input;
                if let Some(gunzip) = gzip.as_mut() {
                    input = gunzip.header(input)?;
                }
                if !*ended && !input.is_empty() {
                    let start = out.len();
                    let (consumed, end) = decompress(inflate, input, out)?;
                    if let Some(gunzip) = gzip.as_mut() {
                        gunzip.check.update(&out[start..]);
                    }
                    input = &input[consumed..];
                    *ended = end;
                }
                if *ended {
                    if let Some(gunzip) = gzip.as_mut() {
                        input = gunzip.trailer(input)?;
                    }
                }
                if input.is_empty() {
                    Ok(())
                } else {
                    Err(TRAILING)
                }
            }
        }
    }

    /// Ends the stream: the compressor's last output, or the
    /// decompressor's check that its input was whole.
    fn finish(&mut self, out: &mut Vec<u8>) -> std::result::Result<(), &'static str> {
        match self {
            Codec::Compress { deflate, header, gzip } => {
                out.extend_from_slice(std::mem::take(header));
                compress(deflate, &[], MZFlush::Finish, out);
                if let Some(check) = gzip {
                    out.extend_from_slice(&check.trailer());
                }
                Ok(())
            }
            Codec::Decompress { gzip, ended, .. } => {
                let whole = *ended && gzip.as_ref().is_none_or(Gunzip::checked);
                if whole {
                    Ok(())
                } else {
                    Err(TRUNCATED)
                }
            }
        }
    }
}

/// Runs the compressor over `input` (all of it is taken) into `out`; with
/// `MZFlush::Finish`, until the stream's end is written.
fn compress(deflate: &mut CompressorOxide, mut input: &[u8], flush: MZFlush, out: &mut Vec<u8>) {
    loop {
        let result = run(out, |buf| miniz_oxide::deflate::stream::deflate(deflate, input, buf, flush));
        input = &input[result.bytes_consumed..];
        match result.status {
            Ok(MZStatus::StreamEnd) => return,
            // The output piece had room to spare: everything taken and written.
            Ok(_) if input.is_empty() && result.bytes_written < OUT_CHUNK => return,
            Ok(_) => {}
            // No progress: all input is in the compressor, no output pending.
            // (No other error is possible with the parameters used here.)
            Err(_) => return,
        }
    }
}

/// Runs the decompressor over `input` into `out`: how much input it took
/// and whether the DEFLATE (or zlib) data ended there.
fn decompress(inflate: &mut InflateState, mut input: &[u8], out: &mut Vec<u8>) -> std::result::Result<(usize, bool), &'static str> {
    let total = input.len();
    loop {
        let result = run(out, |buf| miniz_oxide::inflate::stream::inflate(inflate, input, buf, MZFlush::None));
        input = &input[result.bytes_consumed..];
        match result.status {
            Ok(MZStatus::StreamEnd) => return Ok((total - input.len(), true)),
            Ok(_) if input.is_empty() && result.bytes_written < OUT_CHUNK => return Ok((total, false)),
            Ok(_) => {}
            // No progress possible: it needs more input.
            Err(MZError::Buf) => return Ok((total - input.len(), false)),
            Err(_) => return Err(CORRUPT),
        }
    }
}

/// Calls `step` with an [`OUT_CHUNK`]-byte piece at the end of `out`, and
/// keeps of it what `step` wrote.
fn run(out: &mut Vec<u8>, step: impl FnOnce(&mut [u8]) -> StreamResult) -> StreamResult {
    let start = out.len();
    out.resize(start + OUT_CHUNK, 0);
    let result = step(&mut out[start..]);
    out.truncate(start + result.bytes_written);
    result
}

/// The gzip header fields, in RFC 1952's order after the fixed 10 bytes:
/// each is present when its FLG bit is set.
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;
const FHCRC: u8 = 2;
/// FLG bits RFC 1952 reserves: a decoder must reject them.
const FRESERVED: u8 = 0xe0;

/// Where a gzip decoder is in the member's header.
#[derive(Clone, Copy, Default, PartialEq)]
enum HeaderPart {
    #[default]
    Fixed,
    ExtraLength,
    Extra(u16),
    Name,
    Comment,
    /// FHCRC's two bytes, which start at this offset in the header.
    HeaderCrc(usize),
    Done,
}

/// Gzip's framing around the DEFLATE data, read a byte at a time (headers
/// are short) so chunks may split it anywhere.
#[derive(Default)]
struct Gunzip {
    part: HeaderPart,
    flags: u8,
    /// The header's bytes so far (FHCRC covers them all), then the
    /// trailer's.
    bytes: Vec<u8>,
    check: GzipCheck,
}

impl Gunzip {
    /// Takes header bytes from `input`; returns the rest.
    fn header<'a>(&mut self, input: &'a [u8]) -> std::result::Result<&'a [u8], &'static str> {
        let mut taken = 0;
        while self.part != HeaderPart::Done && taken < input.len() {
            let byte = input[taken];
            taken += 1;
            self.bytes.push(byte);
            self.part = match self.part {
                HeaderPart::Fixed if self.bytes.len() < 10 => HeaderPart::Fixed,
                HeaderPart::Fixed => {
                    let b = &self.bytes;
                    if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3] & FRESERVED != 0 {
                        return Err(CORRUPT);
                    }
                    self.flags = b[3];
                    self.after(HeaderPart::Fixed)
                }
                HeaderPart::ExtraLength if self.bytes.len() < 12 => HeaderPart::ExtraLength,
                HeaderPart::ExtraLength => match u16::from_le_bytes([self.bytes[10], self.bytes[11]]) {
                    0 => self.after(HeaderPart::Extra(0)),
                    n => HeaderPart::Extra(n),
                },
                HeaderPart::Extra(1) => self.after(HeaderPart::Extra(0)),
                HeaderPart::Extra(n) => HeaderPart::Extra(n - 1),
                HeaderPart::Name if byte == 0 => self.after(HeaderPart::Name),
                HeaderPart::Comment if byte == 0 => self.after(HeaderPart::Comment),
                part @ (HeaderPart::Name | HeaderPart::Comment) => part,
                HeaderPart::HeaderCrc(at) if self.bytes.len() < at + 2 => HeaderPart::HeaderCrc(at),
                HeaderPart::HeaderCrc(at) => {
                    // The low 16 bits of the CRC-32 of the header before it.
                    let crc = crc32fast::hash(&self.bytes[..at]) as u16;
                    if crc.to_le_bytes() != self.bytes[at..] {
                        return Err(CORRUPT);
                    }
                    self.after(HeaderPart::HeaderCrc(at))
                }
                HeaderPart::Done => HeaderPart::Done,
            };
        }
        Ok(&input[taken..])
    }

    /// The header part after `part`, skipping those FLG says are absent.
    fn after(&mut self, part: HeaderPart) -> HeaderPart {
        let next = match part {
            HeaderPart::Fixed => HeaderPart::ExtraLength,
            HeaderPart::ExtraLength | HeaderPart::Extra(_) => HeaderPart::Name,
            HeaderPart::Name => HeaderPart::Comment,
            HeaderPart::Comment => HeaderPart::HeaderCrc(self.bytes.len()),
            HeaderPart::HeaderCrc(_) | HeaderPart::Done => HeaderPart::Done,
        };
        let present = match next {
            HeaderPart::ExtraLength => self.flags & FEXTRA != 0,
            HeaderPart::Name => self.flags & FNAME != 0,
            HeaderPart::Comment => self.flags & FCOMMENT != 0,
            HeaderPart::HeaderCrc(_) => self.flags & FHCRC != 0,
            _ => true,
        };
        if !present {
            return self.after(next);
        }
        if next == HeaderPart::Done {
            self.bytes.clear();
        }
        next
    }

    /// Takes trailer bytes from `input`, checking the trailer once it is
    /// whole; returns the rest.
    fn trailer<'a>(&mut self, input: &'a [u8]) -> std::result::Result<&'a [u8], &'static str> {
        let take = input.len().min(8 - self.bytes.len());
        self.bytes.extend_from_slice(&input[..take]);
        if self.checked() && self.bytes[..] != self.check.trailer() {
            return Err(CORRUPT);
        }
        Ok(&input[take..])
    }

    /// Whether the whole trailer is in (and so checked).
    fn checked(&self) -> bool {
        self.bytes.len() == 8
    }
}
