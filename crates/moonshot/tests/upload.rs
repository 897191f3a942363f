//! Uploads on a scripted server on 127.0.0.1: the multipart body as it reaches the server,
//! retries from a path, none from a one-shot reader, and bad input refused before any request.

mod support;

use std::time::Duration;

use moonshot::Error;
use moonshot::files::Purpose;
use serde_json::json;
use support::{Reply, ScriptedServer, client, file_object, moonshot_error};

fn uploaded(name: &str) -> Reply {
    let mut file = file_object("file-up-1");
    file["filename"] = json!(name);
    file["status"] = json!("processing");
    Reply::json(200, &file)
}

/// A file in a fresh temporary directory.
fn temp_file(name: &str, contents: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write");
    (dir, path)
}

/// The multipart boundary of a request head.
fn boundary(head: &str) -> String {
    let line = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("content-type: multipart/form-data")
        })
        .unwrap_or_else(|| panic!("not multipart: {head}"));
    line.split("boundary=")
        .nth(1)
        .expect("boundary")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_multipart_body_carries_the_file_its_name_type_and_purpose() {
    let server = ScriptedServer::start(vec![uploaded("notes.txt")]).await;
    let (_dir, path) = temp_file("notes.txt", b"The quick brown fox.\n");

    let file = client(&server.base_url())
        .files()
        .upload(&path, Purpose::FileExtract)
        .await
        .expect("uploads");

    assert_eq!(file.id, "file-up-1");
    assert_eq!(file.status.as_str(), "processing");
    let head = &server.requests()[0];
    assert!(head.starts_with("POST /v1/files HTTP/1.1"), "{head}");
    let boundary = boundary(head);
    let body = String::from_utf8(server.bodies()[0].clone()).expect("text body");
    let expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfile-extract\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nThe quick brown fox.\n\r\n--{boundary}--\r\n"
    );
    assert_eq!(body, expected);
    // The length was known, so it was declared.
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", expected.len()))
    );
}

