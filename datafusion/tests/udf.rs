//! JS UDFs in DataFusion queries: type mapping, NULLs, errors, isolation,
//! planning-time type checks and the plan codec.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, Int8Array, LargeStringArray, ListArray, RecordBatch, StringArray, StructArray, UInt16Array,
    UInt32Array, UInt64Array, UInt8Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::*;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use jsbox_datafusion::{JsFunctionFactory, JsTableFunction, JsType, JsUdaf, JsUdf, JsUdfCodec, Mode, OnError, Plugin, UdfDefinition, UdfError};

fn udf(name: &str, source: &str) -> UdfDefinition {
    UdfDefinition::new(name, Plugin::from_source(format!("{name}.js"), source))
}

fn context(udfs: Vec<UdfDefinition>, batch: RecordBatch) -> SessionContext {
    let ctx = SessionContext::new();
    for def in udfs {
        ctx.register_udf(JsUdf::new(def).unwrap().into_scalar_udf());
    }
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    ctx
}

async fn column(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<ArrayRef> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let arrays: Vec<ArrayRef> = batches.iter().map(|b| b.column(0).clone()).collect();
    let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
    Ok(datafusion::arrow::compute::concat(&refs)?)
}

/// Both ways a batch runs: a call per row, and the batch in one call.
const MODES: [Mode; 2] = [Mode::PerRow, Mode::PerBatch];

fn one_column(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).unwrap()
}

#[tokio::test]
async fn every_supported_type_round_trips() {
    let list = ListArray::from_iter_primitive::<Int64Type, _, _>([Some(vec![Some(1), None, Some(3)]), None, Some(vec![])]);
    let inner = StructArray::from(vec![
        (Arc::new(Field::new("a", DataType::Int64, true)), Arc::new(Int64Array::from(vec![Some(1), None, Some(-7)])) as ArrayRef),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("x"), Some("y"), None])) as ArrayRef,
        ),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("bool", Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]))),
        ("i8", Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)]))),
        ("i16", Arc::new(Int16Array::from(vec![Some(-32768), None, Some(5)]))),
        ("i32", Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(i32::MAX)]))),
        ("i64", Arc::new(Int64Array::from(vec![Some(-(1 << 53)), None, Some(1 << 53)]))),
        ("u8", Arc::new(UInt8Array::from(vec![Some(0), None, Some(255)]))),
        ("u16", Arc::new(UInt16Array::from(vec![Some(0), None, Some(65535)]))),
        ("u32", Arc::new(UInt32Array::from(vec![Some(0), None, Some(u32::MAX)]))),
        ("u64", Arc::new(UInt64Array::from(vec![Some(0), None, Some(1 << 53)]))),
        ("f32", Arc::new(Float32Array::from(vec![Some(1.5), None, Some(-0.25)]))),
        ("f64", Arc::new(Float64Array::from(vec![Some(1e300), None, Some(-2.5)]))),
        ("utf8", Arc::new(StringArray::from(vec![Some("héllo"), None, Some("")]))),
        ("large", Arc::new(LargeStringArray::from(vec![Some("big"), None, Some("x")]))),
        ("list", Arc::new(list)),
        ("struct", Arc::new(inner)),
    ];
    let batch = RecordBatch::try_from_iter(columns.clone()).unwrap();
    for mode in MODES {
        let defs = columns
            .iter()
            .map(|(name, array)| {
                let ty = JsType::from_arrow(array.data_type()).unwrap();
                // One module name and source for all: one compiled snapshot,
                // from the disk cache after the first.
                let plugin = Plugin::from_source("id.js", "module.exports = (x) => x;");
                UdfDefinition::new(format!("id_{name}"), plugin).returns(ty).mode(mode)
            })
            .collect();
        let ctx = context(defs, batch.clone());
        for (name, array) in &columns {
            let out = column(&ctx, &format!("SELECT id_{name}(\"{name}\") FROM t")).await.unwrap();
            assert_eq!(out.as_ref(), array.as_ref(), "{name} {mode:?}");
        }
    }
}

