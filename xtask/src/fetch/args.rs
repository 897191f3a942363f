//! The arguments of `cargo xtask fetch`.

use std::time::Duration;

use crate::diff::OutputArgs;

/// The arguments of `cargo xtask fetch`.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    /// Fetch from this scheme and host (and optional path prefix) instead of each page's own,
    /// e.g. a mirror or a local test server.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Give up on one request after this long: seconds (30, 0.5) or 500ms, 30s, 2m.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = moonshot_duration::parse_timeout,
        allow_negative_numbers = true
    )]
    pub timeout: Duration,
    /// Extra attempts after a timeout, a connection error, a 429 or a 5xx, with growing pauses
    /// or the server's `Retry-After` (up to 60 s).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2,
        allow_negative_numbers = true
    )]
    pub retries: u32,
    /// Output options of the diff that follows.
    #[command(flatten)]
    pub output: OutputArgs,
}
