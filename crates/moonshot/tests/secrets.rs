//! The API key never shows: not in any `Debug`, `Display`, error or trace line.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use moonshot::{Error, RetryPolicy};
use support::{API_KEY, Reply, ScriptedServer, client, client_with, file_object, moonshot_error};

/// Collects everything a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

#[tokio::test]
async fn debug_output_of_the_client_and_builder_holds_no_key() {
    let builder = moonshot::Client::builder()
        .api_key(API_KEY)
        .base_url("http://127.0.0.1:9");
    let builder_debug = format!("{builder:?}");
    let client = builder.build().expect("client");
    let client_debug = format!("{client:?} {client:#?}");

    assert!(!builder_debug.contains(API_KEY), "{builder_debug}");
    assert!(builder_debug.contains("[redacted]"), "{builder_debug}");
    assert!(!client_debug.contains(API_KEY), "{client_debug}");
    assert!(
        client_debug.contains("http://127.0.0.1:9"),
        "{client_debug}"
    );
}

/// Every trace of this thread, at every level, written into the returned buffer while the guard
/// lives.
fn capture_traces() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn traces_and_errors_hold_no_key() {
    let (captured, _guard) = capture_traces();

    let server = ScriptedServer::start(vec![
        Reply::json(500, &moonshot_error("server_error", "boom"))
            .header("msh-request-id", "req-first"),
        Reply::json(200, &file_object("f")).header("msh-request-id", "req-second"),
    ])
    .await;
    client(&server.base_url())
        .files()
        .retrieve("f")
        .await
        .expect("second attempt succeeds");
    let mut errors = Vec::new();
    for (status, error_type) in [
        (401, "invalid_authentication_error"),
        (404, "resource_not_found_error"),
    ] {
        server.answer(vec![Reply::json(status, &moonshot_error(error_type, "no"))]);
        errors.push(
            client(&server.base_url())
                .files()
                .content("f")
                .await
                .expect_err("fails"),
        );
    }
    let unreachable = client_with("http://127.0.0.1:1", RetryPolicy::none());
    errors.push(
        unreachable
            .files()
            .retrieve("f")
            .await
            .expect_err("refused"),
    );

    let log = captured.text();
    assert!(log.contains("moonshot.request"), "{log}");
    assert!(log.contains("operation=\"retrieve_file\""), "{log}");
    assert!(log.contains("attempt=2"), "{log}");
    assert!(log.contains("status=200"), "{log}");
    assert!(log.contains("request_id=\"req-second\""), "{log}");
    assert!(log.contains("retrying"), "{log}");
    assert!(
        !log.contains(API_KEY),
        "the key leaked into a trace:\n{log}"
    );
    // The request itself did carry it.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.contains(&format!("authorization: Bearer {API_KEY}")))
    );
    for error in &errors {
        for text in [
            error.to_string(),
            format!("{error:?}"),
            format!("{error:#?}"),
        ] {
            assert!(
                !text.contains(API_KEY),
                "the key leaked into an error: {text}"
            );
        }
    }
}

#[test]
fn a_missing_or_blank_key_fails_at_construction_saying_what_to_set() {
    for builder in [
        moonshot::Client::builder(),
        moonshot::Client::builder().api_key(""),
        moonshot::Client::builder().api_key("  \t"),
    ] {
        let err = builder.build().expect_err("no key");
        assert!(
            matches!(&err, Error::Configuration(m) if m.contains("MOONSHOT_API_KEY")),
            "{err}"
        );
    }
}

#[test]
fn an_unsendable_key_is_refused_without_being_echoed() {
    let key = "sk-line\nbreak";
    let err = moonshot::Client::new(key).expect_err("newline in key");
    assert!(matches!(err, Error::Configuration(_)));
    assert!(!err.to_string().contains("sk-line"), "{err}");
}

#[test]
fn bad_base_urls_are_refused_naming_the_url() {
    let err = moonshot::Client::builder()
        .api_key(API_KEY)
        .base_url("api.moonshot.ai")
        .build()
        .expect_err("no scheme");
    assert!(err.to_string().contains("`api.moonshot.ai`"), "{err}");
    let china = moonshot::Client::builder()
        .api_key(API_KEY)
        .china()
        .build()
        .expect("china");
    assert_eq!(china.base_url(), moonshot::CHINA_BASE_URL);
    assert_eq!(
        moonshot::Client::new(API_KEY).expect("global").base_url(),
        moonshot::GLOBAL_BASE_URL
    );
}

#[tokio::test]
async fn a_key_a_server_echoes_or_given_as_the_base_url_is_never_shown() {
    let (captured, _guard) = capture_traces();
    let echoed = format!("Incorrect API key provided: Bearer {API_KEY}");

    let mut errors = Vec::new();
    for reply in [
        Reply::json(
            401,
            &moonshot_error("invalid_authentication_error", &echoed),
        ),
        Reply::text(401, "text/plain", echoed.clone()),
        Reply::json(500, &moonshot_error("server_error", &echoed)),
        Reply::text(200, "application/json", echoed.clone()),
    ] {
        let server = ScriptedServer::start(vec![
            reply.header("msh-request-id", &format!("req-{API_KEY}")),
        ])
        .await;
        errors.push(
            client(&server.base_url())
                .files()
                .retrieve("f")
                .await
                .expect_err("fails"),
        );
    }
    // An error event mid-stream that quotes the key.
    let chunk =
        serde_json::json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "a"}}]})
            .to_string();
    let failure = moonshot_error("invalid_request_error", &echoed).to_string();
    let server = ScriptedServer::start(vec![Reply::events(&[&chunk, &failure])]).await;
    errors.push(
        client(&server.base_url())
            .chat()
            .stream(moonshot::chat::ChatRequest::new("kimi-k2.6").user("Hi"))
            .await
            .expect("the first chunk")
            .collect_answer()
            .await
            .expect_err("broken"),
    );
    // The key given where the base URL goes.
    errors.push(
        moonshot::Client::builder()
            .api_key(API_KEY)
            .base_url(API_KEY)
            .build()
            .expect_err("not a URL"),
    );

    let log = captured.text();
    assert!(log.contains("request_id=\"req-[redacted]\""), "{log}");
    assert!(
        !log.contains(API_KEY),
        "the key leaked into a trace:\n{log}"
    );
    for error in &errors {
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(API_KEY), "the key leaked: {text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }
    assert_eq!(errors[0].request_id(), Some("req-[redacted]"));
}
