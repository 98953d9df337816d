//! `Runtime::call_columns`: a batch of rows in one guest call, through the
//! real guest.

use std::time::Duration;

use jsbox::{CacheDir, Cell, CallLogPolicy, Columns, EngineFactory, EngineOptions, Error, Limits, MemoryCallLog};

const PLUGIN: &str = r#"
exports.describe = (s, n, b, j) => `${typeof s}:${s}|${typeof n}:${n}|${b}|${JSON.stringify(j)}`;
exports.kinds = (i) => [null, undefined, false, true, 1.5, 7, 'text', [1, 'a'], { k: 2 }][i];
let seen = 0;
exports.count = () => ++seen;
exports.check = (n) => { if (n % 2) throw new TypeError(`odd ${n}`); return n / 2; };
exports.later = (n) => new Promise((resolve, reject) =>
  setTimeout(() => (n < 0 ? reject(new RangeError(`negative ${n}`)) : resolve(n * 10)), 1));
exports.spin = (n) => { if (n === 2) for (;;) {} return n; };
"#;

fn options() -> EngineOptions {
    EngineOptions::new().cache(CacheDir::Off).module("m", PLUGIN)
}

fn numbers(values: &[f64]) -> Columns {
    let mut args = Columns::new(values.len(), 1);
    for &n in values {
        args.push_number(n);
    }
    args
}

#[test]
fn values_cross_both_ways_in_one_call() {
    let mut rt = jsbox::open(options()).unwrap();
    let mut args = Columns::new(2, 4);
    args.push_str("é ü 😀");
    args.push_null();
    args.push_number(2.5);
    args.push_number(-3.0);
    args.push_bool(true);
    args.push_bool(false);
    args.push_json(r#"{"a":[1,null]}"#);
    args.push_null();
    let cells = rt.call_columns(Some("m"), "describe", &args).unwrap();
    let got: Vec<Cell> = cells.iter().collect();
    assert_eq!(
        got,
        [
            Cell::String(r#"string:é ü 😀|number:2.5|true|{"a":[1,null]}"#),
            Cell::String("object:null|number:-3|false|null"),
        ]
    );

    let cells = rt.call_columns(Some("m"), "kinds", &numbers(&[0., 1., 2., 3., 4., 5., 6., 7., 8.])).unwrap();
    let got: Vec<Cell> = cells.iter().collect();
    assert_eq!(
        got,
        [
            Cell::Null,
            Cell::Null,
            Cell::Bool(false),
            Cell::Bool(true),
            Cell::Number(1.5),
            Cell::Number(7.0),
            Cell::String("text"),
            Cell::Json(r#"[1,"a"]"#),
            Cell::Json(r#"{"k":2}"#),
        ]
    );
}

#[test]
fn rows_share_the_runtime_and_run_in_order() {
    let mut rt = jsbox::open(options()).unwrap();
    let cells = rt.call_columns(Some("m"), "count", &Columns::new(3, 0)).unwrap();
    assert_eq!(cells.iter().collect::<Vec<_>>(), [Cell::Number(1.0), Cell::Number(2.0), Cell::Number(3.0)]);
    // An empty batch calls nothing.
    assert!(rt.call_columns(Some("m"), "count", &Columns::new(0, 0)).unwrap().is_empty());
    assert_eq!(rt.call_module("m", "count", [0u8; 0]).unwrap(), serde_json::json!(4));
}

#[test]
fn a_throwing_row_is_its_own_cell_and_the_rest_run() {
    let mut rt = jsbox::open(options()).unwrap();
    let cells = rt.call_columns(Some("m"), "check", &numbers(&[2., 3., 4.])).unwrap();
    assert_eq!(cells.iter().collect::<Vec<_>>(), [Cell::Number(1.0), Cell::Thrown("TypeError: odd 3"), Cell::Number(2.0)]);
}

#[test]
fn promises_are_awaited_row_by_row() {
    let mut rt = jsbox::open(options()).unwrap();
    let cells = rt.call_columns(Some("m"), "later", &numbers(&[1., -2., 3.])).unwrap();
    assert_eq!(
        cells.iter().collect::<Vec<_>>(),
        [Cell::Number(10.0), Cell::Thrown("RangeError: negative -2"), Cell::Number(30.0)]
    );
}

#[test]
fn a_limit_hit_fails_the_whole_call() {
    let limits = Limits { timeout: Some(Duration::from_millis(200)), ..Limits::default() };
    let mut rt = jsbox::open(options().limits(limits)).unwrap();
    let err = rt.call_columns(Some("m"), "spin", &numbers(&[1., 2., 3.])).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(matches!(rt.call_columns(Some("m"), "spin", &numbers(&[1.])), Err(Error::Poisoned(_))));
}

#[test]
fn bad_batches_are_typed_errors() {
    let mut rt = jsbox::open(options()).unwrap();
    let mut short = Columns::new(2, 1);
    short.push_null();
    assert!(!short.is_complete());
    assert!(matches!(rt.call_columns(Some("m"), "check", &short), Err(Error::InvalidValue(_))));

    let mut bad_json = Columns::new(1, 1);
    bad_json.push_json("{nope");
    let err = rt.call_columns(Some("m"), "describe", &bad_json).unwrap_err();
    assert!(!err.is_fatal(), "{err:?}");

    assert!(rt.call_columns(Some("m"), "missing", &numbers(&[1.])).is_err());

    let small = Limits { max_value_bytes: 64, ..Limits::default() };
    let mut rt = jsbox::open(options().limits(small)).unwrap();
    let mut big = Columns::new(1, 1);
    big.push_str(&"x".repeat(100));
    assert!(matches!(rt.call_columns(Some("m"), "describe", &big), Err(Error::TooLarge { what: "arguments", .. })));
    // A row still fits; the batch's results do not.
    let err = rt.call_columns(Some("m"), "count", &Columns::new(20, 0)).unwrap_err();
    assert!(matches!(err, Error::TooLarge { what: "result", .. }), "{err:?}");
}

#[test]
fn the_call_log_has_one_entry_per_batch() {
    let memory = MemoryCallLog::new();
    let factory = EngineFactory::new(options().calllog(CallLogPolicy::Memory(memory.clone()))).unwrap();
    let mut rt = factory.new_runtime().unwrap();
    let cells = rt.call_columns(Some("m"), "check", &numbers(&[2., 4.])).unwrap();
    drop(rt);
    let entries = memory.entries();
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!((entries[0].module.as_str(), entries[0].function.as_str()), ("m", "check"));
    assert_eq!(entries[0].args_json, r#"{"rows":2,"columns":1,"bytes":27}"#);
    assert_eq!(entries[0].result_json.as_deref(), Some(format!(r#"{{"rows":2,"bytes":{}}}"#, cells.byte_len()).as_str()));
}
