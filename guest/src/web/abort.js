// AbortController and AbortSignal (DOM standard), with node's default
// reasons. AbortSignal.timeout needs setTimeout (the event loop's); it is
// looked up when called, so the order in which globals are installed does
// not matter, and without timers it throws NotSupportedError.
(function (native, web) {
  'use strict';

  const { DOMException, EventTarget, Event, codeError } = web;
  const token = Symbol('jsbox:abort-signal');
  let state; // (signal) => its private state

  class AbortSignal extends EventTarget {
    #s = { aborted: false, reason: undefined, algorithms: [], onabort: null };
    constructor(key) {
      if (key !== token) throw codeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
      super();
    }
    get aborted() { return this.#s.aborted; }
    get reason() { return this.#s.reason; }
    get onabort() { return this.#s.onabort; }
    set onabort(handler) {
      const s = this.#s;
      if (s.onabort) this.removeEventListener('abort', s.onabortListener);
      s.onabort = typeof handler === 'function' ? handler : null;
      if (s.onabort) {
        s.onabortListener = (event) => s.onabort.call(this, event);
        this.addEventListener('abort', s.onabortListener);
      }
    }
    throwIfAborted() {
      if (this.#s.aborted) throw this.#s.reason;
    }
    static abort(reason = undefined) {
      const signal = new AbortSignal(token);
      signal.#s.aborted = true;
      signal.#s.reason = reason === undefined ? abortError() : reason;
      return signal;
    }
    static timeout(ms) {
      const delay = Number(ms);
      if (!Number.isFinite(delay) || delay < 0 || delay > Number.MAX_SAFE_INTEGER) {
        throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "delay" is out of range. It must be >= 0 && <= ${Number.MAX_SAFE_INTEGER}. Received ${ms}`);
      }
      if (typeof globalThis.setTimeout !== 'function') {
        throw new DOMException('AbortSignal.timeout needs timers (setTimeout), which this runtime does not have', 'NotSupportedError');
      }
      const signal = new AbortSignal(token);
      const timer = globalThis.setTimeout(() => {
        abort(signal, new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      }, Math.trunc(delay));
      // Like node: a pending timeout alone does not keep the program waiting.
      if (timer && typeof timer.unref === 'function') timer.unref();
      return signal;
    }
    static any(signals) {
      const list = [...signals];
      for (const s of list) {
        if (!isAbortSignal(s)) {
          throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "signals" argument must be an array of AbortSignal instances');
        }
      }
      const result = new AbortSignal(token);
      for (const s of list) {
        if (s.aborted) {
          result.#s.aborted = true;
          result.#s.reason = s.reason;
          return result;
        }
      }
      for (const s of list) onAbort(s, () => abort(result, s.reason));
      return result;
    }
    static {
      state = (signal) => signal.#s;
    }
  }
  Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, { value: 'AbortSignal', configurable: true });

  function isAbortSignal(v) {
    try { state(v); return true; } catch (_) { return false; }
  }

  function abortError() {
    return new DOMException('This operation was aborted', 'AbortError');
  }

  // Runs `fn` once when `signal` aborts (before the abort event fires).
  function onAbort(signal, fn) {
    const s = state(signal);
    if (!s.aborted) s.algorithms.push(fn);
  }

  function abort(signal, reason) {
    const s = state(signal);
    if (s.aborted) return;
    s.aborted = true;
    s.reason = reason === undefined ? abortError() : reason;
    const algorithms = s.algorithms;
    s.algorithms = [];
    for (const fn of algorithms) fn();
    signal.dispatchEvent(web.trusted(new Event('abort')));
  }

  class AbortController {
    #signal = new AbortSignal(token);
    get signal() { return this.#signal; }
    abort(reason = undefined) { abort(this.#signal, reason); }
  }
  Object.defineProperty(AbortController.prototype, Symbol.toStringTag, { value: 'AbortController', configurable: true });

  web.isAbortSignal = isAbortSignal;
  web.onAbort = onAbort;
  web.expose('AbortSignal', AbortSignal);
  web.expose('AbortController', AbortController);
})
