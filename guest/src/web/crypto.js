// crypto.getRandomValues and crypto.randomUUID (WebCrypto). The bytes come
// from the host's CSPRNG at call time (random.rs). `crypto.subtle` and the
// SubtleCrypto and CryptoKey interfaces are guest/src/node/subtle.js,
// compiled when a runtime first reads one of them.
(function (native, web) {
  'use strict';

  const { DOMException, codeError } = web;
  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
  const INTEGER_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];
  const token = Symbol('jsbox:crypto');
  let isCrypto;

  // subtle.js's exports ({ SubtleCrypto, CryptoKey, subtle }), compiled on
  // first use; it reaches DOMException and the Rust functions through
  // `require('jsbox:web')`.
  let subtleModule;
  function loadSubtle() {
    if (subtleModule === undefined) subtleModule = web.loadModule('subtle');
    return subtleModule;
  }

  class Crypto {
    #brand = true;
    constructor(key) {
      if (key !== token) throw codeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
    }
    getRandomValues(array) {
      if (!isCrypto(this)) throw codeError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type Crypto');
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "typedArray" argument must be specified');
      }
      const tag = array !== null && typeof array === 'object' ? typedArrayTag.call(array) : undefined;
      if (!INTEGER_ARRAYS.includes(tag)) {
        throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
      }
      if (array.byteLength > 65536) {
        throw new DOMException('The requested length exceeds 65,536 bytes', 'QuotaExceededError');
      }
      native.fillRandom(array.buffer, array.byteOffset, array.byteLength);
      return array;
    }
    randomUUID() {
      if (!isCrypto(this)) throw codeError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type Crypto');
      return native.randomUUID();
    }
    get subtle() {
      if (!isCrypto(this)) throw codeError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type Crypto');
      return loadSubtle().subtle;
    }
    static {
      isCrypto = (v) => v !== null && typeof v === 'object' && #brand in v;
    }
  }
  Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: 'Crypto', configurable: true });
  // A WebIDL attribute: enumerable.
  Object.defineProperty(Crypto.prototype, 'subtle', {
    ...Object.getOwnPropertyDescriptor(Crypto.prototype, 'subtle'), enumerable: true,
  });

  web.expose('Crypto', Crypto);
  web.exposeAttribute('crypto', new Crypto(token));
  web.exposeLazy('SubtleCrypto', () => loadSubtle().SubtleCrypto);
  web.exposeLazy('CryptoKey', () => loadSubtle().CryptoKey);
})
