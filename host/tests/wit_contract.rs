//! The committed guest is a core module following the canonical ABI of the
//! `sandbox` world in `wit/`: this checks its real imports and exports
//! against the signatures `wit-parser` derives from the WIT.

use std::collections::BTreeMap;

use wasmparser::{Parser, Payload, TypeRef, ValType};
use wit_parser::abi::{WasmSignature, WasmType};
use wit_parser::{Resolve, SizeAlign, TypeDefKind, WorldItem};

type Sig = (Vec<ValType>, Vec<ValType>);

fn core(ty: &WasmType) -> ValType {
    match ty {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => ValType::I32,
        WasmType::I64 | WasmType::PointerOrI64 => ValType::I64,
        WasmType::F32 => ValType::F32,
        WasmType::F64 => ValType::F64,
    }
}

/// (imports by (module, name), exports by name) of the guest module.
fn guest_signatures() -> (BTreeMap<(String, String), Sig>, BTreeMap<String, Sig>) {
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut imports = BTreeMap::new();
    let mut exports = BTreeMap::new();
    for payload in Parser::new(0).parse_all(jsbox::guest_wasm()) {
        match payload.unwrap() {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let f = ty.unwrap();
                    types.push((f.params().to_vec(), f.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    if let TypeRef::Func(t) = import.ty {
                        funcs.push(t);
                        imports.insert((import.module.to_string(), import.name.to_string()), types[t as usize].clone());
                    }
                }
            }
            Payload::FunctionSection(reader) => funcs.extend(reader.into_iter().map(Result::unwrap)),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.unwrap();
                    if export.kind == wasmparser::ExternalKind::Func {
                        let t = funcs[export.index as usize];
                        exports.insert(export.name.to_string(), types[t as usize].clone());
                    }
                }
            }
            _ => {}
        }
    }
    (imports, exports)
}

#[test]
fn guest_matches_the_wit_world() {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit")).unwrap();
    let world = resolve.select_world(&[pkg], Some("sandbox")).unwrap();
    let (imports, exports) = guest_signatures();
    let sig = |s: WasmSignature| -> Sig {
        (s.params.iter().map(core).collect(), s.results.iter().map(core).collect())
    };

    let mut checked = 0;
    for (_, item) in &resolve.worlds[world].imports {
        let WorldItem::Interface { id, .. } = item else { continue };
        let module = resolve.id_of(*id).unwrap();
        for (name, func) in &resolve.interfaces[*id].functions {
            let want = sig(resolve.wasm_signature(wit_parser::abi::AbiVariant::GuestImport, func));
            let got = imports.get(&(module.clone(), name.clone()));
            assert_eq!(got, Some(&want), "import {module}#{name}");
            checked += 1;
        }
    }
    for (_, item) in &resolve.worlds[world].exports {
        let WorldItem::Interface { id, .. } = item else { continue };
        let iface = resolve.id_of(*id).unwrap();
        for (name, func) in &resolve.interfaces[*id].functions {
            let export = format!("{iface}#{name}");
            let want = sig(resolve.wasm_signature(wit_parser::abi::AbiVariant::GuestExport, func));
            assert_eq!(exports.get(&export), Some(&want), "export {export}");
            // Every export that returns through memory has a post-return.
            if !want.1.is_empty() {
                let post = exports.get(&format!("cabi_post_{export}"));
                assert_eq!(post, Some(&(vec![ValType::I32], vec![])), "post-return of {export}");
            }
            checked += 1;
        }
    }
    // host: call, console, call-async, take-completion, loop-now,
    // resolve-module, user-code; guest: init, eval, call, call-columns,
    // require, run-loop.
    assert_eq!(checked, 13, "functions checked");
    assert_eq!(exports.get("cabi_realloc"), Some(&(vec![ValType::I32; 4], vec![ValType::I32])));

    // Nothing else may be imported: the WIT world plus the small WASI set
    // the host implements (see host/src/imports.rs).
    let wasi = ["random_get", "environ_get", "environ_sizes_get", "clock_time_get", "fd_close",
                "fd_fdstat_get", "fd_seek", "fd_write", "proc_exit"];
    for (module, name) in imports.keys() {
        let known = module == "jsbox:sandbox/host@0.1.0"
            || (module == "wasi_snapshot_preview1" && wasi.contains(&name.as_str()));
        assert!(known, "unexpected import {module}#{name}");
    }
}

