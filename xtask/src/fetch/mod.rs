//! `cargo xtask fetch`: brings the upstream pages anew.
//!
//! Each page listed in `openapi/pages.toml` is downloaded in its Markdown form and read as
//! [`read_page`] reads it: exactly one OpenAPI block that parses as a document. Only when every
//! page passes are the pages written into `openapi/upstream/`, so a failed fetch leaves the disk
//! as it was. The merged document is then compared with what the new pages produce, as
//! `cargo xtask diff` does. The site's `llms.txt` index is read too, to list the API pages that
//! `pages.toml` does not name; they are listed, never added.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::Error;
use crate::diff::{self, Change, DiffArgs, OutputArgs};
use crate::generate::stage;
use crate::pipeline::{Page, UPSTREAM_DIR, read_page};
use crate::sources::{PAGES_FILE, Sources};

/// Links in the index whose path starts with this are API pages.
pub const API_PAGES_PREFIX: &str = "/docs/api/";

/// The arguments of `cargo xtask fetch`.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    /// Fetch from this scheme and host (and optional path prefix) instead of each page's own,
    /// e.g. a mirror or a local test server.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Give up on one request after this long: `30s`, `500ms`, `2m`, or seconds.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Extra attempts after a timeout, a connection error, a 429 or a 5xx, with growing pauses
    /// or the server's `Retry-After` (in seconds; up to 60).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
    /// Output options of the diff that follows.
    #[command(flatten)]
    pub output: OutputArgs,
}

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
    /// Reading `pages.toml` or writing a page failed.
    #[error(transparent)]
    Pipeline(#[from] Error),
    /// `--base-url` is not an HTTP URL.
    #[error("--base-url `{0}` must start with http:// or https://")]
    BadBaseUrl(String),
    /// A `file` in `pages.toml` is not a plain page name, which could write outside the directory.
    #[error("{PAGES_FILE}: `file = \"{0}\"` must be a plain file name ending in `.md`")]
    BadFileName(String),
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

/// Parses `30s`, `500ms`, `2m` or a number of seconds.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((text, ""), |i| text.split_at(i));
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        _ => f64::NAN,
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("`{text}` is not a duration such as 30s, 500ms or 2m"))
}

/// `url` with its scheme and host replaced by `base`, if given.
pub fn rebase(url: &str, base: Option<&str>) -> String {
    match base {
        Some(base) => format!("{}{}", base.trim_end_matches('/'), split_origin(url).1),
        None => url.to_owned(),
    }
}

/// Splits a URL into its origin (`https://host`) and the rest (`/path?query`).
fn split_origin(url: &str) -> (&str, &str) {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = scheme.len() + 3 + rest.find('/').unwrap_or(rest.len());
            url.split_at(end)
        }
        None => ("", url),
    }
}

/// A page URL's path in its Markdown form: no query or fragment, ending in `.md`.
fn markdown_path(url: &str) -> String {
    let path = split_origin(url).1;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.ends_with(".md") {
        path.to_owned()
    } else {
        format!("{path}.md")
    }
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

/// Downloads pages with a timeout and retries.
struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    retries: u32,
}

/// The longest `Retry-After` a fetch waits for; a server asking for more fails the page.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What went wrong with one attempt, and whether (and when) another may help.
struct Failure {
    detail: String,
    retryable: bool,
    /// The wait the server asked for (`Retry-After`, in seconds).
    retry_after: Option<Duration>,
}

