//! Discovery: the API pages that the site's `llms.txt` index links and `pages.toml` does not list.

use std::collections::BTreeSet;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::urls::{markdown_path, split_origin};
use crate::sources::Sources;

/// Links in the index whose path starts with this are API pages.
pub const API_PAGES_PREFIX: &str = "/docs/api/";

/// An API page the index links that `openapi/pages.toml` does not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredPage {
    /// The link's text.
    pub title: String,
    /// The page's Markdown form, to put in `pages.toml`.
    pub url: String,
    /// A file name for it in `openapi/upstream/`.
    pub file: String,
}

/// The API pages that `index` (an `llms.txt`) links and `sources` does not list, in index order.
pub fn new_api_pages(index: &str, sources: &Sources) -> Vec<DiscoveredPage> {
    let known: BTreeSet<String> = sources
        .pages
        .iter()
        .map(|p| markdown_path(&p.url))
        .collect();
    let origin = split_origin(&sources.index).0;
    let mut found: Vec<DiscoveredPage> = Vec::new();
    let mut link: Option<(String, String)> = None;
    for event in Parser::new(index) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                link = Some((dest_url.to_string(), String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, title)) = link.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Link) => {
                let Some((url, title)) = link.take() else {
                    continue;
                };
                let path = markdown_path(&url);
                if !path.starts_with(API_PAGES_PREFIX) || known.contains(&path) {
                    continue;
                }
                let url_origin = match split_origin(&url).0 {
                    "" => origin,
                    own => own,
                };
                let url = format!("{url_origin}{path}");
                if found.iter().any(|p| p.url == url) {
                    continue;
                }
                let file = path.rsplit('/').next().unwrap_or_default().to_owned();
                found.push(DiscoveredPage { title, url, file });
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::PageSource;

    #[test]
    fn lists_api_pages_the_sources_lack() {
        let sources = Sources {
            index: "https://platform.kimi.ai/docs/llms.txt".to_owned(),
            pages: vec![PageSource {
                file: "files-retrieve.md".to_owned(),
                url: "https://platform.kimi.ai/docs/api/files-retrieve.md".to_owned(),
            }],
        };
        let index = "# Docs\n\n\
            - [Get File](https://platform.kimi.ai/docs/api/files-retrieve.md): known\n\
            - [List Files](https://platform.kimi.ai/docs/api/files-list.md): new\n\
            - [Delete File](/docs/api/files-delete): relative, no .md\n\
            - [Quickstart](https://platform.kimi.ai/docs/guide/start.md): not an API page\n";
        let found = new_api_pages(index, &sources);
        let urls: Vec<&str> = found.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://platform.kimi.ai/docs/api/files-list.md",
                "https://platform.kimi.ai/docs/api/files-delete.md"
            ]
        );
        assert_eq!(found[0].title, "List Files");
        assert_eq!(found[1].file, "files-delete.md");
    }
}
