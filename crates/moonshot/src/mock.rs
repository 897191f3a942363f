//! Typed mocks of the API for your own tests, on [httpmock](https://docs.rs/httpmock).
//!
//! The helpers are generated from the same OpenAPI document as the client, so a mock that no
//! longer fits the API stops compiling. [`FileIdMatch::file`] and [`ContentText::text`] match
//! and answer as the real API does (percent-encoded ids; content as text).
//!
//! ```no_run
//! use moonshot::mock::{ContentText as _, FileIdMatch as _, MockServerExt as _, sample_file};
//!
//! # async fn run() -> Result<(), moonshot::Error> {
//! let server = httpmock::MockServer::start_async().await;
//! let found = server.retrieve_file(|when, then| {
//!     when.file("file-1");
//!     then.ok(&sample_file("file-1"));
//! });
//! server.retrieve_file_content(|when, then| {
//!     when.file("file-1");
//!     then.text(r#"{"content": "hello", "type": "file"}"#);
//! });
//!
//! let client = moonshot::Client::builder().api_key("sk-test").base_url(server.base_url()).build()?;
//! assert_eq!(client.files().retrieve("file-1").await?.filename, "sample.pdf");
//! assert_eq!(client.files().content("file-1").await?.parsed().content, "hello");
//! found.assert();
//! # Ok(())
//! # }
//! ```

pub use moonshot_api::mock::operations;
pub use moonshot_api::mock::{MockServerExt, operations::*};

use moonshot_api::types;

/// Matches requests for exactly one file id, as the client sends it.
pub trait FileIdMatch: Sized {
    /// Matches the path of `file_id`, percent-encoded as the client encodes it.
    fn file(self, file_id: &str) -> Self;
}

/// The path segment the client sends for `file_id`.
fn encoded(file_id: &str) -> String {
    const KEEP: &[u8] = b"-._~!$&'()*+,;=:@";
    file_id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl FileIdMatch for RetrieveFileWhen {
    fn file(self, file_id: &str) -> Self {
        Self::new(
            self.into_inner()
                .path(format!("/v1/files/{}", encoded(file_id))),
        )
    }
}

impl FileIdMatch for RetrieveFileContentWhen {
    fn file(self, file_id: &str) -> Self {
        Self::new(
            self.into_inner()
                .path(format!("/v1/files/{}/content", encoded(file_id))),
        )
    }
}

/// Answers the content operation as the real API does: 200 with a text body.
pub trait ContentText: Sized {
    /// Answers 200 `text/plain` with `body` (the real body is a JSON object as text).
    fn text(self, body: &str) -> Self;
}

impl ContentText for RetrieveFileContentThen {
    fn text(self, body: &str) -> Self {
        Self::new(
            self.into_inner()
                .status(200)
                .header("content-type", "text/plain")
                .body(body),
        )
    }
}

/// A processed `file-extract` file named `sample.pdf`, to answer `retrieve_file` with.
pub fn sample_file(file_id: &str) -> types::FileObject {
    types::FileObject {
        id: file_id.to_owned(),
        object: "file".to_owned(),
        bytes: 1024,
        created_at: 1_700_000_000,
        filename: "sample.pdf".to_owned(),
        purpose: moonshot_api::Purpose::FileExtract,
        status: "ok".to_owned(),
        status_details: Some(String::new()),
    }
}

/// Moonshot's error body, to answer with `then.not_found(..)` and the like.
pub fn error_body(error_type: &str, message: &str) -> types::ErrorResponse {
    types::ErrorResponse {
        error: types::ErrorResponseError {
            message: message.to_owned(),
            type_: Some(error_type.to_owned()),
            code: None,
        },
    }
}
