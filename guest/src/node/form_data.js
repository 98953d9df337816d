// FormData (the XHR standard, as node 20 has it), and the two body
// algorithms fetch.js needs for it: the multipart/form-data encoding of a
// FormData body and the parsing behind Request/Response formData(). The
// prelude defines the global as an accessor that loads this module on
// first read; fetch.js loads it (through the prelude's builtinModule) only
// for a body that is a FormData or a formData() call, so a runtime that
// never touches forms compiles none of it. Entries live in a WeakMap, as
// blob.js keeps a blob's bytes, so brand checks cannot be fooled.
'use strict';

const { File, blobBytes } = require('blob');

const lists = new WeakMap();
const encoder = new TextEncoder();
const toWellFormed = String.prototype.toWellFormed;
// WebIDL USVString: lone surrogates become U+FFFD.
const usv = (v) => toWellFormed.call(`${v}`);
const isBlob = (v) => blobBytes(v) !== undefined;

function listOf(self) {
  const list = lists.get(self);
  if (list === undefined) throw new TypeError('Illegal invocation');
  return list;
}

function requireArgs(args, n, method) {
  if (args.length < n) {
    const found = args.length === 0 ? '0' : `only ${args.length}`;
    throw new TypeError(`FormData.${method}: ${n} argument${n > 1 ? 's' : ''} required, but ${found} found.`);
  }
}

// The standard's "create an entry": a Blob that is not a File becomes a
// File named "blob"; a filename makes a new File of that name.
function makeEntry(args, method) {
  requireArgs(args, 2, method);
  const [name, value, filename] = args;
  if (args.length === 3 && !isBlob(value)) {
    throw new TypeError(`Failed to execute '${method}' on 'FormData': parameter 2 is not of type 'Blob'`);
  }
  const key = usv(name);
  if (!isBlob(value)) return [key, usv(value)];
  let file = value instanceof File ? value : new File([value], 'blob', { type: value.type });
  if (args.length === 3) {
    file = new File([file], usv(filename), { type: file.type, lastModified: file.lastModified });
  }
  return [key, file];
}

class FormData {
  constructor(form = undefined) {
    // The standard's argument is an HTMLFormElement, which no value here is.
    if (form !== undefined) {
      throw new TypeError('FormData constructor: Argument 1 could not be converted to: undefined.');
    }
    lists.set(this, []);
  }
  append(name, value, filename = undefined) {
    const list = listOf(this);
    list.push(makeEntry(arguments, 'append'));
  }
  delete(name) {
    const list = listOf(this);
    requireArgs(arguments, 1, 'delete');
    const key = usv(name);
    for (let i = list.length - 1; i >= 0; i--) if (list[i][0] === key) list.splice(i, 1);
  }
  get(name) {
    const list = listOf(this);
    requireArgs(arguments, 1, 'get');
    const key = usv(name);
    const entry = list.find((e) => e[0] === key);
    return entry === undefined ? null : entry[1];
  }
  getAll(name) {
    const list = listOf(this);
    requireArgs(arguments, 1, 'getAll');
    const key = usv(name);
    return list.filter((e) => e[0] === key).map((e) => e[1]);
  }
  has(name) {
    const list = listOf(this);
    requireArgs(arguments, 1, 'has');
    const key = usv(name);
    return list.some((e) => e[0] === key);
  }
  set(name, value, filename = undefined) {
    const list = listOf(this);
    const entry = makeEntry(arguments, 'set');
    const first = list.findIndex((e) => e[0] === entry[0]);
    if (first < 0) { list.push(entry); return; }
    list[first] = entry;
    for (let i = list.length - 1; i > first; i--) if (list[i][0] === entry[0]) list.splice(i, 1);
  }
  // Brand-checked first (listOf throws): the iterator only holds `this`.
  keys() { listOf(this); return iterator(this, 'keys'); }
  values() { listOf(this); return iterator(this, 'values'); }
  entries() { listOf(this); return iterator(this, 'entries'); }
  forEach(callback, thisArg = undefined) {
    const list = listOf(this);
    if (typeof callback !== 'function') {
      throw new TypeError("Failed to execute 'forEach' on 'FormData': parameter 1 is not of type 'Function'.");
    }
    // Index by index over the live list, as WebIDL's iterable does.
    for (let i = 0; i < list.length; i++) callback.call(thisArg, list[i][1], list[i][0], this);
  }
}

const iterator = require('pair_iterator')('FormData', listOf);

// WebIDL: operations enumerable, @@iterator the same function as entries.
for (const name of ['append', 'delete', 'get', 'getAll', 'has', 'set', 'keys', 'values', 'entries', 'forEach']) {
  Object.defineProperty(FormData.prototype, name, { enumerable: true });
}
Object.defineProperty(FormData.prototype, Symbol.iterator, {
  value: FormData.prototype.entries, writable: true, configurable: true,
});
Object.defineProperty(FormData.prototype, Symbol.toStringTag, { value: 'FormData', configurable: true });

