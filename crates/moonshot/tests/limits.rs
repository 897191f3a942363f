//! The client's limits against a local server that enforces the same ones, on short windows:
//! the client waits instead of meeting 429s, the server's counts never pass the limits, and a
//! server's 429 pauses every call.

use std::time::{Duration, Instant};

use moonshot::chat::ChatRequest;
use moonshot::limits::Limits;
use moonshot::{Client, RetryPolicy};
use moonshot_mock::{AccountLimits, Faults, MockServer};

const KEY: &str = "sk-limits-test";
const WINDOW: Duration = Duration::from_millis(600);

async fn server(limits: AccountLimits, faults: Faults) -> MockServer {
    MockServer::builder()
        .api_key(KEY)
        .account_limits(limits)
        .faults(faults)
        .start()
        .await
        .expect("server")
}

fn client(server: &MockServer, limits: Option<Limits>) -> Client {
    let mut builder = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .retry(RetryPolicy::none());
    if let Some(limits) = limits {
        builder = builder.limits(limits);
    }
    builder.build().expect("client")
}

fn ask(n: usize) -> ChatRequest {
    ChatRequest::new("kimi-k2.6")
        .thinking(false)
        .system("Kimi reads files. It answers from them.")
        .user(format!("Question {n}: what does Kimi read?"))
        .max_completion_tokens(50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_under_the_clients_limits_meet_no_429_and_stay_under_the_servers_counts() {
    let account = AccountLimits::tier(1)
        .expect("tier 1")
        .concurrency(4)
        .requests_per_window(10)
        .window(WINDOW);
    let server = server(account, Faults::default()).await;
    let limits = Limits::tier(1)
        .expect("tier 1")
        .concurrency(4)
        .requests_per_minute(10)
        .window(WINDOW);
    let client = client(&server, Some(limits));

    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..30 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            if n % 2 == 0 {
                client.chat().create(ask(n)).await.map(drop)
            } else {
                client.models().list().await.map(drop)
            }
        }));
    }
    for task in tasks {
        task.await.expect("joined").expect("no call fails");
    }
    let elapsed = started.elapsed();

    let stats = server.limit_stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert!(stats.peak_concurrency <= 4, "{stats:?}");
    assert!(stats.peak_requests_per_window <= 10, "{stats:?}");
    // 30 requests at 10 a window take at least two windows after the first.
    assert!(elapsed >= WINDOW * 2, "{elapsed:?}");
    let usage = client.limit_usage().expect("limits");
    assert_eq!(usage.in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_clients_limits_the_same_work_meets_429s() {
    let account = AccountLimits::tier(1)
        .expect("tier 1")
        .concurrency(4)
        .requests_per_window(10)
        .window(WINDOW);
    let server = server(account, Faults::default()).await;
    let client = client(&server, None);

    let mut tasks = Vec::new();
    for _ in 0..30 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.models().list().await.map(drop)
        }));
    }
    let mut failed = 0;
    for task in tasks {
        if task.await.expect("joined").is_err() {
            failed += 1;
        }
    }

    assert!(failed >= 20, "{failed}");
    assert!(server.limit_stats().rate_limited >= 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_reserved_and_what_the_answer_did_not_use_comes_back() {
    let account = AccountLimits::tier(1)
        .expect("tier 1")
        .tokens_per_window(5_000)
        .window(Duration::from_secs(30));
    let server = server(account, Faults::default()).await;
    let limits = Limits::none()
        .tokens_per_minute(5_000)
        .window(Duration::from_secs(30));
    let client = client(&server, Some(limits));

    // Each reserves its input and 2,000 for its answer: three could not be in one window if
    // their reservations stayed; given back after each answer, they pass at once.
    for n in 0..3 {
        let request = ask(n).max_completion_tokens(2_000);
        client.chat().create(request).await.expect("answered");
    }
    let usage = client.limit_usage().expect("limits");
    assert!(usage.tokens_this_window < 2_000, "{usage:?}");
    assert_eq!(server.limit_stats().rate_limited, 0);

    // A request over a whole window's budget is refused before anything is sent.
    let before = server.limit_stats().requests_admitted;
    let err = client
        .chat()
        .create(ask(9).max_completion_tokens(6_000))
        .await
        .expect_err("over the window");
    assert!(matches!(err, moonshot::Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("5000"), "{err}");
    assert_eq!(server.limit_stats().requests_admitted, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_429_pauses_every_call_of_the_client() {
    // Requests 1, 3, 5... are 429s naming a wait of 1 s, with no rate-limit headers before
    // them: the client learns of the limit only from the 429.
    let faults = Faults::default()
        .rate_limit_every(2)
        .retry_after(Duration::from_secs(1));
    let server = server(AccountLimits::default(), faults).await;
    let client = client(&server, Some(Limits::none().concurrency(100)));

    let err = client.models().list().await.expect_err("429");
    assert!(matches!(err, moonshot::Error::RateLimited(_)), "{err}");
    // The next call, of another operation, waits for the time the server named, then passes.
    let started = Instant::now();
    client.balance().retrieve().await.expect("after the pause");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_wait_gives_its_place_back() {
    let server = server(AccountLimits::tier(5).expect("tier 5"), Faults::default()).await;
    let client = client(&server, Some(Limits::none().concurrency(1)));
    let stream = client.chat().stream(ask(1)).await.expect("a stream");
    // The stream holds the one place: a second call waits, and is dropped while it waits.
    let waiting = tokio::time::timeout(Duration::from_millis(200), client.models().list()).await;
    assert!(waiting.is_err(), "it waited");
    assert_eq!(client.limit_usage().expect("limits").in_flight, 1);

    let answer = stream.collect_answer().await.expect("the stream ends");
    assert!(!answer.content().is_empty());
    assert_eq!(client.limit_usage().expect("limits").in_flight, 0);
    let _models = tokio::time::timeout(Duration::from_secs(5), client.models().list())
        .await
        .expect("the place came back")
        .expect("listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_rate_limit_headers_pace_the_client_before_a_429() {
    // The server allows 3 requests a second; the client's own limits do not say so, but the
    // headers of each answer do: the fourth call waits for the reset instead of meeting a 429.
    let account = AccountLimits::tier(1)
        .expect("tier 1")
        .requests_per_window(3)
        .window(Duration::from_secs(1));
    let server = server(account, Faults::default()).await;
    let client = client(&server, Some(Limits::none().concurrency(100)));

    let started = Instant::now();
    for _ in 0..6 {
        client.models().list().await.expect("no 429");
    }

    assert_eq!(server.limit_stats().rate_limited, 0);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
