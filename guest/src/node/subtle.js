// crypto.subtle (SubtleCrypto) and CryptoKey, written to the Web
// Cryptography API: digest (SHA-1, SHA-256, SHA-384, SHA-512); HMAC keys
// (generateKey, importKey and exportKey as raw or jwk, sign, verify); HKDF
// and PBKDF2 keys (importKey raw, deriveBits, deriveKey); AES-CBC, AES-CTR
// and AES-GCM keys (generateKey, importKey/exportKey raw or jwk, encrypt,
// decrypt, wrapKey, unwrapKey) and AES-KW keys (generateKey,
// importKey/exportKey, wrapKey, unwrapKey); ECDSA and ECDH keys on P-256,
// P-384 and P-521 (generateKey, importKey/exportKey as raw, spki, pkcs8 or
// jwk, sign and verify, deriveBits and deriveKey). Other algorithms (RSA,
// Ed25519, X25519) are NotSupportedError. The cryptography is Rust's (guest/src/web/subtle.rs,
// the RustCrypto crates); this file does the WebIDL conversions, algorithm
// normalisation, key checks and errors, in the spec's order.
//
// Compiled on the first read of `crypto.subtle`, `SubtleCrypto` or
// `CryptoKey` (guest/src/web/crypto.js), so a runtime that does not use it
// has none of it in its heap. Where node 20 departs from the spec (a
// non-extractable key's export throws "InvalidAccessException", a wrong
// format for an HMAC key a plain Error or InvalidAccessError, an HMAC
// import length in the last byte a DataError, a jwk import of a
// BufferSource a DataError, repeated usages on import a DataError), this
// follows the spec (docs/web-platform.md lists these too).
'use strict';

const { native, web } = require('jsbox:web');
const { DOMException, codeError } = web;

const token = Symbol('jsbox:subtle');
const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
const KEY_FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];
const KEY_USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
// HMAC's default key length: the hash's block size, in bits.
const BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
// JWK "alg" of an HMAC key, by hash.
const JWK_ALG = { 'SHA-1': 'HS1', 'SHA-256': 'HS256', 'SHA-384': 'HS384', 'SHA-512': 'HS512' };

const domError = (name, message) => new DOMException(message, name);
const ordinal = (i) => ['1st', '2nd', '3rd', '4th', '5th', '6th', '7th'][i];

// ---- WebIDL conversions ---------------------------------------------------

function requireArgs(method, args, count) {
  if (args.length < count) {
    throw codeError(TypeError, 'ERR_MISSING_ARGS',
      `Failed to execute '${method}' on 'SubtleCrypto': ${count} arguments required, but only ${args.length} present.`);
  }
}

// A BufferSource, copied now: the operation sees the bytes as they were
// when it was called, whatever the caller does to its buffer afterwards.
function bufferCopy(v, what) {
  if (v instanceof ArrayBuffer) return v.slice(0);
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `${what} is not instance of ArrayBuffer, Buffer, TypedArray, or DataView.`);
}

function enumValue(v, values, what, type) {
  const s = `${v}`;
  if (!values.includes(s)) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', `${what} value '${s}' is not a valid enum value of type ${type}.`);
  }
  return s;
}

