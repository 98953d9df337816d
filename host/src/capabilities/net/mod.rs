//! Network access for `fetch`, granted per host.
//!
//! Off unless the embedder grants hosts with
//! [`EngineOptions::allow_net`](crate::EngineOptions::allow_net) (CLI:
//! `--allow-net HOST[:PORT]`, repeatable, as in deno). With no grant the
//! built-in net module is not registered and every `fetch` is refused,
//! but of a `data:` URL: the guest decodes that itself (the Fetch Standard's
//! data: URL processor), reaching nothing outside the sandbox, so it needs
//! no grant and never comes here.
//!
//! # Grants
//!
//! | grant | allows |
//! |---|---|
//! | `example.com` | `http`/`https` to `example.com` on any port |
//! | `example.com:8443` | only port 8443 (default ports count: `https://example.com/` is port 443) |
//! | `127.0.0.1`, `127.0.0.1:8080` | that IPv4 address (any port / one port) |
//! | `[::1]`, `[::1]:8080`, `::1` | that IPv6 address; brackets are needed to give a port |
//! | `localhost`, `localhost:3000` | the name `localhost`, answered as 127.0.0.1 and ::1 without DNS |
//!
//! Hosts compare after the URL standard's host parsing (lowercase, IDNA,
//! IPv4 forms like `0x7f.1` = `127.0.0.1`). A grant covers exactly its host:
//! no subdomains, no wildcards, and `localhost` does not cover `127.0.0.1`
//! (or the reverse).
//!
//! # What is checked
//!
//! - **Every request and every redirect hop** is checked against the grants
//!   before anything is sent to it. Redirects are followed by jsbox, not by
//!   the HTTP client: at most [`DEFAULT_MAX_REDIRECTS`] hops (settable), a
//!   hop to an ungranted host or port stops the fetch with
//!   [`Error::NotGranted`]. Cross-origin hops drop `Authorization`, `Cookie`
//!   and `Proxy-Authorization`.
//! - **DNS**: a hostname grant reaches only public unicast addresses. jsbox
//!   resolves the name once per connection, drops loopback, private,
//!   link-local (e.g. cloud metadata 169.254.169.254), CGNAT, multicast and
//!   other special-purpose addresses, and connects only to the addresses it
//!   checked, so a rebinding DNS answer cannot switch the connection
//!   elsewhere. A name with no public address is [`Error::Denied`]. To
//!   reach a private or loopback address, grant the IP literal (or
//!   `localhost`); those are connected to directly.
//! - **No ambient proxies**: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` are
//!   ignored.
//! - **Only `http` and `https`.** TLS is rustls with the Mozilla roots
//!   compiled in (`webpki-roots`); nothing is read from or downloaded to the
//!   machine.
//! - **The response body is capped** (default
//!   [`DEFAULT_MAX_RESPONSE_BYTES`], see
//!   [`EngineOptions::net_max_response_bytes`](crate::EngineOptions::net_max_response_bytes)):
//!   a larger body is [`Error::TooLarge`]. The request body is bounded by
//!   [`Limits::max_value_bytes`](crate::Limits::max_value_bytes).
//! - **Time**: the request runs inside the call that awaits it, so it counts
//!   toward that call's deadline ([`Limits::timeout`](crate::Limits::timeout)).
//!
//! Connection-level request headers (`Host`, `Content-Length`,
//! `Connection`, `Transfer-Encoding`, ...) set by a script are ignored: the
//! client writes them.
//!
//! # Errors seen by JS and by Rust
//!
//! In JS every failed `fetch` rejects with a `TypeError` carrying the host's
//! message (node's `fetch` also rejects with a `TypeError`; node's message is
//! `fetch failed` with the reason in `cause`, jsbox puts the reason in the
//! message). When the script does not catch it, Rust gets the typed error:
//! [`Error::NotGranted`] (message `net: HOST:PORT is not granted (net
//! grant: ...)`), [`Error::Denied`] (a name with no public address),
//! [`Error::TooLarge`], or [`Error::Host`].

