//! TypeScript: types stripped when the factory is built, as node's
//! `--experimental-strip-types` strips them.
//!
//! A `.ts`, `.mts` or `.cts` module is parsed by oxc, checked for the
//! syntax node refuses to strip (it has runtime semantics: `enum`,
//! namespaces holding values, constructor parameter properties,
//! `import x = require()`, `export =`, decorators), and printed back as
//! JavaScript without its types, with a source map from the printed code to
//! the `.ts` file ([`super::sourcemap::LineMap`]). Runtimes run the printed
//! code; errors are mapped back through the map. No `tsconfig.json` is read
//! and nothing is type-checked, as in node. Like node (and TypeScript's
//! `verbatimModuleSyntax`), only `import type` / `export type` (and
//! `type`-marked specifiers) are removed from imports: an import of a name
//! that is only a type must say so.

use std::path::Path;

use oxc::allocator::Allocator;
use oxc::ast::ast::{
    Declaration, Decorator, ExportNamedDeclaration, FormalParameter, ImportOrExportKind, Statement,
    TSEnumDeclaration, TSExportAssignment, TSImportEqualsDeclaration, TSNamespaceDeclaration,
    TSNamespaceDeclarationBody,
};
use oxc::ast_visit::{walk, Visit};
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::parser::Parser;
use oxc::semantic::SemanticBuilder;
use oxc::span::{SourceType, Span};
use oxc::transformer::{TransformOptions, Transformer};

use super::sourcemap::LineMap;
use crate::error::{Error, Location};

/// Whether a module path names a TypeScript file (`.ts`, `.mts`, `.cts`;
/// declaration files `.d.ts` included: they strip to nothing).
pub(crate) fn is_typescript(path: &str) -> bool {
    matches!(path.rsplit_once('.').map(|(_, e)| e), Some("ts" | "mts" | "cts"))
}

/// A module with its types stripped.
pub(crate) struct Stripped {
    /// The JavaScript.
    pub(crate) code: String,
    /// From `code` back to the TypeScript source.
    pub(crate) map: LineMap,
}

/// How the stripped file will be loaded, which decides how it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An ES module (`.mts`, or a `.ts` file an ES module by its package).
    Module,
    /// CommonJS (`.cts`, or a `.ts` file CommonJS by its package).
    CommonJs,
    /// Not known yet: the syntax decides (node's detection).
    Either,
}

/// Strips the types of `source`, the module at `path` (the name errors and
/// the source map use).
///
/// # Errors
///
/// [`Error::Syntax`] when it does not parse (at the first error's line and
/// column), [`Error::TypeScriptUnsupported`] for syntax types cannot be
/// stripped from.
pub(crate) fn strip(path: &str, source: &str, kind: Kind) -> Result<Stripped, Error> {
    let allocator = Allocator::default();
    let source_type = SourceType::ts()
        .with_module(kind == Kind::Module)
        .with_commonjs(kind == Kind::CommonJs)
        .with_unambiguous(kind == Kind::Either);
    let parsed = Parser::new(&allocator, source, source_type).parse();
    let location = |offset: u32| {
        let (line, column) = line_column(source, offset);
        Location { file: shown(path), line, column }
    };
    if let Some(e) = parsed.diagnostics.iter().find(|d| d.severity == oxc::diagnostics::Severity::Error) {
        let offset = e.labels.first().map_or(0, |l| l.offset());
        return Err(Error::Syntax { message: e.message.to_string(), location: location(offset) });
    }
    let mut program = parsed.program;

    let mut check = Erasable { refused: None };
    check.visit_program(&program);
    if let Some((construct, span)) = check.refused {
        let at = location(span.start);
        return Err(Error::TypeScriptUnsupported {
            construct: construct.to_string(),
            file: at.file,
            line: at.line,
            column: at.column,
        });
    }

    let semantic = SemanticBuilder::new().build(&program);
    let scoping = semantic.semantic.into_scoping();
    let mut options = TransformOptions::default();
    options.typescript.only_remove_type_imports = true;
    let source_path = Path::new(path);
    let transformed = Transformer::new(&allocator, source_path, &options).build_with_scoping(scoping, &mut program);
    if let Some(e) = transformed.diagnostics.iter().find(|d| d.severity == oxc::diagnostics::Severity::Error) {
        let offset = e.labels.first().map_or(0, |l| l.offset());
        return Err(Error::Syntax { message: e.message.to_string(), location: location(offset) });
    }
    let printed = Codegen::new()
        .with_options(CodegenOptions { source_map_path: Some(source_path.to_path_buf()), ..CodegenOptions::default() })
        .build(&program);
    let map = match &printed.map {
        Some(map) => LineMap::from_tokens(
            map.get_tokens().map(|t| {
                (t.get_dst_line(), t.get_dst_col(), t.get_src_line(), t.get_src_col(), t.get_source_id().unwrap_or(0))
            }),
            vec![path.trim_start_matches('/').to_string()],
        ),
        None => LineMap::default(),
    };
    Ok(Stripped { code: printed.code, map })
}