// sequence<KeyUsage>, with repeats dropped (as node does: a key's usages
// are a set).
function usageList(v, what) {
  if (v === null || typeof v !== 'object' || typeof v[Symbol.iterator] !== 'function') {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} can not be converted to sequence.`);
  }
  const out = [];
  let i = 0;
  for (const u of v) {
    const usage = enumValue(u, KEY_USAGES, `${what}, index ${i++}`, 'KeyUsage');
    if (!out.includes(usage)) out.push(usage);
  }
  return out;
}

// An unsigned integer of `bits` bits (octet 8, unsigned short 16,
// unsigned long 32): [EnforceRange] throws on what would wrap; otherwise
// modulo 2^bits.
function unsigned(v, what, bits, enforceRange) {
  let n = Number(v);
  const max = 2 ** bits - 1;
  if (enforceRange) {
    if (!Number.isFinite(n)) throw codeError(TypeError, 'ERR_OUT_OF_RANGE', `${what} is not a finite number.`);
    n = Math.trunc(n);
    if (n < 0 || n > max) {
      throw codeError(TypeError, 'ERR_OUT_OF_RANGE', `${what} is outside the expected range of 0 to ${max}.`);
    }
    return n;
  }
  if (!Number.isFinite(n)) return 0;
  return ((Math.trunc(n) % 2 ** bits) + 2 ** bits) % 2 ** bits;
}
const enforced = (bits) => (v, what) => unsigned(v, what, bits, true);

function cryptoKeyArg(v, method, index) {
  if (!isKey(v)) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `Failed to execute '${method}' on 'SubtleCrypto': ${ordinal(index)} argument is not of type CryptoKey.`);
  }
  return v;
}

// ---- algorithm normalisation ------------------------------------------------

// A dictionary member: converted with `convert` when present, a TypeError
// when required and missing.
function member(dict, name, type, required, convert) {
  const v = dict[name];
  if (v === undefined) {
    if (required) {
      throw codeError(TypeError, 'ERR_MISSING_OPTION',
        `Failed to normalize algorithm: passed algorithm can not be converted to '${type}' because '${name}' is required in '${type}'.`);
    }
    return undefined;
  }
  return convert(v, `'${name}' of '${type}' (passed algorithm)`);
}

const hashMember = (type, required) => (dict) => member(dict, 'hash', type, required, (v) => normalize(v, 'digest'));
const hmacParams = (type) => (dict) => ({
  hash: hashMember(type, true)(dict),
  length: member(dict, 'length', type, false, enforced(32)),
});

// The algorithms each operation knows: upper-cased name -> [its registered
// name, the conversion of the rest of its dictionary (members in WebIDL's
// lexicographic order)]. "get key length" is deriveKey's question to the
// derived key's algorithm.
const noParams = () => ({});
const ecKeyParams = (type) => (dict) => ({ namedCurve: member(dict, 'namedCurve', type, true, (v) => `${v}`) });
const ecdsaParams = (dict) => ({ hash: hashMember('EcdsaParams', true)(dict) });
const ecdhParams = (dict) => ({
  public: member(dict, 'public', 'EcdhKeyDeriveParams', true, (v, what) => {
    if (!isKey(v)) throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} is not of type CryptoKey.`);
    return v;
  }),
});
const AES = ['AES-CTR', 'AES-CBC', 'AES-GCM', 'AES-KW'];
const AES_CIPHERS = ['AES-CTR', 'AES-CBC', 'AES-GCM'];
const EC = ['ECDSA', 'ECDH'];
const aesLength = (type) => (dict) => ({ length: member(dict, 'length', type, true, enforced(16)) });
const CIPHER_PARAMS = {
  'AES-CBC': (dict) => ({ iv: member(dict, 'iv', 'AesCbcParams', true, bufferCopy) }),
  'AES-CTR': (dict) => ({
    counter: member(dict, 'counter', 'AesCtrParams', true, bufferCopy),
    length: member(dict, 'length', 'AesCtrParams', true, enforced(8)),
  }),
  'AES-GCM': (dict) => ({
    additionalData: member(dict, 'additionalData', 'AesGcmParams', false, bufferCopy),
    iv: member(dict, 'iv', 'AesGcmParams', true, bufferCopy),
    tagLength: member(dict, 'tagLength', 'AesGcmParams', false, enforced(8)),
  }),
};
const byName = (names, convert) => Object.fromEntries(names.map((n) => [n, [n, convert(n)]]));
const REGISTERED = {
  digest: Object.fromEntries(HASHES.map((h) => [h, [h, noParams]])),
  sign: { HMAC: ['HMAC', noParams], ECDSA: ['ECDSA', ecdsaParams] },
  verify: { HMAC: ['HMAC', noParams], ECDSA: ['ECDSA', ecdsaParams] },
  encrypt: byName(AES_CIPHERS, (n) => CIPHER_PARAMS[n]),
  decrypt: byName(AES_CIPHERS, (n) => CIPHER_PARAMS[n]),
  wrapKey: { 'AES-KW': ['AES-KW', noParams] },
  unwrapKey: { 'AES-KW': ['AES-KW', noParams] },
  generateKey: {
    HMAC: ['HMAC', hmacParams('HmacKeyGenParams')],
    ...byName(AES, () => aesLength('AesKeyGenParams')),
    ...byName(EC, () => ecKeyParams('EcKeyGenParams')),
  },
  importKey: {
    HMAC: ['HMAC', hmacParams('HmacImportParams')],
    HKDF: ['HKDF', noParams],
    PBKDF2: ['PBKDF2', noParams],
    ...byName(AES, () => noParams),
    ...byName(EC, () => ecKeyParams('EcKeyImportParams')),
  },
  'get key length': {
    HMAC: ['HMAC', hmacParams('HmacImportParams')],
    HKDF: ['HKDF', noParams],
    PBKDF2: ['PBKDF2', noParams],
    ...byName(AES, () => aesLength('AesDerivedKeyParams')),
  },
  deriveBits: {
    ECDH: ['ECDH', ecdhParams],
    HKDF: ['HKDF', (dict) => ({
      hash: hashMember('HkdfParams', true)(dict),
      info: member(dict, 'info', 'HkdfParams', true, bufferCopy),
      salt: member(dict, 'salt', 'HkdfParams', true, bufferCopy),
    })],
    PBKDF2: ['PBKDF2', (dict) => ({
      hash: hashMember('Pbkdf2Params', true)(dict),
      iterations: member(dict, 'iterations', 'Pbkdf2Params', true, enforced(32)),
      salt: member(dict, 'salt', 'Pbkdf2Params', true, bufferCopy),
    })],
  },
};

// WebCrypto's "normalize an algorithm": a string is { name }, the name is
// matched without regard to ASCII case, and the dictionary is converted
// to the operation's parameter type.
function normalize(algorithm, op) {
  if (algorithm === null || typeof algorithm !== 'object') return normalize({ name: `${algorithm}` }, op);
  const name = algorithm.name;
  if (name === undefined) {
    throw codeError(TypeError, 'ERR_MISSING_OPTION',
      "Failed to normalize algorithm: passed algorithm can not be converted to 'Algorithm' because 'name' is required in 'Algorithm'.");
  }
  const entry = (REGISTERED[op] || {})[`${name}`.toUpperCase()];
  if (entry === undefined) throw domError('NotSupportedError', 'Unrecognized algorithm name');
  const [registered, convert] = entry;
  const params = convert(algorithm);
  const out = { name: registered };
  for (const key of Object.keys(params)) if (params[key] !== undefined) out[key] = params[key];
  return out;
}

