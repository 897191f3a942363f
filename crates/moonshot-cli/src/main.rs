//! `moonshot`: a file's metadata and extracted content from Moonshot's Files API, on the command
//! line. With `--mock`, everything runs offline against a local server with demo files.

mod output;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use moonshot::{Client, Error, RetryPolicy};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::output::Destination;

/// Read files from Moonshot AI's (Kimi's) Files API.
///
/// Try it offline: `moonshot --mock files show mock-intro-pdf`.
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
    /// Extra attempts after a retryable failure.
    #[arg(long, value_name = "N", allow_negative_numbers = true, global = true)]
    max_retries: Option<u32>,
    /// Run against a built-in local server with demo files: no key, no network (conflicts with
    /// --base-url and --api-key; their environment variables are ignored).
    #[arg(long, global = true)]
    mock: bool,
    /// Log each request to stderr (-vv for more); the API key is never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Files: metadata and extracted content.
    #[command(subcommand)]
    Files(FilesCommand),
}

#[derive(Debug, Subcommand)]
enum FilesCommand {
    /// Print a file's metadata as JSON.
    Get {
        /// The file's id.
        id: String,
    },
    /// Print a file's extracted content, exactly as served.
    Content {
        /// The file's id.
        id: String,
        /// Print the content's fields (content, file_type, filename, title, type) as JSON.
        #[arg(long, conflicts_with = "output")]
        parsed: bool,
        /// Write the content to FILE instead (a partial file is never left behind).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a file's metadata, then its extracted text.
    Show {
        /// The file's id.
        id: String,
    },
}

/// Why the command failed, and the exit code that says so.
enum Failure {
    /// The API or the connection failed: exit 1.
    Call(Error),
    /// The command line or configuration is wrong: exit 2.
    Usage(String),
    /// Something local failed (the output file, the local server): exit 1.
    Local(String),
    /// Whoever read standard output stopped reading (`moonshot ... | head`): nothing is wrong,
    /// and nothing more is said; exit 0.
    OutputClosed,
    /// Ctrl-C or SIGTERM stopped a download, whose partial file was removed: exit 128 plus the
    /// signal's number, as a shell reports it.
    Interrupted(Signal),
}

/// A signal that stops a download.
#[derive(Debug, Clone, Copy)]
enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`'s default.
    Terminate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => 128 + 2,
            Self::Terminate => 128 + 15,
        }
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment this is made: a signal arriving before the
/// first wait is not missed (and does not kill the command with its default action).
struct Interrupts {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Interrupts {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                streams: signal(SignalKind::interrupt())
                    .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for a signal; never resolves when they cannot be listened for.
    async fn received(&mut self) -> Signal {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.streams {
            return tokio::select! {
                _ = interrupt.recv() => Signal::Interrupt,
                _ = terminate.recv() => Signal::Terminate,
            };
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_ok() {
            return Signal::Interrupt;
        }
        std::future::pending().await
    }
}

/// A failure to write to standard output: the reader going away is [`Failure::OutputClosed`].
fn output_failure(error: &std::io::Error) -> Failure {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::OutputClosed
    } else {
        Failure::Local(format!("cannot write to standard output: {error}"))
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { .. } | Error::Configuration(_) => Self::Usage(error.to_string()),
            other => Self::Call(other),
        }
    }
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
    init_logging(cli.verbose);
    match run(cli).await {
        Ok(()) | Err(Failure::OutputClosed) => ExitCode::SUCCESS,
        Err(Failure::Call(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
        Err(Failure::Local(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Interrupted(signal)) => {
            eprintln!(
                "interrupted by {}: the download stopped, and no partial file was left",
                signal.name()
            );
            ExitCode::from(signal.exit_code())
        }
    }
}

fn init_logging(verbose: u8) {
    let filter = match verbose {
        0 => return,
        1 => "moonshot=info",
        _ => "moonshot=trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(cli: Cli) -> Result<(), Failure> {
    // Held for the whole command: dropping it stops the local server.
    let mut mock = None;
    let mut builder = Client::builder();
    if cli.mock {
        let server = moonshot_mock::MockServer::start()
            .await
            .map_err(|e| Failure::Local(format!("the local server did not start: {e}")))?;
        builder = builder.base_url(server.base_url()).api_key("sk-mock");
        mock = Some(server);
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
    if let Some(retries) = cli.max_retries {
        builder = builder.retry(RetryPolicy::default().max_retries(retries));
    }
    let client = builder.build()?;

    let Command::Files(command) = cli.command;
    let result = files(&client, command).await;
    drop(mock);
    result
}

async fn files(client: &Client, command: FilesCommand) -> Result<(), Failure> {
    match command {
        FilesCommand::Get { id } => {
            let file = client.files().retrieve(&id).await?;
            print_json(&file)
        }
        FilesCommand::Content {
            id, parsed: true, ..
        } => {
            let content = client.files().content(&id).await?;
            print_json(&content.parsed())
        }
        FilesCommand::Content {
            id,
            output: Some(path),
            ..
        } => write_to_file(client, &id, &path).await,
        FilesCommand::Content { id, .. } => {
            let mut stdout = tokio::io::stdout();
            match client.files().content_to_writer(&id, &mut stdout).await {
                Err(Error::Write(error)) => Err(output_failure(&error)),
                result => result.map(drop).map_err(Failure::from),
            }
        }
        FilesCommand::Show { id } => {
            let file = client.files().retrieve(&id).await?;
            print_json(&file)?;
            let content = client.files().content(&id).await?;
            print(&format!("\n{}", content.parsed().content))
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Local(format!("cannot print JSON: {e}")))?;
    print(&text)
}

/// Writes `text` and a newline to standard output; unlike `println!`, a reader that went away
/// is not a panic.
fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| output_failure(&e))
}

/// Streams the content to `path` as [`output`] describes: whole or not at all, even when Ctrl-C
/// or SIGTERM stops it.
async fn write_to_file(client: &Client, id: &str, path: &Path) -> Result<(), Failure> {
    let mut interrupts = Interrupts::listen();
    let destination = Destination::resolve(path).map_err(Failure::Local)?;
    let shown = destination.shown();
    let mut download = destination.start().map_err(Failure::Local)?;
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner().with_message(format!("{id} -> {shown}"));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}: {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut writer = Counting {
        inner: &mut download.file,
        progress: progress.clone(),
    };
    let files = client.files();
    let written = tokio::select! {
        written = files.content_to_writer(id, &mut writer) => written,
        signal = interrupts.received() => {
            progress.finish_and_clear();
            return Err(Failure::Interrupted(signal));
        }
    };
    progress.finish_and_clear();
    // On any failure the download is dropped here, deleting its temporary file.
    let written = written?;
    writer
        .inner
        .shutdown()
        .await
        .map_err(|e| Failure::Local(format!("{shown}: {e}")))?;
    destination.finish(download).map_err(Failure::Local)?;
    eprintln!("wrote {written} bytes to {shown}");
    Ok(())
}

/// Passes writes through, advancing a progress bar.
struct Counting<W> {
    inner: W,
    progress: ProgressBar,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.progress.inc(*n as u64);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
