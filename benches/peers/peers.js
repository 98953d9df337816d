// The sandboxes a jsbox user would pick instead, on jsbox's own workloads
// (benches/jsbox.rs): a fresh sandbox + eval, an eval in a reused sandbox,
// a call of a global function with a JSON argument, and JS calling a host
// function. Prints one JSON document: `{ peers: { name: { workload: ns } } }`
// with the median nanoseconds per operation over many timed batches.
//
// Each peer is timed at its best, as a careful user would run it:
// - in a node process of its own (started by this script), so no other
//   peer's contexts, compiled code or garbage share its heap, and with only
//   the node flags it needs (isolated-vm: `--no-node-snapshot`);
// - after a warm-up that lasts until it stops getting faster (below): V8
//   compiles wasm lazily with its baseline compiler and moves hot functions
//   to the optimizing one in the background, so quickjs-emscripten's first
//   few hundred to few thousand sandboxes are up to 3x slower than the rest;
// - in batches sized from the warm per-operation time, not from the first
//   (cold, tens of milliseconds) operation;
// - in its fastest variant (quickjs-emscripten: the release-sync build).
//
// Usage: node peers.js [OUT.json]   (JSBOX_BENCH_QUICK=1 for a short run)
//        node peers.js --peer NAME  (one peer in this process; what the
//                                    first form runs once per peer)
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const vm = require('node:vm');

const SCRIPT = 'var n = 41; n + 1;';
const INIT = 'function answer(x) { return x + 1; }';
// What jsbox's guest does for `call_json(None, "answer", "[41]")`: look the
// function up, parse the JSON arguments, call, stringify the result.
const CALL_HELPER = '(name, json) => JSON.stringify(globalThis[name](...JSON.parse(json)))';
const HOST_CALLS = 100;
const HOST_LOOP = `var s = 0; for (var i = 0; i < ${HOST_CALLS}; i++) s = add(s, 1); s`;

const QUICK = !!process.env.JSBOX_BENCH_QUICK;
const BATCHES = QUICK ? 10 : 40;
const BATCH_NS = (QUICK ? 10 : 40) * 1e6;
// The warm-up is the same in both modes (a short one is what made the old
// quick figure of quickjs-emscripten's fresh_eval 2-3x too slow): at least
// WARM_OPS operations and WARM_NS, and then until no chunk of operations has
// been 2% faster than the best before it for WARM_STABLE_NS (V8 moves a wasm
// function to its optimizing compiler when the function has run enough, so
// a peer can still speed up after a few thousand operations), at most
// WARM_MAX_NS.
const WARM_OPS = 5000;
const WARM_NS = 2e9;
const WARM_STABLE_NS = 1e9;
const WARM_MAX_NS = 20e9;