// ---- CryptoKey --------------------------------------------------------------

let isKey;
let keySlots;

class CryptoKey {
  // What the getters show: the algorithm object and usages array are the
  // same ones on every read, as in node. Operations read #slots instead
  // (type, extractable, the internal algorithm and usages, the key bytes),
  // so a script that edits what the getters returned changes nothing.
  #algorithm;
  #usages;
  #slots;
  constructor(key, type, extractable, algorithm, usages, data) {
    if (key !== token) throw codeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
    this.#algorithm = publicAlgorithm(algorithm);
    this.#usages = usages.slice();
    this.#slots = { type, extractable, algorithm, usages: usages.slice(), data };
  }
  get type() { return checkKeyThis(this) && this.#slots.type; }
  get extractable() { return checkKeyThis(this) && this.#slots.extractable; }
  get algorithm() { return checkKeyThis(this) && this.#algorithm; }
  get usages() { return checkKeyThis(this) && this.#usages; }
  static {
    isKey = (v) => v !== null && typeof v === 'object' && #slots in v;
    keySlots = (k) => k.#slots;
  }
}

function checkKeyThis(v) {
  if (!isKey(v)) throw codeError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type CryptoKey');
  return true;
}

// The KeyAlgorithm dictionary a key shows: a copy, hash as { name }.
function publicAlgorithm(algorithm) {
  const out = { name: algorithm.name };
  if (algorithm.hash !== undefined) out.hash = { name: algorithm.hash.name };
  if (algorithm.length !== undefined) out.length = algorithm.length;
  if (algorithm.namedCurve !== undefined) out.namedCurve = algorithm.namedCurve;
  return out;
}

// ---- HMAC ------------------------------------------------------------------

function checkUsages(usages, allowed, algorithm) {
  for (const u of usages) {
    if (!allowed.includes(u)) throw domError('SyntaxError', `Unsupported key usage for an ${algorithm} key`);
  }
}

function hmacKey(data, hash, length, extractable, usages) {
  return new CryptoKey(token, 'secret', extractable, { name: 'HMAC', hash, length }, usages, data);
}

// A key of `length` bits: whole random bytes, the bits past `length` in
// the last byte cleared.
function randomKey(length) {
  const bytes = new Uint8Array(Math.ceil(length / 8));
  native.fillRandom(bytes.buffer, 0, bytes.byteLength);
  if (length % 8) bytes[bytes.length - 1] &= 0xff << (8 - (length % 8));
  return bytes.buffer;
}

function hmacGenerate(alg, extractable, usages) {
  checkUsages(usages, ['sign', 'verify'], 'HMAC');
  let length = BLOCK_BITS[alg.hash.name];
  if (alg.length !== undefined) {
    if (alg.length === 0) throw domError('OperationError', 'HMAC key length must not be zero');
    length = alg.length;
  }
  return hmacKey(randomKey(length), alg.hash, length, extractable, usages);
}

// base64url, as JWK's "k" has it (no padding), over atob/btoa's binary strings.
function base64urlDecode(s) {
  const binary = /^[A-Za-z0-9_-]*$/.test(s) ? native.atob(s.replace(/-/g, '+').replace(/_/g, '/')) : 1;
  if (typeof binary !== 'string') throw domError('DataError', 'Invalid keyData');
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function base64urlEncode(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return native.btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The JsonWebKey members secret and EC keys use, converted (lexicographic order).
function jwkDictionary(v, what) {
  const str = (x) => (x === undefined ? undefined : `${x}`);
  const ops = v.key_ops;
  if (ops !== undefined && (ops === null || typeof ops !== 'object' || typeof ops[Symbol.iterator] !== 'function')) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what}: key_ops can not be converted to sequence.`);
  }
  return {
    alg: str(v.alg),
    crv: str(v.crv),
    d: str(v.d),
    ext: v.ext === undefined ? undefined : !!v.ext,
    k: str(v.k),
    key_ops: ops === undefined ? undefined : Array.from(ops, (o) => `${o}`),
    kty: str(v.kty),
    use: str(v.use),
    x: str(v.x),
    y: str(v.y),
  };
}

// A secret key's bytes from a JsonWebKey (WebCrypto's checks for an "oct"
// key, in its order): `algFor(bytes)` is the "alg" the key must have if it
// has one, `use` its "use" ("sig" or "enc").
function jwkSecret(jwk, algFor, use, extractable, usages) {
  if (jwk.kty !== 'oct') throw domError('DataError', 'Invalid JWK "kty" Parameter');
  if (jwk.k === undefined) throw domError('DataError', 'Invalid JWK "k" Parameter');
  const data = base64urlDecode(jwk.k);
  const alg = algFor(data);
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw domError('DataError', 'JWK "alg" does not match the requested algorithm');
  }
  if (usages.length > 0 && jwk.use !== undefined && jwk.use !== use) {
    throw domError('DataError', 'Invalid JWK "use" Parameter');
  }
  if (jwk.key_ops !== undefined) {
    if (new Set(jwk.key_ops).size !== jwk.key_ops.length || jwk.key_ops.some((o) => !KEY_USAGES.includes(o)) ||
        usages.some((u) => !jwk.key_ops.includes(u))) {
      throw domError('DataError', 'Key operations and usage mismatch');
    }
  }
  if (jwk.ext === false && extractable) throw domError('DataError', 'JWK "ext" Parameter and extractable mismatch');
  return data;
}

// A secret key as `format`: its bytes, or a JsonWebKey whose "alg" is `alg`.
function secretExport(format, k, alg) {
  if (format === 'raw') return k.data.slice(0);
  if (format === 'jwk') {
    return { alg, ext: k.extractable, k: base64urlEncode(k.data), key_ops: k.usages.slice(), kty: 'oct' };
  }
  throw domError('NotSupportedError', `Unable to export ${k.algorithm.name} key with format ${format}`);
}

function hmacImport(format, keyData, alg, extractable, usages) {
  checkUsages(usages, ['sign', 'verify'], 'HMAC');
  let data;
  if (format === 'raw') {
    data = keyData;
  } else if (format === 'jwk') {
    data = jwkSecret(keyData, () => JWK_ALG[alg.hash.name], 'sig', extractable, usages);
  } else {
    throw domError('NotSupportedError', `Unable to import HMAC key with format ${format}`);
  }
  const bits = data.byteLength * 8;
  if (bits === 0) throw domError('DataError', 'Zero-length key is not supported');
  let length = bits;
  if (alg.length !== undefined) {
    // The length may only leave bits of the key's last byte unused.
    if (alg.length > bits || alg.length <= bits - 8) throw domError('DataError', 'Invalid key length');
    length = alg.length;
  }
  return hmacKey(data, alg.hash, length, extractable, usages);
}

const hmacExport = (format, k) => secretExport(format, k, JWK_ALG[k.algorithm.hash.name]);

// ---- AES -------------------------------------------------------------------

const AES_LENGTHS = [128, 192, 256];
const aesUsages = (name) => (name === 'AES-KW' ? ['wrapKey', 'unwrapKey'] : ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
// JWK "alg" of an AES key: "A128GCM", "A256KW", ...
const aesJwkAlg = (name, bits) => `A${bits}${name.slice(4)}`;

function aesKey(name, data, extractable, usages) {
  return new CryptoKey(token, 'secret', extractable, { name, length: data.byteLength * 8 }, usages, data);
}

function aesGenerate(alg, extractable, usages) {
  checkUsages(usages, aesUsages(alg.name), alg.name);
  if (!AES_LENGTHS.includes(alg.length)) {
    throw domError('OperationError', 'AES key length must be 128, 192, or 256 bits');
  }
  return aesKey(alg.name, randomKey(alg.length), extractable, usages);
}

function aesImport(format, keyData, alg, extractable, usages) {
  checkUsages(usages, aesUsages(alg.name), alg.name);
  const checkLength = (data) => {
    if (!AES_LENGTHS.includes(data.byteLength * 8)) throw domError('DataError', 'Invalid key length');
    return data.byteLength * 8;
  };
  let data;
  if (format === 'raw') {
    data = keyData;
    checkLength(data);
  } else if (format === 'jwk') {
    data = jwkSecret(keyData, (d) => aesJwkAlg(alg.name, checkLength(d)), 'enc', extractable, usages);
  } else {
    throw domError('NotSupportedError', `Unable to import ${alg.name} key with format ${format}`);
  }
  return aesKey(alg.name, data, extractable, usages);
}

const aesExport = (format, k) => secretExport(format, k, aesJwkAlg(k.algorithm.name, k.algorithm.length));

// A native result of null is the operation's failure (bad padding, a
// wrong tag, a counter that would repeat).
function orFail(result) {
  if (result === null || result === undefined) {
    throw domError('OperationError', 'The operation failed for an operation-specific reason');
  }
  return result;
}

const GCM_TAG_LENGTHS = [32, 64, 96, 104, 112, 120, 128];
const EMPTY = new ArrayBuffer(0);

// encrypt and decrypt (and wrapKey/unwrapKey through them): `encrypt`
// says which.
const CIPHER = {
  'AES-CBC'(encrypt, alg, k, data) {
    if (alg.iv.byteLength !== 16) throw domError('OperationError', 'algorithm.iv must contain exactly 16 bytes');
    return orFail(native.aesCbc(encrypt, k.data, alg.iv, data));
  },
  'AES-CTR'(encrypt, alg, k, data) {
    if (alg.counter.byteLength !== 16) throw domError('OperationError', 'algorithm.counter must contain exactly 16 bytes');
    if (alg.length === 0 || alg.length > 128) throw domError('OperationError', 'algorithm.length must be between 1 and 128');
    return orFail(native.aesCtr(k.data, alg.counter, alg.length, data));
  },
  'AES-GCM'(encrypt, alg, k, data) {
    const tagLength = alg.tagLength === undefined ? 128 : alg.tagLength;
    if (!GCM_TAG_LENGTHS.includes(tagLength)) {
      throw domError('OperationError', `${tagLength} is not a valid AES-GCM tag length`);
    }
    return orFail(native.aesGcm(encrypt, k.data, alg.iv, alg.additionalData || EMPTY, tagLength / 8, data));
  },
};

// ---- HKDF and PBKDF2 ---------------------------------------------------------

function kdfImport(name) {
  return (format, keyData, alg, extractable, usages) => {
    checkUsages(usages, ['deriveKey', 'deriveBits'], name);
    if (format !== 'raw') throw domError('NotSupportedError', `Unable to import ${name} key with format ${format}`);
    if (extractable) throw domError('SyntaxError', `${name} keys are not extractable`);
    return new CryptoKey(token, 'secret', false, { name }, usages, keyData);
  };
}

// deriveBits' length: a whole number of bytes; null is an error (node 20
// gives an empty result for 0, and so does this).
function byteLength(length) {
  if (length === null) throw domError('OperationError', 'length cannot be null');
  if (length % 8) throw domError('OperationError', 'length must be a multiple of 8');
  return length / 8;
}

const DERIVE_BITS = {
  ECDH: (alg, k, length) => ecdhBits(alg, k, length),
  HKDF(alg, k, length) {
    const out = native.hkdf(alg.hash.name, k.data, alg.salt, alg.info, byteLength(length));
    if (out === undefined || out === null) {
      throw domError('OperationError', 'The operation failed for an operation-specific reason');
    }
    return out;
  },
  PBKDF2(alg, k, length) {
    const bytes = byteLength(length);
    if (alg.iterations === 0) throw domError('OperationError', 'iterations cannot be zero');
    return native.pbkdf2(alg.hash.name, k.data, alg.salt, alg.iterations, bytes);
  },
};

// ---- ECDSA and ECDH -------------------------------------------------------------

// The curves jsbox has (the `p256`, `p384` and `p521` crates) and the
// size of their field elements in bytes; any other curve is a
// NotSupportedError.
const CURVE_BYTES = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
// JWK "alg" of an ECDSA key, by curve (ECDH keys' "alg" is not checked).
const EC_JWK_ALG = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
// The usages a key of each type may have.
const EC_USAGES = {
  ECDSA: { public: ['verify'], private: ['sign'] },
  ECDH: { public: [], private: ['deriveKey', 'deriveBits'] },
};

function checkCurve(namedCurve) {
  if (CURVE_BYTES[namedCurve] === undefined) throw domError('NotSupportedError', 'Unrecognized namedCurve');
}

// An EC key's data: the uncompressed public point, and for a private key
// the scalar d (big-endian) too.
function ecKey(name, namedCurve, type, extractable, usages, point, d) {
  return new CryptoKey(token, type, extractable, { name, namedCurve }, usages, { point, d });
}

function ecGenerate(alg, extractable, usages) {
  const allowed = EC_USAGES[alg.name];
  checkUsages(usages, [...allowed.public, ...allowed.private], alg.name);
  checkCurve(alg.namedCurve);
  const d = native.ecGenerate(alg.namedCurve);
  const point = native.ecPublic(alg.namedCurve, d);
  const pick = (list) => usages.filter((u) => list.includes(u));
  return {
    publicKey: ecKey(alg.name, alg.namedCurve, 'public', true, pick(allowed.public), point),
    privateKey: ecKey(alg.name, alg.namedCurve, 'private', extractable, pick(allowed.private), point, d),
  };
}

// A JWK's base64url field of exactly `size` bytes (x, y and d are the
// curve's field size), or a DataError.
function jwkField(jwk, name, size) {
  if (typeof jwk[name] !== 'string') throw domError('DataError', `Invalid JWK "${name}" Parameter`);
  const bytes = base64urlDecode(jwk[name]);
  if (bytes.byteLength !== size) throw domError('DataError', `Invalid JWK "${name}" Parameter`);
  return bytes;
}

function ecImport(format, keyData, alg, extractable, usages) {
  const allowed = EC_USAGES[alg.name];
  const { namedCurve } = alg;
  const orData = (v) => {
    if (v === null || v === undefined) throw domError('DataError', 'Invalid keyData');
    return v;
  };
  let type = 'public';
  let point;
  let d;
  if (format === 'raw' || format === 'spki') {
    checkUsages(usages, allowed.public, alg.name);
    checkCurve(namedCurve);
    point = orData(format === 'raw' ? native.ecPoint(namedCurve, keyData) : native.ecImport(namedCurve, false, keyData));
  } else if (format === 'pkcs8') {
    checkUsages(usages, allowed.private, alg.name);
    checkCurve(namedCurve);
    type = 'private';
    d = orData(native.ecImport(namedCurve, true, keyData));
    point = native.ecPublic(namedCurve, d);
  } else {
    // jwk: WebCrypto's checks, in its order.
    type = keyData.d === undefined ? 'public' : 'private';
    checkUsages(usages, allowed[type], alg.name);
    if (keyData.kty !== 'EC') throw domError('DataError', 'Invalid JWK "kty" Parameter');
    if (alg.name === 'ECDSA' && usages.length > 0 && keyData.use !== undefined && keyData.use !== 'sig') {
      throw domError('DataError', 'Invalid JWK "use" Parameter');
    }
    if (keyData.key_ops !== undefined) {
      const ops = keyData.key_ops;
      if (new Set(ops).size !== ops.length || ops.some((o) => !KEY_USAGES.includes(o)) ||
          usages.some((u) => !ops.includes(u))) {
        throw domError('DataError', 'Key operations and usage mismatch');
      }
    }
    if (keyData.ext === false && extractable) throw domError('DataError', 'JWK "ext" Parameter and extractable mismatch');
    if (keyData.crv !== namedCurve) throw domError('DataError', 'JWK "crv" does not match the requested algorithm');
    if (alg.name === 'ECDSA' && keyData.alg !== undefined && keyData.alg !== EC_JWK_ALG[namedCurve]) {
      throw domError('DataError', 'JWK "alg" does not match the requested algorithm');
    }
    checkCurve(namedCurve);
    const size = CURVE_BYTES[namedCurve];
    const xy = new Uint8Array(1 + 2 * size);
    xy[0] = 4;
    xy.set(new Uint8Array(jwkField(keyData, 'x', size)), 1);
    xy.set(new Uint8Array(jwkField(keyData, 'y', size)), 1 + size);
    point = orData(native.ecPoint(namedCurve, xy.buffer));
    if (type === 'private') {
      d = jwkField(keyData, 'd', size);
      // d must be the private key of the point the JWK gives.
      const derived = native.ecPublic(namedCurve, d);
      if (derived === null || derived === undefined || !sameBytes(derived, point)) {
        throw domError('DataError', 'Invalid keyData');
      }
    }
  }
  return ecKey(alg.name, namedCurve, type, extractable, usages, point, d);
}

function sameBytes(a, b) {
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function ecExport(format, k) {
  const { namedCurve } = k.algorithm;
  const wrongType = () => domError('InvalidAccessError', `Unable to export a ${format} ${k.algorithm.name} ${k.type} key`);
  if (format === 'raw' || format === 'spki') {
    if (k.type !== 'public') throw wrongType();
    return format === 'raw' ? k.data.point.slice(0) : native.ecExport(namedCurve, false, k.data.point);
  }
  if (format === 'pkcs8') {
    if (k.type !== 'private') throw wrongType();
    return native.ecExport(namedCurve, true, k.data.d);
  }
  const size = CURVE_BYTES[namedCurve];
  const jwk = {
    key_ops: k.usages.slice(),
    ext: k.extractable,
    kty: 'EC',
    x: base64urlEncode(k.data.point.slice(1, 1 + size)),
    y: base64urlEncode(k.data.point.slice(1 + size)),
    crv: namedCurve,
  };
  if (k.type === 'private') jwk.d = base64urlEncode(k.data.d);
  return jwk;
}

// ECDH's deriveBits: the shared secret's first `length` bits (all of it
// for null), the bits past `length` in the last byte cleared.
function ecdhBits(alg, k, length) {
  const pub = keySlots(alg.public);
  if (pub.type !== 'public') throw domError('InvalidAccessError', 'algorithm.public must be a public key');
  if (pub.algorithm.name !== k.algorithm.name) {
    throw domError('InvalidAccessError', 'The public and private keys must be of the same type');
  }
  if (pub.algorithm.namedCurve !== k.algorithm.namedCurve) {
    throw domError('InvalidAccessError', 'The public and private keys must be on the same curve');
  }
  if (k.type !== 'private') throw domError('InvalidAccessError', 'baseKey must be a private key');
  const secret = native.ecdh(k.algorithm.namedCurve, k.data.d, pub.data.point);
  if (length === null) return secret;
  if (length > secret.byteLength * 8) throw domError('OperationError', 'derived bit length is too large');
  const out = new Uint8Array(secret.slice(0, Math.ceil(length / 8)));
  if (length % 8) out[out.length - 1] &= 0xff << (8 - (length % 8));
  return out.buffer;
}

// ---- the per-algorithm operations ----------------------------------------------

const IMPORT = {
  HMAC: hmacImport, HKDF: kdfImport('HKDF'), PBKDF2: kdfImport('PBKDF2'),
  ...Object.fromEntries(AES.map((n) => [n, aesImport])),
  ECDSA: ecImport, ECDH: ecImport,
};
const EXPORT = {
  HMAC: hmacExport, ...Object.fromEntries(AES.map((n) => [n, aesExport])), ECDSA: ecExport, ECDH: ecExport,
};
const GENERATE = {
  HMAC: hmacGenerate, ...Object.fromEntries(AES.map((n) => [n, aesGenerate])), ECDSA: ecGenerate, ECDH: ecGenerate,
};

// deriveKey's "get key length": the bits to derive for a key of this
// algorithm (null: the algorithm has no fixed length, which deriveBits
// refuses).
function keyLength(alg) {
  if (AES.includes(alg.name)) {
    if (!AES_LENGTHS.includes(alg.length)) {
      throw domError('OperationError', 'AES key length must be 128, 192, or 256 bits');
    }
    return alg.length;
  }
  if (alg.name !== 'HMAC') return null;
  if (alg.length === undefined) return BLOCK_BITS[alg.hash.name];
  if (alg.length === 0) throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'HMAC key length must not be zero');
  return alg.length;
}

// The checks every operation with a key makes: the key's algorithm is the
// operation's, and the key may be used for it.
function checkKey(k, alg, usage) {
  if (k.algorithm.name !== alg.name) {
    throw domError('InvalidAccessError', 'The requested operation is not valid for the provided key');
  }
  if (!k.usages.includes(usage)) throw domError('InvalidAccessError', `Unable to use this key to ${usage}`);
}

function importKey(format, keyData, alg, extractable, usages) {
  const key = IMPORT[alg.name](format, keyData, alg, extractable, usages);
  // A public key may have no usages (an ECDH public key has none to have).
  if (usages.length === 0 && keySlots(key).type !== 'public') {
    throw domError('SyntaxError', 'Usages cannot be empty when creating a key.');
  }
  return key;
}

function deriveBits(alg, k, length) {
  return DERIVE_BITS[alg.name](alg, k, length);
}

// ---- SubtleCrypto -------------------------------------------------------------

let isSubtle;

function checkThis(self) {
  if (!isSubtle(self)) throw codeError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type SubtleCrypto');
}

// Every method is async: argument errors are rejections, as WebIDL makes
// them for promise-returning operations.
class SubtleCrypto {
  #brand = true;
  constructor(key) {
    if (key !== token) throw codeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
  }

  async encrypt(algorithm, key, data) {
    checkThis(this);
    return cipher(true, 'encrypt', arguments);
  }

  async decrypt(algorithm, key, data) {
    checkThis(this);
    return cipher(false, 'decrypt', arguments);
  }

  async sign(algorithm, key, data) {
    checkThis(this);
    requireArgs('sign', arguments, 3);
    cryptoKeyArg(key, 'sign', 1);
    data = bufferCopy(data, "Failed to execute 'sign' on 'SubtleCrypto': 3rd argument");
    const alg = normalize(algorithm, 'sign');
    const k = keySlots(key);
    checkKey(k, alg, 'sign');
    if (alg.name === 'ECDSA') {
      if (k.type !== 'private') throw domError('InvalidAccessError', 'Unable to use this key to sign');
      return native.ecdsaSign(k.algorithm.namedCurve, alg.hash.name, k.data.d, data);
    }
    return native.hmacSign(k.algorithm.hash.name, k.data, data);
  }

  async verify(algorithm, key, signature, data) {
    checkThis(this);
    requireArgs('verify', arguments, 4);
    cryptoKeyArg(key, 'verify', 1);
    signature = bufferCopy(signature, "Failed to execute 'verify' on 'SubtleCrypto': 3rd argument");
    data = bufferCopy(data, "Failed to execute 'verify' on 'SubtleCrypto': 4th argument");
    const alg = normalize(algorithm, 'verify');
    const k = keySlots(key);
    checkKey(k, alg, 'verify');
    if (alg.name === 'ECDSA') {
      if (k.type !== 'public') throw domError('InvalidAccessError', 'Unable to use this key to verify');
      return native.ecdsaVerify(k.algorithm.namedCurve, alg.hash.name, k.data.point, signature, data);
    }
    return native.hmacVerify(k.algorithm.hash.name, k.data, signature, data);
  }

  async digest(algorithm, data) {
    checkThis(this);
    requireArgs('digest', arguments, 2);
    data = bufferCopy(data, "Failed to execute 'digest' on 'SubtleCrypto': 2nd argument");
    return native.digest(normalize(algorithm, 'digest').name, data);
  }

  async generateKey(algorithm, extractable, keyUsages) {
    checkThis(this);
    requireArgs('generateKey', arguments, 3);
    extractable = !!extractable;
    const usages = usageList(keyUsages, "Failed to execute 'generateKey' on 'SubtleCrypto': 3rd argument");
    const alg = normalize(algorithm, 'generateKey');
    const key = GENERATE[alg.name](alg, extractable, usages);
    // A key pair needs a usage for its private key.
    if ((isKey(key) ? usages : keySlots(key.privateKey).usages).length === 0) {
      throw domError('SyntaxError', 'Usages cannot be empty when creating a key.');
    }
    return key;
  }

  async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
    checkThis(this);
    requireArgs('deriveKey', arguments, 5);
    cryptoKeyArg(baseKey, 'deriveKey', 1);
    extractable = !!extractable;
    const usages = usageList(keyUsages, "Failed to execute 'deriveKey' on 'SubtleCrypto': 5th argument");
    const alg = normalize(algorithm, 'deriveBits');
    const importAlg = normalize(derivedKeyType, 'importKey');
    const length = keyLength(normalize(derivedKeyType, 'get key length'));
    const k = keySlots(baseKey);
    checkKey(k, alg, 'deriveKey');
    return importKey('raw', deriveBits(alg, k, length), importAlg, extractable, usages);
  }

  async deriveBits(algorithm, baseKey, length = null) {
    checkThis(this);
    requireArgs('deriveBits', arguments, 2);
    cryptoKeyArg(baseKey, 'deriveBits', 1);
    if (length !== null) length = unsigned(length, 'length', 32, false);
    const alg = normalize(algorithm, 'deriveBits');
    const k = keySlots(baseKey);
    checkKey(k, alg, 'deriveBits');
    return deriveBits(alg, k, length);
  }

  async importKey(format, keyData, algorithm, extractable, keyUsages) {
    checkThis(this);
    requireArgs('importKey', arguments, 5);
    const what = (i) => `Failed to execute 'importKey' on 'SubtleCrypto': ${ordinal(i)} argument`;
    format = enumValue(format, KEY_FORMATS, what(0), 'KeyFormat');
    // (BufferSource or JsonWebKey): any other object is a JsonWebKey.
    if (keyData === null || typeof keyData !== 'object') {
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what(1)} is not a BufferSource or a JsonWebKey.`);
    }
    const isBuffer = keyData instanceof ArrayBuffer || ArrayBuffer.isView(keyData);
    keyData = isBuffer ? bufferCopy(keyData, what(1)) : jwkDictionary(keyData, what(1));
    extractable = !!extractable;
    const usages = usageList(keyUsages, what(4));
    const alg = normalize(algorithm, 'importKey');
    if (isBuffer === (format === 'jwk')) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `${what(1)} must be a ${format === 'jwk' ? 'JsonWebKey' : 'BufferSource'} for format '${format}'.`);
    }
    return importKey(format, keyData, alg, extractable, usages);
  }