/// The path as errors show it: rooted, as module names are.
fn shown(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(source: &str, offset: u32) -> (u32, u32) {
    let before = &source[..(offset as usize).min(source.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() as u32 + 1)
}

/// Finds the first construct type stripping cannot erase: the ones node's
/// `--experimental-strip-types` refuses (`ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX`),
/// and decorators (V8 has none, so node fails on them too).
struct Erasable {
    refused: Option<(&'static str, Span)>,
}

impl Erasable {
    fn refuse(&mut self, construct: &'static str, span: Span) {
        if self.refused.is_none_or(|(_, s)| span.start < s.start) {
            self.refused = Some((construct, span));
        }
    }
}

/// Whether a namespace body holds only types (so it is erased whole).
fn type_only_body(body: &TSNamespaceDeclarationBody<'_>) -> bool {
    match body {
        TSNamespaceDeclarationBody::TSNamespaceDeclaration(inner) => inner.declare || type_only_body(&inner.body),
        TSNamespaceDeclarationBody::TSModuleBlock(block) => block.body.iter().all(type_only_statement),
    }
}

fn type_only_statement(statement: &Statement<'_>) -> bool {
    if let Some(declaration) = statement.as_declaration() {
        return declaration_is_type_only(declaration);
    }
    match statement {
        Statement::ExportNamedDeclaration(e) => export_is_type_only(e),
        Statement::ExportDeclaration(e) => declaration_is_type_only(&e.declaration),
        Statement::ImportDeclaration(i) => i.import_kind == ImportOrExportKind::Type,
        Statement::EmptyStatement(_) => true,
        _ => false,
    }
}

fn export_is_type_only(e: &ExportNamedDeclaration<'_>) -> bool {
    e.export_kind == ImportOrExportKind::Type
}

/// Whether a declaration, exported or not, declares types only
/// (`type Q = 1`, `export interface I {}`, `declare const x: number`).
fn declaration_is_type_only(d: &Declaration<'_>) -> bool {
    match d {
        Declaration::TSTypeAliasDeclaration(_) | Declaration::TSInterfaceDeclaration(_) => true,
        Declaration::TSNamespaceDeclaration(n) => n.declare || type_only_body(&n.body),
        Declaration::TSEnumDeclaration(e) => e.declare,
        Declaration::VariableDeclaration(v) => v.declare,
        Declaration::FunctionDeclaration(f) => f.declare || f.body.is_none(),
        Declaration::ClassDeclaration(c) => c.declare,
        _ => false,
    }
}

impl<'a> Visit<'a> for Erasable {
    fn visit_ts_enum_declaration(&mut self, it: &TSEnumDeclaration<'a>) {
        if !it.declare {
            self.refuse(if it.r#const { "const enum" } else { "enum" }, it.span);
        }
    }

    fn visit_ts_namespace_declaration(&mut self, it: &TSNamespaceDeclaration<'a>) {
        if !it.declare && !type_only_body(&it.body) {
            self.refuse("namespace with values", it.span);
            return;
        }
        walk::walk_ts_namespace_declaration(self, it);
    }

    fn visit_formal_parameter(&mut self, it: &FormalParameter<'a>) {
        if it.accessibility.is_some() || it.readonly || it.r#override {
            self.refuse("parameter property", it.span);
        }
        walk::walk_formal_parameter(self, it);
    }

    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        if it.import_kind != ImportOrExportKind::Type {
            self.refuse("import alias (import ... =)", it.span);
        }
    }

    fn visit_ts_export_assignment(&mut self, it: &TSExportAssignment<'a>) {
        self.refuse("export assignment (export =)", it.span);
    }

    fn visit_decorator(&mut self, it: &Decorator<'a>) {
        self.refuse("decorator", it.span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn construct(source: &str) -> (String, u32, u32) {
        match strip("a.ts", source, Kind::Module) {
            Err(Error::TypeScriptUnsupported { construct, line, column, .. }) => (construct, line, column),
            Err(e) => panic!("{e}"),
            Ok(s) => panic!("stripped: {}", s.code),
        }
    }

    #[test]
    fn types_go_values_stay() {
        let s = strip(
            "a.ts",
            "import type { T } from './t.ts';\ninterface I { a: number }\ntype U = string;\n\
             export function f<X>(a: number, b?: string): number { return (a as number)!; }\n\
             declare const g: number;\nnamespace Types { export type Q = 1 }\nexport class C implements I { a!: number; private b = 1; }\n",
            Kind::Module,
        )
        .unwrap();
        assert!(!s.code.contains("interface") && !s.code.contains(": number") && !s.code.contains("t.ts"), "{}", s.code);
        assert!(s.code.contains("export function f(a, b)") && s.code.contains("b = 1"), "{}", s.code);
        assert!(!s.code.contains("declare"), "{}", s.code);
    }

    #[test]
    fn runtime_syntax_is_refused_with_its_position() {
        assert_eq!(construct("const a = 1;\n  enum E { A }\n"), ("enum".into(), 2, 3));
        assert_eq!(construct("const enum E { A }"), ("const enum".into(), 1, 1));
        assert_eq!(construct("namespace N { export const x = 1 }"), ("namespace with values".into(), 1, 1));
        assert_eq!(construct("class A { constructor(private x: number) {} }"), ("parameter property".into(), 1, 23));
        assert_eq!(construct("import fs = require('fs');").0, "import alias (import ... =)");
        assert_eq!(construct("@d class A {}").0, "decorator");
        // Declared (ambient) ones are types only.
        assert!(strip("a.ts", "declare enum E { A }\ndeclare namespace N { const x: 1 }\n", Kind::Module).is_ok());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        match strip("/lib/a.ts", "let a: number = 1;\nlet b = ;\n", Kind::Module) {
            Err(Error::Syntax { location, .. }) => assert_eq!((location.file.as_str(), location.line), ("/lib/a.ts", 2)),
            other => panic!("{:?}", other.map(|s| s.code)),
        }
    }
}
