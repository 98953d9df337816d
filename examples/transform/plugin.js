// Cleans one customer record. Use with `jsbox batch` (one record a line).
// Invalid records throw, and show up as error lines in the batch output.
const normalize = require('./lib/normalize');

module.exports = function transform(record) {
  if (record === null || typeof record !== 'object') throw new TypeError('record: not an object');
  const cents = normalize.amountCents(record.amount);
  return {
    id: record.id,
    name: normalize.name(record.name),
    email: normalize.email(record.email),
    country: normalize.country(record.country),
    amount_cents: cents,
    tier: cents >= 50000 ? 'gold' : cents >= 10000 ? 'silver' : 'bronze',
    signup: normalize.date(record.signup),
    tags: normalize.tags(record.tags),
  };
};

// `jsbox run examples/transform/plugin.js --export summary --input '[...]'`
module.exports.summary = function summary(records) {
  const by = {};
  for (const r of records) {
    const c = normalize.country(r.country);
    by[c] = (by[c] || 0) + normalize.amountCents(r.amount);
  }
  return by;
};
