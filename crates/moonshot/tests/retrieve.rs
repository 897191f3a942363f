//! `files().retrieve()`: decoding, every error kind, and ids refused before any request.

mod support;

use httpmock::prelude::*;
use moonshot::files::{FileStatus, Purpose};
use moonshot::{Error, RetryPolicy};
use serde_json::json;
use support::{API_KEY, Reply, ScriptedServer, client, client_with, file_object};

const ID: &str = "clg681objj8g9m7n4je0";

#[tokio::test]
async fn decodes_a_file_and_sends_exactly_the_documented_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/v1/files/{ID}"))
                .header("authorization", format!("Bearer {API_KEY}"))
                .header(
                    "user-agent",
                    concat!("moonshot-rs/", env!("CARGO_PKG_VERSION")),
                )
                .header_missing("api-version");
            then.status(200)
                .header("msh-request-id", "req-1")
                .json_body(file_object(ID));
        })
        .await;

    let file = client(&server.base_url())
        .files()
        .retrieve(ID)
        .await
        .expect("retrieves");

    mock.assert_async().await;
    assert_eq!(file.id, ID);
    assert_eq!(file.bytes, 761790);
    assert_eq!(file.created_at, 1700815879);
    assert_eq!(file.filename, "xlnet.pdf");
    assert_eq!(file.purpose, Purpose::FileExtract);
    assert_eq!(file.status, FileStatus::Ok);
    assert!(file.status.is_ready());
}

#[tokio::test]
async fn a_base_url_ending_in_v1_works_too() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{ID}"));
            then.status(200).json_body(file_object(ID));
        })
        .await;

    client(&format!("{}/v1/", server.base_url()))
        .files()
        .retrieve(ID)
        .await
        .expect("retrieves");

    mock.assert_async().await;
}

#[tokio::test]
async fn unknown_enum_values_and_extra_fields_decode() {
    let server = MockServer::start_async().await;
    let mut body = file_object(ID);
    body["purpose"] = json!("batch_output");
    body["status"] = json!("processing");
    body["new_field"] = json!({"nested": [1, 2, 3]});
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{ID}"));
            then.status(200).json_body(body);
        })
        .await;

    let file = client(&server.base_url())
        .files()
        .retrieve(ID)
        .await
        .expect("decodes");

    assert_eq!(file.purpose, Purpose::Other("batch_output".into()));
    assert_eq!(file.purpose.to_string(), "batch_output");
    assert_eq!(file.status, FileStatus::Other("processing".into()));
    assert!(!file.status.is_ready());
    assert_eq!(FileStatus::from("ready"), FileStatus::Ready);
}

#[tokio::test]
async fn a_missing_required_field_fails_clearly_with_the_status_kept() {
    let server = MockServer::start_async().await;
    let mut body = file_object(ID);
    body.as_object_mut().expect("object").remove("bytes");
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{ID}"));
            then.status(200)
                .header("msh-request-id", "req-2")
                .json_body(body);
        })
        .await;

    let err = client(&server.base_url())
        .files()
        .retrieve(ID)
        .await
        .expect_err("bytes is required");

    let Error::UndecodableResponse {
        status,
        detail,
        snippet,
        request_id,
        ..
    } = &err
    else {
        panic!("expected UndecodableResponse, got {err:?}");
    };
    assert_eq!(*status, 200);
    assert!(detail.contains("missing field `bytes`"), "{detail}");
    assert!(snippet.starts_with("{\""), "{snippet}");
    assert_eq!(request_id.as_deref(), Some("req-2"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn malformed_json_is_undecodable_with_a_short_snippet() {
    let server = MockServer::start_async().await;
    let body = format!("{{\"id\": \"{ID}\", {}", "x".repeat(5000));
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{ID}"));
            then.status(200)
                .header("content-type", "application/json")
                .body(body);
        })
        .await;

    let err = client(&server.base_url())
        .files()
        .retrieve(ID)
        .await
        .expect_err("malformed");

    let Error::UndecodableResponse {
        status, snippet, ..
    } = &err
    else {
        panic!("got {err:?}")
    };
    assert_eq!(*status, 200);
    assert!(
        snippet.chars().count() <= 301,
        "{} chars",
        snippet.chars().count()
    );
    assert!(
        err.to_string()
            .starts_with("undecodable response (status 200)"),
        "{err}"
    );
}

