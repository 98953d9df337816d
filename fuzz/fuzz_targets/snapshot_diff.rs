//! Differential: a generated JS program (from the structured input) must
//! give the same result, or the same error, in a snapshotted runtime and in
//! an un-snapshotted one (`EngineOptions::without_snapshot`), as
//! wasmtime-wizer's own differential target checks Wizer against a plain
//! instantiation. The generator is `host/tests/support/jsgen.rs`, which
//! `host/tests/differential.rs` also runs over seeded inputs in `make test`.
#![no_main]

#[path = "../../host/tests/support/jsgen.rs"]
mod jsgen;

use std::sync::OnceLock;
use std::time::Duration;

use jsbox::{EngineFactory, EngineOptions, Limits};
use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fn options() -> EngineOptions {
    let limits = Limits { timeout: Some(Duration::from_secs(5)), max_memory: 64 << 20, ..Limits::default() };
    EngineOptions::new().limits(limits)
}

fn factories() -> &'static (EngineFactory, EngineFactory) {
    static F: OnceLock<(EngineFactory, EngineFactory)> = OnceLock::new();
    F.get_or_init(|| {
        (EngineFactory::new(options()).unwrap(), EngineFactory::new(options().without_snapshot()).unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(program) = jsgen::Gen::program(&mut Unstructured::new(data)) else { return };
    let (snap, fresh) = factories();
    if let Err(diff) = jsgen::check_snapshot(snap, fresh, &program) {
        panic!("snapshot and fresh runtimes differ:\n{diff}");
    }
});
