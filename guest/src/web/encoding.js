// atob / btoa (HTML standard, errors as node's DOMException), and
// TextEncoder / TextDecoder: javy's classes do the UTF-8 work in Rust; the
// classes here wrap them to add what node has and javy lacks: encodeInto,
// streaming decode, any input converted to a string, BOM handling across
// a stream, and node's error types and messages.
(function (native, web) {
  'use strict';

  const { DOMException, codeError } = web;
  const toWellFormed = String.prototype.toWellFormed;

  const names = {
    atob(input) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "input" argument must be specified');
      }
      const result = native.atob(toWellFormed.call(`${input}`));
      if (typeof result === 'number') {
        throw new DOMException(
          result === 2 ? 'The string to be decoded is not correctly encoded.' : 'Invalid character',
          'InvalidCharacterError');
      }
      return result;
    },
    btoa(input) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "input" argument must be specified');
      }
      const result = native.btoa(toWellFormed.call(`${input}`));
      if (result === undefined || result === null) throw new DOMException('Invalid character', 'InvalidCharacterError');
      return result;
    },
  };
  web.exposeOperation('atob', names.atob);
  web.exposeOperation('btoa', names.btoa);

  const JavyEncoder = globalThis.TextEncoder;
  const JavyDecoder = globalThis.TextDecoder;
  if (typeof JavyEncoder !== 'function' || typeof JavyDecoder !== 'function') return;
  const utf8 = new JavyEncoder();
  const lossy = new JavyDecoder('utf-8', { ignoreBOM: true });
  const strict = new JavyDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const LABELS = ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'];

  class TextEncoder {
    get encoding() { return 'utf-8'; }

    encode(input = '') {
      return utf8.encode(toWellFormed.call(`${input}`));
    }

    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "dest" argument must be an instance of Uint8Array.');
      }
      const s = `${source}`;
      const cap = destination.length;
      let read = 0;
      let written = 0;
      while (read < s.length) {
        let c = s.charCodeAt(read);
        let units = 1;
        if (c >= 0xd800 && c <= 0xdbff && read + 1 < s.length) {
          const d = s.charCodeAt(read + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            units = 2;
          }
        }
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (written + n > cap) break;
        if (n === 1) {
          destination[written] = c;
        } else if (n === 2) {
          destination[written] = 0xc0 | (c >> 6);
          destination[written + 1] = 0x80 | (c & 0x3f);
        } else if (n === 3) {
          destination[written] = 0xe0 | (c >> 12);
          destination[written + 1] = 0x80 | ((c >> 6) & 0x3f);
          destination[written + 2] = 0x80 | (c & 0x3f);
        } else {
          destination[written] = 0xf0 | (c >> 18);
          destination[written + 1] = 0x80 | ((c >> 12) & 0x3f);
          destination[written + 2] = 0x80 | ((c >> 6) & 0x3f);
          destination[written + 3] = 0x80 | (c & 0x3f);
        }
        read += units;
        written += n;
      }
      return { read, written };
    }
  }
  Object.defineProperty(TextEncoder.prototype, Symbol.toStringTag, { value: 'TextEncoder', configurable: true });

  // Where a trailing, possibly incomplete UTF-8 sequence starts (or the
  // length, when the bytes end on a boundary).
  function completePrefix(bytes) {
    const len = bytes.length;
    for (let i = len - 1; i >= 0 && i >= len - 3; i--) {
      const b = bytes[i];
      if ((b & 0xc0) === 0x80) continue;
      if (b < 0xc0) return len;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return len - i < need ? i : len;
    }
    return len;
  }

  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #pending = null;
    #started = false;

    constructor(label = 'utf-8', options = undefined) {
      const l = `${label}`.trim().toLowerCase();
      if (!LABELS.includes(l)) {
        throw codeError(RangeError, 'ERR_ENCODING_NOT_SUPPORTED', `The "${label}" encoding is not supported`);
      }
      const o = options == null ? {} : options;
      this.#fatal = !!o.fatal;
      this.#ignoreBOM = !!o.ignoreBOM;
    }

    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }

    decode(input = undefined, options = undefined) {
      const stream = options != null && !!options.stream;
      let bytes;
      if (input === undefined) {
        bytes = new Uint8Array(0);
      } else if (ArrayBuffer.isView(input)) {
        bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      } else if (input instanceof ArrayBuffer ||
          (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) {
        bytes = new Uint8Array(input);
      } else {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
          'The "list" argument must be an instance of SharedArrayBuffer, ArrayBuffer or ArrayBufferView.');
      }
      if (this.#pending !== null) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      if (stream) {
        const cut = completePrefix(bytes);
        if (cut < bytes.length) {
          this.#pending = bytes.slice(cut);
          bytes = bytes.subarray(0, cut);
        }
      }
      let text;
      if (this.#fatal) {
        try {
          text = strict.decode(bytes);
        } catch (_) {
          this.#pending = null;
          this.#started = false;
          throw codeError(TypeError, 'ERR_ENCODING_INVALID_ENCODED_DATA',
            'The encoded data was not valid for encoding utf-8');
        }
      } else {
        text = lossy.decode(bytes);
      }
      if (!this.#started && text.length > 0) {
        this.#started = true;
        if (!this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      if (!stream) {
        this.#started = false;
        this.#pending = null;
      }
      return text;
    }
  }
  Object.defineProperty(TextDecoder.prototype, Symbol.toStringTag, { value: 'TextDecoder', configurable: true });

  web.expose('TextEncoder', TextEncoder);
  web.expose('TextDecoder', TextDecoder);
})
