//! Files as a stateful Moonshot keeps them: upload, list, retrieve, content, delete; processing
//! over time; Moonshot's limits and the memory limit.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{client, delete, get, json, upload, upload_form, upload_part};
use moonshot_mock::{DEMO_BATCH_OUTPUT_ID, DEMO_FAILED_ID, DEMO_IMAGE_ID, DEMO_PDF_ID, MockServer};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

/// Moonshot's limit on one file: 100 MB.
const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

async fn start_without_delay() -> MockServer {
    MockServer::builder()
        .processing_delay(Duration::ZERO)
        .start()
        .await
        .expect("server starts")
}

async fn start_with_memory_limit(bytes: u64) -> MockServer {
    MockServer::builder()
        .memory_limit(bytes)
        .processing_delay(Duration::ZERO)
        .start()
        .await
        .expect("server starts")
}

/// Checks a 400 `invalid_request_error` whose message contains `needle`.
async fn assert_invalid_request(response: reqwest::Response, needle: &str) {
    assert_refused(response, 400, needle).await;
}

/// Checks an `invalid_request_error` with `status` whose message contains `needle`.
async fn assert_refused(response: reqwest::Response, status: u16, needle: &str) {
    assert_eq!(response.status(), status);
    let body = json(response).await;
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("a list of files")
        .iter()
        .map(|file| file["id"].as_str().expect("a string id").to_owned())
        .collect()
}

#[tokio::test]
async fn an_upload_is_retrieved_listed_read_and_deleted() {
    let server = start_without_delay().await;
    let text = "# Notes\n\"Kimi\" reads 长文本.\n";
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let object = json(upload(&server, "notes.md", text.as_bytes()).await).await;

    let id = object["id"].as_str().expect("a string id").to_owned();
    assert!(id.starts_with("file-") && id.len() == 25, "{id}");
    assert_eq!(object["object"], "file");
    assert_eq!(object["bytes"], text.len());
    assert_eq!(object["filename"], "notes.md");
    assert_eq!(object["purpose"], "file-extract");
    assert_eq!(object["status"], "ok");
    assert_eq!(object["status_details"], "");
    let created_at = object["created_at"].as_u64().expect("a timestamp");
    assert!((before..before + 60).contains(&created_at), "{created_at}");
    assert_eq!(server.upload_memory(), text.len() as u64);

    let path = format!("/v1/files/{id}");
    assert_eq!(json(get(&server, &path, None).await).await, object);
    let list = json(get(&server, "/v1/files", None).await).await;
    assert_eq!(list["object"], "list");
    assert_eq!(
        ids(&list),
        [
            &id,
            DEMO_FAILED_ID,
            DEMO_BATCH_OUTPUT_ID,
            DEMO_IMAGE_ID,
            DEMO_PDF_ID
        ],
        "newest first"
    );
    assert_eq!(list["data"][0], object);

    let content = get(&server, &format!("{path}/content"), None).await;
    assert_eq!(content.status(), 200);
    let envelope: Value =
        serde_json::from_str(&content.text().await.expect("a body")).expect("JSON as text");
    assert_eq!(envelope["content"], text);
    assert_eq!(envelope["file_type"], "text/markdown");
    assert_eq!(envelope["filename"], "notes.md");

    let deleted = json(delete(&server, &path).await).await;
    assert_eq!(
        deleted,
        serde_json::json!({"id": id, "object": "file", "deleted": true})
    );
    assert_eq!(server.upload_memory(), 0);
    for gone in [
        get(&server, &path, None).await,
        get(&server, &format!("{path}/content"), None).await,
        delete(&server, &path).await,
    ] {
        assert_eq!(gone.status(), 404);
        assert_eq!(
            json(gone).await["error"]["type"],
            "resource_not_found_error"
        );
    }
    let list = json(get(&server, "/v1/files", None).await).await;
    assert!(!ids(&list).contains(&id));

    // The same file twice is two files.
    let first = json(upload(&server, "a.txt", b"same").await).await;
    let second = json(upload(&server, "a.txt", b"same").await).await;
    assert_ne!(first["id"], second["id"]);
}

