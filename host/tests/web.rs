//! Web platform globals (guest/src/web): URL, URLSearchParams, atob, btoa,
//! structuredClone, crypto, performance, Event/EventTarget/CustomEvent,
//! AbortController/AbortSignal, DOMException, queueMicrotask, TextEncoder,
//! TextDecoder.
//!
//! Each script runs in jsbox and its result is asserted; when `node` is on
//! PATH the same script also runs in node and the two results must be
//! equal, so the expectations are node's behaviour, not ours. URLPattern,
//! which node 20 lacks, is asserted from the URL Pattern Standard alone.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[path = "support/node.rs"]
mod node;

use jsbox::{CacheDir, Clock, EngineFactory, EngineOptions};
use node::node_eval;
use serde_json::{json, Value};

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-cache"))
}

/// One factory for the comparisons: each check gets a fresh runtime.
static FACTORY: LazyLock<EngineFactory> =
    LazyLock::new(|| EngineFactory::new(EngineOptions::new().cache(cache())).expect("factory"));

fn jsbox_eval(script: &str) -> Value {
    let mut rt = FACTORY.new_runtime().expect("runtime");
    rt.eval(script).unwrap_or_else(|e| panic!("jsbox failed on\n{script}\n{e:?}"))
}

/// Runs `script` in jsbox, asserts `expected`, and asserts node agrees.
fn check(script: &str, expected: Value) {
    let ours = jsbox_eval(script);
    let theirs = node_eval(script);
    assert_eq!(ours, expected, "jsbox result for\n{script}\nnode: {theirs:?}");
    assert_eq!(ours, theirs, "jsbox and node differ on\n{script}");
}

/// Turns a thrown value into [constructor name, name, message, code].
const CATCH: &str = "function caught(f) { try { f(); return 'no error'; } catch (e) { \
    return [e.constructor.name, e.name, e.message, e.code === undefined ? null : e.code]; } }\n";

fn check_caught(body: &str, expected: Value) {
    check(&format!("{CATCH}{body}"), expected);
}

#[test]
fn the_minimum_common_api_globals_exist() {
    // Interfaces are non-enumerable, operations and attributes enumerable
    // (WebIDL), all configurable; node agrees.
    check(
        "['URL','URLSearchParams','atob','btoa','structuredClone','crypto','performance',\
          'Event','EventTarget','CustomEvent','AbortController','AbortSignal','DOMException',\
          'queueMicrotask','TextEncoder','TextDecoder','Crypto'].map((n) => { \
            const d = Object.getOwnPropertyDescriptor(globalThis, n); \
            return [n, typeof globalThis[n], d.enumerable, d.configurable]; })",
        json!([
            ["URL", "function", false, true], ["URLSearchParams", "function", false, true],
            ["atob", "function", true, true], ["btoa", "function", true, true],
            ["structuredClone", "function", true, true], ["crypto", "object", true, true],
            ["performance", "object", true, true], ["Event", "function", false, true],
            ["EventTarget", "function", false, true], ["CustomEvent", "function", false, true],
            ["AbortController", "function", false, true], ["AbortSignal", "function", false, true],
            ["DOMException", "function", false, true], ["queueMicrotask", "function", true, true],
            ["TextEncoder", "function", false, true], ["TextDecoder", "function", false, true],
            ["Crypto", "function", false, true]
        ]),
    );
    // Not in node 20, in WinterTC: checked against expectations only.
    assert_eq!(
        jsbox_eval("[navigator.userAgent, self === globalThis, typeof reportError, (crypto = 1, crypto)]"),
        json!(["jsbox", true, "function", 1])
    );
}

#[test]
fn url_parses_like_node() {
    check(
        r#"const parts = (u) => [u.href, u.origin, u.protocol, u.username, u.password, u.host,
             u.hostname, u.port, u.pathname, u.search, u.hash];
           parts(new URL('HTTPS://user:p%40ss@EXAMPLE.com:443/a/./b/../c?x=1 2#frag ment'))"#,
        json!([
            "https://user:p%40ss@example.com/a/c?x=1%202#frag%20ment",
            "https://example.com", "https:", "user", "p%40ss", "example.com", "example.com", "",
            "/a/c", "?x=1%202", "#frag%20ment"
        ]),
    );
    // Relative resolution against a base.
    check(
        r#"const base = 'http://a/b/c/d;p?q';
           ['g', './g', 'g/', '/g', '//g', '?y', 'g?y', '#s', '..', '../g', '../..', '../../../g',
            'g;x=1/../y', 'http:g', ''].map((r) => new URL(r, base).href)"#,
        json!([
            "http://a/b/c/g", "http://a/b/c/g", "http://a/b/c/g/", "http://a/g", "http://g/",
            "http://a/b/c/d;p?y", "http://a/b/c/g?y", "http://a/b/c/d;p?q#s", "http://a/b/",
            "http://a/b/g", "http://a/", "http://a/g", "http://a/b/c/y", "http://a/b/c/g",
            "http://a/b/c/d;p?q"
        ]),
    );
    // IDNA, IPv4 and IPv6 normalisation, default ports, file and opaque URLs.
    check(
        r#"['http://münchen.de/', 'http://EXAMPLE.ß.com', 'http://0x7f.1/', 'http://192.168.0.257',
            'http://[0:0:0:0:0:0:0:1]:8080/', 'http://[2001:DB8::0:1]', 'ws://h:80/', 'https://h:8443',
            'file:///C:/x/../y', 'mailto:Someone@Example.com', 'data:text/plain,a b',
            'http://h/%7e/ä?ä=ä#ä', 'blob:https://a.com/uuid'
           ].map((s) => { try { return new URL(s).href; } catch (e) { return e.code; } })"#,
        json!([
            "http://xn--mnchen-3ya.de/", "http://example.xn--zca.com/", "http://127.0.0.1/",
            "ERR_INVALID_URL", "http://[::1]:8080/", "http://[2001:db8::1]/", "ws://h/",
            "https://h:8443/", "file:///C:/y", "mailto:Someone@Example.com", "data:text/plain,a b",
            "http://h/%7e/%C3%A4?%C3%A4=%C3%A4#%C3%A4", "blob:https://a.com/uuid"
        ]),
    );
    check(
        "[new URL('blob:https://a.com/uuid').origin, new URL('data:,x').origin, new URL('file:///x').origin]",
        json!(["https://a.com", "null", "null"]),
    );
}

