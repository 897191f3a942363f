//! `POST /v1/tokenizers/estimate-token-count`: a deterministic estimate and Moonshot's errors.

mod common;

use common::{json, post_json};
use moonshot_mock::MockServer;
use serde_json::{Value, json};

const ESTIMATE: &str = "/v1/tokenizers/estimate-token-count";

async fn total_tokens(server: &MockServer, messages: Value) -> u64 {
    let response = post_json(
        server,
        ESTIMATE,
        &json!({"model": "kimi-k2.5", "messages": messages}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["code"], 0);
    assert_eq!(body["status"], true);
    body["data"]["total_tokens"].as_u64().expect("a count")
}

#[tokio::test]
async fn the_estimate_is_deterministic_and_follows_the_documented_formula() {
    let server = MockServer::start().await.expect("server starts");
    let one = json!([{"role": "user", "content": "Hello, Kimi!"}]);
    // 3 for the reply, 4 for the message, ceil(12 bytes / 4).
    assert_eq!(total_tokens(&server, one.clone()).await, 3 + 4 + 3);
    assert_eq!(
        total_tokens(&server, one).await,
        10,
        "the same request, the same count"
    );

    // 6 Chinese characters are 18 bytes: ceil(18 / 4) = 5.
    let chinese = json!([{"role": "user", "content": "月之暗面你好"}]);
    assert_eq!(total_tokens(&server, chinese).await, 3 + 4 + 5);

    let with_image = json!([
        {"role": "system", "content": "You are Kimi."},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "text", "text": "What is this?"},
        ]},
    ]);
    assert_eq!(
        total_tokens(&server, with_image).await,
        3 + (4 + 4) + (4 + 1024 + 4)
    );
}

#[tokio::test]
async fn bad_requests_are_refused_in_moonshots_shape() {
    let server = MockServer::start().await.expect("server starts");
    let refusal = |body: &'static str| {
        common::client()
            .post(format!("{}{ESTIMATE}", server.base_url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, needle) in [
        ("{not json", "not valid JSON"),
        (
            r#"{"messages": [{"role": "user", "content": "hi"}]}"#,
            "`model` is required",
        ),
        (r#"{"model": "kimi-k2.5"}"#, "`messages` is required"),
        (
            r#"{"model": "kimi-k2.5", "messages": [{"role": "user", "content": ""}]}"#,
            "messages[0]: `content` must not be empty",
        ),
        (
            r#"{"model": "kimi-k2.5", "messages": [{"role": "user", "content": "a"}, {"role": "judge", "content": "b"}]}"#,
            "messages[1]: role \"judge\"",
        ),
    ] {
        let response = refusal(body).await.expect("answers");
        assert_eq!(response.status(), 400, "{body}");
        let error = json(response).await;
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let message = error["error"]["message"].as_str().expect("a message");
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }

    let unknown = post_json(
        &server,
        ESTIMATE,
        &json!({"model": "kimi-k9", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    let error = json(unknown).await;
    assert_eq!(error["error"]["type"], "resource_not_found_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("kimi-k9"))
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_naming_the_limit() {
    let server = MockServer::start().await.expect("server starts");
    let limit = 16 * 1024 * 1024;
    for path in [ESTIMATE, "/v1/chat/completions"] {
        let text = "x".repeat(limit);
        let response = post_json(
            &server,
            path,
            &json!({"model": "kimi-k2.5", "messages": [{"role": "user", "content": text}]}),
        )
        .await;
        assert_eq!(response.status(), 413, "{path}");
        let body = json(response).await;
        assert_eq!(body["error"]["type"], "invalid_request_error", "{path}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("larger than {limit} bytes")),
            "{message}"
        );
    }
}
