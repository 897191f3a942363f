//! Chat at the edges of the wire format, on a scripted server on 127.0.0.1: JSON answers to a
//! stream request, and body fields the typed request does not know.

mod support;

use futures::StreamExt as _;
use moonshot::Error;
use moonshot::chat::{ChatRequest, arguments};
use serde_json::{Value, json};
use support::{Reply, ScriptedServer, client, moonshot_error};

fn ask() -> ChatRequest {
    ChatRequest::new("kimi-k2.6").user("Hi")
}

/// The error a stream request to `server` ends in.
async fn stream_error(server: &ScriptedServer) -> Error {
    client(&server.base_url())
        .chat()
        .stream(ask())
        .await
        .expect_err("an error")
}

#[tokio::test]
async fn a_json_error_under_200_answering_a_stream_is_its_api_error_not_retried_when_final() {
    let server = ScriptedServer::start(vec![
        Reply::json(
            200,
            &moonshot_error("exceeded_current_quota_error", "your balance is used up"),
        )
        .header("msh-request-id", "req-quota"),
    ])
    .await;

    let err = stream_error(&server).await;

    assert!(matches!(err, Error::QuotaExceeded(_)), "{err:?}");
    let api = err.api_error().expect("an API error");
    assert_eq!(api.status, 200);
    assert_eq!(
        api.error_type.as_deref(),
        Some("exceeded_current_quota_error")
    );
    assert_eq!(api.message, "your balance is used up");
    assert_eq!(err.request_id(), Some("req-quota"));
    assert_eq!(server.hits(), 1, "a used-up quota is not retried");
}

#[tokio::test]
async fn a_json_overload_answering_a_stream_is_retried_as_an_overload() {
    let server = ScriptedServer::start(vec![Reply::json(
        200,
        &moonshot_error("engine_overloaded_error", "busy"),
    )])
    .await;

    let err = stream_error(&server).await;

    assert!(matches!(err, Error::Overloaded(_)), "{err:?}");
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.hits(), 3);
}

fn whole_completion() -> Reply {
    Reply::json(
        200,
        &json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "kimi-k2.6",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Adding.", "reasoning_content": "Easy.",
                "tool_calls": [
                    {"id": "call-1", "type": "function",
                     "function": {"name": "add", "arguments": "{\"a\": 1}"}},
                    {"id": "call-2", "type": "function",
                     "function": {"name": "add", "arguments": "{\"a\": 2}"}}
                ]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
        }),
    )
    .header("msh-request-id", "req-whole")
}

#[tokio::test]
async fn a_whole_completion_answering_a_stream_is_its_one_chunk() {
    let server = ScriptedServer::start(vec![whole_completion()]).await;

    let mut stream = client(&server.base_url())
        .chat()
        .stream(ask())
        .await
        .expect("a whole completion is an answer");
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        chunk.expect("a chunk");
        chunks += 1;
    }

    assert_eq!(chunks, 1);
    assert_eq!(stream.request_id(), Some("req-whole"));
    let answer = stream.answer();
    assert_eq!(answer.content(), "Adding.");
    assert_eq!(answer.reasoning(), Some("Easy."));
    assert_eq!(answer.id(), Some("chatcmpl-1"));
    assert_eq!(
        answer.finish_reason().map(|r| r.as_str()),
        Some("tool_calls")
    );
    assert_eq!(answer.usage().and_then(|u| u.total_tokens), Some(7));
    let calls = answer.tool_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].id.as_deref(), Some("call-2"));
    assert_eq!(arguments(&calls[1]).expect("JSON"), json!({"a": 2}));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_whole_completion_is_the_answer_of_create_too() {
    let server = ScriptedServer::start(vec![whole_completion()]).await;

    let answer = client(&server.base_url())
        .chat()
        .create(ask())
        .await
        .expect("answers");

    assert_eq!(answer.content(), "Adding.");
    assert_eq!(answer.tool_calls().len(), 2);
    assert_eq!(answer.request_id(), Some("req-whole"));
}

#[tokio::test]
async fn extra_fields_are_sent_beside_the_typed_ones() {
    let server = ScriptedServer::start(vec![whole_completion()]).await;
    let request = ask()
        .temperature(0.5)
        .extra_field("verbosity", json!("low"))
        .extra_field("moonshot_beta", json!({"cache": true, "tags": [1, 2]}));

    client(&server.base_url())
        .chat()
        .create_unstreamed(request.clone())
        .await
        .expect("answers");
    client(&server.base_url())
        .chat()
        .stream(request)
        .await
        .expect("streams");

    let bodies: Vec<Value> = server
        .bodies()
        .iter()
        .map(|b| serde_json::from_slice(b).expect("JSON"))
        .collect();
    assert_eq!(
        bodies[0],
        json!({
            "model": "kimi-k2.6",
            "messages": [{"role": "user", "content": "Hi"}],
            "temperature": 0.5,
            "verbosity": "low",
            "moonshot_beta": {"cache": true, "tags": [1, 2]}
        })
    );
    assert_eq!(bodies[1]["stream"], true);
    assert_eq!(bodies[1]["verbosity"], "low");
}

#[tokio::test]
async fn an_extra_field_the_typed_request_has_is_refused_before_the_wire() {
    let server = ScriptedServer::start(vec![whole_completion()]).await;
    let client = client(&server.base_url());

    for (name, points_at) in [
        ("temperature", "ChatRequest::temperature"),
        ("reasoning_effort", "ChatRequest::reasoning_effort"),
        ("stream", "request_mut().stream"),
        (
            "max_completion_tokens",
            "ChatRequest::max_completion_tokens",
        ),
    ] {
        let err = client
            .chat()
            .create(ask().extra_field(name, json!(1)))
            .await
            .expect_err("a typed field");
        let Error::InvalidInput {
            name: input,
            reason,
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(*input, "extra_field");
        assert!(reason.contains(&format!("`{name}`")), "{reason}");
        assert!(reason.contains(points_at), "{reason}");
    }
    let err = client
        .chat()
        .stream(ask().extra_field(" ", json!(1)))
        .await
        .expect_err("no name");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(server.hits(), 0, "nothing is sent");
}

#[test]
fn a_batch_line_carries_the_extra_fields() {
    let mut input = moonshot::batches::BatchInput::new();
    input
        .push("q1", &ask().extra_field("verbosity", json!("low")))
        .expect("a line");
    let line: Value = serde_json::from_slice(input.as_jsonl()).expect("one JSON line");
    assert_eq!(line["body"]["verbosity"], "low");
    assert!(
        input
            .push("q2", &ask().extra_field("messages", json!([])))
            .is_err()
    );
}
