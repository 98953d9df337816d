//! The fuzz targets' checks (`fuzz/fuzz_targets/{snapshot_diff,slot_reuse}.rs`)
//! over a bounded, seeded set of generated programs, so `make test` covers
//! them without cargo-fuzz:
//!
//! - a snapshotted runtime and an un-snapshotted one give the same result
//!   or the same error for every program;
//! - a runtime's results do not depend on what the previous runtime in the
//!   same pool slot did.
//!
//! `JSBOX_DIFF_CASES` raises the number of cases (default 500 and 200).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use arbitrary::Unstructured;
use jsbox::{CacheDir, EngineFactory, EngineOptions, Limits};
use support::jsgen::{self, Gen};

fn options() -> EngineOptions {
    let limits = Limits { timeout: Some(Duration::from_secs(5)), max_memory: 64 << 20, ..Limits::default() };
    EngineOptions::new().cache(CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))).limits(limits)
}

fn cases(default: u64) -> u64 {
    std::env::var("JSBOX_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Fuzz-like input bytes for case `seed` (splitmix64).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..len)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

#[test]
fn snapshot_and_fresh_runtimes_agree_on_generated_programs() {
    let snap = EngineFactory::new(options()).unwrap();
    let fresh = EngineFactory::new(options().without_snapshot()).unwrap();
    let mut failures = Vec::new();
    for seed in 0..cases(500) {
        let data = bytes(seed, 512);
        let Ok(program) = Gen::program(&mut Unstructured::new(&data)) else { continue };
        if let Err(diff) = jsgen::check_snapshot(&snap, &fresh, &program) {
            failures.push(format!("seed {seed}:\n{diff}"));
        }
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n---\n"));
}

#[test]
fn a_slot_keeps_nothing_from_its_previous_runtime() {
    let one_slot = EngineFactory::new(options().max_runtimes(1)).unwrap();
    let mut failures = Vec::new();
    for seed in 0..cases(200) {
        let data = bytes(seed ^ 0xABCD, 1024);
        let mut u = Unstructured::new(&data);
        let (Ok(polluter), Ok(probe)) = (jsgen::polluter(&mut u), Gen::program(&mut u)) else { continue };
        if let Err(diff) = jsgen::check_slot_reuse(&one_slot, &polluter, &probe) {
            failures.push(format!("seed {seed}:\n{diff}"));
        }
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n---\n"));
}

#[test]
fn the_generator_makes_varied_programs_that_mostly_run() {
    // Guards the generator itself: a grammar that only produced errors (or
    // one program) would make the differential checks vacuous.
    let f = EngineFactory::new(options()).unwrap();
    let mut ok = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let data = bytes(seed, 512);
        let program = Gen::program(&mut Unstructured::new(&data)).unwrap();
        distinct.insert(program.clone());
        match jsgen::outcome(&mut f.new_runtime().unwrap(), &program) {
            Ok(_) => ok += 1,
            Err(e) if std::env::var_os("JSBOX_DIFF_SHOW").is_some() => eprintln!("{e}\n{program}\n----"),
            Err(_) => {}
        }
    }
    assert!(distinct.len() >= 25, "{} distinct programs", distinct.len());
    assert!(ok >= 10, "only {ok} of 30 programs ran without error");
}
