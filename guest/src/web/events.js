// Event, CustomEvent and EventTarget (DOM standard, the parts without a DOM tree: the
// target is the only node on the path), and reportError. Listener errors do
// not stop the dispatch; they go to reportError, which writes them to
// console.error (node instead crashes the process with them).
(function (native, web) {
  'use strict';

  const { DOMException, codeError } = web;
  const NONE = 0;
  const AT_TARGET = 2;

  let internals; // (event) => its private state, for EventTarget and AbortSignal

  class Event {
    #s;
    constructor(type, options = undefined) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "type" argument must be specified');
      }
      const o = options == null ? {} : options;
      this.#s = {
        type: `${type}`,
        bubbles: !!o.bubbles,
        cancelable: !!o.cancelable,
        composed: !!o.composed,
        canceled: false,
        passive: false,
        stop: false,
        stopImmediate: false,
        dispatching: false,
        trusted: false,
        target: null,
        currentTarget: null,
        phase: NONE,
        timeStamp: native.now(),
      };
    }
    get type() { return this.#s.type; }
    get bubbles() { return this.#s.bubbles; }
    get cancelable() { return this.#s.cancelable; }
    get composed() { return this.#s.composed; }
    get defaultPrevented() { return this.#s.cancelable && this.#s.canceled; }
    get timeStamp() { return this.#s.timeStamp; }
    get target() { return this.#s.target; }
    get currentTarget() { return this.#s.currentTarget; }
    get srcElement() { return this.#s.target; }
    get eventPhase() { return this.#s.phase; }
    get isTrusted() { return this.#s.trusted; }
    get returnValue() { return !this.defaultPrevented; }
    set returnValue(v) { if (!v) this.preventDefault(); }
    get cancelBubble() { return this.#s.stop; }
    set cancelBubble(v) { if (v) this.#s.stop = true; }
    composedPath() { return this.#s.dispatching && this.#s.currentTarget ? [this.#s.currentTarget] : []; }
    preventDefault() { if (this.#s.cancelable && !this.#s.passive) this.#s.canceled = true; }
    stopPropagation() { this.#s.stop = true; }
    stopImmediatePropagation() { this.#s.stop = true; this.#s.stopImmediate = true; }
    // The legacy initializer (DOM standard "initialize"): a no-op while the
    // event is being dispatched; else it resets the flags and the target.
    initEvent(type, bubbles = false, cancelable = false) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "type" argument must be specified');
      }
      const s = this.#s;
      if (s.dispatching) return;
      s.stop = false;
      s.stopImmediate = false;
      s.canceled = false;
      s.trusted = false;
      s.target = null;
      s.type = `${type}`;
      s.bubbles = !!bubbles;
      s.cancelable = !!cancelable;
    }
    static {
      internals = (event) => event.#s;
    }
  }
  const phases = { NONE, CAPTURING_PHASE: 1, AT_TARGET, BUBBLING_PHASE: 3 };
  for (const [k, value] of Object.entries(phases)) {
    Object.defineProperty(Event, k, { value, enumerable: true });
    Object.defineProperty(Event.prototype, k, { value, enumerable: true });
  }
  Object.defineProperty(Event.prototype, Symbol.toStringTag, { value: 'Event', configurable: true });

  class CustomEvent extends Event {
    #detail;
    constructor(type, options = undefined) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "type" argument must be specified');
      }
      super(type, options);
      this.#detail = options != null && options.detail !== undefined ? options.detail : null;
    }
    get detail() { return this.#detail; }
  }
  Object.defineProperty(CustomEvent.prototype, Symbol.toStringTag, { value: 'CustomEvent', configurable: true });

  function isEvent(v) {
    try { internals(v); return true; } catch (_) { return false; }
  }

  function reportError(error) {
    const c = globalThis.console;
    if (c && typeof c.error === 'function') {
      const text = error instanceof Error && error.stack
        ? `${error.name}: ${error.message}\n${error.stack}`
        : String(error);
      c.error(`Uncaught ${text}`);
    }
  }

  function flatten(options) {
    if (typeof options === 'boolean') return { capture: options };
    return options == null ? {} : options;
  }

  class EventTarget {
    #listeners = new Map(); // type -> [{ callback, capture, once, passive, removed }]

    addEventListener(type, callback, options = undefined) {
      if (arguments.length < 2) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "type" and "listener" arguments must be specified');
      }
      // The options are converted (and a bad signal throws) before a null
      // listener is ignored, as the DOM standard's algorithm orders it.
      const o = flatten(options);
      const capture = !!o.capture;
      const signal = o.signal;
      if (signal !== undefined && web.isAbortSignal && !web.isAbortSignal(signal)) {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options.signal" property must be an instance of AbortSignal');
      }
      if (signal && signal.aborted) return;
      if (callback == null) return;
      type = `${type}`;
      let list = this.#listeners.get(type);
      if (!list) this.#listeners.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === capture)) return;
      const listener = { callback, capture, once: !!o.once, passive: !!o.passive, removed: false };
      list.push(listener);
      if (signal) {
        web.onAbort(signal, () => this.removeEventListener(type, callback, { capture }));
      }
    }

    removeEventListener(type, callback, options = undefined) {
      const list = this.#listeners.get(`${type}`);
      if (!list) return;
      const capture = !!flatten(options).capture;
      const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
      if (i >= 0) {
        list[i].removed = true;
        list.splice(i, 1);
      }
    }

    dispatchEvent(event) {
      if (!isEvent(event)) {
        throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "event" argument must be an instance of Event');
      }
      const s = internals(event);
      if (s.dispatching) throw new DOMException('The event is already being dispatched', 'InvalidStateError');
      s.dispatching = true;
      s.target = this;
      s.currentTarget = this;
      s.phase = AT_TARGET;
      const list = this.#listeners.get(s.type);
      if (list) {
        for (const l of list.slice()) {
          if (l.removed) continue;
          if (l.once) this.removeEventListener(s.type, l.callback, { capture: l.capture });
          s.passive = l.passive;
          try {
            const cb = l.callback;
            if (typeof cb === 'function') cb.call(this, event);
            else if (cb && typeof cb.handleEvent === 'function') cb.handleEvent(event);
          } catch (e) {
            reportError(e);
          }
          s.passive = false;
          if (s.stopImmediate) break;
        }
      }
      s.phase = NONE;
      s.currentTarget = null;
      s.dispatching = false;
      s.stop = false;
      s.stopImmediate = false;
      return !event.defaultPrevented;
    }

    static {
      // How many listeners of `type` a target has: a MessagePort starts
      // and stops with its first and last 'message' listener (node's rule).
      web.listenerCount = (target, type) => {
        const list = target.#listeners.get(type);
        return list ? list.length : 0;
      };
    }
  }
  Object.defineProperty(EventTarget.prototype, Symbol.toStringTag, { value: 'EventTarget', configurable: true });

  web.Event = Event;
  web.EventTarget = EventTarget;
  // Marks an event the platform fires (an abort), as node's isTrusted does.
  web.trusted = (event) => { internals(event).trusted = true; return event; };
  web.reportError = reportError;
  web.expose('Event', Event);
  web.expose('EventTarget', EventTarget);
  web.expose('CustomEvent', CustomEvent);
  web.exposeOperation('reportError', {
    reportError(error) {
      if (arguments.length === 0) {
        throw codeError(TypeError, 'ERR_MISSING_ARGS', 'The "error" argument must be specified');
      }
      reportError(error);
    },
  }.reportError);
})
