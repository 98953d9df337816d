// node:stream/web, also the source of the Streams globals (ReadableStream,
// WritableStream, TransformStream, ... which the prelude defines as
// accessors that load this module on first read, so a runtime that never
// uses streams pays nothing). The streams themselves are the npm
// `web-streams-polyfill` package's ponyfill build (vendor/, unchanged), a
// maintained port of the WHATWG reference implementation; this file adds
// the TransformStreams it lacks: TextEncoderStream and TextDecoderStream,
// as the Encoding standard defines them, over TextEncoder/TextDecoder; and
// CompressionStream and DecompressionStream, as the Compression Streams
// standard does, over the Rust codecs of guest/src/node/compression.rs.
'use strict';

const ponyfill = require('web-streams-polyfill');
const compression = require('jsbox:compression');

const { TransformStream } = ponyfill;

// The ponyfill's async iterator prototype is a plain object; WebIDL's
// asynchronous iterator prototype (and node's) inherits from
// %AsyncIteratorPrototype%.
Object.setPrototypeOf(
  Object.getPrototypeOf(new ponyfill.ReadableStream().values()),
  Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype));

// WebIDL's asynchronous iterator forgets its ongoing promise once a next()
// promise settles, so a return() from the loop body runs its steps at once
// and releases the reader. The ponyfill forgets it before next() stores
// the promise, so its return() waits a microtask; node's `for await` hides
// that by awaiting return(), QuickJS's does not, and the stream was still
// locked after `break`. Forget it as WebIDL does (with the then() captured
// here: a script may patch Promise.prototype.then).
{
  const then = Promise.prototype.then;
  const impl = Object.getPrototypeOf(new ponyfill.ReadableStream().values()._asyncIteratorImpl);
  const next = impl.next;
  impl.next = function () {
    const promise = next.call(this);
    const settled = () => {
      if (this._ongoingPromise === promise) this._ongoingPromise = undefined;
    };
    then.call(promise, settled, settled);
    return promise;
  };
}
const kTransform = Symbol('transform');
const kDecoder = Symbol('decoder');

function checkThis(self, cls) {
  if (self === null || typeof self !== 'object' || !Object.prototype.hasOwnProperty.call(self, kTransform) ||
      !(self instanceof cls)) {
    throw new TypeError(`Illegal invocation: not a ${cls.name}`);
  }
}