#[tokio::test]
async fn nested_values_are_built_from_js() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2])));
    let ty: JsType = "list<struct<k: utf8, v: list<float64>>>".parse().unwrap();
    let def = udf("nest", "module.exports = (n) => [{k: 'n' + n, v: [n, n / 2]}, {k: null}];").returns(ty.clone());
    let ctx = context(vec![def], batch);
    let out = column(&ctx, "SELECT nest(n) FROM t").await.unwrap();
    assert_eq!(out.data_type(), &ty.to_arrow());
    let first = out.as_list::<i32>().value(1);
    let structs = first.as_struct();
    assert_eq!(structs.column(0).as_string::<i32>().value(0), "n2");
    assert_eq!(structs.column(1).as_list::<i32>().value(0).as_primitive::<datafusion::arrow::datatypes::Float64Type>().values(), &[2.0, 1.0]);
    assert!(structs.column(0).is_null(1));
    assert!(structs.column(1).is_null(1));
}

#[tokio::test]
async fn nulls_reach_js_as_null_and_null_results_are_null() {
    let batch = one_column("s", Arc::new(StringArray::from(vec![Some("a"), None, Some("skip")])));
    for mode in MODES {
        let def = udf("describe", "module.exports = (s) => s === 'skip' ? undefined : s === null ? 'was null' : typeof s;");
        let ctx = context(vec![def.mode(mode)], batch.clone());
        let out = column(&ctx, "SELECT describe(s) FROM t").await.unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "string");
        assert_eq!(out.value(1), "was null");
        assert!(out.is_null(2));
    }
}

#[tokio::test]
async fn utf8_results_take_any_value_as_json_text() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2, 3, 4])));
    let source = "module.exports = (n) => [{n, list: [n]}, n / 2, n === 3, 1e21][n - 1];";
    let mut outputs = Vec::new();
    for mode in MODES {
        let ctx = context(vec![udf("obj", source).mode(mode)], batch.clone());
        let out = column(&ctx, "SELECT obj(n) FROM t").await.unwrap();
        let text: serde_json::Value = serde_json::from_str(out.as_string::<i32>().value(0)).unwrap();
        assert_eq!(text, serde_json::json!({"n": 1, "list": [1]}));
        assert_eq!(out.as_string::<i32>().value(1), "1");
        outputs.push(out);
    }
    // Numbers and booleans read the same in both modes.
    assert_eq!(outputs[0].as_ref(), outputs[1].as_ref());
}

#[tokio::test]
async fn a_failing_row_fails_the_query_and_names_the_row() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2, 3, 4])));
    let source = "module.exports = (n) => { if (n === 3) throw new RangeError('three is not allowed'); return n * 10; };";
    for mode in MODES {
        let ctx = context(vec![udf("tens", source).returns(JsType::Int64).mode(mode)], batch.clone());
        let err = column(&ctx, "SELECT tens(n) FROM t").await.unwrap_err().to_string();
        assert!(err.contains("tens: row 2 of a batch of 4"), "{err}");
        assert!(err.contains("RangeError: three is not allowed"), "{err}");
        assert!(err.contains("[3]"), "the arguments: {err}");
    }
}

#[tokio::test]
async fn a_failing_row_is_null_when_asked() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2, 3, 4])));
    let source = "module.exports = (n) => { if (n === 3) throw new Error('no'); return n === 4 ? 'not a number' : n * 10; };";
    for mode in MODES {
        let def = udf("tens", source).returns(JsType::Int64).on_error(OnError::Null).mode(mode);
        let ctx = context(vec![def], batch.clone());
        let out = column(&ctx, "SELECT tens(n) FROM t").await.unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), vec![Some(10), Some(20), None, None]);
        let def = udf("up", "module.exports = (n) => { if (n === 3) throw new Error('no'); return 'n' + n; };");
        let ctx = context(vec![def.on_error(OnError::Null).mode(mode)], batch.clone());
        let out = column(&ctx, "SELECT up(n) FROM t").await.unwrap();
        assert_eq!(out.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("n1"), Some("n2"), None, Some("n4")]);
    }
}

