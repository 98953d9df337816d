//! A snapshot split into code shared by every plugin and an image of its
//! own, for [`crate::Compile::Shared`].
//!
//! Wizer's snapshot of one guest differs from another's only in its memory
//! (the data segments and the initial size) and in the values of its
//! mutable globals; the code is the guest's, byte for byte. [`split`]
//! rewrites a snapshot into:
//!
//! - the **code module**: the snapshot with no data segments, a memory of
//!   zero pages, every mutable global zeroed and exported (as
//!   `jsbox:global:N`) and the memory exported as `jsbox:memory`. It is the
//!   same bytes for every snapshot of the guest, so it is compiled once and
//!   found in the disk cache by every plugin after that;
//! - the **image**: the memory's size, its segments and the globals' values,
//!   which [`Image::apply`] writes into each new instance of the code module
//!   before anything runs in it.
//!
//! A whole snapshot compiled as one module gets its memory from wasmtime's
//! copy-on-write image instead, which is faster per runtime; the image is
//! what lets a new plugin skip compilation altogether.

use std::ops::Range;

use wasm_encoder::{ConstExpr, ExportKind, RawSection};
use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload};
use wasmtime::{AsContextMut, Instance, Val};

use crate::error::{Error, Result};

/// The export the code module gives its memory.
const MEMORY_EXPORT: &str = "jsbox:memory";

/// A snapshot's own state: what the code module's instances start from.
pub(crate) struct Image {
    /// The snapshot module, which the segments index into.
    snapshot: Vec<u8>,
    /// Wasm pages the memory starts with.
    pages: u64,
    /// Active data segments: address and bytes (a range of `snapshot`).
    segments: Vec<(usize, Range<usize>)>,
    /// The mutable globals' export names and initial values.
    globals: Vec<(String, Val)>,
}

impl Image {
    /// The bytes the segments hold (what each runtime copies).
    pub(crate) fn len(&self) -> usize {
        self.segments.iter().map(|(_, r)| r.len()).sum()
    }

    /// Gives a fresh instance of the code module this image's state.
    /// `max_memory` is the runtimes' memory limit, for the error.
    pub(crate) fn apply(&self, mut store: impl AsContextMut, instance: &Instance, max_memory: usize) -> Result<()> {
        let mut store = store.as_context_mut();
        let memory = instance
            .get_memory(&mut store, MEMORY_EXPORT)
            .ok_or_else(|| Error::Engine("the shared code module has no memory export".into()))?;
        let grow = self.pages.saturating_sub(memory.size(&store));
        if grow > 0 {
            // Refused only past the memory limit: the snapshot itself is
            // larger than the runtimes may be.
            memory.grow(&mut store, grow).map_err(|_| Error::OutOfMemory { limit: max_memory })?;
        }
        let data = memory.data_mut(&mut store);
        for (address, range) in &self.segments {
            let to = data
                .get_mut(*address..*address + range.len())
                .ok_or_else(|| Error::Engine("a snapshot segment lies outside its memory".into()))?;
            to.copy_from_slice(&self.snapshot[range.clone()]);
        }
        for (name, value) in &self.globals {
            let global = instance
                .get_global(&mut store, name)
                .ok_or_else(|| Error::Engine(format!("the shared code module has no export {name}")))?;
            global.set(&mut store, *value).map_err(Error::engine)?;
        }
        Ok(())
    }
}

