//! The account's limits: concurrency, requests and tokens per window, their 429 answers, the
//! `X-RateLimit-*` headers, and what the server counts for tests.

mod common;

use std::time::Duration;

use common::{client, get, json, post_json, read_stream};
use moonshot_mock::{AccountLimits, AccountLimitsError, ChatFixtures, MockError, MockServer};
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";
/// A bound for waits that only a broken server reaches.
const PATIENCE: Duration = Duration::from_secs(30);

/// A chat request: streamed or not, with `max_completion_tokens` when given.
fn ask(stream: bool, max_completion_tokens: Option<u64>) -> Value {
    let mut body = json!({
        "model": "kimi-k2.6",
        "messages": [{"role": "user", "content": "Tell me a long story."}],
        "stream": stream,
        "stream_options": {"include_usage": true},
    });
    if let Some(n) = max_completion_tokens {
        body["max_completion_tokens"] = json!(n);
    }
    body
}

/// A server whose streamed answers take seconds (40 words, three a chunk, 200 ms apart), so a
/// request whose answer is not read stays in flight.
async fn slow_server(limits: AccountLimits) -> MockServer {
    let story = vec!["word"; 40].join(" ");
    MockServer::builder()
        .chat_fixtures(
            ChatFixtures::from_value(json!([{"user_contains": "story", "reply": story}]))
                .expect("valid fixtures"),
        )
        .chunk_delay(Duration::from_millis(200))
        .account_limits(limits)
        .start()
        .await
        .expect("server starts")
}

/// Waits until the server counts no request in flight.
async fn until_idle(server: &MockServer) {
    let start = std::time::Instant::now();
    while server.limit_stats().in_flight > 0 {
        assert!(start.elapsed() < PATIENCE, "{:?}", server.limit_stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", response.headers()))
        .to_str()
        .expect("ASCII")
        .to_owned()
}

/// Checks a 429 of the limits: Moonshot's body and message, `Retry-After`, and returns the
/// message.
async fn check_rate_limited(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = header(&response, "retry-after").parse().expect("seconds");
    assert!(retry_after >= 1);
    let body = json(response).await;
    assert_eq!(body["error"]["type"], "rate_limit_reached_error", "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.ends_with(&format!("please try again after {retry_after} seconds")),
        "{message}"
    );
    message.to_owned()
}

#[tokio::test]
async fn concurrency_is_enforced_while_streams_are_sent() {
    let server = slow_server(AccountLimits::default().concurrency(2)).await;
    // Two streams whose answers are not read yet are in flight.
    let first = post_json(&server, CHAT, &ask(true, None)).await;
    let second = post_json(&server, CHAT, &ask(true, None)).await;
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let third = get(&server, "/v1/models", None).await;
    let message = check_rate_limited(third).await;
    assert!(message.contains("max concurrency: 2"), "{message}");
    assert_eq!(server.limit_stats().in_flight, 2);

    for response in [first, second] {
        assert!(read_stream(response).await.done);
    }
    until_idle(&server).await;
    assert_eq!(get(&server, "/v1/models", None).await.status(), 200);
    let stats = server.limit_stats();
    assert_eq!(stats.peak_concurrency, 2, "{stats:?}");
    assert_eq!(stats.rate_limited, 1, "{stats:?}");
    assert_eq!(stats.requests_admitted, 3, "{stats:?}");
}

#[tokio::test]
async fn requests_per_window_are_enforced_with_headers_on_every_answer() {
    let window = Duration::from_secs(1);
    let server = MockServer::builder()
        .account_limits(
            AccountLimits::default()
                .requests_per_window(2)
                .window(window),
        )
        .start()
        .await
        .expect("server starts");

    // Every operation counts: files as chat or models.
    let first = get(&server, "/v1/models", None).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit"), "2");
    assert_eq!(header(&first, "x-ratelimit-remaining"), "1");
    let reset: f64 = header(&first, "x-ratelimit-reset")
        .parse()
        .expect("seconds");
    assert!(reset > 0.0 && reset <= 1.0, "{reset}");
    // A 4xx carries them too.
    let missing = get(&server, "/v1/files/no-such-file", None).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "x-ratelimit-remaining"), "0");

    let refused = get(&server, "/v1/files", None).await;
    assert_eq!(header(&refused, "x-ratelimit-limit"), "2");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    let reset: f64 = header(&refused, "x-ratelimit-reset")
        .parse()
        .expect("seconds");
    let message = check_rate_limited(refused).await;
    assert!(
        message.contains("max RPM: 2, please try again after 1 seconds"),
        "{message}"
    );

    // Once the window has passed, requests pass again.
    tokio::time::sleep(Duration::from_secs_f64(reset) + Duration::from_millis(50)).await;
    let again = get(&server, "/v1/files", None).await;
    assert_eq!(again.status(), 200);
    let stats = server.limit_stats();
    assert_eq!(stats.requests_admitted, 3, "{stats:?}");
    assert_eq!(stats.peak_requests_per_window, 2, "{stats:?}");
    assert_eq!(stats.rate_limited, 1, "{stats:?}");
}