#[tokio::test]
async fn demo_files_are_deleted_like_uploads() {
    let server = start_without_delay().await;
    let path = format!("/v1/files/{DEMO_PDF_ID}");
    assert_eq!(delete(&server, &path).await.status(), 200);
    assert_eq!(get(&server, &path, None).await.status(), 404);
    assert!(!server.file_ids().contains(&DEMO_PDF_ID.to_owned()));
    // Another demo file is still served.
    let batch = get(
        &server,
        &format!("/v1/files/{DEMO_BATCH_OUTPUT_ID}/content"),
        None,
    )
    .await;
    assert_eq!(batch.status(), 200);
}

#[tokio::test]
async fn a_new_file_is_processing_until_the_delay_has_passed() {
    let delay = Duration::from_millis(400);
    let server = MockServer::builder()
        .processing_delay(delay)
        .start()
        .await
        .expect("server starts");
    let started = Instant::now();
    let object = json(upload(&server, "draft.txt", b"first draft").await).await;
    // The server started the delay between `started` and `received`.
    let received = Instant::now();
    let path = format!("/v1/files/{}", object["id"].as_str().expect("an id"));
    assert_eq!(object["status"], "processing");

    let early = json(get(&server, &path, None).await).await;
    let early_content = get(&server, &format!("{path}/content"), None).await;
    // Only meaningful while the delay is still running.
    assert!(started.elapsed() < delay, "the test machine is too slow");
    assert_eq!(early["status"], "processing");
    assert_invalid_request(early_content, "still being processed").await;
    let list = json(get(&server, "/v1/files", None).await).await;
    assert_eq!(list["data"][0]["status"], "processing");

    tokio::time::sleep(delay.saturating_sub(received.elapsed())).await;
    let done = json(get(&server, &path, None).await).await;
    assert_eq!(done["status"], "ok");
    let content = get(&server, &format!("{path}/content"), None).await;
    assert_eq!(content.status(), 200);
    assert!(
        content
            .text()
            .await
            .expect("a body")
            .contains("first draft")
    );
}

#[tokio::test]
async fn images_and_binary_files_yield_no_text() {
    let server = start_without_delay().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let cases = [
        ("diagram.png", &png[..], "file-extract", "failed"),
        (
            "scan.pdf",
            b"%PDF-1.7\n\xff\xfe\xfd",
            "file-extract",
            "failed",
        ),
        // For vision, an image is fine; it still has no text.
        ("photo.jpg", b"\xff\xd8\xff\xe0", "image", "ok"),
    ];
    for (filename, data, purpose, status) in cases {
        let part = Part::bytes(data.to_vec()).file_name(filename);
        let object = json(upload_part(&server, part, Some(purpose)).await).await;
        assert_eq!(object["status"], status, "{filename}");
        let details = object["status_details"].as_str().expect("a string");
        assert_eq!(details.is_empty(), status == "ok", "{filename}: {details}");
        let id = object["id"].as_str().expect("an id");
        let content = get(&server, &format!("/v1/files/{id}/content"), None).await;
        assert_eq!(content.status(), 500, "{filename}");
        let body = json(content).await;
        assert_eq!(body["error"]["type"], "", "{filename}");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.starts_with("extract task failed: "), "{message}");
        assert!(message.ends_with(details), "{message}");
    }
    // Files without text keep no bytes.
    assert_eq!(server.upload_memory(), 0);
}

