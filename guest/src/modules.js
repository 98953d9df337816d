// The jsbox guest's ES-module side (see guest/src/modules.rs for the Rust
// half and host/src/modules/ for resolution). An expression: a function the
// Rust side calls once, during `init`, with the prelude's internals and the
// Rust helpers; it returns the hooks QuickJS's module loader calls.
//
// Names. An ES module is known to QuickJS by its canonical name: "/" + its
// path under the sandbox root ("/plugin.mjs", "/node_modules/x/index.js"),
// or "node:NAME" for a built-in. CommonJS modules keep the prelude's names
// (no leading "/"). import.meta.url is "file://" + the canonical name.
//
// Resolution answers (which file a specifier names, its format and source)
// come from the host, and only while the factory is built: they are kept
// here, in the snapshot, so a runtime never asks.
(function (internals, native) {
  'use strict';

  const {
    ModuleError, allowed, natives, compiled, path, instantiate, registryModules, PURE_MODULES, CAPABILITY_MODULES,
    literals,
  } = internals;
  const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const JSONstringify = JSON.stringify;
  const JSONparse = JSON.parse;

  // (mode, directory, specifier) -> { name, format, source }.
  const answers = new Map();
  // Canonical ES-module name -> { name, format, source }.
  const records = new Map();
  // Modules named by a string-literal import() or require() seen at build
  // time, to compile before the snapshot is taken.
  const prefetched = [];

  // Node built-ins jsbox does not have, for a clearer error than
  // "cannot find package".
  const NODE_ONLY = new Set(['assert', 'async_hooks', 'child_process', 'cluster', 'crypto',
    'dgram', 'diagnostics_channel', 'dns', 'events', 'http', 'http2', 'https', 'inspector', 'module',
    'net', 'os', 'perf_hooks', 'querystring', 'readline', 'repl', 'stream', 'string_decoder',
    'timers', 'tls', 'tty', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib']);

  const isPath = (s) => s === '.' || s === '..' || s.startsWith('./') || s.startsWith('../') || s.startsWith('/');
  const dirOf = (canonical) => (canonical.startsWith('/') ? path.dirname(canonical) : '/');

  function builtinNames() {
    const names = PURE_MODULES.concat(Object.keys(natives));
    return names.concat(CAPABILITY_MODULES.filter((n) => !names.includes(n)));
  }

  // The built-in a specifier names ("node:path", "path"), or null. A
  // registry module of the same bare name wins, as it does for require().
  function builtin(spec) {
    const prefixed = spec.startsWith('node:');
    const bare = prefixed ? spec.slice(5) : spec;
    if (!prefixed && (hasOwn(compiled, spec) || records.has('/' + spec))) return null;
    if (builtinNames().includes(bare)) {
      if (!allowed(bare)) throw new ModuleError(`module '${bare}' is denied by the module policy`, 'denied', bare);
      return 'node:' + bare;
    }
    if (prefixed || NODE_ONLY.has(bare)) {
      throw new ModuleError(`'${spec}' is a node built-in that is not available in the sandbox ` +
        `(jsbox has: ${builtinNames().map((n) => 'node:' + n).join(', ')})`, 'not-found', spec);
    }
    return null;
  }

  // The package a bare specifier names, for the module policy.
  function packageName(spec) {
    const parts = spec.split('/');
    return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  }

  function notFound(spec, from) {
    return new ModuleError(`Cannot find module '${spec}' imported from ${from}: imports are resolved ` +
      'when the sandbox is built, and this one was not seen then (only static imports and ' +
      'string-literal import() and require() calls are)', 'not-found', spec);
  }

  // Asks the host (at build time) which file `spec` names from `dir`.
  function resolveFile(spec, dir, mode, from) {
    // Conditions ("import"/"require") only matter for packages.
    const key = (isPath(spec) ? '' : mode) + '\0' + dir + '\0' + spec;
    let found = answers.get(key);
    if (found !== undefined) return found;
    if (!native.building()) throw notFound(spec, from);
    let text;
    try {
      text = native.hostResolve(from, spec, mode);
    } catch (e) {
      throw new ModuleError(`${e.message}`, 'not-found', spec);
    }
    found = JSONparse(text);
    answers.set(key, found);
    let detected = null;
    if (found.format === 'detect') [found.format, detected] = detectFormat(found);
    if (found.format === 'esm') {
      if (!records.has('/' + found.name)) records.set('/' + found.name, found);
    } else if (!hasOwn(compiled, found.name)) {
      compiled[found.name] = detected || native.compileCommonJS(found.name, found.source);
      prefetch(found, '/' + found.name, false);
    }
    return found;
  }

  // Node 22's syntax detection, for a .js file no package.json "type"
  // covers (host/src/modules/resolve.rs, Format::Detect): CommonJS if it
  // compiles as CommonJS (the compiled function comes along), else an ES
  // module. `import`, `export`, `import.meta` and top-level `await` are
  // what make such a file fail as CommonJS; one that fails both ways
  // reports the ES module's syntax error.
  function detectFormat(found) {
    if (records.has('/' + found.name)) return [records.get('/' + found.name).format, null];
    if (hasOwn(compiled, found.name)) return ['cjs', null];
    try {
      return ['cjs', native.compileCommonJS(found.name, found.source)];
    } catch (e) {
      if (e instanceof SyntaxError) return ['esm', null];
      throw e;
    }
  }

  // Resolves a module's literal import() (an ES module's) or require()
  // (a CommonJS one's) specifiers now, so a runtime can load them later;
  // the host found them (host/src/modules/literals.rs). Failures are left
  // for run time.
  function prefetch(found, canonical, esm) {
    for (const spec of (esm ? found.imports : found.requires) || []) {
      try {
        if (esm) {
          prefetched.push(resolve(canonical, spec));
        } else {
          if (!hasOwn(compiled, spec) && !builtinNames().includes(spec.replace(/^node:/, ''))) {
            resolveFile(spec, dirOf(canonical), 'require', canonical);
          }
        }
      } catch (_) { /* reported when (if) it runs */ }
    }
  }

  // QuickJS's normalize hook: the canonical name `spec` names from `base`.
  function resolve(base, spec) {
    if (records.has(spec)) return spec;
    const from = base.startsWith('/') ? base : '/';
    const b = builtin(spec);
    if (b) return b;
    if (isPath(spec)) {
      const p = path.resolve(dirOf(from), spec);
      if (records.has(p)) return p;
      if (hasOwn(compiled, p.slice(1))) return registryCommonJS(p.slice(1));
    } else {
      if (records.has('/' + spec)) return '/' + spec;
      if (hasOwn(compiled, spec)) return registryCommonJS(spec);
      if (!allowed(packageName(spec))) {
        throw new ModuleError(`module '${packageName(spec)}' is denied by the module policy`, 'denied', packageName(spec));
      }
    }
    const found = resolveFile(spec, dirOf(from), 'import', from);
    const canonical = '/' + found.name;
    if (!records.has(canonical)) records.set(canonical, found);
    return canonical;
  }

  function registryCommonJS(name) {
    const canonical = '/' + name;
    if (!records.has(canonical)) {
      const source = hasOwn(registryModules, name) ? registryModules[name] : '';
      records.set(canonical, { name, format: name.endsWith('.json') ? 'json' : 'cjs', source });
    }
    return canonical;
  }

  // Export names of a CommonJS module, found the way node's
  // cjs-module-lexer finds them: assignments to `exports.x` /
  // `module.exports.x`, `Object.defineProperty(exports, 'x', ...)`, and the
  // keys of a `module.exports = { ... }` literal.
  function commonJSExports(source) {
    const names = new Set();
    for (const m of source.matchAll(/(?:^|[^.\w$])(?:module\s*\.\s*)?exports\s*\.\s*([A-Za-z_$][\w$]*)\s*=[^=]/g)) names.add(m[1]);
    for (const m of source.matchAll(/(?:^|[^.\w$])(?:module\s*\.\s*)?exports\s*\[\s*(['"])([^'"]+)\1\s*\]\s*=[^=]/g)) names.add(m[2]);
    for (const m of source.matchAll(/Object\.defineProperty\(\s*(?:module\s*\.\s*)?exports\s*,\s*(['"])([^'"]+)\1/g)) names.add(m[2]);
    for (const m of source.matchAll(/(?:^|[^.\w$])module\s*\.\s*exports\s*=\s*\{([^{}]*)\}/g)) {
      for (const entry of m[1].split(',')) {
        const key = /^\s*(?:(['"])([^'"]+)\1|([A-Za-z_$][\w$]*))\s*(?::|$)/.exec(entry);
        if (key) names.add(key[2] || key[3]);
      }
    }
    names.delete('default');
    names.delete('__esModule');
    return [...names];
  }

  const IDENT = /^[A-Za-z_$][\w$]*$/;
  // An ES module whose default export is `require(name)` and whose named
  // exports are `names` of it.
  function facade(name, names) {
    const key = JSONstringify(name);
    let text = `const __jsbox_m = globalThis[Symbol.for('jsbox.modules')].require(${key});\n` +
      'export default __jsbox_m;\n';
    let i = 0;
    for (const n of names) {
      // Names that are not identifiers cannot be exported by name here.
      if (n === 'default' || !IDENT.test(n)) continue;
      const local = `__jsbox_${i++}`;
      text += `const ${local} = __jsbox_m == null ? undefined : __jsbox_m[${JSONstringify(n)}];\n` +
        `export { ${local} as ${n} };\n`;
    }
    return text;
  }

  // QuickJS's load hook: the source of canonical module `name` and its
  // import.meta.url.
  function load(name) {
    if (name.startsWith('node:')) {
      const bare = name.slice(5);
      const exports = instantiate(bare);
      const names = exports == null ? [] : Object.keys(exports);
      return { source: facade(bare, names), url: name };
    }
    const found = records.get(name);
    if (found === undefined) throw new ModuleError(`Cannot find module '${name}'`, 'not-found', name);
    const url = 'file://' + name;
    switch (found.format) {
      case 'esm':
        if (native.building()) prefetch(found, name, true);
        return { source: found.source, url };
      case 'json':
        return { source: `export default JSON.parse(${JSONstringify(found.source)});\n`, url };
      default:
        return { source: facade(found.name, commonJSExports(found.source)), url };
    }
  }

  // require() of a file the registry does not hold: CommonJS runs, an ES
  // module (without top-level await) gives its namespace, as in node 22.
  function requireFile(spec, dir) {
    const known = isPath(spec) ? path.resolve(dir, spec) : '/' + spec;
    if (records.has(known) && records.get(known).format === 'esm') {
      return { name: known.slice(1), exports: native.evaluate(known) };
    }
    const found = resolveFile(spec, dir, 'require', dir.endsWith('/') ? dir : dir + '/');
    if (found.format === 'esm') return { name: found.name, exports: native.evaluate('/' + found.name) };
    return { name: found.name, exports: undefined };
  }

  // Registry ES modules: known without asking the host, compiled in init.
  function addRegistryModule(name, source) {
    records.set('/' + name, { name, format: 'esm', source, ...literals[name] });
    return '/' + name;
  }

  Object.defineProperty(globalThis, Symbol.for('jsbox.modules'), {
    value: Object.freeze({ require: (name) => instantiate(name) }),
  });

  return {
    resolve,
    load,
    requireFile,
    addRegistryModule,
    // Names to compile before the snapshot (string-literal import()s).
    takePrefetched() { return prefetched.splice(0); },
  };
})
