//! A typed Rust client for Moonshot AI's (Kimi's) platform API.
//!
//! ```no_run
//! # async fn run() -> Result<(), moonshot::Error> {
//! // MOONSHOT_API_KEY is read from the environment; MOONSHOT_BASE_URL too, when set.
//! let client = moonshot::Client::from_env()?;
//!
//! // Upload, wait for the text to be extracted, and read it: one call.
//! let (file, content) = client.files().upload_and_extract("report.pdf").await?;
//! println!("{} is {} bytes, status {}", file.filename, file.bytes, file.status);
//! let system_message = content.as_str(); // exactly as served, ready for a system message
//! println!("{}", content.parsed().content); // or just the extracted text
//! # let _ = system_message;
//!
//! let balance = client.balance().retrieve().await?;
//! println!("{:.2} available ({})", balance.available_balance, balance.currency_name());
//! # Ok(())
//! # }
//! ```
//!
//! A thin layer over the client generated from Moonshot's published OpenAPI documents
//! (`moonshot-api`): authentication that never leaks the key, timeouts, retries with backoff that
//! honour the server's `Retry-After`, one error type that tells every failure apart, and open
//! enums that never fail on a value the docs do not list.
//!
//! Each resource is a module of its own, reached from the client by an accessor of the same
//! name: [`files`] through [`Client::files`] (upload, list, retrieve, delete, wait for
//! processing, content), [`models`] through [`Client::models`], [`balance`] through
//! [`Client::balance`], [`tokenizers`] through [`Client::tokenizers`], [`chat`] through
//! [`Client::chat`] and [`batches`] through [`Client::batches`]. Every request and response type
//! of the API is in [`types`].
//!
//! Any generated operation, including one no resource has a method for yet, runs with the
//! client's authentication, retries and error mapping through [`Client::call`] (or
//! [`Client::call_with_head`], with the response's [`ResponseHead`]); an operation the generated
//! client does not have, by method and path, through [`Client::request_json`].
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

pub mod balance;
pub mod batches;
mod call;
pub mod chat;
mod client;
mod error;
pub mod files;
mod ids;
pub mod limits;
pub mod messages;
#[cfg(feature = "mock")]
pub mod mock;
pub mod models;
mod retry;
pub mod tokenizers;
mod wait;

pub use call::{CallOptions, ResponseHead};
pub use client::{
    API_KEY_ENV, BASE_URL_ENV, CHINA_BASE_URL, Client, ClientBuilder, GLOBAL_BASE_URL,
};
pub use error::{ApiError, BoxError, Error};
/// Every type of the API, as generated from the merged document (requests, responses, open
/// enums).
pub use moonshot_api::types;
pub use retry::RetryPolicy;

/// The README's Rust examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