#[tokio::test]
async fn a_result_of_the_wrong_type_is_a_row_error() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2])));
    for mode in MODES {
        let def = udf("bad", "module.exports = (n) => n === 2 ? 'two' : n;").returns(JsType::Int64).mode(mode);
        let ctx = context(vec![def], batch.clone());
        let err = column(&ctx, "SELECT bad(n) FROM t").await.unwrap_err().to_string();
        assert!(err.contains("row 1"), "{err}");
        assert!(err.contains(r#"returned "two" where the return type is int64"#), "{err}");
    }
}

#[tokio::test]
async fn limits_apply_to_each_row() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2, 3])));
    let sandbox = jsbox_datafusion::Manifest::new().timeout(Some(std::time::Duration::from_millis(200)));
    let source = "module.exports = (n) => { if (n === 2) for (;;) {} return n; };";
    for mode in MODES {
        // A batch's one call that hits a limit is run again row by row,
        // so the limit hit is the row's.
        let def = udf("spin", source).returns(JsType::Int64).sandbox(sandbox.clone()).mode(mode);
        let ctx = context(vec![def.clone().on_error(OnError::Null)], batch.clone());
        let out = column(&ctx, "SELECT spin(n) FROM t").await.unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), vec![Some(1), None, Some(3)]);
        let ctx = context(vec![def], batch.clone());
        let err = column(&ctx, "SELECT spin(n) FROM t").await.unwrap_err().to_string();
        assert!(err.contains("spin: row 1 of a batch of 3"), "{err}");
        assert!(err.contains("timeout") || err.contains("timed out"), "{err}");
    }
}

#[tokio::test]
async fn batch_mode_gives_what_per_row_gives_over_many_batches() {
    let names: Vec<String> = (0..2500).map(|i| format!(" Name {} Of {} ", i % 977, i % 13)).collect();
    let batch = one_column("name", Arc::new(StringArray::from(names)));
    let source = "module.exports = (s) => s.trim().toLowerCase().split(' ').reverse().join('-');";
    let mut outputs = Vec::new();
    for mode in MODES {
        let config = SessionConfig::new().with_batch_size(1000);
        let ctx = SessionContext::new_with_config(config);
        ctx.register_udf(JsUdf::new(udf("tag", source).mode(mode)).unwrap().into_scalar_udf());
        ctx.register_batch("t", batch.clone()).unwrap();
        outputs.push(column(&ctx, "SELECT tag(name) FROM t").await.unwrap());
    }
    assert_eq!(outputs[0].len(), 2500);
    assert_eq!(outputs[0].as_string::<i32>().value(1), "1-of-1-name");
    assert_eq!(outputs[0].as_ref(), outputs[1].as_ref());
}

#[tokio::test]
async fn a_batch_over_the_value_limit_runs_a_row_at_a_time() {
    // Each row's 3 MiB fits the 16 MiB limit; the batch's 24 MiB does not.
    let batch = one_column("n", Arc::new(Int64Array::from((0..8).collect::<Vec<i64>>())));
    let ctx = context(vec![udf("big", "module.exports = (n) => String(n).repeat(3 << 20);")], batch);
    let out = column(&ctx, "SELECT big(n) FROM t").await.unwrap();
    let out = out.as_string::<i32>();
    assert_eq!((out.len(), out.value(7).len()), (8, 3 << 20));
    assert!(out.value(7).starts_with("77"));
}

#[tokio::test]
async fn promises_are_awaited_in_both_modes() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![1, 2, 3])));
    let source = "module.exports = (n) => new Promise((ok) => setTimeout(() => ok(n * 7), n));";
    for mode in MODES {
        let ctx = context(vec![udf("later", source).returns(JsType::Int64).mode(mode)], batch.clone());
        let out = column(&ctx, "SELECT later(n) FROM t").await.unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values(), &[7, 14, 21], "{mode:?}");
    }
}

#[tokio::test]
async fn unsupported_types_fail_at_planning_time() {
    let batch = one_column("d", Arc::new(Date32Array::from(vec![1, 2])));
    let ctx = context(vec![udf("f", "module.exports = (x) => { throw new Error('must not run'); };")], batch);
    // Planning alone fails: no row is evaluated.
    let planned = async { ctx.sql("SELECT f(d) FROM t").await?.create_physical_plan().await };
    let err = planned.await.unwrap_err().to_string();
    assert!(err.contains("Date32 cannot cross into JS"), "{err}");
    assert!(!err.contains("must not run"), "{err}");
    // Declared argument types are checked the same way.
    let declared = udf("g", "module.exports = (x) => x;").args([JsType::Int64]);
    let ctx = context(vec![declared], one_column("n", Arc::new(Int64Array::from(vec![1]))));
    let err = ctx.sql("SELECT g(n, n) FROM t").await.unwrap_err().to_string();
    assert!(err.contains("g"), "{err}");
}

