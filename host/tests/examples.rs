//! Runs every user example of `host/examples/` (each is listed in the
//! README), from the repository root as the README says.

use std::path::Path;

#[path = "../examples/wordcount.rs"]
mod wordcount;

#[path = "../examples/async_plugin.rs"]
mod async_plugin;

/// The examples read the repository's `examples/` by relative paths (their
/// `main` is `pub` for this file) and use the default disk cache. Every
/// test in this binary sets the same directory and cache, so their order
/// is moot.
fn at_repository_root() {
    std::env::set_current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    // The default cache is `$XDG_CACHE_HOME/jsbox`: keep it in target/.
    std::env::set_var("XDG_CACHE_HOME", Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache"));
}

#[test]
fn wordcount_example_runs() {
    at_repository_root();
    wordcount::main().unwrap();
}

#[test]
fn async_plugin_example_runs() {
    at_repository_root();
    async_plugin::main().unwrap();
}

#[test]
fn every_example_is_run_here_and_listed_in_the_readme() {
    let here = include_str!("examples.rs");
    let readme = include_str!("../../README.md");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".rs") else { continue };
        assert!(here.contains(&format!("#[path = \"../examples/{name}\"]")), "host/examples/{name} is not run by a test");
        assert!(readme.contains(&format!("--example {stem}")), "host/examples/{name} is not listed in README.md");
    }
}
