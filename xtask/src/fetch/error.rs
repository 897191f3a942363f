//! Why `fetch` wrote nothing, or put back what it wrote.

use crate::Error;
use crate::pipeline::UPSTREAM_DIR;
use crate::sources::SourcesError;

/// One page that could not be fetched or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFailure {
    /// The page's file, relative to the workspace root.
    pub page: String,
    /// The URL tried.
    pub url: String,
    /// What went wrong, naming the page.
    pub message: String,
}

/// Why `fetch` wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Writing a page failed.
    #[error(transparent)]
    Pipeline(#[from] Error),
    /// `pages.toml` cannot be read as a list of pages.
    #[error(transparent)]
    Sources(#[from] SourcesError),
    /// `--base-url` is not an HTTP URL.
    #[error("--base-url `{0}` must start with http:// or https://")]
    BadBaseUrl(String),
    /// The HTTP client could not be set up.
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
    /// Some pages failed to download or hold no single OpenAPI block; nothing was written.
    #[error(
        "{} of {total} pages failed, so nothing was written:{}",
        .failures.len(),
        .failures.iter().map(|f| format!("\n  {}", f.message)).collect::<String>()
    )]
    Pages {
        /// The pages that failed.
        failures: Vec<PageFailure>,
        /// How many pages were fetched.
        total: usize,
    },
    /// A checked page could not be renamed into place; the pages renamed before it were put back
    /// as they were (those that could not be are listed).
    #[error("{page}: cannot write: {source}; {}", put_back_summary(.unrestored))]
    Rename {
        /// The page that could not be written.
        page: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
        /// Pages renamed before it that could not be put back, each with why.
        unrestored: Vec<String>,
    },
    /// The index could not be read.
    #[error("cannot read the index {url}: {detail}")]
    Index {
        /// The index URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
}

fn put_back_summary(unrestored: &[String]) -> String {
    if unrestored.is_empty() {
        "the pages written before it were put back, so nothing was written".to_owned()
    } else {
        format!(
            "putting back the pages written before it failed ({}): check {UPSTREAM_DIR} with \
             `git status`",
            unrestored.join("; ")
        )
    }
}
