//! Embedding jsbox the way an application runs plugins: one factory, built
//! once with the plugin baked in and a read grant, then a fresh runtime per
//! task. The plugin is `examples/wordcount/plugin.js`, the texts are
//! `examples/wordcount/texts`; run it from the repository root:
//!
//! ```sh
//! cargo run -p jsbox --example wordcount
//! ```

use std::time::Duration;

use jsbox::{EngineFactory, EngineOptions, Limits};
use serde_json::{json, Value};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plugin = std::fs::read_to_string("examples/wordcount/plugin.js")?;
    let options = EngineOptions::new()
        .module("wordcount", plugin)
        // A global the host calls: the plugin's export is a function.
        .init_script("function count(input) { return require('wordcount')(input); }")
        // Relative to the current directory, for the grant and for the
        // plugin's own `fs` paths alike.
        .allow_read("examples/wordcount/texts")
        .limits(Limits { timeout: Some(Duration::from_secs(2)), ..Limits::default() });
    let factory = EngineFactory::new(options)?;

    for input in [json!({"top": 1}), json!({"dir": "examples/wordcount/texts", "top": 3})] {
        // Each task gets a fresh runtime: nothing leaks from one to the next.
        let mut runtime = factory.new_runtime()?;
        let result: Value = runtime.call("count", [&input])?;
        println!("{input} -> {} words, top {}", result["total"], result["top"]);
    }

    // Outside the grant: a typed error, not a crash.
    let mut runtime = factory.new_runtime()?;
    let denied = runtime.call("count", [json!({"dir": "examples"})]).unwrap_err();
    println!("examples/ -> {denied}");
    assert!(matches!(denied, jsbox::Error::Denied(_)));
    Ok(())
}
