// DOMException as WebIDL defines it, shaped like node's: a class of its
// own (the constructor's prototype is Function.prototype) whose prototype
// inherits from Error.prototype; name, message and the legacy code are
// enumerable prototype getters with brand checks, and the legacy code
// constants sit on the constructor and prototype. An instance is made by
// the Error constructor (Reflect.construct with the new.target), so it is
// a real Error object with a stack: QuickJS, and so jsbox's host, report
// only those as exceptions with a name, message and location.
(function (native, web) {
  'use strict';

  // WebIDL's error names table (current): the names with a legacy code.
  // The names it removed (DOMStringSizeError, NoDataAllowedError,
  // ValidationError) have code 0, though their constants stay.
  const LEGACY_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4,
    InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8,
    NotSupportedError: 9, InUseAttributeError: 10, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14,
    InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18,
    NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24,
    DataCloneError: 25,
  };
  const CONSTANTS = [
    'INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR',
    'WRONG_DOCUMENT_ERR', 'INVALID_CHARACTER_ERR', 'NO_DATA_ALLOWED_ERR',
    'NO_MODIFICATION_ALLOWED_ERR', 'NOT_FOUND_ERR', 'NOT_SUPPORTED_ERR',
    'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR', 'SYNTAX_ERR',
    'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR',
    'VALIDATION_ERR', 'TYPE_MISMATCH_ERR', 'SECURITY_ERR', 'NETWORK_ERR',
    'ABORT_ERR', 'URL_MISMATCH_ERR', 'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR',
    'INVALID_NODE_TYPE_ERR', 'DATA_CLONE_ERR',
  ];

  const captureStackTrace = Error.captureStackTrace;
  const construct = Reflect.construct;
  const hasOwn = Object.prototype.hasOwnProperty;
  // instance -> { name, message }: the constructor returns an object the
  // Error constructor made, which class private fields cannot be put on.
  const internals = new WeakMap();
  function state(e) {
    const s = internals.get(e);
    if (s === undefined) throw new TypeError('Illegal invocation');
    return s;
  }

  class DOMException {
    constructor(message = '', options = 'Error') {
      const e = construct(Error, [], new.target);
      // The stack starts at the caller of the constructor, so the host
      // reads the thrower's location from its first frame.
      captureStackTrace(e, new.target);
      let name;
      if (options !== null && typeof options === 'object') {
        name = 'name' in options ? `${options.name}` : 'Error';
        if ('cause' in options) {
          Object.defineProperty(e, 'cause', {
            value: options.cause, writable: true, enumerable: false, configurable: true,
          });
        }
      } else {
        name = `${options}`;
      }
      internals.set(e, { name, message: `${message}` });
      return e;
    }
    get name() { return state(this).name; }
    get message() { return state(this).message; }
    get code() {
      const name = state(this).name;
      return hasOwn.call(LEGACY_CODES, name) ? LEGACY_CODES[name] : 0;
    }
  }
  Object.setPrototypeOf(DOMException.prototype, Error.prototype);
  // WebIDL attributes are enumerable (class getters are not).
  for (const key of ['name', 'message', 'code']) {
    const d = Object.getOwnPropertyDescriptor(DOMException.prototype, key);
    d.enumerable = true;
    Object.defineProperty(DOMException.prototype, key, d);
  }
  Object.defineProperty(DOMException.prototype, Symbol.toStringTag, {
    value: 'DOMException', configurable: true,
  });
  for (let i = 0; i < CONSTANTS.length; i++) {
    const d = { value: i + 1, enumerable: true };
    Object.defineProperty(DOMException, CONSTANTS[i], d);
    Object.defineProperty(DOMException.prototype, CONSTANTS[i], d);
  }

  web.DOMException = DOMException;
  // WebIDL on the global object: interfaces are non-enumerable, operations
  // (atob, structuredClone, ...) enumerable; attributes (crypto,
  // performance, ...) are [Replaceable] accessors: assigning replaces them.
  web.expose = function expose(name, value, enumerable = false) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable });
  };
  web.exposeOperation = (name, value) => web.expose(name, value, true);
  // An interface loaded on first read (then a plain data property, which a
  // script may replace, as in node): what is behind it is compiled only by
  // a runtime that uses it, and the snapshot holds just the accessor. The
  // prelude's lazy globals (process, the Streams classes, Blob) use it too.
  web.exposeLazy = function exposeLazy(name, load) {
    const define = (value) => web.expose(name, value);
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get() {
        const value = load();
        define(value);
        return value;
      },
      set: define,
    });
  };
  // The exports of a built-in CommonJS module compiled now, on first use
  // (guest/src/node/mod.rs SOURCES: subtle.js, urlpattern.js, messaging.js), which
  // reaches `{ native, web }` as require('jsbox:web'). The caller keeps
  // them: each load compiles and runs the module again.
  web.loadModule = function loadModule(name) {
    const module = { exports: {} };
    const require = (dep) => {
      if (dep !== 'jsbox:web') throw new Error(`${name}.js: no module '${dep}'`);
      return { native, web };
    };
    native.nodeModule(name).call(module.exports, module.exports, require, module);
    return module.exports;
  };
  web.exposeAttribute = function exposeAttribute(name, value) {
    Object.defineProperty(globalThis, name, {
      get() { return value; },
      set(v) { Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true, enumerable: true }); },
      configurable: true,
      enumerable: true,
    });
  };
  // Node's argument errors: a TypeError with a `code`.
  web.codeError = function codeError(Ctor, code, message) {
    const e = new Ctor(message);
    e.code = code;
    return e;
  };
  web.expose('DOMException', DOMException);
})
