//! The mock server, run in a process of its own so that its work is never counted as the
//! client's.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command, Stdio};

use moonshot_mock::MockServer;

use crate::BenchError;

/// The key the server requires and every client sends, so authentication is part of each request.
pub const API_KEY: &str = "sk-moonshot-bench";
/// The file whose metadata the retrieve group asks for.
pub const RETRIEVE_ID: &str = moonshot_mock::DEMO_PDF_ID;
/// A generated content body of [`TINY_BODY`] bytes.
pub const TINY_ID: &str = "bench-1kb";
/// The size of [`TINY_ID`]'s content body: 1 KB, a short document's text.
pub const TINY_BODY: u64 = 1_000;
/// A generated content body of [`SMALL_BODY`] bytes.
pub const SMALL_ID: &str = "bench-1mb";
/// The size of [`SMALL_ID`]'s content body: 1 MB.
pub const SMALL_BODY: u64 = 1_000_000;
/// A generated content body of [`LARGE_BODY`] bytes.
pub const LARGE_ID: &str = "bench-100mb";
/// The size of [`LARGE_ID`]'s content body: 100 MB.
pub const LARGE_BODY: u64 = 100_000_000;

/// A mock server in a child process; dropping it stops the process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    /// Starts `moonshot-bench serve` (the mock server) and waits for its base URL.
    pub fn start() -> Result<Self, BenchError> {
        Self::start_subcommand("serve")
    }

    /// Starts `moonshot-bench serve-sink` (the upload sink and chat stream of
    /// [`crate::sink`]) and waits for its base URL.
    pub fn start_sink() -> Result<Self, BenchError> {
        Self::start_subcommand("serve-sink")
    }

    fn start_subcommand(subcommand: &str) -> Result<Self, BenchError> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(subcommand)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let base_url = line.trim().to_owned();
        if !base_url.starts_with("http://") {
            // Reaped here: the process printed no URL, so it failed or is about to.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`{subcommand}` printed {base_url:?} instead of its URL").into());
        }
        Ok(Self { child, base_url })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin asks the server to stop; the kill covers a server that does not.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hidden `serve` subcommand: the demo files and the two generated bodies, key required.
/// Stops when stdin reaches its end, so that it never outlives the benchmark that started it.
pub fn serve() -> Result<(), BenchError> {
    // Named apart from the client's threads, so a profile of a run can tell them apart.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mock-server")
        .build()?;
    runtime.block_on(async {
        let server = MockServer::builder()
            .api_key(API_KEY)
            .with_large_file(TINY_ID, TINY_BODY)
            .with_large_file(SMALL_ID, SMALL_BODY)
            .with_large_file(LARGE_ID, LARGE_BODY)
            .start()
            .await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", server.base_url())?;
        stdout.flush()?;
        end_of_stdin().await;
        server.shutdown().await?;
        Ok(())
    })
}

/// Resolves when stdin reaches its end (or fails): the parent that started this server is gone
/// or done with it.
pub async fn end_of_stdin() {
    // A failed join means the reading thread is gone, which ends the wait all the same.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        // Any outcome, end of input or an error, means the parent is gone or done.
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
}
