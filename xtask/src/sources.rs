//! The list of upstream pages: `openapi/pages.toml`, read by `cargo xtask fetch`.

use std::collections::BTreeSet;

use serde::Deserialize;

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

/// Why `openapi/pages.toml` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourcesError {
    /// The file is not TOML, or lacks a field, or has one too many.
    #[error("{path}: not a list of pages ({detail}): see the [[page]] entries already there")]
    Invalid {
        /// The list's file.
        path: String,
        /// What the TOML reader said.
        detail: String,
    },
    /// Two entries name the same file (one page would overwrite the other) or the same URL.
    #[error("{path}: `{key} = \"{value}\"` is listed twice: each page needs its own {key}")]
    Duplicate {
        /// The list's file.
        path: String,
        /// `file` or `url`.
        key: &'static str,
        /// The repeated value.
        value: String,
    },
    /// A `file` is not a plain page name, which could write outside the directory.
    #[error("{path}: `file = \"{file}\"` must be a plain file name ending in `.md`")]
    BadFileName {
        /// The list's file.
        path: String,
        /// The name given.
        file: String,
    },
}

impl Sources {
    /// Parses the list, `path` naming it in errors.
    ///
    /// # Errors
    /// [`SourcesError::Invalid`] when the TOML does not parse or lacks a field,
    /// [`SourcesError::Duplicate`] for a file or URL listed twice, and
    /// [`SourcesError::BadFileName`] for a file that is not a plain `*.md` name.
    pub fn parse(path: &str, text: &str) -> Result<Self, SourcesError> {
        let sources: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |span| {
                text[..span.start.min(text.len())].matches('\n').count() + 1
            });
            SourcesError::Invalid {
                path: path.to_owned(),
                detail: format!("line {line}: {}", e.message().trim()),
            }
        })?;
        let mut seen = BTreeSet::new();
        for page in &sources.pages {
            let file = &page.file;
            if !file.ends_with(".md") || file.contains(['/', '\\']) || file.starts_with('.') {
                return Err(SourcesError::BadFileName {
                    path: path.to_owned(),
                    file: file.clone(),
                });
            }
            for (key, value) in [("file", file), ("url", &page.url)] {
                if !seen.insert((key, value.as_str())) {
                    return Err(SourcesError::Duplicate {
                        path: path.to_owned(),
                        key,
                        value: value.clone(),
                    });
                }
            }
        }
        Ok(sources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(file: &str, url: &str) -> String {
        format!("[[page]]\nfile = \"{file}\"\nurl = \"{url}\"\n")
    }

    #[test]
    fn refuses_a_file_or_url_listed_twice() {
        let index = "index = \"https://x/llms.txt\"\n";
        let twice_file = format!(
            "{index}{}{}",
            page("a.md", "https://x/a"),
            page("a.md", "https://x/b")
        );
        let twice_url = format!(
            "{index}{}{}",
            page("a.md", "https://x/a"),
            page("b.md", "https://x/a")
        );
        for (text, key) in [(twice_file, "file"), (twice_url, "url")] {
            let error = Sources::parse("pages.toml", &text).expect_err(key);
            assert!(
                matches!(&error, SourcesError::Duplicate { key: k, .. } if *k == key),
                "{error}"
            );
            assert!(error.to_string().starts_with("pages.toml: `"), "{error}");
        }
    }

    #[test]
    fn a_toml_error_says_the_list_is_wrong_not_an_openapi_block() {
        let error = Sources::parse("pages.toml", "index = ").expect_err("not TOML");
        let message = error.to_string();
        assert!(
            message.starts_with("pages.toml: not a list of pages"),
            "{message}"
        );
        assert!(!message.contains("OpenAPI"), "{message}");
    }
}