/// Whether an error is of the expected variant.
type IsKind = fn(&Error) -> bool;

/// Each status and `error.type` Moonshot sends maps to its own variant, with every detail kept.
#[tokio::test]
async fn every_api_error_kind_is_told_apart() {
    let cases: [(u16, &str, IsKind, bool); 10] = [
        (
            400,
            "invalid_request_error",
            |e| matches!(e, Error::BadRequest(_)),
            false,
        ),
        (
            400,
            "content_filter",
            |e| matches!(e, Error::ContentFiltered(_)),
            false,
        ),
        (
            401,
            "invalid_authentication_error",
            |e| matches!(e, Error::Authentication(_)),
            false,
        ),
        (
            403,
            "permission_denied_error",
            |e| matches!(e, Error::PermissionDenied(_)),
            false,
        ),
        (
            404,
            "resource_not_found_error",
            |e| matches!(e, Error::NotFound(_)),
            false,
        ),
        (
            429,
            "rate_limit_reached_error",
            |e| matches!(e, Error::RateLimited(_)),
            true,
        ),
        (
            429,
            "exceeded_current_quota_error",
            |e| matches!(e, Error::QuotaExceeded(_)),
            false,
        ),
        (
            429,
            "engine_overloaded_error",
            |e| matches!(e, Error::Overloaded(_)),
            true,
        ),
        (500, "server_error", |e| matches!(e, Error::Server(_)), true),
        (
            418,
            "teapot_error",
            |e| matches!(e, Error::UnexpectedStatus(_)),
            false,
        ),
    ];
    for (status, error_type, is_kind, retryable) in cases {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                when.method(GET).path(format!("/v1/files/{ID}"));
                then.status(status)
                    .header("msh-request-id", "req-42")
                    .json_body(json!({"error": {"message": "it went wrong", "type": error_type, "code": "E1"}}));
            })
            .await;
        let client = client_with(&server.base_url(), RetryPolicy::none());

        let err = client.files().retrieve(ID).await.expect_err("fails");

        assert!(is_kind(&err), "{status} {error_type}: got {err:?}");
        assert_eq!(err.status(), Some(status), "{error_type}");
        assert_eq!(err.request_id(), Some("req-42"), "{error_type}");
        assert_eq!(err.is_retryable(), retryable, "{error_type}");
        let api = err.api_error().expect("api details");
        assert_eq!(api.error_type.as_deref(), Some(error_type));
        assert_eq!(api.message, "it went wrong");
        assert_eq!(api.code.as_deref(), Some("E1"));
        assert_eq!(api.attempts, 1);
        assert_eq!(
            err.to_string().split(": ").nth(1),
            Some(format!("{status} {error_type}").as_str()),
            "{err}"
        );
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn an_html_500_keeps_its_status_and_a_snippet_of_the_page() {
    let server = ScriptedServer::start(vec![Reply::text(
        500,
        "text/html",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    )])
    .await;
    let client = client_with(&server.base_url(), RetryPolicy::none());

    let err = client.files().retrieve(ID).await.expect_err("500");

    let Error::Server(api) = &err else {
        panic!("expected Server, got {err:?}")
    };
    assert_eq!(api.status, 500);
    assert!(
        api.message.starts_with("<html><body><h1>502 Bad Gateway"),
        "{}",
        api.message
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_503_with_a_plain_body_is_overload() {
    let server = ScriptedServer::start(vec![Reply::text(503, "text/plain", "upstream busy")]).await;
    let client = client_with(&server.base_url(), RetryPolicy::none());

    let err = client.files().retrieve(ID).await.expect_err("503");

    assert!(
        matches!(&err, Error::Overloaded(api) if api.status == 503 && api.message == "upstream busy"),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_ids_are_refused_before_any_request() {
    let server = ScriptedServer::start(vec![Reply::json(200, &file_object(ID))]).await;
    let client = client(&server.base_url());
    let long = "a".repeat(257);
    for id in [
        "",
        "   ",
        ".",
        "..",
        "abc\ndef",
        "tab\there",
        "nul\0",
        long.as_str(),
    ] {
        let err = client.files().retrieve(id).await.expect_err(id);
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    name: "file id",
                    ..
                }
            ),
            "{id:?}: {err:?}"
        );
        assert!(err.to_string().starts_with("invalid file id: "), "{err}");
        let err = client.files().content(id).await.expect_err(id);
        assert!(matches!(err, Error::InvalidInput { .. }), "{id:?}: {err:?}");
        let err = client
            .files()
            .content_to_writer(id, &mut Vec::new())
            .await
            .expect_err(id);
        assert!(matches!(err, Error::InvalidInput { .. }), "{id:?}: {err:?}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn other_ids_are_percent_encoded_and_stay_under_files() {
    let server = ScriptedServer::start(vec![Reply::json(200, &file_object("x"))]).await;
    let client = client(&server.base_url());
    for id in ["a/b", "../secret", "a?b=c", "a#b", "ü-ñ", "..."] {
        client.files().retrieve(id).await.expect(id);
    }
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.split_whitespace()
                .nth(1)
                .expect("request target")
                .to_owned()
        })
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/files/a%2Fb",
            "/v1/files/..%2Fsecret",
            "/v1/files/a%3Fb=c",
            "/v1/files/a%23b",
            "/v1/files/%C3%BC-%C3%B1",
            "/v1/files/..."
        ]
    );
}

