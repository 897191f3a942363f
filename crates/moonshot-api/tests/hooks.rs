//! The hooks against a local mock server: what a call context adds to each request, and what
//! it keeps of each response.

use std::time::Duration;

use httpmock::prelude::*;
use moonshot_api::Client;
use moonshot_api::hooks::CallContext;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::json;

const FILE_ID: &str = "clg681objj8g9m7n4je0";

fn file_object() -> serde_json::Value {
    json!({
        "id": FILE_ID, "object": "file", "bytes": 1, "created_at": 1,
        "filename": "a.pdf", "purpose": "file-extract", "status": "ok"
    })
}

fn context(timeout: Option<Duration>) -> CallContext {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer sk-test"));
    CallContext::new(headers, timeout)
}

#[tokio::test]
async fn a_context_adds_its_headers_and_drops_api_version() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/v1/files/{FILE_ID}"))
                .header("authorization", "Bearer sk-test")
                .header_missing("api-version");
            then.status(200).json_body(file_object());
        })
        .await;
    let client = Client::new(&server.base_url());

    let (result, _) = context(None).run(client.retrieve_file(FILE_ID)).await;

    assert_eq!(result.expect("the mock matches").into_inner().id, FILE_ID);
    mock.assert_async().await;
}

#[tokio::test]
async fn outside_a_context_nothing_is_added_or_kept() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/v1/files/{FILE_ID}"))
                .header_missing("authorization")
                .header_missing("api-version");
            then.status(200).json_body(file_object());
        })
        .await;

    let result = Client::new(&server.base_url()).retrieve_file(FILE_ID).await;

    assert!(result.is_ok(), "{result:?}");
    assert!(CallContext::take_head().is_none());
    mock.assert_async().await;
}

#[tokio::test]
async fn a_success_keeps_its_status_and_request_id_only() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{FILE_ID}"));
            then.status(200)
                .header("msh-request-id", "req-ok")
                .header("x-other", "1")
                .json_body(file_object());
        })
        .await;
    let client = Client::new(&server.base_url());

    let (result, head) = context(None).run(client.retrieve_file(FILE_ID)).await;

    assert!(result.is_ok(), "{result:?}");
    let head = head.expect("a response arrived");
    assert_eq!(head.status, 200);
    assert_eq!(head.request_id(), Some("req-ok"));
    assert!(head.headers().is_empty(), "{:?}", head.headers());
}

#[tokio::test]
async fn an_error_keeps_every_header_and_each_head_is_taken_once() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{FILE_ID}"));
            then.status(429)
                .header("msh-request-id", "req-429")
                .header("retry-after", "3")
                .json_body(
                    json!({"error": {"message": "slow down", "type": "rate_limit_reached_error"}}),
                );
        })
        .await;
    let client = Client::new(&server.base_url());

    let heads = context(None)
        .scope(async {
            let _ = client.retrieve_file(FILE_ID).await;
            let first = CallContext::take_head();
            (first, CallContext::take_head())
        })
        .await;

    let head = heads.0.expect("a response arrived");
    assert_eq!(head.status, 429);
    assert_eq!(head.request_id(), Some("req-429"));
    assert_eq!(head.headers()["retry-after"], "3");
    assert!(heads.1.is_none(), "a head is taken once");
}

#[tokio::test]
async fn a_context_timeout_bounds_the_request() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{FILE_ID}"));
            then.status(200)
                .delay(Duration::from_secs(5))
                .json_body(file_object());
        })
        .await;
    let client = Client::new(&server.base_url());

    let (result, head) = context(Some(Duration::from_millis(200)))
        .run(client.retrieve_file(FILE_ID))
        .await;

    match result {
        Err(moonshot_api::Error::CommunicationError(e)) => assert!(e.is_timeout(), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(head.is_none());
}

/// The rate-limit headers are looked up only for a context that asks for them: every other call
/// is spared the lookups.
#[tokio::test]
async fn rate_limit_headers_are_kept_only_when_the_context_reads_them() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{FILE_ID}"));
            then.status(200)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", "1.5")
                .json_body(file_object());
        })
        .await;
    let client = Client::new(&server.base_url());

    let (_, plain) = context(None).run(client.retrieve_file(FILE_ID)).await;
    let reading = context(None).reading_rate_limits();
    let (_, paced) = reading.run(client.retrieve_file(FILE_ID)).await;

    assert_eq!(plain.expect("a response arrived").rate_limit(), None);
    let paced = paced.expect("a response arrived");
    let (remaining, reset) = paced.rate_limit().expect("both headers kept");
    assert_eq!(
        (remaining.as_bytes(), reset.as_bytes()),
        (&b"0"[..], &b"1.5"[..])
    );
}
