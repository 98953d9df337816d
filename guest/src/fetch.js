// The jsbox guest's `fetch`: `fetch`, `Headers`, `Request` and `Response`
// as the fetch standard (and node 20) define them, over one async host
// function. Evaluated once by `init` (inside the snapshot). It is an
// expression: a function the Rust side calls with the event loop's
// `callAsync(module, fn, args)`, which returns a promise of the host's
// answer (see `host/src/native/net/client.rs` for both wire forms), and the
// prelude's `builtinModule(name)`, which loads FormData's module
// (guest/src/node/form_data.js) when a body needs it. The host does the
// request, checks the net grant and caps the body; this file only shapes
// values. Without a net grant the host refuses every request. A `data:`
// URL never reaches the host: `dataUrl(url)` (Rust, the `data-url` crate's
// Fetch Standard data: URL processor) gives its MIME type and body, and the
// response is made here, as node's fetch does, with no grant needed.
(function (callAsync, builtinModule, dataUrl) {
  'use strict';

  const g = globalThis;
  const JSONstringify = JSON.stringify;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  // ---- bytes and base64 ------------------------------------------------------
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64_INDEX = new Uint8Array(128).fill(255);
  for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

  function toBase64(bytes) {
    const parts = [];
    let chunk = [];
    const n = bytes.length;
    let i = 0;
    for (; i + 2 < n; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      chunk.push(B64[v >> 18], B64[(v >> 12) & 63], B64[(v >> 6) & 63], B64[v & 63]);
      if (chunk.length >= 8192) { parts.push(chunk.join('')); chunk = []; }
    }
    if (i < n) {
      const v = (bytes[i] << 16) | ((i + 1 < n ? bytes[i + 1] : 0) << 8);
      chunk.push(B64[v >> 18], B64[(v >> 12) & 63], i + 1 < n ? B64[(v >> 6) & 63] : '=', '=');
    }
    parts.push(chunk.join(''));
    return parts.join('');
  }

  function fromBase64(s) {
    let len = s.length;
    while (len > 0 && s[len - 1] === '=') len--;
    const out = new Uint8Array((len * 3) >> 2);
    let acc = 0, bits = 0, o = 0;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      const v = c < 128 ? B64_INDEX[c] : 255;
      if (v === 255) throw new TypeError('invalid base64 from the host');
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) { bits -= 8; out[o++] = (acc >> bits) & 255; }
    }
    return out;
  }

  function copyBytes(view) {
    return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
  }

  // ---- Headers ------------------------------------------------------------------
  const kList = Symbol('headers.list');
  const kGuard = Symbol('headers.guard');
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

  function headerName(name, method) {
    name = String(name);
    if (!TOKEN.test(name)) throw new TypeError(`Headers.${method}: "${name}" is an invalid header name.`);
    return name.toLowerCase();
  }
  function headerValue(value, method) {
    value = String(value).replace(EDGE_WS, '');
    if (/[\0\r\n]/.test(value) || /[^\0-\xff]/.test(value)) {
      throw new TypeError(`Headers.${method}: "${value}" is an invalid header value.`);
    }
    return value;
  }
  function checkMutable(h) {
    if (h[kGuard] === 'immutable') throw new TypeError('immutable');
  }

  // WebIDL ByteString: a string of code units up to 0xFF (a symbol throws).
  function byteString(v) {
    const s = `${v}`;
    if (/[^\0-\xff]/.test(s)) throw new TypeError(`Cannot convert "${s}" to a ByteString.`);
    return s;
  }

  // The standard's "sort and combine": by name, values joined with ", ",
  // except that every set-cookie is its own entry.
  function sortAndCombine(headers) {
    const list = headers[kList];
    const names = [...new Set(list.map((e) => e[0]))].sort();
    const pairs = [];
    for (const n of names) {
      if (n === 'set-cookie') {
        for (const e of list) if (e[0] === n) pairs.push([n, e[1]]);
      } else {
        pairs.push([n, headers.get(n)]);
      }
    }
    return pairs;
  }
  // Made on the first iteration (guest/src/node/pair_iterator.js).
  let headersIterator = null;
  function iterate(headers, kind) {
    if (!(kList in headers)) throw new TypeError('Illegal invocation');
    if (headersIterator === null) headersIterator = builtinModule('pair_iterator')('Headers', sortAndCombine);
    return headersIterator(headers, kind);
  }

  class Headers {
    constructor(init) {
      Object.defineProperty(this, kList, { value: [] });
      Object.defineProperty(this, kGuard, { value: 'none', writable: true });
      if (init === undefined) return;
      // WebIDL's (sequence<sequence<ByteString>> or record<ByteString,
      // ByteString>): an object with an @@iterator is a sequence (a Headers
      // too, through its own iterator), any other object a record.
      if (typeof init === 'object' && init !== null || typeof init === 'function') {
        const iteratorMethod = init[Symbol.iterator];
        if (iteratorMethod !== undefined && iteratorMethod !== null) {
          if (typeof iteratorMethod !== 'function') throw new TypeError('Headers constructor: @@iterator is not callable');
          for (const pair of { [Symbol.iterator]: () => iteratorMethod.call(init) }) {
            if (pair === null || typeof pair !== 'object' || typeof pair[Symbol.iterator] !== 'function') {
              throw new TypeError('Headers constructor: expected name/value pair to be length 2, found 1.');
            }
            const p = Array.from(pair);
            if (p.length !== 2) {
              throw new TypeError(`Headers constructor: expected name/value pair to be length 2, found ${p.length}.`);
            }
            this.append(p[0], p[1]);
          }
        } else {
          // The record's own enumerable keys in [[OwnPropertyKeys]] order,
          // each read once; a key seen twice (a proxy's) keeps the last
          // value. All are converted before the first is appended.
          const record = new Map();
          for (const key of Reflect.ownKeys(init)) {
            const desc = Reflect.getOwnPropertyDescriptor(init, key);
            if (desc === undefined || !desc.enumerable) continue;
            const name = byteString(key);
            record.set(name, byteString(init[key]));
          }
          for (const [name, value] of record) this.append(name, value);
        }
      } else {
        throw new TypeError("Headers constructor: argument must be a sequence or record");
      }
    }
    append(name, value) {
      const n = headerName(name, 'append');
      const v = headerValue(value, 'append');
      checkMutable(this);
      this[kList].push([n, v]);
    }
    delete(name) {
      const n = headerName(name, 'delete');
      checkMutable(this);
      const list = this[kList];
      for (let i = list.length - 1; i >= 0; i--) if (list[i][0] === n) list.splice(i, 1);
    }
    get(name) {
      const n = headerName(name, 'get');
      const values = this[kList].filter((e) => e[0] === n).map((e) => e[1]);
      return values.length ? values.join(', ') : null;
    }
    getSetCookie() {
      return this[kList].filter((e) => e[0] === 'set-cookie').map((e) => e[1]);
    }
    has(name) {
      const n = headerName(name, 'has');
      return this[kList].some((e) => e[0] === n);
    }
    set(name, value) {
      const n = headerName(name, 'set');
      const v = headerValue(value, 'set');
      checkMutable(this);
      const list = this[kList];
      const first = list.findIndex((e) => e[0] === n);
      if (first < 0) { list.push([n, v]); return; }
      list[first][1] = v;
      for (let i = list.length - 1; i > first; i--) if (list[i][0] === n) list.splice(i, 1);
    }
    forEach(callback, thisArg) {
      if (typeof callback !== 'function') throw new TypeError('Headers.forEach: callback is not a function');
      for (const [n, v] of iterate(this, 'entries')) callback.call(thisArg, v, n, this);
    }
    // Live iterators over the sorted and combined pairs.
    keys() { return iterate(this, 'keys'); }
    values() { return iterate(this, 'values'); }
    entries() { return iterate(this, 'entries'); }
    [Symbol.iterator]() { return iterate(this, 'entries'); }
    get [Symbol.toStringTag]() { return 'Headers'; }
  }

  // ---- bodies ------------------------------------------------------------------
  // A body is null or a record { source, stream, used }: `source` is the
  // bytes or text it was made from ({ text } | { bytes }, null for a
  // stream body), `stream` its ReadableStream once there is one (a stream
  // body, or the first read of `.body`), `used` set when text() and the
  // like read `source` directly. Streams are made only when asked for, so
  // a body read with text()/json() never loads the Streams implementation.
  const kBody = Symbol('body');

  // A ReadableStream of the Streams implementation, without loading it for
  // a body that plainly is not one.
  function isReadableStream(v) {
    return typeof v === 'object' && v !== null && typeof v.getReader === 'function' &&
      typeof g.ReadableStream === 'function' && v instanceof g.ReadableStream;
  }
  // The standard's "disturbed": read from or cancelled. `_disturbed` is
  // the flag of the vendored web-streams-polyfill (the reference
  // implementation's [[disturbed]] slot); no public API exposes it.
  const isDisturbed = (stream) => stream._disturbed === true;

  // BodyInit -> [body record, the content type it implies].
  function extractBody(body) {
    if (body === null || body === undefined) return [null, null];
    const record = (source) => ({ source, stream: null, used: false });
    if (typeof body === 'string') return [record({ text: body }), 'text/plain;charset=UTF-8'];
    if (typeof g.URLSearchParams === 'function' && body instanceof g.URLSearchParams) {
      return [record({ text: body.toString() }), 'application/x-www-form-urlencoded;charset=UTF-8'];
    }
    if (body instanceof ArrayBuffer) return [record({ bytes: new Uint8Array(body.slice(0)) }), null];
    if (ArrayBuffer.isView(body)) return [record({ bytes: copyBytes(body) }), null];
    if (typeof body === 'object' && typeof body.stream === 'function' && typeof g.Blob === 'function' &&
        body instanceof g.Blob) {
      return [{ source: null, stream: body.stream(), used: false }, body.type === '' ? null : body.type];
    }
    if (isReadableStream(body)) {
      if (body.locked || isDisturbed(body)) throw new TypeError('Response body object should not be disturbed or locked');
      return [{ source: null, stream: body, used: false }, null];
    }
    // Only an object left here can be a FormData; checking loads its module.
    if (typeof body === 'object' && builtinModule('form_data').isFormData(body)) {
      const { bytes, type } = builtinModule('form_data').encode(body);
      return [record({ bytes }), type];
    }
    return [record({ text: String(body) }), 'text/plain;charset=UTF-8'];
  }

  function bodyBytes(source) {
    return source.bytes !== undefined ? source.bytes : encoder.encode(source.text);
  }
  function bodyText(source) {
    if (source.text !== undefined) return source.text.charCodeAt(0) === 0xfeff ? source.text.slice(1) : source.text;
    return decoder.decode(source.bytes);
  }

  // A byte stream of one chunk, as node's bodies are (so BYOB readers work).
  // The chunk is a copy: enqueueing transfers (detaches) its buffer, and the
  // source may still be needed by a clone.
  function streamOf(source) {
    const bytes = new Uint8Array(bodyBytes(source));
    return new g.ReadableStream({
      type: 'bytes',
      start(controller) {
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  const unusable = (body) => body !== null &&
    (body.used || (body.stream !== null && (body.stream.locked || isDisturbed(body.stream))));
  const isUsed = (body) => body !== null && (body.used || (body.stream !== null && isDisturbed(body.stream)));

  // Every chunk of a body stream, joined; chunks must be Uint8Arrays.
  function readAll(stream) {
    const reader = stream.getReader();
    const chunks = [];
    let length = 0;
    const next = () => reader.read().then(({ done, value }) => {
      if (done) {
        if (chunks.length === 1) return chunks[0];
        const out = new Uint8Array(length);
        let at = 0;
        for (const c of chunks) { out.set(c, at); at += c.byteLength; }
        return out;
      }
      if (!(value instanceof Uint8Array)) {
        const e = new TypeError('Received non-Uint8Array chunk');
        return reader.cancel(e).then(() => { throw e; });
      }
      chunks.push(value);
      length += value.byteLength;
      return next();
    });
    return next();
  }

  // The body's { text } | { bytes }, read once.
  function consume(self) {
    const body = self[kBody];
    if (unusable(body)) {
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    }
    if (body === null) return Promise.resolve({ text: '' });
    if (body.stream === null) {
      body.used = true;
      return Promise.resolve(body.source);
    }
    return readAll(body.stream).then((bytes) => ({ bytes }));
  }

  // A copy of a body for clone(): a stream is teed, its first branch kept.
  function cloneBody(body) {
    if (body === null) return null;
    if (body.stream === null) return { source: body.source, stream: null, used: false };
    const [mine, theirs] = body.stream.tee();
    body.stream = mine;
    return { source: null, stream: theirs, used: false };
  }

  // The Body mixin shared by Request and Response.
  const BodyMixin = {
    get bodyUsed() { return isUsed(this[kBody]); },
    get body() {
      const body = this[kBody];
      if (body === null) return null;
      if (body.stream === null) {
        if (body.used) {
          // Already read by text() and the like, which in the standard
          // read the stream to its end through a reader never released:
          // an empty stream, locked.
          body.stream = streamOf({ text: '' });
          body.stream.getReader();
        } else {
          body.stream = streamOf(body.source);
        }
      }
      return body.stream;
    },
    text() { return consume(this).then(bodyText); },
    json() { return consume(this).then((b) => JSON.parse(bodyText(b))); },
    arrayBuffer() {
      return consume(this).then((b) => {
        const bytes = bodyBytes(b);
        return bytes.buffer.byteLength === bytes.byteLength ? bytes.buffer : copyBytes(bytes).buffer;
      });
    },
    bytes() { return consume(this).then((b) => new Uint8Array(bodyBytes(b))); },
    blob() {
      if (typeof g.Blob !== 'function') return Promise.reject(new TypeError('Blob is not available in jsbox'));
      const type = this.headers.get('content-type') || '';
      return consume(this).then((b) => new g.Blob([bodyBytes(b)], { type }));
    },
    // By the content type: multipart/form-data or urlencoded, else a TypeError.
    formData() {
      const type = this.headers.get('content-type');
      return consume(this).then((b) => builtinModule('form_data').parse(bodyBytes(b), type));
    },
  };
  function mixBody(cls) {
    for (const key of Object.getOwnPropertyNames(BodyMixin)) {
      Object.defineProperty(cls.prototype, key, Object.getOwnPropertyDescriptor(BodyMixin, key));
    }
  }

  // ---- Request -------------------------------------------------------------------
  const kRequest = Symbol('request');
  const NORMALIZED_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];
  const FORBIDDEN_METHODS = ['CONNECT', 'TRACE', 'TRACK'];
  const REDIRECT_MODES = ['follow', 'error', 'manual'];

  // `request`: the Request constructor's parse, which (as the Fetch
  // standard and node) refuses a URL with a user name or password.
  function parseUrl(input, request) {
    const text = String(input);
    if (typeof g.URL === 'function') {
      let url;
      try {
        url = new g.URL(text);
      } catch (e) {
        throw new TypeError(`Failed to parse URL from ${text}`);
      }
      if (request && (url.username !== '' || url.password !== '')) {
        throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${text}`);
      }
      return url.href;
    }
    // Without a URL class the host parses it; catch the obvious here.
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(text)) throw new TypeError(`Failed to parse URL from ${text}`);
    return text;
  }

  function defaultSignal() {
    return typeof g.AbortController === 'function' ? new g.AbortController().signal : null;
  }

  class Request {
    constructor(input, init) {
      if (init === null || init === undefined) init = {};
      else if (typeof init !== 'object') throw new TypeError("Request constructor: 'init' must be an object");
      const source = input instanceof Request ? input : null;
      const s = source ? source[kRequest] : null;
      let method = init.method !== undefined ? String(init.method) : s ? s.method : 'GET';
      if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
      const upper = method.toUpperCase();
      if (FORBIDDEN_METHODS.includes(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
      if (NORMALIZED_METHODS.includes(upper)) method = upper;
      const redirect = init.redirect !== undefined ? String(init.redirect) : s ? s.redirect : 'follow';
      if (!REDIRECT_MODES.includes(redirect)) {
        throw new TypeError(`Request constructor: '${redirect}' is not a valid RequestRedirect value.`);
      }
      const headers = new Headers(init.headers !== undefined ? init.headers : source ? source.headers : undefined);
      let body = null;
      if (init.body !== undefined && init.body !== null) {
        const [extracted, type] = extractBody(init.body);
        body = extracted;
        if (type !== null && !headers.has('content-type')) headers.append('content-type', type);
        if (isReadableStream(init.body) && init.duplex !== 'half') {
          throw new TypeError('RequestInit: duplex option is required when sending a body.');
        }
      } else if (source && init.body === undefined && source[kBody] !== null) {
        const from = source[kBody];
        if (unusable(from)) throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
        // The body moves to the new request; the old one counts as used.
        body = { source: from.source, stream: from.stream, used: false };
        from.used = true;
      }
      if (body !== null && (method === 'GET' || method === 'HEAD')) {
        throw new TypeError('Request with GET/HEAD method cannot have body.');
      }
      const signal = init.signal !== undefined ? init.signal : s ? s.signal : defaultSignal();
      Object.defineProperty(this, kRequest, {
        value: { url: source ? source.url : parseUrl(input, true), method, redirect, headers, signal },
      });
      Object.defineProperty(this, kBody, { value: body });
    }
    get url() { return this[kRequest].url; }
    get method() { return this[kRequest].method; }
    get headers() { return this[kRequest].headers; }
    get redirect() { return this[kRequest].redirect; }
    get signal() { return this[kRequest].signal; }
    get cache() { return 'default'; }
    get credentials() { return 'same-origin'; }
    get destination() { return ''; }
    get integrity() { return ''; }
    get keepalive() { return false; }
    get mode() { return 'cors'; }
    get referrer() { return 'about:client'; }
    get referrerPolicy() { return ''; }
    get duplex() { return 'half'; }
    clone() {
      if (unusable(this[kBody])) throw new TypeError('Request.clone: Body has already been consumed.');
      const copy = new Request(this, { body: null });
      Object.defineProperty(copy, kBody, { value: cloneBody(this[kBody]) });
      return copy;
    }
    get [Symbol.toStringTag]() { return 'Request'; }
  }
  mixBody(Request);

  // ---- Response ------------------------------------------------------------------
  const kResponse = Symbol('response');
  const NULL_BODY_STATUS = [101, 103, 204, 205, 304];
  const REDIRECT_STATUS = [301, 302, 303, 307, 308];

  function makeResponse(state, body) {
    const r = Object.create(Response.prototype);
    Object.defineProperty(r, kResponse, { value: state });
    Object.defineProperty(r, kBody, { value: body });
    return r;
  }

  class Response {
    constructor(body, init) {
      if (body === undefined) body = null;
      if (init === null || init === undefined) init = {};
      else if (typeof init !== 'object') throw new TypeError("Response constructor: 'init' must be an object");
      const status = init.status !== undefined ? Number(init.status) : 200;
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      }
      const statusText = init.statusText !== undefined ? String(init.statusText) : '';
      if (/[^\t\x20-\x7e\x80-\xff]/.test(statusText)) throw new TypeError('Invalid statusText');
      const headers = new Headers(init.headers);
      let extracted = null;
      if (body !== null) {
        if (NULL_BODY_STATUS.includes(status)) throw new TypeError('Response constructor: Invalid response status code ' + status);
        const [b, type] = extractBody(body);
        extracted = b;
        if (type !== null && !headers.has('content-type')) headers.append('content-type', type);
      }
      Object.defineProperty(this, kResponse, {
        value: { type: 'default', url: '', redirected: false, status, statusText, headers },
      });
      Object.defineProperty(this, kBody, { value: extracted });
    }
    static error() {
      const headers = new Headers();
      headers[kGuard] = 'immutable';
      return makeResponse({ type: 'error', url: '', redirected: false, status: 0, statusText: '', headers }, null);
    }
    static redirect(url, status) {
      if (status === undefined) status = 302;
      if (!REDIRECT_STATUS.includes(status)) throw new RangeError(`Invalid status code ${status}`);
      const headers = new Headers({ location: parseUrl(url) });
      headers[kGuard] = 'immutable';
      return makeResponse({ type: 'default', url: '', redirected: false, status, statusText: '', headers }, null);
    }
    static json(data, init) {
      const text = JSONstringify(data);
      if (text === undefined) throw new TypeError('Value is not JSON serializable');
      // As bytes, which imply no content type: application/json is the
      // default, and a content-type in init.headers wins.
      const response = new Response(encoder.encode(text), init);
      if (!response.headers.has('content-type')) response.headers.set('content-type', 'application/json');
      return response;
    }
    get type() { return this[kResponse].type; }
    get url() { return this[kResponse].url; }
    get redirected() { return this[kResponse].redirected; }
    get status() { return this[kResponse].status; }
    get ok() { const s = this[kResponse].status; return s >= 200 && s <= 299; }
    get statusText() { return this[kResponse].statusText; }
    get headers() { return this[kResponse].headers; }
    clone() {
      if (unusable(this[kBody])) throw new TypeError('Response.clone: Body has already been consumed.');
      const st = this[kResponse];
      const headers = new Headers(st.headers);
      headers[kGuard] = st.headers[kGuard];
      return makeResponse({ ...st, headers }, cloneBody(this[kBody]));
    }
    get [Symbol.toStringTag]() { return 'Response'; }
  }
  mixBody(Response);

  // ---- fetch ---------------------------------------------------------------------
  function abortReason(signal) {
    if (signal.reason !== undefined) return signal.reason;
    if (typeof g.DOMException === 'function') return new g.DOMException('This operation was aborted', 'AbortError');
    const e = new Error('This operation was aborted');
    e.name = 'AbortError';
    return e;
  }

  function fromHost(answer, method) {
    const headers = new Headers();
    for (const [n, v] of answer.headers) headers[kList].push([n, v]);
    headers[kGuard] = 'immutable';
    const source = answer.body.text !== undefined ? { text: answer.body.text } : { bytes: fromBase64(answer.body.base64) };
    let body = { source, stream: null, used: false };
    if (method === 'HEAD' || NULL_BODY_STATUS.includes(answer.status)) body = null;
    return makeResponse(
      {
        type: 'basic',
        url: answer.url,
        redirected: answer.redirected,
        status: answer.status,
        statusText: answer.statusText,
        headers,
      },
      body,
    );
  }

  // The Fetch Standard's scheme fetch for "data": status 200 `OK`, the
  // MIME type as content-type, the decoded body; a URL the processor
  // rejects is a network error (node: TypeError "fetch failed").
  function fetchDataUrl(st) {
    const processed = dataUrl(st.url);
    if (processed === null) {
      const e = new TypeError('fetch failed');
      e.cause = new Error('invalid data: URL');
      throw e;
    }
    const headers = new Headers();
    headers[kList].push(['content-type', processed[0]]);
    headers[kGuard] = 'immutable';
    const body = st.method === 'HEAD' ? null : { source: { bytes: new Uint8Array(processed[1]) }, stream: null, used: false };
    const hash = st.url.indexOf('#');
    const url = hash < 0 ? st.url : st.url.slice(0, hash);
    return makeResponse({ type: 'basic', url, redirected: false, status: 200, statusText: 'OK', headers }, body);
  }

  function fetch(input, init) {
    return new Promise((resolve, reject) => {
      const request = new Request(input, init);
      const st = request[kRequest];
      const signal = st.signal;
      if (signal && signal.aborted) throw abortReason(signal);
      if (st.url.startsWith('data:')) {
        resolve(fetchDataUrl(st));
        return;
      }
      const body = request[kBody];
      if (unusable(body)) throw new TypeError('Body is unusable: Body has already been read');
      // A stream body is read whole first (the host takes the request in
      // one piece); any other is sent as it is, at once.
      let source = null;
      if (body !== null && body.stream === null) {
        body.used = true;
        source = body.source;
      }
      const toWire = (src) => ({
        url: st.url,
        method: st.method,
        // Sorted and combined (one line per name, set-cookie apart), as
        // node sends them.
        headers: [...st.headers],
        body: src === null ? null : src.bytes !== undefined ? { base64: toBase64(src.bytes) } : { text: src.text },
        redirect: st.redirect,
      });
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(abortReason(signal));
      };
      const listening = signal && typeof signal.addEventListener === 'function';
      if (listening) signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        settled = true;
        if (listening && typeof signal.removeEventListener === 'function') signal.removeEventListener('abort', onAbort);
      };
      const sent = body !== null && body.stream !== null
        ? readAll(body.stream).then(
          (bytes) => (settled ? new Promise(() => {}) : callAsync('jsbox:net', 'fetch', [toWire({ bytes })])),
          (e) => { if (!settled) { done(); reject(e); } return new Promise(() => {}); })
        : callAsync('jsbox:net', 'fetch', [toWire(source)]);
      sent.then(
        (answer) => {
          if (settled) return;
          done();
          try {
            resolve(fromHost(answer, st.method));
          } catch (e) {
            reject(e);
          }
        },
        (error) => {
          if (settled) return;
          done();
          // node rejects every network failure with a TypeError. The
          // message is the host's, unchanged: the host matches it to hand
          // Rust the typed error when the script does not catch it.
          const e = new TypeError(error && error.message !== undefined ? error.message : String(error));
          e.cause = error;
          reject(e);
        },
      );
    });
  }

  for (const [name, value] of [['fetch', fetch], ['Headers', Headers], ['Request', Request], ['Response', Response]]) {
    Object.defineProperty(g, name, { value, writable: true, enumerable: false, configurable: true });
  }
})
