//! `jsbox cache dir|clear`: where the compiled-snapshot cache is, and
//! emptying it (always safe: entries are rebuilt on demand).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use jsbox::CacheDir;

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Print the cache directory.
    Dir(CacheArgs),
    /// Remove every cache entry (other files in the directory are kept).
    Clear(CacheArgs),
}

#[derive(Args, Debug)]
pub struct CacheArgs {
    /// The cache directory (default: `jsbox` under the user cache directory).
    #[arg(long, value_name = "DIR", env = "JSBOX_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

impl CacheArgs {
    fn cache(&self) -> CacheDir {
        self.cache_dir.clone().map_or(CacheDir::Default, CacheDir::Path)
    }
}

/// `12.3 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

pub fn run(command: CacheCommand) -> Result<ExitCode> {
    match command {
        CacheCommand::Dir(args) => match args.cache().path() {
            Some(dir) => println!("{}", dir.display()),
            None => anyhow::bail!("this platform has no user cache directory; pass --cache-dir"),
        },
        CacheCommand::Clear(args) => {
            let cache = args.cache();
            let (files, bytes) = cache.clear()?;
            let dir = cache.path().map(|d| d.display().to_string()).unwrap_or_default();
            let plural = if files == 1 { "" } else { "s" };
            println!("removed {files} cache file{plural} ({}) from {dir}", mib(bytes));
        }
    }
    Ok(ExitCode::SUCCESS)
}
