// jsbox's testharness.js stand-in: the subset of WPT's harness API that the
// vendored `.any.js` files use (test, async_test, promise_test, the
// assertions, step functions, cleanups, timeouts), written for jsbox's
// runner (host/tests/wpt.rs). The same text runs in jsbox and in node: the
// runner appends a test file and `__wpt_finish()`, whose promise resolves
// to { results: { subtest name: "PASS" | "FAIL" | "TIMEOUT" | "NOTRUN" },
// messages: { name: reason }, error }.
(function () {
  'use strict';
  const G = globalThis;
  if (!('self' in G)) G.self = G;
  const results = {};
  const messages = {};
  let harnessError = null;
  const pending = new Set();
  const promiseQueue = [];
  let promiseRunning = false;
  let finishResolve = null;
  let explicitDone = false;
  let doneCalled = false;
  // Each file gets this long (timers tests wait up to about a second).
  const FILE_TIMEOUT_MS = 5000;

  class AssertionError extends Error {
    constructor(message) {
      super(message);
      this.name = 'AssertionError';
    }
  }

  function formatValue(v) {
    if (typeof v === 'string') return JSON.stringify(v);
    if (Object.is(v, -0)) return '-0';
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'symbol') return String(v);
    if (v === null || typeof v !== 'object') return String(v);
    try {
      if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
      return Object.prototype.toString.call(v);
    } catch (_) {
      return '[object]';
    }
  }

  function fail(description, message) {
    throw new AssertionError(description ? `${message}: ${description}` : message);
  }
  const same = (a, b) => (typeof a === 'number' && typeof b === 'number' ? Object.is(a, b) : a === b);

  const assertions = {
    assert_true(v, d) { if (v !== true) fail(d, `expected true got ${formatValue(v)}`); },
    assert_false(v, d) { if (v !== false) fail(d, `expected false got ${formatValue(v)}`); },
    assert_equals(a, e, d) {
      if (typeof a !== typeof e) fail(d, `expected (${typeof e}) ${formatValue(e)} but got (${typeof a}) ${formatValue(a)}`);
      if (!same(a, e)) fail(d, `expected ${formatValue(e)} but got ${formatValue(a)}`);
    },
    assert_not_equals(a, e, d) { if (same(a, e)) fail(d, `got disallowed value ${formatValue(a)}`); },
    assert_in_array(a, list, d) { if (!list.includes(a)) fail(d, `value ${formatValue(a)} not in array ${formatValue(list)}`); },
    assert_array_equals(a, e, d) {
      if (typeof a !== 'object' || a === null || !('length' in a)) fail(d, `value is ${formatValue(a)}, expected array`);
      if (a.length !== e.length) fail(d, `lengths differ, expected array ${formatValue(e)} length ${e.length}, got ${formatValue(a)} length ${a.length}`);
      for (let i = 0; i < e.length; i++) {
        if ((i in a) !== (i in e)) fail(d, `property ${i}, property expected to be ${i in e ? 'present' : 'missing'}`);
        if (!same(a[i], e[i])) fail(d, `expected array ${formatValue(e)} got ${formatValue(a)}`);
      }
    },
    assert_array_approx_equals(a, e, eps, d) {
      assertions.assert_equals(a.length, e.length, d);
      for (let i = 0; i < e.length; i++) assertions.assert_approx_equals(a[i], e[i], eps, d);
    },
    assert_approx_equals(a, e, eps, d) {
      if (typeof a !== 'number') fail(d, `expected a number but got a ${typeof a}`);
      if (!(Math.abs(a - e) <= eps) && !(a === e)) fail(d, `expected ${e} +/- ${eps} but got ${a}`);
    },
    assert_less_than(a, e, d) { if (!(a < e)) fail(d, `expected a number less than ${e} but got ${formatValue(a)}`); },
    assert_greater_than(a, e, d) { if (!(a > e)) fail(d, `expected a number greater than ${e} but got ${formatValue(a)}`); },
    assert_less_than_equal(a, e, d) { if (!(a <= e)) fail(d, `expected a number less than or equal to ${e} but got ${formatValue(a)}`); },
    assert_greater_than_equal(a, e, d) { if (!(a >= e)) fail(d, `expected a number greater than or equal to ${e} but got ${formatValue(a)}`); },
    assert_between_exclusive(a, lo, hi, d) { if (!(a > lo && a < hi)) fail(d, `expected a number between ${lo} and ${hi} but got ${a}`); },
    assert_between_inclusive(a, lo, hi, d) { if (!(a >= lo && a <= hi)) fail(d, `expected a number between ${lo} and ${hi} but got ${a}`); },
    assert_regexp_match(a, re, d) { if (!re.test(a)) fail(d, `expected ${formatValue(a)} to match ${re}`); },
    assert_class_string(o, cls, d) {
      const got = Object.prototype.toString.call(o);
      if (got !== `[object ${cls}]`) fail(d, `expected "[object ${cls}]" but got ${formatValue(got)}`);
    },
    assert_own_property(o, p, d) { if (!Object.prototype.hasOwnProperty.call(o, p)) fail(d, `expected property ${formatValue(p)} missing`); },
    assert_not_own_property(o, p, d) { if (Object.prototype.hasOwnProperty.call(o, p)) fail(d, `unexpected property ${formatValue(p)} is found on object`); },
    assert_inherits(o, p, d) {
      if (typeof o !== 'object' && typeof o !== 'function') fail(d, 'provided value is not an object');
      if (Object.prototype.hasOwnProperty.call(o, p)) fail(d, `property ${formatValue(p)} found on object expected in prototype chain`);
      if (!(p in o)) fail(d, `property ${formatValue(p)} not found in prototype chain`);
    },
    assert_idl_attribute(o, p, d) { assertions.assert_inherits(o, p, d); },
    assert_readonly(o, p, d) {
      const before = o[p];
      try {
        o[p] = before + 'a';
        if (!same(o[p], before)) fail(d, `changing property ${formatValue(p)} succeeded`);
      } finally {
        try { o[p] = before; } catch (_) { /* read-only, as asserted */ }
      }
    },
    assert_object_equals(a, e, d) {
      const check = (x, y, path) => {
        if (typeof y !== 'object' || y === null) {
          if (!same(x, y)) fail(d, `property ${path} expected ${formatValue(y)} got ${formatValue(x)}`);
          return;
        }
        if (typeof x !== 'object' || x === null) fail(d, `property ${path} expected object got ${formatValue(x)}`);
        for (const k of Object.keys(x)) if (!(k in y)) fail(d, `unexpected property ${path}.${k}`);
        for (const k of Object.keys(y)) {
          if (!(k in x)) fail(d, `expected property ${path}.${k} missing`);
          check(x[k], y[k], `${path}.${k}`);
        }
      };
      check(a, e, '');
    },
    assert_unreached(d) { fail(d, 'Reached unreachable code'); },
    assert_implements(c, d) { if (!c) throw new OptionalFeature(d); },
    assert_implements_optional(c, d) { if (!c) throw new OptionalFeature(d); },
    assert_throws_js(ctor, f, d) {
      try {
        f();
      } catch (e) {
        checkJsError(ctor, e, d);
        return;
      }
      fail(d, `${f} did not throw`);
    },
    assert_throws_exactly(v, f, d) {
      try {
        f();
      } catch (e) {
        if (!same(e, v)) fail(d, `${f} threw ${formatValue(e)} but we expected it to throw ${formatValue(v)}`);
        return;
      }
      fail(d, `${f} did not throw`);
    },
    // QuotaExceededError is its own interface in the current WebIDL, a
    // DOMException name before; either is accepted.
    assert_throws_quotaexceedederror(f, requested, quota, d) {
      try {
        f();
      } catch (e) {
        if (typeof G.QuotaExceededError === 'function') {
          if (e.constructor !== G.QuotaExceededError) fail(d, 'threw an exception that is not a QuotaExceededError');
        } else {
          checkDomError('QuotaExceededError', G.DOMException, e, d);
        }
        if (requested !== null && e.requested !== requested) fail(d, `requested is ${e.requested}, expected ${requested}`);
        if (quota !== null && e.quota !== quota) fail(d, `quota is ${e.quota}, expected ${quota}`);
        return;
      }
      fail(d, `${f} did not throw`);
    },
    assert_throws_dom(type, ...rest) {
      // (type, func, description) or (type, constructor, func, description).
      const [ctor, f, d] = typeof rest[1] === 'function' ? rest : [G.DOMException, rest[0], rest[1]];
      try {
        f();
      } catch (e) {
        checkDomError(type, ctor, e, d);
        return;
      }
      fail(d, `${f} did not throw`);
    },
  };

  class OptionalFeature extends Error {}

  function checkJsError(ctor, e, d) {
    if (typeof e !== 'object' || e === null) fail(d, `threw ${formatValue(e)}, not an object`);
    if (e.constructor !== ctor) fail(d, `threw ${formatValue(e)} (${e && e.name}) with constructor ${e.constructor && e.constructor.name}, expected ${ctor.name}`);
    if (e.name !== ctor.name) fail(d, `threw an error named ${e.name}, expected ${ctor.name}`);
  }

  const DOM_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  const DOM_NAMES_BY_CONSTANT = {
    INDEX_SIZE_ERR: 'IndexSizeError', INVALID_CHARACTER_ERR: 'InvalidCharacterError', NOT_SUPPORTED_ERR: 'NotSupportedError',
    INVALID_STATE_ERR: 'InvalidStateError', SYNTAX_ERR: 'SyntaxError', INVALID_ACCESS_ERR: 'InvalidAccessError',
    ABORT_ERR: 'AbortError', TIMEOUT_ERR: 'TimeoutError', DATA_CLONE_ERR: 'DataCloneError', NOT_FOUND_ERR: 'NotFoundError',
  };

  function checkDomError(type, ctor, e, d) {
    const name = typeof type === 'number'
      ? Object.keys(DOM_CODES).find((n) => DOM_CODES[n] === type)
      : DOM_NAMES_BY_CONSTANT[type] || type;
    if (typeof e !== 'object' || e === null) fail(d, `threw ${formatValue(e)}, not an object`);
    if (e.name !== name) fail(d, `threw an exception named ${e.name}, expected ${name}`);
    if (name in DOM_CODES && e.code !== DOM_CODES[name]) fail(d, `threw code ${e.code}, expected ${DOM_CODES[name]}`);
    if (e.constructor !== ctor) fail(d, 'threw an exception from the wrong global or constructor');
  }

  // ---- tests --------------------------------------------------------------
  class Test {
    constructor(name) {
      // Lone surrogates (a test named after its input) become U+FFFD: the
      // results travel as JSON, which the runner reads as UTF-8.
      name = String(name).toWellFormed();
      this.name = name;
      this.phase = 'running';
      this.cleanups = [];
      this.timers = [];
      // Unnamed tests share their file's title: number the repeats.
      if (name in results) {
        let n = 2;
        while (`${name} (${n})` in results) n++;
        name = `${name} (${n})`;
      }
      this.name = name;
      results[name] = 'NOTRUN';
      pending.add(this);
    }
    step(f, thisObj, ...args) {
      if (this.phase !== 'running') return undefined;
      try {
        return f.apply(thisObj === undefined ? this : thisObj, args);
      } catch (e) {
        this.finish(e);
        return undefined;
      }
    }
    step_func(f, thisObj) {
      const t = this;
      return function (...args) { return t.step(f, thisObj === undefined ? this : thisObj, ...args); };
    }
    step_func_done(f, thisObj) {
      const t = this;
      return function (...args) {
        if (f) t.step(f, thisObj === undefined ? this : thisObj, ...args);
        t.done();
      };
    }
    unreached_func(d) {
      return this.step_func(() => assertions.assert_unreached(d));
    }
    step_timeout(f, ms, ...args) {
      const t = this;
      const id = setTimeout(this.step_func(() => f.apply(t, args)), ms);
      this.timers.push(id);
      return id;
    }
    step_wait_func(cond, func, d, timeout = 3000, interval = 100) {
      const start = Date.now();
      const poll = () => {
        if (cond()) func();
        else if (Date.now() - start > timeout) this.step(() => assertions.assert_unreached(d));
        else this.step_timeout(poll, interval);
      };
      poll();
    }
    step_wait(cond, d, timeout = 3000, interval = 100) {
      return new Promise((resolve) => this.step_wait_func(cond, resolve, d, timeout, interval));
    }
    step_wait_func_done(cond, func, d, timeout, interval) {
      this.step_wait_func(cond, () => { if (func) func(); this.done(); }, d, timeout, interval);
    }
    add_cleanup(f) { this.cleanups.push(f); }
    done() { this.finish(null); }
    finish(error) {
      if (this.phase !== 'running') return;
      this.phase = 'done';
      for (const id of this.timers) clearTimeout(id);
      for (const f of this.cleanups) {
        try { f(); } catch (e) { harnessError = harnessError || `cleanup failed: ${e}`; }
      }
      if (error instanceof OptionalFeature) {
        results[this.name] = 'PRECONDITION_FAILED';
      } else if (error) {
        results[this.name] = 'FAIL';
        messages[this.name] = String(error && error.message !== undefined ? `${error.name}: ${error.message}` : error);
      } else {
        results[this.name] = 'PASS';
      }
      pending.delete(this);
      maybeFinish();
    }
  }

  const nameOf = (f, name) => name || (typeof f === 'function' && f.name) || G.__wpt_file || 'test';

  G.test = function (f, name) {
    const t = new Test(nameOf(f, name));
    t.step(f, t, t);
    t.done();
    return t;
  };
  G.async_test = function (f, name) {
    if (typeof f !== 'function') [f, name] = [null, f];
    const t = new Test(nameOf(f, name));
    if (f) t.step(f, t, t);
    return t;
  };
  G.promise_test = function (f, name) {
    const t = new Test(nameOf(f, name));
    promiseQueue.push([t, f]);
    runPromiseTests();
    return t;
  };
  function runPromiseTests() {
    if (promiseRunning || promiseQueue.length === 0) return;
    promiseRunning = true;
    const [t, f] = promiseQueue.shift();
    let p;
    try {
      p = Promise.resolve(f.call(t, t));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(() => t.done(), (e) => t.finish(e || new Error('rejected'))).then(() => {
      promiseRunning = false;
      runPromiseTests();
    });
  }
  G.promise_rejects_js = (t, ctor, p, d) => p.then(
    () => fail(d, 'promise did not reject'),
    (e) => checkJsError(ctor, e, d));
  G.promise_rejects_dom = (t, type, ...rest) => {
    const [ctor, p, d] = rest.length >= 2 && typeof rest[0] === 'function' ? rest : [G.DOMException, rest[0], rest[1]];
    return p.then(() => fail(d, 'promise did not reject'), (e) => checkDomError(type, ctor, e, d));
  };
  G.promise_rejects_exactly = (t, v, p, d) => p.then(
    () => fail(d, 'promise did not reject'),
    (e) => { if (!same(e, v)) fail(d, `rejected with ${formatValue(e)}, expected ${formatValue(v)}`); });
  G.generate_tests = (f, cases) => { for (const [name, ...args] of cases) G.test(() => f(...args), name); };
  // single_test: the file is one test, named after it, that done() passes.
  let singleTest = null;
  G.setup = (f, options) => {
    const o = typeof f === 'object' && f !== null ? f : options || {};
    if (o.explicit_done) explicitDone = true;
    if (o.single_test) singleTest = new Test(G.__wpt_file || 'single test');
    if (typeof f === 'function') f();
  };
  G.done = () => {
    doneCalled = true;
    if (singleTest) singleTest.done();
    maybeFinish();
  };
  G.step_timeout = (f, ms, ...args) => setTimeout(() => f(...args), ms);
  G.format_value = formatValue;
  G.AssertionError = AssertionError;
  // common/subset-tests.js: every subset runs.
  G.subsetTest = (f, ...args) => f(...args);
  G.subsetTestByKey = (key, f, ...args) => f(...args);
  G.shouldRunSubTest = () => true;
  // The global scope is neither a window nor a worker.
  G.GLOBAL = { isWindow: () => false, isWorker: () => false, isShadowRealm: () => false };
  G.EventWatcher = function (t, target, types) {
    const queue = [];
    let waiting = null;
    const list = Array.isArray(types) ? types : [types];
    const handler = t.step_func((e) => {
      if (waiting && waiting.types[0] === e.type) {
        waiting.types.shift();
        waiting.got.push(e);
        if (waiting.types.length === 0) { const w = waiting; waiting = null; w.resolve(w.got.length === 1 ? w.got[0] : w.got); }
      } else {
        queue.push(e);
        if (waiting === null) assertions.assert_unreached(`unexpected event ${e.type}`);
      }
    });
    for (const type of list) target.addEventListener(type, handler);
    t.add_cleanup(() => { for (const type of list) target.removeEventListener(type, handler); });
    this.wait_for = (want) => new Promise((resolve) => {
      waiting = { types: Array.isArray(want) ? [...want] : [want], got: [], resolve };
    });
  };
  Object.assign(G, assertions);

  // The test server's files a test fetches (url/resources/*.json), which
  // the runner puts in __wpt_resources; anything else goes to the real
  // fetch (none of the vendored tests needs the network).
  const resources = G.__wpt_resources || {};
  const realFetch = G.fetch;
  G.fetch = function (input, ...rest) {
    const key = String(input);
    if (Object.prototype.hasOwnProperty.call(resources, key)) {
      const text = resources[key];
      return Promise.resolve({ ok: true, status: 200, text: async () => text, json: async () => JSON.parse(text) });
    }
    return realFetch ? realFetch.call(this, input, ...rest) : Promise.reject(new TypeError('fetch is not available'));
  };

  function maybeFinish() {
    if (finishResolve === null || pending.size > 0 || promiseQueue.length > 0 || promiseRunning) return;
    if (explicitDone && !doneCalled) return;
    const resolve = finishResolve;
    finishResolve = null;
    resolve({ results, messages, error: harnessError });
  }

  // Called by the runner after the test file: resolves once every test has
  // finished, or after FILE_TIMEOUT_MS with the rest marked TIMEOUT.
  G.__wpt_finish = () => new Promise((resolve) => {
    finishResolve = resolve;
    const timer = setTimeout(() => {
      for (const t of pending) {
        t.phase = 'done';
        for (const id of t.timers) clearTimeout(id);
        results[t.name] = 'TIMEOUT';
      }
      pending.clear();
      promiseQueue.length = 0;
      promiseRunning = false;
      explicitDone = false;
      maybeFinish();
    }, FILE_TIMEOUT_MS);
    finishResolve = (value) => { clearTimeout(timer); resolve(value); };
    maybeFinish();
  });
  // An exception no test caught (node's uncaughtException, from a timer):
  // it fails a single_test file, and is a harness error otherwise.
  G.__wpt_uncaught = (e) => {
    if (singleTest && singleTest.phase === 'running') singleTest.finish(e);
    else harnessError = harnessError || `uncaught: ${e && e.message !== undefined ? `${e.name}: ${e.message}` : e}`;
  };
  // An error thrown by the file's top level (outside any test).
  G.__wpt_file_error = (e) => { harnessError = harnessError || `file error: ${e && e.message !== undefined ? `${e.name}: ${e.message}` : e}`; };
})();
