//! Models, balance and token estimates, on a scripted server on 127.0.0.1.

mod support;

use moonshot::Error;
use moonshot::messages::{system, user};
use serde_json::{Value, json};
use support::{Reply, ScriptedServer, client, moonshot_error};

#[tokio::test]
async fn models_are_listed_with_what_they_support() {
    let server = ScriptedServer::start(vec![Reply::json(
        200,
        &json!({"object": "list", "data": [
            {"id": "kimi-k2.6", "object": "model", "created": 1, "owned_by": "moonshot",
             "context_length": 262144, "supports_image_in": true, "supports_video_in": true,
             "supports_reasoning": true},
            {"id": "kimi-k9", "object": "model"}
        ]}),
    )])
    .await;

    let models = client(&server.base_url())
        .models()
        .list()
        .await
        .expect("lists");

    assert_eq!(
        server.requests()[0].lines().next(),
        Some("GET /v1/models HTTP/1.1")
    );
    assert_eq!(models[0].id.as_deref(), Some("kimi-k2.6"));
    assert_eq!(models[0].context_length, Some(262144));
    assert_eq!(models[0].supports_reasoning, Some(true));
    assert_eq!(models[1].supports_reasoning, None);
}

fn balance_reply() -> Reply {
    Reply::json(
        200,
        &json!({"code": 0, "data": {"available_balance": 49.58, "voucher_balance": 46.58,
                "cash_balance": 3.0}, "scode": "0x0", "status": true}),
    )
}

/// The balance read from a local server reached by `host`'s name, as if it were that platform.
async fn balance_on(host: &str) -> moonshot::balance::Balance {
    let server = ScriptedServer::start(vec![balance_reply()]).await;
    let addr: std::net::SocketAddr = server.base_url()["http://".len()..]
        .parse()
        .expect("an address");
    let http = reqwest::Client::builder()
        .resolve(host, addr)
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let client = moonshot::Client::builder()
        .api_key(support::API_KEY)
        .base_url(format!("http://{host}:{}/v1", addr.port()))
        .http_client(http)
        .build()
        .expect("a client");
    let balance = client.balance().retrieve().await.expect("reads");
    assert_eq!(server.hits(), 1);
    balance
}

#[tokio::test]
async fn the_balance_names_the_currency_of_the_platform() {
    let global = balance_on("api.moonshot.ai").await;
    assert_eq!(global.currency(), Some(moonshot::balance::Currency::Usd));
    assert_eq!(global.currency_name(), "USD");
    let china = balance_on("api.moonshot.cn").await;
    assert_eq!(china.currency(), Some(moonshot::balance::Currency::Cny));
    assert_eq!(china.available_balance, 49.58);
    let json = serde_json::to_value(&china).expect("JSON");
    assert_eq!(json["currency"], "CNY");
    assert_eq!(json["cash_balance"], 3.0);
}

#[tokio::test]
async fn the_balance_is_read_in_the_accounts_currency_elsewhere() {
    let server = ScriptedServer::start(vec![balance_reply()]).await;

    let balance = client(&server.base_url())
        .balance()
        .retrieve()
        .await
        .expect("reads");

    assert_eq!(
        server.requests()[0].lines().next(),
        Some("GET /v1/users/me/balance HTTP/1.1")
    );
    assert_eq!(balance.available_balance, 49.58);
    assert_eq!(balance.cash_balance, 3.0);
    assert_eq!(balance.currency(), None);
    assert_eq!(balance.currency_name(), "the account's currency");
}

#[tokio::test]
async fn an_estimate_sends_the_model_and_messages_and_reads_the_total() {
    let server = ScriptedServer::start(vec![
        Reply::json(
            200,
            &json!({"code": 0, "data": {"total_tokens": 42}, "scode": "0x0", "status": true}),
        ),
        Reply::json(400, &moonshot_error("invalid_request_error", "bad model")),
    ])
    .await;
    let client = client(&server.base_url());

    let tokens = client
        .tokenizers()
        .estimate("kimi-k9-preview", vec![system("Be brief."), user("Hello")])
        .await
        .expect("estimates");

    assert_eq!(tokens, 42);
    let head = &server.requests()[0];
    assert!(
        head.starts_with("POST /v1/tokenizers/estimate-token-count HTTP/1.1"),
        "{head}"
    );
    let body: Value = serde_json::from_slice(&server.bodies()[0]).expect("json body");
    assert_eq!(
        body,
        json!({"model": "kimi-k9-preview", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"}
        ]})
    );

    let err = client
        .tokenizers()
        .estimate("nope", vec![user("x")])
        .await
        .expect_err("a 400");
    assert!(matches!(err, Error::BadRequest(_)), "{err:?}");

    let err = client
        .tokenizers()
        .estimate("kimi-k2.6", Vec::new())
        .await
        .expect_err("no messages");
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                name: "messages",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.hits(), 2);
}
