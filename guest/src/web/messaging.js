// MessageChannel, MessagePort and MessageEvent: the HTML standard's channel
// messaging, shaped as node 20 has them (globals; jsbox has no
// worker_threads). A built-in CommonJS module (guest/src/node/mod.rs
// SOURCES) compiled by the first read of one of the three globals
// (globals.js), so the snapshot holds none of it.
//
// Both ends of a channel live in this runtime. postMessage clones the
// message at once (web.serialize: structuredClone's walk, moving the
// transferred ArrayBuffers and ports) into the other port's queue; a task
// on the event loop (event_loop.js queueTask) delivers it later, after the
// microtasks, one message at a time, each followed by its microtasks. As
// in node, a port receives once started: by start(), by setting onmessage,
// or by adding its first 'message' listener; removing its last 'message'
// listener stops it again. Messages wait in the queue of a port that is
// not started, and only a started port queues a task, so only messages a
// port will deliver keep a call's event loop running.
'use strict';

const { native, web } = require('jsbox:web');

const { codeError, Event, EventTarget, listenerCount, received, serialize } = web;
const queueTask = native.queueTaskFunction();
const token = Symbol('jsbox:MessagePort');
// In a port's queue: the other side closed (this port closes after the
// messages before it, as node's does).
const CLOSE = Symbol('close');
// Messages a port delivers in one go before it lets other tasks, timers
// and host calls in (node: at least 1000, or all that were queued).
const BATCH = 1000;

let stateOf; // port -> its state; undefined for anything else

function state(port) {
  const s = stateOf(port);
  if (s === undefined) throw new TypeError('Illegal invocation');
  return s;
}

// ---- MessageEvent ------------------------------------------------------------

function checkPort(value, name) {
  if (stateOf(value) === undefined) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `The "${name}" property must be an instance of MessagePort. Received ${received(value)}`);
  }
}

function invalidThis() {
  return codeError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type MessageEvent');
}

let isMessageEvent;

