//! Redirects and odd answers on a scripted server on 127.0.0.1: a redirect that would change
//! the request is not followed and the error names where it pointed; an error event's type
//! decides its variant.

mod support;

use futures::StreamExt as _;
use moonshot::Error;
use moonshot::chat::ChatRequest;
use moonshot::files::Purpose;
use serde_json::json;
use support::{Reply, ScriptedServer, client, moonshot_error};

fn redirect(status: u16, location: &str) -> Reply {
    Reply::text(status, "text/plain", "").header("location", location)
}

#[tokio::test]
async fn a_redirected_upload_or_chat_is_an_error_naming_the_location_not_a_get() {
    for status in [301, 302, 303] {
        let server =
            ScriptedServer::start(vec![redirect(status, "/v1/elsewhere?k=sk-in-a-query")]).await;
        let client = client(&server.base_url());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"text").expect("write");

        let err = client
            .files()
            .upload(&path, Purpose::FileExtract)
            .await
            .expect_err("not uploaded");
        let text = err.to_string();
        assert!(matches!(err, Error::UnexpectedStatus(_)), "{err:?}");
        assert_eq!(err.status(), Some(status));
        assert!(text.contains("redirected to `/v1/elsewhere`"), "{text}");
        assert!(!text.contains("sk-in-a-query"), "{text}");
        let err = client
            .chat()
            .create(ChatRequest::new("kimi-k2.6").user("Hi"))
            .await
            .expect_err("not answered");
        assert!(err.to_string().contains("/v1/elsewhere"), "{err}");
        // Each request was sent once, never followed as a GET.
        assert_eq!(
            server.request_lines(),
            [
                "POST /v1/files HTTP/1.1",
                "POST /v1/chat/completions HTTP/1.1"
            ],
            "{status}"
        );
    }
}

#[tokio::test]
async fn a_307_to_the_same_server_is_followed_with_its_body_and_others_are_not() {
    let completion = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "kimi-k2.6",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "moved"},
                     "finish_reason": "stop"}]
    });
    let server = ScriptedServer::start(vec![
        redirect(307, "/v2/chat/completions"),
        Reply::json(200, &completion),
    ])
    .await;
    let answer = client(&server.base_url())
        .chat()
        .create(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("followed");
    assert_eq!(answer.content(), "moved");
    assert_eq!(
        server.request_lines(),
        [
            "POST /v1/chat/completions HTTP/1.1",
            "POST /v2/chat/completions HTTP/1.1"
        ]
    );
    assert_eq!(server.bodies()[0], server.bodies()[1]);

    let other = ScriptedServer::start(vec![Reply::json(200, &completion)]).await;
    let server = ScriptedServer::start(vec![redirect(
        307,
        &format!("{}/v1/chat/completions", other.base_url()),
    )])
    .await;
    let err = client(&server.base_url())
        .chat()
        .create(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect_err("another server is not followed");
    assert!(err.to_string().contains(&other.base_url()), "{err}");
    assert_eq!(other.hits(), 0);
}

#[tokio::test]
async fn an_error_event_mid_stream_is_typed_by_its_error_type() {
    let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1,
                       "model": "kimi-k2.6",
                       "choices": [{"index": 0, "delta": {"content": "Hel"}}]})
    .to_string();
    let failure = moonshot_error("invalid_request_error", "the context is too long").to_string();
    let server = ScriptedServer::start(vec![Reply::events(&[&chunk, &failure])]).await;
    let mut stream = client(&server.base_url())
        .chat()
        .stream(ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("the first chunk");
    stream
        .next()
        .await
        .expect("a chunk")
        .expect("the first chunk");
    let err = stream.next().await.expect("an error").expect_err("broken");
    let Error::StreamBroken { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(**source, Error::BadRequest(_)), "{source:?}");
    assert!(!err.to_string().contains("unexpected status"), "{err}");
    assert!(err.to_string().contains("the context is too long"), "{err}");
}
