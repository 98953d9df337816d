// atob / btoa (HTML standard, errors as node's DOMException), and
// TextEncoder / TextDecoder. TextEncoder wraps javy's, which does the UTF-8
// work in Rust, to add what node has and javy lacks (encodeInto, any input
// converted to a string). TextDecoder decodes every encoding with an
// encoding_rs decoder (text_decoder.rs), which keeps a stream's state and
// handles the BOM as the standard says; it adds node's error types and
// messages.
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
  if (typeof JavyEncoder !== 'function') return;
  const utf8 = new JavyEncoder();

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


  // The bytes of a buffer; none when it is detached (transferred away by
  // postMessage), which QuickJS will not view and node decodes as "".
  function bytesOf(buffer, offset, length) {
    try {
      return new Uint8Array(buffer, offset, length);
    } catch (e) {
      if (buffer.byteLength === 0) return new Uint8Array(0);
      throw e;
    }
  }

  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    // The encoding_rs decoder, made by the first decode().
    #native = null;

    constructor(label = 'utf-8', options = undefined) {
      const encoding = native.encodingName(toWellFormed.call(`${label}`));
      if (encoding === undefined || encoding === 'replacement') {
        throw codeError(RangeError, 'ERR_ENCODING_NOT_SUPPORTED',
          `The "${encoding === undefined ? label : encoding}" encoding is not supported`);
      }
      const o = options == null ? {} : options;
      this.#encoding = encoding;
      this.#fatal = !!o.fatal;
      this.#ignoreBOM = !!o.ignoreBOM;
    }

    get encoding() { return this.#encoding; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }

    decode(input = undefined, options = undefined) {
      const stream = options != null && !!options.stream;
      let bytes;
      if (input === undefined) {
        bytes = new Uint8Array(0);
      } else if (ArrayBuffer.isView(input)) {
        bytes = bytesOf(input.buffer, input.byteOffset, input.byteLength);
      } else if (input instanceof ArrayBuffer ||
          (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) {
        bytes = bytesOf(input, 0, input.byteLength);
      } else {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
          'The "list" argument must be an instance of SharedArrayBuffer, ArrayBuffer or ArrayBufferView.');
      }
      if (this.#native === null) this.#native = native.decoderNew(this.#encoding, this.#ignoreBOM);
      // The decoder starts over after a last chunk or an error.
      const text = native.decoderDecode(this.#native, bytes, stream, this.#fatal);
      if (text === undefined) {
        throw codeError(TypeError, 'ERR_ENCODING_INVALID_ENCODED_DATA',
          `The encoded data was not valid for encoding ${this.#encoding}`);
      }
      return text;
    }
  }
  Object.defineProperty(TextDecoder.prototype, Symbol.toStringTag, { value: 'TextDecoder', configurable: true });

  web.expose('TextEncoder', TextEncoder);
  web.expose('TextDecoder', TextDecoder);
})
