//! Batches end to end against the local Moonshot server of `moonshot-mock` on 127.0.0.1:
//! an input built, checked and uploaded, the batch followed to its end, its results read from
//! the output and error files and matched to their custom ids; cancel, pages, and bad input.

use std::time::Duration;

use futures::TryStreamExt as _;
use moonshot::Error;
use moonshot::batches::{BatchInput, BatchOutcome, BatchStatus, CompletionWindow};
use moonshot::chat::ChatRequest;
use moonshot_mock::{ChatFixtures, MockServer};

const KEY: &str = "sk-batch-test";
const WAIT: Duration = Duration::from_secs(30);

fn client(server: &MockServer) -> moonshot::Client {
    moonshot::Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .build()
        .expect("client")
}

async fn server(duration: Duration) -> MockServer {
    MockServer::builder()
        .api_key(KEY)
        .batch_duration(duration)
        .start()
        .await
        .expect("server")
}

/// A question whose answer the local server draws from the system message: the line's number.
fn question(i: usize) -> ChatRequest {
    ChatRequest::new("kimi-k2.6")
        .system(format!("Crate number {i} holds {} apples.", i * 7))
        .user(format!("How many apples does crate number {i} hold?"))
}

#[tokio::test]
async fn a_hundred_line_batch_runs_and_every_result_matches_its_input() {
    let server = server(Duration::from_millis(400)).await;
    let client = client(&server);
    let mut input = BatchInput::new();
    for i in 0..100 {
        input
            .push(format!("crate-{i}"), &question(i))
            .expect("a good line");
    }

    let batch = client
        .batches()
        .submit(&input, CompletionWindow::default())
        .await
        .expect("created");
    assert_eq!(batch.status, BatchStatus::Validating);
    assert_eq!(batch.completion_window, "1d");
    let input_file = client
        .files()
        .retrieve(&batch.input_file_id)
        .await
        .expect("input file");
    assert_eq!(input_file.purpose.as_str(), "batch");

    let mut seen = Vec::new();
    let batch = client
        .batches()
        .wait_with_progress(&batch.id, WAIT, |b| {
            seen.push((b.status.to_string(), b.request_counts.completed));
        })
        .await
        .expect("ended");
    assert_eq!(batch.status, BatchStatus::Completed, "{batch:?}");
    assert_eq!(batch.request_counts.total, 100);
    assert_eq!(batch.request_counts.completed, 100);
    assert_eq!(batch.request_counts.failed, 0);
    assert!(batch.completed_at.is_some() && batch.in_progress_at.is_some());
    assert!(batch.error_file_id.is_none(), "no line failed");
    assert!(!seen.is_empty(), "progress was told while waiting");
    assert_eq!(seen.last().map(|(s, _)| s.as_str()), Some("completed"));

    let report = client
        .batches()
        .report(&batch, &input)
        .await
        .expect("report");
    assert!(report.is_complete(), "{report:?}");
    for i in 0..100 {
        let id = format!("crate-{i}");
        let answer = match report.get(&id) {
            Some(BatchOutcome::Answered(completion)) => completion.content().to_owned(),
            other => panic!("{id}: {other:?}"),
        };
        // Each answer comes from its own request's system message: matched, not shuffled.
        assert!(
            answer.contains(&format!("Crate number {i} holds {} apples", i * 7)),
            "{id}: {answer}"
        );
    }
}

