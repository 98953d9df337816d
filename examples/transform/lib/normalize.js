// Normalisers for messy record fields. Each returns the clean value or
// throws a TypeError naming the field.

const COUNTRIES = {
  de: 'DE', deu: 'DE', germany: 'DE', deutschland: 'DE',
  fr: 'FR', fra: 'FR', france: 'FR',
  us: 'US', usa: 'US', 'united states': 'US',
  jp: 'JP', jpn: 'JP', japan: 'JP',
  br: 'BR', bra: 'BR', brazil: 'BR', brasil: 'BR',
};

function name(value) {
  if (typeof value !== 'string' || !value.trim()) throw new TypeError('name: missing');
  return value.trim().split(/\s+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join(' ');
}

function email(value) {
  if (typeof value !== 'string') throw new TypeError('email: missing');
  const e = value.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/.test(e)) throw new TypeError(`email: invalid: ${JSON.stringify(value)}`);
  return e;
}

function country(value) {
  const code = COUNTRIES[String(value || '').trim().toLowerCase()];
  if (!code) throw new TypeError(`country: unknown: ${JSON.stringify(value)}`);
  return code;
}

// 12.5, "12.50", "€12,50", "1.234,56 EUR" -> cents
function amountCents(value) {
  if (typeof value === 'number') return Math.round(value * 100);
  let s = String(value).replace(/[^0-9.,-]/g, '');
  if (/,\d{1,2}$/.test(s)) s = s.replace(/\./g, '').replace(',', '.');
  else s = s.replace(/,/g, '');
  const n = Number(s);
  if (!Number.isFinite(n)) throw new TypeError(`amount: invalid: ${JSON.stringify(value)}`);
  return Math.round(n * 100);
}

// "2024-03-05", "05/03/2024" (day first), or Unix milliseconds -> "YYYY-MM-DD"
function date(value) {
  let d;
  if (typeof value === 'number') d = new Date(value);
  else if (/^\d{4}-\d{2}-\d{2}$/.test(value)) d = new Date(value + 'T00:00:00Z');
  else {
    const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value);
    if (!m) throw new TypeError(`signup: invalid date: ${JSON.stringify(value)}`);
    d = new Date(`${m[3]}-${m[2]}-${m[1]}T00:00:00Z`);
  }
  if (isNaN(d.getTime())) throw new TypeError(`signup: invalid date: ${JSON.stringify(value)}`);
  return d.toISOString().slice(0, 10);
}

function tags(value) {
  const list = Array.isArray(value) ? value : String(value || '').split(/[,;]/);
  return [...new Set(list.map((t) => String(t).trim().toLowerCase()).filter(Boolean))].sort();
}

module.exports = { name, email, country, amountCents, date, tags };