#[tokio::test]
async fn tokens_count_the_most_an_answer_may_take_until_it_is_done() {
    let server = slow_server(
        AccountLimits::default()
            .tokens_per_window(1_000)
            .window(Duration::from_secs(60)),
    )
    .await;
    // In flight, it counts its input and its 900 tokens of answer.
    let big = post_json(&server, CHAT, &ask(true, Some(900))).await;
    assert_eq!(big.status(), 200);
    let refused = post_json(&server, CHAT, &ask(false, Some(200))).await;
    let message = check_rate_limited(refused).await;
    assert!(message.contains("max TPM: 1000"), "{message}");

    // Done, it counts what it used.
    let streamed = read_stream(big).await;
    let usage = &streamed.chunks.last().expect("a usage chunk")["usage"];
    let used = usage["total_tokens"].as_u64().expect("usage");
    until_idle(&server).await;
    assert_eq!(server.limit_stats().tokens_admitted, used);
    let passed = post_json(&server, CHAT, &ask(false, Some(200))).await;
    assert_eq!(passed.status(), 200);
    let second = json(passed).await["usage"]["total_tokens"]
        .as_u64()
        .expect("usage");
    let stats = server.limit_stats();
    assert_eq!(stats.tokens_admitted, used + second, "{stats:?}");
    assert_eq!(stats.rate_limited, 1, "{stats:?}");
    assert_eq!(stats.requests_admitted, 2, "{stats:?}");

    // A request larger than a whole window's budget could never pass; without
    // max_completion_tokens, it counts the default reservation of 4,096.
    for body in [ask(false, Some(1_001)), ask(false, None)] {
        let response = post_json(&server, CHAT, &body).await;
        assert_eq!(response.status(), 400);
        let error = json(response).await;
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let message = error["error"]["message"].as_str().expect("a message");
        assert!(message.contains("max TPM: 1000"), "{message}");
    }
    assert_eq!(server.limit_stats().requests_admitted, 2);
}

#[tokio::test]
async fn token_estimates_count_requests_but_no_tokens() {
    let server = MockServer::builder()
        .account_limits(AccountLimits::default().tokens_per_window(10))
        .start()
        .await
        .expect("server starts");
    let estimate = json!({"model": "kimi-k2.6", "messages": [{"role": "user", "content": "hi"}]});
    let response = post_json(&server, "/v1/tokenizers/estimate-token-count", &estimate).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-ratelimit-limit").is_none());
    let stats = server.limit_stats();
    assert_eq!((stats.requests_admitted, stats.tokens_admitted), (1, 0));
}

#[tokio::test]
async fn unlimited_servers_still_count_and_send_no_headers() {
    let server = MockServer::start().await.expect("server starts");
    let response = client()
        .get(format!("{}/v1/models", server.base_url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-ratelimit-limit").is_none());
    let stats = server.limit_stats();
    assert_eq!(stats.requests_admitted, 1, "{stats:?}");
    assert_eq!(stats.peak_concurrency, 1, "{stats:?}");
}

#[tokio::test]
async fn limits_no_request_could_pass_are_refused() {
    let zero = MockServer::builder()
        .account_limits(AccountLimits::default().concurrency(0))
        .start()
        .await;
    assert!(
        matches!(
            zero,
            Err(MockError::AccountLimits(AccountLimitsError::Zero {
                limit: "concurrency"
            }))
        ),
        "{zero:?}"
    );
    let no_window = MockServer::builder()
        .account_limits(AccountLimits::default().window(Duration::ZERO))
        .start()
        .await;
    assert!(
        matches!(
            no_window,
            Err(MockError::AccountLimits(AccountLimitsError::ZeroWindow))
        ),
        "{no_window:?}"
    );
    let tier = AccountLimits::tier(6).expect_err("no tier 6");
    assert!(tier.to_string().contains("0 to 5"), "{tier}");
}