#[tokio::test]
async fn bad_uploads_are_refused_in_moonshots_shape() {
    let server = start_without_delay().await;
    let ids_before = server.file_ids();
    let text = || Part::bytes(b"hello".to_vec()).file_name("a.txt");

    assert_invalid_request(
        upload(&server, "empty.txt", b"").await,
        "the `file` part (empty.txt) is empty",
    )
    .await;
    assert_invalid_request(
        upload_part(&server, text(), None).await,
        "missing the `purpose` field",
    )
    .await;
    assert_invalid_request(
        upload_part(&server, text(), Some("file extract")).await,
        "the `purpose` field must be one word",
    )
    .await;
    assert_invalid_request(
        upload_part(&server, text(), Some("")).await,
        "the `purpose` field is empty",
    )
    .await;
    let latin1 = Form::new()
        .part("file", text())
        .part("purpose", Part::bytes(b"caf\xe9".to_vec()));
    assert_invalid_request(
        upload_form(&server, latin1, None).await,
        "the `purpose` field is not UTF-8",
    )
    .await;
    let long = "x".repeat(65);
    assert_invalid_request(
        upload_part(&server, text(), Some(&long)).await,
        "the `purpose` field is longer than 64 bytes",
    )
    .await;
    let nameless = Part::bytes(b"hello".to_vec());
    assert_invalid_request(
        upload_part(&server, nameless, Some("file-extract")).await,
        "no file name",
    )
    .await;
    let purpose_only = Form::new().text("purpose", "file-extract");
    assert_invalid_request(
        upload_form(&server, purpose_only, None).await,
        "missing the `file` part",
    )
    .await;
    let two_files = Form::new()
        .part("file", text())
        .part("file", text())
        .text("purpose", "file-extract");
    assert_invalid_request(upload_form(&server, two_files, None).await, "more than one").await;

    let raw = |content_type: &'static str, body: &'static str| {
        client()
            .post(format!("{}/v1/files", server.base_url()))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_invalid_request(
        raw("application/json", r#"{"purpose": "file-extract"}"#)
            .await
            .expect("answers"),
        "multipart/form-data",
    )
    .await;
    assert_invalid_request(
        raw(
            "multipart/form-data; boundary=XYZ",
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nunterminated",
        )
        .await
        .expect("answers"),
        "the `file` part of the multipart/form-data body cannot be read",
    )
    .await;

    assert_eq!(server.file_ids(), ids_before, "nothing was stored");
    assert_eq!(server.upload_memory(), 0);
}

#[tokio::test]
async fn a_file_over_100_mb_is_refused_without_being_read_whole() {
    let server = start_without_delay().await;
    let sent = Arc::new(AtomicU64::new(0));
    let chunk = Bytes::from(vec![b'a'; 1024 * 1024]);
    let total = 2 * MAX_FILE_BYTES;
    let counter = Arc::clone(&sent);
    // A generated body twice the limit, counting what the server takes from it.
    let body = futures::stream::iter((0..total / chunk.len() as u64).map(move |_| {
        counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(chunk.clone())
    }));
    let part = Part::stream(reqwest::Body::wrap_stream(body)).file_name("huge.txt");
    let response = upload_part(&server, part, Some("file-extract")).await;

    assert_refused(response, 413, "the `file` part is too large").await;
    let taken = sent.load(Ordering::SeqCst);
    assert!(taken > MAX_FILE_BYTES, "refused after only {taken} bytes");
    // The server stopped reading: the client could not send the rest.
    assert!(taken < total, "the whole body was read");
    assert_eq!(server.upload_memory(), 0);
    assert_eq!(server.file_ids().len(), 4);
}

#[tokio::test]
async fn the_file_after_the_thousandth_is_refused() {
    let server = MockServer::builder()
        .files([])
        .processing_delay(Duration::ZERO)
        .start()
        .await
        .expect("server starts");
    for i in 0..1_000 {
        let response = upload(&server, &format!("note-{i}.txt"), b"x").await;
        assert_eq!(response.status(), 200, "upload {i}");
    }
    assert_invalid_request(upload(&server, "one-more.txt", b"x").await, "at most 1000").await;
    assert_eq!(server.file_ids().len(), 1_000);

    let first = server.file_ids().remove(0);
    assert_eq!(
        delete(&server, &format!("/v1/files/{first}"))
            .await
            .status(),
        200
    );
    assert_eq!(upload(&server, "one-more.txt", b"x").await.status(), 200);
}

#[tokio::test]
async fn the_memory_limit_refuses_uploads_until_files_are_deleted() {
    let server = start_with_memory_limit(100_000).await;
    let text = vec![b't'; 40_000];
    let first = json(upload(&server, "a.txt", &text).await).await;
    assert_eq!(upload(&server, "b.txt", &text).await.status(), 200);
    assert_eq!(server.upload_memory(), 80_000);

    assert_invalid_request(
        upload(&server, "c.txt", &text).await,
        "memory limit of 100000 bytes",
    )
    .await;
    assert_eq!(
        server.upload_memory(),
        80_000,
        "the refused upload freed its buffer"
    );
    // An image keeps no bytes once stored, but is read into memory first.
    assert_invalid_request(upload(&server, "c.png", &text).await, "memory limit").await;

    let id = first["id"].as_str().expect("an id");
    assert_eq!(
        delete(&server, &format!("/v1/files/{id}")).await.status(),
        200
    );
    assert_eq!(server.upload_memory(), 40_000);
    assert_eq!(upload(&server, "c.txt", &text).await.status(), 200);
    assert_eq!(server.upload_memory(), 80_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_stay_within_the_memory_limit() {
    let server = start_with_memory_limit(100_000).await;
    let text = vec![b't'; 30_000];
    let names: Vec<String> = (0..10).map(|i| format!("{i}.txt")).collect();
    let uploads = names.iter().map(|name| upload(&server, name, &text));
    let statuses: Vec<u16> = futures::future::join_all(uploads)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    let stored = statuses.iter().filter(|&&status| status == 200).count();
    assert!(stored <= 3, "{statuses:?}");
    assert_eq!(stored + statuses.iter().filter(|&&s| s == 400).count(), 10);
    assert_eq!(server.upload_memory(), 30_000 * stored as u64);
    // The refused uploads gave back what they had reserved: the room left is usable.
    let next = upload(&server, "next.txt", &text).await.status();
    assert_eq!(next == 200, stored < 3, "{statuses:?}, then {next}");
}

#[tokio::test]
async fn an_upload_without_the_key_is_refused_and_not_stored() {
    let server = MockServer::builder()
        .api_key("sk-files")
        .start()
        .await
        .expect("server starts");
    let response = upload(&server, "a.txt", b"secret").await;
    assert_eq!(response.status(), 401);
    assert_eq!(server.file_ids().len(), 4);
    let keyed = Form::new()
        .part("file", Part::bytes(b"secret".to_vec()).file_name("a.txt"))
        .text("purpose", "file-extract");
    let response = upload_form(&server, keyed, Some("sk-files")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.file_ids().len(), 5);
}

#[tokio::test]
async fn file_names_with_backslashes_and_quotes_come_back_as_sent() {
    let server = start_without_delay().await;
    for name in [
        r"back\slash.txt",
        r#"say "hi".txt"#,
        r#"both\" and "\.txt"#,
        r"ends in a backslash\",
    ] {
        let created = json(upload(&server, name, b"Kimi reads it.").await).await;
        assert_eq!(created["filename"], name, "{created}");
        let id = created["id"].as_str().expect("a string id");
        let retrieved = json(get(&server, &format!("/v1/files/{id}"), None).await).await;
        assert_eq!(retrieved["filename"], name);
        let content = get(&server, &format!("/v1/files/{id}/content"), None)
            .await
            .text()
            .await
            .expect("a complete body");
        let envelope: Value = serde_json::from_str(&content).expect("the content is JSON");
        assert_eq!(envelope["filename"], name);
    }
}

/// Sends `form` to the upload with `key`, on a fresh connection (the test client keeps none), and
/// returns the status or the transport error.
async fn send_upload(
    server: &MockServer,
    form: Form,
    key: Option<&str>,
) -> Result<u16, reqwest::Error> {
    let mut request = client()
        .post(format!("{}/v1/files", server.base_url()))
        .multipart(form);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request
        .send()
        .await
        .map(|response| response.status().as_u16())
}

// Client and server on threads of their own, as in use: the server answers while the client
// still writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_refused_early_is_answered_not_reset() {
    let keyed = MockServer::builder()
        .api_key("sk-right")
        .processing_delay(Duration::ZERO)
        .start()
        .await
        .expect("server starts");
    let small_memory = start_with_memory_limit(10).await;
    let open = start_without_delay().await;
    for (round, size) in [16 * 1024, 200 * 1024, 1024 * 1024, 4 * 1024 * 1024]
        .into_iter()
        .cycle()
        .take(200)
        .enumerate()
    {
        let data = vec![b'a'; size];
        // A wrong key: refused before the body is read. Over the memory limit: refused after
        // the file's first bytes. A bad field before the file: refused before the file is read.
        for (server, purpose, key, expected) in [
            (&keyed, "file-extract", Some("sk-wrong"), 401),
            (&small_memory, "file-extract", None, 400),
            (&open, "two words", None, 400),
        ] {
            let form = Form::new()
                .text("purpose", purpose)
                .part("file", Part::bytes(data.clone()).file_name("a.txt"));
            let status = send_upload(server, form, key).await;
            assert_eq!(
                status.map_err(|e| format!("{e:?}")),
                Ok(expected),
                "round {round}, {size} bytes, purpose {purpose:?}"
            );
        }
    }
    assert_eq!(small_memory.upload_memory(), 0);
}