/// Splits a Wizer snapshot into its code module and its image (see the
/// module docs). Fails on a module this split does not handle (more than
/// one memory, passive data, globals set by anything but a constant); the
/// caller then compiles the snapshot whole.
pub(crate) fn split(snapshot: Vec<u8>) -> Result<(Vec<u8>, Image)> {
    let malformed = |e: &dyn std::fmt::Display| Error::Engine(format!("cannot split the snapshot: {e}"));
    let mut code = wasm_encoder::Module::new();
    let mut pages = None;
    let mut segments = Vec::new();
    let mut globals = Vec::new();
    let mut extra_exports = Vec::new();
    let mut exports_written = false;
    let raw = |code: &mut wasm_encoder::Module, id: u8, range: Range<usize>| {
        code.section(&RawSection { id, data: &snapshot[range] });
    };

    for payload in Parser::new(0).parse_all(&snapshot) {
        match payload.map_err(|e| malformed(&e))? {
            Payload::Version { .. } | Payload::End(_) | Payload::CodeSectionEntry(_) => {}
            Payload::TypeSection(r) => raw(&mut code, 1, r.range()),
            Payload::ImportSection(r) => {
                for import in r.clone().into_imports() {
                    let import = import.map_err(|e| malformed(&e))?;
                    if matches!(import.ty, wasmparser::TypeRef::Memory(_) | wasmparser::TypeRef::Global(_)) {
                        return Err(malformed(&"it imports a memory or a global"));
                    }
                }
                raw(&mut code, 2, r.range())
            }
            Payload::FunctionSection(r) => raw(&mut code, 3, r.range()),
            Payload::TableSection(r) => raw(&mut code, 4, r.range()),
            Payload::MemorySection(r) => {
                let memories: Vec<_> = r.into_iter().collect::<std::result::Result<_, _>>().map_err(|e| malformed(&e))?;
                let [memory] = memories.as_slice() else { return Err(malformed(&"not one memory")) };
                if memory.memory64 || memory.shared {
                    return Err(malformed(&"a 64-bit or shared memory"));
                }
                pages = Some(memory.initial);
                let mut section = wasm_encoder::MemorySection::new();
                section.memory(wasm_encoder::MemoryType {
                    minimum: 0,
                    maximum: memory.maximum,
                    memory64: false,
                    shared: false,
                    page_size_log2: memory.page_size_log2,
                });
                code.section(&section);
                extra_exports.push((MEMORY_EXPORT.to_string(), ExportKind::Memory, 0));
            }
            Payload::GlobalSection(r) => {
                let mut section = wasm_encoder::GlobalSection::new();
                for (index, global) in r.into_iter().enumerate() {
                    let global = global.map_err(|e| malformed(&e))?;
                    let ty = wasm_encoder::GlobalType {
                        val_type: val_type(global.ty.content_type).ok_or_else(|| malformed(&"a global of a reference type"))?,
                        mutable: global.ty.mutable,
                        shared: false,
                    };
                    let value = const_value(&global.init_expr).ok_or_else(|| malformed(&"a global set by a non-constant"))?;
                    if !global.ty.mutable {
                        section.global(ty, &const_expr(&value));
                        continue;
                    }
                    let name = format!("jsbox:global:{index}");
                    section.global(ty, &const_expr(&zero(&value)));
                    extra_exports.push((name.clone(), ExportKind::Global, index as u32));
                    globals.push((name, value));
                }
                code.section(&section);
            }
            Payload::ExportSection(r) => {
                let mut section = wasm_encoder::ExportSection::new();
                for export in r {
                    let export = export.map_err(|e| malformed(&e))?;
                    section.export(export.name, export_kind(export.kind), export.index);
                }
                for (name, kind, index) in &extra_exports {
                    section.export(name, *kind, *index);
                }
                code.section(&section);
                exports_written = true;
            }
            Payload::StartSection { range, .. } => raw(&mut code, 8, range),
            Payload::ElementSection(r) => raw(&mut code, 9, r.range()),
            // Counts the passive segments only, which the code keeps.
            Payload::DataCountSection { .. } => {
                code.section(&wasm_encoder::DataCountSection { count: passive_count(&snapshot)? });
            }
            Payload::CodeSectionStart { range, .. } => raw(&mut code, 10, range),
            // Wizer turns the guest's active segments into empty passive
            // ones (code may name them by index) and appends the snapshot's
            // as active ones: the passive stay with the code, the active
            // are the image.
            Payload::DataSection(r) => {
                let mut passive = wasm_encoder::DataSection::new();
                for data in r {
                    let data = data.map_err(|e| malformed(&e))?;
                    match data.kind {
                        DataKind::Passive => {
                            passive.passive(data.data.iter().copied());
                        }
                        DataKind::Active { memory_index: 0, offset_expr } => {
                            let Some(Val::I32(address)) = const_value(&offset_expr) else {
                                return Err(malformed(&"a data segment at a non-constant address"));
                            };
                            segments.push((address as u32 as usize, data.range.end - data.data.len()..data.range.end));
                        }
                        DataKind::Active { .. } => return Err(malformed(&"a data segment of another memory")),
                    }
                }
                if !passive.is_empty() {
                    code.section(&passive);
                }
            }
            Payload::CustomSection(r) => {
                code.section(&wasm_encoder::CustomSection { name: r.name().into(), data: r.data().into() });
            }
            other => return Err(malformed(&format!("an unexpected section ({:?})", other.as_section()))),
        }
    }
    if !exports_written {
        return Err(malformed(&"no export section"));
    }
    let pages = pages.ok_or_else(|| malformed(&"no memory"))?;
    Ok((code.finish(), Image { snapshot, pages, segments, globals }))
}

/// How many passive data segments `wasm` has.
fn passive_count(wasm: &[u8]) -> Result<u32> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::DataSection(r)) = payload {
            let mut count = 0;
            for data in r {
                let data = data.map_err(|e| Error::Engine(format!("cannot split the snapshot: {e}")))?;
                count += u32::from(matches!(data.kind, DataKind::Passive));
            }
            return Ok(count);
        }
    }
    Ok(0)
}

fn val_type(ty: wasmparser::ValType) -> Option<wasm_encoder::ValType> {
    Some(match ty {
        wasmparser::ValType::I32 => wasm_encoder::ValType::I32,
        wasmparser::ValType::I64 => wasm_encoder::ValType::I64,
        wasmparser::ValType::F32 => wasm_encoder::ValType::F32,
        wasmparser::ValType::F64 => wasm_encoder::ValType::F64,
        _ => return None,
    })
}

fn export_kind(kind: ExternalKind) -> ExportKind {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        ExternalKind::Tag => ExportKind::Tag,
    }
}

/// The value of a constant expression that is one `*.const`.
fn const_value(expr: &wasmparser::ConstExpr) -> Option<Val> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().ok()? {
        Operator::I32Const { value } => Val::I32(value),
        Operator::I64Const { value } => Val::I64(value),
        Operator::F32Const { value } => Val::F32(value.bits()),
        Operator::F64Const { value } => Val::F64(value.bits()),
        _ => return None,
    };
    matches!(ops.read().ok()?, Operator::End).then_some(value)
}

/// A zero of `value`'s type.
fn zero(value: &Val) -> Val {
    match value {
        Val::I64(_) => Val::I64(0),
        Val::F32(_) => Val::F32(0),
        Val::F64(_) => Val::F64(0),
        _ => Val::I32(0),
    }
}

/// `value` as a constant expression.
fn const_expr(value: &Val) -> ConstExpr {
    match value {
        Val::I64(v) => ConstExpr::i64_const(*v),
        Val::F32(bits) => ConstExpr::f32_const(wasm_encoder::Ieee32::new(*bits)),
        Val::F64(bits) => ConstExpr::f64_const(wasm_encoder::Ieee64::new(*bits)),
        Val::I32(v) => ConstExpr::i32_const(*v),
        _ => unreachable!("const_value gives numbers only"),
    }
}
