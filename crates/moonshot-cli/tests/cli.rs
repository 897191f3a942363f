//! The `moonshot` command: its output, each error path and the exit codes.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use moonshot_mock::{DEMO_PDF_ID, Faults, MockServer};

const KEY: &str = "sk-cli-test-key-that-must-not-show";

async fn moonshot(args: &[&str]) -> Output {
    moonshot_with_env(args, &[]).await
}

/// The command with only the given `MOONSHOT_*` variables set; `--mock` keeps its files in a
/// directory of this call's own unless `MOONSHOT_MOCK_STATE` is given.
async fn moonshot_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let state = tempfile::tempdir().expect("tempdir");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
        .args(args)
        .env_remove("MOONSHOT_API_KEY")
        .env_remove("MOONSHOT_BASE_URL")
        .env("MOONSHOT_MOCK_STATE", state.path().join("state"))
        .envs(env.iter().copied())
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
    against_url(&server.base_url(), args).await
}

/// As [`against`], for any server at `url`.
async fn against_url(url: &str, args: &[&str]) -> Output {
    let mut all = vec![
        "--base-url",
        url,
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

/// `-o` writes through to a FIFO (as to a device) instead of replacing it, and follows a symbolic
/// link to the file it names.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_writes_through_a_fifo_and_follows_a_symlink() {
    let server = server(Faults::default()).await;
    let expected = against(&server, &["files", "content", DEMO_PDF_ID])
        .await
        .stdout;
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("the FIFO is readable"))
    };

    let out = download(&server, &fifo).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Checked first: had the FIFO been replaced, its reader would wait for a writer forever.
    let kind = std::fs::symlink_metadata(&fifo)
        .expect("still there")
        .file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "the FIFO was replaced"
    );
    assert_eq!(reader.join().expect("reader"), expected);

    let target = dir.path().join("target.txt");
    std::fs::write(&target, "old").expect("write");
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink("target.txt", &link).expect("symlink");

    let out = download(&server, &link).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).expect("target"), expected);
    assert_eq!(entries(dir.path()), ["fifo", "link.txt", "target.txt"]);
}

/// `-o` over an existing file keeps its mode, owner and hard links; a new file gets the mode the
/// umask gives.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_keeps_an_existing_files_mode_owner_and_links() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    let server = server(Faults::default()).await;
    let expected = against(&server, &["files", "content", DEMO_PDF_ID])
        .await
        .stdout;
    let dir = tempfile::tempdir().expect("tempdir");
    let single = dir.path().join("single.txt");
    let linked = dir.path().join("linked.txt");
    let other_link = dir.path().join("other-link.txt");
    for path in [&single, &linked] {
        std::fs::write(path, "old").expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        // Given away when run as root, as a shared file would be; kept otherwise.
        let _ = std::os::unix::fs::chown(path, Some(65534), Some(65534));
    }
    std::fs::hard_link(&linked, &other_link).expect("link");
    let before = |path: &Path| std::fs::metadata(path).expect("metadata");
    let (single_before, linked_before) = (before(&single), before(&linked));

    for path in [&single, &linked] {
        let out = download(&server, path).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(std::fs::read(path).expect("read"), expected);
    }

    let single_after = before(&single);
    assert_eq!(single_after.mode(), single_before.mode());
    assert_eq!(
        (single_after.uid(), single_after.gid()),
        (single_before.uid(), single_before.gid())
    );
    let linked_after = before(&linked);
    assert_eq!(
        linked_after.ino(),
        linked_before.ino(),
        "the hard link was cut"
    );
    assert_eq!(linked_after.nlink(), 2);
    assert_eq!(linked_after.mode(), linked_before.mode());
    assert_eq!(
        (linked_after.uid(), linked_after.gid()),
        (linked_before.uid(), linked_before.gid())
    );
    assert_eq!(std::fs::read(&other_link).expect("read"), expected);

    let created = dir.path().join("created.txt");
    let command = format!(
        "umask 027 && exec \"$0\" --base-url {} --api-key {KEY} files content {DEMO_PDF_ID} -o {}",
        server.base_url(),
        created.display()
    );
    let out = tokio::process::Command::new("sh")
        .args(["-c", &command, env!("CARGO_BIN_EXE_moonshot")])
        .env_remove("MOONSHOT_BASE_URL")
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(before(&created).mode() & 0o777, 0o640);
}