mod address;
mod client;
mod grant;
mod resolve;

use client::{FetchRequest, NetClient};
use grant::Grants;

use super::{Capability, GrantKey};
use crate::error::Error;
use crate::native::{parse_args, to_json, NativeModule};

/// The name of the built-in native module behind `fetch` (registered only
/// when a net grant exists).
pub(crate) const MODULE: &str = "jsbox:net";
/// Its one function.
pub(crate) const FUNCTION: &str = "fetch";

/// `jsbox:net`, turned on by a `net` grant.
pub(crate) const CAPABILITY: Capability = Capability {
    module: MODULE,
    requirable: false,
    grants: &[GrantKey {
        key: "net",
        value_name: "HOST[:PORT]",
        path: false,
        help: "Allow `fetch` to reach HOST (any port) or HOST:PORT, as deno's `--allow-net`: `example.com`, `api.example.com:443`, `127.0.0.1:8080`, `[::1]:8080`, `localhost:3000`. Redirects are followed only to granted hosts; a hostname reaches public addresses only (grant the IP or `localhost` for loopback and private ones).",
    }],
    build: |options| module(options.sandbox.grants.get("net"), &options.sandbox.net),
    // None of its own: `fetch` is a global of every sandbox (a `data:` URL
    // needs no grant), declared with the web globals (types/globals.d.ts).
    declarations: "",
};

/// Default cap on a response body: 8 MiB (its base64 form, for binary
/// bodies, still fits the default 16 MiB value limit).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 << 20;

/// Default cap on redirects followed by one `fetch` (the fetch standard's
/// 20).
pub const DEFAULT_MAX_REDIRECTS: usize = 20;

/// The knobs of the net client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetOptions {
    pub(crate) max_response_bytes: usize,
    pub(crate) max_redirects: usize,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions { max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES, max_redirects: DEFAULT_MAX_REDIRECTS }
    }
}

/// The error of a `fetch` in a factory with no net grant (the module is not
/// registered, so the host answers for it), naming the request's host.
pub(crate) fn not_granted(args: &str) -> Error {
    let wanted = parse_args::<(FetchRequest,)>(MODULE, FUNCTION, args)
        .ok()
        .and_then(|(request,)| url::Url::parse(&request.url).ok())
        .and_then(|url| grant::target(&url).ok().map(|(host, port)| grant::display_target(&host, port)))
        .unwrap_or_else(|| "the request's host".into());
    Error::NotGranted { grant: "net", wanted, detail: "net grant: none".into() }
}

/// Builds the `jsbox:net` module over `grants`: one async function, run
/// by the event loop of the runtime that awaits it.
///
/// Each request runs as a task of the tokio runtime current when JS calls
/// `fetch` (the caller's under the async API, jsbox's own under the sync
/// one), so hyper's connection tasks and timers always have their reactor,
/// whoever polls or drops the call. The task is aborted when the call is
/// dropped (its runtime dropped, or timed out).
fn module(grants: &[String], options: &NetOptions) -> Result<NativeModule, Error> {
    let client = NetClient::new(Grants::parse(grants)?, options.clone())?;
    Ok(NativeModule::new(MODULE).raw_async(FUNCTION, move |args: String| {
        let client = client.clone();
        let task = tokio::runtime::Handle::try_current().map(|handle| {
            AbortOnDrop(handle.spawn(async move {
                let (request,): (FetchRequest,) = parse_args(MODULE, FUNCTION, &args)?;
                let response = client.fetch(request).await?;
                to_json(MODULE, FUNCTION, &response)
            }))
        });
        async move {
            let task = task.map_err(|e| Error::Engine(format!("fetch outside a tokio runtime: {e}")))?;
            task.await.map_err(|e| Error::Host { module: MODULE.into(), function: FUNCTION.into(), message: format!("fetch failed: {e}") })?
        }
    }))
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}
