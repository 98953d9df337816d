// The small globals: performance (now, timeOrigin, toJSON), queueMicrotask
// (unless the event loop already defined one), navigator.userAgent, self
// (the global object, as WinterTC asks), and the accessors that load
// messaging.js.
(function (native, web) {
  'use strict';

  const { codeError, EventTarget } = web;
  const token = Symbol('jsbox:performance');

  class Performance extends EventTarget {
    constructor(key) {
      if (key !== token) throw codeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
      super();
    }
    // Milliseconds since this runtime's time origin (the host's monotonic
    // clock; 0 forever under a frozen clock).
    now() { return native.now(); }
    get timeOrigin() { return native.timeOrigin(); }
    toJSON() { return { timeOrigin: this.timeOrigin }; }
  }
  Object.defineProperty(Performance.prototype, Symbol.toStringTag, { value: 'Performance', configurable: true });
  web.expose('Performance', Performance);
  web.exposeAttribute('performance', new Performance(token));

  // Node's description of a wrong argument.
  function received(v) {
    if (v == null) return String(v);
    if (typeof v === 'function') return `function ${v.name}`;
    if (typeof v === 'object') {
      return v.constructor && v.constructor.name ? `an instance of ${v.constructor.name}` : String(v);
    }
    const shown = typeof v === 'string' ? `'${v.length > 25 ? `${v.slice(0, 25)}...` : v}'` : String(v);
    return `type ${typeof v} (${shown}${typeof v === 'bigint' ? 'n' : ''})`;
  }

  web.received = received;

  // QuickJS-ng has a native queueMicrotask (and the event loop may bring
  // its own): keep whichever enqueues, add node's argument check, and send
  // a throwing callback to reportError instead of leaving an exception
  // pending in the job queue.
  {
    const resolved = Promise.resolve();
    const enqueue = typeof globalThis.queueMicrotask === 'function'
      ? globalThis.queueMicrotask
      : (job) => { resolved.then(job); };
    web.exposeOperation('queueMicrotask', {
      queueMicrotask(callback) {
        if (typeof callback !== 'function') {
          throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
            `The "callback" argument must be of type function. Received ${received(callback)}`);
        }
        enqueue(() => {
          try {
            callback();
          } catch (e) {
            web.reportError(e);
          }
        });
      },
    }.queueMicrotask);
  }

  class Navigator {
    get userAgent() { return 'jsbox'; }
  }
  Object.defineProperty(Navigator.prototype, Symbol.toStringTag, { value: 'Navigator', configurable: true });
  web.expose('Navigator', Navigator);
  web.exposeAttribute('navigator', new Navigator());
  if (!('self' in globalThis)) web.exposeAttribute('self', globalThis);

  // MessageChannel, MessagePort and MessageEvent (messaging.js): compiled
  // by the first read of any of them.
  let messaging;
  const loadMessaging = () => messaging || (messaging = web.loadModule('messaging'));
  for (const name of ['MessageChannel', 'MessagePort', 'MessageEvent']) {
    web.exposeLazy(name, () => loadMessaging()[name]);
  }
})
