//! TypeScript declarations of a sandbox: what a plugin can use in it.
//!
//! [`declarations`] writes one `.d.ts` text for the sandbox an
//! [`EngineOptions`] describes (the CLI's `jsbox types`). Type-checking a
//! plugin against it (`tsc --noEmit --strict`, with `"lib": ["ES2023"]`
//! and `"types": []`, since jsbox has no DOM and is not node) catches a
//! call with the wrong argument types, or an import of a module the
//! sandbox does not have, before the plugin runs. It declares:
//!
//! - every [`NativeModule`] the [`crate::ModulePolicy`] lets through, as
//!   `declare module "name" { ... }`, with the parameter and return types
//!   of its typed functions derived from their Rust types (see
//!   [`NativeModule`], "Types"): `(Point, f64)` gives
//!   `f(arg0: Point, arg1: number)` and an `interface Point`; an async
//!   function returns a `Promise`; a `raw` one takes and returns `unknown`;
//! - the capability modules the sandbox grants, and only those: `fs`
//!   (with a read or write grant) and `exec` (with an allowed program),
//!   also as `node:fs`, `node:exec`;
//! - the node built-ins every sandbox has (`path`, `console`, `process`,
//!   `buffer`, also with `node:`), the web globals of
//!   `docs/web-platform.md` (`fetch` among them: without a net grant only
//!   `data:` URLs resolve), and a `require` that knows all these modules.
//!
//! The built-ins' declarations are written by hand after the guest's code
//! (`host/src/types/*.d.ts`); the native modules' come from the JSON
//! Schemas of their types ([`schemars`], chosen because its derive follows
//! serde's attributes, renames, tags, defaults and all, so the schema
//! describes the JSON that really crosses, and because it describes a type
//! as deserialized, for arguments, or as serialized, for results).
//!
//! # Examples
//!
//! ```
//! use jsbox::{schemars::JsonSchema, EngineOptions, NativeModule};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Point {
//!     x: f64,
//!     y: f64,
//! }
//!
//! let math = NativeModule::new("math").function("add", |(p,): (Point,)| Ok::<_, String>(p.x + p.y));
//! let dts = jsbox::types::declarations(&EngineOptions::new().native_module(math).allow_read("."));
//! assert!(dts.contains("declare module \"math\" {"));
//! assert!(dts.contains("export function add(arg0: Point): number;"));
//! assert!(dts.contains("declare module \"fs\" {"));
//! assert!(!dts.contains("declare module \"exec\" {"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::factory::allowed_native;
use crate::capabilities::Capability;
use crate::native::NativeModule;
use crate::options::{EngineOptions, ModulePolicy};

const GLOBALS: &str = include_str!("globals.d.ts");

/// The pure built-in modules, written by hand: name and declaration. (The
/// capabilities' are with them, in `crate::capabilities`.)
const BUILTINS: [(&str, &str); 4] = [
    ("path", include_str!("path.d.ts")),
    ("console", include_str!("console.d.ts")),
    ("process", include_str!("process.d.ts")),
    ("buffer", include_str!("buffer.d.ts")),
];

