//! Listing, deleting and waiting for files, on a scripted server on 127.0.0.1.

mod support;

use std::time::{Duration, Instant};

use moonshot::Error;
use serde_json::json;
use support::{Reply, ScriptedServer, client, file_object, moonshot_error};

fn with_status(status: &str, details: &str) -> Reply {
    let mut file = file_object("file-1");
    file["status"] = json!(status);
    file["status_details"] = json!(details);
    Reply::json(200, &file)
}

#[tokio::test]
async fn list_gives_typed_files_with_open_values() {
    let mut odd = file_object("file-2");
    odd["purpose"] = json!("batch_output");
    odd["status"] = json!("queued");
    let server = ScriptedServer::start(vec![Reply::json(
        200,
        &json!({"object": "list", "data": [file_object("file-1"), odd]}),
    )])
    .await;

    let files = client(&server.base_url())
        .files()
        .list()
        .await
        .expect("lists");

    assert_eq!(
        server.requests()[0].lines().next(),
        Some("GET /v1/files HTTP/1.1")
    );
    let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["file-1", "file-2"]);
    assert_eq!(files[1].purpose.as_str(), "batch_output");
    assert_eq!(files[1].status.as_str(), "queued");
}

#[tokio::test]
async fn delete_answers_typed_and_a_missing_file_is_not_found() {
    let server = ScriptedServer::start(vec![
        Reply::json(
            200,
            &json!({"id": "file-1", "object": "file", "deleted": true}),
        ),
        Reply::json(
            404,
            &moonshot_error("resource_not_found_error", "no such file"),
        ),
    ])
    .await;
    let client = client(&server.base_url());

    let deleted = client.files().delete("file-1").await.expect("deletes");
    assert!(deleted.deleted);
    assert_eq!(deleted.id, "file-1");
    assert_eq!(
        server.requests()[0].lines().next(),
        Some("DELETE /v1/files/file-1 HTTP/1.1")
    );

    let err = client.files().delete("file-1").await.expect_err("gone");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(server.hits(), 2, "a 404 is not retried");
}

#[tokio::test]
async fn ids_that_would_leave_the_files_path_are_refused_before_any_request() {
    let server = ScriptedServer::start(vec![with_status("ok", "")]).await;
    let client = client(&server.base_url());
    for id in ["", "..", ".", "a\nb"] {
        let err = client.files().delete(id).await.expect_err("refused");
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    name: "file id",
                    ..
                }
            ),
            "{id:?}: {err}"
        );
        let err = client
            .files()
            .wait_for_processing(id)
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidInput { .. }), "{id:?}: {err}");
    }
    let err = client
        .files()
        .wait_for_processing_within("file-1", Duration::ZERO)
        .await
        .expect_err("a zero deadline");
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                name: "deadline",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn waiting_polls_until_the_file_is_ready() {
    let server = ScriptedServer::start(vec![
        with_status("processing", ""),
        with_status("processing", ""),
        with_status("ready", ""),
    ])
    .await;
    let started = Instant::now();

    let file = client(&server.base_url())
        .files()
        .wait_for_processing("file-1")
        .await
        .expect("ready");

    assert_eq!(file.status.as_str(), "ready");
    assert_eq!(server.hits(), 3);
    // Pauses of 250 ms, then 500 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn waiting_ends_in_an_error_carrying_the_details_when_processing_fails() {
    let server = ScriptedServer::start(vec![
        with_status("processing", ""),
        with_status("failed", "no text layer found"),
    ])
    .await;

    let err = client(&server.base_url())
        .files()
        .wait_for_processing("file-1")
        .await
        .expect_err("failed");

    let Error::ProcessingFailed {
        file_id,
        status,
        details,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        (file_id.as_str(), status.as_str(), details.as_deref()),
        ("file-1", "failed", Some("no text layer found"))
    );
    assert!(err.to_string().contains("no text layer found"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn waiting_stops_at_the_deadline() {
    let server = ScriptedServer::start(vec![with_status("processing", "")]).await;
    let started = Instant::now();

    let err = client(&server.base_url())
        .files()
        .wait_for_processing_within("file-1", Duration::from_millis(600))
        .await
        .expect_err("still processing");

    let elapsed = started.elapsed();
    assert!(
        matches!(&err, Error::ProcessingTimedOut { status, .. } if status == "processing"),
        "{err:?}"
    );
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // Looks at 0, 250 and 750 ms would overshoot; the last pause is cut to the deadline.
    assert_eq!(server.hits(), 3);
}
