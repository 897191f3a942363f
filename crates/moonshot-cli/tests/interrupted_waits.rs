//! Ctrl-C or SIGTERM while a command waits for a batch or a file stops the wait, not what is
//! waited for: the command exits as the shell expects, says the batch or file was kept and how to
//! follow it, and `--mock` keeps it in its state.
#![cfg(unix)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use moonshot_mock::MockServer;
use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, ChildStderr, Command};

const KEY: &str = "sk-cli-test-key";

/// `moonshot ARGS`, its standard error piped, killed if the test drops it.
fn spawn(args: &[&str], state: Option<&Path>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_moonshot"));
    command
        .args(args)
        .env_remove("MOONSHOT_API_KEY")
        .env_remove("MOONSHOT_BASE_URL")
        .env_remove("MOONSHOT_MOCK_STATE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(state) = state {
        command.env("MOONSHOT_MOCK_STATE", state);
    }
    command.spawn().expect("runs")
}

/// Sends `signal` to the running `child`.
fn send(signal: Signal, child: &Child) {
    let pid = child
        .id()
        .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
        .expect("running");
    kill_process(pid, signal).expect("signal sent");
}

/// A child's standard error, read line by line.
struct Stderr {
    lines: BufReader<ChildStderr>,
    read: String,
}

impl Stderr {
    fn of(child: &mut Child) -> Self {
        Self {
            lines: BufReader::new(child.stderr.take().expect("piped stderr")),
            read: String::new(),
        }
    }

    /// Reads until a line `seen` accepts, and returns it.
    async fn until(&mut self, seen: impl Fn(&str) -> bool) -> String {
        let read = async {
            loop {
                let mut line = String::new();
                if self.lines.read_line(&mut line).await.expect("stderr") == 0 {
                    return None;
                }
                self.read.push_str(&line);
                if seen(&line) {
                    return Some(line);
                }
            }
        };
        let found = tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .expect("the line within a minute");
        found.unwrap_or_else(|| panic!("the command ended first: {}", self.read))
    }

    /// Everything, once the command has ended.
    async fn rest(mut self) -> String {
        self.lines
            .read_to_string(&mut self.read)
            .await
            .expect("stderr");
        self.read
    }
}

/// Waits for the child to end; returns its exit code and its standard error when still piped.
async fn finish(child: Child) -> (Option<i32>, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("ends within a minute")
        .expect("exits");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A valid batch input of two questions.
fn batch_input(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("x.jsonl");
    let lines: String = (0..2)
        .map(|i| {
            serde_json::json!({
                "custom_id": format!("item-{i}"),
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "moonshot-v1-8k", "messages": [
                    {"role": "user", "content": format!("Question {i}?")},
                ]},
            })
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&path, lines).expect("write");
    path
}

/// The id in `created ID from ...`.
fn created_id(line: &str) -> String {
    line.strip_prefix("created ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no id in {line:?}"))
        .to_owned()
}

