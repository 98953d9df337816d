// Blob and File (the File API standard, as node has them: globals, and
// node:buffer's newer exports in node). The prelude defines the globals as
// accessors that load this module on first read. A blob's bytes are one
// immutable Uint8Array kept in a WeakMap (so no property of the object
// exposes them, and brand checks cannot be fooled); slice() copies.
// Written here, not vendored: the maintained plain-JS Blob (npm
// `fetch-blob`) is an ES module with top-level await, which the guest's
// built-in module compiler (CommonJS, guest/src/node/mod.rs) cannot take
// unchanged.
'use strict';

const state = new WeakMap();
const encoder = new TextEncoder();

function bytesOf(self, method) {
  const s = state.get(self);
  if (s === undefined) throw new TypeError(`Blob.${method}: 'this' is not a Blob`);
  return s;
}

// A type that is not all printable ASCII is dropped; the rest lowercased.
function normalizeType(type) {
  return /[^\x20-\x7e]/.test(type) ? '' : type.toLowerCase();
}

// WebIDL's sequence<BlobPart> conversion: each element, as iterated, is a
// BufferSource, a Blob, or converted to a string.
function convertParts(parts, ctor) {
  if (parts === undefined) return [];
  if (parts === null || (typeof parts !== 'object' && typeof parts !== 'function')) {
    throw new TypeError(`Failed to construct '${ctor}': The provided value cannot be converted to a sequence.`);
  }
  if (typeof parts[Symbol.iterator] !== 'function') {
    throw new TypeError(`Failed to construct '${ctor}': The object must have a callable @@iterator property.`);
  }
  const out = [];
  for (const part of parts) {
    if (part instanceof ArrayBuffer || ArrayBuffer.isView(part) || state.has(part)) out.push(part);
    else out.push(String(part));
  }
  return out;
}

// The BlobPropertyBag members, in WebIDL's order (endings, then type).
function convertOptions(options, ctor) {
  let endings = 'transparent';
  let type = '';
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object' && typeof options !== 'function') {
      throw new TypeError(`Failed to construct '${ctor}': The provided value is not of type 'BlobPropertyBag'.`);
    }
    if (options.endings !== undefined) {
      endings = String(options.endings);
      if (endings !== 'transparent' && endings !== 'native') {
        throw new TypeError(`Failed to construct '${ctor}': The provided value '${endings}' is not a valid enum value of type EndingType.`);
      }
    }
    if (options.type !== undefined) type = String(options.type);
  }
  return { endings, type: normalizeType(type) };
}

function joinParts(parts, endings) {
  const chunks = [];
  let length = 0;
  for (const part of parts) {
    let bytes;
    if (typeof part === 'string') {
      // "native" line endings are the platform's: "\n" (the guest is WASI).
      bytes = encoder.encode(endings === 'native' ? part.replace(/\r\n?/g, '\n') : part);
    } else if (part instanceof ArrayBuffer) {
      bytes = new Uint8Array(part.slice(0));
    } else if (ArrayBuffer.isView(part)) {
      bytes = new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
    } else {
      bytes = state.get(part).bytes;
    }
    chunks.push(bytes);
    length += bytes.byteLength;
  }
  // Bytes are never changed once in a blob, so one part's may be shared.
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

// Blob.slice's relative index: negative from the end, clamped to [0, size].
function relative(value, size) {
  let n = Number(value);
  if (Number.isNaN(n)) n = 0;
  n = n < 0 ? Math.ceil(n) : Math.floor(n);
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
}

class Blob {
  constructor(blobParts = undefined, options = undefined) {
    const parts = convertParts(blobParts, new.target === File ? 'File' : 'Blob');
    const { endings, type } = convertOptions(options, 'Blob');
    state.set(this, { bytes: joinParts(parts, endings), type });
  }
  get size() { return bytesOf(this, 'size').bytes.byteLength; }
  get type() { return bytesOf(this, 'type').type; }
  slice(start = undefined, end = undefined, contentType = undefined) {
    const { bytes } = bytesOf(this, 'slice');
    const size = bytes.byteLength;
    const from = start === undefined ? 0 : relative(start, size);
    const to = end === undefined ? size : relative(end, size);
    const type = contentType === undefined ? '' : normalizeType(String(contentType));
    const blob = Object.create(Blob.prototype);
    state.set(blob, { bytes: bytes.slice(from, Math.max(from, to)), type });
    return blob;
  }
  text() {
    try {
      const { bytes } = bytesOf(this, 'text');
      return Promise.resolve(new TextDecoder().decode(bytes));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  arrayBuffer() {
    try {
      return Promise.resolve(bytesOf(this, 'arrayBuffer').bytes.slice().buffer);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  bytes() {
    try {
      return Promise.resolve(bytesOf(this, 'bytes').bytes.slice());
    } catch (e) {
      return Promise.reject(e);
    }
  }
  stream() {
    const { bytes } = bytesOf(this, 'stream');
    // Chunks of at most 64 KiB, each a copy (a byte stream detaches what it
    // is given; the blob stays intact).
    let at = 0;
    return new ReadableStream({
      type: 'bytes',
      pull(controller) {
        if (at >= bytes.byteLength) {
          controller.close();
          // A BYOB read waiting on the closed stream ends only when told.
          if (controller.byobRequest) controller.byobRequest.respond(0);
          return;
        }
        const end = Math.min(at + 65536, bytes.byteLength);
        controller.enqueue(bytes.slice(at, end));
        at = end;
      },
    });
  }
}

class File extends Blob {
  constructor(fileBits, fileName, options = undefined) {
    if (arguments.length < 2) {
      throw new TypeError(`Failed to construct 'File': 2 arguments required, but only ${arguments.length} present.`);
    }
    // Arguments in order: the parts, the name, then the options.
    const parts = convertParts(fileBits, 'File');
    const name = String(fileName);
    super(parts, options);
    let lastModified = Date.now();
    if (options !== undefined && options !== null && options.lastModified !== undefined) {
      // WebIDL long long: NaN and infinities are 0, fractions truncated.
      const n = Number(options.lastModified);
      lastModified = Number.isFinite(n) ? Math.trunc(n) : 0;
    }
    state.get(this).file = { name, lastModified };
  }
  get name() {
    const s = bytesOf(this, 'name');
    if (s.file === undefined) throw new TypeError("File.name: 'this' is not a File");
    return s.file.name;
  }
  get lastModified() {
    const s = bytesOf(this, 'lastModified');
    if (s.file === undefined) throw new TypeError("File.lastModified: 'this' is not a File");
    return s.file.lastModified;
  }
}

// WebIDL: attributes and operations are enumerable.
for (const [cls, names] of [[Blob, ['size', 'type', 'slice', 'text', 'arrayBuffer', 'bytes', 'stream']],
  [File, ['name', 'lastModified']]]) {
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(cls.prototype, name);
    d.enumerable = true;
    Object.defineProperty(cls.prototype, name, d);
  }
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });
}

// blobBytes is for the other built-ins (form_data.js encodes a blob into a
// body without a promise); user code cannot reach this module.
const blobBytes = (v) => {
  const s = state.get(v);
  return s === undefined ? undefined : s.bytes;
};

module.exports = { Blob, File, blobBytes };