#[test]
fn the_client_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<moonshot::Client>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
    // Small enough that `Result<T, Error>` stays cheap to return (clippy's large-error bound).
    assert!(
        std::mem::size_of::<Error>() < 128,
        "{}",
        std::mem::size_of::<Error>()
    );
}

#[tokio::test]
async fn a_caller_supplied_http_client_is_used_with_our_headers_added() {
    let server = ScriptedServer::start(vec![Reply::json(200, &file_object(ID))]).await;
    let mut proxy_headers = reqwest::header::HeaderMap::new();
    proxy_headers.insert(
        "x-through-proxy",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    let http = reqwest::Client::builder()
        .default_headers(proxy_headers)
        .build()
        .expect("http client");
    let client = moonshot::Client::builder()
        .api_key(API_KEY)
        .base_url(server.base_url())
        .user_agent("my-service/2.1")
        .http_client(http)
        .build()
        .expect("client");

    client.files().retrieve(ID).await.expect("retrieves");

    let request = server.requests().remove(0).to_ascii_lowercase();
    assert!(request.contains("x-through-proxy: yes"), "{request}");
    assert!(
        request.contains(&format!(
            "authorization: bearer {}",
            API_KEY.to_ascii_lowercase()
        )),
        "{request}"
    );
    assert!(request.contains("user-agent: my-service/2.1"), "{request}");
}

#[test]
fn call_futures_stay_near_the_generated_calls_size() {
    // A generated call's future is large (1.6 KB); each async layer that took it by value and
    // awaited it would hold it twice, and a caller spawning many calls pays for every copy.
    let client = moonshot::Client::new("sk-test").expect("a key is set");
    let api = moonshot_api::Client::new("http://127.0.0.1:9");
    let files = client.files();
    for (name, size, generated) in [
        (
            "retrieve",
            std::mem::size_of_val(&files.retrieve("file-1")),
            std::mem::size_of_val(&api.retrieve_file("file-1")),
        ),
        (
            "content",
            std::mem::size_of_val(&files.content("file-1")),
            std::mem::size_of_val(&api.retrieve_file_content("file-1")),
        ),
    ] {
        assert!(
            size < generated + 1024,
            "{name}'s future is {size} bytes, the generated call's {generated}"
        );
    }
}

/// The generated code reads the body of a documented error status (404, 500) whole; the client
/// reads no more than the start of any error body, however long the server says it is.
#[tokio::test]
async fn an_error_body_is_read_only_in_part() {
    let error = json!({"error": {"message": "gone", "type": "resource_not_found_error"}});
    for status in [404, 500, 418] {
        let server = ScriptedServer::start(vec![Reply::Endless {
            status,
            start: error.to_string().into_bytes(),
        }])
        .await;
        let started = std::time::Instant::now();

        let err = client_with(&server.base_url(), RetryPolicy::none())
            .files()
            .retrieve(ID)
            .await
            .expect_err("an error status");

        assert_eq!(err.status(), Some(status), "{err}");
        assert!(err.to_string().contains("gone"), "{err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{status}: read until the timeout"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();

    let err = client_with(&format!("http://127.0.0.1:{port}"), RetryPolicy::none())
        .files()
        .retrieve(ID)
        .await
        .expect_err("nothing listens");

    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{err}"
    );
}
