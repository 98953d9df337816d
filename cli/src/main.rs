//! `jsbox`: run JavaScript plugins in isolated QuickJS sandboxes.

mod batch;
mod cache_cmd;
mod calllog_cmd;
mod failure;
mod manifest_cmd;
mod names;
mod repl;
mod sandbox;
mod sql;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use jsbox::{Compile, EngineFactory};

use crate::failure::usage;
use crate::sandbox::SandboxArgs;

const MAIN_HELP: &str = "\
Exit codes:
  0  success
  1  JS error (uncaught exception, syntax error, module not found)
  2  bad usage (unknown flag, bad value, unreadable plugin, input not JSON)
  3  timeout (--timeout)
  4  resource limit (--max-memory, stack overflow, --fuel, value too large)
  5  denied capability (fs path, exec program or --allow-net host not granted,
     module denied, a module file linked from outside the plugin's directory)
  6  other (engine, cache, call log, I/O)
  7  batch --resume: the existing output belongs to another plugin, options or input
  8  batch --output: another batch run is writing the same file

Examples:
  jsbox run plugin.js --input '{\"n\": 2}'
  jsbox run examples/wordcount/plugin.js --allow-read examples/wordcount/texts
  jsbox run examples/fetch/plugin.js --allow-net 127.0.0.1:8080 --input '{\"url\": \"http://127.0.0.1:8080/\"}'
  jsbox batch examples/transform/plugin.js --input examples/transform/records.jsonl --output out.jsonl --jobs 2
  jsbox sql \"SELECT id, clean(name) FROM 'records.parquet'\" --udf clean=plugin.js
  jsbox eval '[1, 2, 3].map(x => x * 2)'
  jsbox repl
  jsbox types --allow-read data --output sandbox.d.ts
  jsbox calllog show calls.sqlite --limit 20
  jsbox cache clear";

const RUN_HELP: &str = "\
A plugin is a CommonJS file: `module.exports = (input) => ...`, or an object of
functions (pick one with --export). Files it requires relatively
(`require('./lib/x')`) are read from its directory and baked in when the sandbox
is built (a symlink leading out of the directory is refused: exit code 5). The input is one JSON value, passed as the single argument; the
result is printed to stdout as JSON. console.* goes to stderr.

An ES module plugin (`.mjs`, or `.js` in a package whose package.json says
\"type\": \"module\") is called through its default export (or --export NAME).
Its imports are resolved like node's, under the plugin's directory: packages
installed there with `npm install` just work, no bundler. Everything is
compiled, linked and its top level run once, when the sandbox is built.

Every capability is off unless granted: `require('fs')` needs --allow-read or
--allow-write, `require('exec')` needs --allow-exec.

Examples:
  jsbox run plugin.js --input '{\"name\": \"box\"}'
  echo '[1, 2, 3]' | jsbox run plugin.js
  jsbox run plugin.js --export summarize --input-file data.json
  jsbox run plugin.mjs --input '\"some words\"'
  jsbox run examples/wordcount/plugin.js --allow-read examples/wordcount/texts
  jsbox run examples/native-calllog/plugin.js --allow-exec echo --calllog calls.sqlite
  jsbox run slow.js --timeout 500ms --max-memory 32MiB --fuel 100000000";

const BATCH_HELP: &str = "\
Runs the plugin once per line of a JSON Lines file, each record in a fresh
sandbox, over --jobs worker threads. Every input line gives exactly one output
line, in input order: {\"ok\": RESULT} or {\"error\": {\"kind\": K, \"message\": M}}
(a line that is not JSON gives an error line too). A progress bar and a summary
go to stderr. Exits 0 when every record succeeded, 1 when some failed (the
output is still complete), other codes when the sandbox cannot be built.

The plugin's top level runs once, when the sandbox is built, for a CommonJS
plugin as for an ES module: every record starts from that state (console
output at the top level is not per record). A CommonJS top level that calls
the host (fs, exec, native modules) or reads the clock or randomness runs in
each record's sandbox instead (an ES module's may not read them).

With --output FILE the results are written crash-safe: after a kill FILE holds
a prefix of the results in whole lines (synced to disk every second and at the
end). --resume continues an interrupted run: it checks FILE belongs to this
plugin, options and input (FILE.jsbox-resume records them; exit code 7 if not),
cuts a torn last line, and appends the remaining records, so FILE ends up
byte-identical to an uninterrupted run's. The plugin is identified by every
source baked into its sandbox (the modules it imports or requires too).
One run writes FILE at a time (it holds a lock; a second run exits 8 at
once), and FILE may not be the input (refused before anything is written).

Async plugins (a promise result, timers, async host calls) are awaited. With
--concurrency N each worker keeps up to N records in flight: while one waits,
the worker runs another (output order and completeness are unchanged; up to
jobs x N sandboxes are alive at once).

Examples:
  jsbox batch examples/transform/plugin.js --input examples/transform/records.jsonl --output out.jsonl
  jsbox batch plugin.js --input in.jsonl --jobs 4 --timeout 1s > out.jsonl
  jsbox batch plugin.js --input in.jsonl --output out.jsonl --resume
  jsbox batch async-plugin.js --input in.jsonl --jobs 2 --concurrency 64";

const SQL_HELP: &str = "\
Runs a SQL query (Apache DataFusion) over Parquet, CSV and JSON Lines files,
with JS plugins as SQL functions. A table is a file path in single quotes:
FROM 'data/records.parquet' (.parquet; .csv with a header line; .json, .jsonl
or .ndjson for JSON Lines).

--udf NAME=PLUGIN.js[:EXPORT][(TYPE, ...)][->TYPE] makes the plugin's function
(its module.exports, default export, or EXPORT) the SQL function NAME. It gets
the row's SQL values as arguments, as JSON values: numbers, strings, booleans,
null, arrays for lists, objects for structs. Argument types are the query's
own (unless declared in parentheses: the query's values are then cast to
them); dates, timestamps, decimals and binary are refused when the query is
planned (cast them in SQL). The result is checked against the return type,
utf8 by default (a string, or any other value as its JSON text). Types:
boolean, int8..int64, uint8..uint64, float32, float64, utf8, list<T>,
struct<name: T, ...> (SQL names such as bigint, double, varchar work too).

Each Arrow batch runs in one sandbox with one call (the rows in order, sharing
its JS globals); --per-row gives each row a fresh sandbox instead (slower). The
sandbox has the capabilities, limits and --calllog given, as `jsbox run`; the
limits cover a batch's call, and a batch that hits one is run again a row at
a time. A failing row stops the query with an error naming the row and the
plugin's error (exit 1), or is NULL with --on-error null.

The result is printed as a table, or written to --output FILE (.parquet,
.csv, .json/.jsonl). --ballista df://HOST:PORT runs the query on a Ballista
cluster started with jsbox-scheduler and jsbox-executor (crate
jsbox-ballista): the plugin travels with the plan.

Examples:
  jsbox sql \"SELECT id, clean(name) FROM 'data/records.parquet'\" --udf clean=plugin.js
  jsbox sql \"SELECT score(text) AS s FROM 'in.jsonl'\" --udf 'score=plugin.js:score->float64' --output out.parquet
  jsbox sql \"SELECT f(a, b) FROM 'in.csv'\" --udf 'f=f.js(bigint, varchar)->bigint' --per-row --on-error null
  jsbox sql \"SELECT tag(name) FROM '/data/big.parquet'\" --udf tag=tag.js --ballista df://127.0.0.1:50050";

const EVAL_HELP: &str = "\
Evaluates a script and prints its completion value as JSON (a promise is
awaited; undefined prints as null).

Examples:
  jsbox eval '1 + 1'
  jsbox eval '({ a: [1, 2].map(x => x * 10) })'
  jsbox eval \"require('fs').readdirSync('.')\" --allow-read .";

const REPL_HELP: &str = "\
An interactive session in one sandbox; definitions persist between lines.
Errors are printed and the session goes on (after a timeout or memory error the
sandbox is replaced with a fresh one). Commands: .help, .reset, .exit
(or Ctrl-D). History is kept in the user data directory (jsbox/history).

Examples:
  jsbox repl
  jsbox repl --allow-read . --timeout 2s";

const TYPES_HELP: &str = "\
Prints a TypeScript declaration file (.d.ts) of what a plugin can use in the
sandbox the capability flags describe (the flags of `jsbox run`): the web
globals, `require`, the built-in modules (path, console, process, buffer), and
only the granted capabilities: `fs` with --allow-read/--allow-write, `exec`
with --allow-exec (--allow-module limits the modules, as it does for `jsbox
run`). `fetch` is always declared: without --allow-net only `data:` URLs
resolve. Type-check a plugin against it, with TypeScript's \"lib\":
[\"ES2023\"] and \"types\": [] (jsbox has no DOM and is not node): `tsc
--noEmit --strict` then rejects a call of a module the sandbox does not grant.
A JS plugin can be checked too (`// @ts-check`, or checkJs).
Libraries describe their native modules' Rust types the same way
(jsbox::types::declarations).

Examples:
  jsbox types > sandbox.d.ts
  jsbox types --allow-read data --allow-net api.example.com --output sandbox.d.ts";

const CALLLOG_HELP: &str = "\
Examples:
  jsbox run plugin.js --allow-exec echo --calllog calls.sqlite
  jsbox calllog show calls.sqlite --module exec --limit 10
  jsbox calllog stats calls.sqlite";

const MANIFEST_HELP: &str = "\
A manifest (jsbox.toml, a .json file, or package.json's `jsbox` key) is the
sandbox as a file: plugin, export, grants, modules, limits, call log, cache.
Every command that builds a sandbox reads one with --manifest FILE; flags add
grants to it and override its other values. Unknown keys are errors.

Examples:
  jsbox manifest show plugin.js --allow-read data --timeout 5s > jsbox.toml
  jsbox run --manifest jsbox.toml --input '{}'
  jsbox manifest schema > manifest.schema.json";

const CACHE_HELP: &str = "\
Factories compile the sandbox once and keep the result here, keyed by
everything that changes it; a truncated, corrupt or outdated entry is rebuilt.
Removing entries is always safe.

Examples:
  jsbox cache dir
  jsbox cache clear
  JSBOX_CACHE_DIR=/tmp/c jsbox cache clear";

#[derive(Parser, Debug)]
#[command(name = "jsbox", version, about = "Run JavaScript plugins in isolated QuickJS sandboxes (QuickJS in wasmtime)", after_help = MAIN_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a plugin once on one JSON input and print its result.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Run a plugin over every line of a JSON Lines file, in parallel.
    #[command(after_help = BATCH_HELP)]
    Batch(batch::BatchArgs),
    /// Run a SQL query over Parquet, CSV or JSON Lines files with JS plugins as SQL functions.
    #[command(after_help = SQL_HELP)]
    Sql(sql::SqlArgs),
    /// Evaluate an expression and print the value as JSON.
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Interactive JavaScript session with line editing and history.
    #[command(after_help = REPL_HELP)]
    Repl(repl::ReplArgs),
    /// Print the TypeScript declarations (.d.ts) of what a plugin can use in a sandbox.
    #[command(after_help = TYPES_HELP)]
    Types(TypesArgs),
    /// Read a call log recorded with --calllog.
    #[command(subcommand, after_help = CALLLOG_HELP)]
    Calllog(calllog_cmd::CalllogCommand),
    /// Print a sandbox's manifest (flags and --manifest merged), or the manifest's JSON Schema.
    #[command(subcommand, after_help = MANIFEST_HELP)]
    Manifest(manifest_cmd::ManifestCommand),
    /// Show or empty the compiled-snapshot cache.
    #[command(subcommand, after_help = CACHE_HELP)]
    Cache(cache_cmd::CacheCommand),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The plugin file: CommonJS, or an ES module (`.mjs`, or `.js` in a `"type": "module"` package), or TypeScript (`.ts`, `.mts`, `.cts`).
    /// Optional with a --manifest that names it.
    #[arg(value_name = "PLUGIN.js")]
    plugin: Option<PathBuf>,
    /// The input as JSON text (default: read stdin; `null` when stdin is a terminal).
    #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
    input: Option<String>,
    /// Read the input JSON from this file.
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// Call this named export instead of the module's function export.
    #[arg(long, value_name = "NAME")]
    export: Option<String>,
    /// Pretty-print the result.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// The script to evaluate.
    #[arg(value_name = "EXPR")]
    expr: String,
    /// Pretty-print the result.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[derive(clap::Args, Debug)]
struct TypesArgs {
    /// Write the declarations to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// Prints JSON text, pretty when asked.
pub fn print_json(json: &str, pretty: bool) -> Result<()> {
    if pretty {
        let v: serde_json::Value = serde_json::from_str(json).context("result is not JSON")?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{json}");
    }
    Ok(())
}

fn read_input(args: &RunArgs) -> Result<serde_json::Value> {
    let (text, what) = if let Some(text) = &args.input {
        (text.clone(), "--input".to_string())
    } else if let Some(path) = &args.input_file {
        let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
        (text, path.display().to_string())
    } else if std::io::stdin().is_terminal() {
        return Ok(serde_json::Value::Null);
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| usage(format!("cannot read stdin: {e}")))?;
        (text, "stdin".to_string())
    };
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| usage(format!("the input ({what}) is not valid JSON: {e}")))
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let input = read_input(&args)?;
    let (options, plugin, _) = sandbox::plugin_options(&args.sandbox, args.plugin.as_deref(), args.export.as_deref())?;
    failure::set_plugin_dir(&plugin.dir);
    // One runtime: a new or edited plugin should not wait for a compile.
    let factory = EngineFactory::new(options.max_runtimes(1).compile(Compile::Shared))?;
    let mut runtime = factory.new_runtime()?;
    let call_args = serde_json::to_string(&[input])?;
    let (module, function) = &plugin.target;
    let result = runtime.call_json(Some(module), function, &call_args);
    drop(runtime);
    let flushed = factory.flush_calllog();
    print_json(&result?, args.pretty)?;
    // A call log that lost rows fails the command (after the result).
    flushed?;
    Ok(ExitCode::SUCCESS)
}

fn eval(args: EvalArgs) -> Result<ExitCode> {
    let options = args.sandbox.options()?;
    // One runtime: a new or edited plugin should not wait for a compile.
    let factory = EngineFactory::new(options.max_runtimes(1).compile(Compile::Shared))?;
    let mut runtime = factory.new_runtime()?;
    let result = runtime.eval_json(&args.expr, "<eval>");
    drop(runtime);
    let flushed = factory.flush_calllog();
    print_json(&result?, args.pretty)?;
    // A call log that lost rows fails the command (after the result).
    flushed?;
    Ok(ExitCode::SUCCESS)
}

fn types(args: TypesArgs) -> Result<ExitCode> {
    let declarations = jsbox::types::declarations(&args.sandbox.options()?);
    match &args.output {
        Some(path) => std::fs::write(path, declarations).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{declarations}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(a) => run(a),
        Command::Batch(a) => batch::run(a),
        Command::Sql(a) => sql::run(a),
        Command::Eval(a) => eval(a),
        Command::Repl(a) => repl::run(a),
        Command::Types(a) => types(a),
        Command::Calllog(c) => calllog_cmd::run(c),
        Command::Cache(c) => cache_cmd::run(c),
        Command::Manifest(c) => manifest_cmd::run(c),
    };
    outcome.unwrap_or_else(failure::exit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
