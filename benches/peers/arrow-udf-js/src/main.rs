//! Times arrow-udf-js on the `sql_transform` workload (the string transform
//! `trim().toLowerCase().split(' ').reverse().join('-')` over 200,000 rows,
//! in 8192-row batches as DataFusion hands them, and in 1024-row batches
//! as arrow-udf-js's own benchmark does) and writes rows/s as JSON to the
//! file named by the first argument (stdout without one). The best of
//! several runs, one thread.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use arrow_udf_js::{FunctionOptions, Runtime};

const TRANSFORM: &str = "export function tag(name) { return name.trim().toLowerCase().split(' ').reverse().join('-'); }";
const ROWS: usize = 200_000;

/// The rows of `jsbox.rs`'s `sql_names`.
fn names() -> Vec<String> {
    (0..ROWS).map(|i| format!(" Name {} Of {} ", i % 977, i % 13)).collect()
}

fn batches(names: &[String], size: usize) -> Vec<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, true)]));
    names
        .chunks(size)
        .map(|chunk| RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from_iter_values(chunk))]).unwrap())
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut runtime = Runtime::new().await.unwrap();
    runtime.add_function("tag", DataType::Utf8, TRANSFORM, FunctionOptions::default()).await.unwrap();
    let names = names();
    let runs = std::env::var("JSBOX_PEER_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let mut result = serde_json::Map::new();
    for size in [8192, 1024] {
        let input = batches(&names, size);
        let mut best = f64::MAX;
        for _ in 0..runs {
            let started = Instant::now();
            let mut bytes = 0;
            for batch in &input {
                let out = runtime.call("tag", batch).await.unwrap();
                bytes += out.column(0).get_array_memory_size();
            }
            std::hint::black_box(bytes);
            best = best.min(started.elapsed().as_secs_f64());
        }
        result.insert(format!("batch_{size}_rows_per_s"), (ROWS as f64 / best).round().into());
    }
    let check = runtime.call("tag", &batches(&names[..1], 1)[0]).await.unwrap();
    let first = check.column(0).as_any().downcast_ref::<StringArray>().unwrap().value(0).to_string();
    assert_eq!(first, "0-of-0-name", "arrow-udf-js computes the same value as jsbox");
    result.insert("rows".into(), ROWS.into());
    result.insert("arrow_udf_js".into(), "0.6.1".into());
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(result)).unwrap();
    match std::env::args().nth(1) {
        Some(path) => std::fs::write(path, text + "\n").unwrap(),
        None => println!("{text}"),
    }
}
