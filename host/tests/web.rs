//! Web platform globals (guest/src/web): each compared with node's output
//! for the same script when `node` is on PATH, and with expected values.

use jsbox::{CacheDir, EngineOptions};
use serde_json::{json, Value};

fn options() -> EngineOptions {
    EngineOptions::new().cache(CacheDir::Off)
}

fn jsbox_eval(script: &str) -> Value {
    let mut rt = jsbox::open(options()).unwrap();
    rt.eval(script).unwrap_or_else(|e| panic!("jsbox failed on {script}: {e:?}"))
}

#[test]
fn smoke() {
    let v = jsbox_eval("[typeof URL, typeof atob, typeof structuredClone, typeof crypto.randomUUID, typeof AbortController, new URL('http://a/b?c#d').href]");
    println!("{v}");
}