#[tokio::test]
async fn lines_the_server_cannot_answer_go_to_the_error_file_and_are_reported() {
    let fixtures = ChatFixtures::parse(
        r#"{"user_contains": "overload", "error": {"status": 429, "type": "engine_overloaded_error", "message": "The engine is currently overloaded"}}"#,
    )
    .expect("fixtures");
    let server = MockServer::builder()
        .batch_duration(Duration::from_millis(100))
        .chat_fixtures(fixtures)
        .start()
        .await
        .expect("server");
    let client = client(&server);
    let mut input = BatchInput::new();
    input.push("fine", &question(1)).expect("line");
    input
        .push("busy", &ChatRequest::new("kimi-k2.6").user("overload me"))
        .expect("line");
    let batch = client
        .batches()
        .submit(&input, CompletionWindow::from_hours(12).expect("12h"))
        .await
        .expect("created");
    let batch = client.batches().wait(&batch.id, WAIT).await.expect("ended");
    assert_eq!(batch.status, BatchStatus::Completed);
    assert_eq!(
        (batch.request_counts.completed, batch.request_counts.failed),
        (1, 1)
    );
    assert!(batch.output_file_id.is_some() && batch.error_file_id.is_some());

    let results: Vec<_> = client
        .batches()
        .results(&batch)
        .try_collect()
        .await
        .expect("results");
    assert_eq!(results.len(), 2, "{results:?}");
    let report = client
        .batches()
        .report(&batch, &input)
        .await
        .expect("report");
    match report.get("busy") {
        Some(BatchOutcome::Failed(failure)) => {
            assert_eq!(failure.status, Some(429));
            assert_eq!(failure.kind.as_deref(), Some("engine_overloaded_error"));
        }
        other => panic!("busy: {other:?}"),
    }
    assert_eq!(
        report.failed().map(|(id, _)| id).collect::<Vec<_>>(),
        ["busy"]
    );
    assert!(!report.is_complete());
}

#[tokio::test]
async fn a_cancelled_batch_stops_and_keeps_what_was_answered() {
    let server = server(Duration::from_secs(20)).await;
    let client = client(&server);
    let mut input = BatchInput::new();
    for i in 0..50 {
        input.push(format!("q{i}"), &question(i)).expect("line");
    }
    let batch = client
        .batches()
        .submit(&input, CompletionWindow::default())
        .await
        .expect("created");
    let cancelling = client.batches().cancel(&batch.id).await.expect("cancel");
    assert_eq!(cancelling.status, BatchStatus::Cancelling);
    let batch = client.batches().wait(&batch.id, WAIT).await.expect("ended");
    assert_eq!(batch.status, BatchStatus::Cancelled);
    assert!(batch.cancelled_at.is_some());
    let report = client
        .batches()
        .report(&batch, &input)
        .await
        .expect("report");
    assert!(
        report.missing().count() > 0,
        "a cancelled batch leaves lines unanswered"
    );

    let again = client.batches().cancel(&batch.id).await.expect_err("ended");
    assert!(
        matches!(&again, Error::BadRequest(e) if e.message.contains("cancelled")),
        "{again}"
    );
}