  async exportKey(format, key) {
    checkThis(this);
    requireArgs('exportKey', arguments, 2);
    format = enumValue(format, KEY_FORMATS, "Failed to execute 'exportKey' on 'SubtleCrypto': 1st argument", 'KeyFormat');
    cryptoKeyArg(key, 'exportKey', 1);
    const k = keySlots(key);
    const exporter = EXPORT[k.algorithm.name];
    if (exporter === undefined) throw domError('NotSupportedError', `Unable to export ${k.algorithm.name} keys`);
    if (!k.extractable) throw domError('InvalidAccessError', 'key is not extractable');
    return exporter(format, k);
  }

  async wrapKey(format, key, wrappingKey, wrapAlgorithm) {
    checkThis(this);
    requireArgs('wrapKey', arguments, 4);
    format = enumValue(format, KEY_FORMATS, "Failed to execute 'wrapKey' on 'SubtleCrypto': 1st argument", 'KeyFormat');
    cryptoKeyArg(key, 'wrapKey', 1);
    cryptoKeyArg(wrappingKey, 'wrapKey', 2);
    const alg = normalizeWrap(wrapAlgorithm, 'wrapKey', 'encrypt');
    const w = keySlots(wrappingKey);
    checkKey(w, alg, 'wrapKey');
    const k = keySlots(key);
    const exporter = EXPORT[k.algorithm.name];
    if (exporter === undefined) throw domError('NotSupportedError', `Unable to export ${k.algorithm.name} keys`);
    if (!k.extractable) throw domError('InvalidAccessError', 'key is not extractable');
    let bytes = exporter(format, k);
    if (format === 'jwk') bytes = bufferCopy(new TextEncoder().encode(JSON.stringify(bytes)));
    return alg.name === 'AES-KW' ? orFail(native.aesKw(true, w.data, bytes)) : CIPHER[alg.name](true, alg, w, bytes);
  }