#[test]
fn invalid_urls_throw_node_errors() {
    check_caught(
        "[caught(() => new URL('foo')), caught(() => new URL('http://[::1')), \
          caught(() => new URL('x', 'not a base')), caught(() => new URL()), \
          (() => { try { new URL('/p', 'bad:'); } catch (e) { return [e.input, e.base, String(e)]; } })(), \
          URL.canParse('/p', 'http://h'), URL.canParse('/p'), String(new URL('http://h/p'))]",
        json!([
            ["TypeError", "TypeError", "Invalid URL", "ERR_INVALID_URL"],
            ["TypeError", "TypeError", "Invalid URL", "ERR_INVALID_URL"],
            ["TypeError", "TypeError", "Invalid URL", "ERR_INVALID_URL"],
            ["TypeError", "TypeError", "The \"url\" argument must be specified", "ERR_MISSING_ARGS"],
            ["/p", "bad:", "TypeError: Invalid URL"],
            true, false, "http://h/p"
        ]),
    );
}

#[test]
fn url_setters_follow_the_standard() {
    check(
        r#"const u = new URL('http://h/p?q=1#f');
           const log = [];
           u.protocol = 'https'; log.push(u.href);
           u.protocol = 'mailto'; log.push(u.href);
           u.host = 'example.com:8080'; log.push(u.href);
           u.hostname = 'other'; log.push(u.href);
           u.port = '443'; log.push(u.href);
           u.port = 'abc'; log.push(u.href);
           u.username = 'me'; u.password = 'p w'; log.push(u.href);
           u.pathname = 'a b/c'; log.push(u.href);
           u.search = 'x=1&y=2'; log.push(u.href);
           u.hash = ''; log.push(u.href);
           u.href = 'http://new/'; log.push(u.href);
           try { u.href = 'nope'; } catch (e) { log.push(e.code); }
           log.push(JSON.stringify({ u }));
           log"#,
        json!([
            "https://h/p?q=1#f", "https://h/p?q=1#f", "https://example.com:8080/p?q=1#f",
            "https://other:8080/p?q=1#f", "https://other/p?q=1#f", "https://other/p?q=1#f",
            "https://me:p%20w@other/p?q=1#f", "https://me:p%20w@other/a%20b/c?q=1#f",
            "https://me:p%20w@other/a%20b/c?x=1&y=2#f", "https://me:p%20w@other/a%20b/c?x=1&y=2",
            "http://new/", "ERR_INVALID_URL", "{\"u\":\"http://new/\"}"
        ]),
    );
}

#[test]
fn search_params_parse_serialise_and_stay_live() {
    check(
        r#"const p = new URLSearchParams('?a=1&b=x+y&a=%E2%82%AC&c&=e&%zz=1');
           const out = [[...p], p.get('a'), p.getAll('a'), p.has('c'), p.has('a', '2'), p.get('nope'), p.size];
           p.append('sp ace', 'a+b&c=d~*-._!');
           p.set('a', 'only');
           p.delete('b');
           out.push(p.toString());
           p.sort();
           out.push(p.toString(), [...p.keys()], [...p.values()]);
           out.push(new URLSearchParams({ x: 1, y: [1, 2] }).toString());
           out.push(new URLSearchParams([['k', 'v'], ['k', 'w']]).toString());
           out.push(new URLSearchParams(new Map([['m', 'n']])).toString());
           const each = []; new URLSearchParams('a=1&b=2').forEach((v, k) => each.push(k + v)); out.push(each);
           out"#,
        json!([
            [["a", "1"], ["b", "x y"], ["a", "€"], ["c", ""], ["", "e"], ["%zz", "1"]],
            "1", ["1", "€"], true, false, null, 6,
            "a=only&c=&=e&%25zz=1&sp+ace=a%2Bb%26c%3Dd%7E*-._%21",
            "=e&%25zz=1&a=only&c=&sp+ace=a%2Bb%26c%3Dd%7E*-._%21",
            ["", "%zz", "a", "c", "sp ace"],
            ["e", "1", "only", "", "a+b&c=d~*-._!"],
            "x=1&y=1%2C2", "k=v&k=w", "m=n", ["a1", "b2"]
        ]),
    );
    // Mutating searchParams rewrites the URL's query, and setting the
    // URL's search or href refreshes searchParams.
    check(
        r#"const u = new URL('https://h/p?x=1#frag');
           const sp = u.searchParams;
           const out = [sp === u.searchParams];
           sp.append('y', 'a b'); out.push(u.href);
           sp.delete('x'); sp.delete('y'); out.push(u.href, u.search);
           u.search = '?q=2&r=3'; out.push([...sp]);
           u.href = 'https://h/?z=9'; out.push(sp.get('z'), sp.size);
           sp.sort(); out.push(u.href);
           const o = new URL('sc:opaque  ?q'); o.searchParams.delete('q'); out.push(o.href);
           out"#,
        json!([
            true, "https://h/p?x=1&y=a+b#frag", "https://h/p#frag", "",
            [["q", "2"], ["r", "3"]], "9", 1, "https://h/?z=9", "sc:opaque"
        ]),
    );
}

