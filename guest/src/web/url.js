// URL and URLSearchParams (WHATWG URL Standard). Every parse and setter is
// ada's (node's URL parser), every urlencoded step the `url` crate's
// (url.rs); this file is the WebIDL shape: argument conversion
// (USVString), errors like node's, the live link between a URL and its
// searchParams, iteration and sorting.
(function (native, web) {
  'use strict';

  const { codeError } = web;
  const { urlParse, urlGet, urlSet, urlSetQuery, formParse, formSerialize } = native;
  const HREF = 0, ORIGIN = 1, PROTOCOL = 2, USERNAME = 3, PASSWORD = 4, HOST = 5,
    HOSTNAME = 6, PORT = 7, PATHNAME = 8, SEARCH = 9, HASH = 10;

  // WebIDL USVString: lone surrogates become U+FFFD.
  const toWellFormed = String.prototype.toWellFormed;
  const usv = (v) => toWellFormed.call(`${v}`);

  function invalidUrl(input, base) {
    const e = codeError(TypeError, 'ERR_INVALID_URL', 'Invalid URL');
    e.input = input;
    if (base !== undefined) e.base = base;
    return e;
  }

  function pairs(flat) {
    const list = [];
    for (let i = 0; i < flat.length; i += 2) list.push([flat[i], flat[i + 1]]);
    return list;
  }

  let attach; // (params, url record or null, query string) : links a URLSearchParams to its URL
  let reparse; // (params, query string) : refreshes the list after the URL changed

  class URLSearchParams {
    #list = [];
    #record = null;

    constructor(init = undefined) {
      if (init === undefined || init === null) return;
      if (typeof init === 'object' && init !== null || typeof init === 'function') {
        const iterator = init[Symbol.iterator];
        if (iterator !== undefined && iterator !== null) {
          if (typeof iterator !== 'function') {
            throw codeError(TypeError, 'ERR_ARG_NOT_ITERABLE', 'Query pairs must be iterable');
          }
          for (const pair of init) {
            if (pair === null || typeof pair !== 'object' && typeof pair !== 'function' ||
                typeof pair[Symbol.iterator] !== 'function') {
              throw codeError(TypeError, 'ERR_INVALID_TUPLE', 'Each query pair must be an iterable [name, value] tuple');
            }
            const p = [...pair];
            if (p.length !== 2) {
              throw codeError(TypeError, 'ERR_INVALID_TUPLE', 'Each query pair must be an iterable [name, value] tuple');
            }
            this.#list.push([usv(p[0]), usv(p[1])]);
          }
        } else {
          for (const key of Reflect.ownKeys(init)) {
            if (typeof key !== 'string') continue;
            const desc = Reflect.getOwnPropertyDescriptor(init, key);
            if (desc !== undefined && desc.enumerable) this.#list.push([usv(key), usv(init[key])]);
          }
        }
      } else {
        let s = usv(init);
        if (s.startsWith('?')) s = s.slice(1);
        this.#list = pairs(formParse(s));
      }
    }

    #update() {
      if (this.#record !== null) urlSetQuery(this.#record, this.toString());
    }

    get size() { return this.#list.length; }

    append(name, value) {
      if (arguments.length < 2) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "name" and "value" arguments must be specified');
      }
      this.#list.push([usv(name), usv(value)]);
      this.#update();
    }

    delete(name, value = undefined) {
      if (arguments.length < 1) throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "name" argument must be specified');
      const n = usv(name);
      if (value === undefined) {
        this.#list = this.#list.filter((p) => p[0] !== n);
      } else {
        const v = usv(value);
        this.#list = this.#list.filter((p) => p[0] !== n || p[1] !== v);
      }
      this.#update();
    }

    get(name) {
      if (arguments.length < 1) throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "name" argument must be specified');
      const n = usv(name);
      const found = this.#list.find((p) => p[0] === n);
      return found === undefined ? null : found[1];
    }

    getAll(name) {
      if (arguments.length < 1) throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "name" argument must be specified');
      const n = usv(name);
      return this.#list.filter((p) => p[0] === n).map((p) => p[1]);
    }

    has(name, value = undefined) {
      if (arguments.length < 1) throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "name" argument must be specified');
      const n = usv(name);
      if (value === undefined) return this.#list.some((p) => p[0] === n);
      const v = usv(value);
      return this.#list.some((p) => p[0] === n && p[1] === v);
    }

    set(name, value) {
      if (arguments.length < 2) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "name" and "value" arguments must be specified');
      }
      const n = usv(name);
      const v = usv(value);
      const i = this.#list.findIndex((p) => p[0] === n);
      if (i < 0) {
        this.#list.push([n, v]);
      } else {
        this.#list[i] = [n, v];
        this.#list = this.#list.filter((p, j) => j <= i || p[0] !== n);
      }
      this.#update();
    }

    sort() {
      // Stable, by UTF-16 code units of the name (Array.prototype.sort is
      // stable and compares strings by code units).
      this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.#update();
    }

    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "callback" argument must be of type function');
      }
      for (let i = 0; i < this.#list.length; i++) {
        const [name, value] = this.#list[i];
        callback.call(thisArg, value, name, this);
      }
    }

    *entries() {
      for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
    }
    *keys() { for (const [name] of this.entries()) yield name; }
    *values() { for (const [, value] of this.entries()) yield value; }

    toString() {
      const flat = [];
      for (const [name, value] of this.#list) flat.push(name, value);
      return formSerialize(flat);
    }

    static {
      attach = (params, record) => { params.#record = record; };
      reparse = (params, query) => { params.#list = pairs(formParse(query)); };
    }
  }
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, {
    value: URLSearchParams.prototype.entries, writable: true, configurable: true,
  });
  Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: 'URLSearchParams', configurable: true });

  class URL {
    #record;
    #params = null;

    constructor(url, base = undefined) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "url" argument must be specified');
      }
      const input = usv(url);
      const b = base === undefined ? undefined : usv(base);
      const record = b === undefined ? urlParse(input) : urlParse(input, b);
      if (record == null) throw invalidUrl(input, b);
      this.#record = record;
    }

    static canParse(url, base = undefined) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "url" argument must be specified');
      }
      const input = usv(url);
      return (base === undefined ? urlParse(input) : urlParse(input, usv(base))) != null;
    }

    static parse(url, base = undefined) {
      try {
        return new URL(url, base);
      } catch (_) {
        return null;
      }
    }

    // After the query changed through URL (href or search), the live
    // searchParams list follows.
    #queryChanged() {
      if (this.#params !== null) reparse(this.#params, urlGet(this.#record, SEARCH).slice(1));
    }

    get href() { return urlGet(this.#record, HREF); }
    set href(value) {
      const input = usv(value);
      if (!urlSet(this.#record, HREF, input)) throw invalidUrl(input);
      this.#queryChanged();
    }
    get origin() { return urlGet(this.#record, ORIGIN); }
    get protocol() { return urlGet(this.#record, PROTOCOL); }
    set protocol(value) { urlSet(this.#record, PROTOCOL, usv(value)); }
    get username() { return urlGet(this.#record, USERNAME); }
    set username(value) { urlSet(this.#record, USERNAME, usv(value)); }
    get password() { return urlGet(this.#record, PASSWORD); }
    set password(value) { urlSet(this.#record, PASSWORD, usv(value)); }
    get host() { return urlGet(this.#record, HOST); }
    set host(value) { urlSet(this.#record, HOST, usv(value)); }
    get hostname() { return urlGet(this.#record, HOSTNAME); }
    set hostname(value) { urlSet(this.#record, HOSTNAME, usv(value)); }
    get port() { return urlGet(this.#record, PORT); }
    set port(value) { urlSet(this.#record, PORT, usv(value)); }
    get pathname() { return urlGet(this.#record, PATHNAME); }
    set pathname(value) { urlSet(this.#record, PATHNAME, usv(value)); }
    get search() { return urlGet(this.#record, SEARCH); }
    set search(value) {
      urlSet(this.#record, SEARCH, usv(value));
      this.#queryChanged();
    }
    get searchParams() {
      if (this.#params === null) {
        const params = new URLSearchParams(urlGet(this.#record, SEARCH));
        attach(params, this.#record);
        this.#params = params;
      }
      return this.#params;
    }
    get hash() { return urlGet(this.#record, HASH); }
    set hash(value) { urlSet(this.#record, HASH, usv(value)); }

    toString() { return urlGet(this.#record, HREF); }
    toJSON() { return urlGet(this.#record, HREF); }
  }
  Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: 'URL', configurable: true });

  web.URL = URL;
  web.expose('URL', URL);
  web.expose('URLSearchParams', URLSearchParams);
  // URLPattern (urlpattern.js): compiled on first read.
  web.exposeLazy('URLPattern', () => web.loadModule('urlpattern').URLPattern);
})
