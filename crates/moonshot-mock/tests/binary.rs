//! The `moonshot-mock` binary: help, start-up on a free port, fixtures, refusals, Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_moonshot-mock");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fixtures");
/// A bound for waits that only a broken binary reaches.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running binary, killed when dropped so that a failed test leaves nothing behind.
struct Running {
    child: Child,
    base_url: String,
}

impl Running {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(PATIENCE)
            .expect("the binary prints its base URL");
        let base_url = line.trim().to_owned();
        assert!(base_url.starts_with("http://127.0.0.1:"), "{line:?}");
        assert_ne!(base_url, "http://127.0.0.1:0");
        Self { child, base_url }
    }

    fn wait(mut self) -> ExitStatus {
        for _ in 0..PATIENCE.as_millis() / 50 {
            if let Some(status) = self.child.try_wait().expect("the status is readable") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the binary did not stop");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to its end: exit status, stdout, stderr.
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (output.status, text(output.stdout), text(output.stderr))
}

async fn get(base_url: &str, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{base_url}{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("the binary answers")
}

#[test]
fn help_lists_the_options_and_the_fixture_format() {
    let (status, stdout, _) = run(&["--help"]);
    assert!(status.success());
    for option in [
        "--port",
        "--bind",
        "--api-key",
        "--fixtures",
        "--large-file",
        "--latency",
        "--fail-rate",
        "--seed",
        "--rate-limit-every",
        "--retry-after",
        "--quota-exceeded",
        "--cut-body",
        "--processing-delay",
        "--memory-limit",
        "--chat-fixtures",
        "--chunk-delay",
        "--stream-cut-after",
        "--stream-error-after",
        "--stream-stall-after",
        "--tier",
        "--concurrency",
        "--rpm",
        "--tpm",
        "--tpd",
        "--window",
        "<id>.json",
        "user_contains",
    ] {
        assert!(stdout.contains(option), "--help lacks {option}:\n{stdout}");
    }
}

#[tokio::test]
async fn starts_on_a_free_port_and_answers() {
    let running = Running::start(&["--api-key", "sk-bin", "--large-file", "5000"]);
    let url = &running.base_url;
    let response = get(url, "/v1/files/mock-intro-pdf", Some("sk-bin")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("msh-request-id"));
    assert_eq!(
        get(url, "/v1/files/mock-intro-pdf", None).await.status(),
        401
    );
    let large = get(url, "/v1/files/mock-large/content", Some("sk-bin")).await;
    assert_eq!(large.bytes().await.expect("a complete body").len(), 5000);
}

#[tokio::test]
async fn serves_a_fixtures_directory_with_faults() {
    let running = Running::start(&["--fixtures", FIXTURES, "--quota-exceeded"]);
    let response = get(&running.base_url, "/v1/files/quarterly-report", None).await;
    assert_eq!(response.status(), 429);
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["error"]["type"], "exceeded_current_quota_error");

    let running = Running::start(&["--fixtures", FIXTURES, "--rate-limit-every", "2"]);
    let first = get(&running.base_url, "/v1/files/quarterly-report", None).await;
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "1");
    let second = get(&running.base_url, "/v1/files/quarterly-report", None).await;
    assert_eq!(second.status(), 200);
}

#[tokio::test]
async fn account_limits_come_from_flags() {
    // Tier 0: 3 requests a window; here a window of 2 s.
    let running = Running::start(&["--tier", "0", "--window", "2s"]);
    for remaining in ["2", "1", "0"] {
        let response = get(&running.base_url, "/v1/models", None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "3");
        assert_eq!(response.headers()["x-ratelimit-remaining"], remaining);
    }
    let refused = get(&running.base_url, "/v1/models", None).await;
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.expect("a JSON body");
    assert_eq!(body["error"]["type"], "rate_limit_reached_error");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("max RPM: 3, please try again after"),
        "{message}"
    );

    // Explicit numbers override the tier's.
    let running = Running::start(&["--tier", "0", "--rpm", "1"]);
    let first = get(&running.base_url, "/v1/models", None).await;
    assert_eq!(first.headers()["x-ratelimit-limit"], "1");
    let second = get(&running.base_url, "/v1/models", None).await;
    assert_eq!(second.status(), 429);
}