// ---- the multipart/form-data encoding (HTML's algorithm, node's form) ------
// Names and filenames: CR, LF and '"' percent-encoded; names and string
// values have their line breaks normalised to CRLF first. A File with an
// empty name gets no filename parameter (node's choice).
const escapeQuoted = (s) => s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
const crlf = (s) => s.replace(/\r?\n|\r/g, '\r\n');

// A FormData's body: its bytes and the content type naming the boundary.
// The boundary only has to be absent from the parts; 11 random digits
// after a fixed prefix are node's way of making that near certain.
function encode(fd) {
  const boundary = `----formdata-jsbox-${String(Math.floor(Math.random() * 1e11)).padStart(11, '0')}`;
  const prefix = `--${boundary}\r\nContent-Disposition: form-data; name="`;
  const chunks = [];
  for (const [name, value] of listOf(fd)) {
    if (typeof value === 'string') {
      chunks.push(encoder.encode(`${prefix}${escapeQuoted(crlf(name))}"\r\n\r\n${crlf(value)}\r\n`));
    } else {
      chunks.push(encoder.encode(`${prefix}${escapeQuoted(crlf(name))}"` +
        (value.name ? `; filename="${escapeQuoted(value.name)}"` : '') +
        `\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`));
      chunks.push(blobBytes(value), encoder.encode('\r\n'));
    }
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
  return { bytes, type: `multipart/form-data; boundary=${boundary}` };
}

// ---- formData(): parsing a body ---------------------------------------------
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Bytes as a string of the same code units (isomorphic decode), in
// pieces: apply() takes only so many arguments.
function latin1(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return s;
}

// The essence and parameters of a MIME type (the MIME Sniffing standard's
// parser, reduced to what formData() reads), or null if it is not one.
function parseMimeType(text) {
  const semicolon = text.indexOf(';');
  const essence = (semicolon < 0 ? text : text.slice(0, semicolon)).trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash < 0 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) return null;
  const params = new Map();
  let rest = semicolon < 0 ? '' : text.slice(semicolon + 1);
  while (rest !== '') {
    rest = rest.replace(/^[\t\n\r ]+/, '');
    const eq = rest.search(/[;=]/);
    const pname = (eq < 0 ? rest : rest.slice(0, eq)).toLowerCase();
    if (eq < 0 || rest[eq] === ';') { rest = eq < 0 ? '' : rest.slice(eq + 1); continue; }
    rest = rest.slice(eq + 1);
    let value;
    if (rest[0] === '"') {
      // A quoted string: backslash escapes, then anything up to the next ';'.
      value = '';
      let i = 1;
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === '\\' && i + 1 < rest.length) i++;
        value += rest[i];
      }
      const next = rest.indexOf(';', i);
      rest = next < 0 ? '' : rest.slice(next + 1);
    } else {
      const next = rest.indexOf(';');
      value = (next < 0 ? rest : rest.slice(0, next)).replace(/[\t\n\r ]+$/, '');
      rest = next < 0 ? '' : rest.slice(next + 1);
      if (value === '') continue;
    }
    if (pname !== '' && TOKEN.test(pname) && !params.has(pname)) params.set(pname, value);
  }
  return { essence, params };
}

const failure = () => new TypeError('Failed to parse body as FormData.');
const CR = 0x0d;
const LF = 0x0a;

function startsWith(bytes, at, prefix) {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}
function indexOf(bytes, needle, from) {
  const first = needle[0];
  for (let i = bytes.indexOf(first, from); i >= 0 && i + needle.length <= bytes.length; i = bytes.indexOf(first, i + 1)) {
    if (startsWith(bytes, i, needle)) return i;
  }
  return -1;
}
const isCRLF = (bytes, at) => bytes[at] === CR && bytes[at + 1] === LF;
// The end of the run of bytes from `at` that `keep` accepts.
function scan(bytes, at, keep) {
  while (at < bytes.length && keep(bytes[at])) at++;
  return at;
}
const NAME_PREFIX = encoder.encode('form-data; name="');
const FILENAME = encoder.encode('; filename');

// A quoted name or filename starting at `p.at` (just past its '"'), with
// the encoder's percent-escapes undone.
function quoted(bytes, p) {
  const end = scan(bytes, p.at, (c) => c !== LF && c !== CR && c !== 0x22);
  if (bytes[end] !== 0x22) throw failure();
  const text = new TextDecoder().decode(bytes.subarray(p.at, end));
  p.at = end + 1;
  return text.replace(/%0A/gi, '\n').replace(/%0D/gi, '\r').replace(/%22/g, '"');
}

