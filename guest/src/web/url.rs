//! `URL` and `URLSearchParams` parsing: the `url` crate (servo's rust-url,
//! a WHATWG URL Standard implementation tested against the web-platform
//! tests) does every parse, setter and `application/x-www-form-urlencoded`
//! step; `url.js` is the WebIDL-shaped class around it.
//!
//! A parsed URL lives in a Rust-owned [`UrlRecord`] that the JS class holds
//! in a private field, so getters read the record instead of re-parsing
//! `href`, and setters mutate it with the standard's setter algorithms
//! (`url::quirks`).

use javy::quickjs::class::{JsClass, Trace, Tracer, Writable};
use javy::quickjs::prelude::Opt;
use javy::quickjs::{Class, Constructor, Ctx, JsLifetime, Object, Result};
use url::{form_urlencoded, quirks, Url};

/// A parsed URL owned by a JS `URL` object.
pub(crate) struct UrlRecord(Url);

impl<'js> Trace<'js> for UrlRecord {
    fn trace<'a>(&self, _tracer: Tracer<'a, 'js>) {}
}

// SAFETY: the record holds no JS values, so it lives as long as any 'js.
unsafe impl<'js> JsLifetime<'js> for UrlRecord {
    type Changed<'to> = UrlRecord;
}

impl<'js> JsClass<'js> for UrlRecord {
    const NAME: &'static str = "UrlRecord";
    type Mutable = Writable;

    fn prototype(_ctx: &Ctx<'js>) -> Result<Option<Object<'js>>> {
        Ok(None)
    }

    fn constructor(_ctx: &Ctx<'js>) -> Result<Option<Constructor<'js>>> {
        Ok(None)
    }
}

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
    let parsed = match base.0 {
        None => Url::parse(&input),
        Some(base) => match Url::parse(&base) {
            Ok(base) => base.join(&input),
            Err(e) => Err(e),
        },
    };
    match parsed {
        Ok(url) => Class::instance(ctx, UrlRecord(url)).map(Some),
        Err(_) => Ok(None),
    }
}

/// `get(record, component)`.
pub(crate) fn get(record: Class<'_, UrlRecord>, component: u32) -> String {
    let record = record.borrow();
    let url = &record.0;
    match component {
        HREF => quirks::href(url).to_owned(),
        ORIGIN => quirks::origin(url),
        PROTOCOL => quirks::protocol(url).to_owned(),
        USERNAME => quirks::username(url).to_owned(),
        PASSWORD => quirks::password(url).to_owned(),
        HOST => quirks::host(url).to_owned(),
        HOSTNAME => quirks::hostname(url).to_owned(),
        PORT => quirks::port(url).to_owned(),
        PATHNAME => quirks::pathname(url).to_owned(),
        SEARCH => quirks::search(url).to_owned(),
        HASH => quirks::hash(url).to_owned(),
        _ => String::new(),
    }
}

/// `set(record, component, value)`: runs the standard's setter. Returns
/// false only for an `href` that does not parse (the one setter that
/// throws); the other setters ignore bad input, as the standard says.
pub(crate) fn set(record: Class<'_, UrlRecord>, component: u32, value: String) -> bool {
    let mut record = record.borrow_mut();
    let url = &mut record.0;
    match component {
        HREF => return quirks::set_href(url, &value).is_ok(),
        PROTOCOL => { let _ = quirks::set_protocol(url, &value); }
        USERNAME => { let _ = quirks::set_username(url, &value); }
        PASSWORD => { let _ = quirks::set_password(url, &value); }
        HOST => { let _ = quirks::set_host(url, &value); }
        HOSTNAME => { let _ = quirks::set_hostname(url, &value); }
        PORT => { let _ = quirks::set_port(url, &value); }
        PATHNAME => quirks::set_pathname(url, &value),
        SEARCH => {
            quirks::set_search(url, &value);
            strip_opaque_path_spaces(url);
        }
        HASH => {
            quirks::set_hash(url, &value);
            strip_opaque_path_spaces(url);
        }
        _ => {}
    }
    true
}

/// `setQuery(record, serialized)`: the URLSearchParams "update" steps
/// (an empty list makes the query null).
pub(crate) fn set_query(record: Class<'_, UrlRecord>, serialized: String) {
    let mut record = record.borrow_mut();
    let url = &mut record.0;
    url.set_query((!serialized.is_empty()).then_some(serialized.as_str()));
    strip_opaque_path_spaces(url);
}

/// The standard's "potentially strip trailing spaces from an opaque path":
/// with no query and no fragment left, trailing spaces of an opaque path go.
fn strip_opaque_path_spaces(url: &mut Url) {
    if url.cannot_be_a_base() && url.query().is_none() && url.fragment().is_none() {
        let path = url.path();
        let trimmed = path.trim_end_matches(' ');
        if trimmed.len() != path.len() {
            let trimmed = trimmed.to_owned();
            url.set_path(&trimmed);
        }
    }
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
