//! [`JsUdaf`]: a plugin as a DataFusion aggregate function.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature};
use serde_json::Value;

use crate::convert;
use crate::error::UdfError;
use crate::plugin::WRAPPER_MODULE;
use crate::udf::{message, JsUdf, UdfDefinition};

/// A JS module as a DataFusion aggregate function
/// ([`AggregateUDFImpl`]).
///
/// The plugin's entry module (or the object it exports under
/// [`Plugin::export`](crate::Plugin::export)'s name) has four functions:
///
/// - `create_state()`: a new group's state;
/// - `accumulate(state, ...args)`: adds a row (its SQL arguments, NULLs as
///   `null`) and returns the new state (or changes `state` and returns
///   nothing);
/// - `merge(state, other)`: adds another partial state of the same group
///   (computed by another partition, or on another Ballista executor), and
///   returns the new state (or changes `state`);
/// - `finish(state)`: the group's result, checked against the return type
///   as a scalar UDF's is.
///
/// The state must survive `JSON.stringify`: it crosses between the calls
/// as JSON text, and DataFusion's partial and final aggregation steps carry
/// it as a `Utf8` column (so it travels through Ballista's shuffles). Each
/// group's rows of an Arrow batch go in one guest call, in a fresh runtime
/// of the plugin's factory (its sandbox, limits and call log are the
/// [`UdfDefinition`]'s; the [`crate::Mode`] and [`crate::OnError`] policy
/// do not apply: a failing call fails the query with
/// [`UdfError::Aggregate`]).
///
/// # Examples
///
/// ```
/// use datafusion::prelude::*;
/// use jsbox_datafusion::{JsType, JsUdaf, Plugin, UdfDefinition};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let source = "exports.create_state = () => ({ n: 0, sum: 0 });
/// exports.accumulate = (s, x) => { if (x !== null) { s.n++; s.sum += x; } };
/// exports.merge = (s, o) => ({ n: s.n + o.n, sum: s.sum + o.sum });
/// exports.finish = (s) => (s.n ? s.sum / s.n : null);";
/// let def = UdfDefinition::new("js_avg", Plugin::from_source("avg.js", source))
///     .args([JsType::Float64])
///     .returns(JsType::Float64);
/// let ctx = SessionContext::new();
/// ctx.register_udaf(JsUdaf::new(def)?.into_aggregate_udf());
/// let df = ctx.sql("SELECT js_avg(x) AS a FROM (VALUES (1), (2), (NULL), (6)) AS t(x)").await?;
/// let table = datafusion::arrow::util::pretty::pretty_format_batches(&df.collect().await?)?.to_string();
/// assert!(table.contains("| 3.0 |"), "{table}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsUdaf {
    udf: JsUdf,
}

impl JsUdaf {
    /// An aggregate of this definition. The factory is not built yet.
    ///
    /// # Errors
    ///
    /// As [`JsUdf::new`].
    pub fn new(def: UdfDefinition) -> Result<Self, UdfError> {
        Ok(JsUdaf { udf: JsUdf::new(def)? })
    }

    /// Its definition.
    pub fn definition(&self) -> &UdfDefinition {
        self.udf.definition()
    }

    /// Flushes the call log of the plugin's factory, if it was built.
    ///
    /// # Errors
    ///
    /// [`UdfError::Build`] holding the call log's error.
    pub fn flush_calllog(&self) -> Result<(), UdfError> {
        self.udf.flush_calllog()
    }

    /// Wraps it as an [`AggregateUDF`], for `SessionContext::register_udaf`.
    pub fn into_aggregate_udf(self) -> AggregateUDF {
        AggregateUDF::new_from_impl(self)
    }

    /// The plugin's factory, built now if it is not yet (see
    /// [`JsUdf::factory`]).
    ///
    /// # Errors
    ///
    /// [`UdfError::Build`] when the sandbox cannot be built.
    pub fn factory(&self) -> Result<Arc<jsbox::EngineFactory>, UdfError> {
        self.udf.factory()
    }
}

impl AggregateUDFImpl for JsUdaf {
    fn name(&self) -> &str {
        &self.definition().name
    }

    fn signature(&self) -> &Signature {
        self.udf.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.udf.coerce(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.udf.check_args(arg_types)?;
        Ok(self.definition().returns.to_arrow())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(JsAccumulator { udf: self.udf.clone(), state: None }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "js_state"), DataType::Utf8, true))])
    }
}

/// One group's state, as the JSON text the plugin's last call returned
/// (`None`: not created yet).
#[derive(Debug)]
struct JsAccumulator {
    udf: JsUdf,
    state: Option<String>,
}

impl JsAccumulator {
    fn error(&self, step: &'static str, message: String) -> UdfError {
        UdfError::Aggregate { udf: self.udf.definition().name.clone(), step, message }
    }

    /// Calls a wrapper export with the state and `more` (JSON text) as its
    /// arguments; its result's JSON text.
    fn call(&self, export: &'static str, more: Option<&str>) -> Result<String, UdfError> {
        let state = self.state.as_deref().unwrap_or("null");
        let args = match more {
            Some(more) => format!("[{state},{more}]"),
            None => format!("[{state}]"),
        };
        self.udf
            .factory()?
            .new_runtime()
            .and_then(|mut rt| rt.call_json(Some(WRAPPER_MODULE), export, &args))
            .map_err(|e| self.error(export, message(&e)))
    }
}

impl Accumulator for JsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let rows = values.first().map_or(0, |a| a.len());
        if rows == 0 {
            return Ok(());
        }
        let rows: Vec<Value> =
            (0..rows).map(|row| Value::Array(values.iter().map(|a| convert::to_json(a.as_ref(), row)).collect())).collect();
        self.state = Some(self.call("aggregate_update", Some(&Value::Array(rows).to_string()))?);
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let Some(states) = states.first() else { return Ok(()) };
        // The partial states are JSON texts already: a JSON array of them.
        let others: Vec<&str> = states.as_string::<i32>().iter().flatten().collect();
        if !others.is_empty() {
            self.state = Some(self.call("aggregate_merge", Some(&format!("[{}]", others.join(","))))?);
        }
        Ok(())
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(self.state.clone())])
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let step = "aggregate_finish";
        let json = self.call(step, None)?;
        let value: Value = serde_json::from_str(&json).map_err(|e| self.error(step, format!("not JSON: {e}")))?;
        let returns = &self.udf.definition().returns;
        convert::check(&value, returns).map_err(|m| self.error(step, m))?;
        ScalarValue::try_from_array(&convert::from_json(&[Some(&value)], returns), 0)
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.state.as_ref().map_or(0, String::capacity)
    }
}