#[test]
fn atob_and_btoa_match_node() {
    check_caught(
        r#"[btoa('hello'), btoa('\xff\x00a'), btoa(''), btoa(undefined), atob('aGVsbG8='),
            atob(' aG Vs\nbG8 '), atob('YQ'), atob('YR=='), atob(''), atob(null),
            caught(() => atob('Y')), caught(() => atob('YQ=')), caught(() => atob('YQ===')),
            caught(() => atob('a-b_')), caught(() => atob('YQ==YQ==')), caught(() => atob('é')),
            caught(() => btoa('€')), caught(() => atob()),
            (() => { try { atob('!'); } catch (e) { return [e instanceof DOMException, e instanceof Error, e.code]; } })()]"#,
        json!([
            "aGVsbG8=", "/wBh", "", "dW5kZWZpbmVk", "hello", "hello", "a", "a", "", "\u{9e}\u{e9}e",
            ["DOMException", "InvalidCharacterError", "The string to be decoded is not correctly encoded.", 5],
            ["DOMException", "InvalidCharacterError", "Invalid character", 5],
            ["DOMException", "InvalidCharacterError", "Invalid character", 5],
            ["DOMException", "InvalidCharacterError", "Invalid character", 5],
            ["DOMException", "InvalidCharacterError", "Invalid character", 5],
            ["DOMException", "InvalidCharacterError", "Invalid character", 5],
            ["DOMException", "InvalidCharacterError", "Invalid character", 5],
            ["TypeError", "TypeError", "The \"input\" argument must be specified", "ERR_MISSING_ARGS"],
            [true, true, 5]
        ]),
    );
}

#[test]
fn structured_clone_types_cycles_and_shared_references() {
    check(
        r#"const buf = new ArrayBuffer(8);
           new Uint8Array(buf).set([1, 2, 3, 4, 5, 6, 7, 8]);
           const shared = { s: 1 };
           const src = {
             date: new Date(86400000), re: /a+b/gi, map: new Map([[1, 'one'], ['k', shared]]),
             set: new Set([1, shared]), buf, u8: new Uint8Array(buf, 2, 3), f64: new Float64Array([1.5, -0]),
             dv: new DataView(buf, 4), big: 10n, boxed: new String('s'), arr: [1, , 3],
             nested: { deep: { deeper: [shared] } }, undef: undefined, neg0: -0, nan: NaN,
           };
           src.self = src;
           src.arr.extra = 'x';
           const c = structuredClone(src);
           [
             c !== src, c.self === c, c.date instanceof Date, c.date.getTime(), String(c.re), c.re.lastIndex,
             c.map instanceof Map, [...c.map.keys()], c.map.get('k') === c.nested.deep.deeper[0],
             [...c.set][1] === c.nested.deep.deeper[0], c.nested.deep.deeper[0] !== shared,
             c.buf instanceof ArrayBuffer, c.buf !== buf, [...new Uint8Array(c.buf)],
             c.u8.buffer === c.buf, c.u8.byteOffset, [...c.u8], c.dv.buffer === c.buf, c.dv.getUint8(0),
             Array.from(c.f64), Object.is(c.f64[1], -0), typeof c.big, c.big === 10n, typeof c.boxed,
             c.boxed.valueOf(), c.arr.length, 1 in c.arr, c.arr.extra, 'undef' in c, Object.is(c.neg0, -0),
             Number.isNaN(c.nan),
           ]"#,
        json!([
            true, true, true, 86400000, "/a+b/gi", 0, true, [1, "k"], true, true, true, true, true,
            [1, 2, 3, 4, 5, 6, 7, 8], true, 2, [3, 4, 5], true, 5, [1.5, 0], true, "bigint", true,
            "object", "s", 3, false, "x", true, true, true
        ]),
    );
    // Errors keep their standard type, message, stack and cause; other
    // class instances become plain objects.
    check(
        r#"const e = new RangeError('bad', { cause: { why: 1 } }); e.extra = 1;
           const c = structuredClone(e);
           class Foo extends Error { constructor(m) { super(m); this.name = 'Foo'; } }
           const f = structuredClone(new Foo('x'));
           class P { constructor() { this.q = 1; } get g() { return 2; } }
           const p = structuredClone(new P());
           [c instanceof RangeError, c.name, c.message, c.cause, c.extra, c.stack === e.stack,
            f.constructor.name, f.message, Object.getPrototypeOf(p) === Object.prototype, p]"#,
        json!([true, "RangeError", "bad", {"why": 1}, null, true, "Error", "x", true, {"q": 1}]),
    );
    check_caught(
        r#"[caught(() => structuredClone(function foo() {})), caught(() => structuredClone({ s: Symbol('x') })),
            caught(() => structuredClone(new WeakMap())), caught(() => structuredClone(Promise.resolve())),
            caught(() => structuredClone())]"#,
        json!([
            ["DOMException", "DataCloneError", "function foo() {} could not be cloned.", 25],
            ["DOMException", "DataCloneError", "Symbol(x) could not be cloned.", 25],
            ["DOMException", "DataCloneError", "#<WeakMap> could not be cloned.", 25],
            ["DOMException", "DataCloneError", "#<Promise> could not be cloned.", 25],
            ["TypeError", "TypeError", "The value argument must be specified", "ERR_MISSING_ARGS"]
        ]),
    );
    check(
        "const ab = new ArrayBuffer(4); const t = structuredClone({ ab }, { transfer: [ab] }); [ab.byteLength, t.ab.byteLength]",
        json!([0, 4]),
    );
}

