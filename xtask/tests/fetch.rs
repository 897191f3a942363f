//! `cargo xtask fetch` against a local HTTP server, on a copy of the workspace's `openapi/`:
//! pages are written only when every page came back whole with one OpenAPI block.

mod common;

use common::{copy_of_openapi, xtask};

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xtask::diff::{Format, Level, OutputArgs};
use xtask::fetch::{FetchArgs, FetchError, PageStatus, run};
use xtask::sources::{PAGES_FILE, Sources};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fetch")
            .join(name),
    )
    .expect("fixture")
}

/// What the server answers to one request.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    delay: Duration,
    /// Announce more bytes than are sent, then close.
    cut_short: bool,
    /// A `Retry-After` header's value.
    retry_after: Option<&'static str>,
    /// A `Location` header's value.
    location: Option<&'static str>,
    /// Send no `Content-Length`: the body ends when the connection closes.
    unannounced: bool,
}

fn ok(body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status: 200,
        body: body.into(),
        delay: Duration::ZERO,
        cut_short: false,
        retry_after: None,
        location: None,
        unannounced: false,
    }
}

fn status(code: u16) -> Reply {
    Reply {
        status: code,
        ..ok("failure")
    }
}

/// A local HTTP/1.1 server: each path answers with its replies in turn, repeating the last;
/// unknown paths get 404. It runs until the test process ends.
struct Server {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(routes: BTreeMap<String, Vec<Reply>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (routes, seen) = (Arc::new(routes), Arc::clone(&hits));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, seen) = (Arc::clone(&routes), Arc::clone(&seen));
                std::thread::spawn(move || answer(stream, &routes, &seen));
            }
        });
        Self { base, hits }
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

fn answer(mut stream: TcpStream, routes: &BTreeMap<String, Vec<Reply>>, hits: &Mutex<Vec<String>>) {
    let mut request = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let count = {
        let mut hits = hits.lock().expect("hits");
        hits.push(path.clone());
        hits.iter().filter(|p| **p == path).count()
    };
    let reply = routes
        .get(&path)
        .and_then(|replies| replies.get(count - 1).or(replies.last()))
        .cloned()
        .unwrap_or_else(|| status(404));
    std::thread::sleep(reply.delay);
    let length = reply.body.len() + if reply.cut_short { 100 } else { 0 };
    let mut headers = format!("Content-Length: {length}\r\n");
    if reply.unannounced {
        headers.clear();
    }
    if let Some(seconds) = reply.retry_after {
        headers.push_str(&format!("Retry-After: {seconds}\r\n"));
    }
    if let Some(location) = reply.location {
        headers.push_str(&format!("Location: {location}\r\n"));
    }
    let head = format!(
        "HTTP/1.1 {} Test\r\nContent-Type: text/markdown\r\n{headers}Connection: close\r\n\r\n",
        reply.status
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}

fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[rest.find('/').unwrap_or(rest.len())..].to_owned()
}

/// A copy of the workspace and routes serving every listed page as vendored, plus the index.
fn setup() -> (tempfile::TempDir, Sources, BTreeMap<String, Vec<Reply>>) {
    let root = copy_of_openapi();
    let text = std::fs::read_to_string(root.path().join(PAGES_FILE)).expect("pages.toml");
    let sources = Sources::parse(PAGES_FILE, &text).expect("sources");
    let mut routes = BTreeMap::new();
    for page in &sources.pages {
        let vendored = std::fs::read(root.path().join("openapi/upstream").join(&page.file))
            .expect("vendored page");
        routes.insert(url_path(&page.url), vec![ok(vendored)]);
    }
    routes.insert(url_path(&sources.index), vec![ok(fixture("llms.txt"))]);
    (root, sources, routes)
}

const RETRIEVE: &str = "/docs/api/files-retrieve.md";
const CONTENT: &str = "/docs/api/files-content.md";