#[tokio::test]
async fn each_row_gets_fresh_globals_only_per_row() {
    let batch = one_column("n", Arc::new(Int64Array::from(vec![10, 20, 30])));
    let source = "let calls = 0; globalThis.seen = globalThis.seen || []; module.exports = (n) => { seen.push(n); return ++calls * 1000 + seen.length; };";
    let per_row = udf("count_row", source).returns(JsType::Int64).mode(Mode::PerRow);
    let per_batch = udf("count_batch", source).returns(JsType::Int64).mode(Mode::PerBatch);
    let ctx = context(vec![per_row, per_batch], batch);
    let out = column(&ctx, "SELECT count_row(n) FROM t").await.unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[1001, 1001, 1001]);
    let out = column(&ctx, "SELECT count_batch(n) FROM t").await.unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[1001, 2002, 3003]);
}

#[tokio::test]
async fn a_plugin_is_preloaded_unless_its_top_level_must_run_per_runtime() {
    let pure = JsUdf::new(udf("double", "module.exports = (n) => n * 2;").returns(JsType::Int64)).unwrap();
    assert_eq!(pure.factory().unwrap().info().preloaded, ["__jsbox_udf.cjs"]);
    // Reading the clock at the top level cannot happen in the snapshot:
    // each runtime runs it, and each row's runtime reads its own clock.
    let source = "const started = Date.now(); module.exports = (n) => (started > 0 ? n : -1);";
    let timed = udf("timed", source).returns(JsType::Int64).mode(Mode::PerRow);
    assert!(JsUdf::new(timed.clone()).unwrap().factory().unwrap().info().preloaded.is_empty());
    let ctx = context(vec![timed], one_column("n", Arc::new(Int64Array::from(vec![1, 2]))));
    let out = column(&ctx, "SELECT timed(n) FROM t").await.unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[1, 2]);
}

#[tokio::test]
async fn a_plugin_that_does_not_build_is_a_typed_error() {
    let udf = JsUdf::new(udf("broken", "module.exports = (x) => {")).unwrap();
    let err = udf.factory().unwrap_err();
    assert!(matches!(err, UdfError::Build { .. }), "{err}");
    assert!(JsUdf::new(UdfDefinition::new("", Plugin::from_source("a.js", ""))).is_err());
}

#[tokio::test]
async fn named_exports_and_multi_file_plugins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/fmt.js"), "exports.tag = (s) => '<' + s + '>';").unwrap();
    std::fs::write(dir.path().join("plugin.js"), "const fmt = require('./lib/fmt.js'); exports.wrap = (s) => fmt.tag(s);").unwrap();
    let plugin = Plugin::from_file(dir.path().join("plugin.js")).unwrap().export("wrap");
    assert!(plugin.module_names().any(|n| n == "lib/fmt.js"), "{:?}", plugin.module_names().collect::<Vec<_>>());
    let batch = one_column("s", Arc::new(StringArray::from(vec!["a"])));
    let ctx = context(vec![UdfDefinition::new("wrap", plugin)], batch);
    // The files were read once: the plugin no longer needs them.
    drop(dir);
    let out = column(&ctx, "SELECT wrap(s) FROM t").await.unwrap();
    assert_eq!(out.as_string::<i32>().value(0), "<a>");
}

/// The plan codec: a plan serialized with a JS UDF in it decodes, in a
/// context that never registered the UDF, to a plan giving the same rows.
#[tokio::test]
async fn plans_round_trip_through_the_codec() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "id,name\n1,  Ada \n2,GRACE\n3,\n").unwrap();
    let def = udf("clean", "module.exports = (s) => s === null ? null : s.trim().toLowerCase();");
    let ctx = SessionContext::new();
    ctx.register_udf(JsUdf::new(def).unwrap().into_scalar_udf());
    ctx.register_csv("people", csv.to_str().unwrap(), CsvReadOptions::new()).await.unwrap();
    let sql = "SELECT id, clean(name) AS name FROM people ORDER BY id";
    let expected = datafusion::arrow::util::pretty::pretty_format_batches(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
        .unwrap()
        .to_string();
    assert!(expected.contains("| 1  | ada   |"), "{expected}");
    let codec = JsUdfCodec::new();

    // Logical.
    let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
    let other = SessionContext::new();
    let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &other.task_ctx(), &codec).unwrap();
    let batches = other.execute_logical_plan(decoded).await.unwrap().collect().await.unwrap();
    assert_eq!(datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string(), expected);

    // Physical.
    let physical = ctx.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
    let bytes = physical_plan_to_bytes_with_extension_codec(physical, &codec).unwrap();
    let other = SessionContext::new();
    let decoded = physical_plan_from_bytes_with_extension_codec(&bytes, &other.task_ctx(), &codec).unwrap();
    let batches = datafusion::physical_plan::collect(decoded, other.task_ctx()).await.unwrap();
    assert_eq!(datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string(), expected);

    // Without the codec the UDF is unknown on the other side.
    let plain = datafusion_proto::logical_plan::DefaultLogicalExtensionCodec {};
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &plain).unwrap();
    assert!(logical_plan_from_bytes_with_extension_codec(&bytes, &SessionContext::new().task_ctx(), &plain).is_err());
}

