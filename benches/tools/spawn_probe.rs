//! Where the time of `new_runtime` goes (a diagnostic, not a benchmark):
//! `spawn_probe [spawn|eval|reuse] [N]`.
use std::time::Instant;
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let n: u32 = std::env::args().nth(2).map_or(20000, |s| s.parse().unwrap());
    let f = jsbox::EngineFactory::new(jsbox::EngineOptions::new()).unwrap();
    println!("{:?}", f.info().engine);
    for _ in 0..1000 { drop(f.new_runtime().unwrap()); }
    if mode == "all" || mode == "bare" {
        let t = Instant::now();
        for _ in 0..n { f.bare_instance().unwrap(); }
        println!("bare instance {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "spawn" {
        let t = Instant::now();
        for _ in 0..n { drop(f.new_runtime().unwrap()); }
        println!("spawn+drop {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "eval" {
        let t = Instant::now();
        for _ in 0..n { let mut r = f.new_runtime().unwrap(); r.eval_json("var n = 41; n + 1;", "x").unwrap(); }
        println!("spawn+eval+drop {:?}", t.elapsed() / n);
    }
    if mode == "all" || mode == "reuse" {
        let mut r = f.new_runtime().unwrap();
        let t = Instant::now();
        for _ in 0..n { r.eval_json("var n = 41; n + 1;", "x").unwrap(); }
        println!("eval reused {:?}", t.elapsed() / n);
    }
}
