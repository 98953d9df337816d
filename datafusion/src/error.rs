//! The error type at this crate's public boundary.

use std::path::PathBuf;

/// Everything that can go wrong building or running a JS UDF.
///
/// Inside a query these reach DataFusion as a `DataFusionError`: type
/// errors as `Plan` errors (when the query is planned), the others as
/// `External` errors holding this type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UdfError {
    /// An Arrow type that has no JSON form (see [`crate::JsType`]).
    #[error("type {0} cannot cross into JS (supported: integers, floats, strings, booleans, nulls, lists and structs of them; cast it in SQL first, e.g. CAST(x AS VARCHAR))")]
    UnsupportedType(String),
    /// A type name [`crate::JsType`]'s parser does not read.
    #[error("bad type name `{text}`: {reason}")]
    BadTypeName {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The UDF was called with a number of arguments its declaration does
    /// not take.
    #[error("{udf}: takes {expected} argument(s), called with {got}")]
    Arity {
        /// The UDF's SQL name.
        udf: String,
        /// Declared.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// The plugin file (or a file it requires) could not be read.
    #[error("cannot read plugin {path}: {source}")]
    ReadPlugin {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The sandbox could not be built (a syntax error in the plugin, a
    /// module that is not found, a bad grant ...).
    #[error("{udf}: cannot build the plugin's sandbox: {source}")]
    Build {
        /// The UDF's SQL name.
        udf: String,
        /// jsbox's error.
        source: std::sync::Arc<jsbox::Error>,
    },
    /// A row's call failed (the plugin threw, a limit was hit, or its result
    /// does not fit the return type) and the UDF fails the query on errors
    /// ([`crate::OnError::Fail`]).
    #[error("{udf}: row {row} of a batch of {rows} (arguments {args}): {message}")]
    Row {
        /// The UDF's SQL name.
        udf: String,
        /// The row's index in its Arrow batch (0-based).
        row: usize,
        /// The batch's length.
        rows: usize,
        /// The row's arguments as JSON (shortened).
        args: String,
        /// The plugin's error, or why its value does not fit.
        message: String,
    },
    /// An aggregate's call failed (the plugin threw, a limit was hit, its
    /// state is not JSON, or its result does not fit the return type).
    #[error("{udf}: {step}: {message}")]
    Aggregate {
        /// The aggregate's SQL name.
        udf: String,
        /// The wrapper step: `aggregate_update`, `aggregate_merge` or
        /// `aggregate_finish`.
        step: &'static str,
        /// The plugin's error, or why its value does not fit.
        message: String,
    },
    /// A `CREATE FUNCTION` statement jsbox cannot make a function of (see
    /// [`crate::JsFunctionFactory`]).
    #[error("CREATE FUNCTION {name}: {reason}")]
    CreateFunction {
        /// The function's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A UDF definition is not valid, or one carried in a plan could not be
    /// read.
    #[error("bad jsbox UDF definition: {0}")]
    Definition(String),
}

impl From<UdfError> for datafusion::error::DataFusionError {
    fn from(e: UdfError) -> Self {
        match e {
            UdfError::UnsupportedType(_)
            | UdfError::BadTypeName { .. }
            | UdfError::Arity { .. }
            | UdfError::CreateFunction { .. } => {
                datafusion::error::DataFusionError::Plan(e.to_string())
            }
            other => datafusion::error::DataFusionError::External(Box::new(other)),
        }
    }
}
