//! [`JsFunctionFactory`]: `CREATE FUNCTION ... LANGUAGE javascript` in SQL.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::context::{FunctionFactory, RegisterFunction};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{CreateFunction, Expr};

use crate::error::UdfError;
use jsbox::Manifest;

use crate::plugin::Plugin;
use crate::udf::{JsUdf, Mode, OnError, UdfDefinition};
use crate::JsType;

/// DataFusion's [`FunctionFactory`] for JavaScript: with it installed in a
/// session (`SessionStateBuilder::with_function_factory`),
///
/// ```sql
/// CREATE FUNCTION name(type, ...) RETURNS type LANGUAGE javascript AS '
///   export function name(a, b) { return ...; }
/// '
/// ```
///
/// registers a [`JsUdf`]. The body is an ES module that exports a function
/// of the SQL function's name (the convention of RisingWave's JavaScript
/// UDFs). The argument types are declared (the planner casts to them;
/// `CREATE FUNCTION name AS ...` with no list takes whatever the query
/// passes) and the return type defaults to `VARCHAR`. `LANGUAGE js` is
/// accepted too. The function runs in this factory's [`Manifest`], with its
/// [`Mode`] and [`OnError`] policy.
///
/// The plugin's sandbox is built by the statement: a syntax error in the
/// body is a planning error that names the function and the line
/// (`name.mjs:LINE:COLUMN`). `CREATE OR REPLACE` replaces a function of the
/// same name; without it, the name must be free. `DROP FUNCTION name` is
/// DataFusion's own and removes it.
///
/// The function is a [`JsUdf`] like any other: [`crate::JsUdfCodec`]
/// carries its definition (body included) in a serialized plan, so on
/// Ballista a client's `CREATE FUNCTION` is all the executors need.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use datafusion::execution::SessionStateBuilder;
/// use datafusion::prelude::*;
/// use jsbox_datafusion::JsFunctionFactory;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let state = SessionStateBuilder::new()
///     .with_default_features()
///     .with_function_factory(Some(Arc::new(JsFunctionFactory::new())))
///     .build();
/// let ctx = SessionContext::new_with_state(state);
/// ctx.sql("CREATE FUNCTION euclid(BIGINT, BIGINT) RETURNS BIGINT LANGUAGE javascript AS '
///   export function euclid(a, b) { while (b) [a, b] = [b, a % b]; return a; }
/// '").await?.collect().await?;
/// let batches = ctx.sql("SELECT euclid(84, 36) AS g").await?.collect().await?;
/// let table = datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
/// assert!(table.contains("| 12 |"), "{table}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct JsFunctionFactory {
    sandbox: Manifest,
    mode: Mode,
    on_error: OnError,
}

impl JsFunctionFactory {
    /// Functions in the default [`Manifest`], [`Mode::PerBatch`], failing
    /// the query on a row's error.
    pub fn new() -> Self {
        JsFunctionFactory::default()
    }

    /// The sandbox every created function runs in.
    pub fn sandbox(mut self, sandbox: Manifest) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// The [`Mode`] of every created function.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The [`OnError`] policy of every created function.
    pub fn on_error(mut self, policy: OnError) -> Self {
        self.on_error = policy;
        self
    }

    /// The definition a `CREATE FUNCTION` statement makes.
    ///
    /// # Errors
    ///
    /// [`UdfError::CreateFunction`] when the language is not JavaScript or
    /// the body is not a string; [`UdfError::UnsupportedType`] for a type
    /// with no JSON form.
    pub fn definition(&self, stmt: &CreateFunction) -> Result<UdfDefinition, UdfError> {
        let refuse = |reason: &str| UdfError::CreateFunction { name: stmt.name.clone(), reason: reason.into() };
        match &stmt.params.language {
            Some(l) if ["javascript", "js"].iter().any(|js| l.value.eq_ignore_ascii_case(js)) => {}
            _ => return Err(refuse("only LANGUAGE javascript is supported")),
        }
        let body = match &stmt.params.function_body {
            Some(Expr::Literal(value, _)) => value.try_as_str().flatten(),
            _ => None,
        }
        .ok_or_else(|| refuse("the body must be a string: AS 'export function ...'"))?;
        let plugin = Plugin::es_module(format!("{}.mjs", stmt.name), body).export(stmt.name.clone());
        let mut def = UdfDefinition::new(stmt.name.clone(), plugin)
            .mode(self.mode)
            .on_error(self.on_error)
            .sandbox(self.sandbox.clone());
        if let Some(args) = &stmt.args {
            def = def.args(args.iter().map(|a| JsType::from_arrow(&a.data_type)).collect::<Result<Vec<_>, _>>()?);
        }
        if let Some(ty) = &stmt.return_type {
            def = def.returns(JsType::from_arrow(ty)?);
        }
        Ok(def)
    }
}

#[async_trait]
impl FunctionFactory for JsFunctionFactory {
    async fn create(&self, state: &SessionState, stmt: CreateFunction) -> DfResult<RegisterFunction> {
        let plan_error = |e: UdfError| DataFusionError::Plan(e.to_string());
        if !stmt.or_replace && state.scalar_functions().contains_key(&stmt.name) {
            return Err(plan_error(UdfError::CreateFunction {
                name: stmt.name.clone(),
                reason: "a function of this name exists (CREATE OR REPLACE replaces it)".into(),
            }));
        }
        let udf = JsUdf::new(self.definition(&stmt).map_err(plan_error)?).map_err(plan_error)?;
        // Build the sandbox now: a body that does not compile fails the
        // statement, with its line, not the first query that calls it.
        udf.factory().map_err(plan_error)?;
        Ok(RegisterFunction::Scalar(Arc::new(udf.into_scalar_udf())))
    }
}