#[test]
fn crypto_random_values_and_uuids() {
    check_caught(
        r#"const a = new Uint8Array(64);
           const same = crypto.getRandomValues(a) === a;
           const u = crypto.randomUUID();
           [same, a.some((x) => x !== 0), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u),
            crypto.randomUUID() !== u, crypto.getRandomValues(new BigUint64Array(2)).length,
            caught(() => crypto.getRandomValues(new Float32Array(1))),
            caught(() => crypto.getRandomValues(new DataView(new ArrayBuffer(1)))),
            caught(() => crypto.getRandomValues(new Uint8Array(65537))),
            crypto.getRandomValues(new Uint8Array(65536)).length,
            Object.prototype.toString.call(crypto), crypto instanceof Crypto]"#,
        json!([
            true, true, true, true, 2,
            ["DOMException", "TypeMismatchError", "The data argument must be an integer-type TypedArray", 17],
            ["DOMException", "TypeMismatchError", "The data argument must be an integer-type TypedArray", 17],
            ["DOMException", "QuotaExceededError", "The requested length exceeds 65,536 bytes", 22],
            65536, "[object Crypto]", true
        ]),
    );
}

/// Randomness comes from the host at call time: runtimes spawned from one
/// snapshot (and an init script that, allowed to, drew random values while
/// the snapshot was taken) still get different values.
#[test]
fn randomness_is_not_shared_between_runtimes() {
    let options = EngineOptions::new().cache(cache()).init_script("globalThis.atInit = crypto.randomUUID();");
    // Not allowed by default: the UUID would be the same in every runtime.
    assert!(matches!(EngineFactory::new(options.clone()).unwrap_err(), jsbox::Error::NondeterministicBuild { .. }));
    let factory = EngineFactory::new(options.allow_nondeterministic_build(true)).unwrap();
    let draw = "[crypto.randomUUID(), Array.from(crypto.getRandomValues(new Uint32Array(4))), atInit]";
    let mut a = factory.new_runtime().unwrap();
    let mut b = factory.new_runtime().unwrap();
    let (va, vb) = (a.eval(draw).unwrap(), b.eval(draw).unwrap());
    assert_ne!(va[0], vb[0], "two runtimes drew the same UUID");
    assert_ne!(va[1], vb[1], "two runtimes drew the same random bytes");
    assert_ne!(va[0], va[2], "the UUID drawn at init was replayed");
    // The init script's value is baked into the snapshot, as any init state is.
    assert_eq!(va[2], vb[2]);
}

