//! The module specifiers a source names with string literals:
//! `require("x")` calls and `import("x")` expressions. Found once, by
//! parsing (oxc), for every consumer, so they all agree: the loaders'
//! resolution of the registry (`registry.rs`), and the guest, which
//! resolves them at build time so runtimes load them without asking
//! (registry modules' in the init payload, resolved files' in the
//! `resolve-module` answer). A literal inside a comment or a string is not
//! a call, and is not found.
//!
//! A source that does not parse names nothing: its syntax error is
//! reported when the guest compiles it.

use oxc::allocator::Allocator;
use oxc::ast::ast::{Argument, CallExpression, Expression, ImportExpression, TemplateLiteral};
use oxc::ast_visit::{walk, Visit};
use oxc::diagnostics::Severity;
use oxc::parser::Parser;
use oxc::span::SourceType;
use serde::Serialize;

/// The literal specifiers of one source, in source order.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub(crate) struct Literals {
    /// `require("x")`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) requires: Vec<String>,
    /// `import("x")`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) imports: Vec<String>,
}

impl Literals {
    pub(crate) fn is_empty(&self) -> bool {
        self.requires.is_empty() && self.imports.is_empty()
    }
}

/// The literals of module `name` (its extension picks the syntax; a
/// `.js` file is tried as an ES module, then as CommonJS, which allows
/// what modules do not: `with`, a top-level `return`).
pub(crate) fn of(name: &str, source: &str) -> Literals {
    if name.ends_with(".json") {
        return Literals::default();
    }
    let typed = SourceType::from_path(name).unwrap_or_else(|_| SourceType::mjs());
    let tries = if name.ends_with(".mjs") || name.ends_with(".mts") {
        vec![typed]
    } else {
        vec![typed.with_module(true), typed.with_commonjs(true)]
    };
    for source_type in tries {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, source, source_type).parse();
        if parsed.panicked || parsed.diagnostics.iter().any(|d| d.severity == Severity::Error) {
            continue;
        }
        let mut found = Literals::default();
        found.visit_program(&parsed.program);
        return found;
    }
    Literals::default()
}

/// A template literal without substitutions, as the string it is.
fn plain_template(t: &TemplateLiteral<'_>) -> Option<String> {
    match (t.expressions.is_empty(), t.quasis.as_slice()) {
        (true, [quasi]) => quasi.value.cooked.as_ref().map(|c| c.to_string()),
        _ => None,
    }
}

impl<'a> Visit<'a> for Literals {
    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if matches!(&it.callee, Expression::Identifier(id) if id.name == "require") {
            let spec = match it.arguments.first() {
                Some(Argument::StringLiteral(s)) => Some(s.value.to_string()),
                Some(Argument::TemplateLiteral(t)) => plain_template(t),
                _ => None,
            };
            self.requires.extend(spec.filter(|s| !s.is_empty()));
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        let spec = match &it.source {
            Expression::StringLiteral(s) => Some(s.value.to_string()),
            Expression::TemplateLiteral(t) => plain_template(t),
            _ => None,
        };
        self.imports.extend(spec.filter(|s| !s.is_empty()));
        walk::walk_import_expression(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_not_comments_or_strings() {
        let src = "const a = require('a');\nconst b = require( \"./b/c\" ); require(x); require(`t`); require(`${x}`);\n\
                   // require('commented')\nconst s = \"require('quoted')\"; obj.require('method');\n\
                   import('./lazy.mjs').then(() => import(name));";
        let found = of("main.js", src);
        assert_eq!(found.requires, ["a", "./b/c", "t"]);
        assert_eq!(found.imports, ["./lazy.mjs"]);
    }

    #[test]
    fn commonjs_that_is_not_a_module_and_typescript() {
        // `with` and a top-level `return` are script-only.
        let cjs = "with (Math) { var m = max(1, 2); }\nif (m) return;\nmodule.exports = require('dep');";
        assert_eq!(of("legacy.js", cjs).requires, ["dep"]);
        assert_eq!(of("x.ts", "const y: number = require('typed');").requires, ["typed"]);
        assert!(of("broken.js", "require('a'").is_empty());
        assert!(of("data.json", "{\"require('a')\": 1}").is_empty());
    }
}