#[test]
fn definitions_decode_to_the_same_definition() {
    let def = udf("f", "module.exports = (x) => x;")
        .args([JsType::Int64, "list<utf8>".parse().unwrap()])
        .returns("struct<a: int64>".parse().unwrap())
        .mode(Mode::PerRow)
        .on_error(OnError::Null);
    let bytes = JsUdfCodec::encode_definition(&def);
    let back = JsUdfCodec::decode_definition(&bytes).unwrap().unwrap();
    assert_eq!(back.definition(), &def);
    assert!(JsUdfCodec::decode_definition(b"something else").unwrap().is_none());
    assert!(matches!(JsUdfCodec::decode_definition(b"jsbox-udf/1\n{"), Err(UdfError::Definition(_))));
}

fn with_factory() -> SessionContext {
    let state = datafusion::execution::SessionStateBuilder::new()
        .with_default_features()
        .with_function_factory(Some(Arc::new(JsFunctionFactory::new())))
        .build();
    SessionContext::new_with_state(state)
}

async fn run_sql(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<String> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string())
}

const GCD: &str = "CREATE FUNCTION euclid(BIGINT, BIGINT) RETURNS BIGINT LANGUAGE javascript AS '
export function euclid(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}'";

/// CREATE FUNCTION registers a JS function with declared types (the
/// planner casts to them); OR REPLACE replaces it, a second CREATE does
/// not; DROP FUNCTION removes it.
#[tokio::test]
async fn create_function_then_drop_function() {
    let ctx = with_factory();
    run_sql(&ctx, GCD).await.unwrap();
    let out = run_sql(&ctx, "SELECT euclid(a, 36) AS g FROM (VALUES (CAST(84 AS INT)), (NULL), (35)) AS t(a)").await.unwrap();
    assert!(out.contains("| 12 |") && out.contains("| 1  |"), "{out}");
    let again = run_sql(&ctx, GCD).await.unwrap_err().to_string();
    assert!(again.contains("CREATE FUNCTION euclid: a function of this name exists"), "{again}");
    let replace = "CREATE OR REPLACE FUNCTION euclid(BIGINT, BIGINT) RETURNS VARCHAR LANGUAGE js AS 'export const euclid = (a, b) => `${a}/${b}`;'";
    run_sql(&ctx, replace).await.unwrap();
    assert!(run_sql(&ctx, "SELECT euclid(84, 36) AS g").await.unwrap().contains("| 84/36 |"));
    run_sql(&ctx, "DROP FUNCTION euclid").await.unwrap();
    let gone = run_sql(&ctx, "SELECT euclid(84, 36)").await.unwrap_err().to_string();
    assert!(gone.contains("euclid"), "{gone}");
    // A built-in's name is taken too.
    let builtin = "CREATE FUNCTION gcd(BIGINT, BIGINT) RETURNS BIGINT LANGUAGE javascript AS 'export const gcd = (a) => a;'";
    assert!(run_sql(&ctx, builtin).await.unwrap_err().to_string().contains("exists"));
    run_sql(&ctx, "DROP FUNCTION IF EXISTS euclid").await.unwrap();
}

