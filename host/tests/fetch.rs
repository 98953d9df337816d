//! `fetch` against a real HTTP server the test starts on 127.0.0.1: JSON,
//! POST bodies and headers, 404, redirects to granted and ungranted ports,
//! the deadline, the body cap, denials (typed in Rust, `TypeError` in JS),
//! AbortSignal, FormData bodies, and the guest's Headers/Request/Response
//! semantics.

#[path = "common/http_server.rs"]
mod http_server;
#[path = "support/node.rs"]
mod node;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use http_server::Server;
use jsbox::{CacheDir, EngineFactory, EngineOptions, Error, Limits, Runtime};
use serde_json::{json, Value};

fn base() -> EngineOptions {
    EngineOptions::new()
        .cache(CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache")))
        .max_runtimes(8)
}

fn runtime(options: EngineOptions) -> Runtime {
    EngineFactory::new(options).unwrap().new_runtime().unwrap()
}

fn granted(server: &Server) -> Runtime {
    runtime(base().allow_net(server.grant()))
}

/// Evaluates `body` as an async function of `base` (the server's URL).
fn run(rt: &mut Runtime, base: &str, body: &str) -> Result<Value, Error> {
    rt.eval(&format!("(async (base) => {{ {body} }})({})", json!(base)))
}

#[test]
fn get_json() {
    let server = Server::start();
    let mut rt = granted(&server);
    let v = run(
        &mut rt,
        &server.base(),
        "const r = await fetch(base + '/json');
         return { status: r.status, ok: r.ok, statusText: r.statusText, url: r.url, redirected: r.redirected,
                  type: r.type, ct: r.headers.get('Content-Type'), cookies: r.headers.getSetCookie(),
                  served: r.headers.get('x-served-by'), body: await r.json(), used: r.bodyUsed };",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({
            "status": 200, "ok": true, "statusText": "OK", "url": format!("{}/json", server.base()),
            "redirected": false, "type": "basic", "ct": "application/json",
            "cookies": ["a=1; Path=/", "b=2; Path=/"], "served": "jsbox-test",
            "body": {"hello": "world", "n": 42}, "used": true,
        })
    );
    // The body is read once.
    let again = run(&mut rt, &server.base(), "const r = await fetch(base + '/json'); await r.text(); try { await r.text(); return 'no'; } catch (e) { return e.constructor.name + ': ' + e.message; }").unwrap();
    assert_eq!(again, json!("TypeError: Body is unusable: Body has already been read"));
}

#[test]
fn post_with_headers_and_bodies() {
    let server = Server::start();
    let mut rt = granted(&server);
    let v = run(
        &mut rt,
        &server.base(),
        "const r = await fetch(base + '/echo', { method: 'post', headers: { 'X-Custom': 'yes', 'Content-Type': 'application/json' },
                                                 body: JSON.stringify({ a: 1 }) });
         return await r.json();",
    )
    .unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["body"], r#"{"a":1}"#);
    assert_eq!(v["headers"]["x-custom"], "yes");
    assert_eq!(v["headers"]["content-type"], "application/json");
    assert_eq!(v["headers"]["content-length"], "7");

    // Binary bodies, a text body's default content type, a Request object,
    // and a custom method.
    let v = run(
        &mut rt,
        &server.base(),
        "const bin = await (await fetch(base + '/echo', { method: 'PUT', body: new Uint8Array([104, 105, 0, 255]) })).json();
         const txt = await (await fetch(new Request(base + '/echo', { method: 'POST', body: 'plain' }))).json();
         const view = await (await fetch(base + '/echo', { method: 'PATCH', body: new Uint8Array([1, 2, 3, 4]).subarray(1, 3).buffer.slice(1, 3) })).json();
         return { bin: [bin.method, bin.bodyBytes, bin.headers['content-type'] || null],
                  txt: [txt.method, txt.body, txt.headers['content-type']],
                  view: [view.method, view.bodyBytes] };",
    )
    .unwrap();
    assert_eq!(v["bin"], json!(["PUT", 4, null]));
    assert_eq!(v["txt"], json!(["POST", "plain", "text/plain;charset=UTF-8"]));
    assert_eq!(v["view"], json!(["PATCH", 2]));

    // GET with a body is a TypeError before anything is sent.
    let hits = server.hits();
    let e = run(&mut rt, &server.base(), "try { await fetch(base + '/echo', { body: 'x' }); } catch (e) { return [e.name, e.message]; }").unwrap();
    assert_eq!(e, json!(["TypeError", "Request with GET/HEAD method cannot have body."]));
    assert_eq!(server.hits(), hits);
}

