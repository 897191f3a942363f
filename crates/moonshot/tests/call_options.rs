//! Per-call options on a handle that shares the client, on a scripted server on 127.0.0.1:
//! they override the client's timeout, retries and headers; bad ones are refused unsent.

mod support;

use std::time::Duration;

use moonshot::{CallOptions, Client, Error};
use serde_json::json;
use support::{API_KEY, Reply, ScriptedServer, moonshot_error, quick_retries};

fn balance() -> serde_json::Value {
    json!({"code": 0, "status": true, "scode": "0x0",
           "data": {"available_balance": 1.5, "voucher_balance": 0.5, "cash_balance": 1.0}})
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .retry(quick_retries())
        .timeout(Duration::from_millis(150))
        .build()
        .expect("client builds")
}

#[tokio::test]
async fn per_call_options_override_the_clients_timeout_retries_and_headers() {
    let slow = || {
        Reply::Delayed(
            Duration::from_millis(500),
            Box::new(Reply::json(200, &balance())),
        )
    };
    let server = ScriptedServer::start(vec![slow()]).await;
    let client = client(&server.base_url());

    // The client's own 150 ms: every attempt times out, and is retried twice.
    let error = client.balance().retrieve().await.expect_err("too slow");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_eq!(server.hits(), 3);

    let patient = client
        .with_options(
            CallOptions::new()
                .timeout(Duration::from_secs(20))
                .header("X-Team", "billing")
                .header("User-Agent", "billing-report/1"),
        )
        .expect("options");
    let found = patient.balance().retrieve().await.expect("in time");
    assert_eq!(found.available_balance, 1.5);
    let seen = server.requests()[3].to_ascii_lowercase();
    assert!(seen.contains("x-team: billing"), "{seen}");
    assert!(seen.contains("user-agent: billing-report/1"), "{seen}");
    assert!(seen.contains(&format!("authorization: bearer {API_KEY}").to_ascii_lowercase()));

    // The client itself is unchanged: no header of the handle's.
    server.answer(vec![Reply::json(200, &balance())]);
    client.balance().retrieve().await.expect("answers");
    assert!(!server.requests()[4].to_ascii_lowercase().contains("x-team"));

    // Retries: none on the handle, where the client makes two.
    server.answer(vec![Reply::json(
        500,
        &moonshot_error("server_error", "down"),
    )]);
    let once = client
        .with_options(CallOptions::new().max_retries(0))
        .expect("options");
    let error = once.balance().retrieve().await.expect_err("down");
    assert_eq!((error.attempts(), server.hits()), (1, 6));
    let error = client.balance().retrieve().await.expect_err("down");
    assert_eq!((error.attempts(), server.hits()), (3, 9));
}

#[tokio::test]
async fn per_call_options_reach_chat_and_the_streams_wait() {
    // Events 300 ms apart: past the client's 150 ms between events, within the handle's.
    let chunk = json!({"id": "c1", "model": "kimi-k2.6",
                       "choices": [{"index": 0, "delta": {"content": "Hi"}}]})
    .to_string();
    let server = ScriptedServer::start(vec![Reply::Paced {
        gap: Duration::from_millis(300),
        data: vec![chunk.clone(), chunk, "[DONE]".to_owned()],
    }])
    .await;
    let patient = client(&server.base_url())
        .with_options(
            CallOptions::new()
                .timeout(Duration::from_secs(20))
                .header("X-Gateway-Route", "eu"),
        )
        .expect("options");

    let answer = patient
        .chat()
        .create(moonshot::chat::ChatRequest::new("kimi-k2.6").user("Hi"))
        .await
        .expect("answers");

    assert_eq!(answer.content(), "HiHi");
    assert!(
        server.requests()[0]
            .to_ascii_lowercase()
            .contains("x-gateway-route: eu")
    );
}

#[tokio::test]
async fn bad_options_are_refused_before_anything_is_sent() {
    let server = ScriptedServer::start(vec![Reply::json(200, &balance())]).await;
    let client = client(&server.base_url());

    for (options, name, says) in [
        (
            CallOptions::new().timeout(Duration::ZERO),
            "timeout",
            "zero",
        ),
        (
            CallOptions::new().generation_timeout(Duration::ZERO),
            "generation_timeout",
            "zero",
        ),
        (
            CallOptions::new().header("X Team", "a"),
            "header",
            "`X Team`",
        ),
        (CallOptions::new().header("", "a"), "header", "``"),
        (
            CallOptions::new().header("X-Team", "a\r\nX-Evil: 1"),
            "header",
            "`X-Team`",
        ),
        (
            CallOptions::new().header("Authorization", "Bearer other"),
            "header",
            "`Authorization`",
        ),
        (
            CallOptions::new().header("content-length", "1"),
            "header",
            "`content-length`",
        ),
    ] {
        let error = client.with_options(options).expect_err("refused");
        let Error::InvalidInput {
            name: refused,
            reason,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(*refused, name, "{error}");
        assert!(reason.contains(says), "{reason}");
    }
    assert_eq!(server.hits(), 0);
}