  async unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
    checkThis(this);
    requireArgs('unwrapKey', arguments, 7);
    const what = (i) => `Failed to execute 'unwrapKey' on 'SubtleCrypto': ${ordinal(i)} argument`;
    format = enumValue(format, KEY_FORMATS, what(0), 'KeyFormat');
    wrappedKey = bufferCopy(wrappedKey, what(1));
    cryptoKeyArg(unwrappingKey, 'unwrapKey', 2);
    extractable = !!extractable;
    const usages = usageList(keyUsages, what(6));
    const alg = normalizeWrap(unwrapAlgorithm, 'unwrapKey', 'decrypt');
    const importAlg = normalize(unwrappedKeyAlgorithm, 'importKey');
    const w = keySlots(unwrappingKey);
    checkKey(w, alg, 'unwrapKey');
    let bytes = alg.name === 'AES-KW'
      ? orFail(native.aesKw(false, w.data, wrappedKey))
      : CIPHER[alg.name](false, alg, w, wrappedKey);
    if (format === 'jwk') {
      let jwk;
      try {
        jwk = JSON.parse(new TextDecoder().decode(bytes));
      } catch (_) {
        throw domError('DataError', 'The unwrapped key is not a JSON Web Key');
      }
      if (jwk === null || typeof jwk !== 'object') throw domError('DataError', 'The unwrapped key is not a JSON Web Key');
      bytes = jwkDictionary(jwk, what(1));
    }
    return importKey(format, bytes, importAlg, extractable, usages);
  }

  static {
    isSubtle = (v) => v !== null && typeof v === 'object' && #brand in v;
  }
}