#[test]
fn performance_clock_is_per_runtime() {
    let now_ms = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0;
    let factory = EngineFactory::new(
        EngineOptions::new()
            .cache(cache())
            .init_script("globalThis.originAtInit = performance.timeOrigin; new Event('x');")
            .allow_nondeterministic_build(true),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let before = now_ms();
    let mut rt = factory.new_runtime().unwrap();
    let v = rt
        .eval("const a = performance.now(); let x = 0; for (let i = 0; i < 1e5; i++) x += i; \
               [a, performance.now(), performance.timeOrigin, originAtInit, new Event('e').timeStamp, \
                typeof performance.toJSON().timeOrigin]")
        .unwrap();
    let after = now_ms();
    let (first, second) = (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
    let (origin, at_init) = (v[2].as_f64().unwrap(), v[3].as_f64().unwrap());
    assert!(first >= 0.0 && second > first, "now() {first} then {second}");
    assert!(v[4].as_f64().unwrap() >= second, "timeStamp {}", v[4]);
    // The origin is this runtime's, not the snapshot's.
    assert!(origin >= before - 1.0 && origin <= after + 1.0, "origin {origin} not in [{before}, {after}]");
    assert!(origin - at_init >= 40.0, "origin {origin} was baked at init ({at_init})");
    assert_eq!(v[5], json!("number"));

    // A frozen clock: the origin is the frozen time and now() stands still.
    let mut frozen =
        jsbox::open(EngineOptions::new().cache(cache()).clock(Clock::Frozen(1_700_000_000_000))).unwrap();
    let v = frozen.eval("[performance.timeOrigin, performance.now(), performance.now()]").unwrap();
    let v: Vec<f64> = v.as_array().unwrap().iter().map(|n| n.as_f64().unwrap()).collect();
    assert_eq!(v, [1_700_000_000_000.0, 0.0, 0.0]);
}

#[test]
fn events_dispatch_like_node() {
    check(
        r#"const t = new EventTarget();
           const log = [];
           const obj = { handleEvent(e) { log.push('obj:' + e.type); } };
           function a(e) { log.push(['a', e.eventPhase, e.target === t, e.currentTarget === t, this === t]); }
           t.addEventListener('x', a);
           t.addEventListener('x', a);
           t.addEventListener('x', obj);
           t.addEventListener('x', () => log.push('once'), { once: true });
           t.addEventListener('x', (e) => { e.preventDefault(); log.push('prevented:' + e.defaultPrevented); });
           const e1 = new Event('x', { cancelable: true });
           log.push(t.dispatchEvent(e1), e1.defaultPrevented, e1.eventPhase, e1.currentTarget, e1.target === t);
           t.removeEventListener('x', obj);
           log.push(t.dispatchEvent(new Event('x')));
           t.addEventListener('y', (e) => { log.push('y1'); e.stopImmediatePropagation(); });
           t.addEventListener('y', () => log.push('y2'));
           t.dispatchEvent(new Event('y'));
           const ce = new CustomEvent('c', { detail: { n: 1 } });
           log.push(ce.detail, ce instanceof Event, new CustomEvent('c').detail,
                    Object.prototype.toString.call(ce), new Event('z').isTrusted, Event.AT_TARGET);
           try { t.dispatchEvent({ type: 'x' }); } catch (e) { log.push(e.code); }
           log"#,
        json!([
            ["a", 2, true, true, true], "obj:x", "once", "prevented:true", false, true, 0, null, true,
            ["a", 2, true, true, true], "prevented:false", true, "y1",
            {"n": 1}, true, null, "[object CustomEvent]", false, 2, "ERR_INVALID_ARG_TYPE"
        ]),
    );
}

#[test]
fn abort_controller_and_signal() {
    check(
        r#"const log = [];
           const c = new AbortController();
           const s = c.signal;
           s.onabort = (e) => log.push(['onabort', e.type, e.isTrusted]);
           s.addEventListener('abort', () => log.push('listener'));
           const t = new EventTarget();
           t.addEventListener('ping', () => log.push('ping'), { signal: s });
           t.dispatchEvent(new Event('ping'));
           log.push(s.aborted, s.reason);
           c.abort();
           c.abort('again');
           t.dispatchEvent(new Event('ping'));
           log.push(s.aborted, s.reason.name, s.reason.message, s.reason.code, s.reason instanceof DOMException);
           try { s.throwIfAborted(); } catch (e) { log.push(e === s.reason); }
           const r = AbortSignal.abort('why');
           log.push(r.aborted, r.reason);
           const c1 = new AbortController(), c2 = new AbortController();
           const any = AbortSignal.any([c1.signal, c2.signal]);
           any.addEventListener('abort', () => log.push('any aborted'));
           c2.abort(new Error('second'));
           c1.abort('first');
           log.push(any.reason.message, AbortSignal.any([r]).reason);
           try { new AbortSignal(); } catch (e) { log.push(e.name); }
           log.push(Object.prototype.toString.call(s), s instanceof EventTarget);
           log"#,
        json!([
            "ping", false, null, ["onabort", "abort", true], "listener", true, "AbortError",
            "This operation was aborted", 20, true, true, true, "why", "any aborted", "second", "why",
            "TypeError", "[object AbortSignal]", true
        ]),
    );
    // AbortSignal.timeout needs timers; it exists either way and says so
    // when the runtime has none.
    let v = jsbox_eval(
        "typeof setTimeout === 'function' ? 'has timers' : \
         (() => { try { AbortSignal.timeout(1); } catch (e) { return [e.name, e.code]; } })()",
    );
    assert!(v == json!("has timers") || v == json!(["NotSupportedError", 9]), "{v}");
}

#[test]
fn dom_exception_matches_node() {
    check(
        r#"const e = new DOMException('msg', 'DataCloneError');
           const d = new DOMException();
           const o = new DOMException('m', { name: 'AbortError', cause: 'c' });
           [e.name, e.message, e.code, e instanceof Error, String(e), Object.prototype.toString.call(e),
            Object.keys(e), typeof e.stack, d.name, d.message, d.code, o.name, o.cause, o.code,
            DOMException.DATA_CLONE_ERR, e.ABORT_ERR, new DOMException('x', 'Custom').code]"#,
        json!([
            "DataCloneError", "msg", 25, true, "DataCloneError: msg", "[object DOMException]", [],
            "string", "Error", "", 0, "AbortError", "c", 20, 25, 20, 0
        ]),
    );
}

#[test]
fn queue_microtask_runs_in_order() {
    check(
        r#"(async () => {
             const log = [];
             queueMicrotask(() => log.push('micro 1'));
             Promise.resolve().then(() => log.push('promise'));
             queueMicrotask(() => log.push('micro 2'));
             log.push('sync');
             await new Promise((r) => queueMicrotask(r));
             await null;
             let err;
             try { queueMicrotask(1); } catch (e) { err = [e.code, e.message]; }
             return [log, err];
           })()"#,
        json!([
            ["sync", "micro 1", "promise", "micro 2"],
            ["ERR_INVALID_ARG_TYPE", "The \"callback\" argument must be of type function. Received type number (1)"]
        ]),
    );
}

#[test]
fn text_encoder_and_decoder_match_node() {
    check_caught(
        r#"const enc = new TextEncoder();
           const dec = new TextDecoder();
           const bytes = enc.encode('h€llo 😀');
           const into = new Uint8Array(5);
           const r1 = enc.encodeInto('a€😀', into);
           const stream = new TextDecoder();
           const euro = [0xe2, 0x82, 0xac];
           const parts = stream.decode(new Uint8Array([0xef, 0xbb]), { stream: true }) +
             stream.decode(new Uint8Array([0xbf, 0x41, euro[0]]), { stream: true }) +
             stream.decode(new Uint8Array([euro[1], euro[2]]));
           [Array.from(bytes), dec.decode(bytes), dec.decode(bytes.buffer), dec.decode(), r1, Array.from(into),
            parts, dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])),
            new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])),
            dec.decode(new Uint8Array([0x61, 0xff, 0xc3, 0x62, 0xe2, 0x82])), Array.from(enc.encode('\ud800x')),
            Array.from(enc.encode(null)), enc.encode().length, dec.encoding, new TextDecoder('UTF8').encoding,
            caught(() => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff]))),
            caught(() => new TextDecoder('klingon')), caught(() => dec.decode('str')),
            new TextDecoder('utf-8', { fatal: true }).fatal]"#,
        json!([
            [104, 226, 130, 172, 108, 108, 111, 32, 240, 159, 152, 128], "h€llo 😀", "h€llo 😀", "",
            {"read": 2, "written": 4}, [97, 226, 130, 172, 0], "A€", "a", "\u{feff}a",
            "a\u{fffd}\u{fffd}b\u{fffd}", [239, 191, 189, 120], [110, 117, 108, 108], 0, "utf-8", "utf-8",
            ["TypeError", "TypeError", "The encoded data was not valid for encoding utf-8", "ERR_ENCODING_INVALID_ENCODED_DATA"],
            ["RangeError", "RangeError", "The \"klingon\" encoding is not supported", "ERR_ENCODING_NOT_SUPPORTED"],
            ["TypeError", "TypeError", "The \"list\" argument must be an instance of SharedArrayBuffer, ArrayBuffer or ArrayBufferView.", "ERR_INVALID_ARG_TYPE"],
            true
        ]),
    );
}

