//! # jsbox-datafusion
//!
//! JavaScript plugins as [Apache DataFusion](https://datafusion.apache.org)
//! scalar functions, evaluated in [jsbox](https://docs.rs/jsbox) sandboxes
//! (QuickJS in wasm) with the sandbox's grants, limits and call log: each
//! Arrow batch in one guest call by default, or each row in a fresh
//! runtime; and a plan codec that carries the plugin with the plan, so the
//! same query runs distributed on Ballista.
//!
//! ```
//! use datafusion::arrow::util::pretty::pretty_format_batches;
//! use datafusion::prelude::*;
//! use jsbox_datafusion::{JsType, JsUdf, Plugin, UdfDefinition};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let plugin = Plugin::from_source("clean.js", "module.exports = (name) => name.trim().toLowerCase();");
//! let clean = JsUdf::new(UdfDefinition::new("clean", plugin))?;
//! let words = Plugin::from_source("words.js", "module.exports = (s) => s.trim().split(' ').length;");
//! let words = JsUdf::new(UdfDefinition::new("words", words).returns(JsType::Int64))?;
//!
//! let ctx = SessionContext::new();
//! ctx.register_udf(clean.into_scalar_udf());
//! ctx.register_udf(words.into_scalar_udf());
//! let df = ctx.sql("SELECT clean(name) AS name, words(name) AS n FROM (VALUES ('  Ada Lovelace '), ('GRACE')) AS t(name)").await?;
//! let table = pretty_format_batches(&df.collect().await?)?.to_string();
//! assert!(table.contains("| ada lovelace | 2 |"), "{table}");
//! assert!(table.contains("| grace        | 1 |"), "{table}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Core concepts
//!
//! In the order data flows:
//!
//! - **[`Plugin`]**: the JS sources (a file and the files it requires, or
//!   source text) and the export to call. Plain data.
//! - **[`Manifest`]** (jsbox's, re-exported): the sandbox: capability
//!   grants (`fs`, `exec`, `fetch`, modules), limits (timeout, memory,
//!   fuel), call log and disk cache; turned into [`jsbox::EngineOptions`]
//!   where the plugin runs. Plain data, the same a `jsbox.toml` holds; its
//!   `plugin` and `export` are not used (the [`Plugin`] says them).
//! - **[`UdfDefinition`]**: SQL name, plugin, argument and return
//!   [`JsType`]s, [`Mode`] and [`OnError`] policy, sandbox. Its content hash
//!   names its factory.
//! - **[`JsUdf`]**: the definition as a DataFusion
//!   [`ScalarUDFImpl`](datafusion::logical_expr::ScalarUDFImpl). When the
//!   query is planned it checks the argument types (an Arrow type with no
//!   JSON form is a planning error, never a row-time panic). When it runs,
//!   it builds the plugin's [`jsbox::EngineFactory`] once (per process and
//!   definition, shared through an `Arc`) and evaluates each Arrow batch
//!   in one runtime with one guest call ([`Mode::PerBatch`], the default,
//!   for speed), or each row in a fresh runtime ([`Mode::PerRow`], the
//!   isolation guarantee).
//! - **Values**: each row's arguments become the plugin's positional
//!   arguments (numbers, strings, booleans, `null`, arrays for lists,
//!   objects for structs), and its result is checked against the return
//!   type and converted back (see [`JsType`]). SQL NULLs are passed as
//!   `null`; a `null` or `undefined` result is NULL; NaN and the
//!   infinities are `null` both ways (JSON has no form for them). A batch
//!   crosses as columns in one binary buffer ([`jsbox::Columns`]) and its
//!   results as another ([`jsbox::Cells`]); a row crosses as JSON. Both
//!   give the same values.
//! - **Errors**: a row whose call fails (the plugin throws, a limit is hit,
//!   the result does not fit the return type) fails the query with
//!   [`UdfError::Row`], which names the UDF, the row, its arguments and the
//!   plugin's error, or becomes NULL with [`OnError::Null`].
//! - **Async**: [`JsUdf::into_async_udf`] makes it DataFusion's async
//!   scalar function: a batch's rows are all started before any is
//!   awaited, so a plugin awaiting a granted `fetch` overlaps its rows'
//!   waits.
//! - **[`JsUdaf`]**: a module exporting `create_state`, `accumulate`,
//!   `merge` and `finish` as a DataFusion aggregate function. The state
//!   crosses as JSON text, a `Utf8` state column between DataFusion's
//!   partial and final steps, so states computed on different Ballista
//!   executors merge.
//! - **[`JsTableFunction`]**: a JS generator as a DataFusion table
//!   function (`SELECT * FROM js_gen(10)`), run once per query while it is
//!   planned; a [`JsType::Struct`] return type gives the columns.
//! - **[`JsFunctionFactory`]**: `CREATE FUNCTION name(type, ...) RETURNS
//!   type LANGUAGE javascript AS '...'` in SQL makes a [`JsUdf`] of the
//!   body (an ES module exporting a function of that name), built by the
//!   statement so a syntax error is a planning error with its line.
//! - **[`JsUdfCodec`]**: a DataFusion logical and physical extension codec
//!   that writes a `JsUdf`'s definition into serialized plans and rebuilds
//!   it on decode, wrapping any other codec (Ballista's). With it a
//!   Ballista scheduler and its executors run a query's JS functions with
//!   no registration: the plugin travels with the plan, and each executor
//!   builds its factory once and reuses it for every task.
//!
//! The `jsbox sql` command of `jsbox-cli` and the `jsbox-ballista`
//! scheduler and executor of the jsbox repository are built on this crate.
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod codec;
mod create;
mod convert;
mod error;
mod plugin;
mod types;
mod udaf;
mod udf;
mod udtf;

pub use codec::JsUdfCodec;
pub use create::JsFunctionFactory;
pub use error::UdfError;
pub use jsbox::{CacheDir, Manifest};
pub use plugin::Plugin;
pub use types::JsType;
pub use udaf::JsUdaf;
pub use udtf::JsTableFunction;
pub use udf::{JsUdf, Mode, OnError, UdfDefinition};

pub use datafusion;
pub use datafusion_proto;
