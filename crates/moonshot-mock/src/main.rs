//! `moonshot-mock`: runs a local mock of Moonshot's API until Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use moonshot_mock::{
    AccountLimits, ChatFixtures, DEFAULT_BATCH_DURATION, DEFAULT_MEMORY_LIMIT,
    DEFAULT_PROCESSING_DELAY, Faults, MockServer, StreamFault, load_fixtures,
};

/// The id `--large-file` serves.
const LARGE_FILE_ID: &str = "mock-large";

/// A local server that answers like Moonshot AI's (Kimi's) API.
///
/// Serves the Files API (upload, list, retrieve, content, delete; uploads kept in memory, text
/// extracted after --processing-delay), POST /v1/chat/completions (answers from the system
/// messages' sentences, scripted by --chat-fixtures, streamed when asked), the Batches API
/// (each batch run over --batch-duration, its lines answered as chat completions), GET
/// /v1/models, GET /v1/users/me/balance and POST /v1/tokenizers/estimate-token-count. Starts with the demo files (mock-intro-pdf,
/// mock-diagram-png, mock-batch-output, mock-scan-failed) or a fixtures directory, and injects
/// faults on demand. Prints the base URL on its first line of output.
#[derive(Debug, Parser)]
#[command(name = "moonshot-mock", version, after_long_help = FIXTURES_HELP)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Require `Authorization: Bearer KEY` (401 otherwise); without it, any request is let in.
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,

    /// Serve the fixtures in DIR instead of the demo files (format: see --help).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,

    /// Also serve `mock-large`, whose content body is BYTES long, generated while sent.
    #[arg(long, value_name = "BYTES")]
    large_file: Option<u64>,

    /// Wait this long before each answer: seconds (0.2) or 200ms, 1s, 2m.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = moonshot_duration::parse_delay, allow_negative_numbers = true)]
    latency: Duration,

    /// Answer this share of requests (0.0 to 1.0) with 500 server_error.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate, allow_negative_numbers = true)]
    fail_rate: f64,

    /// Seed for which requests --fail-rate fails, for reproducible runs.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,

    /// Answer the first of every N requests with 429 rate_limit_reached_error and Retry-After.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    rate_limit_every: Option<u64>,

    /// The wait rate-limited answers ask for (Retry-After, in whole seconds rounded up): seconds
    /// (2) or 1500ms, 1m.
    #[arg(long, value_name = "DURATION", default_value = "1", value_parser = moonshot_duration::parse_delay, allow_negative_numbers = true)]
    retry_after: Duration,

    /// Answer every request with 429 exceeded_current_quota_error.
    #[arg(long)]
    quota_exceeded: bool,

    /// Send half of every 200 body (with the full Content-Length), then drop the connection.
    #[arg(long)]
    cut_body: bool,

    /// Keep a new upload `processing` this long before its status turns ok: seconds (0.2) or
    /// 200ms, 1s, 2m [default: 0, answered at once, as Moonshot's docs show].
    #[arg(long, value_name = "DURATION", value_parser = moonshot_duration::parse_delay, allow_negative_numbers = true)]
    processing_delay: Option<Duration>,

    /// Run each batch from validating to completed in this long: seconds (2) or 500ms, 1m
    /// [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = moonshot_duration::parse_delay, allow_negative_numbers = true)]
    batch_duration: Option<Duration>,

    /// Hold at most BYTES of uploads in memory; an upload past it is refused with 400.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MEMORY_LIMIT)]
    memory_limit: u64,

    /// Answer chat completions from the scripted rules in FILE first (JSON array or JSON Lines;
    /// format: see --help).
    #[arg(long, value_name = "FILE")]
    chat_fixtures: Option<PathBuf>,

    /// Wait this long between the events of a streamed chat answer: seconds (0.05) or 50ms, 1s.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = moonshot_duration::parse_delay, allow_negative_numbers = true)]
    chunk_delay: Duration,

    /// Drop the connection of every streamed chat answer after N events, without [DONE].
    #[arg(long, value_name = "N", group = "stream_fault")]
    stream_cut_after: Option<u64>,

    /// Send an error event in every streamed chat answer after N events, then end it.
    #[arg(long, value_name = "N", group = "stream_fault")]
    stream_error_after: Option<u64>,

    /// Stop sending every streamed chat answer after N events, keeping the connection open.
    #[arg(long, value_name = "N", group = "stream_fault")]
    stream_stall_after: Option<u64>,

    /// Enforce the limits of Moonshot's tier N (0 to 5): 429 rate_limit_reached_error over
    /// them, and X-RateLimit-* headers on every answer. The flags below override its numbers.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    tier: Option<u8>,

    /// Allow at most N requests in flight at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: Option<u64>,

    /// Allow at most N requests in any window (--window).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    rpm: Option<u64>,

    /// Allow at most N chat completion tokens (input plus max_completion_tokens, corrected to
    /// the usage when done) in any window.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    tpm: Option<u64>,

    /// Allow at most N chat completion tokens in any day (1,440 windows).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    tpd: Option<u64>,

    /// The window of --rpm and --tpm (a "minute"): seconds (60) or 600ms, 1m [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = moonshot_duration::parse_delay)]
    window: Option<Duration>,
}