#[test]
fn streams_pipe_transform_and_read_response_bodies_like_node() {
    // A pipeline: a pull source of strings (a surrogate pair split across
    // chunks), TextEncoderStream, a TransformStream uppercasing ASCII bytes,
    // TextDecoderStream, into a WritableStream with a counting strategy;
    // then tee, strategies, errors, and Request/Response bodies as streams.
    // (jsbox's TextEncoderStream has the standard's toStringTag, node 20's
    // has none: not compared.)
    check(
        "(async () => {
           const out = {};
           const globals = ['ReadableStream', 'WritableStream', 'TransformStream', 'ByteLengthQueuingStrategy',
             'CountQueuingStrategy', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
             'ReadableStreamBYOBRequest', 'ReadableByteStreamController', 'ReadableStreamDefaultController',
             'TransformStreamDefaultController', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
             'TextEncoderStream', 'TextDecoderStream'];
           out.globals = globals.map((n) => { const d = Object.getOwnPropertyDescriptor(globalThis, n);
             return [n, typeof globalThis[n], d.enumerable, d.configurable, globalThis[n].name]; });
           const words = ['h\\u00e9llo ', 'str', 'eams \\ud83d', '\\ude00!'];
           let i = 0;
           const source = new ReadableStream({
             pull(c) { if (i < words.length) c.enqueue(words[i++]); else c.close(); },
           }, new CountQueuingStrategy({ highWaterMark: 1 }));
           const upper = new TransformStream({
             transform(chunk, c) { c.enqueue(chunk.map((b) => (b >= 97 && b <= 122 ? b - 32 : b))); },
             flush(c) { c.enqueue(new Uint8Array([46])); },
           });
           const seen = [];
           const sink = new WritableStream({
             write(chunk) { seen.push(chunk); },
             close() { seen.push('<closed>'); },
           }, new CountQueuingStrategy({ highWaterMark: 2 }));
           await source.pipeThrough(new TextEncoderStream()).pipeThrough(upper)
             .pipeThrough(new TextDecoderStream()).pipeTo(sink);
           out.piped = seen.join('');
           const [a, b] = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } }).tee();
           const got = [];
           for await (const v of a) got.push(v);
           const r = b.getReader();
           got.push((await r.read()).value, (await r.read()).value, (await r.read()).done);
           out.tee = got;
           const bl = new ByteLengthQueuingStrategy({ highWaterMark: 16 });
           out.strategy = [bl.highWaterMark, bl.size(new Uint8Array(5)), new CountQueuingStrategy({ highWaterMark: 3 }).size()];
           const errored = new ReadableStream({ start(c) { c.error(new RangeError('boom')); } });
           out.error = await errored.getReader().read().then(() => 'read', (e) => [e.name, e.message]);
           const res = new Response('stream me');
           out.before = [res.bodyUsed, res.body instanceof ReadableStream, res.body === res.body, res.body.locked];
           const reader = res.body.getReader();
           const first = await reader.read();
           out.chunk = [first.value.constructor.name, new TextDecoder().decode(first.value), (await reader.read()).done];
           out.after = [res.bodyUsed, await res.text().then(() => 'read twice', (e) => e.name)];
           const fromStream = new Response(new ReadableStream({ start(c) {
             c.enqueue(new TextEncoder().encode('{\"a\":')); c.enqueue(new TextEncoder().encode('[1,2]}')); c.close(); } }));
           out.fromStream = [fromStream.headers.get('content-type'), fromStream.bodyUsed, await fromStream.json(), fromStream.bodyUsed];
           const cloned = new Response('twice');
           const copy = cloned.clone();
           out.clone = [await cloned.text(), await copy.text(), cloned.bodyUsed, copy.bodyUsed];
           const teed = new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); c.close(); } }));
           const teedCopy = teed.clone();
           out.cloneStream = [await teed.text(), await teedCopy.text()];
           out.bad = await new Response(new ReadableStream({ start(c) { c.enqueue('text'); c.close(); } }))
             .text().then(() => 'accepted', (e) => e.name);
           try { new Request('http://a.example/', { method: 'POST', body: new ReadableStream() }); out.duplex = 'accepted'; }
           catch (e) { out.duplex = e.name; }
           const req = new Request('http://a.example/', { method: 'POST', body: 'req body' });
           out.request = [req.body instanceof ReadableStream, await new Response(req.body).text(), req.bodyUsed];
           out.nullBody = [new Response(null).body, new Request('http://a.example/').body];
           const enc = new TextEncoderStream();
           const dec = new TextDecoderStream('utf-8', { fatal: true });
           out.attrs = [enc.encoding, dec.encoding, dec.fatal, dec.ignoreBOM, Object.prototype.toString.call(new ReadableStream())];
           out.module = [require('node:stream/web').ReadableStream === ReadableStream,
             require('stream/web').TextDecoderStream === TextDecoderStream];
           return out;
         })()",
        json!({
            "module": [true, true],
            "globals": [
                ["ReadableStream", "function", false, true, "ReadableStream"],
                ["WritableStream", "function", false, true, "WritableStream"],
                ["TransformStream", "function", false, true, "TransformStream"],
                ["ByteLengthQueuingStrategy", "function", false, true, "ByteLengthQueuingStrategy"],
                ["CountQueuingStrategy", "function", false, true, "CountQueuingStrategy"],
                ["ReadableStreamDefaultReader", "function", false, true, "ReadableStreamDefaultReader"],
                ["ReadableStreamBYOBReader", "function", false, true, "ReadableStreamBYOBReader"],
                ["ReadableStreamBYOBRequest", "function", false, true, "ReadableStreamBYOBRequest"],
                ["ReadableByteStreamController", "function", false, true, "ReadableByteStreamController"],
                ["ReadableStreamDefaultController", "function", false, true, "ReadableStreamDefaultController"],
                ["TransformStreamDefaultController", "function", false, true, "TransformStreamDefaultController"],
                ["WritableStreamDefaultWriter", "function", false, true, "WritableStreamDefaultWriter"],
                ["WritableStreamDefaultController", "function", false, true, "WritableStreamDefaultController"],
                ["TextEncoderStream", "function", false, true, "TextEncoderStream"],
                ["TextDecoderStream", "function", false, true, "TextDecoderStream"]
            ],
            "piped": "HéLLO STREAMS 😀!.<closed>",
            "tee": [1, 2, 1, 2, true],
            "strategy": [16, 5, 1],
            "error": ["RangeError", "boom"],
            "before": [false, true, true, false],
            "chunk": ["Uint8Array", "stream me", true],
            "after": [true, "TypeError"],
            "fromStream": [null, false, {"a": [1, 2]}, true],
            "clone": ["twice", "twice", true, true],
            "cloneStream": ["hi", "hi"],
            "bad": "TypeError",
            "duplex": "TypeError",
            "request": [true, "req body", true],
            "nullBody": [null, null],
            "attrs": ["utf-8", "utf-8", true, false, "[object ReadableStream]"]
        }),
    );
}

