//! The request itself: reqwest (rustls, no proxy, no automatic redirects)
//! driven hop by hop so every redirect target is checked against the grants
//! before it is contacted, and the response body read in chunks up to the
//! cap.

use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use super::grant::Grants;
use super::resolve::{AddressRefused, CheckedResolver};
use super::{NetOptions, FUNCTION, MODULE};
use crate::error::Error;

/// What the guest's `fetch` sends: the request after `Request` has
/// normalised it.
#[derive(Debug, Deserialize)]
pub(crate) struct FetchRequest {
    pub(crate) url: String,
    #[serde(default = "get")]
    pub(crate) method: String,
    #[serde(default)]
    pub(crate) headers: Vec<(String, String)>,
    #[serde(default)]
    pub(crate) body: Option<Body>,
    #[serde(default)]
    pub(crate) redirect: RedirectMode,
}

fn get() -> String {
    "GET".into()
}

/// `RequestInit.redirect`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RedirectMode {
    /// Follow redirects to granted hosts (the default).
    #[default]
    Follow,
    /// A redirect is a network error.
    Error,
    /// Hand the 3xx response to JS as it is.
    Manual,
}

/// A body on the wire: text when it is UTF-8 (the common case, no base64
/// cost), else base64.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Body {
    /// UTF-8 text.
    Text(String),
    /// Any other bytes.
    Base64(String),
}

/// What the guest's `fetch` gets back.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FetchResponse {
    pub(crate) status: u16,
    pub(crate) status_text: String,
    pub(crate) url: String,
    pub(crate) redirected: bool,
    /// In wire order, names lowercase, repeated names repeated.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