impl Fetcher {
    /// The page's text, after up to `retries` extra attempts on failures worth retrying.
    async fn get(&self, url: &str) -> Result<String, String> {
        let mut attempt = 0;
        loop {
            let failure = match self.get_once(url).await {
                Ok(text) => return Ok(text),
                Err(failure) => failure,
            };
            if failure.retryable && attempt < self.retries {
                // The server's Retry-After, or 0.5 s, 1 s, 2 s... up to 8 s, as HTTP clients
                // commonly pause.
                let pause = match failure.retry_after {
                    Some(asked) if asked > MAX_RETRY_AFTER => {
                        let attempts = match attempt {
                            0 => String::new(),
                            n => format!(", after {} attempts", n + 1),
                        };
                        return Err(format!(
                            "{} (the server asked to retry after {} s, more than the {} s this \
                             command waits{attempts})",
                            failure.detail,
                            asked.as_secs(),
                            MAX_RETRY_AFTER.as_secs()
                        ));
                    }
                    Some(asked) => asked,
                    None => Duration::from_millis(500 << attempt.min(4)),
                };
                tokio::time::sleep(pause).await;
                attempt += 1;
            } else if attempt > 0 {
                return Err(format!(
                    "{} (after {} attempts)",
                    failure.detail,
                    attempt + 1
                ));
            } else {
                return Err(failure.detail);
            }
        }
    }

    /// One attempt: the text, or what went wrong.
    async fn get_once(&self, url: &str) -> Result<String, Failure> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failure {
                detail: format!("HTTP {status}"),
                retryable: status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error(),
                retry_after,
            });
        }
        // `bytes` fails on a body cut short of its `Content-Length`, so a page is whole here.
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        String::from_utf8(body.to_vec()).map_err(|_| Failure {
            detail: "the page is not UTF-8 text".to_owned(),
            retryable: false,
            retry_after: None,
        })
    }

    fn transport(&self, error: &reqwest::Error) -> Failure {
        if error.is_timeout() {
            return Failure {
                detail: format!("timed out after {:?}", self.timeout),
                retryable: true,
                retry_after: None,
            };
        }
        // The URL is already in the message around this one.
        let url = error
            .url()
            .map(|u| format!(" for url ({u})"))
            .unwrap_or_default();
        let mut detail = error.to_string().replace(&url, "");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let _ = write!(detail, ": {cause}");
            source = cause.source();
        }
        // Refused connections, resets and bodies cut short are all worth another attempt.
        Failure {
            detail,
            retryable: true,
            retry_after: None,
        }
    }
}

/// A checked page in a temporary file beside its place, with a copy of the page it replaces.
struct Staged {
    temporary: tempfile::NamedTempFile,
    /// `None` for a page that is new.
    original: Option<tempfile::NamedTempFile>,
    path: std::path::PathBuf,
    file: String,
}

/// Renames each staged page into place, in order; when one fails, puts back those before it.
fn rename_all(written: Vec<Staged>) -> Result<(), FetchError> {
    let mut renamed = Vec::new();
    for Staged {
        temporary,
        original,
        path,
        file,
    } in written
    {
        if let Err(e) = temporary.persist(&path) {
            return Err(FetchError::Rename {
                page: file,
                source: e.error,
                unrestored: put_back(renamed),
            });
        }
        renamed.push((path, file, original));
    }
    Ok(())
}

/// Puts pages renamed into place back as they were, last first: the copy of the original
/// renamed over it, or a new page removed. Returns the pages that could not be, each with why.
fn put_back(
    renamed: Vec<(std::path::PathBuf, String, Option<tempfile::NamedTempFile>)>,
) -> Vec<String> {
    renamed
        .into_iter()
        .rev()
        .filter_map(|(path, file, original)| {
            let result = match original {
                Some(original) => original.persist(&path).map(drop).map_err(|e| e.error),
                None => std::fs::remove_file(&path),
            };
            result.err().map(|e| format!("{file}: {e}"))
        })
        .collect()
}

