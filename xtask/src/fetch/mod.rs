//! `cargo xtask fetch`: brings the upstream pages anew.
//!
//! Each page listed in `openapi/pages.toml` is downloaded in its Markdown form and read as
//! [`read_page`] reads it: exactly one OpenAPI block that parses as a document. Only when every
//! page passes are the pages written into `openapi/upstream/`, so a failed fetch leaves the disk
//! as it was. The merged document is then compared with what the new pages produce, as
//! `cargo xtask diff` does. The site's `llms.txt` index is read too, to list the API pages that
//! `pages.toml` does not name; they are listed, never added.

mod args;
mod discovery;
mod download;
mod error;
mod report;
mod transaction;
mod urls;

use std::path::Path;

pub use args::FetchArgs;
pub use discovery::{API_PAGES_PREFIX, DiscoveredPage, new_api_pages};
pub use error::{FetchError, PageFailure};
pub use report::{FetchReport, FetchedPage, PageStatus};
pub use urls::rebase;

use crate::Error;
use crate::diff::{self, DiffArgs};
use crate::files::read_text;
use crate::pipeline::{Page, UPSTREAM_DIR, read_page};
use crate::sources::{PAGES_FILE, Sources};
use download::Downloader;
use transaction::{rename_all, stage_changed};

/// Fetches every page, writes them if all are good, lists new API pages and runs the diff.
///
/// # Errors
/// [`FetchError`]: a bad `pages.toml` or `--base-url`, or pages that failed (all are named),
/// with nothing written; a write error before any page is renamed into place; or a failing
/// rename, after which the pages renamed before it are put back as they were.
pub fn run(root: &Path, args: &FetchArgs) -> Result<FetchReport, FetchError> {
    let text = read_text(&root.join(PAGES_FILE), PAGES_FILE)?;
    let sources = Sources::parse(PAGES_FILE, &text)?;
    let base = args.base_url.as_deref();
    if let Some(base) = base.filter(|b| !b.starts_with("http://") && !b.starts_with("https://")) {
        return Err(FetchError::BadBaseUrl(base.to_owned()));
    }
    let client_error = |e: &dyn std::fmt::Display| FetchError::Client(e.to_string());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| client_error(&e))?;
    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .connect_timeout(args.timeout)
        .user_agent(concat!("moonshot-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| client_error(&e))?;
    let downloader = Downloader {
        client,
        timeout: args.timeout,
        retries: args.retries,
    };
    let index = rebase(&sources.index, base);

    let (staged, failures, discovered) = runtime.block_on(async {
        let mut staged = Vec::new();
        let mut failures = Vec::new();
        for source in &sources.pages {
            let page = format!("{UPSTREAM_DIR}/{}", source.file);
            let url = rebase(&source.url, base);
            let checked = match downloader.get(&url).await {
                Ok(downloaded) => {
                    let page = Page {
                        name: page.clone(),
                        text: downloaded.text,
                    };
                    let from = if downloaded.url == url {
                        url.clone()
                    } else {
                        format!("{url}, redirected to {}", downloaded.url)
                    };
                    read_page(&page)
                        .map(|_| page.text)
                        .map_err(|e| format!("{e} (from {from})"))
                }
                Err(detail) => Err(format!("{page}: {url}: {detail}")),
            };
            match checked {
                Ok(text) => staged.push((page, url, text)),
                Err(message) => failures.push(PageFailure { page, url, message }),
            }
        }
        let discovered = match downloader.get(&index).await {
            Ok(downloaded) => Ok(new_api_pages(&downloaded.text, &sources)),
            Err(detail) => Err(FetchError::Index {
                url: index.clone(),
                detail,
            }),
        };
        (staged, failures, discovered)
    });
    if !failures.is_empty() {
        return Err(FetchError::Pages {
            failures,
            total: sources.pages.len(),
        });
    }

    let directory = root.join(UPSTREAM_DIR);
    std::fs::create_dir_all(&directory).map_err(|source| Error::Write {
        path: UPSTREAM_DIR.to_owned(),
        source,
    })?;
    let (pages, written) = stage_changed(root, staged)?;
    rename_all(written)?;
    let diff_args = DiffArgs {
        old: None,
        new: None,
        output: args.output.clone(),
    };
    Ok(FetchReport {
        pages,
        index,
        discovered,
        changes: diff::run(root, &diff_args),
    })
}