#[test]
fn not_found_is_a_response_not_an_error() {
    let server = Server::start();
    let mut rt = granted(&server);
    let v = run(
        &mut rt,
        &server.base(),
        "const r = await fetch(base + '/missing');
         const s = await fetch(base + '/status?code=418&text=Short%20and%20stout');
         return [r.status, r.ok, r.statusText, await r.text(), s.status, s.statusText];",
    )
    .unwrap();
    assert_eq!(v, json!([404, false, "Not Found", "not here", 418, "Short and stout"]));
}

#[test]
fn redirects_follow_granted_hosts_only() {
    let server = Server::start();
    let other = Server::start();
    let ungranted = Server::start();
    let mut rt = runtime(base().allow_net(server.grant()).allow_net(other.grant()));

    // Same server, then to the second granted server; 303 turns POST into GET.
    let to_other = format!("{}/echo", other.base());
    let v = run(
        &mut rt,
        &server.base(),
        &format!(
            "const a = await fetch(base + '/redirect?to=/json');
             const b = await fetch(base + '/redirect?status=303&to=' + encodeURIComponent({to_other}), {{ method: 'POST', body: 'gone', headers: {{ authorization: 'secret' }} }});
             const bj = await b.json();
             return [a.status, a.redirected, a.url, (await a.json()).hello, b.redirected, b.url, bj.method, bj.body, bj.headers.authorization || null];",
            to_other = json!(to_other)
        ),
    )
    .unwrap();
    assert_eq!(
        v,
        json!([200, true, format!("{}/json", server.base()), "world", true, to_other, "GET", "", null])
    );
    assert_eq!(other.hits(), 1);

    // To an ungranted port: denied before it is contacted.
    let target = format!("{}/json", ungranted.base());
    let script = format!("return (await fetch(base + '/redirect?to=' + encodeURIComponent({})));", json!(target));
    match run(&mut rt, &server.base(), &script) {
        Err(Error::NotGranted { grant: "net", wanted, detail }) => {
            assert_eq!(wanted, ungranted.grant());
            assert!(detail.contains("a redirect from"), "{detail}");
        }
        other => panic!("expected Error::NotGranted, got {other:?}"),
    }
    let caught = run(
        &mut rt,
        &server.base(),
        &format!(
            "try {{ await fetch(base + '/redirect?to=' + encodeURIComponent({})); return 'fetched'; }} catch (e) {{ return [e instanceof TypeError, e.message.includes('not granted')]; }}",
            json!(target)
        ),
    )
    .unwrap();
    assert_eq!(caught, json!([true, true]));
    assert_eq!(ungranted.hits(), 0, "the ungranted server was never contacted");

    // redirect: 'manual' hands back the 3xx; 'error' rejects.
    let v = run(
        &mut rt,
        &server.base(),
        "const m = await fetch(base + '/redirect?to=/json', { redirect: 'manual' });
         let e = null; try { await fetch(base + '/redirect?to=/json', { redirect: 'error' }); } catch (x) { e = x.name; }
         return [m.status, m.redirected, m.headers.get('location'), e];",
    )
    .unwrap();
    assert_eq!(v, json!([302, false, "/json", "TypeError"]));
}

