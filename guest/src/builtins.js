// Instantiates every built-in property before the snapshot is taken.
//
// QuickJS-ng defines most built-in methods (String.prototype.split,
// Math.round, JSON.stringify, ...) as "auto-init" properties: the function
// object is created on first access. Without this walk that first access
// happens in every fresh runtime, for every built-in a plugin touches (a
// JS_NewCFunction per method, per runtime). After it, they are all part of
// the snapshot, shared copy-on-write.
//
// Reading a property descriptor instantiates it without calling getters.
// Objects are reached from globalThis, through property values, accessors
// and prototypes, plus the intrinsics only reachable from instances
// (iterator and generator prototypes).
(function () {
  const seen = new Set();
  const queue = [
    globalThis,
    [][Symbol.iterator](),
    new Map()[Symbol.iterator](),
    new Set()[Symbol.iterator](),
    ''[Symbol.iterator](),
    /a/[Symbol.matchAll](''),
    function* () {},
    async function () {},
    async function* () {},
  ];
  const visit = (v) => {
    if ((typeof v === 'object' && v !== null) || typeof v === 'function') {
      if (!seen.has(v)) {
        seen.add(v);
        queue.push(v);
      }
    }
  };
  while (queue.length > 0) {
    const o = queue.pop();
    visit(Object.getPrototypeOf(o));
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d === undefined) continue;
      visit(d.value);
      visit(d.get);
      visit(d.set);
    }
  }
})();
