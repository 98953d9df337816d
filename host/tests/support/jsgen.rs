//! Generated JS programs for differential testing, shared by the seeded
//! tests in `host/tests/differential.rs` and the cargo-fuzz targets in
//! `fuzz/` (included there with `#[path]`).
//!
//! A program is built from structured input (`arbitrary::Unstructured`): a
//! small grammar of statements and expressions over numbers, strings,
//! arrays, objects, closures, exceptions and JSON. Programs always end:
//! loops are bounded, there is no recursion, no `repeat`, no randomness and
//! no clock, so two runs of one program must agree exactly.
#![allow(dead_code)]

use arbitrary::{Result, Unstructured};
use jsbox::{EngineFactory, Error, Runtime};

const VARS: usize = 4;
const MAX_DEPTH: u32 = 4;

/// Builds programs from fuzz input.
pub struct Gen<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    out: String,
    /// Names bound in the current scope besides `v0..v3`.
    locals: Vec<String>,
    fresh: usize,
    budget: u32,
    /// How many `try` blocks enclose the current statement: `throw`
    /// mostly happens inside one, so most programs complete.
    in_try: u32,
}

/// A JS string literal for `s`.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

impl<'a, 'b> Gen<'a, 'b> {
    /// A program: declarations, statements, and a final expression (its
    /// completion value is the result).
    pub fn program(u: &'b mut Unstructured<'a>) -> Result<String> {
        let mut g = Gen { u, out: String::new(), locals: Vec::new(), fresh: 0, budget: 60, in_try: 0 };
        g.out.push_str("var v0 = 0, v1 = 'a', v2 = [1, 2], v3 = { k: 1 };\n");
        let n = g.u.int_in_range(1..=8)?;
        for _ in 0..n {
            g.stmt(0)?;
        }
        let last = g.expr(0)?;
        g.out.push_str(&format!("[{last}, v0, v1, v2, v3];\n"));
        Ok(g.out)
    }

    fn var(&mut self) -> Result<String> {
        let i = self.u.choose_index(VARS + self.locals.len())?;
        Ok(if i < VARS { format!("v{i}") } else { self.locals[i - VARS].clone() })
    }

    fn stmt(&mut self, depth: u32) -> Result<()> {
        if self.budget == 0 {
            return Ok(());
        }
        self.budget -= 1;
        let choice = if depth >= 2 { self.u.int_in_range(0..=3)? } else { self.u.int_in_range(0..=8)? };
        match choice {
            0 | 1 => {
                let (v, e) = (self.u.choose_index(VARS)?, self.expr(0)?);
                self.out.push_str(&format!("v{v} = {e};\n"));
            }
            2 => {
                let (v, e) = (self.var()?, self.expr(0)?);
                self.out.push_str(&format!("(Array.isArray({v}) ? {v} : []).push({e});\n"));
            }
            3 => {
                let (v, k, e) = (self.var()?, self.key()?, self.expr(0)?);
                self.out.push_str(&format!("{v}[{}] = {e};\n", quote(&k)));
            }
            4 => {
                let c = self.expr(0)?;
                self.out.push_str(&format!("if ({c}) {{\n"));
                self.block(depth)?;
                self.out.push_str("} else {\n");
                self.block(depth)?;
                self.out.push_str("}\n");
            }
            5 => {
                let n = self.u.int_in_range(0..=4)?;
                let i = self.name();
                self.out.push_str(&format!("for (let {i} = 0; {i} < {n}; {i}++) {{\n"));
                self.locals.push(i);
                self.block(depth)?;
                self.locals.pop();
                self.out.push_str("}\n");
            }
            6 => {
                self.out.push_str("try {\n");
                self.in_try += 1;
                self.block(depth)?;
                self.in_try -= 1;
                let e = self.name();
                let v = self.u.choose_index(VARS)?;
                self.out.push_str(&format!(
                    "}} catch ({e}) {{\n  v{v} = ({e} && {e}.name || 'thrown') + ': ' + ({e} && {e}.message);\n}}\n"
                ));
            }
            7 if self.in_try == 0 && self.u.ratio(7u8, 8)? => {
                // Uncaught throws are rarer: most programs should finish.
                let v = self.u.choose_index(VARS)?;
                let e = self.expr(1)?;
                self.out.push_str(&format!("v{v} = {e};\n"));
            }
            7 => {
                let e = self.expr(1)?;
                match self.u.int_in_range(0..=2)? {
                    0 => self.out.push_str(&format!("throw new Error(String({e}));\n")),
                    1 => self.out.push_str(&format!("throw new TypeError('t' + {e});\n")),
                    _ => self.out.push_str(&format!("throw {e};\n")),
                }
            }
            _ => {
                // A closure over a variable, called later through it.
                let (f, a) = (self.name(), self.name());
                self.locals.push(a.clone());
                let body = self.expr(1)?;
                self.locals.pop();
                let v = self.u.choose_index(VARS)?;
                self.out.push_str(&format!("const {f} = ({a}) => {body};\nv{v} = {f};\n"));
                self.locals.push(f);
            }
        }
        Ok(())
    }