/// Fetches every page, writes them if all are good, lists new API pages and runs the diff.
///
/// # Errors
/// [`FetchError`]: a bad `pages.toml` or `--base-url`, or pages that failed (all are named),
/// with nothing written; a write error before any page is renamed into place; or a failing
/// rename, after which the pages renamed before it are put back as they were.
pub fn run(root: &Path, args: &FetchArgs) -> Result<FetchReport, FetchError> {
    let text = std::fs::read_to_string(root.join(PAGES_FILE)).map_err(|source| Error::Read {
        path: PAGES_FILE.to_owned(),
        source,
    })?;
    let sources = Sources::parse(PAGES_FILE, &text)?;
    let base = args.base_url.as_deref();
    if let Some(base) = base.filter(|b| !b.starts_with("http://") && !b.starts_with("https://")) {
        return Err(FetchError::BadBaseUrl(base.to_owned()));
    }
    if let Some(bad) = sources.pages.iter().find(|p| {
        !p.file.ends_with(".md") || p.file.contains(['/', '\\']) || p.file.starts_with('.')
    }) {
        return Err(FetchError::BadFileName(bad.file.clone()));
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
    let fetcher = Fetcher {
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
            let checked = match fetcher.get(&url).await {
                Ok(text) => {
                    let page = Page {
                        name: page.clone(),
                        text,
                    };
                    read_page(&page)
                        .map(|_| page.text)
                        .map_err(|e| format!("{e} (from {url})"))
                }
                Err(detail) => Err(format!("{page}: {url}: {detail}")),
            };
            match checked {
                Ok(text) => staged.push((page, url, text)),
                Err(message) => failures.push(PageFailure { page, url, message }),
            }
        }
        let discovered = match fetcher.get(&index).await {
            Ok(text) => Ok(new_api_pages(&text, &sources)),
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
    // Every changed page is written to a temporary file first and renamed only once all are,
    // with a copy of the page it replaces, so that a failing rename can put back the ones before.
    let mut pages = Vec::new();
    let mut written = Vec::new();
    for (file, url, text) in staged {
        let path = root.join(&file);
        // A page that exists but cannot be read is an error: taken for a new page, it would
        // be removed, not put back, should a later rename fail.
        let existing = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Read {
                    path: file.clone(),
                    source,
                }
                .into());
            }
        };
        let status = match &existing {
            Some(existing) if existing == text.as_bytes() => PageStatus::Unchanged,
            Some(_) => PageStatus::Changed,
            None => PageStatus::Added,
        };
        if status != PageStatus::Unchanged {
            let write_error = |source| Error::Write {
                path: file.clone(),
                source,
            };
            let temporary = stage(&path, &text).map_err(write_error)?;
            let original = existing
                .map(|bytes| stage(&path, bytes))
                .transpose()
                .map_err(write_error)?;
            written.push(Staged {
                temporary,
                original,
                path,
                file: file.clone(),
            });
        }
        pages.push(FetchedPage { file, url, status });
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::PageSource;

    /// A page staged over `path`, with a copy of what is there, as `run` stages it.
    fn staged(path: &std::path::Path, text: &str) -> Staged {
        let original = std::fs::read(path)
            .ok()
            .map(|bytes| stage(path, bytes).expect("copy"));
        Staged {
            temporary: stage(path, text).expect("stage"),
            original,
            path: path.to_owned(),
            file: path.display().to_string(),
        }
    }

    #[test]
    fn a_failing_rename_puts_back_the_pages_renamed_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let changed = dir.path().join("changed.md");
        std::fs::write(&changed, "before").expect("write");
        let added = dir.path().join("added.md");
        // A directory where the last page goes: its rename fails after the others succeeded.
        let blocked = dir.path().join("blocked.md");
        std::fs::create_dir(&blocked).expect("mkdir");
        let written = vec![
            staged(&changed, "after"),
            staged(&added, "new"),
            staged(&blocked, "x"),
        ];

        let error = rename_all(written).expect_err("the last rename fails");

        assert!(
            matches!(&error, FetchError::Rename { page, unrestored, .. }
                if page.ends_with("blocked.md") && unrestored.is_empty()),
            "{error:?}"
        );
        assert!(error.to_string().contains("put back"), "{error}");
        assert_eq!(std::fs::read_to_string(&changed).expect("read"), "before");
        assert!(!added.exists(), "a new page is removed again");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn rebases_urls_onto_another_host() {
        let url = "https://platform.kimi.ai/docs/api/files-retrieve.md";
        assert_eq!(
            rebase(url, Some("http://127.0.0.1:8080/")),
            "http://127.0.0.1:8080/docs/api/files-retrieve.md"
        );
        assert_eq!(rebase(url, None), url);
    }

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