/// Headers the client manages itself; a script's values are dropped.
const CONNECTION_HEADERS: &[&str] =
    &["host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "expect", "proxy-connection"];

/// Headers removed when a redirect crosses to another origin (as undici).
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Headers describing a body, removed when a redirect drops the body.
const BODY_HEADERS: &[&str] = &["content-type", "content-encoding", "content-language", "content-location"];

fn failed(message: impl Into<String>) -> Error {
    Error::Host { module: MODULE.into(), function: FUNCTION.into(), message: message.into() }
}

/// The reqwest error with its sources (reqwest's own message omits them),
/// or the policy denial hiding in the chain.
fn send_error(e: reqwest::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut parts = Vec::new();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<AddressRefused>() {
            return Error::Denied(refused.to_string());
        }
        let text = s.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    failed(format!("fetch failed: {}", parts.join(": ")))
}

/// Latin-1 ("isomorphic") decoding of a header value, as the fetch
/// standard maps header bytes to JS strings.
fn isomorphic(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The net client of one factory, shared by its runtimes.
pub(crate) struct NetClient {
    client: reqwest::Client,
    grants: Grants,
    options: NetOptions,
}

impl NetClient {
    pub(crate) fn new(grants: Grants, options: NetOptions) -> Result<Arc<Self>, Error> {
        let client = reqwest::Client::builder()
            // No HTTP(S)_PROXY / ALL_PROXY from the environment: a proxy
            // would be a second, unchecked way out.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver))
            .referer(false)
            .user_agent(concat!("jsbox/", env!("CARGO_PKG_VERSION")))
            .use_rustls_tls()
            .build()
            .map_err(|e| Error::Engine(format!("net client: {e}")))?;
        Ok(Arc::new(NetClient { client, grants, options }))
    }

    /// Performs one `fetch`: grant check, hops, body.
    ///
    /// # Errors
    ///
    /// [`Error::Denied`] for a URL, redirect target or resolved address the
    /// grants do not allow; [`Error::TooLarge`] for a body over the cap;
    /// [`Error::Host`] for everything else that fails (bad URL, connection
    /// refused, too many redirects ...).
    pub(crate) async fn fetch(&self, request: FetchRequest) -> Result<FetchResponse, Error> {
        let mut url = Url::parse(&request.url).map_err(|e| failed(format!("invalid URL {:?}: {e}", request.url)))?;
        let mut method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| failed(format!("invalid method {:?}", request.method)))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| failed(format!("invalid header name {name:?}")))?;
            if CONNECTION_HEADERS.contains(&name.as_str()) {
                continue;
            }
            // Header values are byte strings: chars above U+00FF are invalid.
            let bytes: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c as u32).ok()).collect();
            let value = bytes
                .and_then(|b| HeaderValue::from_bytes(&b).ok())
                .ok_or_else(|| failed(format!("invalid value for header {name}")))?;
            headers.append(name, value);
        }
        let mut body = match request.body {
            Some(Body::Text(text)) => Some(text.into_bytes()),
            Some(Body::Base64(b64)) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| failed(format!("request body is not base64: {e}")))?,
            ),
            None => None,
        };
        let mut redirected = false;
        let mut hops = 0usize;
        loop {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(failed(format!("fetch: scheme {:?} is not supported (only http and https)", url.scheme())));
            }
            self.grants.check(&url)?;
            let mut builder = self.client.request(method.clone(), url.clone()).headers(headers.clone());
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            let response = builder.send().await.map_err(send_error)?;
            let status = response.status();
            let location = response.headers().get(reqwest::header::LOCATION).cloned();
            let is_redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if is_redirect && request.redirect != RedirectMode::Manual {
                if let Some(location) = location {
                    if request.redirect == RedirectMode::Error {
                        return Err(failed(format!("fetch: {url} redirected and the redirect mode is 'error'")));
                    }
                    if hops >= self.options.max_redirects {
                        return Err(failed(format!("fetch: more than {} redirects", self.options.max_redirects)));
                    }
                    let target = location
                        .to_str()
                        .ok()
                        .and_then(|l| url.join(l).ok())
                        .ok_or_else(|| failed(format!("fetch: {url} redirected to an invalid location")))?;
                    // The redirect target is checked before anything is sent.
                    if let Err(Error::NotGranted { grant, wanted, detail }) = self.grants.check(&target) {
                        return Err(Error::NotGranted { grant, wanted, detail: format!("{detail}; a redirect from {url}") });
                    }
                    let drops_body = status == StatusCode::SEE_OTHER && method != Method::GET && method != Method::HEAD
                        || matches!(status.as_u16(), 301 | 302) && method == Method::POST;
                    if drops_body {
                        method = Method::GET;
                        body = None;
                        for h in BODY_HEADERS {
                            headers.remove(*h);
                        }
                    }
                    if target.origin() != url.origin() {
                        for h in CREDENTIAL_HEADERS {
                            headers.remove(*h);
                        }
                    }
                    url = target;
                    redirected = true;
                    hops += 1;
                    continue;
                }
            }
            return self.finish(response, url, redirected).await;
        }
    }

    async fn finish(&self, mut response: reqwest::Response, mut url: Url, redirected: bool) -> Result<FetchResponse, Error> {
        let limit = self.options.max_response_bytes;
        let too_large = |size: usize| Error::TooLarge { what: "fetch response body", size, limit };
        if let Some(len) = response.content_length() {
            if len > limit as u64 {
                return Err(too_large(usize::try_from(len).unwrap_or(usize::MAX)));
            }
        }
        let status = response.status();
        let status_text = match response.extensions().get::<hyper::ext::ReasonPhrase>() {
            Some(r) => isomorphic(r.as_bytes()),
            None => status.canonical_reason().unwrap_or("").to_string(),
        };
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), isomorphic(v.as_bytes())))
            .collect();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(send_error)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large(bytes.len() + chunk.len()));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = match String::from_utf8(bytes) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Base64(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
        };
        url.set_fragment(None);
        Ok(FetchResponse { status: status.as_u16(), status_text, url: url.into(), redirected, headers, body })
    }
}
