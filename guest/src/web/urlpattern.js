// URLPattern (URL Pattern Standard). The `urlpattern` crate parses,
// canonicalizes and matches (urlpattern.rs); this file is the WebIDL shape
// (argument and dictionary conversion, the overloads, `inputs`) and the
// regular expression engine the crate runs: QuickJS's RegExp, so regexp
// groups have ECMAScript semantics. A built-in CommonJS module
// (guest/src/node/mod.rs SOURCES) compiled on the first read of the global
// (web.exposeLazy in url.js), not in the snapshot.
'use strict';

const { urlPatternParse, urlPatternGet, urlPatternExec } = require('jsbox:web').native;
const PROTOCOL = 0, USERNAME = 1, PASSWORD = 2, HOSTNAME = 3, PORT = 4, PATHNAME = 5,
  SEARCH = 6, HASH = 7, HAS_REGEXP_GROUPS = 8;
// The init dictionary's members in the order urlpattern.rs reads them.
const MEMBERS = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash', 'baseURL'];
// WebIDL converts a dictionary's members in lexicographic order (which
// getters on the object observe).
const SORTED_MEMBERS = [...MEMBERS].sort();

// The intrinsics the engine uses, taken when this file is compiled.
const NativeRegExp = RegExp;
const regExpExec = RegExp.prototype.exec;
const toWellFormed = String.prototype.toWellFormed;
const usv = (v) => toWellFormed.call(`${v}`);

// The crate's regexp engine (urlpattern.rs calls it from inside its
// parser and matcher): compiles `source` with `flags` and, given `text`,
// returns null for no match or each group's [start, end] in UTF-16
// units, flattened (-1, -1 for a group that did not take part). A bad
// source throws. Compiled expressions are kept, a bounded number: one
// pattern runs the same ones on every match.
const compiled = new Map();
function runRegExp(source, flags, text) {
  const key = `${flags}/${source}`;
  let re = compiled.get(key);
  if (re === undefined) {
    re = new NativeRegExp(source, `${flags}d`);
    if (compiled.size >= 256) compiled.clear();
    compiled.set(key, re);
  }
  if (text === undefined) return null;
  const m = regExpExec.call(re, text);
  if (m === null) return null;
  const offsets = [];
  for (let i = 1; i < m.indices.length; i++) {
    const span = m.indices[i];
    if (span === undefined) offsets.push(-1, -1);
    else offsets.push(span[0], span[1]);
  }
  return offsets;
}

const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';

// URLPatternInit (a dictionary of USVStrings): the converted copy, which
// is also what `inputs` reports.
function toInit(value) {
  const init = {};
  if (value === undefined || value === null) return init;
  if (!isObject(value)) throw new TypeError("URLPattern: the input is not an object or a string");
  for (const name of SORTED_MEMBERS) {
    const v = value[name];
    if (v !== undefined) init[name] = usv(v);
  }
  return init;
}

// URLPatternInput = (USVString or URLPatternInit): the value as WebIDL
// converts it, and what urlpattern.rs takes (the string, or the members).
function toInput(value) {
  if (value === undefined || value === null || isObject(value)) {
    const init = toInit(value);
    return [init, MEMBERS.map((name) => init[name])];
  }
  const s = usv(value);
  return [s, s];
}

class URLPattern {
  #record;

  // constructor(input, baseURL, options) or constructor(input, options):
  // WebIDL picks the overload by the second argument, a dictionary when
  // it is undefined, null or an object, else the base URL string.
  constructor(input = undefined, baseURL = undefined, options = undefined) {
    let base;
    if (baseURL !== undefined && baseURL !== null && !isObject(baseURL)) {
      base = usv(baseURL);
    } else {
      options = baseURL;
    }
    if (options !== undefined && options !== null && !isObject(options)) {
      throw new TypeError('URLPattern: the options are not an object');
    }
    const ignoreCase = options == null ? false : Boolean(options.ignoreCase);
    this.#record = urlPatternParse(toInput(input)[1], base, ignoreCase, runRegExp);
  }

  test(input = undefined, baseURL = undefined) {
    return this.#match(input, baseURL) !== null;
  }

  exec(input = undefined, baseURL = undefined) {
    return this.#match(input, baseURL);
  }

  #match(input, baseURL) {
    const [converted, forRust] = toInput(input);
    const base = baseURL === undefined ? undefined : usv(baseURL);
    const result = urlPatternExec(this.#record, forRust, base, runRegExp);
    if (result === undefined) return null;
    result.inputs = base === undefined ? [converted] : [converted, base];
    return result;
  }

  get protocol() { return urlPatternGet(this.#record, PROTOCOL); }
  get username() { return urlPatternGet(this.#record, USERNAME); }
  get password() { return urlPatternGet(this.#record, PASSWORD); }
  get hostname() { return urlPatternGet(this.#record, HOSTNAME); }
  get port() { return urlPatternGet(this.#record, PORT); }
  get pathname() { return urlPatternGet(this.#record, PATHNAME); }
  get search() { return urlPatternGet(this.#record, SEARCH); }
  get hash() { return urlPatternGet(this.#record, HASH); }
  get hasRegExpGroups() { return urlPatternGet(this.#record, HAS_REGEXP_GROUPS); }
}
Object.defineProperty(URLPattern.prototype, Symbol.toStringTag, { value: 'URLPattern', configurable: true });

module.exports = { URLPattern };
