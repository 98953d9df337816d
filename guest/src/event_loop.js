// The jsbox event loop's JS side: timers (`setTimeout`, `setInterval`,
// `clearTimeout`, `clearInterval`) and the promises of async native calls.
// `queueMicrotask` is QuickJS's own.
//
// Evaluated once by `init` (in a factory, inside the Wizer snapshot): an
// expression, a function `event_loop.rs` calls with two host functions. It
// installs the timer globals and returns the API the Rust side drives:
//
// - `callAsync(module, fn, args)`: calls an async native function and
//   returns a promise. This is also the internal hook for built-in JS that
//   needs host I/O (e.g. `fetch`): it reaches any native module the host
//   registered, by name, whether or not user code can `require` it. The
//   prelude's native-module stubs use it for async functions.
// - `fireNext(now)`: runs the earliest timer due at `now`, if any, and says
//   whether it ran one (the Rust side runs the microtasks in between).
// - `queueTask(task)`: queues a task (a `MessagePort` delivering its
//   messages) for the loop's message phase, after the finished host calls.
//   `startTasks()` opens that phase, `runTask()` runs one step of a task
//   and says whether it ran one, `tasksPending()` whether any is queued.
// - `deliver(id, ok, text)`: settles the promise of async call `id`.
// - `nextDue()` / `alive()`: what the loop waits for.
//
// Timers live here, in the runtime's own memory: they die with it. Their
// order is node's: by due time, then by creation; a delay below 1 ms (or
// not a number, or above 2^31-1) is 1 ms; the loop clock is read once per
// turn, so timers set during a turn are due no earlier than the next one.
(function (hostCallAsync, hostNow) {
  'use strict';

  const TIMEOUT_MAX = 2 ** 31 - 1;
  const JSONstringify = JSON.stringify;
  const JSONparse = JSON.parse;

  // ---- the timer queue: a binary heap of {timer, due, seq} ------------------
  // Entries are never removed from the middle: a cleared or refreshed timer
  // leaves a stale entry (its seq no longer matches) that is skipped.
  const heap = [];
  const byId = new Map();
  let seq = 0;
  let nextId = 1;
  let refed = 0;

  const before = (a, b) => a.due < b.due || (a.due === b.due && a.seq < b.seq);

  function push(entry) {
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  function pop() {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }

  // The top entry that is still live, stale ones dropped.
  function peek() {
    while (heap.length > 0) {
      const e = heap[0];
      if (e.timer.seq === e.seq) return e;
      pop();
    }
    return undefined;
  }

  function invalidArg(name, value) {
    const shown = value === undefined ? 'undefined' : typeof value === 'function' ? 'function' : typeof value;
    const e = new TypeError(`The "${name}" argument must be of type function. Received ${shown}`);
    e.code = 'ERR_INVALID_ARG_TYPE';
    return e;
  }

  // Private state of a Timeout, out of reach of user code.
  const state = new WeakMap();

  function schedule(s) {
    s.seq = ++seq;
    push({ timer: s, due: hostNow() + s.after, seq: s.seq });
  }

  function deactivate(s) {
    if (s.seq === 0) return;
    s.seq = 0;
    byId.delete(s.id);
    if (s.ref) refed--;
  }

  // What setTimeout returns, as in node: an object with ref/unref/hasRef/
  // refresh/close that converts to its numeric id.
  class Timeout {
    ref() { const s = state.get(this); if (!s.ref) { s.ref = true; if (s.seq) refed++; } return this; }
    unref() { const s = state.get(this); if (s.ref) { s.ref = false; if (s.seq) refed--; } return this; }
    hasRef() { return state.get(this).ref; }
    refresh() { const s = state.get(this); if (s.seq) schedule(s); return this; }
    close() { deactivate(state.get(this)); return this; }
    [Symbol.toPrimitive]() { return state.get(this).id; }
  }

  function create(callback, after, args, repeat) {
    if (typeof callback !== 'function') throw invalidArg('callback', callback);
    after *= 1;
    if (!(after >= 1 && after <= TIMEOUT_MAX)) after = 1;
    const timer = new Timeout();
    const s = { timer, id: nextId++, callback, args, after, repeat, ref: true, seq: 0 };
    state.set(timer, s);
    byId.set(s.id, s);
    refed++;
    schedule(s);
    return timer;
  }

  function clear(timer) {
    if (timer == null) return;
    const s = typeof timer === 'object' ? state.get(timer) : byId.get(Number(timer));
    if (s) deactivate(s);
  }

  function fireNext(now) {
    const e = peek();
    if (e === undefined || e.due > now) return false;
    pop();
    const s = e.timer;
    if (!s.repeat) deactivate(s);
    try {
      s.callback.apply(s.timer, s.args);
    } finally {
      // An interval is rescheduled from this turn's time unless the
      // callback cleared or refreshed it.
      if (s.repeat && s.seq === e.seq) schedule(s);
    }
    return true;
  }

  const nextDue = () => { const e = peek(); return e === undefined ? undefined : e.due; };
  const alive = () => refed > 0;

  // ---- async native calls -----------------------------------------------------
  const waiting = new Map();

  function callAsync(module, fn, args) {
    let started;
    try {
      started = hostCallAsync(module, fn, JSONstringify(args));
    } catch (e) {
      return Promise.reject(e);
    }
    if (typeof started === 'number') {
      return new Promise((resolve, reject) => { waiting.set(started, [resolve, reject]); });
    }
    try {
      return Promise.resolve(JSONparse(started));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  function deliver(id, ok, text) {
    const w = waiting.get(id);
    if (w === undefined) return;
    waiting.delete(id);
    if (!ok) { w[1](new Error(text)); return; }
    let value;
    try { value = JSONparse(text); } catch (e) { w[1](e); return; }
    w[0](value);
  }

  // ---- tasks: MessagePort deliveries -----------------------------------------
  // A task is a function; it returns true to be called again (after the
  // microtasks) before any other task, so a port delivers its queued
  // messages one at a time, each followed by its microtasks, as node's
  // do. A turn runs the tasks queued when it starts, and those they queue,
  // up to 1000 (node's batch of messages per port): an endless exchange of
  // messages still lets timers and host calls in between.
  const tasks = [];
  let taskHead = 0;
  let stepping; // the task that asked to be called again
  let turnBudget = 0;

  function queueTask(task) { tasks.push(task); }

  function startTasks() { turnBudget = Math.max(tasks.length - taskHead, 1000); }

  function runTask() {
    let task = stepping;
    stepping = undefined;
    if (task === undefined) {
      if (taskHead === tasks.length || turnBudget <= 0) return false;
      turnBudget--;
      task = tasks[taskHead];
      tasks[taskHead++] = undefined;
      if (taskHead === tasks.length) { tasks.length = 0; taskHead = 0; }
    }
    if (task() === true) stepping = task;
    return true;
  }

  const tasksPending = () => stepping !== undefined || taskHead < tasks.length;

  // ---- globals -------------------------------------------------------------------
  const define = (name, value) => Object.defineProperty(globalThis, name, {
    value, writable: true, configurable: true, enumerable: true,
  });
  define('setTimeout', function setTimeout(callback, after, ...args) {
    return create(callback, after, args, false);
  });
  define('setInterval', function setInterval(callback, repeat, ...args) {
    return create(callback, repeat, args, true);
  });
  define('clearTimeout', function clearTimeout(timer) { clear(timer); });
  define('clearInterval', function clearInterval(timer) { clear(timer); });

  return { callAsync, fireNext, deliver, nextDue, alive, queueTask, startTasks, runTask, tasksPending };
})