class MessageEvent extends Event {
  #data;
  #origin;
  #lastEventId;
  #source;
  #ports;
  // Node's: the init's bubbles and cancelable are not used, and only
  // MessagePorts may be the source or ports.
  constructor(type, { data = null, origin = '', lastEventId = '', source = null, ports = [] } = {}) {
    super(type);
    this.#data = data;
    this.#origin = `${origin}`;
    this.#lastEventId = `${lastEventId}`;
    this.#source = source;
    this.#ports = [...ports];
    if (source !== null) checkPort(source, 'init.source');
    for (let i = 0; i < this.#ports.length; i++) checkPort(this.#ports[i], `init.ports[${i}]`);
  }
  get data() { if (!isMessageEvent(this)) throw invalidThis(); return this.#data; }
  get origin() { if (!isMessageEvent(this)) throw invalidThis(); return this.#origin; }
  get lastEventId() { if (!isMessageEvent(this)) throw invalidThis(); return this.#lastEventId; }
  get source() { if (!isMessageEvent(this)) throw invalidThis(); return this.#source; }
  get ports() { if (!isMessageEvent(this)) throw invalidThis(); return this.#ports; }
  static {
    isMessageEvent = (v) => v !== null && typeof v === 'object' && #data in v;
  }
}
// Node's attributes are enumerable (class getters are not).
for (const key of ['data', 'origin', 'lastEventId', 'source', 'ports']) {
  const d = Object.getOwnPropertyDescriptor(MessageEvent.prototype, key);
  d.enumerable = true;
  Object.defineProperty(MessageEvent.prototype, key, d);
}

// ---- delivery ------------------------------------------------------------------

function schedule(s) {
  if (s.scheduled || s.closed || s.queue.length === 0) return;
  if (!s.started && s.queue[0] !== CLOSE) return;
  s.scheduled = true;
  queueTask(drainer(s));
}

// The task that delivers `s`'s queue: one message per step (the event
// loop runs the microtasks in between), a batch at most, then it queues
// itself again behind the other tasks.
function drainer(s) {
  let budget = -1;
  return function drain() {
    if (budget < 0) {
      if (s.closed) { s.scheduled = false; return false; }
      budget = Math.max(s.queue.length, BATCH);
      s.draining = true;
    }
    if (deliverOne(s)) {
      if (--budget > 0) return true;
      budget = -1;
      s.draining = false;
      queueTask(drain);
      return false;
    }
    s.draining = false;
    s.scheduled = false;
    return false;
  };
}

// Delivers the first message of `s`'s queue; false when there is
// nothing (more) to deliver now.
function deliverOne(s) {
  if (s.queue.length === 0) return false;
  if (s.queue[0] === CLOSE) {
    s.queue.shift();
    closed(s);
    return false;
  }
  if (!s.started) return false;
  const message = s.queue.shift();
  const event = new MessageEvent('message', { data: message.value, ports: message.ports });
  s.port.dispatchEvent(web.trusted(event));
  return s.queue.length > 0;
}

// Node fires 'close' on both ports once their channel is closed.
function closed(s) {
  s.closed = true;
  queueTask(() => { s.port.dispatchEvent(new Event('close')); });
}

function close(s) {
  // A port closed while it delivers a batch still delivers the rest of
  // the batch (node closes the port's handle asynchronously).
  if (!s.draining) s.queue.length = 0;
  const peer = s.peer;
  s.peer = null;
  closed(s);
  if (peer !== null) {
    peer.peer = null;
    peer.queue.push(CLOSE);
    schedule(peer);
  }
}

function start(s) {
  if (s.closed) return;
  s.started = true;
  schedule(s);
}

// ---- MessagePort ---------------------------------------------------------------

class MessagePort extends EventTarget {
  #s;
  // (No declared parameter: length 0, as node's.)
  constructor() {
    if (arguments[0] !== token) {
      throw codeError(TypeError, 'ERR_CONSTRUCT_CALL_INVALID', 'Constructor cannot be called');
    }
    super();
    this.#s = {
      port: this,
      peer: null,
      queue: [],
      started: false,
      closed: false,
      scheduled: false,
      draining: false,
      refed: false,
      handlers: new Map(),
    };
  }

  // (message, transfer): no declared parameters, as node's (length 0).
  postMessage() {
    const s = state(this);
    if (arguments.length === 0) {
      throw codeError(TypeError, 'ERR_MISSING_ARGS', 'Not enough arguments to MessagePort.postMessage');
    }
    const target = s.peer;
    const message = serialize(arguments[0], arguments[1], this);
    if (s.closed || target === null) return;
    if (target.closed) {
      // The target port was in its own message's transfer list: node
      // drops the message, and the channel is lost.
      const moved = s.peer;
      s.peer = null;
      if (moved !== null) {
        moved.peer = null;
        moved.closed = true;
      }
      return;
    }
    target.queue.push(message);
    schedule(target);
  }

  start() { start(state(this)); }

  close() {
    const s = state(this);
    if (!s.closed) close(s);
  }

  // Node's handle referencing. A jsbox call's event loop ends when no
  // message is on its way to a started port, whatever is referenced.
  ref() { state(this).refed = true; }
  unref() { state(this).refed = false; }
  hasRef() { const s = state(this); return s.refed && !s.closed; }

  addEventListener(type, listener, options = undefined) {
    const s = state(this);
    const before = listenerCount(this, 'message');
    super.addEventListener(...arguments);
    if (before === 0 && listenerCount(this, 'message') > 0) {
      s.refed = true;
      start(s);
    }
  }

  removeEventListener(type, listener, options = undefined) {
    const s = state(this);
    const before = listenerCount(this, 'message');
    super.removeEventListener(...arguments);
    if (before > 0 && listenerCount(this, 'message') === 0) {
      s.refed = false;
      s.started = false;
    }
  }

  static {
    stateOf = (v) => (v !== null && typeof v === 'object' && #s in v ? v.#s : undefined);
  }
}

// onmessage and onmessageerror: one listener per handler, added when the
// handler is set (so setting onmessage starts the port) and removed when
// it is set to null; a new handler takes the old one's place.
for (const type of ['message', 'messageerror']) {
  Object.defineProperty(MessagePort.prototype, `on${type}`, {
    get() {
      const h = state(this).handlers.get(type);
      return h === undefined ? null : h.handler;
    },
    set(value) {
      const s = state(this);
      const handler = typeof value === 'function' ? value : null;
      let h = s.handlers.get(type);
      if (h !== undefined) {
        if (handler !== null) {
          h.handler = handler;
        } else {
          s.handlers.delete(type);
          this.removeEventListener(type, h.listener);
        }
        return;
      }
      if (handler === null) return;
      h = { handler, listener: null };
      h.listener = function (event) { return h.handler.call(this, event); };
      s.handlers.set(type, h);
      this.addEventListener(type, h.listener);
    },
    enumerable: true,
    configurable: true,
  });
}

// A port moved by a transfer list: a new MessagePort takes its place in
// the channel, with its waiting messages; the old one is detached (it
// drops what it is sent, and cannot be transferred again).
function transfer(port) {
  const s = state(port);
  const copy = new MessagePort(token);
  const n = stateOf(copy);
  n.queue = s.queue;
  s.queue = [];
  n.peer = s.peer;
  if (n.peer !== null) n.peer.peer = n;
  s.peer = null;
  s.closed = true;
  schedule(n); // (a close of the other side waiting at its head)
  return copy;
}

web.messaging = {
  isPort: (v) => stateOf(v) !== undefined,
  isDetached: (port) => state(port).closed,
  transfer,
};

// ---- MessageChannel ------------------------------------------------------------

// A function, not a class, for node's error when called without new.
function MessageChannel() {
  if (new.target === undefined) {
    throw codeError(TypeError, 'ERR_CONSTRUCT_CALL_REQUIRED', 'Cannot call constructor without `new`');
  }
  const port1 = new MessagePort(token);
  const port2 = new MessagePort(token);
  const a = stateOf(port1);
  const b = stateOf(port2);
  a.peer = b;
  b.peer = a;
  this.port1 = port1;
  this.port2 = port2;
}

module.exports = { MessageChannel, MessagePort, MessageEvent };