/// The TypeScript declarations (a `.d.ts` file's text) of what a plugin can
/// use in the sandbox `options` describe: see the [module docs](self).
///
/// Nothing is built or read: the text depends only on the options (native
/// modules, grants, module policy), so it is the same for equal options.
pub fn declarations(options: &EngineOptions) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "// What a plugin can use in this jsbox sandbox (jsbox {}, `jsbox types`).\n\
         // Type-check with \"lib\": [\"ES2023\"] and \"types\": [] (no DOM, no @types/node).\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(GLOBALS);
    let granted: Vec<&Capability> =
        options.sandbox.grants.capabilities().filter(|c| allowed_native(&options.sandbox.policy, c.module)).collect();
    // A capability scripts do not `require` may declare globals (none does
    // now: `fetch` is in GLOBALS, since it works without a grant too).
    for capability in granted.iter().filter(|c| !c.requirable && !c.declarations.is_empty()) {
        out.push('\n');
        out.push_str(capability.declarations);
    }

    // Module name -> whether `node:name` names it too.
    let mut modules: BTreeMap<String, bool> = BTreeMap::new();
    let pure = BUILTINS.into_iter().filter(|(name, _)| allowed_pure(&options.sandbox.policy, name));
    let capabilities = granted.iter().filter(|c| c.requirable).map(|c| (c.module, c.declarations));
    for (name, text) in pure.chain(capabilities) {
        out.push('\n');
        out.push_str(text);
        let _ = writeln!(out, "declare module \"node:{name}\" {{\n    export * from \"{name}\";\n    export {{ default }} from \"{name}\";\n}}");
        modules.insert(name.to_string(), true);
    }
    for module in &options.sandbox.natives {
        if !allowed_native(&options.sandbox.policy, module.name()) || modules.contains_key(module.name()) {
            continue;
        }
        out.push('\n');
        out.push_str(&module_declaration(module));
        modules.insert(module.name().to_string(), false);
    }

    out.push_str(
        "\n/** CommonJS `require` of the modules above, or of a file of the plugin's. */\n",
    );
    for (name, node) in &modules {
        let names = if *node {
            format!("\"{name}\" | \"node:{name}\"")
        } else {
            json_string(name)
        };
        let _ = writeln!(
            out,
            "declare function require(id: {names}): typeof import({});",
            json_string(name)
        );
    }
    out.push_str("declare function require(id: `./${string}` | `../${string}`): any;\n");
    out
}

/// Whether a module policy lets a plugin load the pure built-in `name`
/// (the guest's rule: an allow list must name it, data-only allows it).
fn allowed_pure(policy: &ModulePolicy, name: &str) -> bool {
    match policy {
        ModulePolicy::AllowAll | ModulePolicy::DataOnly => true,
        ModulePolicy::Allow(list) => list.contains(name),
        ModulePolicy::Deny(list) => !list.contains(name),
    }
}

/// One native module's `declare module "name" { ... }`.
fn module_declaration(module: &NativeModule) -> String {
    let mut de = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut ser = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut functions = Vec::new();
    let names: BTreeSet<&String> = module
        .functions
        .keys()
        .chain(module.async_functions.keys())
        .collect();
    for name in names {
        let signature = module
            .signatures
            .get(name)
            .map(|s| ((s.args)(&mut de), (s.result)(&mut ser)));
        functions.push((name, module.async_functions.contains_key(name), signature));
    }
    let de_defs = de.take_definitions(true);
    let ser_defs = ser.take_definitions(true);

    // TypeScript names for the definitions: the deserialize side's keep
    // theirs; the serialize side's are shared when their schema is the
    // same, else suffixed `Output`.
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut de_names = BTreeMap::new();
    for key in de_defs.keys() {
        de_names.insert(key.clone(), unique(&mut used, &identifier(key)));
    }
    let mut ser_names = BTreeMap::new();
    let mut ser_emit = Vec::new();
    for (key, schema) in &ser_defs {
        if de_defs.get(key) == Some(schema) {
            ser_names.insert(key.clone(), de_names[key].clone());
        } else {
            let base = identifier(key);
            let name = if used.contains(&base) {
                unique(&mut used, &format!("{base}Output"))
            } else {
                unique(&mut used, &base)
            };
            ser_names.insert(key.clone(), name);
            ser_emit.push(key);
        }
    }

    let mut out = format!("declare module {} {{\n", json_string(module.name()));
    for (key, schema) in &de_defs {
        out.push_str(&definition(&de_names[key], schema, &de_names));
    }
    for key in ser_emit {
        out.push_str(&definition(&ser_names[key], &ser_defs[key], &ser_names));
    }
    let mut members = Vec::new();
    for (i, (name, is_async, signature)) in functions.into_iter().enumerate() {
        let (params, result) = match &signature {
            Some((args, result)) => (
                params(args.as_value(), &de_names),
                ts(result.as_value(), &ser_names),
            ),
            None => ("...args: unknown[]".to_string(), "unknown".to_string()),
        };
        let result = if is_async {
            format!("Promise<{result}>")
        } else {
            result
        };
        let doc = if signature.is_none() {
            "    /** Untyped: registered with `raw`. */\n"
        } else {
            ""
        };
        let key = property_key(name);
        if is_identifier(name) && !RESERVED.contains(&name.as_str()) {
            let _ = writeln!(out, "{doc}    export function {name}({params}): {result};");
            members.push(format!("        {key}: typeof {name};\n"));
        } else {
            let local = format!("__jsbox_fn{i}");
            let _ = writeln!(out, "{doc}    const {local}: ({params}) => {result};");
            if is_identifier(name) {
                let _ = writeln!(out, "    export {{ {local} as {name} }};");
            }
            members.push(format!("        {key}: typeof {local};\n"));
        }
    }
    out.push_str("    const __jsbox_module: {\n");
    for m in members {
        out.push_str(&m);
    }
    out.push_str("    };\n    export default __jsbox_module;\n}\n");
    out
}

