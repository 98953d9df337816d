//! How deep JS recursion goes before a stack limit stops it (a diagnostic
//! for tuning the wasm stack against the guest's 1 MiB shadow stack).
fn main() {
    let f = jsbox::EngineFactory::new(jsbox::EngineOptions::new()).unwrap();
    let (mut lo, mut hi) = (1u32, 200_000u32);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        let ok = f.new_runtime().unwrap().eval(&format!("function d(n){{return n===0?0:1+d(n-1)}} d({mid})")).is_ok();
        if ok { lo = mid } else { hi = mid }
    }
    let err = f.new_runtime().unwrap().eval(&format!("function d(n){{return n===0?0:1+d(n-1)}} d({hi})")).unwrap_err();
    println!("max depth {lo}; at {hi}: {}", format!("{err}").chars().take(160).collect::<String>());
}