#[tokio::test]
async fn waiting_past_the_deadline_says_how_far_the_batch_got() {
    let server = server(Duration::from_secs(60)).await;
    let client = client(&server);
    let mut input = BatchInput::new();
    input.push("only", &question(1)).expect("line");
    let batch = client
        .batches()
        .submit(&input, CompletionWindow::default())
        .await
        .expect("created");
    let err = client
        .batches()
        .wait(&batch.id, Duration::from_millis(300))
        .await
        .expect_err("still running");
    match &err {
        Error::BatchTimedOut {
            batch_id, status, ..
        } => {
            assert_eq!(batch_id, &batch.id);
            assert!(
                matches!(status.as_str(), "validating" | "in_progress"),
                "{status}"
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&batch.id), "{err}");
}

#[tokio::test]
async fn the_list_stream_follows_pages_to_the_last_batch() {
    let server = server(Duration::ZERO).await;
    let client = client(&server);
    let mut input = BatchInput::new();
    input.push("one", &question(1)).expect("line");
    let file = client
        .files()
        .upload_bytes(
            input.as_jsonl().to_vec(),
            "in.jsonl",
            moonshot::files::Purpose::Batch,
        )
        .await
        .expect("uploaded");
    let mut created = Vec::new();
    for _ in 0..105 {
        let batch = client
            .batches()
            .create(&file.id, CompletionWindow::default())
            .await
            .expect("created");
        created.push(batch.id);
    }
    let page = client
        .batches()
        .list_page(None, Some(10))
        .await
        .expect("page");
    assert_eq!(page.batches.len(), 10);
    assert!(page.has_more);
    assert_eq!(page.batches[0].id, created[104], "newest first");

    let listed: Vec<String> = client
        .batches()
        .list()
        .map_ok(|b| b.id)
        .try_collect()
        .await
        .expect("listed");
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(
        listed, expected,
        "every batch once, newest first, across two pages"
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let server = server(Duration::ZERO).await;
    let client = client(&server);
    let before = server.request_count();
    let empty = BatchInput::new();
    let err = client
        .batches()
        .submit(&empty, CompletionWindow::default())
        .await
        .expect_err("empty");
    assert!(
        matches!(
            &err,
            Error::InvalidInput {
                name: "batch input",
                ..
            }
        ),
        "{err}"
    );
    for id in ["", "..", "a\nb"] {
        let err = client.batches().retrieve(id).await.expect_err(id);
        assert!(
            matches!(
                &err,
                Error::InvalidInput {
                    name: "batch id",
                    ..
                }
            ),
            "{id:?}: {err}"
        );
    }
    let mut request = moonshot::types::BatchCreateRequest {
        input_file_id: "file-x".to_owned(),
        endpoint: "/v1/chat/completions".into(),
        completion_window: "6h".to_owned(),
        metadata: Default::default(),
    };
    let err = client
        .batches()
        .create_with(request.clone())
        .await
        .expect_err("6h");
    assert!(
        matches!(
            &err,
            Error::InvalidInput {
                name: "completion window",
                ..
            }
        ),
        "{err}"
    );
    request.completion_window = "1d".to_owned();
    for i in 0..17 {
        request.metadata.insert(
            format!("k{i}"),
            "v".to_owned().try_into().expect("short value"),
        );
    }
    let err = client
        .batches()
        .create_with(request)
        .await
        .expect_err("17 pairs");
    assert!(
        matches!(
            &err,
            Error::InvalidInput {
                name: "metadata",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.request_count(), before, "nothing reached the server");
}

#[tokio::test]
async fn the_server_refuses_a_batch_of_a_file_that_is_not_batch_input() {
    let server = server(Duration::ZERO).await;
    let client = client(&server);
    let err = client
        .batches()
        .create(moonshot_mock::DEMO_PDF_ID, CompletionWindow::default())
        .await
        .expect_err("a file-extract file");
    assert!(
        matches!(&err, Error::BadRequest(e) if e.message.contains("purpose")),
        "{err}"
    );
    let err = client
        .batches()
        .retrieve("batch-nope")
        .await
        .expect_err("unknown");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    // A slash is percent-encoded: the id stays one segment under /v1/batches/, never /v1/files.
    let err = client
        .batches()
        .retrieve("../files")
        .await
        .expect_err("no such batch");
    assert!(
        matches!(&err, Error::NotFound(e) if e.message.contains("batch ../files")),
        "{err}"
    );

    // A file that is JSON Lines but not a batch input fails in validation, with the lines named.
    let file = client
        .files()
        .upload_bytes(
            &b"{\"custom_id\": \"a\"}\nnot json\n"[..],
            "bad.jsonl",
            moonshot::files::Purpose::Batch,
        )
        .await
        .expect("uploaded");
    let batch = client
        .batches()
        .create(&file.id, CompletionWindow::default())
        .await
        .expect("created: validation comes after");
    let batch = client.batches().wait(&batch.id, WAIT).await.expect("ended");
    assert_eq!(batch.status, BatchStatus::Failed);
    assert!(batch.failed_at.is_some());
    let results: Vec<_> = client
        .batches()
        .results(&batch)
        .try_collect()
        .await
        .expect("none");
    assert!(results.is_empty());
}

#[cfg(unix)]
#[test]
fn reading_an_input_refuses_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pipe = dir.path().join("input.jsonl");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let cases = [
        (pipe, "is a FIFO (named pipe), not a regular file"),
        ("/dev/zero".into(), "is a device, not a regular file"),
        ("/dev/urandom".into(), "is a device, not a regular file"),
        (dir.path().to_owned(), "is a directory"),
    ];
    for (path, why) in cases {
        // Before, a FIFO waited for a writer and a device read until memory ran out: each read
        // runs on a thread of its own, so that such a read fails the test instead of hanging it.
        let (sender, receiver) = std::sync::mpsc::channel();
        let read = path.clone();
        std::thread::spawn(move || sender.send(BatchInput::read(read).map(|i| i.len())));
        let err = receiver
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("reading {path:?} did not end"))
            .expect_err("refused");
        let text = err.to_string();
        assert!(text.contains(why), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
    }
    // A file the system generates reports 0 bytes: it is read (within the limit), not called
    // empty.
    let err = BatchInput::read("/proc/self/status").expect_err("not JSON Lines");
    let text = err.to_string();
    assert!(!text.contains("empty"), "{text}");
    assert!(text.contains("line 1"), "{text}");
}