/// A body that does not compile fails the CREATE FUNCTION statement as a
/// planning error naming the function and the line; so do another
/// language, a return type with no JSON form, and a body that is not a
/// string. Nothing is registered.
#[tokio::test]
async fn create_function_errors_are_planning_errors() {
    let ctx = with_factory();
    let broken = "CREATE FUNCTION half(DOUBLE) RETURNS DOUBLE LANGUAGE javascript AS '\nexport function half(x) {\n  return x /;\n}'";
    let err = ctx.sql(broken).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err.find_root(), datafusion::error::DataFusionError::Plan(_)), "{err:?}");
    assert!(text.contains("half") && text.contains("syntax error") && text.contains("half.mjs:3:"), "{text}");
    assert!(run_sql(&ctx, "SELECT half(1.0)").await.is_err());
    let python = ctx.sql("CREATE FUNCTION p(BIGINT) RETURNS BIGINT LANGUAGE python AS 'x'").await.unwrap_err();
    assert!(python.to_string().contains("CREATE FUNCTION p: only LANGUAGE javascript"), "{python}");
    let date = ctx.sql("CREATE FUNCTION d(BIGINT) RETURNS DATE LANGUAGE javascript AS 'export const d = (x) => x;'").await;
    assert!(date.unwrap_err().to_string().contains("cannot cross into JS"));
    let number = ctx.sql("CREATE FUNCTION n(BIGINT) RETURNS BIGINT LANGUAGE javascript RETURN $1 + 1").await.unwrap_err();
    assert!(number.to_string().contains("the body must be a string"), "{number}");
}

/// A created function's body travels in a serialized plan: a context
/// with no factory and no registration runs it.
#[tokio::test]
async fn created_functions_travel_with_the_plan() {
    let ctx = with_factory();
    run_sql(&ctx, GCD).await.unwrap();
    let plan = ctx.sql("SELECT euclid(1071, 462) AS g").await.unwrap().into_optimized_plan().unwrap();
    let codec = JsUdfCodec::new();
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
    let other = SessionContext::new();
    let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &other.task_ctx(), &codec).unwrap();
    let batches = other.execute_logical_plan(decoded).await.unwrap().collect().await.unwrap();
    let out = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert!(out.contains("| 21 |"), "{out}");
}

const MEAN: &str = "exports.create_state = () => ({ n: 0, sum: 0 });
exports.accumulate = (s, x) => { if (x !== null) { s.n += 1; s.sum += x; } };
exports.merge = (s, o) => ({ n: s.n + o.n, sum: s.sum + o.sum });
exports.finish = (s) => (s.n === 0 ? null : s.sum / s.n);";

/// The jsbox error inside a query's error.
fn udf_error(err: &datafusion::error::DataFusionError) -> &UdfError {
    match err.find_root() {
        datafusion::error::DataFusionError::External(e) => e.downcast_ref::<UdfError>().expect("a jsbox error"),
        other => panic!("not a jsbox error: {other}"),
    }
}

fn js_mean() -> JsUdaf {
    JsUdaf::new(udf("js_mean", MEAN).args([JsType::Float64]).returns(JsType::Float64)).unwrap()
}

/// A context whose table `t(g, x)` is 4 partitions of 250 rows: the
/// aggregate runs as partial states per partition merged by a final step.
fn partitioned(udafs: Vec<JsUdaf>) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4).with_batch_size(100));
    for udaf in udafs {
        ctx.register_udaf(udaf.into_aggregate_udf());
    }
    let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("x", DataType::Int64, true),
    ]));
    let partitions = (0..4)
        .map(|p| {
            let ids: Vec<i64> = (p * 250..(p + 1) * 250).collect();
            let g = Int64Array::from(ids.iter().map(|i| i % 7).collect::<Vec<_>>());
            let x = Int64Array::from(ids.iter().map(|i| (i % 13 != 0).then_some(i * 3 % 101)).collect::<Vec<_>>());
            vec![RecordBatch::try_new(schema.clone(), vec![Arc::new(g), Arc::new(x)]).unwrap()]
        })
        .collect();
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, partitions).unwrap())).unwrap();
    ctx
}

/// A JS aggregate gives what the same aggregate in SQL gives, per group
/// and overall, across partial and final aggregation (the plan has both).
#[tokio::test]
async fn a_js_aggregate_equals_the_sql_aggregate() {
    let ctx = partitioned(vec![js_mean()]);
    let plan = run_sql(&ctx, "EXPLAIN SELECT g, js_mean(x) FROM t GROUP BY g").await.unwrap();
    assert!(plan.contains("mode=Partial") && plan.contains("mode=Final"), "{plan}");
    let both = run_sql(&ctx, "SELECT g, js_mean(x) AS js, avg(x) AS sql FROM t GROUP BY g ORDER BY g").await.unwrap();
    let batches = ctx
        .sql("SELECT g, js_mean(x) AS js, avg(x) AS sql FROM t GROUP BY g ORDER BY g")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut groups = 0;
    for batch in &batches {
        let (js, sql) = (batch.column(1).as_primitive::<datafusion::arrow::datatypes::Float64Type>(), batch.column(2).as_primitive::<datafusion::arrow::datatypes::Float64Type>());
        for row in 0..batch.num_rows() {
            assert!((js.value(row) - sql.value(row)).abs() < 1e-9, "{both}");
            groups += 1;
        }
    }
    assert_eq!(groups, 7, "{both}");
    let overall = run_sql(&ctx, "SELECT js_mean(x) = avg(x) AS same, js_mean(CAST(NULL AS DOUBLE)) AS none FROM t").await.unwrap();
    assert!(overall.contains("| true |      |"), "{overall}");
}

