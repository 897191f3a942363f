//! The generated client against a local mock server: both operations, their errors, and the
//! open `Purpose` enum.

use futures::TryStreamExt;
use httpmock::prelude::*;
use moonshot_api::{Client, Error, Purpose};
use serde_json::json;

const FILE_ID: &str = "clg681objj8g9m7n4je0";

fn file_object(purpose: &str) -> serde_json::Value {
    json!({
        "id": FILE_ID,
        "object": "file",
        "bytes": 761790,
        "created_at": 1700815879,
        "filename": "xlnet.pdf",
        "purpose": purpose,
        "status": "ok",
        "status_details": ""
    })
}

/// Serves `body` for `GET /v1/files/{FILE_ID}` and retrieves it with the generated client.
/// The request must reach the mock exactly once.
async fn retrieve_answering(body: serde_json::Value) -> moonshot_api::types::FileObject {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/files/{FILE_ID}"));
            then.status(200).json_body(body);
        })
        .await;
    let file = Client::new(&server.base_url())
        .retrieve_file(FILE_ID)
        .await
        .expect("decodes")
        .into_inner();
    mock.assert_async().await;
    file
}

#[tokio::test]
async fn retrieve_file_decodes_a_file_object() {
    let file = retrieve_answering(file_object("file-extract")).await;

    assert_eq!(file.id, FILE_ID);
    assert_eq!(file.bytes, 761790);
    assert_eq!(file.filename, "xlnet.pdf");
    assert_eq!(file.purpose, Purpose::FileExtract);
    assert_eq!(file.status_details.as_deref(), Some(""));
}

#[tokio::test]
async fn an_unknown_purpose_decodes_and_round_trips() {
    let file = retrieve_answering(file_object("batch_output")).await;

    assert_eq!(file.purpose, Purpose::Other("batch_output".to_owned()));
    assert_eq!(
        serde_json::to_value(&file).expect("serializes")["purpose"],
        "batch_output"
    );
}

#[tokio::test]
async fn retrieve_file_content_streams_the_body_bytes() {
    let body = r#"{"content": "Hello", "file_type": "application/pdf", "filename": "x.pdf", "title": "", "type": "file"}"#;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/v1/files/{FILE_ID}/content"));
            then.status(200)
                .header("content-type", "text/plain")
                .body(body);
        })
        .await;

    let stream = Client::new(&server.base_url())
        .retrieve_file_content(FILE_ID)
        .await
        .expect("succeeds")
        .into_inner();
    let chunks: Vec<bytes::Bytes> = stream.into_inner().try_collect().await.expect("reads");

    assert_eq!(chunks.concat(), body.as_bytes());
}

#[tokio::test]
async fn a_404_comes_back_as_a_typed_error_response() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/files/missing");
            then.status(404).json_body(json!({
                "error": {"message": "file not found", "type": "resource_not_found_error"}
            }));
        })
        .await;

    let err = Client::new(&server.base_url())
        .retrieve_file("missing")
        .await
        .expect_err("404");

    let Error::ErrorResponse(response) = err else {
        panic!("expected ErrorResponse, got {err:?}");
    };
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.error.message, "file not found");
    assert_eq!(
        response.error.type_.as_deref(),
        Some("resource_not_found_error")
    );
}

#[test]
fn purpose_knows_every_value_the_spec_lists() {
    let text = include_str!("../../../openapi/openapi.yaml");
    let spec: serde_json::Value = serde_yaml_ng::from_str(text).expect("merged document parses");
    let values = spec["components"]["schemas"]["Purpose"]["enum"]
        .as_array()
        .expect("Purpose enum");
    assert!(!values.is_empty());
    for value in values {
        let value = value.as_str().expect("string value");
        let purpose = Purpose::from(value);
        assert!(
            !matches!(purpose, Purpose::Other(_)),
            "`{value}` has no Purpose variant"
        );
        assert_eq!(purpose.as_str(), value);
    }
}

#[test]
fn generated_types_derive_json_schema_with_the_open_purpose() {
    let schema = serde_json::to_value(schemars::schema_for!(moonshot_api::types::FileObject))
        .expect("schema");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        required.contains(&"purpose") && required.contains(&"bytes"),
        "{required:?}"
    );
    let purpose = schema["$defs"]["Purpose"].clone();
    assert_eq!(purpose["type"], "string", "{schema}");
    assert!(
        purpose.get("enum").is_none(),
        "Purpose must stay open: {purpose}"
    );
}