/// Ctrl-C or SIGTERM during a download removes the partial file and exits as the shell expects.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_a_download_leaves_no_file_behind() {
    let slow = server(Faults::default().latency(Duration::from_secs(30))).await;
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("intro.txt");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
            .args([
                "--base-url",
                &slow.base_url(),
                "--api-key",
                KEY,
                "--timeout",
                "60",
            ])
            .args([
                "files",
                "content",
                DEMO_PDF_ID,
                "-o",
                path.to_str().expect("utf-8"),
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        // The temporary file exists from before the request until the command ends.
        for _ in 0..200 {
            if !entries(dir.path()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(entries(dir.path()).len(), 1, "the download started");
        send(signal, &child);

        let out = child.wait_with_output().await.expect("exits");

        assert_eq!(out.status.code(), Some(code), "{signal}: {}", stderr(&out));
        assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
        assert!(
            entries(dir.path()).is_empty(),
            "left behind: {:?}",
            entries(dir.path())
        );
    }
}

/// Sends `signal` (`-INT`, `-TERM`) to the running `child`.
#[cfg(unix)]
fn send(signal: &str, child: &tokio::process::Child) {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
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
    let unknown = moonshot(&["files", "rename", "x"]).await;
    let mut timeouts = Vec::new();
    for value in ["0", "1e-9", "-1", "100000000000000000000"] {
        timeouts.push(moonshot(&["--mock", "--timeout", value, "files", "get", "x"]).await);
    }
    let [zero, tiny, negative, huge] = &timeouts[..] else {
        unreachable!("four runs")
    };
    let negative_retries = moonshot(&["--mock", "--max-retries", "-1", "files", "get", "x"]).await;
    let mock_and_url = moonshot(&["--mock", "--base-url", "ftp://bad", "files", "get", "x"]).await;
    let mock_and_key = moonshot(&["--mock", "--api-key", KEY, "files", "get", "x"]).await;

    for (out, expected) in [
        (
            &no_key,
            "no API key: pass --api-key or set MOONSHOT_API_KEY",
        ),
        (&bad_id, "invalid file id"),
        (&bad_url, "`nowhere`"),
        (&bad_timeout, "`soon` is not a duration"),
        (&unknown, "unrecognized subcommand 'rename'"),
        (zero, "'--timeout <DURATION>': `0` is no time at all"),
        (tiny, "'--timeout <DURATION>': `1e-9` is not a duration"),
        (
            negative,
            "'--timeout <DURATION>': `-1` is negative: a duration must be positive",
        ),
        (
            huge,
            "'--timeout <DURATION>': `100000000000000000000` is too large",
        ),
        (
            &negative_retries,
            "invalid value '-1' for '--max-retries <N>'",
        ),
        (&mock_and_url, "--base-url cannot be used with it"),
        (&mock_and_key, "--api-key cannot be used with it"),
    ] {
        assert_eq!(out.status.code(), Some(2), "{expected}: {}", stderr(out));
        assert!(
            stderr(out).contains(expected),
            "{expected}: {}",
            stderr(out)
        );
        assert!(!stderr(out).contains("ClientBuilder"), "{}", stderr(out));
    }
}

/// `--mock` ignores a key or URL from the environment: only the command line conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_mode_ignores_the_environment() {
    let env = [
        ("MOONSHOT_API_KEY", KEY),
        ("MOONSHOT_BASE_URL", "ftp://bad"),
    ];

    let out = moonshot_with_env(&["--mock", "files", "get", DEMO_PDF_ID], &env).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `MOONSHOT_BASE_URL=` (set, but blank) means the default, as for `Client::from_env`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blank_base_url_in_the_environment_is_unset() {
    // The id is refused before any request, so the default endpoint is never reached.
    let args = ["--api-key", KEY, "files", "get", ".."];
    for blank in ["", "  "] {
        let out = moonshot_with_env(&args, &[("MOONSHOT_BASE_URL", blank)]).await;

        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("invalid file id"),
            "{blank:?}: {}",
            stderr(&out)
        );
    }
}

/// A user name or password in the base URL is refused, and shown nowhere: not in the error, not
/// in `--help` (which shows other variables' values).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_base_url_are_refused_and_never_printed() {
    let url = "http://user:hunter2@127.0.0.1:1";
    let given = moonshot(&["--api-key", KEY, "--base-url", url, "files", "get", "x"]).await;
    let from_env = moonshot_with_env(
        &["--api-key", KEY, "files", "get", "x"],
        &[("MOONSHOT_BASE_URL", url)],
    )
    .await;
    let help = moonshot_with_env(&["--help"], &[("MOONSHOT_BASE_URL", url)]).await;

    for out in [&given, &from_env] {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
        assert!(
            stderr(out).contains("must not hold a user name or password"),
            "{}",
            stderr(out)
        );
    }
    for out in [&given, &from_env, &help] {
        let all = format!("{}{}", stdout(out), stderr(out));
        assert!(!all.contains("hunter2"), "{all}");
    }
}