/// A throwing accumulate fails the query naming the aggregate and the
/// step; a module without the four functions says which one is missing;
/// a result of the wrong type is an error. The aggregate crosses the
/// plan codec with its partial and final steps.
#[tokio::test]
async fn aggregate_errors_and_the_codec() {
    let throws = JsUdaf::new(
        udf("picky", &MEAN.replace("s.n += 1;", "if (x > 90) throw new RangeError('too big: ' + x); s.n += 1;"))
            .args([JsType::Float64])
            .returns(JsType::Float64),
    )
    .unwrap();
    let partial = JsUdaf::new(udf("partial", "exports.create_state = () => 0; exports.accumulate = (s) => s + 1;")).unwrap();
    let wrong = JsUdaf::new(udf("wrong", MEAN).args([JsType::Float64]).returns(JsType::Boolean)).unwrap();
    let ctx = partitioned(vec![throws, partial, wrong, js_mean()]);
    let err = run_sql(&ctx, "SELECT picky(x) FROM t").await.unwrap_err();
    let UdfError::Aggregate { udf, step, message } = udf_error(&err) else { panic!("{err}") };
    assert_eq!((udf.as_str(), *step), ("picky", "aggregate_update"));
    assert!(message.starts_with("RangeError: too big: "), "{message}");
    let err = run_sql(&ctx, "SELECT partial(x) FROM t").await.unwrap_err().to_string();
    assert!(err.contains("exports no function merge"), "{err}");
    let err = run_sql(&ctx, "SELECT wrong(x) FROM t").await.unwrap_err().to_string();
    assert!(err.contains("wrong: aggregate_finish"), "{err}");

    let sql = "SELECT g, js_mean(x) AS m FROM t GROUP BY g ORDER BY g";
    let expected = run_sql(&ctx, sql).await.unwrap();
    let physical = ctx.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
    let codec = JsUdfCodec::new();
    let bytes = physical_plan_to_bytes_with_extension_codec(physical, &codec).unwrap();
    let other = partitioned(Vec::new());
    let decoded = physical_plan_from_bytes_with_extension_codec(&bytes, &other.task_ctx(), &codec).unwrap();
    let batches = datafusion::physical_plan::collect(decoded, other.task_ctx()).await.unwrap();
    assert_eq!(datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string(), expected);
}

/// A JS generator as a table function: its arguments are constant
/// expressions, each yielded object is a row of the struct's columns
/// (another return type gives one `value` column), and the table joins
/// and aggregates like any other.
#[tokio::test]
async fn a_generator_is_a_table_function() {
    let ctx = SessionContext::new();
    let gen = "module.exports = function* (n, prefix) { for (let i = 0; i < n; i++) yield { id: i, label: prefix + i, tags: i % 2 ? ['odd'] : [] }; };";
    let def = udf("js_gen", gen).returns("struct<id: int64, label: utf8, tags: list<utf8>>".parse().unwrap());
    ctx.register_udtf("js_gen", Arc::new(JsTableFunction::new(def).unwrap()));
    let words = udf("words", "exports.main = (s) => s.split(' ');").returns(JsType::Utf8);
    ctx.register_udtf("words", Arc::new(JsTableFunction::new(words).unwrap()));

    let out = run_sql(&ctx, "SELECT * FROM js_gen(10, 'row') WHERE id >= 8 ORDER BY id").await.unwrap();
    assert!(out.contains("| 8  | row8  | []    |") && out.contains("| 9  | row9  | [odd] |"), "{out}");
    let out = run_sql(&ctx, "SELECT count(*) AS n, sum(id) AS s FROM js_gen(2 * 50, 'x')").await.unwrap();
    assert!(out.contains("| 100 | 4950 |"), "{out}");
    let out = run_sql(&ctx, "SELECT w.value, g.id FROM words('b a c') w JOIN js_gen(3, 'r') g ON length(w.value) + 1 = g.id + 0 + 1 ORDER BY w.value").await.unwrap();
    assert!(out.contains("| a     | 1  |") && out.contains("| c     | 1  |"), "{out}");
}

