//! `URLPattern` (the URL Pattern Standard): the `urlpattern` crate
//! (denoland/rust-urlpattern, what Deno uses) tokenizes and parses the
//! patterns, canonicalizes their components and builds each component's
//! regular expression; `urlpattern.js` is the WebIDL-shaped class around it.
//!
//! The crate is generic over the regular expression engine. jsbox plugs in
//! QuickJS's own `RegExp` ([`JsRegExp`]), not the `regex` crate: the
//! standard's regexp groups (`/:id(\\d+)`) are ECMAScript regular
//! expressions with the `u` flag, so a JS engine gives their exact
//! semantics (lookbehind, backreferences, `\p{…}`, which the `regex`
//! crate lacks or spells differently), and the guest does not grow by a
//! second regex engine. The crate calls the engine from inside its parser
//! and matcher, where no JS context is at hand, so each native function
//! below that may reach it installs the JS side's runner for the length of
//! the call ([`RunnerScope`]).

use std::cell::RefCell;
use std::ptr::NonNull;

use javy::quickjs::{Class, Ctx, Exception, FromJs, Function, Object, Persistent, Result, Value};
use urlpattern::quirks::{self, StringOrInit};
use urlpattern::regexp::RegExp;
use urlpattern::{Error, RegexSyntax, UrlPattern, UrlPatternInit, UrlPatternOptions};

use super::opaque_class;

/// A compiled pattern owned by a JS `URLPattern` object.
pub(crate) struct PatternRecord(UrlPattern<JsRegExp>);

// SAFETY: the record holds no JS values (a JsRegExp is its source text),
// as opaque_class! requires.
opaque_class!(PatternRecord);

/// The JS runner the current native call brought (see [`RunnerScope`]):
/// the context it belongs to and `run(source, flags, text)`.
type Runner = (NonNull<javy::quickjs::qjs::JSContext>, Persistent<Function<'static>>);

thread_local! {
    static RUNNER: RefCell<Option<Runner>> = const { RefCell::new(None) };
}

/// Makes `run` the engine of every [`JsRegExp`] until dropped. The guest
/// is single-threaded and the scope lives inside one native call, which
/// holds the runtime, so the context pointer stays valid while it is set.
struct RunnerScope;

impl RunnerScope {
    fn enter<'js>(ctx: &Ctx<'js>, run: Function<'js>) -> RunnerScope {
        let saved = Persistent::save(ctx, run);
        RUNNER.with(|r| *r.borrow_mut() = Some((ctx.as_raw(), saved)));
        RunnerScope
    }
}

impl Drop for RunnerScope {
    fn drop(&mut self) {
        RUNNER.with(|r| r.borrow_mut().take());
    }
}

/// `run(source, flags, text)` through the installed runner: `null` when
/// `text` does not match, else the flat `[start, end, …]` UTF-16 offsets of
/// each capture group (`-1, -1` for one that did not take part); with
/// `text` undefined it only compiles, and throws when the source is not a
/// valid regular expression. `None` when there is no runner or it threw.
fn run(source: &str, flags: &str, text: Option<&str>) -> Option<Option<Vec<i32>>> {
    RUNNER.with(|r| {
        let r = r.borrow();
        let (raw, runner) = r.as_ref()?;
        // SAFETY: see RunnerScope; the Ctx is dropped before this returns.
        let ctx = unsafe { Ctx::from_raw(*raw) };
        let runner = runner.clone().restore(&ctx).ok()?;
        match runner.call::<_, Option<Vec<i32>>>((source, flags, text)) {
            Ok(offsets) => Some(offsets),
            Err(_) => {
                // Take the exception (a SyntaxError for a bad group) so it
                // is not left pending: the crate reports its own error.
                let _ = ctx.catch();
                None
            }
        }
    })
}

/// A regular expression for the crate, run by QuickJS: its source and flags
/// (`u` or `ui`); the runner on the JS side keeps the compiled `RegExp`s.
#[derive(Debug)]
pub(crate) struct JsRegExp {
    source: String,
    flags: String,
}

impl RegExp for JsRegExp {
    fn syntax() -> RegexSyntax {
        RegexSyntax::EcmaScript
    }

    /// The crate asks for evaluation (`force_eval`) of the expressions that
    /// hold a regexp group the pattern's author wrote; the ones it makes
    /// itself are valid by construction and are not compiled here.
    fn parse(pattern: &str, flags: &str, force_eval: bool) -> std::result::Result<Self, ()> {
        if force_eval && run(pattern, flags, None).is_none() {
            return Err(());
        }
        Ok(JsRegExp { source: pattern.to_owned(), flags: flags.to_owned() })
    }

    fn matches<'a>(&self, text: &'a str) -> Option<Vec<Option<&'a str>>> {
        let offsets = run(&self.source, &self.flags, Some(text))??;
        let byte = |utf16: i32| -> usize {
            let mut units = 0;
            for (i, c) in text.char_indices() {
                if units >= utf16 as usize {
                    return i;
                }
                units += c.len_utf16();
            }
            text.len()
        };
        Some(
            offsets
                .chunks_exact(2)
                .map(|pair| (pair[0] >= 0).then(|| &text[byte(pair[0])..byte(pair[1])]))
                .collect(),
        )
    }

    fn pattern_string(&self) -> &str {
        &self.source
    }
}

/// `URLPatternInit`'s members in the order `urlpattern.js` passes them.
fn init_members(members: Vec<Option<String>>) -> quirks::UrlPatternInit {
    let mut m = members.into_iter().chain(std::iter::repeat(None));
    let mut next = || m.next().flatten();
    quirks::UrlPatternInit {
        protocol: next(),
        username: next(),
        password: next(),
        hostname: next(),
        port: next(),
        pathname: next(),
        search: next(),
        hash: next(),
        base_url: next(),
    }
}

