//! The typed mocks users get with the `mock` feature.

use moonshot::mock::{
    ContentText as _, FileIdMatch as _, MockServerExt as _, error_body, sample_file,
};
use moonshot::{Error, RetryPolicy};

fn client(server: &httpmock::MockServer) -> moonshot::Client {
    moonshot::Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn typed_mocks_answer_both_operations() {
    let server = httpmock::MockServer::start_async().await;
    let retrieve = server.retrieve_file(|when, then| {
        when.file("file-1");
        then.ok(&sample_file("file-1"));
    });
    let content = server.retrieve_file_content(|when, then| {
        when.file("file-1");
        then.text(r#"{"content": "hello", "type": "file"}"#);
    });
    let client = client(&server);

    let file = client.files().retrieve("file-1").await.expect("retrieves");
    let text = client.files().content("file-1").await.expect("content");

    assert_eq!(file.filename, "sample.pdf");
    assert_eq!(text.as_str(), r#"{"content": "hello", "type": "file"}"#);
    assert_eq!(text.parsed().content, "hello");
    retrieve.assert_calls(1);
    content.assert_calls(1);
}

#[tokio::test]
async fn ids_match_exactly_as_the_client_encodes_them() {
    let server = httpmock::MockServer::start_async().await;
    let odd = server.retrieve_file(|when, then| {
        when.file("a/b.c(d)");
        then.ok(&sample_file("a/b.c(d)"));
    });
    let missing = server.retrieve_file(|when, then| {
        when.file("gone");
        then.not_found(&error_body("resource_not_found_error", "file not found"));
    });
    let client = client(&server);

    assert_eq!(
        client
            .files()
            .retrieve("a/b.c(d)")
            .await
            .expect("matches")
            .id,
        "a/b.c(d)"
    );
    let err = client
        .files()
        .retrieve("axb.c(d)")
        .await
        .expect_err("no mock for it");
    assert_eq!(
        err.status(),
        Some(404),
        "httpmock answers 404 when nothing matches"
    );
    let err = client.files().retrieve("gone").await.expect_err("404");
    assert!(
        matches!(&err, Error::NotFound(api) if api.message == "file not found"),
        "{err:?}"
    );
    odd.assert_calls(1);
    missing.assert_calls(1);
}