/// A row that does not fit the columns, a generator that throws and a
/// plugin that yields a non-object for a struct fail the query, naming the
/// function and the row.
#[tokio::test]
async fn table_function_errors_name_the_row() {
    let ctx = SessionContext::new();
    let ty: JsType = "struct<id: int64>".parse().unwrap();
    let bad = "module.exports = function* () { yield { id: 1 }; yield { id: 'two' }; };";
    ctx.register_udtf("bad", Arc::new(JsTableFunction::new(udf("bad", bad).returns(ty.clone())).unwrap()));
    let throws = "module.exports = function* (n) { yield { id: 1 }; throw new Error('no more after ' + n); };";
    ctx.register_udtf("throws", Arc::new(JsTableFunction::new(udf("throws", throws).returns(ty.clone())).unwrap()));
    let scalar = "module.exports = () => [1, 2];";
    ctx.register_udtf("scalar", Arc::new(JsTableFunction::new(udf("scalar", scalar).returns(ty)).unwrap()));

    let err = run_sql(&ctx, "SELECT * FROM bad()").await.unwrap_err();
    let UdfError::Row { udf, row, .. } = udf_error(&err) else { panic!("{err}") };
    assert_eq!((udf.as_str(), *row), ("bad", 1), "{err}");
    let err = run_sql(&ctx, "SELECT * FROM throws(5)").await.unwrap_err().to_string();
    assert!(err.contains("throws") && err.contains("no more after 5"), "{err}");
    let err = run_sql(&ctx, "SELECT * FROM scalar()").await.unwrap_err().to_string();
    assert!(err.contains("a row must be an object"), "{err}");
}

/// A loopback HTTP server whose every response takes 300 ms; it counts the
/// requests in flight at once.
struct SlowServer {
    port: u16,
    most_at_once: Arc<std::sync::atomic::AtomicUsize>,
}

fn slow_server() -> SlowServer {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let most_at_once = most.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (now, most) = (now.clone(), most.clone());
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(in_flight, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(300));
                now.fetch_sub(1, Ordering::SeqCst);
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                let body = format!("got {path}");
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            });
        }
    });
    SlowServer { port, most_at_once }
}

/// An async UDF awaiting a granted `fetch`: a batch's rows wait together
/// (the loopback server sees them in flight at once), results are in row
/// order, and a row that rejects fails alone (NULL with OnError::Null).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_udf_overlaps_the_waits_of_its_rows() {
    let server = slow_server();
    let source = format!(
        "module.exports = async (id) => {{ if (id === 5) throw new RangeError('no 5'); \
         const r = await fetch('http://127.0.0.1:{}/item/' + id); return (await r.text()) + ' #' + id; }};",
        server.port
    );
    let sandbox = jsbox_datafusion::Manifest::new()
        .timeout(Some(std::time::Duration::from_secs(20)))
        .allow_net(format!("127.0.0.1:{}", server.port));
    let def = udf("lookup", &source).args([JsType::Int64]).sandbox(sandbox);
    let ctx = SessionContext::new();
    ctx.register_udf(JsUdf::new(def.clone().on_error(OnError::Null)).unwrap().into_async_udf());
    let out = run_sql(&ctx, "SELECT id, lookup(id) AS r FROM (VALUES (1), (2), (3), (4), (5), (6), (7), (8)) AS t(id) ORDER BY id").await.unwrap();
    assert!(out.contains("| 1  | got /item/1 #1 |") && out.contains("| 8  | got /item/8 #8 |"), "{out}");
    assert!(out.contains("| 5  |                |"), "{out}");
    let most = server.most_at_once.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most >= 4, "at most {most} requests were in flight at once\n{out}");

    let failing = SessionContext::new();
    let def = JsUdf::new(UdfDefinition { name: "lookup2".into(), ..def }).unwrap();
    failing.register_udf(def.into_async_udf());
    let err = run_sql(&failing, "SELECT lookup2(id) FROM (VALUES (4), (5)) AS t(id)").await.unwrap_err();
    let UdfError::Row { row, message, .. } = udf_error(&err) else { panic!("{err}") };
    assert_eq!((*row, message.as_str()), (1, "RangeError: no 5"));
}