/** Median ns per op of `op`, timed in batches of about BATCH_NS after a warm-up. */
function measure(op, perOp = 1) {
  // Warm up in chunks growing to a batch's length; the last chunk, warm,
  // sizes the batch.
  let ops = 0;
  let chunk = 1;
  let per;
  let best = Infinity;
  let bestAt = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < chunk; i++) op();
    const now = process.hrtime.bigint();
    const elapsed = Number(now - start);
    ops += chunk;
    per = Number(now - t) / chunk;
    if (per < best * 0.98) bestAt = elapsed;
    best = Math.min(best, per);
    if (elapsed >= WARM_MAX_NS) break;
    if (ops >= WARM_OPS && elapsed >= WARM_NS && elapsed - bestAt >= WARM_STABLE_NS) break;
    if (per * chunk < BATCH_NS) chunk *= 2;
  }
  const n = Math.max(1, Math.round(BATCH_NS / per));
  const samples = [];
  for (let b = 0; b < BATCHES; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) op();
    samples.push(Number(process.hrtime.bigint() - t) / n / perOp);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function check(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: got ${actual}, expected ${expected}`);
}

async function quickjsEmscripten() {
  // The release-sync build (what getQuickJS() loads), the fastest of the
  // package's four: the debug builds check assertions, the asyncify ones
  // unwind the stack around every host call.
  const { newQuickJSWASMModule, RELEASE_SYNC } = require('quickjs-emscripten');
  const QuickJS = await newQuickJSWASMModule(RELEASE_SYNC);
  const out = {};

  out.fresh_eval = measure(() => {
    const rt = QuickJS.newRuntime();
    const ctx = rt.newContext();
    const v = ctx.unwrapResult(ctx.evalCode(SCRIPT));
    check(ctx.getNumber(v), 42, 'fresh eval');
    v.dispose();
    ctx.dispose();
    rt.dispose();
  });

  const rt = QuickJS.newRuntime();
  const ctx = rt.newContext();
  ctx.unwrapResult(ctx.evalCode(INIT)).dispose();
  out.reused_eval = measure(() => {
    const v = ctx.unwrapResult(ctx.evalCode(SCRIPT));
    check(ctx.getNumber(v), 42, 'reused eval');
    v.dispose();
  });

  const helper = ctx.unwrapResult(ctx.evalCode(CALL_HELPER));
  out.call_json = measure(() => {
    const name = ctx.newString('answer');
    const args = ctx.newString('[41]');
    const v = ctx.unwrapResult(ctx.callFunction(helper, ctx.undefined, name, args));
    check(ctx.getString(v), '42', 'call');
    v.dispose();
    args.dispose();
    name.dispose();
  });
  helper.dispose();

  const add = ctx.newFunction('add', (a, b) => ctx.newNumber(ctx.getNumber(a) + ctx.getNumber(b)));
  ctx.setProp(ctx.global, 'add', add);
  add.dispose();
  out.js_calling_host = measure(() => {
    const v = ctx.unwrapResult(ctx.evalCode(HOST_LOOP));
    check(ctx.getNumber(v), HOST_CALLS, 'host loop');
    v.dispose();
  }, HOST_CALLS);

  ctx.dispose();
  rt.dispose();
  return out;
}

function nodeVm() {
  const out = {};
  out.fresh_eval = measure(() => {
    const ctx = vm.createContext({});
    check(vm.runInContext(SCRIPT, ctx), 42, 'fresh eval');
  });
  const ctx = vm.createContext({ add: (a, b) => a + b });
  vm.runInContext(INIT, ctx);
  out.reused_eval = measure(() => check(vm.runInContext(SCRIPT, ctx), 42, 'reused eval'));
  const helper = vm.runInContext(CALL_HELPER, ctx);
  out.call_json = measure(() => check(helper('answer', '[41]'), '42', 'call'));
  out.js_calling_host = measure(() => check(vm.runInContext(HOST_LOOP, ctx), HOST_CALLS, 'host loop'), HOST_CALLS);
  return out;
}

function isolatedVm() {
  let ivm;
  try {
    ivm = require('isolated-vm');
  } catch (e) {
    return { skipped: `isolated-vm is not installed or does not load here (${e.code || e.message})` };
  }
  const out = {};
  out.fresh_eval = measure(() => {
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    const context = isolate.createContextSync();
    check(context.evalSync(SCRIPT), 42, 'fresh eval');
    context.release();
    isolate.dispose();
  });
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = isolate.createContextSync();
  context.evalSync(INIT);
  out.reused_eval = measure(() => check(context.evalSync(SCRIPT), 42, 'reused eval'));
  const helper = context.evalSync(CALL_HELPER, { reference: true });
  out.call_json = measure(() => check(helper.applySync(undefined, ['answer', '[41]']), '42', 'call'));
  context.global.setSync('add', new ivm.Callback((a, b) => a + b));
  out.js_calling_host = measure(() => check(context.evalSync(HOST_LOOP), HOST_CALLS, 'host loop'), HOST_CALLS);
  isolate.dispose();
  return out;
}

// Each peer's function, and the node flags its process needs.
const PEERS = {
  'quickjs-emscripten': { run: quickjsEmscripten, flags: [] },
  'node:vm': { run: nodeVm, flags: [] },
  // isolated-vm needs --no-node-snapshot on node 20+.
  'isolated-vm': { run: isolatedVm, flags: ['--no-node-snapshot'] },
};

/** Times each peer in a node process of its own; returns `{ name: result }`. */
function allPeers() {
  const peers = {};
  for (const [name, { flags }] of Object.entries(PEERS)) {
    const child = spawnSync(process.execPath, [...flags, __filename, '--peer', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0) throw new Error(`${name}: exited with ${child.status ?? child.signal}`);
    peers[name] = JSON.parse(child.stdout);
  }
  return peers;
}

async function main() {
  const i = process.argv.indexOf('--peer');
  if (i >= 0) {
    const peer = PEERS[process.argv[i + 1]];
    if (!peer) throw new Error(`unknown peer ${process.argv[i + 1]} (one of: ${Object.keys(PEERS).join(', ')})`);
    console.log(JSON.stringify(await peer.run()));
    return;
  }
  const doc = {
    node: process.version,
    quickjs_emscripten: require('quickjs-emscripten/package.json').version,
    quickjs_emscripten_variant: 'release-sync',
    unit: 'median ns per operation (js_calling_host: per call)',
    method: `each peer in its own node process; per workload a warm-up of >= ${WARM_OPS} operations and >= ${WARM_NS / 1e9} s, until ${WARM_STABLE_NS / 1e9} s without a 2% gain, then the median of ${BATCHES} batches of ${BATCH_NS / 1e6} ms`,
    peers: allPeers(),
  };
  const text = JSON.stringify(doc, null, 2);
  if (process.argv[2]) fs.writeFileSync(process.argv[2], text + '\n');
  console.log(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
