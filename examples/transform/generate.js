// Writes examples/transform/records.jsonl (or input.out, a host path
// relative to where jsbox runs): deterministic messy customer records (a
// fixed-seed LCG, so the file is the same on every run). About 2% are
// invalid on purpose. Regenerate from the repository root with:
//   jsbox run examples/transform/generate.js --allow-write examples/transform --input '{"n": 3000}'
let seed = 20240601;
function rand() {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}
const pick = (list) => list[Math.floor(rand() * list.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const FIRST = ['ada', 'GRACE', 'Linus', 'margaret', 'alan', 'Barbara', 'ken', 'dennis', 'frances', 'edsger', 'radia', 'bjarne'];
const LAST = ['lovelace', 'HOPPER', 'torvalds', 'Hamilton', 'turing', 'liskov', 'thompson', 'RITCHIE', 'allen', 'dijkstra', 'perlman'];
const COUNTRY = ['de', 'DE', 'Germany', 'fr', 'France', 'us', 'USA', 'united states', 'jp', 'Japan', 'br', 'Brasil'];
const DOMAIN = ['example.com', 'Example.ORG', 'mail.test', 'box.io'];
const TAGS = ['beta', 'VIP', 'newsletter', 'trial', 'partner'];

function amount() {
  const v = int(100, 99999) / 100;
  switch (int(0, 3)) {
    case 0: return v;
    case 1: return v.toFixed(2);
    case 2: return '€' + v.toFixed(2).replace('.', ',');
    default: return v.toFixed(2).replace('.', ',') + ' EUR';
  }
}

function signup() {
  const y = int(2015, 2024), m = int(1, 12), d = int(1, 28);
  const pad = (n) => String(n).padStart(2, '0');
  switch (int(0, 2)) {
    case 0: return `${y}-${pad(m)}-${pad(d)}`;
    case 1: return `${pad(d)}/${pad(m)}/${y}`;
    default: return Date.UTC(y, m - 1, d);
  }
}

function record(id) {
  const first = pick(FIRST), last = pick(LAST);
  const r = {
    id,
    name: rand() < 0.3 ? ` ${first}  ${last} ` : `${first} ${last}`,
    email: `${first.charAt(0)}${last}@${pick(DOMAIN)}` + (rand() < 0.1 ? ' ' : ''),
    country: pick(COUNTRY),
    amount: amount(),
    signup: signup(),
  };
  const t = rand();
  if (t < 0.25) r.tags = [pick(TAGS)];
  else if (t < 0.5) r.tags = `${pick(TAGS)},${pick(TAGS)}`;
  const broken = rand();
  if (broken < 0.007) delete r.email;
  else if (broken < 0.014) r.country = 'Atlantis';
  else if (broken < 0.02) r.signup = 'yesterday';
  return r;
}

module.exports = function generate(input) {
  const n = (input && input.n) || 3000;
  const lines = [];
  for (let i = 1; i <= n; i++) lines.push(JSON.stringify(record(i)));
  const out = (input && input.out) || 'examples/transform/records.jsonl';
  require('fs').writeFileSync(out, lines.join('\n') + '\n');
  return { written: n, file: out };
};
