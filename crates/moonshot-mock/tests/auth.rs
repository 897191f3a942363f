//! The API key check.

mod common;

use common::{client, get, json};
use moonshot_mock::{DEMO_PDF_ID, MockError, MockServer};

const KEY: &str = "sk-test-7f3a";

#[tokio::test]
async fn without_a_configured_key_every_request_is_let_in() {
    let server = MockServer::start().await.expect("server starts");
    let path = format!("/v1/files/{DEMO_PDF_ID}");
    for key in [None, Some("sk-anything"), Some("")] {
        assert_eq!(get(&server, &path, key).await.status(), 200, "{key:?}");
    }
    let odd_header = client()
        .get(format!("{}{path}/content", server.base_url()))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .expect("the mock server answers");
    assert_eq!(odd_header.status(), 200);
}

#[tokio::test]
async fn with_a_configured_key_only_that_bearer_key_is_let_in() {
    let server = MockServer::builder()
        .api_key(KEY)
        .start()
        .await
        .expect("server starts");
    for path in [
        format!("/v1/files/{DEMO_PDF_ID}"),
        format!("/v1/files/{DEMO_PDF_ID}/content"),
    ] {
        for key in [None, Some("sk-wrong"), Some(&KEY[..KEY.len() - 1])] {
            let response = get(&server, &path, key).await;
            assert_eq!(response.status(), 401, "{path} with {key:?}");
            let body = json(response).await;
            assert_eq!(body["error"]["type"], "invalid_authentication_error");
        }
        assert_eq!(get(&server, &path, Some(KEY)).await.status(), 200, "{path}");
    }

    let with_header = |value: String| {
        client()
            .get(format!("{}/v1/files/{DEMO_PDF_ID}", server.base_url()))
            .header("authorization", value)
            .send()
    };
    let lowercase = with_header(format!("bearer {KEY}")).await.expect("answers");
    assert_eq!(lowercase.status(), 200);
    let basic = with_header(format!("Basic {KEY}")).await.expect("answers");
    assert_eq!(basic.status(), 401);

    // The key is checked before routing: an unknown route without a key is a 401 too.
    assert_eq!(get(&server, "/v1/nowhere", None).await.status(), 401);
    assert_eq!(
        get(&server, "/v1/files/missing", Some(KEY)).await.status(),
        404
    );
}

#[tokio::test]
async fn an_empty_key_is_refused_at_start() {
    let error = MockServer::builder()
        .api_key("")
        .start()
        .await
        .expect_err("an empty key is refused");
    assert!(matches!(error, MockError::EmptyApiKey), "{error:?}");
}

/// A key no client can send (a newline, non-ASCII, spaces around it) would start a server no
/// request can authenticate to.
#[tokio::test]
async fn a_key_no_request_could_carry_is_refused_at_start() {
    for key in ["sk-mock\nsecond-line", " sk-mock", "sk-\u{e9}"] {
        let error = MockServer::builder()
            .api_key(key)
            .start()
            .await
            .expect_err("an unsendable key is refused");
        assert!(
            matches!(error, MockError::UnsendableApiKey),
            "{key:?}: {error:?}"
        );
        assert!(
            error.to_string().contains("Authorization: Bearer"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn debug_output_does_not_show_the_key() {
    let builder = MockServer::builder().api_key(KEY);
    let shown = format!("{builder:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let server = builder.start().await.expect("server starts");
    let shown = format!("{server:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains(&server.addr().to_string()), "{shown}");
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MockServer>();
    assert_send_sync::<moonshot_mock::MockServerBuilder>();
    assert_send_sync::<moonshot_mock::Faults>();
    assert_send_sync::<moonshot_mock::MockFile>();
    assert_send_sync::<MockError>();
    assert_send_sync::<moonshot_mock::FixtureError>();
    assert_send_sync::<moonshot_mock::ChatFixtures>();
    assert_send_sync::<moonshot_mock::ChatFixtureError>();
    assert_send_sync::<moonshot_mock::StreamFault>();
}