/// A named definition inside a module: an interface for a plain object
/// type, a type alias otherwise.
fn definition(name: &str, schema: &Value, names: &BTreeMap<String, String>) -> String {
    let doc = jsdoc(schema, "    ");
    if let Some(o) = schema.as_object() {
        let plain_object = o.get("type").and_then(Value::as_str) == Some("object")
            && o.contains_key("properties")
            && !["anyOf", "oneOf", "allOf", "$ref", "enum", "const"]
                .iter()
                .any(|k| o.contains_key(*k));
        if plain_object {
            return format!(
                "{doc}    export interface {name} {}\n",
                object_body(o, names, "    ")
            );
        }
    }
    format!("{doc}    export type {name} = {};\n", ts(schema, names))
}

/// The parameter list of a function whose arguments (the JS argument
/// array) deserialize as `args`.
fn params(args: &Value, names: &BTreeMap<String, String>) -> String {
    let Some(o) = args.as_object() else {
        return "...args: unknown[]".into();
    };
    // `()`: no arguments.
    if o.get("type").and_then(Value::as_str) == Some("null") {
        return String::new();
    }
    if o.get("type").and_then(Value::as_str) != Some("array") {
        return "...args: unknown[]".into();
    }
    let mut list: Vec<String> = Vec::new();
    if let Some(Value::Array(items)) = o.get("prefixItems") {
        for (i, item) in items.iter().enumerate() {
            list.push(format!("arg{i}: {}", ts(item, names)));
        }
        match o.get("items") {
            None | Some(Value::Bool(false)) => {}
            Some(rest) => list.push(format!("...rest: {}[]", paren(ts(rest, names)))),
        }
    } else {
        let item = o
            .get("items")
            .map_or_else(|| "unknown".to_string(), |i| ts(i, names));
        list.push(format!("...args: {}[]", paren(item)));
    }
    list.join(", ")
}

/// The TypeScript type of a JSON Schema (the subset schemars writes).
fn ts(schema: &Value, names: &BTreeMap<String, String>) -> String {
    match schema {
        Value::Bool(true) => "unknown".into(),
        Value::Bool(false) => "never".into(),
        Value::Object(o) => object_ts(o, names),
        _ => "unknown".into(),
    }
}

fn object_ts(o: &Map<String, Value>, names: &BTreeMap<String, String>) -> String {
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        return ref_name(r, names);
    }
    if let Some(c) = o.get("const") {
        return literal(c);
    }
    if let Some(Value::Array(values)) = o.get("enum") {
        return union(values.iter().map(literal).collect());
    }
    let mut parts = Vec::new();
    if let Some(t) = o.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let alternatives = types
            .into_iter()
            .map(|t| match t {
                "null" => "null".to_string(),
                "boolean" => "boolean".to_string(),
                "string" => "string".to_string(),
                "number" | "integer" => "number".to_string(),
                "array" => array_ts(o, names),
                "object" => object_type_ts(o, names),
                _ => "unknown".to_string(),
            })
            .collect();
        parts.push(union(alternatives));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(a)) = o.get(key) {
            parts.push(union(a.iter().map(|s| ts(s, names)).collect()));
        }
    }
    if let Some(Value::Array(a)) = o.get("allOf") {
        parts.extend(a.iter().map(|s| ts(s, names)));
    }
    match parts.len() {
        0 => "unknown".into(),
        1 => parts.remove(0),
        _ => parts.into_iter().map(paren).collect::<Vec<_>>().join(" & "),
    }
}