// A chunk as bytes (a Uint8Array over the same memory), or a TypeError
// unless it is a BufferSource: these standards convert chunks with WebIDL,
// which takes an ArrayBuffer or a view of one, and shared memory only
// where it says [AllowShared] (`allowShared`: the Encoding Standard's
// TextDecoderStream, as node has it).
function bufferSourceBytes(chunk, cls, allowShared = false) {
  const isShared = typeof SharedArrayBuffer === 'function' &&
    (chunk instanceof SharedArrayBuffer || (ArrayBuffer.isView(chunk) && chunk.buffer instanceof SharedArrayBuffer));
  if (isShared && allowShared) {
    return chunk instanceof SharedArrayBuffer ? new Uint8Array(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  if (isShared || !(chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk))) {
    throw new TypeError(`${cls}: the chunk must be an ArrayBuffer or ArrayBufferView`);
  }
  const buffer = chunk instanceof ArrayBuffer ? chunk : chunk.buffer;
  // A detached buffer (transferred away by postMessage) has no bytes; QuickJS
  // will not view it.
  if (buffer.byteLength === 0) return new Uint8Array(0);
  return chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

class TextEncoderStream {
  constructor() {
    const encoder = new TextEncoder();
    // A high surrogate that ended the previous chunk: its pair may start
    // the next one (the standard's "pending high surrogate").
    let pending = null;
    const transform = new TransformStream({
      transform(chunk, controller) {
        let text = String(chunk);
        if (pending !== null) {
          text = pending + text;
          pending = null;
        }
        const last = text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = text.slice(-1);
          text = text.slice(0, -1);
        }
        if (text.length > 0) controller.enqueue(encoder.encode(text));
      },
      flush(controller) {
        // A lone high surrogate at the end is U+FFFD.
        if (pending !== null) controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
      },
    });
    Object.defineProperty(this, kTransform, { value: transform });
  }
  get encoding() { checkThis(this, TextEncoderStream); return 'utf-8'; }
  get readable() { checkThis(this, TextEncoderStream); return this[kTransform].readable; }
  get writable() { checkThis(this, TextEncoderStream); return this[kTransform].writable; }
}

class TextDecoderStream {
  constructor(label = 'utf-8', options = undefined) {
    // Throws RangeError for an unsupported label, as the constructor must.
    const decoder = new TextDecoder(label, options);
    const transform = new TransformStream({
      transform(chunk, controller) {
        const text = decoder.decode(bufferSourceBytes(chunk, 'TextDecoderStream', true), { stream: true });
        if (text.length > 0) controller.enqueue(text);
      },
      flush(controller) {
        const text = decoder.decode();
        if (text.length > 0) controller.enqueue(text);
      },
    });
    Object.defineProperty(this, kTransform, { value: transform });
    Object.defineProperty(this, kDecoder, { value: decoder });
  }
  get encoding() { checkThis(this, TextDecoderStream); return this[kDecoder].encoding; }
  get fatal() { checkThis(this, TextDecoderStream); return this[kDecoder].fatal; }
  get ignoreBOM() { checkThis(this, TextDecoderStream); return this[kDecoder].ignoreBOM; }
  get readable() { checkThis(this, TextDecoderStream); return this[kTransform].readable; }
  get writable() { checkThis(this, TextDecoderStream); return this[kTransform].writable; }
}

// The TransformStream of a CompressionStream (decompress false) or a
// DecompressionStream constructed with `args`: the codec takes each chunk
// and gives what it can of the output; closing the writable side finishes
// the stream. The codec's TypeError for corrupt, truncated or trailing
// input errors both sides, as the standard says.
function compressionTransform(cls, args, decompress) {
  if (args.length === 0) {
    throw new TypeError(`Failed to construct '${cls}': 1 argument required, but only 0 present.`);
  }
  // WebIDL's enum conversion: ToString (a Symbol throws), then a known value.
  const format = `${args[0]}`;
  const codec = compression.codec(format, decompress);
  if (codec === undefined) {
    throw new TypeError(`Failed to construct '${cls}': The provided value '${format}' is not a valid enum value of type CompressionFormat.`);
  }
  const enqueue = (controller, bytes) => { if (bytes !== undefined) controller.enqueue(bytes); };
  return new TransformStream({
    transform(chunk, controller) { enqueue(controller, compression.push(codec, bufferSourceBytes(chunk, cls))); },
    flush(controller) { enqueue(controller, compression.finish(codec)); },
  });
}

class CompressionStream {
  constructor(format) {
    Object.defineProperty(this, kTransform, { value: compressionTransform('CompressionStream', arguments, false) });
  }
  get readable() { checkThis(this, CompressionStream); return this[kTransform].readable; }
  get writable() { checkThis(this, CompressionStream); return this[kTransform].writable; }
}

class DecompressionStream {
  constructor(format) {
    Object.defineProperty(this, kTransform, { value: compressionTransform('DecompressionStream', arguments, true) });
  }
  get readable() { checkThis(this, DecompressionStream); return this[kTransform].readable; }
  get writable() { checkThis(this, DecompressionStream); return this[kTransform].writable; }
}

for (const cls of [TextEncoderStream, TextDecoderStream, CompressionStream, DecompressionStream]) {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });
}

module.exports = {
  ReadableStream: ponyfill.ReadableStream,
  ReadableStreamDefaultReader: ponyfill.ReadableStreamDefaultReader,
  ReadableStreamBYOBReader: ponyfill.ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest: ponyfill.ReadableStreamBYOBRequest,
  ReadableByteStreamController: ponyfill.ReadableByteStreamController,
  ReadableStreamDefaultController: ponyfill.ReadableStreamDefaultController,
  TransformStream: ponyfill.TransformStream,
  TransformStreamDefaultController: ponyfill.TransformStreamDefaultController,
  WritableStream: ponyfill.WritableStream,
  WritableStreamDefaultWriter: ponyfill.WritableStreamDefaultWriter,
  WritableStreamDefaultController: ponyfill.WritableStreamDefaultController,
  ByteLengthQueuingStrategy: ponyfill.ByteLengthQueuingStrategy,
  CountQueuingStrategy: ponyfill.CountQueuingStrategy,
  TextEncoderStream,
  TextDecoderStream,
  CompressionStream,
  DecompressionStream,
};
