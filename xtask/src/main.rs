//! `cargo xtask`: the maintainers' commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::diff::{Change, DiffArgs, OutputArgs, fails, render};
use xtask::fetch::FetchArgs;
use xtask::generate::{Outcome, run};
use xtask::pipeline::MERGED_FILE;
use xtask::workspace::find_root;

/// Maintainers' commands for the Moonshot client workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    /// The workspace root (defaults to the nearest one at or above the current directory).
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
    /// Judge each change between two API documents by what it does to the generated client.
    ///
    /// Without arguments, compares the committed openapi/openapi.yaml with what the pages in
    /// openapi/upstream/ produce. Exits with 0 when no change reaches --fail-on, 1 when one does,
    /// 2 for bad input.
    Diff(DiffArgs),
    /// Download the pages listed in openapi/pages.toml into openapi/upstream/, then diff.
    ///
    /// Writes nothing unless every page came back whole with exactly one OpenAPI block. Exits
    /// like `diff`.
    Fetch(FetchArgs),
}

/// Exit code for bad input, apart from 1, which says a change reached `--fail-on`.
const BAD_INPUT: u8 = 2;

/// Prints the changes and picks the exit code.
fn conclude(changes: &[Change], output: &OutputArgs) -> ExitCode {
    print!("{}", render(changes, output.format));
    if fails(changes, output.fail_on) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let found = match cli.root {
        Some(root) => Ok(root),
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}: pass --root DIR"))
            .and_then(|dir| find_root(&dir)),
    };
    let root = match found {
        Ok(root) => root,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(BAD_INPUT);
        }
    };
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
        Command::Diff(args) => match xtask::diff::run(&root, &args) {
            Ok(changes) => conclude(&changes, &args.output),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(BAD_INPUT)
            }
        },
        Command::Fetch(args) => match xtask::fetch::run(&root, &args) {
            Ok(report) => {
                eprint!("{}", report.summary());
                match report.changes {
                    Ok(changes) => conclude(&changes, &args.output),
                    Err(e) => {
                        eprintln!("error: the pages were written, but cannot be diffed: {e}");
                        ExitCode::from(BAD_INPUT)
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(BAD_INPUT)
            }
        },
    }
}
