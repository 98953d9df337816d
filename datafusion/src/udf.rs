//! [`JsUdf`]: a plugin as a DataFusion scalar function.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use jsbox::{EngineFactory, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::convert;
use crate::error::UdfError;
use jsbox::Manifest;

use crate::plugin::{Plugin, WRAPPER_EXPORT, WRAPPER_MODULE};
use crate::JsType;

/// How many rows share a JS runtime, and how a batch crosses into it.
///
/// The default is [`Mode::PerBatch`], for speed: a UDF is one function
/// applied to every row of a query, as in the SQL engines that run
/// JavaScript natively, and the sandbox around it (grants, limits, call
/// log) is the same in both modes. [`Mode::PerRow`] is for a plugin that
/// must not see what an earlier row left in its globals. Measured on the
/// string transform `trim().toLowerCase().split(' ').reverse().join('-')`
/// by the `sql_transform` benchmarks of the jsbox repository (`make
/// bench`, whose report gives both modes' rows/s).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// Every row in a fresh runtime: nothing one row's call leaves in the
    /// JS globals is seen by another row. A fresh runtime costs
    /// microseconds (a copy-on-write instance of the snapshot), and each
    /// row's arguments and result cross as JSON.
    PerRow,
    /// One runtime per Arrow batch (up to `datafusion.execution.batch_size`
    /// rows, 8192 by default), and one guest call for the whole batch
    /// ([`jsbox::Runtime::call_columns`]): the arguments cross as columns
    /// in one buffer, the guest calls the function for each row in order,
    /// and the results come back in one buffer. State a call leaves in the
    /// globals is seen by the next rows of the batch (never by another
    /// batch). A row that throws fails alone (its error names the row).
    /// The limits cover the batch's call as a whole; a batch whose call
    /// hits one (or whose arguments or results exceed
    /// [`jsbox::Limits::max_value_bytes`]) is run again a row at a time in
    /// a fresh runtime, so the row that hits it is named and the others
    /// still get their values (the rows before it run twice).
    #[default]
    PerBatch,
}

/// What a row whose call fails becomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OnError {
    /// The query fails with [`UdfError::Row`], naming the row and the
    /// plugin's error (the default).
    #[default]
    Fail,
    /// The row's value is NULL and the query goes on.
    Null,
}

/// Everything that defines a JS UDF: its SQL name, the plugin, the
/// argument and return types, the [`Mode`], the [`OnError`] policy and the
/// [`Manifest`]. Plain data: [`crate::JsUdfCodec`] ships it inside a plan.
///
/// Argument types are either declared ([`UdfDefinition::args`]: the query
/// planner casts the SQL arguments to them) or, by default, taken from the
/// query as they are, checked when the query is planned. The return type
/// defaults to [`JsType::Utf8`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UdfDefinition {
    /// The function's SQL name.
    pub name: String,
    /// The plugin.
    pub plugin: Plugin,
    /// Declared argument types (`None`: whatever the query passes).
    pub args: Option<Vec<JsType>>,
    /// The return type.
    pub returns: JsType,
    /// Runtimes per row or per batch.
    pub mode: Mode,
    /// Failed rows: fail the query or NULL.
    pub on_error: OnError,
    /// Grants, limits, call log and cache.
    pub sandbox: Manifest,
}

impl UdfDefinition {
    /// A UDF named `name` running `plugin`: arguments as the query gives
    /// them, `utf8` result, a runtime and one call per batch
    /// ([`Mode::PerBatch`]), errors fail the query, the default
    /// [`Manifest`].
    pub fn new(name: impl Into<String>, plugin: Plugin) -> Self {
        UdfDefinition {
            name: name.into(),
            plugin,
            args: None,
            returns: JsType::Utf8,
            mode: Mode::PerBatch,
            on_error: OnError::Fail,
            sandbox: Manifest::default(),
        }
    }

    /// Declares the argument types.
    pub fn args(mut self, types: impl IntoIterator<Item = JsType>) -> Self {
        self.args = Some(types.into_iter().collect());
        self
    }

    /// Sets the return type.
    pub fn returns(mut self, ty: JsType) -> Self {
        self.returns = ty;
        self
    }