/// The input of the constructor, `test` and `exec`: a string, or an array
/// of the init dictionary's members (`undefined` where absent).
fn input<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<StringOrInit<'static>> {
    if let Some(s) = value.as_string() {
        return Ok(StringOrInit::String(s.to_string()?.into()));
    }
    Ok(StringOrInit::Init(init_members(Vec::<Option<String>>::from_js(ctx, value)?)))
}

fn type_error(ctx: &Ctx<'_>, e: &Error) -> javy::quickjs::Error {
    Exception::throw_type(ctx, &format!("Invalid pattern: {e}"))
}

/// The standard's "process a URLPatternInit" entry for the constructor:
/// a constructor string is parsed against the base URL, an init takes its
/// own `baseURL`. (The crate's `quirks::process_construct_pattern_input`
/// does the same with the `regex` crate as engine, which would link it in.)
fn construct_init(input: StringOrInit<'_>, base: Option<String>) -> std::result::Result<UrlPatternInit, Error> {
    let parse_base = |b: Option<String>| b.map(|b| url::Url::parse(&b)).transpose().map_err(Error::Url);
    match input {
        StringOrInit::String(pattern) => UrlPatternInit::parse_constructor_string::<JsRegExp>(&pattern, parse_base(base)?),
        StringOrInit::Init(_) if base.is_some() => Err(Error::BaseUrlWithInit),
        StringOrInit::Init(init) => Ok(UrlPatternInit {
            base_url: parse_base(init.base_url)?,
            protocol: init.protocol,
            username: init.username,
            password: init.password,
            hostname: init.hostname,
            port: init.port,
            pathname: init.pathname,
            search: init.search,
            hash: init.hash,
        }),
    }
}

/// `parse(input, baseURL, ignoreCase, run)`: the compiled pattern, or a
/// TypeError saying why the pattern is not valid.
pub(crate) fn parse<'js>(
    ctx: Ctx<'js>,
    input_value: Value<'js>,
    base: Option<String>,
    ignore_case: bool,
    runner: Function<'js>,
) -> Result<Class<'js, PatternRecord>> {
    let _scope = RunnerScope::enter(&ctx, runner);
    let options = UrlPatternOptions { ignore_case, regex_syntax: RegexSyntax::EcmaScript };
    let pattern = construct_init(input(&ctx, input_value)?, base)
        .and_then(|init| UrlPattern::<JsRegExp>::parse(init, options))
        .map_err(|e| type_error(&ctx, &e))?;
    Class::instance(ctx, PatternRecord(pattern))
}

/// `get(record, component)`: the component's normalized pattern string, in
/// the order `urlpattern.js` numbers them; 8 is `hasRegExpGroups`.
pub(crate) fn get<'js>(ctx: Ctx<'js>, record: Class<'js, PatternRecord>, component: u32) -> Result<Value<'js>> {
    let record = record.borrow();
    let p = &record.0;
    let text = match component {
        0 => p.protocol(),
        1 => p.username(),
        2 => p.password(),
        3 => p.hostname(),
        4 => p.port(),
        5 => p.pathname(),
        6 => p.search(),
        7 => p.hash(),
        _ => return Ok(Value::new_bool(ctx, p.has_regexp_groups())),
    };
    javy::quickjs::String::from_str(ctx, text).map(Value::from)
}

/// `exec(record, input, baseURL, run)`: the standard's "match":
/// `undefined` when the input is not a URL or does not match, else the result's eight
/// components (`{ input, groups }`, groups in the pattern's order, a group
/// that did not take part `undefined`); `urlpattern.js` adds `inputs`.
pub(crate) fn exec<'js>(
    ctx: Ctx<'js>,
    record: Class<'js, PatternRecord>,
    input_value: Value<'js>,
    base: Option<String>,
    runner: Function<'js>,
) -> Result<Option<Object<'js>>> {
    let _scope = RunnerScope::enter(&ctx, runner);
    let processed = quirks::process_match_input(input(&ctx, input_value)?, base.as_deref())
        .map_err(|e| Exception::throw_type(&ctx, &e.to_string()))?;
    let Some(values) = processed.and_then(|(input, _)| quirks::parse_match_input(input)) else {
        return Ok(None);
    };
    let record = record.borrow();
    let p = &record.0;
    let components = [
        ("protocol", &p.protocol, &values.protocol),
        ("username", &p.username, &values.username),
        ("password", &p.password, &values.password),
        ("hostname", &p.hostname, &values.hostname),
        ("port", &p.port, &values.port),
        ("pathname", &p.pathname, &values.pathname),
        ("search", &p.search, &values.search),
        ("hash", &p.hash, &values.hash),
    ];
    let result = Object::new(ctx.clone())?;
    for (name, component, text) in components {
        // The component's regular expression, as the standard matches. (The
        // crate's own `matcher`, a shortcut for literal prefixes and simple
        // wildcards, compares those prefixes case-sensitively even under
        // `ignoreCase` in 0.6.0.)
        let Some(captures) = component.regexp.as_ref().ok().and_then(|r| r.matches(text)) else {
            return Ok(None);
        };
        let groups = Object::new(ctx.clone())?;
        for (group, capture) in component.group_name_list.iter().zip(captures) {
            groups.set(group.as_str(), capture)?;
        }
        let part = Object::new(ctx.clone())?;
        part.set("input", text.as_str())?;
        part.set("groups", groups)?;
        result.set(name, part)?;
    }
    Ok(Some(result))
}