/// A failure says what happened, not only which step failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_errors_say_what_happened() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let refused = moonshot(&[
        "--api-key",
        KEY,
        "--max-retries",
        "0",
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
        "files",
        "get",
        "x",
    ])
    .await;
    let plain = server(Faults::default()).await;
    let https = plain.base_url().replace("http://", "https://");
    let tls = moonshot(&[
        "--api-key",
        KEY,
        "--max-retries",
        "0",
        "--base-url",
        &https,
        "files",
        "get",
        "x",
    ])
    .await;
    let cut = download(
        &server(Faults::default().cut_body(true)).await,
        &tempfile::tempdir().expect("tempdir").path().join("x"),
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let directory = download(&plain, dir.path()).await;

    for (out, expected) in [
        (&refused, format!("connection refused by 127.0.0.1:{port}")),
        (&tls, "TLS handshake with 127.0.0.1".to_owned()),
        (&cut, "the response broke off before its end".to_owned()),
        (
            &directory,
            format!("{} is a directory", dir.path().display()),
        ),
    ] {
        assert_eq!(out.status.code(), Some(1), "{expected}: {}", stderr(out));
        assert!(
            stderr(out).contains(&expected),
            "{expected}: {}",
            stderr(out)
        );
    }
    assert!(entries(dir.path()).is_empty());
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
        let state = tempfile::tempdir().expect("tempdir");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
            .args(["--mock", "files", command, DEMO_PDF_ID])
            .env("MOONSHOT_MOCK_STATE", state.path())
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

/// Runs the command in `--mock` mode with the files kept in `state`.
async fn mock_with_state(state: &Path, args: &[&str]) -> Output {
    let state = state.to_str().expect("a UTF-8 path");
    let mut all = vec!["--mock"];
    all.extend_from_slice(args);
    moonshot_with_env(&all, &[("MOONSHOT_MOCK_STATE", state)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_files_are_uploaded_listed_read_and_deleted_across_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let notes = dir.path().join("notes.md");
    std::fs::write(&notes, "# Notes\n\nKimi reads long documents.\n").expect("write");

    let out = mock_with_state(
        &state,
        &["files", "upload", notes.to_str().expect("path"), "--wait"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON when piped");
    assert_eq!(file["status"], "ok");
    assert_eq!(file["filename"], "notes.md");
    let id = file["id"].as_str().expect("id").to_owned();

    let out = mock_with_state(&state, &["files", "list"]).await;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&DEMO_PDF_ID),
        "{ids:?}"
    );

    let out = mock_with_state(&state, &["files", "content", &id, "--parsed"]).await;
    let content: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        content["content"],
        "# Notes\n\nKimi reads long documents.\n"
    );

    let out = mock_with_state(&state, &["files", "delete", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = mock_with_state(&state, &["files", "get", &id]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_balance_and_estimates_print_json_when_piped() {
    let out = moonshot(&["--mock", "models"]).await;
    let models: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        models
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == "kimi-k2.6"))
    );

    let out = moonshot(&["--mock", "balance"]).await;
    let balance: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        balance["available_balance"]
            .as_f64()
            .is_some_and(|b| b > 0.0)
    );

    let out = moonshot(&["--mock", "estimate", "--model", "kimi-k2.6", "Hello there"]).await;
    let estimate: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(estimate["model"], "kimi-k2.6");
    assert!(estimate["total_tokens"].as_u64().is_some_and(|t| t > 0));
}

/// `moonshot balance` against the China platform's name, reached through a local proxy: the
/// balance is said in CNY; against any other base URL, in the account's currency (null).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_balance_names_the_currency_of_the_platform() {
    let proxy = httpmock::MockServer::start_async().await;
    let answer = proxy
        .mock_async(|when, then| {
            when.path("/v1/users/me/balance");
            then.status(200).json_body(
                serde_json::json!({"code": 0, "scode": "0x0", "status": true, "data": {
                    "available_balance": 1.5, "voucher_balance": 0.5, "cash_balance": 1.0,
                }}),
            );
        })
        .await;
    let proxy_url = proxy.base_url();
    let through_proxy = |base_url: &'static str| {
        let proxy_url = proxy_url.clone();
        async move {
            let state = tempfile::tempdir().expect("tempdir");
            tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
                .args(["--base-url", base_url, "--api-key", KEY, "balance"])
                .env_remove("MOONSHOT_API_KEY")
                .env_remove("MOONSHOT_BASE_URL")
                .env_remove("NO_PROXY")
                .env_remove("no_proxy")
                .env("MOONSHOT_MOCK_STATE", state.path().join("state"))
                .env("HTTP_PROXY", &proxy_url)
                .env("http_proxy", &proxy_url)
                .output()
                .await
                .expect("runs")
        }
    };

    let out = through_proxy("http://api.moonshot.cn/v1").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let balance: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(balance["currency"], "CNY");
    assert_eq!(balance["available_balance"], 1.5);
    let out = through_proxy("http://api.moonshot.ai").await;
    let balance: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(balance["currency"], "USD");
    answer.assert_calls_async(2).await;

    let out = against_url(&proxy.base_url(), &["balance"]).await;
    let balance: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(balance["currency"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_and_waits_are_one_line_usage_errors_before_any_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").expect("write");
    let missing = dir.path().join("missing.pdf");
    let folder = dir.path().to_str().expect("path").to_owned();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["files", "upload", missing.to_str().expect("path")],
            "does not exist",
        ),
        (vec!["files", "upload", &folder], "is a directory"),
        (
            vec!["files", "upload", empty.to_str().expect("path")],
            "is empty",
        ),
        (
            vec!["files", "upload", "README.md", "--purpose", "file extract"],
            "not a purpose",
        ),
        (vec!["files", "delete", ".."], "another path"),
        (
            vec!["files", "wait", DEMO_PDF_ID, "--deadline", "0"],
            "--deadline",
        ),
    ];
    for (args, why) in cases {
        let mut all = vec!["--mock"];
        all.extend(args.iter().copied());
        let out = moonshot(&all).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        // One line says it all (clap adds a pointer to --help below its own).
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(why),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_answers_from_an_uploaded_file_and_deletes_it_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let notes = dir.path().join("lighthouse.txt");
    std::fs::write(
        &notes,
        "The lighthouse was built in 1874. Keepers climbed 217 steps every evening.",
    )
    .expect("write");

    let out = mock_with_state(
        &state,
        &[
            "chat",
            "--file",
            notes.to_str().expect("path"),
            "How many steps did the keepers climb?",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON when piped");
    assert!(
        answer["content"]
            .as_str()
            .is_some_and(|c| c.contains("217 steps")),
        "{answer}"
    );
    assert!(answer["reasoning_content"].is_string(), "kimi-k2.6 thinks");
    assert!(
        answer["usage"]["total_tokens"]
            .as_u64()
            .is_some_and(|t| t > 0)
    );
    let uploaded = answer["files"][0]["id"].as_str().expect("the upload's id");

    let out = mock_with_state(&state, &["files", "get", uploaded]).await;
    assert_eq!(out.status.code(), Some(1), "the upload was deleted");

    let out = mock_with_state(
        &state,
        &["chat", "--no-thinking", "--model", "kimi-k2.5", "Hello?"],
    )
    .await;
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(answer["reasoning_content"].is_null(), "{answer}");
    assert_eq!(answer["model"], "kimi-k2.5");
}

/// A JSON Lines batch input of `n` questions, each answered from its own system message.
fn batch_lines(n: usize, model: &str) -> String {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "custom_id": format!("item-{i}"),
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": model, "messages": [
                    {"role": "system", "content": format!("Item {i} costs {} dollars.", i * 3)},
                    {"role": "user", "content": format!("How much does item {i} cost?")},
                ]},
            })
            .to_string()
                + "\n"
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_batch_is_created_waited_for_and_its_results_read_across_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let input = dir.path().join("lines.jsonl");
    std::fs::write(&input, batch_lines(20, "kimi-k2.6")).expect("write");
    let input = input.to_str().expect("utf-8 path");

    let out = mock_with_state(&state, &["batches", "create", input, "--wait"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let batch: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the batch as JSON");
    assert_eq!(batch["status"], "completed");
    assert_eq!(batch["request_counts"]["completed"], 20);
    assert!(
        stderr(&out).contains("in_progress"),
        "progress on stderr: {}",
        stderr(&out)
    );
    let id = batch["id"].as_str().expect("id");

    // A later command finds the batch and its output file.
    let out = mock_with_state(&state, &["batches", "results", id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON result per line"))
        .collect();
    assert_eq!(results.len(), 20);
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["custom_id"], format!("item-{i}"));
        assert_eq!(result["outcome"], "answered");
        let expected = format!("Item {i} costs {} dollars.", i * 3);
        assert_eq!(result["content"], expected.as_str());
    }
    assert!(
        stderr(&out).contains("20 answered, 0 failed"),
        "{}",
        stderr(&out)
    );

    let saved = dir.path().join("results.jsonl");
    let out = mock_with_state(
        &state,
        &[
            "batches",
            "results",
            id,
            "-o",
            saved.to_str().expect("utf-8"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved = std::fs::read_to_string(&saved).expect("written");
    assert_eq!(saved.lines().count(), 20);
    assert!(
        saved.lines().all(|l| l.contains("\"status_code\":200")),
        "{saved}"
    );

    let out = mock_with_state(&state, &["batches", "list"]).await;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(listed[0]["id"], id);
    let out = mock_with_state(&state, &["batches", "cancel", id]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an ended batch cannot be cancelled"
    );
    assert!(stderr(&out).contains("completed"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batch_inputs_are_usage_errors_naming_the_line_and_nothing_is_uploaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let good = batch_lines(2, "kimi-k2.6");
    let first = good.lines().next().expect("a line").to_owned();
    let cases = [
        ("dup.jsonl", format!("{good}{first}\n"), "line 3"),
        (
            "models.jsonl",
            format!(
                "{good}{}",
                batch_lines(3, "moonshot-v1-8k")
                    .lines()
                    .nth(2)
                    .expect("line")
            ),
            "one model",
        ),
        (
            "notjson.jsonl",
            format!("{first}\n{{oops\n"),
            "line 2: it is not a batch request",
        ),
        ("empty.jsonl", String::new(), "it is empty"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let out = mock_with_state(
            &state,
            &["batches", "create", path.to_str().expect("utf-8")],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(expected) && err.contains(name),
            "{name}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
    }
    let path = dir.path().join("ok.jsonl");
    std::fs::write(&path, &good).expect("write");
    let out = mock_with_state(
        &state,
        &[
            "batches",
            "create",
            path.to_str().expect("utf-8"),
            "--window",
            "8d",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("12h to 7d"), "{}", stderr(&out));

    let out = mock_with_state(&state, &["files", "list"]).await;
    let files: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        files.iter().all(|f| f["purpose"] != "batch"),
        "nothing was uploaded: {files:?}"
    );
}

/// The command in `--mock` mode with its files in `state`, killed if it has not ended within a
/// minute (a command that waits on a FIFO would never end).
async fn mock_bounded(state: &Path, args: &[&str]) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
        .arg("--mock")
        .args(args)
        .env_remove("MOONSHOT_API_KEY")
        .env_remove("MOONSHOT_BASE_URL")
        .env("MOONSHOT_MOCK_STATE", state)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("{args:?} still runs after a minute"))
        .expect("runs")
}

/// The ids of the files in the `--mock` state at `state`.
async fn mock_file_ids(state: &Path) -> Vec<String> {
    let out = mock_with_state(state, &["files", "list"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut ids: Vec<String> = files
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

/// A failure after the first `--file` was uploaded leaves none of them on the account: every
/// local file is checked before any upload, and what was uploaded is deleted on the way out.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_fails_leaves_no_uploaded_file_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let good = dir.path().join("good.txt");
    std::fs::write(&good, "The lighthouse has 217 steps.").expect("write");
    let binary = dir.path().join("binary.dat");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255, 0, 1, 2]).expect("write");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let missing = dir.path().join("missing.txt");
    let before = mock_file_ids(&state).await;
    let path = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let (good, binary, fifo, missing) = (path(&good), path(&binary), path(&fifo), path(&missing));

    for (extra, code, why) in [
        (["--file", missing.as_str()], 2, "does not exist"),
        (["--file", fifo.as_str()], 2, "is a FIFO"),
        (["--file", binary.as_str()], 1, "failed"),
        (["--file-id", "file-unknown"], 1, "not found"),
    ] {
        let mut args = vec!["chat", "--file", good.as_str()];
        args.extend(extra);
        args.push("How many steps?");

        let out = mock_bounded(&state, &args).await;

        assert_eq!(out.status.code(), Some(code), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{extra:?}: {}", stderr(&out));
        assert_eq!(mock_file_ids(&state).await, before, "{extra:?} left a file");
    }
}

/// Ctrl-C or SIGTERM while `chat --file` waits deletes the file it uploaded, then exits as the
/// shell expects.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_a_chat_deletes_the_files_it_uploaded() {
    // Every answer waits, so the command is still at work once its upload shows in the list.
    let slow = server(Faults::default().latency(Duration::from_millis(700))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("signal-notes.txt");
    std::fs::write(&notes, "The lighthouse has 217 steps.").expect("write");
    let listed = || async {
        let out = against(&slow, &["files", "list"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out).contains("signal-notes.txt")
    };
    for (signal, code) in [("-TERM", 143), ("-INT", 130)] {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
            .args(["--base-url", &slow.base_url(), "--api-key", KEY])
            .args(["--timeout", "30", "chat", "--file"])
            .arg(&notes)
            .arg("How many steps?")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("runs");
        let mut uploaded = false;
        for _ in 0..100 {
            if listed().await {
                uploaded = true;
                break;
            }
        }
        assert!(uploaded, "the upload never showed");
        send(signal, &child);

        let out = child.wait_with_output().await.expect("exits");

        assert_eq!(out.status.code(), Some(code), "{signal}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("interrupted by SIG"),
            "{}",
            stderr(&out)
        );
        assert!(!listed().await, "{signal} left the upload on the account");
    }
}

/// A FIFO or a device given as input is refused, naming it, before anything opens it: a FIFO
/// would block the command for ever, `/dev/zero` would be read until memory runs out.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_files_given_as_input_are_refused_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let fifo = dir.path().join("input.jsonl");
    mkfifo(&fifo);
    let fifo = fifo.to_str().expect("utf-8");
    let before = mock_file_ids(&state).await;

    for (args, what) in [
        (vec!["files", "upload", fifo], "a FIFO (named pipe)"),
        (vec!["batches", "create", fifo], "a FIFO (named pipe)"),
        (vec!["chat", "--file", fifo, "Hi?"], "a FIFO (named pipe)"),
        (vec!["batches", "create", "/dev/zero"], "a character device"),
        (vec!["files", "upload", "/dev/zero"], "a character device"),
    ] {
        let out = mock_bounded(&state, &args).await;

        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let path = args.iter().find(|a| a.starts_with('/')).expect("a path");
        assert!(
            err.starts_with(&format!("error: `{path}` is {what}, not a regular file")),
            "{args:?}: {err}"
        );
    }
    assert_eq!(mock_file_ids(&state).await, before);
}

/// Metadata over a batch's limits is refused before the input is uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_metadata_over_its_limits_uploads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let input = dir.path().join("lines.jsonl");
    std::fs::write(&input, batch_lines(2, "kimi-k2.6")).expect("write");
    let input = input.to_str().expect("utf-8");
    let before = mock_file_ids(&state).await;
    let long_key = format!("{}=v", "k".repeat(65));
    let pairs: Vec<String> = (0..17).map(|i| format!("key{i}=v")).collect();
    let mut many = vec!["batches", "create", input];
    for pair in &pairs {
        many.extend(["--metadata", pair.as_str()]);
    }

    for (args, why) in [
        (
            vec!["batches", "create", input, "--metadata", long_key.as_str()],
            "keys are at most 64 characters",
        ),
        (many, "17 keys given, but a batch carries at most 16 pairs"),
    ] {
        let out = mock_with_state(&state, &args).await;

        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
        assert_eq!(mock_file_ids(&state).await, before, "an input was uploaded");
    }
}

/// A negative count, window or deadline is named as negative, not as an unknown argument; a
/// duration below a nanosecond as such, not as too large.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_and_tiny_values_say_what_is_wrong() {
    for (args, expected) in [
        (
            vec!["batches", "list", "--limit", "-1"],
            "`-1` is not a count: the limit must be a positive whole number",
        ),
        (
            vec!["batches", "create", "x.jsonl", "--window", "-1"],
            "`-1` is negative: a window must be positive",
        ),
        (
            vec!["batches", "wait", "batch-x", "--deadline", "-1"],
            "`-1` is negative: a duration must be positive",
        ),
        (
            vec!["files", "wait", DEMO_PDF_ID, "--deadline", "-1"],
            "`-1` is negative: a duration must be positive",
        ),
        (
            vec!["--timeout", "0.0000000001", "models"],
            "`0.0000000001` is below a nanosecond",
        ),
    ] {
        let mut all = vec!["--mock"];
        all.extend(args.iter().copied());
        let out = moonshot(&all).await;

        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A batch input saved with a UTF-8 byte-order mark is read as without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_input_may_start_with_a_byte_order_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let input = dir.path().join("bom.jsonl");
    std::fs::write(&input, format!("\u{feff}{}", batch_lines(2, "kimi-k2.6"))).expect("write");

    let out = mock_with_state(
        &state,
        &["batches", "create", input.to_str().expect("utf-8")],
    )
    .await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(2 requests to kimi-k2.6)"),
        "{}",
        stderr(&out)
    );
}

/// `-o /dev/stdout` writes through to standard output when it is a pipe; a path ending in `/`
/// and a missing directory are named as such.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_standard_output_and_to_missing_directories() {
    let server = server(Faults::default()).await;
    let expected = against(&server, &["files", "content", DEMO_PDF_ID])
        .await
        .stdout;
    for path in ["/dev/stdout", "/proc/self/fd/1"] {
        let out = download(&server, Path::new(path)).await;

        assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
        assert_eq!(out.stdout, expected, "{path}");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let new_dir = format!("{}/", dir.path().join("newdir").display());
    let in_missing = dir.path().join("missing").join("x.txt");
    for (path, expected) in [
        (
            Path::new(&new_dir),
            format!("{new_dir} ends in `/`, so it names a directory, and there is none"),
        ),
        (
            in_missing.as_path(),
            format!(
                "the directory {} does not exist",
                dir.path().join("missing").display()
            ),
        ),
    ] {
        let out = download(&server, path).await;

        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    }
    assert!(entries(dir.path()).is_empty());
}

/// A server's text reaches the terminal with its control characters escaped: an error stays one
/// line and cannot retitle the window or clear the screen; JSON escapes even the C1 controls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_control_characters_are_escaped() {
    let hostile = httpmock::MockServer::start_async().await;
    hostile
        .mock_async(|when, then| {
            when.path("/v1/files/file-evil");
            then.status(404).json_body(serde_json::json!({"error": {
                "message": "gone\u{1b}]0;pwned\u{7}\u{1b}[2J\nerror: forged second line",
                "type": "resource_not_found_error",
            }}));
        })
        .await;
    hostile
        .mock_async(|when, then| {
            when.path("/v1/files/file-c1");
            then.status(200).json_body(serde_json::json!({
                "id": "file-c1", "object": "file", "bytes": 3, "created_at": 1700815879,
                "filename": "a\u{9b}2J\u{7f}.txt", "purpose": "file-extract", "status": "ok",
                "status_details": "",
            }));
        })
        .await;
    let url = hostile.base_url();
    let run = |id: &'static str| {
        let url = url.clone();
        async move {
            moonshot(&[
                "--base-url",
                &url,
                "--api-key",
                KEY,
                "--max-retries",
                "0",
                "files",
                "get",
                id,
            ])
            .await
        }
    };

    let error = run("file-evil").await;
    let printed = run("file-c1").await;

    assert_eq!(error.status.code(), Some(1), "{}", stderr(&error));
    let err = stderr(&error);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.trim_end().chars().any(char::is_control), "{err:?}");
    assert!(err.contains("\\u{1b}]0;pwned"), "{err}");
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    let text = stdout(&printed);
    assert!(!text.contains(['\u{9b}', '\u{7f}']), "{text:?}");
    let file: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(file["filename"], "a\u{9b}2J\u{7f}.txt");
}

/// With `-vv`, a key the server echoes (here as its request id) is not logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_never_show_a_key_the_server_echoes() {
    let echoing = httpmock::MockServer::start_async().await;
    echoing
        .mock_async(|when, then| {
            when.path("/v1/users/me/balance");
            then.status(200).header("msh-request-id", KEY).json_body(
                serde_json::json!({"code": 0, "scode": "0x0", "status": true, "data": {
                    "available_balance": 1.5, "voucher_balance": 0.5, "cash_balance": 1.0,
                }}),
            );
        })
        .await;

    let out = moonshot(&[
        "-vv",
        "--base-url",
        &echoing.base_url(),
        "--api-key",
        KEY,
        "balance",
    ])
    .await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("moonshot.request"), "{log}");
    assert!(
        log.contains("[API key]") || log.contains("[redacted]"),
        "{log}"
    );
    assert!(!log.contains(KEY), "{log}");
}