/// The vendored retrieve page with its `file_id` parameter made an integer: a change no other
/// page repeats (a shared component must change on every page that holds it, or the merge fails).
fn retrieve_with_an_integer_id(root: &Path) -> String {
    let text =
        std::fs::read_to_string(root.join("openapi/upstream/files-retrieve.md")).expect("page");
    let edited = text.replacen(
        "          description: The file identifier\n          schema:\n            type: string\n",
        "          description: The file identifier\n          schema:\n            type: integer\n",
        1,
    );
    assert_ne!(edited, text, "the page's file_id is a string");
    edited
}

/// The vendored content page with a reworded description.
fn content_reworded(root: &Path) -> String {
    let text =
        std::fs::read_to_string(root.join("openapi/upstream/files-content.md")).expect("page");
    let edited = text.replace("Extracted file content", "The extracted content");
    assert_ne!(edited, text);
    edited
}

fn args(server: &Server, timeout: Duration, retries: u32) -> FetchArgs {
    FetchArgs {
        base_url: Some(server.base.clone()),
        timeout,
        retries,
        output: OutputArgs {
            format: Format::Text,
            fail_on: Level::Breaking,
        },
    }
}

/// Every file under `openapi/`, to show that nothing changed.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for sub in ["openapi", "openapi/upstream"] {
        for entry in std::fs::read_dir(root.join(sub)).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                files.insert(path.clone(), std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

#[test]
fn writes_the_changed_pages_reports_them_and_diffs_them() {
    let (root, sources, mut routes) = setup();
    let edited = retrieve_with_an_integer_id(root.path());
    routes.insert(RETRIEVE.to_owned(), vec![ok(edited.clone())]);
    let server = Server::start(routes);
    let pages_toml = std::fs::read(root.path().join(PAGES_FILE)).expect("pages.toml");

    let report = run(root.path(), &args(&server, Duration::from_secs(10), 0)).expect("fetch");

    let retrieve = report
        .pages
        .iter()
        .find(|p| p.file == "openapi/upstream/files-retrieve.md")
        .expect("retrieve page");
    assert_eq!(retrieve.status, PageStatus::Changed);
    assert_eq!(retrieve.url, format!("{}{RETRIEVE}", server.base));
    assert!(
        report
            .pages
            .iter()
            .filter(|p| p.file != retrieve.file)
            .all(|p| p.status == PageStatus::Unchanged)
    );
    let written = std::fs::read_to_string(root.path().join("openapi/upstream/files-retrieve.md"))
        .expect("written");
    assert_eq!(written, edited);

    let changes = report.changes.as_ref().expect("diff");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].rule, "request-parameter-type-changed");
    assert_eq!(changes[0].level, Level::Breaking);

    // The index links four API pages and a guide; the ones pages.toml lacks are listed.
    let listed: Vec<&str> = sources.pages.iter().map(|p| p.file.as_str()).collect();
    let api_pages = [
        "files-retrieve.md",
        "files-content.md",
        "files-list.md",
        "files-delete.md",
    ];
    let expected: Vec<&str> = api_pages
        .into_iter()
        .filter(|f| !listed.contains(f))
        .collect();
    let discovered = report.discovered.as_ref().expect("index read");
    let files: Vec<&str> = discovered.iter().map(|p| p.file.as_str()).collect();
    assert_eq!(files, expected);
    let summary = report.summary();
    assert!(
        summary.contains("changed    openapi/upstream/files-retrieve.md"),
        "{summary}"
    );
    for page in discovered {
        assert!(page.url.starts_with("https://platform.kimi.ai/docs/api/"));
        assert!(summary.contains(&page.url), "{summary}");
    }
    let after = std::fs::read(root.path().join(PAGES_FILE)).expect("pages.toml");
    assert_eq!(after, pages_toml, "discovered pages are not added");
}