const FIXTURES_HELP: &str = "\
Fixtures: a directory with, per file, <id>.json (the file object as GET /v1/files/{id} returns
it: id, object \"file\", bytes, created_at, filename, purpose, status, optional status_details;
id must match the file name) and an optional <id>.txt (the extracted text, UTF-8). Without a
.txt, the content request answers 500 \"extract task failed\". Names starting with '.' are
ignored; anything else makes the server refuse to start, naming the file.

Chat fixtures: a JSON array of rules, or one rule object per line (JSON Lines). The first rule
that matches answers: match on user_contains (text of the last user message), model, and
after_tool (true: answers tool results); answer with reply (text) or filler_chunks (N chunks),
reasoning, tool_calls ([{\"name\", \"arguments\", \"type\"}]), or alone error ({\"status\",
\"type\", \"message\"}); fault ({\"cut_after\": N}, {\"error_after\": N} or {\"stall_after\": N})
breaks its stream. For example:
  {\"user_contains\": \"weather\", \"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}
  {\"user_contains\": \"weather\", \"after_tool\": true, \"reply\": \"Sunny.\"}
A bad file makes the server refuse to start, naming the line and field.";

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0.0 and 1.0"))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("moonshot-mock: error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let faults = Faults::default()
        .latency(args.latency)
        .fail_rate(args.fail_rate)
        .seed(args.seed)
        .rate_limit_every(args.rate_limit_every.unwrap_or(0))
        .retry_after(args.retry_after)
        .quota_exceeded(args.quota_exceeded)
        .cut_body(args.cut_body);
    let stream_fault = [
        args.stream_cut_after.map(StreamFault::CutAfter),
        args.stream_error_after.map(StreamFault::ErrorAfter),
        args.stream_stall_after.map(StreamFault::StallAfter),
    ]
    .into_iter()
    .flatten()
    .next();
    let faults = match stream_fault {
        Some(fault) => faults.stream_fault(fault),
        None => faults,
    };
    let mut limits = match args.tier {
        Some(tier) => AccountLimits::tier(tier)?,
        None => AccountLimits::default(),
    };
    if let Some(n) = args.concurrency {
        limits = limits.concurrency(n);
    }
    if let Some(n) = args.rpm {
        limits = limits.requests_per_window(n);
    }
    if let Some(n) = args.tpm {
        limits = limits.tokens_per_window(n);
    }
    if let Some(n) = args.tpd {
        limits = limits.tokens_per_day(n);
    }
    if let Some(window) = args.window {
        limits = limits.window(window);
    }
    let mut builder = MockServer::builder()
        .account_limits(limits)
        .bind(SocketAddr::new(args.bind, args.port))
        .faults(faults)
        .processing_delay(args.processing_delay.unwrap_or(DEFAULT_PROCESSING_DELAY))
        .memory_limit(args.memory_limit)
        .chunk_delay(args.chunk_delay)
        .batch_duration(args.batch_duration.unwrap_or(DEFAULT_BATCH_DURATION));
    if let Some(path) = &args.chat_fixtures {
        builder = builder.chat_fixtures(ChatFixtures::load(path)?);
    }
    if let Some(dir) = &args.fixtures {
        builder = builder.files(load_fixtures(dir)?);
    }
    if let Some(key) = args.api_key {
        builder = builder.api_key(key);
    }
    if let Some(size) = args.large_file {
        builder = builder.with_large_file(LARGE_FILE_ID, size);
    }
    let server = builder.start().await?;

    // Listened for before the URL is printed: whoever reads it may stop the server at once, and
    // a Ctrl-C before the listener exists would kill the process instead of stopping it.
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    println!("{}", server.base_url());
    eprintln!(
        "moonshot-mock: serving {} on {}; Ctrl-C stops",
        server.file_ids().join(", "),
        server.base_url()
    );
    #[cfg(unix)]
    interrupt.recv().await;
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    eprintln!(
        "moonshot-mock: stopping after {} requests",
        server.request_count()
    );
    server.shutdown().await?;
    Ok(())
}
