//! A Kimi K3 request as its page documents it (`reasoning_effort`, a dynamic tool message,
//! `max_completion_tokens`): valid against the merged document, and answered. The same body is
//! what the facade's builder writes (crates/moonshot/tests/chat.rs).

mod common;

use common::{Enums, assert_valid, component_validator, json, post_json};
use moonshot_mock::MockServer;
use serde_json::Value;

fn request() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/kimi-k3-request.json"
    ))
    .expect("the fixture");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn the_documented_kimi_k3_request_fits_the_merged_request_schema() {
    let validator = component_validator("CreateChatCompletionRequest", Enums::Closed);
    assert_valid(&validator, &request(), "the Kimi K3 request");
    // And the schema is not so loose that anything fits: a system message with neither
    // content nor tools is neither kind of message.
    let mut wrong = request();
    wrong["messages"][1] = serde_json::json!({"role": "system"});
    assert!(
        !validator.is_valid(&wrong),
        "a message without content or tools"
    );
}

#[tokio::test]
async fn the_local_server_answers_it() {
    let server = MockServer::builder().start().await.expect("server");

    let response = post_json(&server, "/v1/chat/completions", &request()).await;

    assert_eq!(response.status(), 200);
    let answer = json(response).await;
    assert_eq!(answer["model"], "kimi-k3");
    assert!(answer["choices"][0]["message"].is_object(), "{answer}");
}
