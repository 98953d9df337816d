//! The cryptography behind `crypto.subtle` (`guest/src/node/subtle.js`):
//! SHA digests, HMAC, PBKDF2, HKDF and AES (CBC, CTR, GCM, KW), done by the
//! RustCrypto crates (`sha1`, `sha2`, `hmac`, `pbkdf2`, `hkdf`, `aes`,
//! `cbc`, `ctr`, `ghash`, `aes-kw`). The JS side normalises the
//! algorithm, checks the key and copies the caller's bytes into fresh
//! ArrayBuffers (WebCrypto takes a copy at call time); these functions only
//! compute. A hash name is one of WebCrypto's canonical ones ("SHA-1",
//! "SHA-256", "SHA-384", "SHA-512"); anything else is a bug in the JS side
//! and throws.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, StreamCipher};
use ghash::universal_hash::UniversalHash;
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

/// Runs `$body` with the type alias `$C` bound to the AES of `$key`'s
/// length (the JS side only makes 16, 24 and 32-byte AES keys).
macro_rules! with_aes {
    ($ctx:expr, $key:expr, $C:ident => $body:expr) => {
        match $key.len() {
            16 => {
                type $C = aes::Aes128;
                $body
            }
            24 => {
                type $C = aes::Aes192;
                $body
            }
            32 => {
                type $C = aes::Aes256;
                $body
            }
            n => return Err(Exception::throw_internal($ctx, &format!("no AES key of {n} bytes"))),
        }
    };
}

fn buffer_or_none<'js>(ctx: Ctx<'js>, out: Option<Vec<u8>>) -> Result<Option<ArrayBuffer<'js>>> {
    out.map(|bytes| ArrayBuffer::new(ctx, bytes)).transpose()
}

/// `aesCbc(encrypt, key, iv, data)`: AES-CBC with PKCS#7 padding; `None`
/// when a ciphertext does not decrypt to valid padding (an OperationError).
/// The JS side has checked the 16-byte IV.
pub(crate) fn aes_cbc<'js>(
    ctx: Ctx<'js>,
    encrypt: bool,
    key: ArrayBuffer<'js>,
    iv: ArrayBuffer<'js>,
    data: ArrayBuffer<'js>,
) -> Result<Option<ArrayBuffer<'js>>> {
    let (key, iv, data) = (bytes(&ctx, &key)?, bytes(&ctx, &iv)?, bytes(&ctx, &data)?);
    let bad = |_| Exception::throw_internal(&ctx, "bad AES-CBC key or IV length");
    let out = with_aes!(&ctx, key, C => if encrypt {
        Some(cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(bad)?.encrypt_padded_vec::<Pkcs7>(data))
    } else {
        cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(bad)?.decrypt_padded_vec::<Pkcs7>(data).ok()
    });
    buffer_or_none(ctx, out)
}

/// `aesCtr(key, counter, length, data)`: AES-CTR where only the counter
/// block's rightmost `length` bits count (WebCrypto's AesCtrParams): they
/// wrap to zero without carrying into the rest, so the keystream is cut
/// where they wrap and resumed from the block with those bits cleared.
/// `None` when the data needs more blocks than `length` bits can count
/// (an OperationError: a counter block would repeat).
pub(crate) fn aes_ctr<'js>(
    ctx: Ctx<'js>,
    key: ArrayBuffer<'js>,
    counter: ArrayBuffer<'js>,
    length: u32,
    data: ArrayBuffer<'js>,
) -> Result<Option<ArrayBuffer<'js>>> {
    let (key, counter, data) = (bytes(&ctx, &key)?, bytes(&ctx, &counter)?, bytes(&ctx, &data)?);
    let counter = u128::from_be_bytes(
        counter.try_into().map_err(|_| Exception::throw_internal(&ctx, "the AES-CTR counter is not 16 bytes"))?,
    );
    let mask = if length >= 128 { u128::MAX } else { (1u128 << length) - 1 };
    let blocks = data.len().div_ceil(16) as u128;
    // Blocks before the counter bits wrap (at most 2^128, which no data reaches).
    let before_wrap = (mask - (counter & mask)).saturating_add(1);
    if length < 128 && blocks > mask.saturating_add(1) {
        return Ok(None);
    }
    let mut out = data.to_vec();
    let split = usize::try_from(before_wrap.saturating_mul(16)).map_or(out.len(), |n| n.min(out.len()));
    let (first, rest) = out.split_at_mut(split);
    with_aes!(&ctx, key, C => {
        let start = |block: u128| ctr::Ctr128BE::<C>::new_from_slices(key, &block.to_be_bytes());
        let bad = |_| Exception::throw_internal(&ctx, "bad AES-CTR key length");
        start(counter).map_err(bad)?.apply_keystream(first);
        start(counter & !mask).map_err(bad)?.apply_keystream(rest);
    });
    buffer_or_none(ctx, Some(out))
}

