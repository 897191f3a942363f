//! A local server that answers like Moonshot AI's (Kimi's) Files API, for tests, demos and
//! benchmarks of clients, in the spirit of stripe-mock.
//!
//! It serves the two operations of `openapi/openapi.yaml` the way the real API does:
//!
//! - `GET /v1/files/{file_id}`: the file object, `application/json`.
//! - `GET /v1/files/{file_id}/content`: documented as `text/plain`, and sent as such, but the
//!   text is a JSON object: `{"content": "...", "file_type": "application/pdf", "filename":
//!   "x.pdf", "title": "", "type": "file"}`.
//!
//! Errors carry Moonshot's body `{"error": {"message": "...", "type": "..."}}`: 401
//! `invalid_authentication_error` (when a key is configured), 404 `resource_not_found_error`
//! (unknown file ids and unknown routes), 500 `server_error`, and on demand 429
//! `rate_limit_reached_error` with `Retry-After` or 429 `exceeded_current_quota_error` (see
//! [`Faults`]). Every response carries a unique `Msh-Request-Id` header.
//!
//! The files are the built-in demo files ([`demo_files`]), a fixtures directory
//! ([`load_fixtures`], whose format is described in [`files`]), files built in code
//! ([`MockFile`]), and large generated ones ([`MockServerBuilder::with_large_file`]).
//!
//! ```
//! use std::time::Duration;
//! use moonshot_mock::{DEMO_PDF_ID, Faults, MockServer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = MockServer::builder()
//!         .api_key("sk-test")
//!         .faults(Faults::default().latency(Duration::from_millis(5)))
//!         .start()
//!         .await?;
//!     let url = format!("{}/v1/files/{DEMO_PDF_ID}", server.base_url());
//!     let response = reqwest::Client::new().get(url).bearer_auth("sk-test").send().await?;
//!     assert_eq!(response.status(), 200);
//!     assert!(response.text().await?.contains("moonshot-intro.pdf"));
//!     assert_eq!(server.request_count(), 1);
//!     server.shutdown().await?;
//!     Ok(())
//! }
//! ```
//!
//! The `moonshot-mock` binary runs the same server from the command line: `moonshot-mock --help`.

mod body;
mod faults;
pub mod files;
mod routes;
mod server;

pub use faults::Faults;
pub use files::{
    DEMO_BATCH_OUTPUT_ID, DEMO_FAILED_ID, DEMO_IMAGE_ID, DEMO_PDF_ID, FileObjectError,
    FixtureError, MockFile, demo_files, load_fixtures,
};
pub use routes::REQUEST_ID_HEADER;
pub use server::{MockError, MockServer, MockServerBuilder};
