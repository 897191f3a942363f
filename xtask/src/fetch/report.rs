//! What `fetch` did, page by page, and its summary for the terminal.

use std::fmt::Write as _;

use super::discovery::DiscoveredPage;
use super::error::FetchError;
use crate::Error;
use crate::diff::Change;
use crate::sources::PAGES_FILE;

/// What happened to one page on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStatus {
    /// The page came back byte for byte as vendored.
    Unchanged,
    /// The page differs and was written.
    Changed,
    /// The page was not vendored before and was written.
    Added,
}

/// One page fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPage {
    /// Its file, relative to the workspace root (`openapi/upstream/files-retrieve.md`).
    pub file: String,
    /// The URL it came from.
    pub url: String,
    /// What happened to it on disk.
    pub status: PageStatus,
}

/// What `fetch` did.
#[derive(Debug)]
pub struct FetchReport {
    /// Every listed page, in `pages.toml` order.
    pub pages: Vec<FetchedPage>,
    /// The index URL read for discovery.
    pub index: String,
    /// New API pages from the index, or why the index could not be read (not fatal).
    pub discovered: Result<Vec<DiscoveredPage>, FetchError>,
    /// The diff from the merged document to what the pages now produce, or why it failed.
    pub changes: Result<Vec<Change>, Error>,
}

impl FetchReport {
    /// What was fetched and discovered, for the terminal.
    pub fn summary(&self) -> String {
        let count = |status| self.pages.iter().filter(|p| p.status == status).count();
        let mut out = format!(
            "fetched {} pages: {} changed, {} added, {} unchanged\n",
            self.pages.len(),
            count(PageStatus::Changed),
            count(PageStatus::Added),
            count(PageStatus::Unchanged)
        );
        for page in &self.pages {
            let status = match page.status {
                PageStatus::Unchanged => "unchanged",
                PageStatus::Changed => "changed",
                PageStatus::Added => "added",
            };
            let _ = writeln!(out, "  {status:<9}  {}", page.file);
        }
        match &self.discovered {
            Ok(found) if found.is_empty() => {
                let _ = writeln!(out, "{PAGES_FILE} lists every API page of {}", self.index);
            }
            Ok(found) => {
                let _ = writeln!(
                    out,
                    "{} API pages of {} are not in {PAGES_FILE} (add a [[page]] to vendor one):",
                    found.len(),
                    self.index
                );
                for page in found {
                    let _ = writeln!(out, "  {}  {}  ({})", page.file, page.url, page.title);
                }
            }
            Err(e) => {
                let _ = writeln!(out, "warning: {e}");
            }
        }
        out
    }
}
