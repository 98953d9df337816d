//! `crypto.getRandomValues` and `crypto.randomUUID`: bytes from the host's
//! CSPRNG through WASI `random_get`, drawn at call time. Nothing here is
//! computed during `init`, so a Wizer snapshot carries no random state and
//! every runtime of a factory draws its own bytes.

use javy::quickjs::{ArrayBuffer, Ctx, Exception, Result};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, len: usize) -> u16;
}

/// Fills `bytes` from the host's CSPRNG (also the source of `crypto.subtle`'s
/// EC private keys).
pub(crate) fn fill(ctx: &Ctx<'_>, bytes: &mut [u8]) -> Result<()> {
    // SAFETY: `bytes` is valid for writes of its length.
    let errno = unsafe { wasi_random_get(bytes.as_mut_ptr(), bytes.len()) };
    if errno != 0 {
        return Err(Exception::throw_internal(ctx, "the host's random source failed"));
    }
    Ok(())
}

/// `fillRandom(buffer, byteOffset, byteLength)`: overwrites that range of
/// an ArrayBuffer with random bytes (`crypto.js` checks the view first).
pub(crate) fn fill_random<'js>(ctx: Ctx<'js>, buffer: ArrayBuffer<'js>, offset: usize, length: usize) -> Result<()> {
    let raw = buffer
        .as_raw()
        .ok_or_else(|| Exception::throw_type(&ctx, "the ArrayBuffer is detached"))?;
    if offset.checked_add(length).is_none_or(|end| end > raw.len) {
        return Err(Exception::throw_range(&ctx, "the view lies outside its buffer"));
    }
    // SAFETY: the range was checked against the buffer's length, and the
    // buffer stays alive (it is an argument) while we write.
    let bytes = unsafe { std::slice::from_raw_parts_mut(raw.ptr.as_ptr().add(offset), length) };
    fill(&ctx, bytes)
}

/// `randomUUID()`: an RFC 9562 version 4 UUID in lowercase hex.
pub(crate) fn random_uuid(ctx: Ctx<'_>) -> Result<String> {
    let mut b = [0u8; 16];
    fill(&ctx, &mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    Ok(out)
}
