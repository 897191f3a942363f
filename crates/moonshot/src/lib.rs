//! A typed Rust client for Moonshot AI's (Kimi's) Files API.
//!
//! A thin layer over the client generated from Moonshot's published OpenAPI documents
//! (`moonshot-api`): authentication that never leaks the key, timeouts, retries with backoff that
//! honour the server's `Retry-After`, one error type that tells every failure apart, and open
//! enums that never fail on a value the docs do not list.
//!
//! ```no_run
//! # async fn run() -> Result<(), moonshot::Error> {
//! // MOONSHOT_API_KEY is read from the environment; MOONSHOT_BASE_URL too, when set.
//! let client = moonshot::Client::from_env()?;
//!
//! let file = client.files().retrieve("clg681objj8g9m7n4je0").await?;
//! println!("{} is {} bytes, status {}", file.filename, file.bytes, file.status);
//!
//! let content = client.files().content(&file.id).await?;
//! let system_message = content.as_str(); // exactly as served, ready for a system message
//! println!("{}", content.parsed().content); // or just the extracted text
//! # let _ = system_message;
//! # Ok(())
//! # }
//! ```
//!
//! Errors say what went wrong and carry Moonshot's request id:
//!
//! ```no_run
//! # async fn run(client: moonshot::Client) {
//! match client.files().retrieve("file-that-is-gone").await {
//!     Ok(file) => println!("{file:?}"),
//!     Err(moonshot::Error::NotFound(e)) => eprintln!("no such file (request id {:?})", e.request_id),
//!     Err(e) if e.is_retryable() => eprintln!("try later: {e}"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! # }
//! ```

mod call;
mod client;
mod error;
mod files;
#[cfg(feature = "mock")]
pub mod mock;
mod retry;
mod types;

pub use client::{
    API_KEY_ENV, BASE_URL_ENV, CHINA_BASE_URL, Client, ClientBuilder, GLOBAL_BASE_URL,
};
pub use error::{ApiError, BoxError, Error};
pub use files::Files;
pub use retry::RetryPolicy;
pub use types::{ExtractedContent, FileContent, FileObject, FileStatus, Purpose};

/// The README's Rust examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
