// node:process, also the `process` global (which the prelude defines as an
// accessor that loads this module on first use, so a runtime that never
// reads `process` pays nothing). Minimal on purpose: what npm packages read
// to pick a mode or a build (`process.env.NODE_ENV` above all), not node's
// process object (no argv, cwd, exit, stdout, hrtime ...). The values are
// documented in docs/web-platform.md.
'use strict';

const { env, version } = require('jsbox:options');

// Node runs nextTick callbacks before promise jobs; jsbox queues them as
// microtasks, in order with promise jobs (documented).
function nextTick(callback, ...args) {
  // queueMicrotask throws node's ERR_INVALID_ARG_TYPE for a "callback"
  // that is not a function, which is nextTick's error too.
  queueMicrotask(typeof callback === 'function' && args.length > 0 ? () => callback(...args) : callback);
}

const process = {
  // The embedder's variables (EngineOptions::env), a fresh copy per
  // runtime: a script may change it without affecting other runtimes.
  env: Object.assign({}, env),
  // The guest's operating system: WASI. Not one of node's values, so code
  // that switches on them takes its generic path.
  platform: 'wasi',
  // Empty, and no `versions.node`: jsbox is not node, and packages that
  // look for node (to load `fs`, `crypto` ...) must not find it.
  version: '',
  versions: Object.freeze({ jsbox: version }),
  nextTick,
};
Object.defineProperty(process, Symbol.toStringTag, { value: 'process', configurable: true });

module.exports = process;
