//! `URL` and `URLSearchParams` parsing. Every URL parse and setter is
//! ada's (the `ada-url` crate: ada, the C++ parser node uses, compiled into
//! the guest), so a URL parses, serializes and changes exactly as in node;
//! the `url` crate (servo's rust-url) still does the
//! `application/x-www-form-urlencoded` steps of `URLSearchParams`. `url.js`
//! is the WebIDL-shaped class around both.
//!
//! A parsed URL lives in a Rust-owned [`UrlRecord`] that the JS class holds
//! in a private field, so getters read the record instead of re-parsing
//! `href`, and setters mutate it with the standard's setter algorithms.

use ada_url::Url;
use javy::quickjs::prelude::Opt;
use javy::quickjs::{Class, Ctx, Result};
use url::form_urlencoded;

use super::opaque_class;

/// A parsed URL owned by a JS `URL` object (ada's url_aggregator: one
/// buffer holding `href`, and the offsets of the components in it).
pub(crate) struct UrlRecord(Url);

// SAFETY: the record holds no JS values, as opaque_class! requires.
opaque_class!(UrlRecord);

/// The components, in the order `url.js` numbers them.
const HREF: u32 = 0;
const ORIGIN: u32 = 1;
const PROTOCOL: u32 = 2;
const USERNAME: u32 = 3;
const PASSWORD: u32 = 4;
const HOST: u32 = 5;
const HOSTNAME: u32 = 6;
const PORT: u32 = 7;
const PATHNAME: u32 = 8;
const SEARCH: u32 = 9;
const HASH: u32 = 10;

/// `parse(input, base?)`: the record, or `null` when either fails to parse.
pub(crate) fn parse<'js>(ctx: Ctx<'js>, input: String, base: Opt<String>) -> Result<Option<Class<'js, UrlRecord>>> {
    match parse_url(&input, base.0.as_deref()) {
        Some(url) => Class::instance(ctx, UrlRecord(url)).map(Some),
        None => Ok(None),
    }
}

/// ada's parse through its C API: ada-url 3.1's `Url::parse` does not free
/// ada's result when the input fails to parse (fixed in 4.x), which
/// `URL.canParse` in a loop would turn into a growing heap.
fn parse_url(input: &str, base: Option<&str>) -> Option<Url> {
    use ada_url::ffi;
    // SAFETY: ada reads the given lengths of the two buffers and returns a
    // heap result that is either owned by `Url` (freed on drop) or freed here.
    unsafe {
        let result = match base {
            Some(base) => ffi::ada_parse_with_base(input.as_ptr().cast(), input.len(), base.as_ptr().cast(), base.len()),
            None => ffi::ada_parse(input.as_ptr().cast(), input.len()),
        };
        if ffi::ada_is_valid(result) {
            Some(Url::from(result))
        } else {
            ffi::ada_free(result);
            None
        }
    }
}

/// `get(record, component)`.
pub(crate) fn get(record: Class<'_, UrlRecord>, component: u32) -> String {
    let record = record.borrow();
    let url = &record.0;
    match component {
        HREF => url.href().to_owned(),
        ORIGIN => url.origin(),
        PROTOCOL => url.protocol().to_owned(),
        USERNAME => url.username().to_owned(),
        PASSWORD => url.password().to_owned(),
        HOST => url.host().to_owned(),
        HOSTNAME => url.hostname().to_owned(),
        PORT => url.port().to_owned(),
        PATHNAME => url.pathname().to_owned(),
        SEARCH => url.search().to_owned(),
        HASH => url.hash().to_owned(),
        _ => String::new(),
    }
}

/// `set(record, component, value)`: runs the standard's setter. Returns
/// false only for an `href` that does not parse (the one setter that
/// throws); the other setters ignore bad input, as the standard says.
/// ada's `search` and `hash` setters also strip an opaque path's trailing
/// spaces when the URL is left with neither.
pub(crate) fn set(record: Class<'_, UrlRecord>, component: u32, value: String) -> bool {
    let mut record = record.borrow_mut();
    let url = &mut record.0;
    let v = Some(value.as_str());
    match component {
        HREF => return url.set_href(&value).is_ok(),
        PROTOCOL => { let _ = url.set_protocol(&value); }
        USERNAME => { let _ = url.set_username(v); }
        PASSWORD => { let _ = url.set_password(v); }
        HOST => { let _ = url.set_host(v); }
        HOSTNAME => { let _ = url.set_hostname(v); }
        PORT => { let _ = url.set_port(v); }
        PATHNAME => { let _ = url.set_pathname(v); }
        SEARCH => url.set_search(v),
        HASH => url.set_hash(v),
        _ => {}
    }
    true
}

/// `setQuery(record, serialized)`: the URLSearchParams "update" steps. An
/// empty list makes the query null (ada's `search` setter does that for an
/// empty string, and strips an opaque path's trailing spaces); the
/// serializer percent-encodes `?`, so a leading one is never eaten.
pub(crate) fn set_query(record: Class<'_, UrlRecord>, serialized: String) {
    record.borrow_mut().0.set_search(Some(&serialized));
}

/// `formParse(text)`: the urlencoded parser, as a flat `[name, value, ...]`.
pub(crate) fn form_parse(text: String) -> Vec<String> {
    let mut flat = Vec::new();
    for (name, value) in form_urlencoded::parse(text.as_bytes()) {
        flat.push(name.into_owned());
        flat.push(value.into_owned());
    }
    flat
}

/// `formSerialize([name, value, ...])`: the urlencoded serializer.
pub(crate) fn form_serialize(flat: Vec<String>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for pair in flat.chunks_exact(2) {
        out.append_pair(&pair[0], &pair[1]);
    }
    out.finish()
}
