//! `jsbox-executor`: a Ballista executor with jsbox's plugin codec.

use clap::Parser;
use jsbox_ballista::ExecutorSettings;

/// A Ballista executor that runs jsbox JS UDFs shipped in plans.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Host to bind and advertise.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Arrow Flight port (results, shuffles).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// gRPC port (tasks).
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    scheduler: String,
    /// Tasks run at once (default: one per CPU).
    #[arg(long, default_value_t = 0)]
    concurrent_tasks: usize,
    /// Directory for shuffle files (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (scheduler_host, scheduler_port) =
        args.scheduler.rsplit_once(':').ok_or_else(|| anyhow::anyhow!("--scheduler wants HOST:PORT"))?;
    let settings = ExecutorSettings {
        host: args.host,
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host: scheduler_host.to_string(),
        scheduler_port: scheduler_port.parse()?,
        concurrent_tasks: args.concurrent_tasks,
        work_dir: args.work_dir,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(32 << 20).build()?;
    eprintln!("jsbox-executor: flight port {}, grpc port {}", settings.port, settings.grpc_port);
    runtime.block_on(jsbox_ballista::run_executor(settings))
}
