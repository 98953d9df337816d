// The sandboxes a jsbox user would pick instead, on jsbox's own workloads
// (benches/jsbox.rs): a fresh sandbox + eval, an eval in a reused sandbox,
// a call of a global function with a JSON argument, and JS calling a host
// function. Prints one JSON document: `{ peers: { name: { workload: ns } } }`
// with the median nanoseconds per operation over many timed batches.
//
// Usage: node peers.js [OUT.json]   (JSBOX_BENCH_QUICK=1 for a short run)
'use strict';

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

/** Median ns per op of `op`, timed in batches of about BATCH_NS each. */
function measure(op, perOp = 1) {
  // Warm up (JIT, allocator) and size the batch.
  let n = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) op();
    const dt = Number(process.hrtime.bigint() - t);
    if (dt > BATCH_NS / 4) {
      n = Math.max(1, Math.round((n * BATCH_NS) / dt));
      break;
    }
    n *= 2;
  }
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
  const { getQuickJS } = require('quickjs-emscripten');
  const QuickJS = await getQuickJS();
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

async function main() {
  const peers = {};
  peers['quickjs-emscripten'] = await quickjsEmscripten();
  peers['node:vm'] = nodeVm();
  peers['isolated-vm'] = isolatedVm();
  const doc = {
    node: process.version,
    quickjs_emscripten: require('quickjs-emscripten/package.json').version,
    unit: 'median ns per operation (js_calling_host: per call)',
    peers,
  };
  const text = JSON.stringify(doc, null, 2);
  if (process.argv[2]) fs.writeFileSync(process.argv[2], text + '\n');
  console.log(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
