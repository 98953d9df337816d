// jsbox's adapted copy of WPT's common/sab.js (WPT's original stays
// at tests/wpt/common/sab.js). WPT makes a SharedArrayBuffer through
// WebAssembly.Memory because a browser may hide the SharedArrayBuffer
// global (whatwg/html#5380). jsbox has the global but no WebAssembly (its
// QuickJS has no wasm engine), so where WebAssembly.Memory is missing this
// copy takes the global constructor, which is the same constructor
// WebAssembly.Memory's shared buffer has in node. Node runs this copy too
// and, having WebAssembly, takes WPT's path. The one changed line is the
// catch clause.
const createBuffer = (() => {
  // See https://github.com/whatwg/html/issues/5380 for why not `new SharedArrayBuffer()`
  let sabConstructor;
  try {
    sabConstructor = new WebAssembly.Memory({ shared:true, initial:0, maximum:0 }).buffer.constructor;
  } catch(e) {
    sabConstructor = typeof WebAssembly === "undefined" && typeof SharedArrayBuffer === "function" ? SharedArrayBuffer : null;
  }
  return (type, length, opts) => {
    if (type === "ArrayBuffer") {
      return new ArrayBuffer(length, opts);
    } else if (type === "SharedArrayBuffer") {
      if (sabConstructor && sabConstructor.name !== "SharedArrayBuffer") {
        throw new Error("WebAssembly.Memory does not support shared:true");
      }
      return new sabConstructor(length, opts);
    } else {
      throw new Error("type has to be ArrayBuffer or SharedArrayBuffer");
    }
  }
})();
