//! Which guest pages one small eval dirties (a diagnostic: dirty pages are
//! what a runtime costs in resident memory and in slot reset time).
fn main() {
    // The benchmarks' registry (benches/jsbox.rs): two modules, an init
    // script and a native module.
    let options = jsbox::EngineOptions::new()
        .module("math", "exports.add = (a, b) => a + b; exports.mul = (a, b) => a * b;")
        .module("util", "const m = require('math'); exports.sumsq = (a, b) => m.add(m.mul(a, a), m.mul(b, b));")
        .init_script("function answer(x) { return x + 1; }")
        .native_module(jsbox::NativeModule::new("host").function("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b)));
    let f = jsbox::EngineFactory::new(options).unwrap();
    let fresh = f.new_runtime().unwrap();
    let before = fresh.guest_memory().to_vec();
    let mut rt = f.new_runtime().unwrap();
    rt.eval_json(&std::env::args().nth(1).unwrap_or("var n = 41; n + 1;".into()), "x").unwrap();
    let after = rt.guest_memory();
    let mut dirty = Vec::new();
    for (i, (a, b)) in before.chunks(4096).zip(after.chunks(4096)).enumerate() {
        if a != b { dirty.push(i); }
    }
    println!("memory {} KiB, {} pages differ: {:?}", after.len() / 1024, dirty.len(), dirty);
}
