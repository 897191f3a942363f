//! `moonshot-bench`: measures the `moonshot` facade against raw reqwest and async-openai on
//! local servers, in the same run, as ratios.
//!
//! ```sh
//! cargo run --release -p moonshot-bench -- all --breakdown
//! ```
//!
//! Six groups, each a subcommand (`all` runs them in turn):
//!
//! - `retrieve`: requests per second of `GET /v1/files/{id}` through raw reqwest + serde_json
//!   (plain, and configured as the facade is), the generated client, the facade and
//!   async-openai, at concurrency 1 and 64;
//! - `chat`: requests per second of a whole chat answer through raw reqwest, async-openai and
//!   the facade (asked as a stream and collected, and not streamed), at concurrency 1 and 64;
//! - `content`: 1 KB, 1 MB and 100 MB bodies read buffered and streamed, by the facade, by raw
//!   reqwest and (buffered: it has no streamed read) by async-openai: throughput and peak
//!   resident memory, each case in a process of its own;
//! - `upload`: a 100 MB file uploaded by the facade and by raw reqwest's multipart to a local
//!   sink: throughput and peak resident memory, each case in a process of its own;
//! - `stream`: a streamed chat answer of 100 to 100,000 chunks read by the facade and by raw
//!   reqwest + `eventsource-stream` and by async-openai: chunks per second, time to the first
//!   chunk, peak memory;
//! - `pipeline`: `cargo xtask gen` wall time, and the generated crate's rebuild after a spec
//!   change, and its build from clean, in a copy of the workspace.
//!
//! `check` runs every group once at tiny sizes with every contender, without timings and
//! without the pipeline's builds, and fails naming each contender whose answer was wrong: a
//! smoke test for CI.
//!
//! The hidden `retrieve-one` subcommand runs one retrieve contender alone and prints its request
//! count, for a profiler (callgrind, DHAT, `perf`) to look at; see BENCHMARKS.md.
//!
//! The server always runs in a separate process (this binary's hidden `serve` subcommand for
//! the mock server, `serve-sink` for the upload sink and chat stream), so its CPU time and
//! memory are never counted as the client's. Rounds interleave the contenders
//! so that noise from the rest of the machine falls on all of them alike; figures are medians
//! with their min-max spread, and ratios are taken within each round.

mod case;
mod chat;
mod check;
mod content;
mod limits;
mod pipeline;
mod procfs;
mod report;
mod retrieve;
mod server;
mod sink;
mod stats;
mod stream;
mod throughput;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// What every fallible step of the benchmarks returns: they only need to say what went wrong.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// Benchmarks of the moonshot client against raw reqwest and async-openai on local servers.
#[derive(Debug, Parser)]
#[command(name = "moonshot-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every group in turn: retrieve, chat, content, upload, stream, pipeline.
    All(Settings),
    /// Retrieve throughput at concurrency 1 and 64.
    Retrieve(Settings),
    /// Whole chat answers, asked with and without a stream, at concurrency 1 and 64, against
    /// async-openai asking the same way.
    Chat(Settings),
    /// Content throughput and peak memory, buffered and streamed.
    Content(Settings),
    /// Upload throughput and peak memory, 100 MB.
    Upload(Settings),
    /// Streamed chat answers: chunks per second, first chunk, peak memory.
    Stream(Settings),
    /// `cargo xtask gen` and the generated crate's rebuild, in a copy of the workspace.
    Pipeline(Settings),
    /// 200 chat requests from 64 tasks against a server enforcing limits, with the client's
    /// limits and without; the CPU a call pays for limits far above the load.
    Limits(Settings),
    /// Every group once at tiny sizes, every contender, no timings and no pipeline build:
    /// fails, naming them, when answers are wrong.
    Check(CheckArgs),
    /// Runs the mock server with the benchmark files; prints its base URL; stops at end of stdin.
    #[command(hide = true)]
    Serve,
    /// Runs the upload sink and chat stream; prints its base URL; stops at end of stdin.
    #[command(hide = true)]
    ServeSink,
    /// Runs one content case in this process and prints its figures.
    #[command(hide = true)]
    ContentCase(content::CaseArgs),
    /// Runs one upload case in this process and prints its figures.
    #[command(hide = true)]
    UploadCase(upload::CaseArgs),
    /// Runs one stream case in this process and prints its figures.
    #[command(hide = true)]
    StreamCase(stream::CaseArgs),
    /// Runs one retrieve contender alone, for a profiler to look at.
    #[command(hide = true)]
    RetrieveOne(throughput::OneArgs<retrieve::Contender>),
    /// Runs one chat contender alone, for a profiler to look at.
    #[command(hide = true)]
    ChatOne(throughput::OneArgs<chat::Contender>),
}

/// How long and how often to measure.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Fewer and shorter rounds: a smoke run of a minute or so, figures only indicative.
    #[arg(long)]
    quick: bool,
    /// Retrieve: also run contenders that each add one of the facade's layers to a plain client.
    #[arg(long)]
    breakdown: bool,
    /// Rounds per figure (default 7, or 3 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rounds: Option<u32>,
    /// The workspace whose copy the pipeline group builds (default: the one this binary was
    /// built from).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

/// What `check` takes: only the workspace its pipeline check copies.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The workspace whose copy the pipeline check makes (default: the one this binary was
    /// built from).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

impl Settings {
    /// Rounds per figure.
    pub fn rounds(&self) -> u32 {
        self.rounds.unwrap_or(if self.quick { 3 } else { 7 })
    }

    /// How long one contender runs in one round of the retrieve group.
    pub fn sample_time(&self) -> Duration {
        if self.quick {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(1)
        }
    }

    /// The workspace root.
    pub fn root(&self) -> PathBuf {
        self.root.clone().unwrap_or_else(|| {
            // This crate lives at <root>/crates/moonshot-bench.
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .canonicalize()
                .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::All(settings) => retrieve::run(&settings)
            .and_then(|()| chat::run(&settings))
            .and_then(|()| content::run(&settings))
            .and_then(|()| upload::run(&settings))
            .and_then(|()| stream::run(&settings))
            .and_then(|()| pipeline::run(&settings)),
        Command::Retrieve(settings) => retrieve::run(&settings),
        Command::Chat(settings) => chat::run(&settings),
        Command::Content(settings) => content::run(&settings),
        Command::Upload(settings) => upload::run(&settings),
        Command::Stream(settings) => stream::run(&settings),
        Command::Pipeline(settings) => pipeline::run(&settings),
        Command::Limits(settings) => limits::run(&settings),
        Command::Check(args) => check::run(&Settings {
            quick: true,
            breakdown: true,
            rounds: Some(1),
            root: args.root,
        }),
        Command::Serve => server::serve(),
        Command::ServeSink => sink::serve_sink(),
        Command::ContentCase(args) => content::run_case(&args),
        Command::UploadCase(args) => upload::run_case(&args),
        Command::StreamCase(args) => stream::run_case(&args),
        Command::RetrieveOne(args) => retrieve::run_one(&args),
        Command::ChatOne(args) => chat::run_one(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("moonshot-bench: error: {}", error_chain(&*error));
            ExitCode::FAILURE
        }
    }
}

/// An error and each of its causes, joined by `: `.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// A multi-threaded Tokio runtime with the default worker count, as `#[tokio::main]` builds.
pub fn runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
