// An async plugin: it awaits an async native function and a timer.
//
// `require('catalog').price(sku)` is an async native function the host
// provides (host/examples/async_plugin.rs registers one backed by a tokio
// sleep, standing in for a database or an HTTP service). Each call returns a
// promise; the runtime's event loop waits on the host without a thread.
const catalog = require('catalog');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Prices every item of an order at once, then holds the quote for
// `order.holdMs` (a timer), and returns it.
exports.quote = async function quote(order) {
  const prices = await Promise.all(order.items.map((sku) => catalog.price(sku)));
  let unknown = [];
  prices.forEach((p, i) => { if (p === null) unknown.push(order.items[i]); });
  if (unknown.length > 0) throw new Error(`unknown items: ${unknown.join(', ')}`);
  await delay(order.holdMs ?? 5);
  const total = prices.reduce((sum, p) => sum + p, 0);
  return { id: order.id, items: prices.length, total: Math.round(total * 100) / 100 };
};