#[test]
fn blob_and_file_match_node() {
    // Not compared, where jsbox follows the File API standard and node 20
    // does not: a fractional lastModified is truncated (WebIDL long long),
    // endings: 'native' turns a lone "\r" into "\n" too, and stream()
    // gives chunks of up to 64 KiB, not one per part.
    check(
        "(async () => {
           const out = {};
           const b = new Blob(['h\\u00e9', new Uint8Array([33, 10]), new Blob(['end'])], { type: 'Text/Plain' });
           out.blob = [b.size, b.type, await b.text(), [...new Uint8Array(await b.arrayBuffer())].length,
             Object.prototype.toString.call(b), b instanceof Blob];
           const s = b.slice(-4, -1, 'X/Y');
           out.slice = [s.size, s.type, await s.text(), b.slice(2).size, b.slice(5, 2).size];
           const chunks = [];
           for await (const c of b.stream()) chunks.push(...c);
           out.stream = new TextDecoder().decode(new Uint8Array(chunks));
           out.badType = new Blob([], { type: 'caf\\u00e9' }).type;
           out.native = await new Blob(['a\\r\\nb\\r\\nc'], { endings: 'native' }).text();
           try { new Blob([], { endings: 'sometimes' }); out.badEndings = 'accepted'; } catch (e) { out.badEndings = e.name; }
           try { new Blob('abc'); out.notSequence = 'accepted'; } catch (e) { out.notSequence = e.name; }
           const f = new File(['x'], 'a.txt', { type: 'text/plain', lastModified: 42 });
           out.file = [f.name, f.lastModified, f.size, f.type, f instanceof Blob, f instanceof File,
             Object.prototype.toString.call(f), typeof new File([], 'n').lastModified];
           try { new File(['x']); out.fileArgs = 'accepted'; } catch (e) { out.fileArgs = e.name; }
           const r = new Response(new Blob(['{\"k\":1}'], { type: 'application/json' }));
           out.response = [r.headers.get('content-type'), await r.json()];
           const fromResponse = await new Response('body text', { headers: { 'content-type': 'text/x' } }).blob();
           out.fromResponse = [fromResponse.constructor.name, fromResponse.type, await fromResponse.text()];
           const q = new Request('http://a.example/', { method: 'PUT', body: new Blob(['q']) });
           out.request = [q.headers.get('content-type'), await q.text()];
           return out;
         })()",
        json!({
            "blob": [8, "text/plain", "hé!\nend", 8, "[object Blob]", true],
            "slice": [3, "x/y", "\nen", 6, 0],
            "stream": "hé!\nend",
            "badType": "",
            "native": "a\nb\nc",
            "badEndings": "TypeError",
            "notSequence": "TypeError",
            "file": ["a.txt", 42, 1, "text/plain", true, true, "[object File]", "number"],
            "fileArgs": "TypeError",
            "response": ["application/json", {"k": 1}],
            "fromResponse": ["Blob", "text/x", "body text"],
            "request": [null, "q"]
        }),
    );
}

// URLPattern: node 20 has none (node 23.8+ does), so these assert the URL
// Pattern Standard's answers directly, in jsbox only.

