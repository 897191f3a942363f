//! Whole chat answers that take long, on a scripted server on 127.0.0.1: read as a stream, so
//! only the wait between events is bounded; retried before the first chunk only; and the
//! unstreamed request, with a generation timeout of its own, retried only before it was sent.

mod support;

use std::time::Duration;

use moonshot::chat::ChatRequest;
use moonshot::{Client, Error, RetryPolicy};
use serde_json::{Value, json};
use support::{API_KEY, Reply, ScriptedServer, moonshot_error, quick_retries};

/// A client whose timeout is `timeout`, with quick retries.
fn client(base_url: &str, timeout: Duration) -> Client {
    Client::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .retry(quick_retries())
        .timeout(timeout)
        .build()
        .expect("client builds")
}

fn chunk(choice: Value) -> String {
    json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1_717_000_000,
           "model": "kimi-k2.6", "choices": [choice]})
    .to_string()
}

/// A thinking answer with a tool call, in `n` small pieces of reasoning, then the text, the
/// call in two fragments, and Moonshot's last chunk with the usage in its choice.
fn thinking_answer(n: usize) -> Vec<String> {
    let mut data: Vec<String> = (0..n)
        .map(|i| chunk(json!({"index": 0, "delta": {"reasoning_content": format!("step {i}. ")}})))
        .collect();
    data.push(chunk(json!({"index": 0, "delta": {"content": "Paris"}})));
    data.push(chunk(json!({"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call-1", "type": "function",
         "function": {"name": "lookup", "arguments": "{\"city\":"}}]}})));
    data.push(chunk(json!({"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": "\"Paris\"}"}}]}})));
    data.push(chunk(
        json!({"index": 0, "delta": {}, "finish_reason": "tool_calls",
        "usage": {"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39}}),
    ));
    data.push("[DONE]".to_owned());
    data
}

fn ask() -> ChatRequest {
    ChatRequest::new("kimi-k2.6").user("Where?")
}

#[tokio::test]
async fn a_whole_answer_longer_than_the_timeout_arrives_while_events_keep_coming() {
    // Nine events 100 ms apart: about a second in all, against a 400 ms timeout.
    let server = ScriptedServer::start(vec![Reply::Paced {
        gap: Duration::from_millis(100),
        data: thinking_answer(4),
    }])
    .await;
    let client = client(&server.base_url(), Duration::from_millis(400));

    let answer = client.chat().create(ask()).await.expect("the whole answer");

    assert_eq!(answer.content(), "Paris");
    assert_eq!(answer.reasoning(), Some("step 0. step 1. step 2. step 3. "));
    let call = &answer.tool_calls()[0];
    assert_eq!(call.id.as_deref(), Some("call-1"));
    let function = call.function.as_ref().expect("a function");
    assert_eq!(function.name.as_deref(), Some("lookup"));
    assert_eq!(function.arguments.as_deref(), Some(r#"{"city":"Paris"}"#));
    assert_eq!(
        answer.finish_reason().map(|r| r.as_str()),
        Some("tool_calls")
    );
    assert_eq!(answer.usage.as_ref().and_then(|u| u.total_tokens), Some(39));
    assert_eq!(answer.id.as_deref(), Some("chatcmpl-7"));
    assert_eq!(answer.model.as_deref(), Some("kimi-k2.6"));
    assert_eq!(answer.created, Some(1_717_000_000));
    assert_eq!(answer.attempts(), 1);
    assert_eq!(server.hits(), 1);
    let sent: Value = serde_json::from_slice(&server.bodies()[0]).expect("JSON");
    assert_eq!(sent["stream"], true);
}

#[tokio::test]
async fn a_whole_answer_from_a_silent_server_times_out_and_is_retried() {
    for silent in [
        // No answer at all.
        Reply::Delayed(
            Duration::from_secs(30),
            Box::new(Reply::events(&["[DONE]"])),
        ),
        // A head, then nothing.
        Reply::Stalled { body: Vec::new() },
    ] {
        let server = ScriptedServer::start(vec![silent]).await;
        let client = client(&server.base_url(), Duration::from_millis(200));

        let error = client.chat().create(ask()).await.expect_err("silent");

        assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
        // Nothing arrived: sent again, as the policy allows (2 retries).
        assert_eq!(error.attempts(), 3, "{error}");
        assert_eq!(server.hits(), 3);
    }
}

#[tokio::test]
async fn a_whole_answer_that_breaks_after_its_first_chunk_is_not_asked_again() {
    let first = chunk(json!({"index": 0, "delta": {"content": "The answer is"}}));
    let error_event =
        json!({"error": {"message": "overloaded", "type": "engine_overloaded_error"}});
    for broken in [
        // The connection ends without `[DONE]`.
        Reply::events(&[&first]),
        // An error event mid-way.
        Reply::events(&[&first, &error_event.to_string()]),
        // No event for longer than the timeout.
        Reply::Stalled {
            body: format!("data: {first}\n\n").into_bytes(),
        },
    ] {
        // A failure before the first chunk is retried; the break after it is not.
        let server = ScriptedServer::start(vec![
            Reply::json(500, &moonshot_error("server_error", "try again")),
            broken,
        ])
        .await;
        let client = client(&server.base_url(), Duration::from_millis(300));

        let error = client.chat().create(ask()).await.expect_err("broken");

        let Error::StreamBroken {
            chunks, content, ..
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!((*chunks, content.as_str()), (1, "The answer is"));
        assert_eq!(error.attempts(), 2, "{error}");
        assert_eq!(server.hits(), 2);
    }
}

#[tokio::test]
async fn an_unstreamed_answer_has_a_generation_timeout_and_is_not_sent_twice() {
    let whole = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "kimi-k2.6",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."},
                     "finish_reason": "stop"}]
    });
    let server = ScriptedServer::start(vec![Reply::Delayed(
        Duration::from_millis(600),
        Box::new(Reply::json(200, &whole)),
    )])
    .await;
    let slow = Client::builder()
        .api_key(API_KEY)
        .base_url(server.base_url())
        .retry(quick_retries())
        .timeout(Duration::from_millis(100))
        .generation_timeout(Duration::from_secs(20))
        .build()
        .expect("client builds");

    // Longer than the timeout, within the generation timeout.
    let answer = slow
        .chat()
        .create_unstreamed(ask())
        .await
        .expect("the whole answer");
    assert_eq!((answer.content(), answer.attempts()), ("Paris.", 1));
    let sent: Value = serde_json::from_slice(&server.bodies()[0]).expect("JSON");
    assert_eq!(sent.get("stream"), None);

    // Past the generation timeout: not sent again, whatever the retry policy.
    let impatient = slow
        .with_options(moonshot::CallOptions::new().generation_timeout(Duration::from_millis(200)))
        .expect("options");
    let error = impatient
        .chat()
        .create_unstreamed(ask())
        .await
        .expect_err("too slow");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_eq!(error.attempts(), 1);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn an_unstreamed_answer_is_retried_when_it_could_not_be_sent() {
    // A port nothing listens on: the connection is refused before anything is sent.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let client = Client::builder()
        .api_key(API_KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::default().initial_delay(Duration::from_millis(5)))
        .build()
        .expect("client builds");

    let error = client
        .chat()
        .create_unstreamed(ask())
        .await
        .expect_err("refused");

    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    assert_eq!(error.attempts(), 3, "{error}");
}