    fn block(&mut self, depth: u32) -> Result<()> {
        let before = self.locals.len();
        let n = self.u.int_in_range(0..=3)?;
        for _ in 0..n {
            self.stmt(depth + 1)?;
        }
        self.locals.truncate(before);
        Ok(())
    }

    fn name(&mut self) -> String {
        self.fresh += 1;
        format!("x{}", self.fresh)
    }

    fn key(&mut self) -> Result<String> {
        Ok(["k", "length", "0", "1", "toString", "__proto__x", "é", "a b"][self.u.choose_index(8)?].to_string())
    }

    fn number(&mut self) -> Result<String> {
        Ok(match self.u.int_in_range(0..=9)? {
            0 => "0".into(),
            1 => "(-0)".into(),
            2 => "NaN".into(),
            3 => "Infinity".into(),
            4 => "1e308".into(),
            5 => "0.1".into(),
            6 => "(-7)".into(),
            7 => "2147483648".into(),
            // Parenthesised: `-(-3)` must not become `--3`.
            _ => format!("({})", self.u.int_in_range(-1000i32..=1000)?),
        })
    }

    fn string(&mut self) -> Result<String> {
        const PARTS: [&str; 8] = ["", "a", "hello", "{\"j\":[1,2]}", "\u{e9}\u{1f600}", "\\", "\"q\"", "12"];
        let n = self.u.int_in_range(0..=2)?;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(PARTS[self.u.choose_index(PARTS.len())?]);
        }
        Ok(quote(&s))
    }

    /// An expression; `depth` bounds nesting.
    pub fn expr(&mut self, depth: u32) -> Result<String> {
        if depth >= MAX_DEPTH || self.u.is_empty() {
            return self.leaf();
        }
        let d = depth + 1;
        Ok(match self.u.int_in_range(0..=19)? {
            0..=3 => self.leaf()?,
            4 => {
                const OPS: [&str; 16] =
                    ["+", "-", "*", "/", "%", "**", "==", "===", "<", ">=", "&&", "||", "??", "&", "|", "<<"];
                let op = OPS[self.u.choose_index(OPS.len())?];
                format!("({} {op} {})", self.expr(d)?, self.expr(d)?)
            }
            5 => {
                let op = ["-", "!", "typeof ", "~", "+"][self.u.choose_index(5)?];
                format!("({op}{})", self.expr(d)?)
            }
            6 => format!("[{}, {}]", self.expr(d)?, self.expr(d)?),
            7 => format!("({{ {}: {}, n: {} }})", quote(&self.key()?), self.expr(d)?, self.expr(d)?),
            8 => format!("({} ?? '').length", self.expr(d)?),
            9 => format!("({} ?? {{}})[{}]", self.expr(d)?, self.expr(d)?),
            10 => format!("JSON.stringify({})", self.expr(d)?),
            // Mostly a round trip; sometimes raw text (a SyntaxError).
            11 if self.u.ratio(3u8, 4)? => format!("JSON.parse(JSON.stringify({}) ?? 'null')", self.expr(d)?),
            11 => format!("JSON.parse({})", self.expr(d)?),
            12 => format!("Object.keys({} || {{}})", self.expr(d)?),
            13 => format!("String({})", self.expr(d)?),
            14 => format!("Math.max({}, {})", self.expr(d)?, self.expr(d)?),
            15 => {
                let a = self.name();
                self.locals.push(a.clone());
                let body = self.expr(d)?;
                self.locals.pop();
                format!("[1, 'b', null].map(({a}) => {body})")
            }
            16 => format!("`${{{}}}-${{{}}}`", self.expr(d)?, self.expr(d)?),
            17 => format!("({} ? {} : {})", self.expr(d)?, self.expr(d)?, self.expr(d)?),
            18 => {
                // Call whatever a variable holds (a closure, or a TypeError).
                format!("(typeof {v} === 'function' ? {v}({}) : {v})", self.expr(d)?, v = self.var()?)
            }
            _ => format!("(() => {{ try {{ return {}; }} catch (e) {{ return e.name; }} }})()", self.expr(d)?),
        })
    }

    fn leaf(&mut self) -> Result<String> {
        Ok(match self.u.int_in_range(0..=5)? {
            0 | 1 => self.number()?,
            2 | 3 => self.string()?,
            4 => ["true", "false", "null", "undefined"][self.u.choose_index(4)?].to_string(),
            _ => self.var()?,
        })
    }
}

