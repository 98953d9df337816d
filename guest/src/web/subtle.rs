//! The cryptography behind `crypto.subtle` (`guest/src/node/subtle.js`):
//! SHA digests, HMAC, PBKDF2 and HKDF, done by the RustCrypto crates
//! (`sha1`, `sha2`, `hmac`, `pbkdf2`, `hkdf`). The JS side normalises the
//! algorithm, checks the key and copies the caller's bytes into fresh
//! ArrayBuffers (WebCrypto takes a copy at call time); these functions only
//! compute. A hash name is one of WebCrypto's canonical ones ("SHA-1",
//! "SHA-256", "SHA-384", "SHA-512"); anything else is a bug in the JS side
//! and throws.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use javy::quickjs::{ArrayBuffer, Ctx, Exception, Result};
use sha2::Digest;

/// Runs `$body` with the type alias `$D` bound to the hash named `$name`.
macro_rules! with_hash {
    ($ctx:expr, $name:expr, $D:ident => $body:expr) => {
        match $name.as_str() {
            "SHA-1" => {
                type $D = sha1::Sha1;
                $body
            }
            "SHA-256" => {
                type $D = sha2::Sha256;
                $body
            }
            "SHA-384" => {
                type $D = sha2::Sha384;
                $body
            }
            "SHA-512" => {
                type $D = sha2::Sha512;
                $body
            }
            other => return Err(Exception::throw_internal($ctx, &format!("no hash '{other}'"))),
        }
    };
}

fn bytes<'a>(ctx: &Ctx<'_>, buffer: &'a ArrayBuffer<'_>) -> Result<&'a [u8]> {
    buffer
        .as_bytes()
        .ok_or_else(|| Exception::throw_type(ctx, "the ArrayBuffer is detached"))
}

/// `digest(hash, data)`: the digest of `data`, as a new ArrayBuffer.
pub(crate) fn digest<'js>(ctx: Ctx<'js>, hash: String, data: ArrayBuffer<'js>) -> Result<ArrayBuffer<'js>> {
    let data = bytes(&ctx, &data)?;
    let out = with_hash!(&ctx, hash, D => D::digest(data).to_vec());
    ArrayBuffer::new(ctx, out)
}

/// `hmacSign(hash, key, data)`: the HMAC tag of `data` under `key`.
pub(crate) fn hmac_sign<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: ArrayBuffer<'js>,
    data: ArrayBuffer<'js>,
) -> Result<ArrayBuffer<'js>> {
    let (key, data) = (bytes(&ctx, &key)?, bytes(&ctx, &data)?);
    let out = with_hash!(&ctx, hash, D => {
        // HMAC takes a key of any length: new_from_slice cannot fail.
        let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    });
    ArrayBuffer::new(ctx, out)
}

/// `hmacVerify(hash, key, signature, data)`: whether `signature` is the
/// HMAC tag of `data`, compared in constant time (WebCrypto's verify must
/// not leak how much of a guessed tag was right).
pub(crate) fn hmac_verify<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: ArrayBuffer<'js>,
    signature: ArrayBuffer<'js>,
    data: ArrayBuffer<'js>,
) -> Result<bool> {
    let (key, signature, data) = (bytes(&ctx, &key)?, bytes(&ctx, &signature)?, bytes(&ctx, &data)?);
    Ok(with_hash!(&ctx, hash, D => {
        let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
        mac.update(data);
        mac.verify_slice(signature).is_ok()
    }))
}

/// `pbkdf2(hash, password, salt, iterations, byteLength)`: PBKDF2 with
/// HMAC-`hash` (RFC 8018). The JS side has checked `iterations` > 0.
pub(crate) fn pbkdf2<'js>(
    ctx: Ctx<'js>,
    hash: String,
    password: ArrayBuffer<'js>,
    salt: ArrayBuffer<'js>,
    iterations: u32,
    length: usize,
) -> Result<ArrayBuffer<'js>> {
    let (password, salt) = (bytes(&ctx, &password)?, bytes(&ctx, &salt)?);
    let mut out = vec![0u8; length];
    with_hash!(&ctx, hash, D => pbkdf2::pbkdf2_hmac::<D>(password, salt, iterations, &mut out));
    ArrayBuffer::new(ctx, out)
}

/// `hkdf(hash, ikm, salt, info, byteLength)`: HKDF extract-and-expand
/// (RFC 5869), or `None` when `byteLength` exceeds 255 hash lengths (the
/// JS side turns that into an OperationError).
pub(crate) fn hkdf<'js>(
    ctx: Ctx<'js>,
    hash: String,
    ikm: ArrayBuffer<'js>,
    salt: ArrayBuffer<'js>,
    info: ArrayBuffer<'js>,
    length: usize,
) -> Result<Option<ArrayBuffer<'js>>> {
    let (ikm, salt, info) = (bytes(&ctx, &ikm)?, bytes(&ctx, &salt)?, bytes(&ctx, &info)?);
    let mut out = vec![0u8; length];
    let ok = with_hash!(&ctx, hash, D => Hkdf::<D>::new(Some(salt), ikm).expand(info, &mut out).is_ok());
    if !ok {
        return Ok(None);
    }
    ArrayBuffer::new(ctx, out).map(Some)
}