// WebIDL: attributes and operations are enumerable (class syntax makes
// them not), and the class string is the interface's name.
for (const cls of [SubtleCrypto, CryptoKey]) {
  for (const name of Object.getOwnPropertyNames(cls.prototype)) {
    if (name === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(cls.prototype, name);
    d.enumerable = true;
    Object.defineProperty(cls.prototype, name, d);
  }
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });
}

// encrypt and decrypt: `args` are the method's (algorithm, key, data).
function cipher(encrypt, method, args) {
  requireArgs(method, args, 3);
  const [algorithm, key] = args;
  cryptoKeyArg(key, method, 1);
  const data = bufferCopy(args[2], `Failed to execute '${method}' on 'SubtleCrypto': 3rd argument`);
  const alg = normalize(algorithm, method);
  const k = keySlots(key);
  checkKey(k, alg, method);
  return CIPHER[alg.name](encrypt, alg, k, data);
}

// wrapKey's and unwrapKey's algorithm: one that wraps (AES-KW), or else
// one that encrypts, as the spec's two-step normalisation says.
function normalizeWrap(algorithm, op, fallback) {
  try {
    return normalize(algorithm, op);
  } catch (e) {
    if (!(e instanceof DOMException) || e.name !== 'NotSupportedError') throw e;
    return normalize(algorithm, fallback);
  }
}

module.exports = { SubtleCrypto, CryptoKey, subtle: new SubtleCrypto(token) };
