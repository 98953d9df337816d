//! Ballista, with jsbox's plugin codec installed.
//!
//! Thin wrappers over the crates.io `ballista-scheduler` and
//! `ballista-executor`: the binaries `jsbox-scheduler` and `jsbox-executor`
//! are stock Ballista processes whose logical and physical codecs are
//! [`JsUdfCodec`] over Ballista's own. A query whose plan calls a JS UDF
//! (built with `jsbox-datafusion`) carries the plugin's definition in the
//! plan, so executors run it with no registration. Each executor builds a
//! plugin's sandbox once (per definition hash, shared by every task; the
//! compiled snapshot is cached on disk as well) and evaluates rows in fresh
//! runtimes from it.
//!
//! A client uses [`client_config`] (or sets the same codec on its own
//! `SessionConfig`) and `ballista::prelude::SessionContextExt::remote_with_state`.
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::prelude::SessionConfig;
use jsbox_datafusion::JsUdfCodec;

/// jsbox's codec over Ballista's codecs.
pub fn codec() -> Arc<JsUdfCodec> {
    Arc::new(JsUdfCodec::wrapping(
        Arc::new(BallistaLogicalExtensionCodec::default()),
        Arc::new(BallistaPhysicalExtensionCodec::default()),
    ))
}

/// A Ballista client's session config with the codec installed.
pub fn client_config() -> SessionConfig {
    let codec = codec();
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(codec.clone())
        .with_ballista_physical_extension_codec(codec)
}

/// Runs a scheduler on `addr` until the process ends.
///
/// # Errors
///
/// When the scheduler cannot start (the port is taken, ...).
pub async fn run_scheduler(addr: SocketAddr) -> anyhow::Result<()> {
    let codec = codec();
    let mut config = SchedulerConfig {
        bind_host: addr.ip().to_string(),
        bind_port: addr.port(),
        external_host: addr.ip().to_string(),
        ..SchedulerConfig::default()
    };
    config.override_logical_codec = Some(codec.clone());
    config.override_physical_codec = Some(codec);
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, addr, Arc::new(config)).await?;
    Ok(())
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    /// The address (host) it binds and advertises.
    pub host: String,
    /// Its Arrow Flight port (results and shuffles).
    pub port: u16,
    /// Its gRPC port (tasks).
    pub grpc_port: u16,
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// Tasks it runs at once (0: one per CPU).
    pub concurrent_tasks: usize,
    /// Where it writes shuffle files (default: a temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// Runs an executor until the process ends.
///
/// # Errors
///
/// When the executor cannot start or reach the scheduler.
pub async fn run_executor(settings: ExecutorSettings) -> anyhow::Result<()> {
    let codec = codec();
    let config = ExecutorProcessConfig {
        bind_host: settings.host.clone(),
        external_host: Some(settings.host),
        port: settings.port,
        grpc_port: settings.grpc_port,
        scheduler_host: settings.scheduler_host,
        scheduler_port: settings.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: settings.concurrent_tasks,
        work_dir: settings.work_dir.map(|d| d.display().to_string()),
        override_logical_codec: Some(codec.clone()),
        override_physical_codec: Some(codec),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}
