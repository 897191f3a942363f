//! `moonshot`: Moonshot AI's (Kimi's) platform API on the command line: ask Kimi about files,
//! manage files, and read models, balance and token estimates. With `--mock`, everything runs
//! offline against a local server.

mod account;
mod api;
mod batches;
mod chat;
mod files;
mod local;
mod logging;
mod mock_state;
mod output;
mod report;
mod signals;
mod terminal;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use moonshot::{Client, RetryPolicy};

use crate::files::FilesCommand;
use crate::report::{Failure, Style};

/// Moonshot AI's (Kimi's) platform API: ask Kimi about files, manage files, run batches, models,
/// balance.
///
/// Try it offline: `moonshot --mock chat --file README.md "What does this project do?"`.
#[derive(Debug, Parser)]
#[command(name = "moonshot", version, about, long_about = None)]
struct Cli {
    /// The API key.
    #[arg(long, env = "MOONSHOT_API_KEY", hide_env_values = true, global = true)]
    api_key: Option<String>,
    /// The API endpoint, e.g. https://api.moonshot.cn for China [default: https://api.moonshot.ai].
    /// Blank means the default; user:password@ in it is refused (the key authenticates).
    #[arg(long, env = "MOONSHOT_BASE_URL", hide_env_values = true, global = true)]
    base_url: Option<String>,
    /// Time allowed for each attempt, body included: seconds (2, 0.5) or 500ms, 30s, 2m.
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = moonshot_duration::parse_timeout,
        allow_negative_numbers = true,
        global = true
    )]
    timeout: Option<Duration>,
    /// Stay under the limits of Moonshot's tier N (0 to 5): requests wait for capacity instead
    /// of failing with 429 (-v shows each wait).
    #[arg(
        long,
        env = "MOONSHOT_TIER",
        value_name = "N",
        allow_negative_numbers = true,
        global = true
    )]
    tier: Option<i64>,
    /// Extra attempts after a retryable failure.
    #[arg(long, value_name = "N", allow_negative_numbers = true, global = true)]
    max_retries: Option<u32>,
    /// Run against a built-in local server with demo files: no key, no network (conflicts with
    /// --base-url and --api-key; their environment variables are ignored). Its files are kept
    /// between commands in $MOONSHOT_MOCK_STATE (default: moonshot/mock in your cache
    /// directory); delete it to start afresh. A path that is not a state directory is refused.
    #[arg(long, global = true)]
    mock: bool,
    /// Log each request to stderr (-vv for more); the API key is never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Print JSON, as when standard output is not a terminal (tables and plain lines otherwise).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask Kimi, about files if given: uploads and extracts each, streams the answer.
    Chat(chat::ChatArgs),
    /// Files: upload, list, metadata, extracted content, wait, delete.
    #[command(subcommand)]
    Files(FilesCommand),
    /// Batches: create one from a JSON Lines file, follow it, list, cancel, read its results.
    #[command(subcommand)]
    Batches(batches::BatchesCommand),
    /// The models the account can use.
    Models,
    /// The account's balance, in the platform's currency (USD global, CNY China).
    Balance,
    /// Any operation of the API reference, by method and path (as `gh api`): JSON out.
    ///
    /// `moonshot api GET /v1/models`; `moonshot api POST /v1/tokenizers/estimate-token-count
    /// -f model=kimi-k3 -F messages=@messages.json`. Fields go to the query for GET and DELETE,
    /// to a JSON body otherwise.
    Api(api::ApiArgs),
    /// How many tokens a text makes for a model.
    Estimate {
        /// The model.
        #[arg(long, default_value = chat::DEFAULT_MODEL)]
        model: String,
        /// The text, as one user message.
        text: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if cli.mock {
        // Checked here, not by clap: a key or URL from the environment does not conflict.
        for (id, flag) in [("base_url", "--base-url"), ("api_key", "--api-key")] {
            if matches.value_source(id) == Some(ValueSource::CommandLine) {
                Cli::command()
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!(
                            "--mock runs against a built-in local server, so {flag} cannot be \
                             used with it: drop one of them"
                        ),
                    )
                    .exit();
            }
        }
    }
    let key = (!cli.mock).then(|| cli.api_key.clone()).flatten();
    logging::init(cli.verbose, key);
    run(cli)
        .await
        .err()
        .map_or(ExitCode::SUCCESS, Failure::exit)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    // Held for the whole command: dropping it stops the local server.
    let mut mock = None;
    let mut builder = Client::builder();
    if cli.mock {
        let session = MockSession::start().await?;
        builder = builder
            .base_url(session.server.base_url())
            .api_key(MOCK_KEY);
        mock = Some(session);
    } else {
        let key = cli
            .api_key
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                Failure::Usage(
                    "no API key: pass --api-key or set MOONSHOT_API_KEY (keys are created in the \
                 Moonshot console's API keys page), or try --mock"
                        .to_owned(),
                )
            })?;
        builder = builder.api_key(key);
        // Blank means unset, as for the library's `Client::from_env`.
        if let Some(url) = cli.base_url.filter(|u| !u.trim().is_empty()) {
            builder = builder.base_url(url);
        }
    }
    if let Some(timeout) = cli.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(tier) = cli.tier {
        let tier = u8::try_from(tier).map_err(|_| {
            Failure::Usage(format!(
                "--tier {tier}: Moonshot publishes tiers 0 to 5 (MOONSHOT_TIER too)"
            ))
        })?;
        builder = builder.limits(moonshot::limits::Limits::tier(tier)?);
    }
    if let Some(retries) = cli.max_retries {
        builder = builder.retry(RetryPolicy::default().max_retries(retries));
    }
    let client = builder.build()?;

    let style = if cli.json || !std::io::stdout().is_terminal() {
        Style::Json
    } else {
        Style::Human
    };
    let result = match cli.command {
        Command::Chat(args) => chat::run(&client, args, style).await,
        Command::Files(command) => files::run(&client, command, style).await,
        Command::Batches(command) => batches::run(&client, command, style).await,
        Command::Models => account::models(&client, style).await,
        Command::Balance => account::balance(&client, style).await,
        Command::Api(args) => api::run(&client, args).await,
        Command::Estimate { model, text } => account::estimate(&client, &model, &text, style).await,
    };
    if let Some(session) = mock {
        let saved = session.save().await;
        if let (Ok(()), Err(message)) = (&result, saved) {
            return Err(Failure::Local(message));
        }
    }
    result
}

