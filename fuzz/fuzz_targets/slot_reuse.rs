//! Pool-slot isolation: a generated probe program run in runtime B must see
//! the same as after a trivial program, even when runtime A, the previous
//! occupant of the same pool slot (a one-slot factory), ran a generated
//! polluter that rewrote globals, prototypes and built-ins and dirtied
//! memory. The generator is `host/tests/support/jsgen.rs`.
#![no_main]

#[path = "../../host/tests/support/jsgen.rs"]
mod jsgen;

use std::sync::OnceLock;
use std::time::Duration;

use jsbox::{EngineFactory, EngineOptions, Limits};
use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fn factory() -> &'static EngineFactory {
    static F: OnceLock<EngineFactory> = OnceLock::new();
    F.get_or_init(|| {
        let limits = Limits { timeout: Some(Duration::from_secs(5)), max_memory: 64 << 20, ..Limits::default() };
        EngineFactory::new(EngineOptions::new().limits(limits).max_runtimes(1)).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(polluter), Ok(probe)) = (jsgen::polluter(&mut u), jsgen::Gen::program(&mut u)) else { return };
    if let Err(diff) = jsgen::check_slot_reuse(factory(), &polluter, &probe) {
        panic!("a runtime saw its slot's previous occupant:\n{diff}");
    }
});