/// The stderr of a stopped command, checked: it names the signal and how to follow `id`.
fn assert_kept(stderr: &str, signal: &str, follow: &str) {
    assert!(
        stderr.contains(&format!("interrupted by {signal}")),
        "{stderr}"
    );
    assert!(stderr.contains("was kept"), "{stderr}");
    assert!(stderr.contains(&format!("`{follow}`")), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_a_mock_batch_wait_keeps_the_batch_in_the_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let input = batch_input(dir.path());
    let mut child = spawn(
        &[
            "--mock",
            "batches",
            "create",
            input.to_str().expect("utf-8"),
            "--wait",
        ],
        Some(&state),
    );
    let mut stderr = Stderr::of(&mut child);
    let id = created_id(&stderr.until(|l| l.starts_with("created ")).await);
    send(Signal::INT, &child);
    let (code, _) = finish(child).await;
    let stderr = stderr.rest().await;
    assert_eq!(code, Some(130), "{stderr}");
    assert_kept(&stderr, "SIGINT", &format!("moonshot batches wait {id}"));

    let mut list = spawn(&["--mock", "batches", "list"], Some(&state));
    let mut listed = String::new();
    list.stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut listed)
        .await
        .expect("stdout");
    let (code, stderr) = finish(list).await;
    assert_eq!(code, Some(0), "{stderr}");
    let batches: Vec<serde_json::Value> = serde_json::from_str(&listed).expect("JSON");
    assert!(
        batches.iter().any(|b| b["id"] == id.as_str()),
        "{id} is not in {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stops_batches_wait_and_says_how_to_follow_the_batch() {
    let server = MockServer::builder()
        .api_key(KEY)
        .batch_duration(Duration::from_secs(600))
        .start()
        .await
        .expect("server starts");
    let url = server.base_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = batch_input(dir.path());
    let base = ["--base-url", url.as_str(), "--api-key", KEY];

    // Stopped while it waits, after `created`.
    let mut child = spawn(
        &[
            &base[..],
            &[
                "batches",
                "create",
                input.to_str().expect("utf-8"),
                "--wait",
            ],
        ]
        .concat(),
        None,
    );
    let mut stderr = Stderr::of(&mut child);
    let id = created_id(&stderr.until(|l| l.starts_with("created ")).await);
    // The first progress line: the wait has begun.
    stderr.until(|l| l.starts_with(&format!("{id}: "))).await;
    send(Signal::TERM, &child);
    let (code, _) = finish(child).await;
    let stderr = stderr.rest().await;
    assert_eq!(code, Some(143), "{stderr}");
    assert_kept(&stderr, "SIGTERM", &format!("moonshot batches wait {id}"));

    // `batches wait`, stopped the same way.
    let mut child = spawn(&[&base[..], &["batches", "wait", &id]].concat(), None);
    let mut stderr = Stderr::of(&mut child);
    stderr.until(|l| l.starts_with(&format!("{id}: "))).await;
    send(Signal::INT, &child);
    let (code, _) = finish(child).await;
    let stderr = stderr.rest().await;
    assert_eq!(code, Some(130), "{stderr}");
    assert_kept(&stderr, "SIGINT", &format!("moonshot batches wait {id}"));
    let batch = moonshot::Client::builder()
        .base_url(&url)
        .api_key(KEY)
        .build()
        .expect("client")
        .batches()
        .retrieve(&id)
        .await
        .expect("the batch is still there");
    assert!(!moonshot::batches::is_terminal(&batch.status), "{batch:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stops_a_files_wait_and_says_how_to_follow_the_file() {
    let server = MockServer::builder()
        .api_key(KEY)
        .processing_delay(Duration::from_secs(600))
        .start()
        .await
        .expect("server starts");
    let url = server.base_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "The lighthouse has 217 steps.").expect("write");
    let base = ["--base-url", url.as_str(), "--api-key", KEY];
    let notes = notes.to_str().expect("utf-8");

    let mut uploaded = String::new();
    for (args, signal, code, name) in [
        (
            vec!["files", "upload", notes, "--wait"],
            Signal::INT,
            130,
            "SIGINT",
        ),
        (vec!["files", "wait", "FILE"], Signal::TERM, 143, "SIGTERM"),
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if *a == "FILE" {
                    uploaded.clone()
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let (files_before, before) = (server.file_ids(), server.request_count());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = spawn(&[&base[..], &args].concat(), None);
        // Waiting means asking for the file: an upload's wait asks after its upload.
        let asked = if args[1] == "upload" { 2 } else { 1 };
        for _ in 0..600 {
            if server.request_count() >= before + asked {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            server.request_count() >= before + asked,
            "{args:?} never waited"
        );
        send(signal, &child);
        let (exit, stderr) = finish(child).await;
        if let Some(new) = server
            .file_ids()
            .into_iter()
            .find(|id| !files_before.contains(id))
        {
            uploaded = new;
        }
        assert_eq!(exit, Some(code), "{args:?}: {stderr}");
        assert_kept(&stderr, name, &format!("moonshot files wait {uploaded}"));
    }
}
