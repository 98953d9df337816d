//! `jsbox repl`: one sandbox, line editing and history; errors do not end
//! the session.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use jsbox::{EngineFactory, Runtime};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::failure;
use crate::sandbox::SandboxArgs;

#[derive(clap::Args, Debug)]
pub struct ReplArgs {
    /// Do not read or write the history file.
    #[arg(long)]
    no_history: bool,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

fn history_file() -> Option<PathBuf> {
    let dir = dirs::data_dir()?.join("jsbox");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

const HELP: &str = "\
  .help   this text
  .reset  start over in a fresh sandbox
  .exit   leave (or Ctrl-D)
Anything else is evaluated as a script; its value is printed as JSON.";

pub fn run(args: ReplArgs) -> Result<ExitCode> {
    let factory = EngineFactory::new(args.sandbox.options()?.max_runtimes(2).compile(jsbox::Compile::Shared))?;
    let mut runtime: Runtime = factory.new_runtime()?;
    let mut editor = DefaultEditor::new()?;
    let history = if args.no_history { None } else { history_file() };
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    eprintln!("jsbox {} — QuickJS in a wasm sandbox. .help for help, Ctrl-D to leave.", env!("CARGO_PKG_VERSION"));
    let mut n = 0u64;
    loop {
        match editor.readline("js> ") {
            Ok(line) => {
                let src = line.trim();
                if src.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                match src {
                    ".exit" | ".quit" => break,
                    ".help" => {
                        println!("{HELP}");
                        continue;
                    }
                    ".reset" => {
                        drop(runtime);
                        runtime = factory.new_runtime()?;
                        println!("(fresh sandbox)");
                        continue;
                    }
                    _ => {}
                }
                n += 1;
                match runtime.eval_json(src, &format!("<repl:{n}>")) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        failure::report(&e);
                        if e.is_fatal() {
                            drop(runtime);
                            runtime = factory.new_runtime()?;
                            eprintln!("(the sandbox was stopped; continuing in a fresh one)");
                        }
                    }
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(ExitCode::SUCCESS)
}
