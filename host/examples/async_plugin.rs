//! An async plugin (`examples/async/plugin.js`) served to many concurrent
//! requests from one factory, with the async API on a 2-thread tokio
//! runtime. The plugin awaits an async native function (`catalog.price`, a
//! 20 ms tokio sleep standing in for a database) and a timer.
//!
//! `cargo run -p jsbox --example async_plugin [ORDERS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsbox::{EngineFactory, EngineOptions, NativeModule};
use serde_json::json;

fn catalog() -> NativeModule {
    NativeModule::new("catalog").async_function("price", |(sku,): (String,)| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let price = match sku.as_str() {
            "apple" => Some(0.5),
            "bread" => Some(2.25),
            "cheese" => Some(7.8),
            _ => None,
        };
        Ok::<_, String>(price)
    })
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(500);
    let plugin = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/async/plugin.js");
    let source = std::fs::read_to_string(plugin)?;
    let options = EngineOptions::new().module("plugin", source).native_module(catalog()).max_runtimes(orders as u32);
    let factory = Arc::new(EngineFactory::new(options)?);

    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let started = Instant::now();
    let results = tokio.block_on(async {
        let tasks: Vec<_> = (0..orders)
            .map(|id| {
                let factory = factory.clone();
                tokio::spawn(async move {
                    let mut rt = factory.new_runtime()?;
                    let order = json!({ "id": id, "items": ["apple", "bread", "cheese"], "holdMs": 10 });
                    rt.call_module_async("plugin", "quote", (order,)).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await?);
        }
        Ok::<_, tokio::task::JoinError>(results)
    })?;
    let elapsed = started.elapsed();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    println!("{}", results[0].as_ref().map_err(|e| e.to_string())?);
    println!("{orders} orders, {ok} ok, in {elapsed:.2?} (each waits at least 30 ms: not serialised, no thread per order)");
    Ok(())
}
