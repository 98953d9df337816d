// The jsbox guest's JS side: CommonJS `require`, native-module stubs,
// `console` and `path`. Evaluated once by `init` (so, in a factory, inside
// the Wizer snapshot). It is an expression: a function the Rust side calls
// with the parsed registry, the host functions (`hostBind(module, fn)`
// makes a native function's stub: guest/src/native_call.rs), `callAsync`
// (from event_loop.js), `nodeModule` (compiles a built-in JS module, or
// makes the Rust functions behind one: guest/src/node) and
// `lazyGlobal(name, load)` (a global compiled on first read:
// web.exposeLazy in guest/src/web/dom_exception.js); it returns the
// small API the Rust side uses. Nothing here is reachable from user code
// except through `require`, `module` objects, `console` and `process`.
(function (registry, compiled, hostCall, hostConsole, hostBind, callAsync, nodeModule, lazyGlobal) {
  'use strict';

  const natives = registry.natives || {};
  // Async native functions by module: their stubs return promises
  // (callAsync comes from event_loop.js).
  const asyncNatives = registry.async_natives || {};
  const policy = registry.policy || { mode: 'all' };
  const cache = Object.create(null);
  // Built-in native modules that exist only when the embedder grants them
  // (the host's capability table).
  const CAPABILITY_MODULES = registry.capabilities || [];
  // Node built-ins written in JS (guest/src/node), compiled on first use.
  const NODE_JS_MODULES = ['process', 'buffer', 'stream/web'];
  // Pure built-ins: no host capability behind them (the data-only policy
  // allows them).
  const PURE_MODULES = ['path', 'console'].concat(NODE_JS_MODULES);
  const JSONstringify = JSON.stringify;
  const JSONparse = JSON.parse;

  class ModuleError extends Error {
    constructor(message, kind, module) {
      super(message);
      this.name = 'ModuleError';
      // Read by the Rust side: the error kind ('not-found', 'denied',
      // 'not-granted') and the module it is about.
      this.jsboxKind = kind;
      this.jsboxModule = module;
    }
  }

  // ---- path: pure JS, POSIX semantics, rooted at "/" -----------------------
  function normalizeParts(parts) {
    const out = [];
    for (const part of parts) {
      if (part === '' || part === '.') continue;
      if (part === '..') { if (out.length) out.pop(); continue; }
      out.push(part);
    }
    return out;
  }
  const path = Object.freeze({
    sep: '/',
    join(...segments) {
      const joined = segments.filter((s) => s !== '').join('/');
      if (joined === '') return '.';
      const abs = joined.startsWith('/');
      const body = normalizeParts(joined.split('/')).join('/');
      return abs ? '/' + body : body || '.';
    },
    // Resolves against the module root "/": never above it.
    resolve(...segments) {
      let acc = '';
      for (const s of segments) acc = s.startsWith('/') ? s : acc + '/' + s;
      return '/' + normalizeParts(acc.split('/')).join('/');
    },
    dirname(p) {
      const i = p.replace(/\/+$/, '').lastIndexOf('/');
      if (i < 0) return '.';
      return i === 0 ? '/' : p.slice(0, i);
    },
    basename(p, ext) {
      const base = p.replace(/\/+$/, '').split('/').pop() || '';
      return ext && base.endsWith(ext) ? base.slice(0, -ext.length) : base;
    },
    extname(p) {
      const base = path.basename(p);
      const i = base.lastIndexOf('.');
      return i <= 0 ? '' : base.slice(i);
    },
    isAbsolute(p) { return p.startsWith('/'); },
    normalize(p) { return path.join(p); },
  });

  // ---- console -------------------------------------------------------------
  function show(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}` : String(v);
    if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
    if (typeof v === 'object' && v !== null) {
      try { return JSONstringify(v); } catch (_) { return String(v); }
    }
    return String(v);
  }
  const level = (n) => (...args) => hostConsole(n, args.map(show).join(' '));
  const console = Object.freeze({
    debug: level(0), info: level(1), log: level(2), warn: level(3), error: level(4),
  });

  // ---- native modules: stubs that call the host ------------------------------
  function nativeModule(name, functions) {
    const m = Object.create(null);
    for (const fn of functions) {
      // Same as `JSONparse(hostCall(name, fn, JSONstringify(args)))`, with
      // numbers, strings and scalar results kept out of JSON: JSON.stringify
      // still throws on cycles and BigInt; undefined and functions become
      // null in the argument array. Both are documented behaviour.
      m[fn] = hostBind(name, fn);
    }
    for (const fn of asyncNatives[name] || []) m[fn] = (...args) => callAsync(name, fn, args);
    return Object.freeze(m);
  }

  // ---- require ---------------------------------------------------------------
  function allowed(name) {
    switch (policy.mode) {
      case 'allow': return policy.list.includes(name);
      case 'deny': return !policy.list.includes(name);
      case 'data-only': return Object.prototype.hasOwnProperty.call(compiled, name) ||
        PURE_MODULES.includes(name);
      default: return true;
    }
  }

  // Registry keys are paths without a leading "/" ("lib/util.js") or bare
  // names ("math"). Relative specifiers resolve against the requiring module.
  // Answers that name a registry module are kept (`compiled` only grows, so
  // they never go stale): every require() runs this, and path arithmetic in
  // JS costs microseconds.
  const resolved = new Map();
  function resolve(spec, fromDir) {
    const key = fromDir + '\0' + spec;
    const hit = resolved.get(key);
    if (hit !== undefined) return hit;
    const base = spec.startsWith('./') || spec.startsWith('../')
      ? path.resolve(fromDir, spec).slice(1)
      : spec.startsWith('/') ? path.resolve(spec).slice(1) : spec;
    for (const candidate of [base, base + '.js', base + '.json', base + '/index.js']) {
      if (Object.prototype.hasOwnProperty.call(compiled, candidate)) {
        resolved.set(key, candidate);
        return candidate;
      }
    }
    return base;
  }
  // Resolved now, at build time, so the answers are in the snapshot and a
  // runtime's first require() of a registry module skips the arithmetic:
  // each registry module by name, and its string-literal require()s.
  // (The host found the literals: host/src/modules/literals.rs.)
  const literals = registry.literals || {};
  for (const name of Object.keys(compiled)) {
    resolve(name, '/');
    const dir = path.dirname('/' + name);
    for (const spec of (literals[name] || {}).requires || []) resolve(spec, dir);
  }

  // Set by modules.js: require() of files and packages outside the
  // registry (node resolution, answered at build time), and of ES modules.
  let requireFile = null;
  const isBuiltin = (name) => Object.prototype.hasOwnProperty.call(natives, name) ||
    PURE_MODULES.includes(name) || CAPABILITY_MODULES.includes(name);

  function load(spec, fromDir) {
    let name = resolve(spec, fromDir);
    if (requireFile && !(name in cache) && !Object.prototype.hasOwnProperty.call(compiled, name) &&
        !isBuiltin(name.replace(/^node:/, ''))) {
      const isPath = /^(\.\.?(\/|$)|\/)/.test(spec);
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!isPath && !allowed(pkg)) {
        throw new ModuleError(`module '${pkg}' is denied by the module policy`, 'denied', pkg);
      }
      const found = requireFile(spec, fromDir);
      if (found.exports !== undefined) {
        cache[found.name] = { exports: found.exports };
        return found.exports;
      }
      return instantiate(found.name, spec);
    }
    if (name.startsWith('node:') && isBuiltin(name.slice(5))) name = name.slice(5);
    if (!allowed(name)) {
      throw new ModuleError(`module '${name}' is denied by the module policy`, 'denied', name);
    }
    return instantiate(name, spec);
  }

  // The exports of registry (or resolved file) module `name`, run on first use.
  function instantiate(name, spec = name) {
    if (name in cache) return cache[name].exports;
    if (Object.prototype.hasOwnProperty.call(compiled, name)) {
      const module = { id: name, filename: '/' + name, loaded: false, exports: {} };
      cache[name] = module;
      const dir = path.dirname('/' + name);
      const local = (s) => load(s, dir);
      local.cache = cache;
      try {
        compiled[name].call(module.exports, module.exports, local, module, '/' + name, dir);
      } catch (e) {
        delete cache[name];
        throw e;
      }
      module.loaded = true;
      return module.exports;
    }
    if (Object.prototype.hasOwnProperty.call(natives, name)) {
      cache[name] = { exports: nativeModule(name, natives[name]) };
      return cache[name].exports;
    }
    if (name === 'path') return path;
    if (name === 'console') return console;
    if (NODE_JS_MODULES.includes(name)) {
      cache[name] = { exports: runNodeModule(name) };
      return cache[name].exports;
    }
    if (CAPABILITY_MODULES.includes(name)) {
      throw new ModuleError(`module '${name}' needs a capability the embedder did not grant`, 'not-granted', name);
    }
    throw new ModuleError(`Cannot find module '${spec}'`, 'not-found', spec);
  }

  // A built-in JS module's exports. Its `require` reaches the other
  // built-ins, the vendored packages behind them (base64-js and ieee754
  // for buffer, invisible to user code), the embedder's options and the
  // Rust functions some of them are written over ('jsbox:compression').
  const vendored = Object.create(null);
  function runNodeModule(name) {
    const module = { exports: {} };
    const internalRequire = (dep) => {
      if (dep === 'jsbox:options') return { env: registry.env || {}, version: registry.version || '' };
      if (NODE_JS_MODULES.includes(dep)) return instantiate(dep);
      return builtinModule(dep);
    };
    nodeModule(name).call(module.exports, module.exports, internalRequire, module);
    return module.exports;
  }
  // The exports of a built-in JS module user code cannot name (blob,
  // form_data, the vendored packages), run once per runtime.
  function builtinModule(name) {
    // A `jsbox:` name is Rust functions (guest/src/node/mod.rs NATIVES).
    if (!(name in vendored)) vendored[name] = name.startsWith('jsbox:') ? nodeModule(name) : runNodeModule(name);
    return vendored[name];
  }

  const require = (spec) => load(String(spec), '/');
  require.cache = cache;

  globalThis.console = console;
  globalThis.require = require;
  // Globals whose module is compiled on first read.
  lazyGlobal('process', () => instantiate('process'));
  // The Streams classes node has as globals (node:stream/web's exports).
  for (const name of ['ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
    'ReadableStreamBYOBRequest', 'ReadableByteStreamController', 'ReadableStreamDefaultController',
    'TransformStream', 'TransformStreamDefaultController', 'WritableStream', 'WritableStreamDefaultWriter',
    'WritableStreamDefaultController', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy',
    'TextEncoderStream', 'TextDecoderStream', 'CompressionStream', 'DecompressionStream']) {
    lazyGlobal(name, () => instantiate('stream/web')[name]);
  }
  // Blob and File (guest/src/node/blob.js, not a module user code can name).
  for (const name of ['Blob', 'File']) lazyGlobal(name, () => builtinModule('blob')[name]);
  // FormData (guest/src/node/form_data.js; fetch.js reaches the same module
  // for FormData bodies through internals.builtinModule).
  lazyGlobal('FormData', () => builtinModule('form_data').FormData);

  for (const name of registry.preload || []) load(name, '/');

  return {
    require,
    // For modules.js (guest/src/modules.rs hands them over).
    internals: {
      ModuleError, allowed, natives, compiled, path, instantiate, builtinModule, PURE_MODULES, CAPABILITY_MODULES, literals,
      registryModules: registry.modules || {},
      setRequireFile(f) { requireFile = f; },
    },
    // Looks up `fn` on a module's exports (or the global object) for `call`.
    lookup(moduleName, fn) {
      const target = moduleName == null ? globalThis : require(moduleName);
      const f = target == null ? undefined : target[fn];
      if (typeof f !== 'function') {
        const where = moduleName == null ? 'global scope' : `module '${moduleName}'`;
        throw new TypeError(`'${fn}' is not a function in ${where}`);
      }
      return [target, f];
    },
  };
})