/// The JSON mode asks for a whole answer, read as a stream: a server that answers with events
/// 400 ms apart, over a second in all against a 1 s timeout, is waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_json_mode_waits_for_a_long_answer_while_its_events_keep_coming() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a request");
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // The head, then a body small enough to arrive with it or just after.
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.expect("read");
            request.extend_from_slice(&buf[..n]);
        }
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        socket.write_all(head.as_bytes()).await.expect("write");
        let chunk = |delta: &str, finish: &str| {
            format!(
                r#"{{"id":"c1","model":"kimi-k2.5","created":1,"choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
            )
        };
        for data in [
            chunk(r#"{"content":"Hel"}"#, "null"),
            chunk(r#"{"content":"lo"}"#, "null"),
            chunk(
                "{}",
                r#""stop","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}"#,
            ),
            "[DONE]".to_owned(),
        ] {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let event = format!("data: {data}\n\n");
            socket.write_all(event.as_bytes()).await.expect("write");
        }
        socket.shutdown().await.expect("close");
    });
    let args = [
        "--base-url",
        &url,
        "--api-key",
        KEY,
        "--max-retries",
        "0",
        "--timeout",
        "1",
        "chat",
        "--no-thinking",
        "--model",
        "kimi-k2.5",
        "Hello?",
    ];

    let out = moonshot(&args).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON when piped");
    assert_eq!(answer["content"], "Hello", "{answer}");
    assert_eq!(answer["finish_reason"], "stop", "{answer}");
    assert_eq!(answer["usage"]["total_tokens"], 5, "{answer}");
}
