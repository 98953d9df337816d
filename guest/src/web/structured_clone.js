// structuredClone (HTML standard's StructuredSerialize/Deserialize in one
// walk), matching what node (V8) clones: primitives, boxed primitives,
// Date, RegExp, ArrayBuffer (transferable), typed arrays, DataView, Map,
// Set, Error (name, message, stack, cause), Blob and File, arrays (holes
// and extra keys kept) and ordinary objects (own enumerable string keys; prototypes are
// not kept), with cycles and shared references preserved. Functions,
// symbols and other platform objects throw a DataCloneError DOMException.
// The transfer list moves ArrayBuffers and MessagePorts (messaging.js,
// which sends its messages through `web.serialize`).
//
// Types are recognised by brand checks (a built-in method or getter that
// throws for anything else), not by instanceof, so objects from a user's
// subclass or with a spoofed Symbol.toStringTag are handled as V8 does.
(function (native, web) {
  'use strict';

  const { DOMException, codeError } = web;
  const call = Function.prototype.call.bind(Function.prototype.call);
  const getter = (proto, key) => Object.getOwnPropertyDescriptor(proto, key).get;
  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const typedArrayTag = getter(TypedArray.prototype, Symbol.toStringTag);
  const arrayBufferByteLength = getter(ArrayBuffer.prototype, 'byteLength');
  const dataViewByteLength = getter(DataView.prototype, 'byteLength');
  const mapSize = getter(Map.prototype, 'size');
  const setSize = getter(Set.prototype, 'size');
  const regExpSource = getter(RegExp.prototype, 'source');
  const regExpFlags = getter(RegExp.prototype, 'flags');
  const dateGetTime = Date.prototype.getTime;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const arrayBufferSlice = ArrayBuffer.prototype.slice;
  const arrayBufferTransfer = ArrayBuffer.prototype.transfer;
  const arrayBufferDetached = (Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached') || {}).get;
  const boxes = [Number.prototype.valueOf, String.prototype.valueOf, Boolean.prototype.valueOf,
    BigInt.prototype.valueOf];
  const typedArrays = {};
  for (const name of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array',
    'BigUint64Array']) {
    if (typeof globalThis[name] === 'function') typedArrays[name] = globalThis[name];
  }
  const ERROR_TYPES = {
    Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
  };
  // Objects with internal state V8 refuses to serialise.
  const uncloneable = [
    [WeakMap.prototype.has, 'WeakMap'],
    [WeakSet.prototype.has, 'WeakSet'],
    [function () { Promise.prototype.then.call(this, undefined, () => {}); }, 'Promise'],
  ];
  if (typeof WeakRef === 'function') uncloneable.push([WeakRef.prototype.deref, 'WeakRef']);

  function is(fn, value) {
    try { call(fn, value); return true; } catch (_) { return false; }
  }

  function dataCloneError(what) {
    return new DOMException(`${what} could not be cloned.`, 'DataCloneError');
  }

  function describe(value) {
    const ctor = value && value.constructor;
    return `#<${typeof ctor === 'function' && ctor.name ? ctor.name : 'Object'}>`;
  }

  function cloneBuffer(buffer, memory) {
    let copy = memory.get(buffer);
    if (copy === undefined) {
      copy = call(arrayBufferSlice, buffer, 0);
      memory.set(buffer, copy);
    }
    return copy;
  }

  function clone(value, memory) {
    const type = typeof value;
    if (type === 'symbol') throw dataCloneError(String(value));
    if (type === 'function') throw dataCloneError(Function.prototype.toString.call(value));
    if (type !== 'object' || value === null) return value;

    const seen = memory.get(value);
    if (seen !== undefined) return seen;
    // A MessagePort (once messaging.js is loaded) moves only when transferred.
    if (web.messaging !== undefined && web.messaging.isPort(value)) {
      throw codeError(TypeError, 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST',
        'Object that needs transfer was found in message but not listed in transferList');
    }

    let out;
    if (Array.isArray(value)) {
      out = new Array(value.length);
      memory.set(value, out);
      for (const key of Object.keys(value)) out[key] = clone(value[key], memory);
      return out;
    }
    if (is(dateGetTime, value)) {
      out = new Date(call(dateGetTime, value));
      memory.set(value, out);
      return out;
    }
    if (is(regExpSource, value)) {
      out = new RegExp(call(regExpSource, value), call(regExpFlags, value));
      memory.set(value, out);
      return out;
    }
    for (const valueOf of boxes) {
      if (is(valueOf, value)) {
        out = Object(call(valueOf, value));
        memory.set(value, out);
        return out;
      }
    }
    if (is(arrayBufferByteLength, value)) return cloneBuffer(value, memory);
    const tag = call(typedArrayTag, value);
    if (tag !== undefined) {
      const Ctor = typedArrays[tag];
      out = new Ctor(cloneBuffer(value.buffer, memory), value.byteOffset, value.length);
      memory.set(value, out);
      return out;
    }
    if (is(dataViewByteLength, value)) {
      out = new DataView(cloneBuffer(value.buffer, memory), value.byteOffset, call(dataViewByteLength, value));
      memory.set(value, out);
      return out;
    }
    if (is(mapSize, value)) {
      out = new Map();
      memory.set(value, out);
      // Entries are read first, as the standard does, then cloned.
      const entries = [...call(mapEntries, value)];
      for (const [k, v] of entries) out.set(clone(k, memory), clone(v, memory));
      return out;
    }
    if (is(setSize, value)) {
      out = new Set();
      memory.set(value, out);
      const values = [...call(setValues, value)];
      for (const v of values) out.add(clone(v, memory));
      return out;
    }
    for (const [brand, name] of uncloneable) {
      if (is(brand, value)) throw dataCloneError(`#<${name}>`);
    }
    out = cloneBlob(value);
    if (out !== undefined) {
      memory.set(value, out);
      return out;
    }
    if (Error.prototype.isPrototypeOf(value)) return cloneError(value, memory);

    out = {};
    memory.set(value, out);
    for (const key of Object.keys(value)) out[key] = clone(value[key], memory);
    return out;
  }

  // Blob and File (guest/src/node/blob.js, behind lazy globals): a new one
  // of the same bytes and type, a File keeping its name and lastModified
  // (the standard's; node 20 makes a File a plain Blob). The tag is only a
  // cheap first test, so cloning plain objects never loads that module;
  // the size getter is the brand check (it throws for anything else).
  function cloneBlob(value) {
    const tag = value[Symbol.toStringTag];
    if (tag !== 'Blob' && tag !== 'File') return undefined;
    const { Blob, File } = globalThis;
    // (A script may have replaced the globals: then nothing is a blob.)
    const branded = (cls, key) => {
      try { return is(getter(cls.prototype, key), value); } catch (_) { return false; }
    };
    if (!branded(Blob, 'size')) return undefined;
    if (branded(File, 'name')) {
      return new File([value], value.name, { type: value.type, lastModified: value.lastModified });
    }
    return new Blob([value], { type: value.type });
  }

  function cloneError(value, memory) {
    const name = value.name;
    const Ctor = Object.prototype.hasOwnProperty.call(ERROR_TYPES, name) ? ERROR_TYPES[name] : Error;
    const out = Object.create(Ctor.prototype);
    memory.set(value, out);
    const own = (key) => Object.prototype.hasOwnProperty.call(value, key);
    const define = (key, v) => Object.defineProperty(out, key, {
      value: v, writable: true, enumerable: false, configurable: true,
    });
    if (own('stack')) define('stack', String(value.stack));
    if (own('message')) define('message', String(value.message));
    if (own('cause')) define('cause', clone(value.cause, memory));
    return out;
  }

  // An iterable's values, or undefined for anything else.
  function iterated(v) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return undefined;
    if (typeof v[Symbol.iterator] !== 'function') return undefined;
    return [...v];
  }

  // A transfer list read as node reads postMessage's second argument:
  // null or undefined is none, an iterable is the list, another object is
  // options whose `transfer` (when defined) must be iterable.
  function transferList(arg) {
    if (arg == null) return [];
    if (typeof arg !== 'object' && typeof arg !== 'function') {
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'Optional transferList argument must be an iterable');
    }
    let list = iterated(arg);
    if (list === undefined) {
      const option = arg.transfer;
      if (option === undefined) return [];
      list = iterated(option);
      if (list === undefined) {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'Optional options.transfer argument must be an iterable');
      }
    }
    return list;
  }

  function invalidTransfer() {
    return codeError(TypeError, 'ERR_INVALID_TRANSFER_OBJECT', 'Found invalid object in transferList');
  }

  function isDetached(buffer) {
    if (arrayBufferDetached !== undefined) return call(arrayBufferDetached, buffer);
    try { call(arrayBufferSlice, buffer, 0, 0); return false; } catch (_) { return true; }
  }

  // The message of a postMessage (and of structuredClone, which node makes
  // a postMessage): `value` cloned with the transfer list `transfer` (the
  // second argument, see transferList), checked as node checks it, from
  // port `source` (undefined for structuredClone). Returns the clone and
  // the transferred ports' new MessagePorts, in list order. Ports are
  // moved before the walk, so a value that turns out not cloneable leaves
  // them moved (node leaves them in place).
  function serialize(value, transfer, source) {
    const list = transferList(transfer);
    const buffers = [];
    const ports = [];
    const messaging = web.messaging;
    for (const entry of list) {
      if (entry === null || (typeof entry !== 'object' && typeof entry !== 'function')) throw invalidTransfer();
      if (is(arrayBufferByteLength, entry)) {
        if (buffers.includes(entry)) {
          throw new DOMException('Transfer list contains duplicate ArrayBuffer', 'DataCloneError');
        }
        buffers.push(entry);
      } else if (messaging !== undefined && messaging.isPort(entry)) {
        if (entry === source) throw new DOMException('Transfer list contains source port', 'DataCloneError');
        if (ports.includes(entry)) {
          throw new DOMException('Transfer list contains duplicate MessagePort', 'DataCloneError');
        }
        ports.push(entry);
      } else {
        throw invalidTransfer();
      }
    }
    for (const port of ports) {
      if (messaging.isDetached(port)) {
        throw new DOMException('MessagePort in transfer list is already detached', 'DataCloneError');
      }
    }
    const memory = new Map();
    // A transferred buffer is copied for the walk and detached after it:
    // views of it are cloned from their (still attached) geometry, and a
    // value that is not cloneable leaves the buffer as it was, as in
    // node. (A buffer already detached sends an empty one, as node's.)
    for (const buffer of buffers) {
      memory.set(buffer, isDetached(buffer) ? new ArrayBuffer(0) : call(arrayBufferSlice, buffer, 0));
    }
    const moved = [];
    for (const port of ports) {
      const copy = messaging.transfer(port);
      memory.set(port, copy);
      moved.push(copy);
    }
    const out = clone(value, memory);
    for (const buffer of buffers) {
      if (!isDetached(buffer)) call(arrayBufferTransfer, buffer);
    }
    return { value: out, ports: moved };
  }

  web.serialize = serialize;
  web.exposeOperation('structuredClone', { structuredClone(value, options = undefined) {
    if (arguments.length === 0) {
      throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The value argument must be specified');
    }
    // Node's structuredClone is a postMessage through a new channel.
    if (options !== undefined && options !== null && typeof options !== 'object') {
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The options argument must be either an object or undefined');
    }
    return serialize(value, options == null ? undefined : options.transfer, undefined).value;
  } }.structuredClone);
})