/// Statements that change everything a later runtime could observe if it
/// were not isolated: globals, prototypes, built-ins, and lots of memory.
pub fn polluter(u: &mut Unstructured<'_>) -> Result<String> {
    let mut s = Gen::program(u)?;
    s.push_str(
        "globalThis.__leak = 1; Array.prototype.__leak = 2; Object.prototype.__leak2 = 3;\n\
         JSON.stringify = () => 'polluted'; Math.max = () => -1; String.prototype.trim = null;\n\
         var __keep = []; for (let i = 0; i < 64; i++) __keep.push('x'.padEnd(4096, String(i)));\n",
    );
    Ok(s)
}

/// What a probe reports besides its own result: traces of earlier runtimes.
pub const PROBE_SUFFIX: &str = "[typeof globalThis.__leak, [].__leak, ({}).__leak2, JSON.stringify([1]), \
                                 Math.max(1, 2), typeof ''.trim, typeof __keep]";

/// The comparable outcome of running `source`: the JSON result, or the
/// error's kind, exception name and message.
pub fn outcome(rt: &mut Runtime, source: &str) -> std::result::Result<String, String> {
    rt.eval_json(source, "gen.js").map_err(|e| describe(&e))
}

/// An error as compared: its kind and, for exceptions, name and message.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Exception(x) => format!("exception {}: {}", x.name, x.message),
        Error::Syntax { message, location } => format!("syntax {message} at {location}"),
        other => {
            let text = format!("{other:?}");
            text.split(['(', ' ', '{']).next().unwrap_or_default().to_string()
        }
    }
}

/// Snapshot vs no snapshot: the same program must give the same result or
/// the same error. Returns a description of the difference.
pub fn check_snapshot(snap: &EngineFactory, fresh: &EngineFactory, source: &str) -> std::result::Result<(), String> {
    let a = outcome(&mut snap.new_runtime().map_err(|e| e.to_string())?, source);
    let b = outcome(&mut fresh.new_runtime().map_err(|e| e.to_string())?, source);
    if a == b {
        Ok(())
    } else {
        Err(format!("snapshot: {a:?}\nno snapshot: {b:?}\nprogram:\n{source}"))
    }
}

/// Pool-slot isolation: `probe` after `polluter` ran (and was dropped) in
/// the same one-slot factory must see what it sees after a trivial program.
pub fn check_slot_reuse(one_slot: &EngineFactory, polluter: &str, probe: &str) -> std::result::Result<(), String> {
    let run = |first: &str| -> std::result::Result<_, String> {
        let mut a = one_slot.new_runtime().map_err(|e| e.to_string())?;
        let _ = a.eval_json(first, "first.js");
        drop(a);
        let mut b = one_slot.new_runtime().map_err(|e| e.to_string())?;
        Ok((outcome(&mut b, probe), outcome(&mut b, PROBE_SUFFIX)))
    };
    let clean = run("0")?;
    let after = run(polluter)?;
    if clean == after {
        Ok(())
    } else {
        Err(format!("after a trivial program: {clean:?}\nafter the polluter: {after:?}\nprobe:\n{probe}"))
    }
}