fn array_ts(o: &Map<String, Value>, names: &BTreeMap<String, String>) -> String {
    if let Some(Value::Array(items)) = o.get("prefixItems") {
        let mut list: Vec<String> = items.iter().map(|i| ts(i, names)).collect();
        match o.get("items") {
            None | Some(Value::Bool(false)) => {}
            Some(rest) => list.push(format!("...{}[]", paren(ts(rest, names)))),
        }
        return format!("[{}]", list.join(", "));
    }
    let item = o
        .get("items")
        .map_or_else(|| "unknown".to_string(), |i| ts(i, names));
    format!("{}[]", paren(item))
}

fn object_type_ts(o: &Map<String, Value>, names: &BTreeMap<String, String>) -> String {
    match o.get("properties") {
        Some(Value::Object(p)) if !p.is_empty() => object_body(o, names, ""),
        _ => {
            let value = match o.get("additionalProperties") {
                Some(Value::Bool(false)) => return "{}".into(),
                Some(schema) => ts(schema, names),
                None => "unknown".into(),
            };
            format!("Record<string, {value}>")
        }
    }
}

/// `{ ... }` of an object schema's properties: one per line (with their
/// descriptions) below `indent`, or on one line when `indent` is empty.
fn object_body(o: &Map<String, Value>, names: &BTreeMap<String, String>, indent: &str) -> String {
    let empty = Map::new();
    let properties = o
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: BTreeSet<&str> = o
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<(String, &Value)> = properties
        .iter()
        .map(|(key, schema)| {
            let optional = if required.contains(key.as_str()) {
                ""
            } else {
                "?"
            };
            (
                format!("{}{optional}: {}", property_key(key), ts(schema, names)),
                schema,
            )
        })
        .collect();
    if indent.is_empty() {
        let fields: Vec<String> = fields.into_iter().map(|(f, _)| f).collect();
        return format!("{{ {} }}", fields.join("; "));
    }
    let inner = format!("{indent}    ");
    let mut out = String::from("{\n");
    for (field, schema) in fields {
        out.push_str(&jsdoc(schema, &inner));
        let _ = writeln!(out, "{inner}{field};");
    }
    out.push_str(indent);
    out.push('}');
    out
}

/// A `/** ... */` comment of a schema's description, or nothing.
fn jsdoc(schema: &Value, indent: &str) -> String {
    match schema.get("description").and_then(Value::as_str) {
        Some(text) if !text.trim().is_empty() => {
            let text = text.replace("*/", "*\\/");
            let mut out = format!("{indent}/**\n");
            for line in text.lines() {
                let _ = writeln!(out, "{}", format!("{indent} * {line}").trim_end());
            }
            let _ = writeln!(out, "{indent} */");
            out
        }
        _ => String::new(),
    }
}

/// The TypeScript name a `$ref` names (`#/$defs/Name`).
fn ref_name(reference: &str, names: &BTreeMap<String, String>) -> String {
    let key = reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .replace("~1", "/")
        .replace("~0", "~");
    names.get(&key).cloned().unwrap_or_else(|| "unknown".into())
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => value.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => {
            let fields: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}: {}", property_key(k), literal(v)))
                .collect();
            format!("{{ {} }}", fields.join("; "))
        }
    }
}

/// `a | b`, without repeats; `unknown` absorbs the rest.
fn union(types: Vec<String>) -> String {
    let mut seen = Vec::new();
    for t in types {
        if t == "unknown" {
            return t;
        }
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    match seen.len() {
        0 => "never".into(),
        1 => seen.remove(0),
        _ => seen.into_iter().map(paren).collect::<Vec<_>>().join(" | "),
    }
}

/// `t` in parentheses when it is a union or intersection.
fn paren(t: String) -> String {
    if t.contains(" | ") || t.contains(" & ") {
        format!("({t})")
    } else {
        t
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Words a function declaration cannot be named.
const RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
    "interface",
    "package",
    "private",
    "protected",
    "public",
    "await",
];

fn property_key(key: &str) -> String {
    if is_identifier(key) {
        key.to_string()
    } else {
        json_string(key)
    }
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// A definition's name as a TypeScript identifier.
fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || RESERVED.contains(&out.as_str())
    {
        out.insert(0, '_');
    }
    out
}

fn unique(used: &mut BTreeSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    used.insert(name.clone());
    name
}