/// `aesGcm(encrypt, key, iv, additionalData, tagBytes, data)`: AES-GCM
/// (NIST SP 800-38D) with any IV length and a tag of 4 to 16 bytes, which
/// WebCrypto allows and the `aes-gcm` crate's fixed-size types do not: so
/// it is built here from the AES block cipher, 32-bit-counter CTR mode and
/// GHASH. Encryption returns the ciphertext and the tag; decryption takes
/// them, and gives `None` when the tag does not match (an OperationError).
pub(crate) fn aes_gcm<'js>(
    ctx: Ctx<'js>,
    encrypt: bool,
    key: ArrayBuffer<'js>,
    iv: ArrayBuffer<'js>,
    aad: ArrayBuffer<'js>,
    tag_len: usize,
    data: ArrayBuffer<'js>,
) -> Result<Option<ArrayBuffer<'js>>> {
    let (key, iv, aad, data) = (bytes(&ctx, &key)?, bytes(&ctx, &iv)?, bytes(&ctx, &aad)?, bytes(&ctx, &data)?);
    let (text, given_tag) = if encrypt {
        (data, &[][..])
    } else if data.len() < tag_len {
        return Ok(None);
    } else {
        data.split_at(data.len() - tag_len)
    };
    // GHASH input lengths, in bits.
    let lengths = |a: usize, b: usize| {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&(a as u64 * 8).to_be_bytes());
        block[8..].copy_from_slice(&(b as u64 * 8).to_be_bytes());
        block
    };
    let out = with_aes!(&ctx, key, C => {
        let cipher = <C as KeyInit>::new_from_slice(key).map_err(|_| Exception::throw_internal(&ctx, "bad AES key"))?;
        let mut h = Default::default();
        cipher.encrypt_block(&mut h);
        // The pre-counter block J0: a 96-bit IV || 0^31 || 1, or GHASH of the IV.
        let mut j0 = [0u8; 16];
        if iv.len() == 12 {
            j0[..12].copy_from_slice(iv);
            j0[15] = 1;
        } else {
            let mut g = ghash::GHash::new(&h);
            g.update_padded(iv);
            g.update_padded(&lengths(0, iv.len()));
            j0.copy_from_slice(&g.finalize());
        }
        let mut first = j0;
        let n = u32::from_be_bytes([j0[12], j0[13], j0[14], j0[15]]).wrapping_add(1);
        first[12..].copy_from_slice(&n.to_be_bytes());
        let keystream = |buf: &mut [u8]| -> Result<()> {
            ctr::Ctr32BE::<C>::new_from_slices(key, &first)
                .map_err(|_| Exception::throw_internal(&ctx, "bad AES key"))?
                .apply_keystream(buf);
            Ok(())
        };
        let mut out = text.to_vec();
        if encrypt {
            keystream(&mut out)?;
        }
        let ciphertext: &[u8] = if encrypt { &out } else { text };
        let mut g = ghash::GHash::new(&h);
        g.update_padded(aad);
        g.update_padded(ciphertext);
        g.update_padded(&lengths(aad.len(), ciphertext.len()));
        let s = g.finalize();
        let mut tag = j0.into();
        cipher.encrypt_block(&mut tag);
        let tag: Vec<u8> = tag.iter().zip(s.iter()).map(|(a, b)| a ^ b).take(tag_len).collect();
        if encrypt {
            out.extend_from_slice(&tag);
            Some(out)
        } else if tag.iter().zip(given_tag).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0 {
            // Compared in full before anything is decrypted or returned.
            keystream(&mut out)?;
            Some(out)
        } else {
            None
        }
    });
    buffer_or_none(ctx, out)
}

