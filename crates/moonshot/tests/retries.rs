//! Each retry rule, with the number of requests the server saw.

mod support;

use std::time::{Duration, Instant, SystemTime};

use moonshot::{Error, RetryPolicy};
use support::{API_KEY, Reply, ScriptedServer, client, client_with, file_object, moonshot_error};

const ID: &str = "file-1";

/// `files().retrieve(ID)` through a client of `server` with quick retries.
async fn retrieve(server: &ScriptedServer) -> Result<moonshot::files::FileObject, Error> {
    client(&server.base_url()).files().retrieve(ID).await
}

fn ok() -> Reply {
    Reply::json(200, &file_object(ID))
}

#[tokio::test]
async fn retryable_statuses_are_retried_until_success() {
    for status in [408, 409, 429, 500, 502, 503, 504] {
        let failure = Reply::json(status, &moonshot_error("", "transient"));
        let server = ScriptedServer::start(vec![failure.clone(), failure, ok()]).await;

        let file = retrieve(&server).await;

        assert!(file.is_ok(), "{status}: {file:?}");
        assert_eq!(server.hits(), 3, "{status}");
    }
}

#[tokio::test]
async fn retries_stop_after_max_retries_and_report_the_attempts() {
    let server = ScriptedServer::start(vec![Reply::json(
        500,
        &moonshot_error("server_error", "boom"),
    )])
    .await;

    let err = retrieve(&server).await.expect_err("always 500");

    assert_eq!(server.hits(), 3, "2 retries means 3 attempts");
    assert_eq!(err.attempts(), 3);
    assert!(err.to_string().ends_with("after 3 attempts"), "{err}");

    let server = ScriptedServer::start(vec![Reply::json(
        500,
        &moonshot_error("server_error", "boom"),
    )])
    .await;
    let five = client_with(&server.base_url(), support::quick_retries().max_retries(5));
    assert_eq!(
        five.files().retrieve(ID).await.expect_err("500").attempts(),
        6
    );
    assert_eq!(server.hits(), 6);
}

#[tokio::test]
async fn retries_are_off_with_one_call() {
    let server = ScriptedServer::start(vec![Reply::json(503, &moonshot_error("", "busy"))]).await;
    let client = client_with(&server.base_url(), RetryPolicy::none());

    client.files().retrieve(ID).await.expect_err("503");

    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    for (status, error_type) in [
        (400, "invalid_request_error"),
        (401, "invalid_authentication_error"),
        (403, "permission_denied_error"),
        (404, "resource_not_found_error"),
        (429, "exceeded_current_quota_error"),
    ] {
        let server = ScriptedServer::start(vec![
            Reply::json(status, &moonshot_error(error_type, "no")),
            ok(),
        ])
        .await;

        let err = retrieve(&server).await.expect_err(error_type);

        assert_eq!(server.hits(), 1, "{error_type} must not be retried");
        assert_eq!(err.status(), Some(status));
    }
}

