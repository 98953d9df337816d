//! `Compile::Shared`: the guest's code compiled once for every plugin, each
//! snapshot's image copied into its runtimes. Runtimes must behave exactly
//! as those of a whole compiled snapshot; a new plugin must compile nothing.

use jsbox::{CacheDir, CacheOutcome, Compile, EngineFactory, EngineOptions, Error, Limits};
use serde_json::json;

fn plugin(cache: &std::path::Path, name: &str) -> EngineOptions {
    EngineOptions::new()
        .cache(CacheDir::Path(cache.to_path_buf()))
        .module("counter", "let n = 0;\nexports.next = () => ++n;")
        .module(name, format!("exports.name = {name:?};\nexports.big = 'x'.repeat(100000).length;"))
        .init_script("var answer = 42; const seen = new Map([[1, 'one']]);")
}

/// Files in the cache directory with this extension.
fn entries(cache: &std::path::Path, ext: &str) -> usize {
    std::fs::read_dir(cache)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == ext))
        .count()
}

#[test]
fn shared_runtimes_behave_as_whole_ones() {
    let script = "const c = require('counter'); c.next(); \
                  [c.next(), answer, seen.get(1), require('alpha').name, require('alpha').big, typeof URL, [3, 1, 2].sort()]";
    let mut results = Vec::new();
    for compile in [Compile::Whole, Compile::Shared] {
        // Each its own cache: a shared build uses a cached whole module.
        let cache = tempfile::tempdir().unwrap();
        let factory = EngineFactory::new(plugin(cache.path(), "alpha").compile(compile)).unwrap();
        assert_eq!(factory.info().compile, compile);
        // Fresh state in every runtime: the counter starts over.
        for _ in 0..3 {
            results.push(factory.new_runtime().unwrap().eval(script).unwrap());
        }
    }
    assert!(results.iter().all(|r| *r == json!([2, 42, "one", "alpha", 100000, "function", [1, 2, 3]])), "{results:?}");
}

#[test]
fn a_new_plugin_compiles_no_code() {
    let cache = tempfile::tempdir().unwrap();
    let first = EngineFactory::new(plugin(cache.path(), "alpha").compile(Compile::Shared)).unwrap();
    assert_eq!(first.info().compile, Compile::Shared);
    assert!(first.info().compiled_functions > 0);
    assert_eq!(first.info().cache, CacheOutcome::Miss);
    // Another plugin (another snapshot): the same shared code, from the cache.
    let second = EngineFactory::new(plugin(cache.path(), "beta").compile(Compile::Shared)).unwrap();
    assert_eq!(second.info().compiled_functions, 0);
    assert_eq!(entries(cache.path(), "shared"), 1, "one shared code module for both plugins");
    assert_eq!(entries(cache.path(), "cwasm"), 0, "no whole snapshot was compiled");
    assert_eq!(second.new_runtime().unwrap().eval("require('beta').name").unwrap(), json!("beta"));
    assert!(first.new_runtime().unwrap().eval("require('beta')").is_err());

    // A whole module in the cache is used by a shared build too.
    let whole = EngineFactory::new(plugin(cache.path(), "gamma").compile(Compile::Whole)).unwrap();
    assert_eq!(whole.info().compile, Compile::Whole);
    let again = EngineFactory::new(plugin(cache.path(), "gamma").compile(Compile::Shared)).unwrap();
    assert_eq!((again.info().compile, again.info().cache), (Compile::Whole, CacheOutcome::Hit));
}

#[test]
fn open_shares_the_guest_code() {
    let cache = tempfile::tempdir().unwrap();
    let mut rt = jsbox::open(plugin(cache.path(), "alpha")).unwrap();
    assert_eq!(rt.eval("answer + 1").unwrap(), json!(43));
    assert_eq!(entries(cache.path(), "shared"), 1);
}

#[test]
fn a_shared_runtime_keeps_its_limits() {
    let cache = tempfile::tempdir().unwrap();
    let options = plugin(cache.path(), "alpha")
        .compile(Compile::Shared)
        .limits(Limits { max_memory: 32 << 20, ..Limits::default() });
    let mut rt = jsbox::open(options).unwrap();
    let err = rt.eval("const a = []; for (;;) a.push('y'.repeat(1 << 20) + a.length);").unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { .. }), "{err:?}");
    // A snapshot larger than the runtimes may be is refused when a runtime is made.
    let tiny = plugin(cache.path(), "alpha").compile(Compile::Shared).limits(Limits { max_memory: 1 << 16, ..Limits::default() });
    assert!(jsbox::open(tiny).is_err());
}

#[test]
fn a_shared_build_is_cached_and_follows_edits() {
    let cache = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let plugin = root.path().join("plugin.mjs");
    let options = || {
        EngineOptions::new()
            .cache(CacheDir::Path(cache.path().to_path_buf()))
            .compile(Compile::Shared)
            .module_root(root.path())
            .import("./plugin.mjs")
    };
    let value = |factory: &EngineFactory| {
        factory.new_runtime().unwrap().call_module("./plugin.mjs", "default", [json!(1)]).unwrap()
    };
    std::fs::write(&plugin, "export default (x) => x + 1;\n").unwrap();
    let first = EngineFactory::new(options()).unwrap();
    assert_eq!((first.info().cache, value(&first)), (CacheOutcome::Miss, json!(2)));
    // The same plugin again: its snapshot from the cache, no Wizer step.
    let again = EngineFactory::new(options()).unwrap();
    assert_eq!((again.info().cache, again.info().compile, value(&again)), (CacheOutcome::Hit, Compile::Shared, json!(2)));
    assert_eq!(entries(cache.path(), "snapshot"), 1);
    // Edited: a new snapshot, never the stale one.
    std::fs::write(&plugin, "export default (x) => x + 100;\n").unwrap();
    let edited = EngineFactory::new(options()).unwrap();
    assert_eq!((edited.info().cache, value(&edited)), (CacheOutcome::Miss, json!(101)));
    assert_ne!(edited.info().sources, first.info().sources, "the sources digest follows the edit");
}
