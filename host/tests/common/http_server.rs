//! A real HTTP/1.1 server on 127.0.0.1 (hyper on its own tokio thread),
//! started and stopped by the test that uses it. Shared by the host, CLI
//! and example tests (`#[path]`-included).
//!
//! Routes:
//! - `GET /json`: `{"hello":"world","n":42}` with two `set-cookie`s
//! - `* /echo`: the request as JSON: method, path, headers, body (text)
//! - `GET /missing`: 404 `not here`
//! - `GET /status?code=N&text=T`: status N with reason phrase T
//! - `GET /redirect?to=URL&status=N`: a redirect (default 302) to URL
//! - `GET /slow?ms=N`: waits N ms, then `slow done`
//! - `GET /big?bytes=N`: N bytes of `x` with a content-length
//! - `GET /chunked?bytes=N`: N bytes of `y`, chunked (no length known)
//! - `GET /binary`: bytes 0..=255, `application/octet-stream`
#![allow(dead_code)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A running server; stopped (its thread joined) on drop.
pub struct Server {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Requests served so far.
    pub hits: Arc<AtomicUsize>,
    /// `/slow` requests waiting now, and the most there ever were at once.
    pub slow: Arc<(AtomicUsize, AtomicUsize)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves until dropped.
    pub fn start() -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let counter = hits.clone();
        let slow = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let slow_gauge = slow.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let counter = counter.clone();
                            let slow = slow_gauge.clone();
                            tokio::spawn(async move {
                                let service = service_fn(move |req| {
                                    counter.fetch_add(1, Ordering::SeqCst);
                                    route(req, slow.clone())
                                });
                                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                            });
                        }
                    }
                }
            });
            // Dropping the runtime cancels the connections still open.
        });
        Server { port, hits, slow, stop: Some(stop), thread: Some(thread) }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, the grant for this server.
    pub fn grant(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Requests served so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The most `/slow` requests that were waiting at the same time.
    pub fn max_concurrent_slow(&self) -> usize {
        self.slow.1.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Out = Response<BoxBody<Bytes, Infallible>>;

fn full(body: impl Into<Bytes>) -> BoxBody<Bytes, Infallible> {
    Full::new(body.into()).boxed()
}

fn query(req: &Request<Incoming>, key: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A body of `left` bytes of `y`, sent in 16 KiB frames with no length.
struct Chunks {
    left: usize,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(16 << 10);
        self.left -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'y'; n])))))
    }
}

async fn route(req: Request<Incoming>, slow: Arc<(AtomicUsize, AtomicUsize)>) -> Result<Out, Infallible> {
    let path = req.uri().path().to_string();
    let num = |key: &str, default: usize| query(&req, key).and_then(|v| v.parse().ok()).unwrap_or(default);
    let response = match path.as_str() {
        "/json" => Response::builder()
            .header("content-type", "application/json")
            .header("x-served-by", "jsbox-test")
            .header("set-cookie", "a=1; Path=/")
            .header("set-cookie", "b=2; Path=/")
            .body(full(r#"{"hello":"world","n":42}"#)),
        "/echo" => {
            let method = req.method().to_string();
            let mut headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            headers.sort();
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let doc = serde_json::json!({
                "method": method,
                "path": path,
                "headers": headers
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect::<serde_json::Map<String, serde_json::Value>>(),
                "body": String::from_utf8_lossy(&body),
                "bodyBytes": body.len(),
            });
            Response::builder().header("content-type", "application/json").body(full(doc.to_string()))
        }
        "/missing" => Response::builder().status(404).header("content-type", "text/plain").body(full("not here")),
        "/status" => {
            let code = num("code", 200) as u16;
            let mut builder = Response::builder().status(code);
            if let Some(text) = query(&req, "text") {
                builder = builder.extension(hyper::ext::ReasonPhrase::try_from(text.into_bytes()).unwrap());
            }
            builder.body(full(""))
        }
        "/redirect" => {
            let to = query(&req, "to").unwrap_or_else(|| "/json".into());
            Response::builder().status(num("status", 302) as u16).header("location", to).body(full("moved"))
        }
        "/slow" => {
            let now = slow.0.fetch_add(1, Ordering::SeqCst) + 1;
            slow.1.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(num("ms", 1000) as u64)).await;
            slow.0.fetch_sub(1, Ordering::SeqCst);
            Response::builder().body(full("slow done"))
        }
        "/big" => Response::builder().body(full(vec![b'x'; num("bytes", 1024)])),
        "/chunked" => Response::builder().body(Chunks { left: num("bytes", 1024) }.boxed()),
        "/binary" => Response::builder()
            .header("content-type", "application/octet-stream")
            .body(full((0..=255u8).collect::<Vec<u8>>())),
        _ => Response::builder().status(500).body(full(format!("no route {path}"))),
    };
    Ok(response.unwrap())
}
