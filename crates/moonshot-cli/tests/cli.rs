//! The `moonshot` command: its output, each error path and the exit codes.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use moonshot_mock::{DEMO_PDF_ID, Faults, MockServer};

const KEY: &str = "sk-cli-test-key-that-must-not-show";

async fn moonshot(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
        .args(args)
        .env_remove("MOONSHOT_API_KEY")
        .env_remove("MOONSHOT_BASE_URL")
        .output()
        .await
        .expect("runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn server(faults: Faults) -> MockServer {
    MockServer::builder()
        .api_key(KEY)
        .faults(faults)
        .start()
        .await
        .expect("server starts")
}

/// Runs the command against `server` with the right key, no retries and a short timeout.
async fn against(server: &MockServer, args: &[&str]) -> Output {
    let url = server.base_url();
    let mut all = vec![
        "--base-url",
        url.as_str(),
        "--api-key",
        KEY,
        "--max-retries",
        "0",
        "--timeout",
        "2",
    ];
    all.extend_from_slice(args);
    moonshot(&all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_mode_prints_a_demo_files_metadata_and_content_offline() {
    let out = moonshot(&["--mock", "files", "show", DEMO_PDF_ID]).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let (json, content) = text.split_once("\n}\n").expect("metadata, then content");
    let file: serde_json::Value =
        serde_json::from_str(&format!("{json}\n}}")).expect("metadata is JSON");
    assert_eq!(file["id"], DEMO_PDF_ID);
    assert_eq!(file["purpose"], "file-extract");
    assert!(content.contains("Moonshot AI Platform"), "{content}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_file_object_as_json() {
    let server = server(Faults::default()).await;

    let out = against(&server, &["files", "get", DEMO_PDF_ID]).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(file["id"], DEMO_PDF_ID);
    assert_eq!(file["status"], "ok");
    assert!(file["bytes"].as_i64().expect("bytes") > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_prints_the_body_exactly_and_parsed_prints_its_fields() {
    let server = server(Faults::default()).await;

    let raw = against(&server, &["files", "content", DEMO_PDF_ID]).await;
    let parsed = against(&server, &["files", "content", DEMO_PDF_ID, "--parsed"]).await;

    assert_eq!(raw.status.code(), Some(0), "{}", stderr(&raw));
    let body: serde_json::Value =
        serde_json::from_str(&stdout(&raw)).expect("the body is a JSON object");
    let fields: serde_json::Value = serde_json::from_str(&stdout(&parsed)).expect("JSON");
    assert_eq!(fields["content"], body["content"]);
    assert_eq!(fields["filename"], "moonshot-intro.pdf");
    assert_eq!(fields["structured"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_writes_the_whole_content_to_a_file_with_no_progress_bar_when_piped() {
    let server = server(Faults::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("intro.txt");
    let expected = against(&server, &["files", "content", DEMO_PDF_ID])
        .await
        .stdout;

    let out = download(&server, &path).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).expect("written"), expected);
    assert_eq!(
        stderr(&out),
        format!("wrote {} bytes to {}\n", expected.len(), path.display())
    );
    assert_eq!(entries(dir.path()), ["intro.txt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_leaves_no_file_behind() {
    let server = server(Faults::default().cut_body(true)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("intro.txt");

    let out = download(&server, &path).await;

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: connection failed"),
        "{}",
        stderr(&out)
    );
    assert!(
        entries(dir.path()).is_empty(),
        "left behind: {:?}",
        entries(dir.path())
    );
}

/// `moonshot files content DEMO_PDF_ID -o path` against `server`.
async fn download(server: &MockServer, path: &Path) -> Output {
    against(
        server,
        &[
            "files",
            "content",
            DEMO_PDF_ID,
            "-o",
            path.to_str().expect("utf-8"),
        ],
    )
    .await
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// API failures: one line naming the kind, status, Moonshot's message and the request id; exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_print_one_actionable_line_and_exit_1() {
    let plain = server(Faults::default()).await;
    let not_found = against(&plain, &["files", "get", "no-such-file"]).await;
    let url = plain.base_url();
    let wrong_key = moonshot(&[
        "--base-url",
        &url,
        "--api-key",
        "sk-wrong",
        "files",
        "get",
        DEMO_PDF_ID,
    ])
    .await;
    let quota = against(
        &server(Faults::default().quota_exceeded(true)).await,
        &["files", "get", DEMO_PDF_ID],
    )
    .await;
    let limited = against(
        &server(Faults::default().rate_limit_every(1)).await,
        &["files", "get", DEMO_PDF_ID],
    )
    .await;
    let failing = against(
        &server(Faults::default().fail_rate(1.0)).await,
        &["files", "get", DEMO_PDF_ID],
    )
    .await;
    let slow = server(Faults::default().latency(Duration::from_secs(5))).await;
    let timeout = moonshot(&[
        "--base-url",
        &slow.base_url(),
        "--api-key",
        KEY,
        "--max-retries",
        "0",
        "--timeout",
        "0.3",
        "files",
        "get",
        DEMO_PDF_ID,
    ])
    .await;

    for (out, start) in [
        (
            &not_found,
            "error: not found: 404 resource_not_found_error: ",
        ),
        (
            &wrong_key,
            "error: authentication failed: 401 invalid_authentication_error: ",
        ),
        (
            &quota,
            "error: quota exceeded: 429 exceeded_current_quota_error: ",
        ),
        (
            &limited,
            "error: rate limited: 429 rate_limit_reached_error: ",
        ),
        (&failing, "error: server error: 500 server_error: "),
        (&timeout, "error: timed out after 1 attempt(s)"),
    ] {
        let err = stderr(out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.starts_with(start), "expected `{start}`, got `{err}`");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(stdout(out).is_empty());
        if !start.contains("timed out") {
            assert!(err.contains("[request id "), "{err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let no_key = moonshot(&["files", "get", DEMO_PDF_ID]).await;
    let bad_id = moonshot(&["--mock", "files", "get", ".."]).await;
    let bad_url = moonshot(&[
        "--api-key",
        KEY,
        "--base-url",
        "nowhere",
        "files",
        "get",
        "x",
    ])
    .await;
    let bad_timeout = moonshot(&["--mock", "--timeout", "soon", "files", "get", "x"]).await;
    let unknown = moonshot(&["files", "delete", "x"]).await;

    for (out, expected) in [
        (&no_key, "set MOONSHOT_API_KEY"),
        (&bad_id, "invalid file id"),
        (&bad_url, "`nowhere`"),
        (&bad_timeout, "`soon` is not a number of seconds"),
        (&unknown, "unrecognized subcommand 'delete'"),
    ] {
        assert_eq!(out.status.code(), Some(2), "{expected}: {}", stderr(out));
        assert!(
            stderr(out).contains(expected),
            "{expected}: {}",
            stderr(out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_requests_but_never_the_key() {
    let server = server(Faults::default()).await;

    let out = against(&server, &["-v", "files", "get", DEMO_PDF_ID]).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("moonshot.request"), "{log}");
    assert!(log.contains("status=200"), "{log}");
    assert!(log.contains("request_id="), "{log}");
    assert!(!log.contains(KEY), "{log}");
    let help = moonshot(&["--help"]).await;
    assert!(stdout(&help).contains("--mock"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_ends_the_command_quietly() {
    // `moonshot ... | head`: the reader is gone before the command writes (it first starts the
    // local server and makes its requests), so every write meets a closed pipe.
    for command in ["get", "show", "content"] {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
            .args(["--mock", "files", command, DEMO_PDF_ID])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        drop(child.stdout.take());

        let out = child.wait_with_output().await.expect("exits");

        assert!(out.status.success(), "{command}: {out:?}");
        assert_eq!(stderr(&out), "", "{command}");
    }
}
