//! [`JsUdfCodec`]: ships a [`JsUdf`]'s definition inside a serialized plan.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{Result as DfResult, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, HigherOrderUDF, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::{DefaultLogicalExtensionCodec, LogicalExtensionCodec};
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};

use crate::error::UdfError;
use crate::udaf::JsUdaf;
use crate::udf::{JsUdf, UdfDefinition};

/// What a definition's bytes start with (and its format's version).
const MAGIC: &[u8] = b"jsbox-udf/1\n";
/// What an aggregate's definition bytes start with.
const AGGREGATE_MAGIC: &[u8] = b"jsbox-udaf/1\n";

/// A DataFusion extension codec (logical and physical) that writes a
/// [`JsUdf`]'s or [`JsUdaf`]'s [`UdfDefinition`] (plugin sources, types,
/// mode, policy, sandbox) into the plan, and rebuilds the UDF from it on the other side:
/// the plugin travels with the plan, and whoever decodes it needs no
/// registration. Everything else is handed to the codecs it wraps
/// (DataFusion's defaults, or Ballista's).
///
/// Decoded UDFs of one definition share one factory per process (see
/// [`JsUdf`]), so an executor builds the plugin's sandbox once and reuses
/// it for every task; the factory's disk cache, keyed by its hash, spares
/// even that compile across restarts.
///
/// # Examples
///
/// ```
/// use datafusion::prelude::*;
/// use datafusion_proto::bytes::{logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec};
/// use jsbox_datafusion::{JsUdf, JsUdfCodec, Plugin, UdfDefinition};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let ctx = SessionContext::new();
/// let plugin = Plugin::from_source("twice.js", "module.exports = (s) => s + s;");
/// ctx.register_udf(JsUdf::new(UdfDefinition::new("twice", plugin))?.into_scalar_udf());
/// let plan = ctx.sql("SELECT twice('ab') AS t").await?.into_optimized_plan()?;
///
/// let codec = JsUdfCodec::new();
/// let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec)?;
/// // A context that never heard of `twice`:
/// let other = SessionContext::new();
/// let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &other.task_ctx(), &codec)?;
/// let batches = other.execute_logical_plan(decoded).await?.collect().await?;
/// assert_eq!(datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string().contains("abab"), true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct JsUdfCodec {
    logical: Arc<dyn LogicalExtensionCodec>,
    physical: Arc<dyn PhysicalExtensionCodec>,
}

impl Default for JsUdfCodec {
    fn default() -> Self {
        JsUdfCodec::new()
    }
}

impl JsUdfCodec {
    /// The codec over DataFusion's default codecs.
    pub fn new() -> Self {
        JsUdfCodec::wrapping(Arc::new(DefaultLogicalExtensionCodec {}), Arc::new(DefaultPhysicalExtensionCodec {}))
    }

    /// The codec over these (Ballista's, say): everything that is not a
    /// jsbox UDF goes to them.
    pub fn wrapping(logical: Arc<dyn LogicalExtensionCodec>, physical: Arc<dyn PhysicalExtensionCodec>) -> Self {
        JsUdfCodec { logical, physical }
    }

    /// The bytes of a definition.
    pub fn encode_definition(def: &UdfDefinition) -> Vec<u8> {
        let mut buf = MAGIC.to_vec();
        serde_json::to_writer(&mut buf, def).expect("a definition serializes");
        buf
    }

    /// The UDF of a definition's bytes; `None` when they are not a jsbox
    /// definition.
    ///
    /// # Errors
    ///
    /// [`UdfError::Definition`] when they are, but cannot be read.
    pub fn decode_definition(buf: &[u8]) -> Result<Option<JsUdf>, UdfError> {
        let Some(json) = buf.strip_prefix(MAGIC) else { return Ok(None) };
        let def: UdfDefinition = serde_json::from_slice(json).map_err(|e| UdfError::Definition(e.to_string()))?;
        JsUdf::new(def).map(Some)
    }

    fn encode_udf(node: &ScalarUDF, buf: &mut Vec<u8>) -> Option<()> {
        let udf = node.inner().downcast_ref::<JsUdf>()?;
        buf.extend_from_slice(&JsUdfCodec::encode_definition(udf.definition()));
        Some(())
    }

    fn decode_udf(buf: &[u8]) -> DfResult<Option<Arc<ScalarUDF>>> {
        Ok(JsUdfCodec::decode_definition(buf)?.map(|udf| Arc::new(udf.into_scalar_udf())))
    }

    fn encode_udaf(node: &AggregateUDF, buf: &mut Vec<u8>) -> Option<()> {
        let udaf = node.inner().downcast_ref::<JsUdaf>()?;
        buf.extend_from_slice(AGGREGATE_MAGIC);
        serde_json::to_writer(buf, udaf.definition()).expect("a definition serializes");
        Some(())
    }

    fn decode_udaf(buf: &[u8]) -> DfResult<Option<Arc<AggregateUDF>>> {
        let Some(json) = buf.strip_prefix(AGGREGATE_MAGIC) else { return Ok(None) };
        let def: UdfDefinition = serde_json::from_slice(json).map_err(|e| UdfError::Definition(e.to_string()))?;
        Ok(Some(Arc::new(JsUdaf::new(def)?.into_aggregate_udf())))
    }
}

impl LogicalExtensionCodec for JsUdfCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> DfResult<Extension> {
        self.logical.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.logical.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        self.logical.try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        self.logical.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.logical.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> DfResult<()> {
        self.logical.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        match JsUdfCodec::decode_udf(buf)? {
            Some(udf) => Ok(udf),
            None => self.logical.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        match JsUdfCodec::encode_udf(node, buf) {
            Some(()) => Ok(()),
            None => self.logical.try_encode_udf(node, buf),
        }
    }

    fn try_decode_higher_order_function(&self, name: &str, buf: &[u8]) -> DfResult<Arc<HigherOrderUDF>> {
        self.logical.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(&self, node: &HigherOrderUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.logical.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        match JsUdfCodec::decode_udaf(buf)? {
            Some(udaf) => Ok(udaf),
            None => self.logical.try_decode_udaf(name, buf),
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        match JsUdfCodec::encode_udaf(node, buf) {
            Some(()) => Ok(()),
            None => self.logical.try_encode_udaf(node, buf),
        }
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.logical.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.logical.try_encode_udwf(node, buf)
    }
}

impl PhysicalExtensionCodec for JsUdfCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.physical.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        self.physical.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        match JsUdfCodec::decode_udf(buf)? {
            Some(udf) => Ok(udf),
            None => self.physical.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        match JsUdfCodec::encode_udf(node, buf) {
            Some(()) => Ok(()),
            None => self.physical.try_encode_udf(node, buf),
        }
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        self.physical.try_decode_expr(buf, inputs, ctx)
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> DfResult<()> {
        self.physical.try_encode_expr(node, buf, ctx)
    }

    fn try_decode_higher_order_function(&self, name: &str, buf: &[u8]) -> DfResult<Arc<HigherOrderUDF>> {
        self.physical.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(&self, node: &HigherOrderUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.physical.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        match JsUdfCodec::decode_udaf(buf)? {
            Some(udaf) => Ok(udaf),
            None => self.physical.try_decode_udaf(name, buf),
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        match JsUdfCodec::encode_udaf(node, buf) {
            Some(()) => Ok(()),
            None => self.physical.try_encode_udaf(node, buf),
        }
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.physical.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.physical.try_encode_udwf(node, buf)
    }
}