/// The host reads a guest's `js-error` record at fixed offsets
/// (`host/src/abi.rs`); they must be the canonical ABI's layout of the WIT
/// record, field by field.
#[test]
fn js_error_layout_matches_the_wit_record() {
    let mut resolve = Resolve::default();
    resolve.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit")).unwrap();
    let (_, record) = resolve
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some("js-error"))
        .expect("wit has a js-error record");
    let TypeDefKind::Record(record) = &record.kind else { panic!("js-error is a record") };
    let mut sizes = SizeAlign::default();
    sizes.fill(&resolve);
    let offsets = sizes.field_offsets(record.fields.iter().map(|f| &f.ty));
    let wit: Vec<(&str, usize)> =
        record.fields.iter().zip(offsets).map(|(f, (offset, _))| (f.name.as_str(), offset.size_wasm32())).collect();
    assert_eq!(wit, jsbox::fuzzing::js_error_fields());
}

/// The `init` payload is one serde type on the host
/// (`host/src/factory/payload.rs`); the guest reads it by key, in Rust
/// (`registry.get::<..>("key")` in guest/src/lib.rs) and in JS
/// (`registry.key` in guest/src/*.js). Every key the guest reads must be a
/// field, and every field not marked host-only must be read.
#[test]
fn the_guest_reads_the_init_payload_the_host_writes() {
    let guest = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest/src");
    let mut read = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(guest).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let is_js = path.extension().is_some_and(|e| e == "js");
        let is_rs = path.extension().is_some_and(|e| e == "rs");
        for (i, _) in text.match_indices("registry.") {
            let rest = &text[i + "registry.".len()..];
            let key = if is_rs && rest.starts_with("get::<") {
                // registry.get::<_, Option<T>>("key")
                rest.split_once("(\"").and_then(|(_, k)| k.split_once('"')).map(|(k, _)| k)
            } else if is_js {
                Some(rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap())
            } else {
                None
            };
            if let Some(key) = key.filter(|k| !k.is_empty() && *k != "clone") {
                read.insert(key.to_string());
            }
        }
    }
    let fields = jsbox::fuzzing::init_payload_fields();
    let written: std::collections::BTreeSet<String> = fields.iter().map(|(k, _)| k.clone()).collect();
    let unknown: Vec<&String> = read.difference(&written).collect();
    assert!(unknown.is_empty(), "the guest reads keys the host does not write: {unknown:?}");
    let unread: Vec<&String> = fields.iter().filter(|(k, guest)| *guest && !read.contains(k)).map(|(k, _)| k).collect();
    assert!(unread.is_empty(), "fields not marked host-only that the guest never reads: {unread:?}");
}

#[test]
fn the_host_knows_the_built_ins_the_guest_implements() {
    let prelude = include_str!("../../guest/src/prelude.js");
    // `const NODE_JS_MODULES = [...]` and `const PURE_MODULES = [...]`:
    // every quoted name on those two lines.
    let lists = ["const NODE_JS_MODULES =", "const PURE_MODULES ="];
    let mut guest: Vec<&str> = prelude
        .lines()
        .filter(|l| lists.iter().any(|start| l.trim_start().starts_with(start)))
        .flat_map(|l| l.split('\'').skip(1).step_by(2))
        .collect();
    let mut host = jsbox::fuzzing::guest_builtins().to_vec();
    guest.sort();
    host.sort();
    assert!(guest.len() >= 5, "the prelude's lists were not found: {guest:?}");
    assert_eq!(host, guest, "registry::GUEST_BUILTINS and the prelude's PURE_MODULES differ");
}
