//! The list of upstream pages: `openapi/pages.toml`, read by `cargo xtask fetch`.

use serde::Deserialize;

use crate::Error;

/// Where the list lives, relative to the workspace root.
pub const PAGES_FILE: &str = "openapi/pages.toml";

/// The list of upstream pages.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// The docs site's index of pages (`llms.txt`), read to discover new API pages.
    pub index: String,
    /// The pages, one per operation.
    #[serde(rename = "page")]
    pub pages: Vec<PageSource>,
}

/// One upstream page.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PageSource {
    /// File name in `openapi/upstream/`.
    pub file: String,
    /// The page's Markdown form: the docs page URL plus `.md`.
    pub url: String,
}

impl Sources {
    /// Parses the list.
    ///
    /// # Errors
    /// [`Error::NotADocument`] naming `path` when the TOML does not parse or lacks a field.
    pub fn parse(path: &str, text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::NotADocument {
            page: path.to_owned(),
            detail: e.to_string(),
        })
    }
}