    /// Sets the [`Mode`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the [`OnError`] policy.
    pub fn on_error(mut self, policy: OnError) -> Self {
        self.on_error = policy;
        self
    }

    /// Sets the [`Manifest`].
    pub fn sandbox(mut self, sandbox: Manifest) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// The content hash that identifies this definition (and its factory).
    pub fn hash(&self) -> [u8; 32] {
        let bytes = serde_json::to_vec(self).expect("a definition serializes");
        *blake3::hash(&bytes).as_bytes()
    }
}

/// A factory being built or built, shared by every UDF with the same
/// definition hash in this process.
type Engine = Arc<OnceLock<Result<Arc<EngineFactory>, Arc<jsbox::Error>>>>;

/// The process-wide factories, by definition hash: a Ballista executor
/// decodes the UDF again for every task, and every task finds the factory
/// the first one built.
static ENGINES: LazyLock<Mutex<HashMap<[u8; 32], Engine>>> = LazyLock::new(Default::default);

fn engine(key: &[u8; 32]) -> Engine {
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    engines.entry(*key).or_default().clone()
}

/// A JS plugin as a DataFusion scalar function ([`ScalarUDFImpl`]).
///
/// Its [`EngineFactory`] is built on first use (or by
/// [`JsUdf::factory`]) and shared by every `JsUdf` of the same definition
/// in the process; it is built once and every batch (or row, with
/// [`Mode::PerRow`]) then gets a runtime from it.
///
/// # Examples
///
/// ```
/// use jsbox_datafusion::{JsUdf, Plugin, UdfDefinition};
///
/// let plugin = Plugin::from_source("shout.js", "module.exports = (s) => s.toUpperCase() + '!';");
/// let udf = JsUdf::new(UdfDefinition::new("shout", plugin))?;
/// let function = udf.into_scalar_udf(); // ctx.register_udf(function)
/// assert_eq!(function.name(), "shout");
/// # Ok::<(), jsbox_datafusion::UdfError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsUdf {
    def: Arc<UdfDefinition>,
    key: [u8; 32],
    signature: Signature,
    engine: Engine,
}

impl PartialEq for JsUdf {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for JsUdf {}

impl Hash for JsUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl JsUdf {
    /// A UDF of this definition. The factory is not built yet.
    ///
    /// # Errors
    ///
    /// [`UdfError::Definition`] when the name is empty or the plugin's
    /// entry module is missing.
    pub fn new(def: UdfDefinition) -> Result<Self, UdfError> {
        if def.name.is_empty() {
            return Err(UdfError::Definition("the UDF's name is empty".into()));
        }
        if !def.plugin.module_names().any(|n| n == def.plugin.entry()) {
            return Err(UdfError::Definition(format!("the plugin has no module {}", def.plugin.entry())));
        }
        let signature = match &def.args {
            Some(types) => Signature::exact(types.iter().map(JsType::to_arrow).collect(), Volatility::Volatile),
            None => Signature::user_defined(Volatility::Volatile),
        };
        let key = def.hash();
        Ok(JsUdf { engine: engine(&key), def: Arc::new(def), key, signature })
    }

    /// Its definition.
    pub fn definition(&self) -> &UdfDefinition {
        &self.def
    }

    /// Wraps it as a [`ScalarUDF`], for `SessionContext::register_udf`.
    pub fn into_scalar_udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }

    /// Wraps it as DataFusion's async scalar function ([`AsyncScalarUDF`]),
    /// for a plugin that waits (on a granted `fetch`, a timer): each batch
    /// runs in one runtime with one async call that starts every row's
    /// call before awaiting any, so the rows' waits overlap, and the query
    /// holds no thread while they wait. Rows are called in order and share
    /// the runtime (as in [`Mode::PerBatch`], whatever the mode); a row
    /// that throws or rejects fails alone. A batch whose call as a whole
    /// fails (a limit hit) is run again as the definition's [`Mode`] runs
    /// it. DataFusion evaluates async functions only in projections
    /// and filters, and [`crate::JsUdfCodec`] does not carry them.
    pub fn into_async_udf(self) -> ScalarUDF {
        AsyncScalarUDF::new(Arc::new(self)).into_scalar_udf()
    }