/// The key of the built-in local server.
const MOCK_KEY: &str = "sk-mock";

/// `--mock`: the local server, started from the state directory, and what it held then.
struct MockSession {
    server: moonshot_mock::MockServer,
    state: mock_state::StateDir,
    /// The state's own client: the command's `--timeout` and retries are not its.
    client: Client,
    before: mock_state::Snapshot,
}

impl MockSession {
    async fn start() -> Result<Self, Failure> {
        let state = mock_state::StateDir::open().map_err(Failure::Usage)?;
        let (files, batches) = state
            .load()
            .and_then(mock_state::Snapshot::into_server_input)
            .map_err(Failure::Local)?;
        // Short delays, so that waiting for a file or a batch shows.
        let server = moonshot_mock::MockServer::builder()
            .files(files)
            .batches(batches)
            .map_err(|e| Failure::Local(format!("the --mock state cannot be read: {e}")))?
            .processing_delay(Duration::from_millis(300))
            .batch_duration(Duration::from_secs(2))
            .start()
            .await
            .map_err(|e| Failure::Local(format!("the local server did not start: {e}")))?;
        let client = Client::builder()
            .base_url(server.base_url())
            .api_key(MOCK_KEY)
            .build()?;
        let before = mock_state::Snapshot::of(&client, &server)
            .await
            .map_err(Failure::Local)?;
        Ok(Self {
            server,
            state,
            client,
            before,
        })
    }

    /// Writes what the command changed into the state directory, then stops the server.
    async fn save(self) -> Result<(), String> {
        mock_state::settle(&self.client, &self.server).await;
        let after = mock_state::Snapshot::of(&self.client, &self.server).await?;
        self.state.save(&self.before, &after)
    }
}
