//! `jsbox manifest show|schema`: the sandbox a set of flags (and a
//! `--manifest`) describes, as a manifest file to keep; the manifest's JSON
//! Schema for editors and validators.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::sandbox::SandboxArgs;

#[derive(Subcommand, Debug)]
pub enum ManifestCommand {
    /// Print the manifest the flags describe, as TOML (a `jsbox.toml` to keep).
    Show(Box<ShowArgs>),
    /// Print the manifest's JSON Schema.
    Schema,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The plugin to name in the manifest.
    #[arg(value_name = "PLUGIN.js")]
    plugin: Option<std::path::PathBuf>,
    /// The export to name in the manifest.
    #[arg(long, value_name = "NAME")]
    export: Option<String>,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub fn run(command: ManifestCommand) -> Result<ExitCode> {
    match command {
        ManifestCommand::Show(args) => {
            let file = args.sandbox.file()?;
            let mut manifest = args.sandbox.over(file.clone())?;
            // The CLI's console default and the machine's cache directory
            // (`JSBOX_CACHE_DIR`, `--cache-dir`) are not the sandbox's.
            manifest.console = file.console;
            if !args.sandbox.no_cache {
                manifest.cache = file.cache;
            }
            if let Some(plugin) = args.plugin {
                manifest = manifest.plugin(plugin);
            }
            if let Some(export) = args.export {
                manifest = manifest.export(export);
            }
            print!("{}", manifest.to_toml());
        }
        ManifestCommand::Schema => println!("{}", serde_json::to_string_pretty(&jsbox::Manifest::json_schema())?),
    }
    Ok(ExitCode::SUCCESS)
}
