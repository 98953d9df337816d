//! Arbitrary bytes as a script: every outcome is a value or a typed error;
//! nothing panics, and the factory keeps working after any input.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use jsbox::{EngineFactory, EngineOptions, Limits};
use libfuzzer_sys::fuzz_target;

fn factory() -> &'static EngineFactory {
    static F: OnceLock<EngineFactory> = OnceLock::new();
    F.get_or_init(|| {
        let limits = Limits { timeout: Some(Duration::from_millis(200)), max_memory: 32 << 20, ..Limits::default() };
        EngineFactory::new(EngineOptions::new().limits(limits).module("m", "exports.x = 1;")).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut rt = factory().new_runtime().unwrap();
    let _ = rt.eval_bytes(data, "fuzz.js");
    // A runtime poisoned by a limit must refuse cleanly; a fresh one works.
    let _ = rt.eval("1");
    assert_eq!(factory().new_runtime().unwrap().eval("1 + 1").unwrap(), 2);
});
