//! Page URLs: moved onto another host, split at their origin, turned into their Markdown form.

/// `url` with its scheme and host replaced by `base`, if given.
pub fn rebase(url: &str, base: Option<&str>) -> String {
    match base {
        Some(base) => format!("{}{}", base.trim_end_matches('/'), split_origin(url).1),
        None => url.to_owned(),
    }
}

/// Splits a URL into its origin (`https://host`) and the rest (`/path?query`).
pub(super) fn split_origin(url: &str) -> (&str, &str) {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = scheme.len() + 3 + rest.find('/').unwrap_or(rest.len());
            url.split_at(end)
        }
        None => ("", url),
    }
}

/// A page URL's path in its Markdown form: no query or fragment, ending in `.md`.
pub(super) fn markdown_path(url: &str) -> String {
    let path = split_origin(url).1;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.ends_with(".md") {
        path.to_owned()
    } else {
        format!("{path}.md")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebases_urls_onto_another_host() {
        let url = "https://platform.kimi.ai/docs/api/files-retrieve.md";
        assert_eq!(
            rebase(url, Some("http://127.0.0.1:8080/")),
            "http://127.0.0.1:8080/docs/api/files-retrieve.md"
        );
        assert_eq!(rebase(url, None), url);
    }
}
