//! [`JsTableFunction`]: a JS generator as a DataFusion table function.

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StructArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DFSchema, Result as DfResult};
use datafusion::datasource::MemTable;
use serde_json::Value;

use crate::convert;
use crate::error::UdfError;
use crate::plugin::WRAPPER_MODULE;
use crate::udf::{message, JsUdf, UdfDefinition};
use crate::JsType;

/// A JS function returning an iterable (a generator, an array) as a
/// DataFusion table function: `SELECT * FROM js_gen(10)`.
///
/// The function gets the call's arguments (constant expressions, evaluated
/// when the query is planned) and each value it yields is a row. With a
/// [`JsType::Struct`] return type the rows are objects and the fields are
/// the table's columns; with any other return type the table has one
/// column, `value`. Rows are checked against the type as a scalar UDF's
/// results are (a row that does not fit fails the query, naming the row).
///
/// The generator runs once per query, in a fresh runtime of the plugin's
/// factory (its sandbox, limits and call log), while the query is planned,
/// and its rows become an in-memory table: the rows of one call cross in
/// one value, so [`jsbox::Limits::max_value_bytes`] bounds a call's
/// output. A table function is not carried by [`crate::JsUdfCodec`]: on
/// Ballista, use it on the client or read its rows from a file.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use datafusion::prelude::*;
/// use jsbox_datafusion::{JsTableFunction, Plugin, UdfDefinition};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let source = "module.exports = function* (n) { for (let i = 1; i <= n; i++) yield { i, square: i * i }; };";
/// let def = UdfDefinition::new("squares", Plugin::from_source("squares.js", source))
///     .returns("struct<i: int64, square: int64>".parse()?);
/// let ctx = SessionContext::new();
/// ctx.register_udtf("squares", Arc::new(JsTableFunction::new(def)?));
/// let df = ctx.sql("SELECT sum(square) AS s FROM squares(10)").await?;
/// let table = datafusion::arrow::util::pretty::pretty_format_batches(&df.collect().await?)?.to_string();
/// assert!(table.contains("| 385 |"), "{table}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct JsTableFunction {
    udf: JsUdf,
}

impl JsTableFunction {
    /// A table function of this definition (its argument types, mode and
    /// error policy are not used). The factory is not built yet.
    ///
    /// # Errors
    ///
    /// As [`JsUdf::new`].
    pub fn new(def: UdfDefinition) -> Result<Self, UdfError> {
        Ok(JsTableFunction { udf: JsUdf::new(def)? })
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

    /// The plugin's factory, built now if it is not yet (see
    /// [`JsUdf::factory`]).
    ///
    /// # Errors
    ///
    /// [`UdfError::Build`] when the sandbox cannot be built.
    pub fn factory(&self) -> Result<Arc<jsbox::EngineFactory>, UdfError> {
        self.udf.factory()
    }

    /// The rows of one call, as a record batch.
    fn rows(&self, args: &[Value]) -> Result<RecordBatch, UdfError> {
        let def = self.udf.definition();
        let args_json = Value::Array(args.to_vec()).to_string();
        let fail = |row: usize, rows: usize, message: String| UdfError::Row {
            udf: def.name.clone(),
            row,
            rows,
            args: args_json.clone(),
            message,
        };
        let json = self
            .udf
            .factory()?
            .new_runtime()
            .and_then(|mut rt| rt.call_json(Some(WRAPPER_MODULE), "table_rows", &args_json))
            .map_err(|e| fail(0, 0, message(&e)))?;
        let rows: Vec<Value> =
            serde_json::from_str(&json).map_err(|e| fail(0, 0, format!("the plugin's rows are not JSON: {e}")))?;
        let (ty, single) = match &def.returns {
            JsType::Struct(_) => (def.returns.clone(), false),
            other => (JsType::Struct(vec![("value".into(), other.clone())]), true),
        };
        let rows: Vec<Value> = if single {
            rows.into_iter().map(|v| Value::Object([("value".to_string(), v)].into_iter().collect())).collect()
        } else {
            rows
        };
        for (i, row) in rows.iter().enumerate() {
            if !row.is_object() {
                return Err(fail(i, rows.len(), format!("a row must be an object with the columns of {}", def.returns)));
            }
            convert::check(row, &ty).map_err(|m| fail(i, rows.len(), m))?;
        }
        let refs: Vec<Option<&Value>> = rows.iter().map(Some).collect();
        let array = convert::from_json(&refs, &ty);
        let array = array.as_any().downcast_ref::<StructArray>().expect("a struct type gives a struct array");
        // The struct's rows are never null: the columns are the batch.
        let (fields, columns, _) = array.clone().into_parts();
        let schema = Arc::new(Schema::new(fields.iter().map(|f| Field::new(f.name(), f.data_type().clone(), true)).collect::<Vec<_>>()));
        RecordBatch::try_new(schema, columns).map_err(|e| fail(0, rows.len(), e.to_string()))
    }
}

impl TableFunctionImpl for JsTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let empty = DFSchema::empty();
        let no_rows = RecordBatch::new_empty(Arc::new(Schema::empty()));
        let mut values = Vec::with_capacity(args.exprs().len());
        for expr in args.exprs() {
            let constant = args.session().create_physical_expr(expr.clone(), &empty)?;
            let array = constant.evaluate(&no_rows)?.into_array(1)?;
            JsType::from_arrow(array.data_type())?;
            values.push(convert::to_json(array.as_ref(), 0));
        }
        let batch = self.rows(&values)?;
        Ok(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))
    }
}
