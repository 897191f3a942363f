//! `cargo xtask`: the maintainers' commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::generate::{Outcome, run};
use xtask::pipeline::MERGED_FILE;

/// Maintainers' commands for the Moonshot client workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    /// The workspace root (defaults to the one this command was built in).
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate openapi/openapi.yaml from openapi/upstream/*.md and openapi/overlay.yaml.
    Gen {
        /// Change nothing; fail with a diff if the committed document is stale.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default()
    });
    match cli.command {
        Command::Gen { check } => match run(&root, check) {
            Ok(Outcome::Unchanged) => {
                eprintln!("{MERGED_FILE} is up to date");
                ExitCode::SUCCESS
            }
            Ok(Outcome::Written) => {
                eprintln!("wrote {MERGED_FILE}");
                ExitCode::SUCCESS
            }
            Ok(Outcome::Stale { diff }) => {
                print!("{diff}");
                eprintln!(
                    "error: {MERGED_FILE} is stale: run `cargo xtask gen` and commit the result"
                );
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