#[test]
fn url_pattern_matches_and_captures_groups() {
    let got = jsbox_eval(
        r#"const p = new URLPattern({ pathname: '/books/:id(\\d+)/:rest*' });
           const r = p.exec('https://example.com/books/42/a/b?x#y');
           [p.test('https://example.com/books/42'), p.test('https://example.com/books/x'),
            r.pathname, r.search, r.hash, r.inputs, r.protocol.groups,
            p.exec('https://example.com/books/7').pathname.groups]"#,
    );
    assert_eq!(
        got,
        json!([
            true, false,
            {"input": "/books/42/a/b", "groups": {"id": "42", "rest": "a/b"}},
            {"input": "x", "groups": {"0": "x"}},
            {"input": "y", "groups": {"0": "y"}},
            ["https://example.com/books/42/a/b?x#y"],
            {"0": "https"},
            // An optional group that did not take part is undefined (JSON drops it).
            {"id": "7"},
        ])
    );
    // undefined, not an empty string, for the group that did not match.
    assert_eq!(
        jsbox_eval("const g = new URLPattern({ pathname: '/a/:x?' }).exec({ pathname: '/a' }).pathname.groups; ['x' in g, g.x === undefined]"),
        json!([true, true])
    );
}

#[test]
fn url_pattern_constructor_strings_base_urls_and_components() {
    let got = jsbox_eval(
        r#"const c = (p) => [p.protocol, p.username, p.password, p.hostname, p.port, p.pathname, p.search, p.hash];
           [c(new URLPattern('https://:sub.example.com/*')),
            // A relative constructor string takes the base URL's components.
            c(new URLPattern('/api/:v', 'https://example.com:8080/x?q#h')),
            // A default port is dropped; the hostname is canonicalized.
            c(new URLPattern({ protocol: 'https', hostname: 'EXAMPLE.com', port: '443' })),
            new URLPattern({ pathname: '/:a' }).hasRegExpGroups,
            new URLPattern({ pathname: '/(a|b)' }).hasRegExpGroups,
            new URLPattern('/x', 'https://h.test').test('/x', 'https://h.test/y'),
            Object.prototype.toString.call(new URLPattern({}))]"#,
    );
    assert_eq!(
        got,
        json!([
            ["https", "*", "*", ":sub.example.com", "", "/*", "*", "*"],
            ["https", "*", "*", "example.com", "8080", "/api/:v", "*", "*"],
            ["https", "*", "*", "example.com", "", "*", "*", "*"],
            false, true, true, "[object URLPattern]",
        ])
    );
}

#[test]
fn url_pattern_regexp_groups_are_ecmascript() {
    // Lookahead, lookbehind and \p{…}: ECMAScript syntax the regex crate
    // lacks; QuickJS's RegExp runs them. (The standard forbids a group
    // that starts with `?` and capturing groups inside a group.)
    let got = jsbox_eval(
        r#"[new URLPattern({ pathname: '/:v(x(?<=x)\\d(?!0)\\d)' }).test({ pathname: '/x11' }),
            new URLPattern({ pathname: '/:v(x(?<=x)\\d(?!0)\\d)' }).test({ pathname: '/x10' }),
            new URLPattern({ pathname: '/:name(\\p{Lu}+)' }).exec({ pathname: '/AB' }).pathname.groups,
            new URLPattern({ pathname: '/:name(\\p{Lu}+)' }).test({ pathname: '/ab' }),
            // A group of a component after a non-ASCII one (percent-encoded).
            new URLPattern({ pathname: '/:a/:b(\\d+)' }).exec({ pathname: '/é/12' }).pathname.groups]"#,
    );
    assert_eq!(got, json!([true, false, {"name": "AB"}, false, {"a": "%C3%A9", "b": "12"}]));
}

#[test]
fn url_pattern_ignore_case_and_bad_input() {
    let got = jsbox_eval(&format!(
        "{CATCH}{}",
        r#"[new URLPattern({ pathname: '/Foo/:x' }, { ignoreCase: true }).test({ pathname: '/fOO/1' }),
            new URLPattern({ pathname: '/Foo/:x' }).test({ pathname: '/fOO/1' }),
            new URLPattern('/a', 'https://h', { ignoreCase: true }).test('https://h/A'),
            // Input that is not a URL does not match (no throw).
            new URLPattern({}).exec('not a url'),
            caught(() => new URLPattern('/relative-without-base')).slice(0, 2),
            caught(() => new URLPattern({ pathname: '/(' })).slice(0, 2),
            caught(() => new URLPattern({ pathname: '/:x([)' })).slice(0, 2),
            caught(() => new URLPattern({}, 'https://h')).slice(0, 2),
            caught(() => new URLPattern({}).test({}, 'https://h')).slice(0, 2)]"#
    ));
    assert_eq!(
        got,
        json!([
            true, false, true, null,
            ["TypeError", "TypeError"], ["TypeError", "TypeError"], ["TypeError", "TypeError"],
            ["TypeError", "TypeError"], ["TypeError", "TypeError"],
        ])
    );
}

#[test]
fn url_pattern_is_compiled_on_first_read() {
    // An accessor in the snapshot until a script reads it; then a plain,
    // replaceable data property (like node's globals).
    assert_eq!(
        jsbox_eval(
            "const before = Object.getOwnPropertyDescriptor(globalThis, 'URLPattern'); \
             const p = new URLPattern({ pathname: '/x' }); \
             const after = Object.getOwnPropertyDescriptor(globalThis, 'URLPattern'); \
             URLPattern = 1; \
             [typeof before.get, before.enumerable, typeof after.value, after.writable, after.enumerable, \
              p.pathname, globalThis.URLPattern]"
        ),
        json!(["function", false, "function", true, false, "/x", 1])
    );
}