#[test]
fn a_zero_window_stops_it_with_the_window_named() {
    let (status, _, stderr) = run(&["--port", "0", "--rpm", "2", "--window", "0"]);
    assert!(!status.success());
    assert!(stderr.contains("the window is 0 long"), "{stderr}");
}

#[tokio::test]
async fn uploads_follow_the_processing_delay_and_memory_limit_flags() {
    let running = Running::start(&["--processing-delay", "0", "--memory-limit", "10"]);
    let upload = |data: &'static [u8]| {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(data).file_name("a.txt"),
            )
            .text("purpose", "file-extract");
        reqwest::Client::new()
            .post(format!("{}/v1/files", running.base_url))
            .multipart(form)
            .send()
    };
    let small = upload(b"12345").await.expect("the binary answers");
    assert_eq!(small.status(), 200);
    let object: serde_json::Value = small.json().await.expect("a JSON body");
    assert_eq!(object["status"], "ok", "no processing delay");
    let large = upload(b"more than the ten bytes left")
        .await
        .expect("answers");
    assert_eq!(large.status(), 400);
    let body: serde_json::Value = large.json().await.expect("a JSON body");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("memory limit of 10 bytes")),
        "{body}"
    );
}

#[test]
fn bad_fixtures_stop_it_with_the_file_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("a.json"), "{not json").expect("written");
    let dir_arg = dir.path().to_str().expect("a UTF-8 path");
    let (status, stdout, stderr) = run(&["--port", "0", "--fixtures", dir_arg]);
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("a.json") && stderr.contains("invalid JSON"),
        "{stderr}"
    );
}

#[test]
fn bad_options_are_refused() {
    for args in [
        &["--fail-rate", "1.5"][..],
        &["--rate-limit-every", "0"],
        &["--bind", "localhost:80"],
        &["--latency", "100000000000000000000"],
        &["--retry-after", "-1"],
        &["--rate-limit-every", "-1"],
        &["--tier", "6"],
        &["--rpm", "0"],
        &["--window", "soon"],
    ] {
        let (status, _, stderr) = run(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{stderr}");
        assert!(!stderr.contains("unexpected argument"), "{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_it_cleanly() {
    let running = Running::start(&[]);
    let pid = running.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    // Killed by the signal, it would not exit with success.
    assert!(running.wait().success());
}

#[tokio::test]
async fn chat_fixtures_pacing_and_stream_faults_come_from_flags() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fixtures = dir.path().join("chat.jsonl");
    std::fs::write(
        &fixtures,
        "{\"user_contains\": \"ping\", \"reply\": \"pong pong pong pong\"}\n",
    )
    .expect("written");
    let running = Running::start(&[
        "--chat-fixtures",
        fixtures.to_str().expect("a UTF-8 path"),
        "--chunk-delay",
        "50ms",
        "--stream-error-after",
        "2",
    ]);
    let chat = |stream: bool| {
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", running.base_url))
            .json(&serde_json::json!({
                "model": "moonshot-v1-8k",
                "messages": [{"role": "user", "content": "ping"}],
                "stream": stream,
            }))
            .send()
    };
    let whole: serde_json::Value = chat(false)
        .await
        .expect("the binary answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        whole["choices"][0]["message"]["content"],
        "pong pong pong pong"
    );

    let started = std::time::Instant::now();
    let text = chat(true)
        .await
        .expect("the binary answers")
        .text()
        .await
        .expect("a whole body");
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3, "{text}");
    assert!(events[2].starts_with("data: {\"error\""), "{text}");
    // One wait, before the second event; the fault's event comes in its place, unpaced.
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[test]
fn bad_chat_fixtures_stop_it_with_the_line_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fixtures = dir.path().join("chat.jsonl");
    std::fs::write(&fixtures, "{\"reply\": \"a\"}\n{\"reply\": 3}\n").expect("written");
    let path = fixtures.to_str().expect("a UTF-8 path");
    let (status, stdout, stderr) = run(&["--port", "0", "--chat-fixtures", path]);
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains(&format!("{path}: line 2,")), "{stderr}");
    assert!(stderr.contains("invalid type: integer `3`"), "{stderr}");

    let (status, _, stderr) = run(&["--stream-cut-after", "1", "--stream-stall-after", "2"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
