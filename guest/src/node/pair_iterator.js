// WebIDL's pair iterator (an interface's `iterable<K, V>`), for Headers
// (fetch.js) and FormData (form_data.js): keys(), values() and entries()
// return one, whose prototype ("<Interface> Iterator") has next() and
// inherits %IteratorPrototype%. It is live: each next() reads the pairs
// afresh and takes the one at its index, so pairs added or removed while
// iterating are seen as the standard says.
'use strict';

const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

// A function (target, kind) -> iterator for the interface `name`, whose
// current pairs `pairsOf(target)` returns as [key, value] arrays.
module.exports = function pairIterator(name, pairsOf) {
  const state = new WeakMap();
  const prototype = Object.create(IteratorPrototype, {
    next: {
      value: function next() {
        const s = state.get(this);
        if (s === undefined) {
          throw new TypeError(`'next' called on an object that does not implement interface ${name} Iterator.`);
        }
        const pairs = pairsOf(s.target);
        if (s.index >= pairs.length) return { value: undefined, done: true };
        const [key, value] = pairs[s.index++];
        return { value: s.kind === 'keys' ? key : s.kind === 'values' ? value : [key, value], done: false };
      },
      writable: true, enumerable: true, configurable: true,
    },
    [Symbol.toStringTag]: { value: `${name} Iterator`, configurable: true },
  });
  return (target, kind) => {
    const it = Object.create(prototype);
    state.set(it, { target, kind, index: 0 });
    return it;
  };
};