#[tokio::test]
async fn a_quota_429_is_not_retried_even_with_retry_after() {
    let quota = Reply::json(
        429,
        &moonshot_error("exceeded_current_quota_error", "Your account is suspended"),
    )
    .header("retry-after", "1");
    let server = ScriptedServer::start(vec![quota, ok()]).await;

    let err = retrieve(&server).await.expect_err("quota");

    assert!(matches!(err, Error::QuotaExceeded(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(server.hits(), 1);
}

/// The server's wait wins over the computed backoff (5-20 ms in these tests).
async fn waited_for(rate_limited: Reply) -> (Duration, usize) {
    let server = ScriptedServer::start(vec![rate_limited, ok()]).await;
    let started = Instant::now();
    retrieve(&server).await.expect("succeeds on retry");
    (started.elapsed(), server.hits())
}

fn rate_limited(message: &str) -> Reply {
    Reply::json(429, &moonshot_error("rate_limit_reached_error", message))
}

#[tokio::test]
async fn retry_after_ms_is_honoured() {
    let (waited, hits) =
        waited_for(rate_limited("slow down").header("retry-after-ms", "300")).await;
    assert_eq!(hits, 2);
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let (waited, hits) = waited_for(rate_limited("slow down").header("retry-after", "1")).await;
    assert_eq!(hits, 2);
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    // HTTP dates have whole seconds: two seconds ahead is at least one second away.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let (waited, hits) = waited_for(rate_limited("slow down").header("retry-after", &date)).await;
    assert_eq!(hits, 2);
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
}

#[tokio::test]
async fn moonshots_try_again_after_message_is_honoured() {
    let message =
        "Your account org-1 request reached max request: 3, please try again after 1 seconds";
    let (waited, hits) = waited_for(rate_limited(message)).await;
    assert_eq!(hits, 2);
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
}

#[tokio::test]
async fn a_wait_above_the_cap_is_not_slept() {
    // The second is too long for a `Duration`: still too long, not "no wait asked".
    for (asked, expected) in [
        ("3600", Duration::from_secs(3600)),
        ("18446744073709551615", Duration::MAX),
    ] {
        let server = ScriptedServer::start(vec![
            rate_limited("slow down").header("retry-after", asked),
            ok(),
        ])
        .await;

        let err = retrieve(&server).await.expect_err("wait too long");

        assert_eq!(server.hits(), 1, "{asked}");
        assert_eq!(err.retry_after(), Some(expected));
        assert!(matches!(err, Error::RateLimited(_)));
    }
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_times_out_on_each_attempt() {
    let slow = Reply::Delayed(Duration::from_secs(3), Box::new(ok()));
    let server = ScriptedServer::start(vec![slow]).await;
    let client = moonshot::Client::builder()
        .api_key(API_KEY)
        .base_url(server.base_url())
        .timeout(Duration::from_millis(200))
        .retry(support::quick_retries().max_retries(1))
        .build()
        .expect("client");

    let err = client.files().retrieve(ID).await.expect_err("times out");

    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_retried_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let client = client(&format!("http://127.0.0.1:{port}"));

    let err = client
        .files()
        .retrieve(ID)
        .await
        .expect_err("nothing listens");

    assert!(
        matches!(err, Error::Connection { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_connection_never_accepted_times_out_at_the_connect_timeout() {
    // A listener with a backlog of 0 that never accepts: once one connection waits in its
    // queue, the kernel drops every further SYN, so a connect hangs as to an unreachable host.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(([127, 0, 0, 1], 0).into()).expect("bind");
    let listener = socket.listen(0).expect("listen");
    let address = listener.local_addr().expect("addr");
    let mut queued = Vec::new();
    for _ in 0..3 {
        let connect = tokio::net::TcpStream::connect(address);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            queued.push(stream);
        }
    }
    let client = moonshot::Client::builder()
        .api_key(API_KEY)
        .base_url(format!("http://{address}"))
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(30))
        .retry(RetryPolicy::none())
        .build()
        .expect("valid settings");

    let started = Instant::now();
    let err = client
        .files()
        .retrieve(ID)
        .await
        .expect_err("never accepted");

    assert!(matches!(err, Error::Timeout { attempts: 1, .. }), "{err:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(10),
        "{waited:?}: the connect timeout, not the 30 s request timeout, ends it"
    );
    drop((queued, listener));
}

#[tokio::test]
async fn a_body_cut_off_mid_way_is_retried_for_buffered_content() {
    let cut = Reply::Truncated {
        declared: 1000,
        body: b"{\"content\": \"partial".to_vec(),
    };
    let whole = Reply::text(200, "text/plain", "{\"content\": \"whole\"}");
    let server = ScriptedServer::start(vec![cut.clone(), whole]).await;

    let content = client(&server.base_url())
        .files()
        .content(ID)
        .await
        .expect("second attempt succeeds");

    assert_eq!(content.as_str(), "{\"content\": \"whole\"}");
    assert_eq!(server.hits(), 2);

    let server = ScriptedServer::start(vec![cut]).await;
    let err = client(&server.base_url())
        .files()
        .content(ID)
        .await
        .expect_err("always cut");
    assert!(
        matches!(err, Error::Connection { attempts: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_impossible_content_length_is_named_and_not_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&accepted);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut head = [0u8; 4096];
            let _ = socket.read(&mut head).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 18446744073709551615\r\n\r\n{}")
                .await;
        }
    });

    let err = support::client(&base_url)
        .files()
        .retrieve("f")
        .await
        .expect_err("not valid HTTP");

    assert!(
        matches!(err, moonshot::Error::InvalidHttp { .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("is the base URL the API's?"),
        "{err}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 1);
}