#[tokio::test]
async fn any_purpose_goes_through_and_one_with_spaces_is_refused() {
    let server = ScriptedServer::start(vec![uploaded("a.jsonl")]).await;
    let (_dir, path) = temp_file("a.jsonl", b"{}\n");
    let client = client(&server.base_url());

    client
        .files()
        .upload(&path, "batch-output-v2")
        .await
        .expect("an unlisted purpose is sent as given");
    let body = String::from_utf8_lossy(&server.bodies()[0]).into_owned();
    assert!(body.contains("\r\n\r\nbatch-output-v2\r\n"), "{body}");

    let err = client
        .files()
        .upload(&path, "file extract")
        .await
        .expect_err("a purpose with a space");
    assert!(
        matches!(&err, Error::InvalidInput { name: "purpose", reason } if reason.contains("\"file extract\"")),
        "{err}"
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_failed_upload_from_a_path_is_retried_with_the_whole_file_again() {
    let server = ScriptedServer::start(vec![
        Reply::json(503, &moonshot_error("engine_overloaded_error", "busy")),
        uploaded("data.csv"),
    ])
    .await;
    let (_dir, path) = temp_file("data.csv", b"a,b\n1,2\n");

    let file = client(&server.base_url())
        .files()
        .upload(&path, Purpose::FileExtract)
        .await
        .expect("the retry succeeds");

    assert_eq!(file.filename, "data.csv");
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    for body in &bodies {
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains("a,b\n1,2\n\r\n--"),
            "the whole file each time: {text}"
        );
    }
}

#[tokio::test]
async fn a_one_shot_reader_is_sent_once_and_the_error_says_why() {
    let server = ScriptedServer::start(vec![Reply::json(
        503,
        &moonshot_error("engine_overloaded_error", "busy"),
    )])
    .await;

    let err = client(&server.base_url())
        .files()
        .upload_reader(&b"streamed text"[..], "stream.txt", Purpose::FileExtract)
        .await
        .expect_err("a 503");

    assert_eq!(server.hits(), 1, "not retried");
    assert!(matches!(&err, Error::NotReplayed { .. }), "{err:?}");
    assert!(err.to_string().contains("one-shot reader"), "{err}");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.attempts(), 1);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_reader_streams_chunked_and_a_success_decodes() {
    let server = ScriptedServer::start(vec![uploaded("stream.txt")]).await;

    let file = client(&server.base_url())
        .files()
        .upload_reader(&b"streamed text"[..], "stream.txt", "file-extract")
        .await
        .expect("uploads");

    assert_eq!(file.filename, "stream.txt");
    let head = server.requests()[0].to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let body = String::from_utf8_lossy(&server.bodies()[0]).into_owned();
    assert!(body.contains("filename=\"stream.txt\""), "{body}");
    assert!(body.contains("\r\n\r\nstreamed text\r\n"), "{body}");
}

#[tokio::test]
async fn bad_paths_are_refused_before_any_request() {
    let server = ScriptedServer::start(vec![uploaded("x")]).await;
    let client = client(&server.base_url());
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").expect("write");
    let huge = dir.path().join("huge.bin");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(moonshot::files::MAX_UPLOAD_BYTES + 1))
        .expect("a sparse file over the limit");
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (dir.path().join("missing.pdf"), "does not exist"),
        (dir.path().to_owned(), "is a directory"),
        (empty, "is empty"),
        (huge, "over Moonshot's limit of 100 MB"),
    ];
    for (path, why) in cases {
        let err = client
            .files()
            .upload(&path, Purpose::FileExtract)
            .await
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(&err, Error::InvalidInput { name: "path", .. }),
            "{path:?}: {text}"
        );
        assert!(
            text.contains(why) && text.contains(&path.display().to_string()),
            "{text}"
        );
        assert_eq!(err.attempts(), 0);
    }
    assert_eq!(server.hits(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn an_unreadable_file_and_a_non_utf8_name_are_refused_before_any_request() {
    use std::os::unix::ffi::OsStrExt as _;
    use std::os::unix::fs::PermissionsExt as _;

    let server = ScriptedServer::start(vec![uploaded("x")]).await;
    let client = client(&server.base_url());
    let dir = tempfile::tempdir().expect("tempdir");

    let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&odd, b"text").expect("write");
    let err = client
        .files()
        .upload(&odd, Purpose::FileExtract)
        .await
        .expect_err("not UTF-8");
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    let locked = dir.path().join("locked.txt");
    std::fs::write(&locked, b"text").expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // Root reads anything; the check only holds where permissions bind.
    if std::fs::File::open(&locked).is_err() {
        let err = client
            .files()
            .upload(&locked, Purpose::FileExtract)
            .await
            .expect_err("unreadable");
        assert!(err.to_string().contains("cannot be read"), "{err}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn an_upload_waits_and_extracts_in_one_call() {
    let mut processing = file_object("file-up-1");
    processing["status"] = json!("processing");
    let server = ScriptedServer::start(vec![
        Reply::json(200, &processing),
        Reply::json(200, &processing),
        Reply::json(200, &file_object("file-up-1")),
        Reply::text(
            200,
            "text/plain",
            r#"{"content": "The text.", "type": "file"}"#,
        ),
    ])
    .await;
    let (_dir, path) = temp_file("notes.txt", b"The text.");
    let started = std::time::Instant::now();

    let (file, content) = client(&server.base_url())
        .files()
        .upload_and_extract(&path)
        .await
        .expect("uploads, waits, extracts");

    assert!(file.status.is_ready());
    assert_eq!(content.parsed().content, "The text.");
    assert_eq!(
        server.request_lines(),
        [
            "POST /v1/files HTTP/1.1",
            "GET /v1/files/file-up-1 HTTP/1.1",
            "GET /v1/files/file-up-1 HTTP/1.1",
            "GET /v1/files/file-up-1/content HTTP/1.1",
        ]
    );
    // One pause of 250 ms between the two looks.
    assert!(started.elapsed() >= Duration::from_millis(250));
}

/// A FIFO in `dir`, made with `mkfifo`.
#[cfg(unix)]
fn fifo(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("pipe.txt");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {path:?}");
    path
}

#[cfg(unix)]
#[tokio::test]
async fn special_files_are_refused_naming_the_path_without_reading_them() {
    let server = ScriptedServer::start(vec![uploaded("x")]).await;
    let client = client(&server.base_url());
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            fifo(dir.path()),
            "is a FIFO (named pipe), not a regular file",
        ),
        ("/dev/zero".into(), "is a device, not a regular file"),
        ("/dev/urandom".into(), "is a device, not a regular file"),
    ];
    for (path, why) in cases {
        // Before, a FIFO waited for a writer forever: bounded here so that it fails instead.
        let err = tokio::time::timeout(
            Duration::from_secs(10),
            client.files().upload(&path, Purpose::FileExtract),
        )
        .await
        .unwrap_or_else(|_| panic!("{path:?} hung"))
        .expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(&err, Error::InvalidInput { name: "path", .. }),
            "{text}"
        );
        assert!(text.contains(why), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("give a regular file"), "{text}");
    }
    // A file the system generates reports 0 bytes, yet is not empty.
    let err = client
        .files()
        .upload("/proc/self/status", Purpose::FileExtract)
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(!text.contains("is empty"), "{text}");
    assert!(text.contains("copy it to a regular file"), "{text}");
    assert_eq!(server.hits(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn a_path_whose_name_holds_a_line_break_is_refused_before_sending() {
    let server = ScriptedServer::start(vec![uploaded("x")]).await;
    let client = client(&server.base_url());
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["a\r\nContent-Type: evil\r\n.txt", "b\n.txt", "c\r.txt"] {
        let path = dir.path().join(name);
        std::fs::write(&path, b"text").expect("write");
        let err = client
            .files()
            .upload(&path, Purpose::FileExtract)
            .await
            .expect_err("refused");
        assert!(
            matches!(
                &err,
                Error::InvalidInput {
                    name: "file name",
                    ..
                }
            ),
            "{name:?}: {err}"
        );
        assert!(err.to_string().contains("cannot name a file"), "{err}");
    }
    assert_eq!(server.hits(), 0);
}

/// Uploads a 200 KiB file whose size `change` alters once the first chunk is sent.
async fn upload_changing(change: fn(&std::path::Path)) -> (Error, usize) {
    let server = ScriptedServer::start(vec![uploaded("grows.txt")]).await;
    let (_dir, path) = temp_file("grows.txt", &vec![b'a'; 200 * 1024]);
    let watched = path.clone();
    let changed = std::sync::atomic::AtomicBool::new(false);
    let err = client(&server.base_url())
        .files()
        .upload_with_progress(&path, Purpose::FileExtract, move |_, _| {
            if !changed.swap(true, std::sync::atomic::Ordering::Relaxed) {
                change(&watched);
            }
        })
        .await
        .expect_err("the file changed");
    (err, server.hits())
}

#[tokio::test]
async fn a_file_that_changes_size_during_the_upload_is_named_and_not_retried() {
    let shrink = |path: &std::path::Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(70 * 1024))
            .expect("shrink");
    };
    let grow = |path: &std::path::Path| {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(b"more"))
            .expect("grow");
    };
    for (change, now) in [
        (shrink as fn(&std::path::Path), "71680 bytes now"),
        (grow, "over 204800 now"),
    ] {
        let (err, hits) = upload_changing(change).await;
        let text = err.to_string();
        assert!(
            matches!(&err, Error::InvalidInput { name: "path", .. }),
            "{err:?}"
        );
        assert!(text.contains("changed size during the upload"), "{text}");
        assert!(text.contains(now), "{text}");
        assert!(text.contains("grows.txt"), "{text}");
        assert!(!err.is_retryable());
        assert!(hits <= 1, "sent {hits} times");
    }
}

#[tokio::test]
async fn a_file_whose_extraction_fails_is_deleted() {
    let mut processing = file_object("file-up-1");
    processing["status"] = json!("processing");
    let mut failed = file_object("file-up-1");
    failed["status"] = json!("failed");
    failed["status_details"] = json!("no text layer");
    let deleted = json!({"id": "file-up-1", "object": "file", "deleted": true});
    let server = ScriptedServer::start(vec![
        Reply::json(200, &processing),
        Reply::json(200, &failed),
        Reply::json(200, &deleted),
    ])
    .await;
    let (_dir, path) = temp_file("scan.pdf", b"%PDF-1.4 scan");

    let err = client(&server.base_url())
        .files()
        .upload_and_extract(&path)
        .await
        .expect_err("processing failed");

    assert!(matches!(err, Error::ProcessingFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("no text layer"), "{err}");
    assert_eq!(
        server.request_lines(),
        [
            "POST /v1/files HTTP/1.1",
            "GET /v1/files/file-up-1 HTTP/1.1",
            "DELETE /v1/files/file-up-1 HTTP/1.1",
        ]
    );
}