// One part's header lines, from `p.at` to the empty line (consumed).
function partHeaders(bytes, p) {
  const part = { name: null, filename: null, type: null, encoding: null };
  while (!isCRLF(bytes, p.at)) {
    const colon = scan(bytes, p.at, (c) => c !== LF && c !== CR && c !== 0x3a);
    const headerName = latin1(bytes.subarray(p.at, colon)).replace(/^[\t ]+|[\t ]+$/g, '');
    if (!TOKEN.test(headerName) || bytes[colon] !== 0x3a) throw failure();
    p.at = scan(bytes, colon + 1, (c) => c === 0x20 || c === 0x09);
    const lineEnd = () => scan(bytes, p.at, (c) => c !== LF && c !== CR);
    switch (headerName.toLowerCase()) {
      case 'content-disposition': {
        part.name = part.filename = null;
        if (!startsWith(bytes, p.at, NAME_PREFIX)) throw failure();
        p.at += NAME_PREFIX.length;
        part.name = quoted(bytes, p);
        if (startsWith(bytes, p.at, FILENAME)) {
          // Only filename="..." (node rejects filename*= too).
          p.at += FILENAME.length;
          if (bytes[p.at] !== 0x3d || bytes[p.at + 1] !== 0x22) throw failure();
          p.at += 2;
          part.filename = quoted(bytes, p);
        }
        p.at = lineEnd();
        break;
      }
      case 'content-type':
      case 'content-transfer-encoding': {
        const end = lineEnd();
        const value = latin1(bytes.subarray(p.at, end)).replace(/[\t ]+$/, '');
        if (headerName.length === 12) part.type = value; else part.encoding = value;
        p.at = end;
        break;
      }
      default:
        p.at = lineEnd();
    }
    if (!isCRLF(bytes, p.at)) throw failure();
    p.at += 2;
  }
  if (part.name === null) throw failure();
  p.at += 2;
  return part;
}

// The entries of a multipart/form-data body (the draft standard's parser,
// which node follows): each part opens with "--boundary" CRLF, its headers
// name it (a filename makes it a File), its body runs to the next
// CRLF "--boundary"; "--boundary--" ends the body. CRLFs before the first
// delimiter and after the last are tolerated, as node does.
function parseMultipart(input, boundary) {
  const delimiter = encoder.encode(`--${boundary}`);
  const next = encoder.encode(`\r\n--${boundary}`);
  let start = 0;
  let end = input.length;
  while (isCRLF(input, start)) start += 2;
  while (end >= 2 && input[end - 2] === CR && input[end - 1] === LF) end -= 2;
  const bytes = input.subarray(start, end);
  const p = { at: 0 };
  const entries = [];
  for (;;) {
    if (!startsWith(bytes, p.at, delimiter)) throw failure();
    p.at += delimiter.length;
    if (p.at === bytes.length - 2 && bytes[p.at] === 0x2d && bytes[p.at + 1] === 0x2d) return entries;
    if (!isCRLF(bytes, p.at)) throw failure();
    p.at += 2;
    const part = partHeaders(bytes, p);
    const bodyEnd = indexOf(bytes, next, p.at);
    if (bodyEnd < 0) throw failure();
    let body = bytes.slice(p.at, bodyEnd);
    p.at = bodyEnd + 2;
    if (part.encoding !== null && part.encoding.toLowerCase() === 'base64') {
      try {
        body = Uint8Array.from(atob(latin1(body).replace(/[\t\n\f\r ]/g, '')), (c) => c.charCodeAt(0));
      } catch (e) {
        throw failure();
      }
    }
    if (part.filename !== null) {
      const type = part.type === null ? 'text/plain' : /^[\x00-\x7f]*$/.test(part.type) ? part.type : '';
      entries.push([part.name, new File([body], part.filename, { type })]);
    } else {
      entries.push([part.name, new TextDecoder().decode(body)]);
    }
  }
}

// Request/Response formData(): the body's bytes as a FormData, by the
// body's content type (the `content-type` header's value, or null).
function parse(bytes, contentType) {
  const mime = contentType === null ? null : parseMimeType(contentType);
  const fd = new FormData();
  if (mime !== null && mime.essence === 'multipart/form-data') {
    const boundary = mime.params.get('boundary');
    if (boundary === undefined) throw failure();
    lists.set(fd, parseMultipart(bytes, boundary));
    return fd;
  }
  if (mime !== null && mime.essence === 'application/x-www-form-urlencoded') {
    const list = lists.get(fd);
    for (const entry of new URLSearchParams(new TextDecoder().decode(bytes))) list.push(entry);
    return fd;
  }
  throw new TypeError('Content-Type was not one of "multipart/form-data" or "application/x-www-form-urlencoded".');
}

module.exports = { FormData, isFormData: (v) => lists.has(v), encode, parse };
