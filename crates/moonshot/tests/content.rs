//! `files().content()` and `files().content_to_writer()`: the body exactly as served, its
//! parsed fields, and streaming.

mod support;

use moonshot::Error;
use support::{Reply, ScriptedServer, client};

const ID: &str = "file-1";
const BODY: &str = r#"{"content": "Attention is all you need.\n第二行", "file_type": "application/pdf", "filename": "x.pdf", "title": "", "type": "file"}"#;

#[tokio::test]
async fn content_is_the_body_exactly_as_served_and_parses_into_fields() {
    let server = ScriptedServer::start(vec![Reply::text(200, "text/plain", BODY)]).await;

    let content = client(&server.base_url())
        .files()
        .content(ID)
        .await
        .expect("content");

    assert_eq!(content.as_str(), BODY);
    assert_eq!(content.to_string(), BODY);
    let parsed = content.parsed();
    assert!(parsed.structured);
    assert_eq!(parsed.content, "Attention is all you need.\n第二行");
    assert_eq!(parsed.file_type.as_deref(), Some("application/pdf"));
    assert_eq!(parsed.filename.as_deref(), Some("x.pdf"));
    assert_eq!(parsed.title.as_deref(), Some(""));
    assert_eq!(parsed.kind.as_deref(), Some("file"));
    assert!(server.requests()[0].starts_with(&format!("GET /v1/files/{ID}/content HTTP/1.1")));
    assert_eq!(content.into_string(), BODY);
}

#[tokio::test]
async fn a_plain_text_body_falls_back_to_the_whole_body_as_content() {
    for body in ["just some text", "{\"no_content_field\": 1}", "[1, 2]", ""] {
        let server = ScriptedServer::start(vec![Reply::text(200, "text/plain", body)]).await;

        let parsed = client(&server.base_url())
            .files()
            .content(ID)
            .await
            .expect("content")
            .parsed();

        assert!(!parsed.structured, "{body}");
        assert_eq!(parsed.content, body);
        assert_eq!(parsed.filename, None);
    }
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_undecodable() {
    let server = ScriptedServer::start(vec![Reply::text(
        200,
        "text/plain",
        vec![b'o', b'k', 0xff, 0xfe],
    )])
    .await;

    let err = client(&server.base_url())
        .files()
        .content(ID)
        .await
        .expect_err("not UTF-8");

    assert!(
        matches!(&err, Error::UndecodableResponse { status: 200, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn content_errors_are_mapped_like_retrieve() {
    let not_found = support::moonshot_error("resource_not_found_error", "file not found");
    let server = ScriptedServer::start(vec![
        Reply::json(404, &not_found).header("msh-request-id", "req-9"),
    ])
    .await;

    let err = client(&server.base_url())
        .files()
        .content(ID)
        .await
        .expect_err("404");

    assert!(
        matches!(&err, Error::NotFound(api) if api.message == "file not found"),
        "{err:?}"
    );
    assert_eq!(err.request_id(), Some("req-9"));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn an_extraction_failure_is_told_apart_and_not_retried() {
    let failed = support::moonshot_error("", "extract task failed: unsupported file");
    let server = ScriptedServer::start(vec![Reply::json(500, &failed)]).await;

    let err = client(&server.base_url())
        .files()
        .content(ID)
        .await
        .expect_err("500");

    let Error::ExtractionFailed(api) = &err else {
        panic!("got {err:?}")
    };
    assert_eq!(api.message, "extract task failed: unsupported file");
    assert_eq!(api.error_type, None, "an empty type is no type");
    assert!(!err.is_retryable());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn content_streams_into_a_writer() {
    let big = format!("{{\"content\": \"{}\"}}", "lorem ipsum ".repeat(100_000));
    let server = ScriptedServer::start(vec![Reply::text(200, "text/plain", big.clone())]).await;
    let mut out = Vec::new();

    let written = client(&server.base_url())
        .files()
        .content_to_writer(ID, &mut out)
        .await
        .expect("streams");

    assert_eq!(written, big.len() as u64);
    assert_eq!(out, big.as_bytes());
}

#[tokio::test]
async fn streaming_retries_before_the_body_but_not_after_bytes_were_written() {
    let busy = Reply::json(503, &support::moonshot_error("", "busy"));
    let server = ScriptedServer::start(vec![busy, Reply::text(200, "text/plain", BODY)]).await;
    let mut out = Vec::new();
    client(&server.base_url())
        .files()
        .content_to_writer(ID, &mut out)
        .await
        .expect("second attempt");
    assert_eq!(out, BODY.as_bytes());
    assert_eq!(server.hits(), 2);

    let cut = Reply::Truncated {
        declared: 1000,
        body: b"partial".to_vec(),
    };
    let server = ScriptedServer::start(vec![cut, Reply::text(200, "text/plain", BODY)]).await;
    let mut out = Vec::new();
    let err = client(&server.base_url())
        .files()
        .content_to_writer(ID, &mut out)
        .await
        .expect_err("cut");
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert_eq!(server.hits(), 1, "bytes reached the writer: no retry");
}

#[tokio::test]
async fn a_failing_writer_is_a_write_error() {
    struct Broken;
    impl tokio::io::AsyncWrite for Broken {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Err(std::io::Error::other("disk full")))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
    let server = ScriptedServer::start(vec![Reply::text(200, "text/plain", BODY)]).await;

    let err = client(&server.base_url())
        .files()
        .content_to_writer(ID, &mut Broken)
        .await
        .expect_err("broken");

    assert!(
        matches!(&err, Error::Write(e) if e.to_string() == "disk full"),
        "{err:?}"
    );
}