#[test]
fn too_many_redirects_is_an_error() {
    let server = Server::start();
    let mut rt = runtime(base().allow_net(server.grant()).net_max_redirects(2));
    let e = run(&mut rt, &server.base(), "return await fetch(base + '/redirect?to=' + encodeURIComponent('/redirect?to=' + encodeURIComponent('/redirect?to=/json')));").unwrap_err();
    match e {
        Error::Host { message, .. } => assert!(message.contains("more than 2 redirects"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_slow_response_hits_the_deadline() {
    let server = Server::start();
    let limits = Limits { timeout: Some(Duration::from_millis(300)), ..Limits::default() };
    let mut rt = runtime(base().allow_net(server.grant()).limits(limits));
    let started = Instant::now();
    let e = run(&mut rt, &server.base(), "return await (await fetch(base + '/slow?ms=5000')).text();").unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[test]
fn an_oversized_body_is_too_large() {
    let server = Server::start();
    let mut rt = runtime(base().allow_net(server.grant()).net_max_response_bytes(1000));
    for path in ["/big?bytes=5000", "/chunked?bytes=50000"] {
        match run(&mut rt, &server.base(), &format!("return (await fetch(base + '{path}')).status;")) {
            Err(Error::TooLarge { what, limit, size }) => {
                assert_eq!((what, limit), ("fetch response body", 1000), "{path}");
                assert!(size > 1000, "{path}: {size}");
            }
            other => panic!("{path}: expected TooLarge, got {other:?}"),
        }
    }
    let ok = run(&mut rt, &server.base(), "return (await (await fetch(base + '/big?bytes=1000')).text()).length;").unwrap();
    assert_eq!(ok, json!(1000));
    let caught = run(&mut rt, &server.base(), "try { await fetch(base + '/big?bytes=1001'); } catch (e) { return [e.name, e.message]; }").unwrap();
    assert_eq!(caught, json!(["TypeError", "fetch response body is 1001 bytes, over the limit of 1000"]));
}

#[test]
fn ungranted_hosts_are_denied() {
    let server = Server::start();
    let other = Server::start();
    let mut rt = granted(&server);
    match run(&mut rt, &other.base(), "return await fetch(base + '/json');") {
        Err(e @ Error::NotGranted { grant: "net", .. }) => {
            let m = e.to_string();
            assert!(m.ends_with(&format!("net: {} is not granted (net grant: {})", other.grant(), server.grant())), "{m}")
        }
        other => panic!("expected Error::NotGranted, got {other:?}"),
    }
    for url in ["http://localhost:1/", "http://127.0.0.2/", "http://[::1]:8080/", "https://example.com/"] {
        let v = rt
            .eval(&format!("fetch({}).then(() => 'fetched', (e) => [e instanceof TypeError, e.message])", json!(url)))
            .unwrap();
        assert_eq!(v[0], json!(true), "{url}: {v}");
        assert!(v[1].as_str().unwrap().contains("is not granted"), "{url}: {v}");
    }
    assert_eq!(other.hits(), 0);

    // Not http(s), and a URL that does not parse.
    let v = rt.eval("Promise.all(['file:///etc/passwd', 'nope'].map((u) => fetch(u).then(() => 'fetched', (e) => [e.name, e.message])))").unwrap();
    assert_eq!(v[0][0], "TypeError");
    assert!(v[0][1].as_str().unwrap().contains("not supported"), "{v}");
    assert_eq!(v[1], json!(["TypeError", "Failed to parse URL from nope"]));
}

#[test]
fn without_a_grant_every_fetch_is_denied() {
    let server = Server::start();
    let mut rt = runtime(base());
    match run(&mut rt, &server.base(), "return await fetch(base + '/json');") {
        Err(Error::NotGranted { grant: "net", wanted, detail }) => {
            assert_eq!((wanted, detail.as_str()), (server.grant(), "net grant: none"))
        }
        other => panic!("expected Error::NotGranted, got {other:?}"),
    }
    let v = run(&mut rt, &server.base(), "try { await fetch(base + '/json'); } catch (e) { return e.name; }").unwrap();
    assert_eq!(v, json!("TypeError"));
    assert_eq!(server.hits(), 0);
    // The globals exist either way.
    assert_eq!(rt.eval("[typeof fetch, typeof Headers, typeof Request, typeof Response]").unwrap(), json!(["function", "function", "function", "function"]));
}

#[test]
fn localhost_grant_reaches_loopback_by_name() {
    let server = Server::start();
    let mut rt = runtime(base().allow_net(format!("localhost:{}", server.port)));
    let v = run(&mut rt, &format!("http://LOCALHOST:{}", server.port), "return (await fetch(base + '/json')).status;").unwrap();
    assert_eq!(v, json!(200));
    // `localhost` does not grant 127.0.0.1 (grants are exact).
    assert!(matches!(run(&mut rt, &server.base(), "return await fetch(base + '/json');"), Err(Error::NotGranted { grant: "net", .. })));
}

/// A hostname grant reaches public addresses only: a name that the system
/// resolver maps to loopback (from /etc/hosts) is refused. Skipped when
/// /etc/hosts names no such host besides `localhost`.
#[test]
fn a_hostname_grant_does_not_reach_loopback() {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let name = hosts.lines().filter(|l| l.trim_start().starts_with("127.")).flat_map(|l| l.split_whitespace().skip(1)).find(|n| {
        !n.starts_with('#') && *n != "localhost" && !n.starts_with("localhost.") && n.contains(|c: char| c.is_ascii_alphabetic())
    });
    let Some(name) = name else {
        eprintln!("skipped: /etc/hosts has no loopback name besides localhost");
        return;
    };
    let server = Server::start();
    let mut rt = runtime(base().allow_net(format!("{name}:{}", server.port)));
    match run(&mut rt, &format!("http://{name}:{}", server.port), "return await fetch(base + '/json');") {
        Err(Error::Denied(m)) => assert!(m.contains("non-public"), "{m}"),
        other => panic!("expected Error::Denied for {name}, got {other:?}"),
    }
    assert_eq!(server.hits(), 0);
}

#[test]
fn abort_signal() {
    let server = Server::start();
    let mut rt = granted(&server);
    // A duck-typed signal (AbortController may or may not be built in).
    let v = run(
        &mut rt,
        &server.base(),
        "const pre = await fetch(base + '/json', { signal: { aborted: true, reason: 'stopped early' } }).catch((e) => e);
         let listener = null;
         const signal = { aborted: false, reason: undefined, addEventListener(t, f) { if (t === 'abort') listener = f; }, removeEventListener() {} };
         const pending = fetch(base + '/json', { signal });
         signal.aborted = true; signal.reason = undefined; listener();
         const during = await pending.catch((e) => [e.name, e.message]);
         return [pre, during];",
    )
    .unwrap();
    assert_eq!(v, json!(["stopped early", ["AbortError", "This operation was aborted"]]));
    let v = run(
        &mut rt,
        &server.base(),
        "if (typeof AbortController !== 'function') return 'no AbortController';
         const c = new AbortController();
         const p = fetch(base + '/slow?ms=50', { signal: c.signal });
         c.abort();
         return await p.then(() => 'fetched', (e) => e.name);",
    )
    .unwrap();
    assert!(v == json!("AbortError") || v == json!("no AbortController"), "{v}");
}

#[test]
fn binary_and_text_bodies() {
    let server = Server::start();
    let mut rt = granted(&server);
    let v = run(
        &mut rt,
        &server.base(),
        "const buf = await (await fetch(base + '/binary')).arrayBuffer();
         const bytes = new Uint8Array(buf);
         const text = await (await fetch(base + '/binary')).text();
         const fromText = new Uint8Array(await (await fetch(base + '/json')).arrayBuffer());
         return [buf.byteLength, bytes[0], bytes[255], text.length, text.charCodeAt(200), fromText.length, fromText[0]];",
    )
    .unwrap();
    // Bytes 128..=255 are not UTF-8 on their own: each decodes to U+FFFD.
    assert_eq!(v, json!([256, 0, 255, 256, 0xfffd, 24, b'{']));
}

#[test]
fn headers_request_response_semantics() {
    let mut rt = runtime(base());
    let v = rt
        .eval(
            "const h = new Headers([['B', '2'], ['a', ' 1 ']]);
             h.append('b', '3'); h.append('Set-Cookie', 'x=1'); h.append('set-cookie', 'y=2');
             const out = { entries: [...h], get: h.get('B'), has: h.has('A'), cookies: h.getSetCookie() };
             h.set('b', 'only'); h.delete('A');
             out.after = [...h.keys()].join(',') + '|' + h.get('b');
             try { h.append('bad name', 'x'); } catch (e) { out.badName = e.name; }
             try { new Headers({ a: 'x\\ny' }); } catch (e) { out.badValue = e.name; }
             out.fromRecord = [...new Headers({ 'X-A': 'a' }).entries()];
             const r = Response.json({ ok: 1 }, { status: 201, headers: { 'x-y': 'z' } });
             out.response = [r.status, r.ok, r.statusText, r.headers.get('content-type'), r.headers.get('x-y'), r.type, r.url, r.redirected];
             out.notOk = new Response('x', { status: 500 }).ok;
             out.redirect = [Response.redirect('http://a.example/x', 301).status, Response.redirect('http://a.example/x').headers.get('location')];
             out.error = [Response.error().type, Response.error().status];
             try { new Response('x', { status: 99 }); } catch (e) { out.badStatus = e.name; }
             try { new Response('x', { status: 204 }); } catch (e) { out.nullBody = e.name; }
             const q = new Request('http://a.example/p', { method: 'delete', headers: { 'x-k': 'v' } });
             out.request = [q.method, q.url, q.headers.get('X-K'), q.redirect, q.bodyUsed, new Request(q).method, q.clone().url];
             out.patch = new Request('http://a.example/', { method: 'patch' }).method;
             try { new Request('http://a.example/', { method: 'CONNECT' }); } catch (e) { out.connect = e.name; }
             try { new Request('http://a.example/', { redirect: 'sometimes' }); } catch (e) { out.mode = e.name; }
             out.tags = [Object.prototype.toString.call(h), Object.prototype.toString.call(r), Object.prototype.toString.call(q)];
             Promise.all([new Response('{\"a\":[1]}').json(), new Response(new Uint8Array([104, 105])).text(), new Response('\\ufeffbom').text(),
                          new Response().text(), r.clone().json()])
               .then((bodies) => { out.bodies = bodies; return out; });",
        )
        .unwrap();
    assert_eq!(
        v,
        json!({
            "entries": [["a", "1"], ["b", "2, 3"], ["set-cookie", "x=1"], ["set-cookie", "y=2"]],
            "get": "2, 3", "has": true, "cookies": ["x=1", "y=2"],
            "after": "b,set-cookie,set-cookie|only",
            "badName": "TypeError", "badValue": "TypeError",
            "fromRecord": [["x-a", "a"]],
            "response": [201, true, "", "application/json", "z", "default", "", false],
            "notOk": false,
            "redirect": [301, "http://a.example/x"],
            "error": ["error", 0],
            "badStatus": "RangeError", "nullBody": "TypeError",
            "request": ["DELETE", "http://a.example/p", "v", "follow", false, "DELETE", "http://a.example/p"],
            "patch": "patch",
            "connect": "TypeError", "mode": "TypeError",
            "tags": ["[object Headers]", "[object Response]", "[object Request]"],
            "bodies": [{"a": [1]}, "hi", "bom", "", {"ok": 1}],
        })
    );
    // Response headers from the network are immutable.
    let server = Server::start();
    let mut rt = granted(&server);
    let v = run(&mut rt, &server.base(), "const r = await fetch(base + '/json'); try { r.headers.set('a', 'b'); return 'mutable'; } catch (e) { return [e.name, e.message]; }").unwrap();
    assert_eq!(v, json!(["TypeError", "immutable"]));
}

#[test]
fn bad_grants_fail_the_build() {
    for grant in ["http://example.com", "example.com/path", "host:0", "[::1", ""] {
        match EngineFactory::new(base().allow_net(grant)) {
            Err(Error::InvalidOptions { option, reason }) => assert!(option == "allow_net" && reason.contains(grant), "{reason}"),
            other => panic!("{grant:?}: expected InvalidOptions, got {:?}", other.map(|_| ())),
        }
    }
}

/// The same script under node 20's own `fetch` and under jsbox, against the
/// same server: the JS-visible results must match.
#[test]
fn node_gives_the_same_results() {
    const SCRIPT: &str = r#"
        const out = {};
        const pick = (r) => ({ status: r.status, ok: r.ok, statusText: r.statusText, url: r.url,
                               redirected: r.redirected, type: r.type,
                               headers: [...r.headers].filter(([n]) => n !== 'date' && n !== 'keep-alive' && n !== 'connection') });
        const j = await fetch(base + '/json');
        out.json = { ...pick(j), body: await j.json(), used: j.bodyUsed, cookies: j.headers.getSetCookie() };
        const e = await fetch(new Request(base + '/echo', { method: 'post', headers: [['X-One', '1'], ['x-one', '2']], body: 'payload' }));
        const echoed = await e.json();
        out.echo = { method: echoed.method, body: echoed.body, one: echoed.headers['x-one'], type: echoed.headers['content-type'] };
        const m = await fetch(base + '/missing');
        out.missing = { ...pick(m), text: await m.text() };
        const r = await fetch(base + '/redirect?to=/json');
        out.redirect = pick(r);
        const manual = await fetch(base + '/redirect?status=307&to=/json', { redirect: 'manual' });
        out.manual = { status: manual.status, location: manual.headers.get('location'), redirected: manual.redirected };
        out.redirectError = await fetch(base + '/redirect?to=/json', { redirect: 'error' }).then(() => 'fetched', (x) => x.name);
        const bin = new Uint8Array(await (await fetch(base + '/binary')).arrayBuffer());
        out.binary = [bin.length, bin[0], bin[127], bin[255]];
        const s = await fetch(base + '/status?code=418&text=Short%20and%20stout');
        out.status = [s.status, s.statusText, s.ok];
        const c = new AbortController();
        const pending = fetch(base + '/slow?ms=200', { signal: c.signal });
        c.abort();
        out.abort = await pending.then(() => 'fetched', (x) => [x.name, x.message]);
        out.reused = await j.text().then(() => 'read twice', (x) => [x.name, x.message]);
        const h = new Headers({ B: '2', a: '1' }); h.append('b', '3');
        out.headers = [...h];
        const rj = Response.json({ x: 1 }, { status: 202 });
        out.responseJson = [rj.status, rj.headers.get('content-type'), await rj.text()];
        // Bodies as streams: a fetched body read through its reader, and a
        // request body given as a ReadableStream.
        const sb = await fetch(base + '/json');
        const reader = sb.body.getReader();
        const parts = [];
        for (;;) { const { done, value } = await reader.read(); if (done) break; parts.push(new TextDecoder().decode(value)); }
        out.streamed = [JSON.parse(parts.join('')), sb.bodyUsed, await sb.text().then(() => 'read twice', (x) => x.name)];
        const piped = await fetch(base + '/echo', { method: 'POST', duplex: 'half', body: new ReadableStream({
          start(c) { c.enqueue(new TextEncoder().encode('streamed ')); c.enqueue(new TextEncoder().encode('body')); c.close(); } }) });
        out.streamedRequest = (await piped.json()).body;
        return out;
    "#;
    let server = Server::start();
    let node_program = format!(
        "const base = process.argv[1]; (async () => {{ {SCRIPT} }})().then((v) => console.log(JSON.stringify(v)), (e) => {{ console.error(e); process.exit(1); }});"
    );
    let node = node::node_command().args(["-e", &node_program, &server.base()]).output().expect("node ran");
    assert!(node.status.success(), "node failed: {}", String::from_utf8_lossy(&node.stderr));
    let from_node: Value = serde_json::from_slice(&node.stdout).unwrap();
    let mut rt = granted(&server);
    let from_jsbox = run(&mut rt, &server.base(), SCRIPT).unwrap();
    assert_eq!(from_jsbox, from_node);
}

/// A FormData body as the server receives it: multipart/form-data with the
/// content type naming the boundary and a content-length that counts the
/// body; the same in node (the boundary replaced by "B", its length taken
/// out of the count: node's is 2 characters longer). The echoed body,
/// parsed back with formData(), gives the entries again.
#[test]
fn form_data_bodies_reach_the_server_as_multipart() {
    const SCRIPT: &str = r#"
        const fd = new FormData();
        fd.append('name', 'J\u00f6rg\nline');
        fd.append('file', new File(['file body\r\n'], 'a "q".txt', { type: 'text/plain' }));
        fd.append('blob', new Blob(['{}'], { type: 'application/json' }));
        const echoed = await (await fetch(base + '/echo', { method: 'POST', body: fd })).json();
        const type = echoed.headers['content-type'];
        const boundary = type.slice(type.indexOf('boundary=') + 9);
        const parts = echoed.body.split(boundary);
        const back = await new Response(echoed.body, { headers: { 'content-type': type } }).formData();
        return {
          type: type.replace(boundary, 'B'),
          body: parts.join('B'),
          lengthWithoutBoundaries: Number(echoed.headers['content-length']) - (parts.length - 1) * boundary.length,
          boundary: /^-{4}formdata-[a-z]+-\d{11,12}$/.test(boundary),
          back: await Promise.all([...back].map(async ([k, v]) =>
            [k, typeof v === 'string' ? v : [v.name, v.type, await v.text()]])),
        };
    "#;
    let server = Server::start();
    let mut rt = granted(&server);
    let from_jsbox = run(&mut rt, &server.base(), SCRIPT).unwrap();
    let body = "--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nJ\u{f6}rg\r\nline\r\n\
        --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22q%22.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n\r\n\
        --B\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"blob\"\r\nContent-Type: application/json\r\n\r\n{}\r\n\
        --B--\r\n";
    assert_eq!(
        from_jsbox,
        json!({
            "type": "multipart/form-data; boundary=B",
            "body": body,
            "lengthWithoutBoundaries": body.len() - 4,
            "boundary": true,
            "back": [["name", "J\u{f6}rg\r\nline"], ["file", ["a \"q\".txt", "text/plain", "file body\r\n"]],
                     ["blob", ["blob", "application/json", "{}"]]],
        })
    );
    let node_program = format!(
        "const base = process.argv[1]; (async () => {{ {SCRIPT} }})().then((v) => console.log(JSON.stringify(v)), (e) => {{ console.error(e); process.exit(1); }});"
    );
    let node = node::node_command().args(["-e", &node_program, &server.base()]).output().expect("node ran");
    assert!(node.status.success(), "node failed: {}", String::from_utf8_lossy(&node.stderr));
    let from_node: Value = serde_json::from_slice(&node.stdout).unwrap();
    assert_eq!(from_jsbox, from_node);
}

/// Under the async API many runtimes wait on slow fetches at once on a
/// 2-thread tokio runtime: the server sees the requests overlap (no thread
/// per waiting runtime, nothing serialised).
#[test]
fn concurrent_fetches_under_eval_async() {
    let server = Server::start();
    let factory = std::sync::Arc::new(EngineFactory::new(base().allow_net(server.grant())).unwrap());
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let script = format!("fetch('{}/slow?ms=300').then((r) => r.text())", server.base());
    let results: Vec<Value> = tokio.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let factory = factory.clone();
                let script = script.clone();
                tokio::spawn(async move { factory.new_runtime().unwrap().eval_async(&script).await.unwrap() })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(results.iter().all(|v| v == "slow done"), "{results:?}");
    assert!(server.max_concurrent_slow() > 2, "requests overlapped: {}", server.max_concurrent_slow());
}
