//! `jsbox sql`: a SQL query over Parquet, CSV and JSON Lines files, with JS
//! plugins as SQL functions (jsbox-datafusion), on this machine or on a
//! Ballista cluster (`--ballista`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::TableReference;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::*;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use futures_util::StreamExt;
use jsbox_datafusion::{JsFunctionFactory, JsTableFunction, JsType, JsUdaf, JsUdf, JsUdfCodec, Mode, OnError, Manifest, Plugin, UdfDefinition, UdfError};

use crate::failure::{self, usage};
use crate::sandbox::SandboxArgs;

#[derive(clap::Args, Debug)]
pub struct SqlArgs {
    /// The query. A table is a file path in single quotes
    /// (`FROM 'data/records.parquet'`): .parquet, .csv (with a header
    /// line), .json/.jsonl/.ndjson (JSON Lines). Statements separated by
    /// `;` run in order and the last one's rows are the result, so
    /// `CREATE FUNCTION name(type, ...) RETURNS type LANGUAGE javascript
    /// AS '...'` can define a function for the query that follows.
    #[arg(value_name = "SQL")]
    sql: String,
    /// A JS plugin as a SQL function (repeatable):
    /// NAME=PLUGIN.js[:EXPORT][(TYPE, ...)][->TYPE]. Argument types default
    /// to the query's own; the return type defaults to utf8.
    #[arg(long = "udf", value_name = "SPEC")]
    udfs: Vec<String>,
    /// A JS module exporting create_state, accumulate, merge and finish as
    /// a SQL aggregate function (repeatable; the same SPEC as --udf).
    #[arg(long = "udaf", value_name = "SPEC")]
    udafs: Vec<String>,
    /// A JS generator as a table function, `FROM name(args)` (repeatable;
    /// the same SPEC as --udf; a struct return type gives the columns).
    #[arg(long = "udtf", value_name = "SPEC")]
    udtfs: Vec<String>,
    /// Write the result to FILE instead of printing a table; the format
    /// follows the extension: .parquet, .csv, .json/.jsonl (JSON Lines).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A fresh JS runtime and a JSON call per row: no row sees what
    /// another left in the JS globals (slower: by default each Arrow batch
    /// runs in one runtime, in one call).
    #[arg(long, conflicts_with = "per_batch")]
    per_row: bool,
    /// One JS runtime and one call per Arrow batch (the default; the rows
    /// of a batch share JS globals).
    #[arg(long)]
    per_batch: bool,
    /// What a row whose plugin call fails becomes: `fail` stops the query
    /// with an error naming the row; `null` makes it NULL.
    #[arg(long, value_name = "POLICY", default_value = "fail", value_parser = ["fail", "null"])]
    on_error: String,
    /// Parallel partitions (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Run the query on a Ballista cluster: the scheduler's URL,
    /// `df://HOST:PORT`. The plugins travel with the plan; the files must
    /// be readable by the executors at the same paths.
    #[arg(long, value_name = "df://HOST:PORT")]
    ballista: Option<String>,
    /// Print the row count and rows per second to stderr.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// A parsed `--udf` value.
#[derive(Debug, PartialEq)]
struct UdfSpec {
    name: String,
    plugin: PathBuf,
    export: Option<String>,
    args: Option<Vec<JsType>>,
    returns: JsType,
}

/// Splits at top-level commas (not inside `<...>`).
fn split_types(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_udf(spec: &str) -> Result<UdfSpec> {
    let bad = |why: &str| usage(format!("--udf {spec}: {why} (expected NAME=PLUGIN.js[:EXPORT][(TYPE, ...)][->TYPE])"));
    let (name, rest) = spec.split_once('=').ok_or_else(|| bad("no `=`"))?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(bad("the name must be letters, digits and `_`"));
    }
    let (rest, returns) = match rest.split_once("->") {
        Some((r, ty)) => (r, ty.trim().parse::<JsType>().map_err(|e| bad(&e.to_string()))?),
        None => (rest, JsType::Utf8),
    };
    let rest = rest.trim();
    let (rest, args) = match rest.strip_suffix(')').and_then(|r| r.rsplit_once('(')) {
        Some((r, list)) if list.trim().is_empty() => (r, Some(Vec::new())),
        Some((r, list)) => {
            let types = split_types(list)
                .into_iter()
                .map(|t| t.trim().parse::<JsType>().map_err(|e| bad(&e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            (r, Some(types))
        }
        None => (rest, None),
    };
    // PLUGIN.js:EXPORT; a `:` followed by a path is part of the path.
    let (plugin, export) = match rest.rsplit_once(':') {
        Some((p, e)) if !e.is_empty() && e.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$') => {
            (p, Some(e.to_string()))
        }
        _ => (rest, None),
    };
    if plugin.is_empty() {
        return Err(bad("no plugin file"));
    }
    Ok(UdfSpec { name: name.to_string(), plugin: PathBuf::from(plugin), export, args, returns })
}

/// The CLI's sandbox (flags and --manifest) as the manifest a UDF
/// carries, its paths made absolute: on Ballista other processes use them.
fn sandbox(args: &SandboxArgs) -> Result<Manifest> {
    let manifest = args.manifest()?;
    if !manifest.modules.conditions.is_empty() {
        return Err(usage("conditions are not supported by `jsbox sql` (plugins are shipped as their files)"));
    }
    let cwd = std::env::current_dir()?;
    Ok(manifest.relative_to(&cwd))
}

/// The sandbox, mode and error policy every function of the run gets
/// (`--udf` and `CREATE FUNCTION` alike).
fn policy(args: &SqlArgs) -> Result<(Manifest, Mode, OnError)> {
    // clap refuses both flags together; --per-batch names the default.
    let mode = if args.per_row { Mode::PerRow } else { Mode::PerBatch };
    let on_error = if args.on_error == "null" { OnError::Null } else { OnError::Fail };
    Ok((sandbox(&args.sandbox)?, mode, on_error))
}

/// The functions of `--udf`, `--udaf` and `--udtf`.
struct Functions {
    scalar: Vec<JsUdf>,
    aggregate: Vec<JsUdaf>,
    table: Vec<JsTableFunction>,
}

fn functions(args: &SqlArgs) -> Result<Functions> {
    let definitions = |specs: &[String]| specs.iter().map(|spec| definition(args, spec)).collect::<Result<Vec<_>>>();
    let bad = |e: UdfError| usage(e.to_string());
    Ok(Functions {
        scalar: definitions(&args.udfs)?.into_iter().map(|d| JsUdf::new(d).map_err(bad)).collect::<Result<_>>()?,
        aggregate: definitions(&args.udafs)?.into_iter().map(|d| JsUdaf::new(d).map_err(bad)).collect::<Result<_>>()?,
        table: definitions(&args.udtfs)?.into_iter().map(|d| JsTableFunction::new(d).map_err(bad)).collect::<Result<_>>()?,
    })
}

/// The definition of one `--udf`, `--udaf` or `--udtf` spec.
fn definition(args: &SqlArgs, spec: &str) -> Result<UdfDefinition> {
    let (sandbox, mode, on_error) = policy(args)?;
    let spec = parse_udf(spec)?;
    let mut plugin = Plugin::from_file(&spec.plugin).map_err(|e| match &e {
        // A module it requires is refused (or broken): the library's code.
        UdfError::Build { source, .. } => failure::Failed::new(failure::code(source), e.to_string()).into(),
        _ => usage(e.to_string()),
    })?;
    if let Some(export) = spec.export {
        plugin = plugin.export(export);
    }
    let mut def = UdfDefinition::new(spec.name, plugin)
        .returns(spec.returns)
        .mode(mode)
        .on_error(on_error)
        .sandbox(sandbox);
    if let Some(types) = spec.args {
        def = def.args(types);
    }
    Ok(def)
}

/// A `--udf` error, a failed plugin build, a failed row or a SQL error as
/// the CLI reports them.
fn report(err: DataFusionError) -> anyhow::Error {
    let root = err.find_root();
    if let DataFusionError::External(e) = root {
        if let Some(udf) = e.downcast_ref::<UdfError>() {
            return match udf {
                UdfError::Build { source, .. } => failure::Failed::new(failure::code(source), udf.to_string()).into(),
                UdfError::Row { .. } | UdfError::Aggregate { .. } => {
                    failure::Failed::new(failure::JS_ERROR, udf.to_string()).into()
                }
                _ => failure::Failed::new(failure::OTHER, udf.to_string()).into(),
            };
        }
    }
    match root {
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => usage(root.to_string()),
        _ => failure::Failed::new(failure::OTHER, root.to_string()).into(),
    }
}

/// The statements of the `SQL` argument.
fn statements(ctx: &SessionContext, sql: &str) -> Result<Vec<Statement>> {
    let state = ctx.state();
    let options = state.config().options();
    let dialect = options.sql_parser.dialect;
    let dialect = dialect_from_str(dialect).ok_or_else(|| usage(format!("unsupported SQL dialect {dialect}")))?;
    let statements = DFParserBuilder::new(sql)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(options.sql_parser.recursion_limit.get())
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(report)?;
    if statements.is_empty() {
        return Err(usage("no SQL statement"));
    }
    Ok(statements.into())
}

/// Registers every quoted file path the statement names as a table of
/// that name, read by the format its extension says.
async fn register_files(ctx: &SessionContext, statement: &Statement) -> Result<()> {
    let state = ctx.state();
    for table in state.resolve_table_references(statement).map_err(report)? {
        let TableReference::Bare { table: name } = &table else { continue };
        let path = Path::new(name.as_ref());
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else { continue };
        if ctx.table_exist(table.clone()).unwrap_or(false) {
            continue;
        }
        if !path.exists() {
            if ["parquet", "csv", "json", "jsonl", "ndjson"].contains(&ext) {
                return Err(usage(format!("no such file: {name}")));
            }
            continue;
        }
        // Absolute: a Ballista executor reads it from its own directory.
        let location = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string();
        let dotted = format!(".{ext}");
        let registered = match ext {
            "parquet" => {
                ctx.register_parquet(table.clone(), &location, ParquetReadOptions::default().file_extension(&dotted)).await
            }
            "csv" => ctx.register_csv(table.clone(), &location, CsvReadOptions::new().file_extension(&dotted)).await,
            "json" | "jsonl" | "ndjson" => {
                ctx.register_json(table.clone(), &location, JsonReadOptions::default().file_extension(&dotted)).await
            }
            other => return Err(usage(format!("{name}: unknown file type .{other} (use .parquet, .csv, .json or .jsonl)"))),
        };
        registered.map_err(report)?;
    }
    Ok(())
}

async fn context(args: &SqlArgs) -> Result<SessionContext> {
    let codec = Arc::new(JsUdfCodec::wrapping(
        Arc::new(ballista_core::serde::BallistaLogicalExtensionCodec::default()),
        Arc::new(ballista_core::serde::BallistaPhysicalExtensionCodec::default()),
    ));
    let mut config = match &args.ballista {
        Some(_) => {
            use ballista_core::extension::SessionConfigExt;
            SessionConfig::new_with_ballista()
                .with_ballista_logical_extension_codec(codec.clone())
                .with_ballista_physical_extension_codec(codec)
        }
        None => SessionConfig::new(),
    };
    if let Some(jobs) = args.jobs {
        config = config.with_target_partitions(jobs as usize);
    }
    // Split even a small file into partitions: the plugin is the cost.
    config.options_mut().optimizer.repartition_file_min_size = 1 << 20;
    let (sandbox, mode, on_error) = policy(args)?;
    let functions = JsFunctionFactory::new().sandbox(sandbox).mode(mode).on_error(on_error);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_function_factory(Some(Arc::new(functions)))
        .build();
    match &args.ballista {
        Some(url) => {
            use ballista::prelude::SessionContextExt;
            SessionContext::remote_with_state(url, state).await.map_err(|e| usage(format!("--ballista {url}: {e}")))
        }
        None => Ok(SessionContext::new_with_state(state)),
    }
}

/// Where the result goes.
enum Sink {
    Table(Vec<RecordBatch>),
    Parquet(Box<datafusion::parquet::arrow::ArrowWriter<File>>),
    Csv(Box<datafusion::arrow::csv::Writer<BufWriter<File>>>),
    Json(datafusion::arrow::json::LineDelimitedWriter<BufWriter<File>>),
}

impl Sink {
    fn new(output: Option<&Path>, schema: SchemaRef) -> Result<Sink> {
        let Some(path) = output else { return Ok(Sink::Table(Vec::new())) };
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "parquet" | "csv" | "json" | "jsonl" | "ndjson") {
            return Err(usage(format!(
                "--output {}: unknown format (use a .parquet, .csv, .json or .jsonl file)",
                path.display()
            )));
        }
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(match ext {
            "parquet" => Sink::Parquet(Box::new(datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None)?)),
            "csv" => Sink::Csv(Box::new(datafusion::arrow::csv::Writer::new(BufWriter::new(file)))),
            _ => Sink::Json(datafusion::arrow::json::LineDelimitedWriter::new(BufWriter::new(file))),
        })
    }

    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        match self {
            Sink::Table(batches) => batches.push(batch),
            Sink::Parquet(w) => w.write(&batch)?,
            Sink::Csv(w) => w.write(&batch)?,
            Sink::Json(w) => w.write(&batch)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Table(batches) => println!("{}", pretty_format_batches(&batches)?),
            Sink::Parquet(w) => {
                w.close()?;
            }
            Sink::Csv(w) => w.into_inner().flush()?,
            Sink::Json(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
        }
        Ok(())
    }
}

async fn query(args: &SqlArgs) -> Result<()> {
    let functions = functions(args)?;
    let built = |e: UdfError| report(DataFusionError::External(Box::new(e)));
    if args.ballista.is_none() {
        // Build each sandbox now: a broken plugin fails before the query.
        for udf in &functions.scalar {
            udf.factory().map_err(built)?;
        }
        for udaf in &functions.aggregate {
            udaf.factory().map_err(built)?;
        }
    }
    for udtf in &functions.table {
        // A table function runs on this machine, as the query is planned.
        udtf.factory().map_err(built)?;
    }
    let ctx = context(args).await?;
    for udf in &functions.scalar {
        ctx.register_udf(udf.clone().into_scalar_udf());
    }
    for udaf in &functions.aggregate {
        ctx.register_udaf(udaf.clone().into_aggregate_udf());
    }
    for udtf in &functions.table {
        ctx.register_udtf(&udtf.definition().name, Arc::new(udtf.clone()));
    }
    let mut statements = statements(&ctx, &args.sql)?;
    let last = statements.pop().expect("statements() returns at least one");
    let started = Instant::now();
    for statement in statements {
        let df = plan(&ctx, statement).await?;
        df.collect().await.map_err(report)?;
    }
    let df = plan(&ctx, last).await?;
    let mut stream = df.execute_stream().await.map_err(report)?;
    let mut sink = Sink::new(args.output.as_deref(), stream.schema())?;
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(report)?;
        rows += batch.num_rows();
        sink.write(batch)?;
    }
    sink.finish()?;
    let elapsed = started.elapsed();
    for udf in &functions.scalar {
        udf.flush_calllog().map_err(built)?;
    }
    for udaf in &functions.aggregate {
        udaf.flush_calllog().map_err(built)?;
    }
    for udtf in &functions.table {
        udtf.flush_calllog().map_err(built)?;
    }
    if args.stats {
        eprintln!(
            "jsbox sql: {rows} rows in {:.3} s ({:.0} rows/s)",
            elapsed.as_secs_f64(),
            rows as f64 / elapsed.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}

/// A statement's DataFrame (a DDL statement such as `CREATE FUNCTION` has
/// run when it returns), its file tables registered first.
async fn plan(ctx: &SessionContext, statement: Statement) -> Result<DataFrame> {
    register_files(ctx, &statement).await?;
    let state = ctx.state();
    let plan = state.statement_to_plan(statement).await.map_err(report)?;
    ctx.execute_logical_plan(plan).await.map_err(report)
}

pub fn run(args: SqlArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(query(&args))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udf_specs() {
        let s = parse_udf("clean=plugin.js").unwrap();
        assert_eq!((s.name.as_str(), s.plugin.to_str().unwrap(), s.export, s.args, s.returns), ("clean", "plugin.js", None, None, JsType::Utf8));
        let s = parse_udf("score=lib/p.js:score(utf8, list<int64>)->float64").unwrap();
        assert_eq!(s.export.as_deref(), Some("score"));
        assert_eq!(s.args, Some(vec![JsType::Utf8, "list<int64>".parse().unwrap()]));
        assert_eq!(s.returns, JsType::Float64);
        let s = parse_udf("p=p.mjs->struct<a: int64, b: utf8>").unwrap();
        assert_eq!(s.returns, "struct<a: int64, b: utf8>".parse().unwrap());
        assert!(parse_udf("noequals").is_err());
        assert!(parse_udf("x=p.js->date").is_err());
        assert!(parse_udf("bad name=p.js").is_err());
    }
}
