//! Faults on demand: latency, failure rate, rate limits, quota, cut bodies; request ids and
//! counts.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{get, json, request_id};
use moonshot_mock::{DEMO_PDF_ID, Faults, MockServer};

const PDF: &str = "/v1/files/mock-intro-pdf";

async fn start(faults: Faults) -> MockServer {
    MockServer::builder()
        .faults(faults)
        .start()
        .await
        .expect("server starts")
}

async fn statuses(server: &MockServer, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(get(server, PDF, None).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let latency = Duration::from_millis(150);
    let server = start(Faults::default().latency(latency)).await;
    for path in [PDF, "/v1/files/no-such-file", "/nowhere"] {
        let started = Instant::now();
        let response = get(&server, path, None).await;
        assert!(started.elapsed() >= latency, "{path} answered early");
        assert!(response.status() == 200 || response.status() == 404);
    }
}

#[tokio::test]
async fn fail_rate_one_fails_every_request_and_zero_none() {
    let always = start(Faults::default().fail_rate(1.0)).await;
    assert_eq!(statuses(&always, 10).await, [500; 10]);
    let body = json(get(&always, &format!("{PDF}/content"), None).await).await;
    assert_eq!(body["error"]["type"], "server_error");

    let never = start(Faults::default().fail_rate(0.0)).await;
    assert_eq!(statuses(&never, 10).await, [200; 10]);
}

#[tokio::test]
async fn fail_rate_is_reproducible_with_a_seed() {
    let faults = Faults::default().fail_rate(0.5).seed(42);
    let first = statuses(&start(faults.clone()).await, 30).await;
    let second = statuses(&start(faults).await, 30).await;
    assert_eq!(first, second);
    assert!(first.contains(&200) && first.contains(&500), "{first:?}");
}

#[tokio::test]
async fn out_of_range_fail_rate_is_refused() {
    for rate in [-0.1, 1.5, f64::NAN] {
        let error = MockServer::builder()
            .faults(Faults::default().fail_rate(rate))
            .start()
            .await
            .expect_err("an invalid rate is refused");
        assert!(error.to_string().contains("fail rate"), "{error}");
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let faults = Faults::default()
        .rate_limit_every(2)
        .retry_after(Duration::from_secs(3));
    let server = start(faults).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let response = get(&server, PDF, None).await;
        let status = response.status().as_u16();
        if status == 429 {
            assert_eq!(response.headers()["retry-after"], "3");
            let body = json(response).await;
            assert_eq!(body["error"]["type"], "rate_limit_reached_error");
            let message = body["error"]["message"].as_str().expect("a message");
            assert!(
                message.ends_with("please try again after 3 seconds"),
                "{message}"
            );
        } else {
            assert!(!response.headers().contains_key("retry-after"));
        }
        seen.push(status);
    }
    assert_eq!(seen, [429, 200, 429, 200]);

    let every = start(Faults::default().rate_limit_every(1)).await;
    assert_eq!(statuses(&every, 3).await, [429; 3]);
}

#[tokio::test]
async fn quota_exceeded_answers_429_without_retry_after() {
    let server = start(Faults::default().quota_exceeded(true)).await;
    for path in [PDF.to_owned(), format!("{PDF}/content")] {
        let response = get(&server, &path, None).await;
        assert_eq!(response.status(), 429);
        assert!(!response.headers().contains_key("retry-after"));
        let body = json(response).await;
        assert_eq!(body["error"]["type"], "exceeded_current_quota_error");
    }
}

#[tokio::test]
async fn cut_body_advertises_the_full_length_then_drops_the_connection() {
    let server = MockServer::builder()
        .with_large_file("big", 1024 * 1024)
        .faults(Faults::default().cut_body(true))
        .start()
        .await
        .expect("server starts");
    for path in [
        PDF.to_owned(),
        format!("{PDF}/content"),
        "/v1/files/big/content".to_owned(),
    ] {
        let mut response = get(&server, &path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        let advertised = response.content_length().expect("a Content-Length");
        let mut received = 0;
        let end = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => received += chunk.len() as u64,
                other => break other,
            }
        };
        assert!(
            end.is_err(),
            "{path}: the body ended cleanly after {received} bytes"
        );
        assert!(
            0 < received && received < advertised,
            "{path}: {received} of {advertised}"
        );
    }
    // Errors are not cut: the client must be able to read why it failed.
    let response = get(&server, "/v1/files/no-such-file", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        json(response).await["error"]["type"],
        "resource_not_found_error"
    );
}

#[tokio::test]
async fn every_response_has_a_unique_request_id_and_is_counted() {
    let server = MockServer::builder()
        .faults(Faults::default().rate_limit_every(3))
        .start()
        .await
        .expect("server starts");
    let paths = [
        PDF.to_owned(),
        format!("{PDF}/content"),
        "/v1/files/no-such-file".to_owned(),
        "/v1/unknown".to_owned(),
        format!("/v1/files/{DEMO_PDF_ID}"),
        "/v1/files/mock-scan-failed/content".to_owned(),
    ];
    let mut ids = HashSet::new();
    let mut statuses = Vec::new();
    for path in &paths {
        let response = get(&server, path, None).await;
        statuses.push(response.status().as_u16());
        assert!(ids.insert(request_id(&response)), "repeated request id");
    }
    assert_eq!(statuses, [429, 200, 404, 429, 200, 500]);
    assert_eq!(server.request_count(), paths.len() as u64);

    let other = MockServer::start().await.expect("server starts");
    let response = get(&other, PDF, None).await;
    assert!(
        ids.insert(request_id(&response)),
        "request id shared by two servers"
    );
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let server = MockServer::start().await.expect("server starts");
    let base_url = server.base_url();
    assert_eq!(get(&server, PDF, None).await.status(), 200);
    server.shutdown().await.expect("a clean stop");
    let after = common::client()
        .get(format!("{base_url}{PDF}"))
        .send()
        .await;
    assert!(after.is_err(), "still answering: {after:?}");
}