    /// The plugin's factory, built now if it is not yet (a syntax error in
    /// the plugin shows here). Building it once up front turns a broken
    /// plugin into an error before the query runs.
    ///
    /// # Errors
    ///
    /// [`UdfError::Build`] when the sandbox cannot be built.
    pub fn factory(&self) -> Result<Arc<EngineFactory>, UdfError> {
        let built = self.engine.get_or_init(|| {
            self.def.plugin.engine_options(&self.def.sandbox).and_then(EngineFactory::new).map(Arc::new).map_err(Arc::new)
        });
        built.clone().map_err(|source| UdfError::Build { udf: self.def.name.clone(), source })
    }

    /// Flushes the call log of the plugin's factory, if it was built.
    ///
    /// # Errors
    ///
    /// [`UdfError::Build`] holding the call log's error.
    pub fn flush_calllog(&self) -> Result<(), UdfError> {
        if let Some(Ok(factory)) = self.engine.get() {
            factory.flush_calllog().map_err(|e| UdfError::Build { udf: self.def.name.clone(), source: Arc::new(e) })?;
        }
        Ok(())
    }

    /// Its signature (shared with [`crate::JsUdaf`]).
    pub(crate) fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The argument types the planner casts to: checked, dictionaries as
    /// their values.
    pub(crate) fn coerce(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.check_args(arg_types)?;
        Ok(arg_types
            .iter()
            .map(|t| match t {
                DataType::Dictionary(_, values) => values.as_ref().clone(),
                other => other.clone(),
            })
            .collect())
    }

    pub(crate) fn check_args(&self, arg_types: &[DataType]) -> Result<(), UdfError> {
        if let Some(declared) = &self.def.args {
            if declared.len() != arg_types.len() {
                return Err(UdfError::Arity { udf: self.def.name.clone(), expected: declared.len(), got: arg_types.len() });
            }
        }
        for ty in arg_types {
            JsType::from_arrow(ty)?;
        }
        Ok(())
    }