fn assert_nothing_written(
    root: &Path,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    error: &FetchError,
    expected: &[&str],
) {
    assert_eq!(&snapshot(root), before, "nothing on disk changed");
    let message = error.to_string();
    assert!(message.contains("nothing was written"), "{message}");
    for part in expected {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[test]
fn a_failing_page_writes_nothing_and_is_named() {
    for code in [500, 404] {
        let (root, _, mut routes) = setup();
        routes.insert(CONTENT.to_owned(), vec![ok(content_reworded(root.path()))]);
        routes.insert(RETRIEVE.to_owned(), vec![status(code)]);
        let server = Server::start(routes);
        let before = snapshot(root.path());

        let error = run(root.path(), &args(&server, Duration::from_secs(10), 0))
            .expect_err("a page failed");

        assert_nothing_written(
            root.path(),
            &before,
            &error,
            &[
                "openapi/upstream/files-retrieve.md",
                &format!("HTTP {code}"),
            ],
        );
        assert!(!error.to_string().contains("files-content.md"));
    }
}

#[test]
fn a_page_that_cannot_be_read_writes_nothing() {
    let (root, _, mut routes) = setup();
    routes.insert(CONTENT.to_owned(), vec![ok(content_reworded(root.path()))]);
    routes.insert(
        RETRIEVE.to_owned(),
        vec![ok(retrieve_with_an_integer_id(root.path()))],
    );
    let server = Server::start(routes);
    // The retrieve page's place is taken by something that cannot be read as a page: were it
    // taken for a new page, a failing rename would delete it instead of putting it back.
    let blocked = root.path().join("openapi/upstream/files-retrieve.md");
    std::fs::remove_file(&blocked).expect("remove");
    std::fs::create_dir(&blocked).expect("a directory in its place");
    let before = snapshot(root.path());

    let error = run(root.path(), &args(&server, Duration::from_secs(10), 0))
        .expect_err("the page cannot be read");

    assert_eq!(snapshot(root.path()), before, "nothing on disk changed");
    assert!(blocked.is_dir());
    let message = error.to_string();
    assert!(
        message.contains("openapi/upstream/files-retrieve.md") && message.contains("cannot read"),
        "{message}"
    );
}

/// Served directly or after a redirect, the error names where the page was read.
#[test]
fn a_page_without_an_openapi_block_writes_nothing() {
    const MOVED: &str = "/moved/files-retrieve.md";
    for redirected in [false, true] {
        let (root, _, mut routes) = setup();
        routes.insert(CONTENT.to_owned(), vec![ok(content_reworded(root.path()))]);
        if redirected {
            let moved = Reply {
                status: 302,
                location: Some(MOVED),
                ..ok("")
            };
            routes.insert(RETRIEVE.to_owned(), vec![moved]);
            routes.insert(MOVED.to_owned(), vec![ok(fixture("no-block.md"))]);
        } else {
            routes.insert(RETRIEVE.to_owned(), vec![ok(fixture("no-block.md"))]);
        }
        let server = Server::start(routes);
        let before = snapshot(root.path());

        let error =
            run(root.path(), &args(&server, Duration::from_secs(10), 0)).expect_err("no block");

        let from = if redirected {
            format!(
                "(from {0}{RETRIEVE}, redirected to {0}{MOVED})",
                server.base
            )
        } else {
            format!("(from {}{RETRIEVE})", server.base)
        };
        assert_nothing_written(
            root.path(),
            &before,
            &error,
            &[
                "openapi/upstream/files-retrieve.md",
                "no OpenAPI block",
                &from,
            ],
        );
    }
}

#[test]
fn a_page_over_the_size_limit_writes_nothing_and_is_named() {
    let oversized = vec![b'x'; 16 * 1024 * 1024 + 1];
    for unannounced in [false, true] {
        let (root, _, mut routes) = setup();
        let reply = Reply {
            unannounced,
            ..ok(oversized.clone())
        };
        routes.insert(RETRIEVE.to_owned(), vec![reply]);
        let server = Server::start(routes);
        let before = snapshot(root.path());

        let error =
            run(root.path(), &args(&server, Duration::from_secs(30), 2)).expect_err("too large");

        assert_nothing_written(
            root.path(),
            &before,
            &error,
            &[
                "openapi/upstream/files-retrieve.md",
                RETRIEVE,
                "the page is larger than 16 MiB, the most a fetch reads",
            ],
        );
        assert_eq!(server.hits(RETRIEVE), 1, "a page too large is not retried");
    }
}

#[test]
fn a_timeout_writes_nothing_and_gives_up_in_time() {
    let (root, _, mut routes) = setup();
    routes.insert(CONTENT.to_owned(), vec![ok(content_reworded(root.path()))]);
    let slow = Reply {
        delay: Duration::from_secs(5),
        ..ok(retrieve_with_an_integer_id(root.path()))
    };
    routes.insert(RETRIEVE.to_owned(), vec![slow]);
    let server = Server::start(routes);
    let before = snapshot(root.path());
    let started = Instant::now();

    let error =
        run(root.path(), &args(&server, Duration::from_millis(300), 0)).expect_err("timed out");

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_nothing_written(
        root.path(),
        &before,
        &error,
        &[
            "openapi/upstream/files-retrieve.md",
            "timed out after 300ms",
        ],
    );
}

#[test]
fn a_body_cut_short_writes_nothing() {
    let (root, _, mut routes) = setup();
    let cut = Reply {
        cut_short: true,
        ..ok(retrieve_with_an_integer_id(root.path()))
    };
    routes.insert(RETRIEVE.to_owned(), vec![cut]);
    let server = Server::start(routes);
    let before = snapshot(root.path());

    let error =
        run(root.path(), &args(&server, Duration::from_secs(10), 0)).expect_err("cut short");

    assert_nothing_written(root.path(), &before, &error, &["files-retrieve.md"]);
}

#[test]
fn transient_failures_are_retried() {
    let (root, _, mut routes) = setup();
    let edited = retrieve_with_an_integer_id(root.path());
    routes.insert(RETRIEVE.to_owned(), vec![status(503), ok(edited.clone())]);
    let server = Server::start(routes);

    let report = run(root.path(), &args(&server, Duration::from_secs(10), 1)).expect("retried");

    assert_eq!(server.hits(RETRIEVE), 2);
    let written = std::fs::read_to_string(root.path().join("openapi/upstream/files-retrieve.md"))
        .expect("written");
    assert_eq!(written, edited);
    assert!(report.changes.is_ok());
}

#[test]
fn retry_after_is_waited_for_up_to_a_minute() {
    let (root, _, mut routes) = setup();
    let vendored = std::fs::read(root.path().join("openapi/upstream/files-retrieve.md"))
        .expect("vendored page");
    routes.insert(RETRIEVE.to_owned(), vec![busy("2"), ok(vendored)]);
    let server = Server::start(routes);

    let started = Instant::now();
    run(root.path(), &args(&server, Duration::from_secs(10), 1)).expect("the retry succeeds");

    // 2 s as asked, not the 0.5 s the first pause would otherwise be.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.hits(RETRIEVE), 2);

    // The second wait is too long for a `Duration`: too long, not "no wait asked".
    for (asked, said) in [
        ("3600", "retry after 3600 s"),
        ("99999999999999999999999", "retry longer than can be waited"),
    ] {
        let (root, _, mut routes) = setup();
        routes.insert(RETRIEVE.to_owned(), vec![busy(asked)]);
        let server = Server::start(routes);
        let before = snapshot(root.path());
        let started = Instant::now();

        let error = run(root.path(), &args(&server, Duration::from_secs(10), 2))
            .expect_err("an hour is not waited for");

        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{asked}: {:?}",
            started.elapsed()
        );
        assert_eq!(server.hits(RETRIEVE), 1, "{asked}");
        assert_nothing_written(root.path(), &before, &error, &["HTTP 429", said]);
    }
}

/// A 429 asking to retry after `seconds`.
fn busy(seconds: &'static str) -> Reply {
    Reply {
        retry_after: Some(seconds),
        ..status(429)
    }
}

#[test]
fn a_page_cut_short_before_its_closing_fence_writes_nothing() {
    let (root, _, mut routes) = setup();
    routes.insert(CONTENT.to_owned(), vec![ok(content_reworded(root.path()))]);
    let page = std::fs::read_to_string(root.path().join("openapi/upstream/files-retrieve.md"))
        .expect("page");
    let cut = &page[..page.rfind("\n````").expect("a closing fence")];
    routes.insert(RETRIEVE.to_owned(), vec![ok(cut)]);
    let server = Server::start(routes);
    let before = snapshot(root.path());

    let error = run(root.path(), &args(&server, Duration::from_secs(10), 0)).expect_err("cut");

    assert_nothing_written(
        root.path(),
        &before,
        &error,
        &["openapi/upstream/files-retrieve.md", "never closes"],
    );
}

#[test]
fn a_file_or_url_listed_twice_is_refused_before_any_request() {
    let (root, sources, routes) = setup();
    let server = Server::start(routes);
    let listed = &sources.pages[0];
    let path = root.path().join(PAGES_FILE);
    let original = std::fs::read_to_string(&path).expect("pages.toml");
    for (key, file, url) in [
        (
            "file",
            listed.file.as_str(),
            "https://platform.kimi.ai/docs/api/other.md",
        ),
        ("url", "other.md", listed.url.as_str()),
    ] {
        let entry = format!("\n[[page]]\nfile = \"{file}\"\nurl = \"{url}\"\n");
        std::fs::write(&path, format!("{original}{entry}")).expect("write");
        let before = snapshot(root.path());

        let error =
            run(root.path(), &args(&server, Duration::from_secs(10), 0)).expect_err("listed twice");

        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{PAGES_FILE}: `{key} = ")),
            "{message}"
        );
        assert!(message.contains("listed twice"), "{message}");
        assert_eq!(snapshot(root.path()), before);
    }
    assert_eq!(server.hits(RETRIEVE) + server.hits(CONTENT), 0);
}

#[test]
fn an_unreadable_index_is_a_warning_not_a_failure() {
    let (root, sources, mut routes) = setup();
    routes.remove(&url_path(&sources.index));
    let server = Server::start(routes);

    let report = run(root.path(), &args(&server, Duration::from_secs(10), 0)).expect("fetch");

    assert!(report.discovered.is_err());
    assert!(
        report.summary().contains("warning: cannot read the index"),
        "{}",
        report.summary()
    );
    assert_eq!(report.changes.as_ref().map(Vec::len).ok(), Some(0));
}

#[test]
fn the_command_reports_pages_and_exits_like_diff() {
    let (root, _, mut routes) = setup();
    routes.insert(
        RETRIEVE.to_owned(),
        vec![ok(retrieve_with_an_integer_id(root.path()))],
    );
    let server = Server::start(routes);

    let out = xtask(
        root.path(),
        &["fetch", "--base-url", &server.base, "--timeout", "10s"],
    );

    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed    openapi/upstream/files-retrieve.md"),
        "{stderr}"
    );
    assert!(stderr.contains("fetched "), "{stderr}");
    assert!(
        stdout.contains("request-parameter-type-changed"),
        "{stdout}"
    );

    let out = xtask(root.path(), &["fetch", "--base-url", "ftp://example"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: --base-url"));
}

#[test]
fn bad_durations_and_counts_name_the_option_and_never_panic() {
    let root = copy_of_openapi();
    for (option, value) in [
        ("--timeout", "100000000000000000000"),
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--retries", "-1"),
    ] {
        let out = xtask(root.path(), &["fetch", option, value]);

        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("'{value}' for '{option}")),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