/// `aesKw(wrap, key, data)`: AES Key Wrap (RFC 3394); `None` when the data
/// is not a whole number of 8-byte blocks (at least two to wrap, three to
/// unwrap) or, unwrapping, its integrity check fails (an OperationError).
pub(crate) fn aes_kw<'js>(
    ctx: Ctx<'js>,
    wrap: bool,
    key: ArrayBuffer<'js>,
    data: ArrayBuffer<'js>,
) -> Result<Option<ArrayBuffer<'js>>> {
    let (key, data) = (bytes(&ctx, &key)?, bytes(&ctx, &data)?);
    let out = with_aes!(&ctx, key, C => {
        let kw = aes_kw::AesKw::<C>::new_from_slice(key).map_err(|_| Exception::throw_internal(&ctx, "bad AES key"))?;
        if wrap {
            let mut buf = vec![0u8; data.len() + 8];
            kw.wrap_key(data, &mut buf).ok().map(<[u8]>::to_vec)
        } else {
            let mut buf = vec![0u8; data.len().saturating_sub(8)];
            kw.unwrap_key(data, &mut buf).ok().map(<[u8]>::to_vec)
        }
    });
    buffer_or_none(ctx, out)
}

/// Runs `$body` with `$c` naming the curve crate of `$name` ("P-256",
/// "P-384" or "P-521"; the JS side only makes EC keys on those), so one
/// body serves every curve's types.
macro_rules! with_curve {
    ($ctx:expr, $name:expr, $c:ident => $body:expr) => {
        match $name.as_str() {
            "P-256" => {
                use p256 as $c;
                $body
            }
            "P-384" => {
                use p384 as $c;
                $body
            }
            "P-521" => {
                use p521 as $c;
                $body
            }
            other => return Err(Exception::throw_internal($ctx, &format!("no curve '{other}'"))),
        }
    };
}

/// `ecGenerate(curve)`: a new private key (the scalar d, big-endian, the
/// curve's field size), drawn from the host's CSPRNG: random bytes until
/// they are a valid scalar (in [1, n-1]), which is unbiased rejection
/// sampling and needs no RNG adapter for the crate.
pub(crate) fn ec_generate<'js>(ctx: Ctx<'js>, curve: String) -> Result<ArrayBuffer<'js>> {
    let out = with_curve!(&ctx, curve, c => loop {
        let mut d = c::FieldBytes::default();
        super::random::fill(&ctx, &mut d)?;
        if c::SecretKey::from_bytes(&d).is_ok() {
            break d.to_vec();
        }
    });
    ArrayBuffer::new(ctx, out)
}

/// `ecPublic(curve, d)`: the public point of private key `d`, as an
/// uncompressed SEC1 point (0x04 || x || y); `None` when `d` is not a key
/// of the curve.
pub(crate) fn ec_public<'js>(ctx: Ctx<'js>, curve: String, d: ArrayBuffer<'js>) -> Result<Option<ArrayBuffer<'js>>> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let d = bytes(&ctx, &d)?;
    let out = with_curve!(&ctx, curve, c => c::SecretKey::from_slice(d)
        .ok()
        .map(|key| key.public_key().to_sec1_point(false).as_bytes().to_vec()));
    buffer_or_none(ctx, out)
}

/// `ecPoint(curve, bytes)`: a SEC1 point (compressed or not) checked to be
/// on the curve and not the identity, as an uncompressed point; `None`
/// otherwise (a DataError).
pub(crate) fn ec_point<'js>(ctx: Ctx<'js>, curve: String, point: ArrayBuffer<'js>) -> Result<Option<ArrayBuffer<'js>>> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let point = bytes(&ctx, &point)?;
    let out = with_curve!(&ctx, curve, c => c::PublicKey::from_sec1_bytes(point)
        .ok()
        .map(|key| key.to_sec1_point(false).as_bytes().to_vec()));
    buffer_or_none(ctx, out)
}

/// `ecImport(curve, pkcs8, der)`: a DER SubjectPublicKeyInfo (`pkcs8`
/// false: gives the uncompressed point) or PKCS #8 PrivateKeyInfo (gives
/// d) of an id-ecPublicKey key on `curve`; `None` when it is not one (bad
/// DER, another algorithm or curve, a point off the curve: a DataError).
pub(crate) fn ec_import<'js>(
    ctx: Ctx<'js>,
    curve: String,
    pkcs8: bool,
    der: ArrayBuffer<'js>,
) -> Result<Option<ArrayBuffer<'js>>> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let der = bytes(&ctx, &der)?;
    let out = with_curve!(&ctx, curve, c => if pkcs8 {
        c::SecretKey::from_pkcs8_der(der).ok().map(|key| key.to_bytes().to_vec())
    } else {
        c::PublicKey::from_public_key_der(der).ok().map(|key| key.to_sec1_point(false).as_bytes().to_vec())
    });
    buffer_or_none(ctx, out)
}

