//! `jsbox-scheduler`: a Ballista scheduler with jsbox's plugin codec.

use clap::Parser;

/// A Ballista scheduler that understands jsbox JS UDFs.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50050")]
    bind: std::net::SocketAddr,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(32 << 20).build()?;
    eprintln!("jsbox-scheduler: listening on {}", args.bind);
    runtime.block_on(jsbox_ballista::run_scheduler(args.bind))
}