    /// Evaluates one batch into its result array.
    fn evaluate(&self, arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef, UdfError> {
        if self.def.mode == Mode::PerBatch {
            if let Some(array) = self.evaluate_columns(arrays, rows)? {
                return Ok(array);
            }
        }
        let values = self.evaluate_rows(arrays, rows)?;
        let refs: Vec<Option<&Value>> = values.iter().map(Option::as_ref).collect();
        Ok(convert::from_json(&refs, &self.def.returns))
    }

    /// [`Mode::PerBatch`]: the batch in one guest call
    /// ([`Runtime::call_columns`]). `None` when the call as a whole
    /// failed (a limit hit, a batch over the size limit): the caller then
    /// runs the rows one by one, which names the row that fails.
    fn evaluate_columns(&self, arrays: &[ArrayRef], rows: usize) -> Result<Option<ArrayRef>, UdfError> {
        let factory = self.factory()?;
        let args = convert::to_columns(arrays, rows);
        let cells = factory
            .new_runtime()
            .and_then(|mut rt| rt.call_columns(Some(WRAPPER_MODULE), WRAPPER_EXPORT, &args));
        let Ok(cells) = cells else { return Ok(None) };
        match convert::from_cells(&cells, &self.def.returns, self.def.on_error == OnError::Null) {
            Ok(array) => Ok(Some(array)),
            Err(failed) => Err(self.row_error(arrays, failed.row, rows, failed.message)),
        }
    }

    /// [`JsUdf::into_async_udf`]: the batch in one async call whose rows'
    /// promises are awaited together.
    async fn evaluate_concurrently(&self, arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef, UdfError> {
        let factory = self.factory()?;
        let args: Vec<Value> = (0..rows)
            .map(|row| Value::Array(arrays.iter().map(|a| convert::to_json(a.as_ref(), row)).collect()))
            .collect();
        let args = Value::Array(vec![Value::Array(args)]).to_string();
        let called = match factory.new_runtime() {
            Ok(mut rt) => rt.call_json_async(Some(WRAPPER_MODULE), "call_all", &args).await,
            Err(e) => Err(e),
        };
        let Ok(json) = called else { return self.evaluate(arrays, rows) };
        let outcomes: Vec<Value> = serde_json::from_str(&json).unwrap_or_default();
        if outcomes.len() != rows {
            return self.evaluate(arrays, rows);
        }
        let mut values = Vec::with_capacity(rows);
        for (row, mut outcome) in outcomes.into_iter().enumerate() {
            let value = match outcome.get_mut("error") {
                Some(error) => Err(error.as_str().unwrap_or("the call failed").to_string()),
                None => {
                    let value = outcome.get_mut("value").map(Value::take).unwrap_or(Value::Null);
                    convert::check(&value, &self.def.returns).map(|()| value)
                }
            };
            match value {
                Ok(v) => values.push(Some(v)),
                Err(_) if self.def.on_error == OnError::Null => values.push(None),
                Err(message) => return Err(self.row_error(arrays, row, rows, message)),
            }
        }
        let refs: Vec<Option<&Value>> = values.iter().map(Option::as_ref).collect();
        Ok(convert::from_json(&refs, &self.def.returns))
    }

    /// [`Mode::PerRow`], and batches whose one call failed: a call per row.
    fn evaluate_rows(&self, arrays: &[ArrayRef], rows: usize) -> Result<Vec<Option<Value>>, UdfError> {
        let factory = self.factory()?;
        let mut results = Vec::with_capacity(rows);
        let mut shared: Option<Runtime> = None;
        for row in 0..rows {
            let args_json = row_json(arrays, row);
            let called = match self.def.mode {
                Mode::PerRow => factory
                    .new_runtime()
                    .and_then(|mut rt| rt.call_json(Some(WRAPPER_MODULE), WRAPPER_EXPORT, &args_json)),
                Mode::PerBatch => {
                    let runtime = match shared.as_mut() {
                        Some(rt) => Ok(rt),
                        None => factory.new_runtime().map(|rt| shared.insert(rt)),
                    };
                    let called = runtime.and_then(|rt| rt.call_json(Some(WRAPPER_MODULE), WRAPPER_EXPORT, &args_json));
                    if called.is_err() {
                        // A limit hit poisons the runtime: go on in a fresh one.
                        shared = None;
                    }
                    called
                }
            };
            let value = called.map_err(|e| message(&e)).and_then(|json| {
                let value: Value =
                    serde_json::from_str(&json).map_err(|e| format!("the plugin's result is not JSON: {e}"))?;
                convert::check(&value, &self.def.returns)?;
                Ok(value)
            });
            match value {
                Ok(v) => results.push(Some(v)),
                Err(_) if self.def.on_error == OnError::Null => results.push(None),
                Err(message) => return Err(self.row_error(arrays, row, rows, message)),
            }
        }
        Ok(results)
    }

    /// [`UdfError::Row`] for row `row`, with its arguments (shortened).
    fn row_error(&self, arrays: &[ArrayRef], row: usize, rows: usize, message: String) -> UdfError {
        let mut args = row_json(arrays, row);
        if args.len() > 200 {
            args.truncate(args.floor_char_boundary(200));
            args.push_str("...");
        }
        UdfError::Row { udf: self.def.name.clone(), row, rows, args, message }
    }
}

/// Row `row`'s arguments as the JSON array text a row call takes.
fn row_json(arrays: &[ArrayRef], row: usize) -> String {
    Value::Array(arrays.iter().map(|a| convert::to_json(a.as_ref(), row)).collect()).to_string()
}

/// A jsbox error in one line, JS exceptions as `Name: message`.
pub(crate) fn message(e: &jsbox::Error) -> String {
    match e {
        jsbox::Error::Exception(x) if x.name.is_empty() => x.message.clone(),
        jsbox::Error::Exception(x) => format!("{}: {}", x.name, x.message),
        other => other.to_string(),
    }
}

impl ScalarUDFImpl for JsUdf {
    fn name(&self) -> &str {
        &self.def.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.coerce(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.check_args(arg_types)?;
        Ok(self.def.returns.to_arrow())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        Ok(ColumnarValue::Array(self.evaluate(&arrays, rows)?))
    }
}

#[async_trait::async_trait]
impl AsyncScalarUDFImpl for JsUdf {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        Ok(ColumnarValue::Array(self.evaluate_concurrently(&arrays, rows).await?))
    }
}