/// `ecExport(curve, pkcs8, key)`: the DER SubjectPublicKeyInfo of a public
/// point, or (`pkcs8`) the PKCS #8 PrivateKeyInfo of d, with the public key
/// in it, as node (OpenSSL) writes it.
pub(crate) fn ec_export<'js>(ctx: Ctx<'js>, curve: String, pkcs8: bool, key: ArrayBuffer<'js>) -> Result<ArrayBuffer<'js>> {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let key = bytes(&ctx, &key)?;
    let bad = |_| Exception::throw_internal(&ctx, "bad EC key");
    let out = with_curve!(&ctx, curve, c => if pkcs8 {
        let key = c::SecretKey::from_slice(key).map_err(bad)?;
        key.to_pkcs8_der().map_err(|_| Exception::throw_internal(&ctx, "PKCS #8 encoding failed"))?.as_bytes().to_vec()
    } else {
        let key = c::PublicKey::from_sec1_bytes(key).map_err(bad)?;
        key.to_public_key_der().map_err(|_| Exception::throw_internal(&ctx, "SPKI encoding failed"))?.as_bytes().to_vec()
    });
    ArrayBuffer::new(ctx, out)
}

/// `ecdsaSign(curve, hash, d, data)`: the ECDSA signature of `data`'s
/// `hash` digest, as WebCrypto gives it (r || s, each the curve's field
/// size). The nonce is RFC 6979's, derived from the key and the digest
/// (a valid ECDSA signature; node's are randomised, so signatures differ
/// between the two, and both verify).
pub(crate) fn ecdsa_sign<'js>(
    ctx: Ctx<'js>,
    curve: String,
    hash: String,
    d: ArrayBuffer<'js>,
    data: ArrayBuffer<'js>,
) -> Result<ArrayBuffer<'js>> {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    let (d, data) = (bytes(&ctx, &d)?, bytes(&ctx, &data)?);
    let prehash = with_hash!(&ctx, hash, D => D::digest(data).to_vec());
    let out = with_curve!(&ctx, curve, c => {
        let key = c::ecdsa::SigningKey::from_slice(d).map_err(|_| Exception::throw_internal(&ctx, "bad EC key"))?;
        let signature: c::ecdsa::Signature =
            key.sign_prehash(&prehash).map_err(|_| Exception::throw_internal(&ctx, "ECDSA signing failed"))?;
        signature.to_bytes().to_vec()
    });
    ArrayBuffer::new(ctx, out)
}

/// `ecdsaVerify(curve, hash, point, signature, data)`: whether `signature`
/// (r || s) is a valid ECDSA signature of `data`'s `hash` digest under the
/// public `point`. A signature of the wrong length, or with r or s out of
/// range, is simply not valid (false), as WebCrypto says.
pub(crate) fn ecdsa_verify<'js>(
    ctx: Ctx<'js>,
    curve: String,
    hash: String,
    point: ArrayBuffer<'js>,
    signature: ArrayBuffer<'js>,
    data: ArrayBuffer<'js>,
) -> Result<bool> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let (point, signature, data) = (bytes(&ctx, &point)?, bytes(&ctx, &signature)?, bytes(&ctx, &data)?);
    let prehash = with_hash!(&ctx, hash, D => D::digest(data).to_vec());
    Ok(with_curve!(&ctx, curve, c => {
        let key = c::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| Exception::throw_internal(&ctx, "bad EC key"))?;
        match c::ecdsa::Signature::from_slice(signature) {
            Ok(signature) => key.verify_prehash(&prehash, &signature).is_ok(),
            Err(_) => false,
        }
    }))
}

/// `ecdh(curve, d, point)`: the ECDH shared secret of private key `d` and
/// the public `point` (the x-coordinate of d·Q, the curve's field size).
pub(crate) fn ecdh<'js>(ctx: Ctx<'js>, curve: String, d: ArrayBuffer<'js>, point: ArrayBuffer<'js>) -> Result<ArrayBuffer<'js>> {
    let (d, point) = (bytes(&ctx, &d)?, bytes(&ctx, &point)?);
    let bad = |_| Exception::throw_internal(&ctx, "bad EC key");
    let out = with_curve!(&ctx, curve, c => {
        let secret = c::SecretKey::from_slice(d).map_err(bad)?;
        let public = c::PublicKey::from_sec1_bytes(point).map_err(bad)?;
        secret.diffie_hellman(&public).raw_secret_bytes().to_vec()
    });
    ArrayBuffer::new(ctx, out)
}
