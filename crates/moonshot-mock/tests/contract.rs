//! Every body the mock can send, checked against the schemas of `openapi/openapi.yaml`.

mod common;

use common::{
    Enums, assert_valid, component_validator, get, json, response_validator, to_json_schema,
};
use jsonschema::Validator;
use moonshot_mock::{
    DEMO_BATCH_OUTPUT_ID, DEMO_FAILED_ID, DEMO_IMAGE_ID, DEMO_PDF_ID, Faults, MockServer,
    demo_files, load_fixtures,
};
use serde_json::Value;

const FILE: &str = "/v1/files/{file_id}";
const CONTENT: &str = "/v1/files/{file_id}/content";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fixtures");

/// Fetches `/v1/files/{id}` and checks the file object against the document.
async fn check_file_object(server: &MockServer, id: &str) -> Value {
    let response = get(server, &format!("/v1/files/{id}"), None).await;
    assert_eq!(response.status(), 200, "file object of {id}");
    assert_eq!(response.headers()["content-type"], "application/json");
    let object = json(response).await;
    let validator = response_validator(FILE, "200", "application/json", Enums::Open);
    assert_valid(&validator, &object, &format!("file object of {id}"));
    assert_eq!(object["id"], id);
    assert_eq!(object["object"], "file");
    object
}

/// Fetches `/v1/files/{id}/content`, checks it against the document's `text/plain` string
/// schema, and returns it parsed as the JSON object the real API sends as text.
async fn check_content(server: &MockServer, id: &str, filename: &Value) -> Value {
    let response = get(server, &format!("/v1/files/{id}/content"), None).await;
    assert_eq!(response.status(), 200, "content of {id}");
    let content_type = response.headers()["content-type"].to_str().expect("ASCII");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("a complete body");
    let validator = response_validator(CONTENT, "200", "text/plain", Enums::Closed);
    assert_valid(
        &validator,
        &Value::String(text.clone()),
        &format!("content of {id}"),
    );

    let envelope: Value = serde_json::from_str(&text).expect("the content text is JSON");
    let Value::Object(fields) = &envelope else {
        panic!("the content of {id} is not a JSON object: {text}");
    };
    let mut keys: Vec<_> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["content", "file_type", "filename", "title", "type"]);
    assert!(fields.values().all(Value::is_string), "{text}");
    assert_eq!(&envelope["filename"], filename);
    assert_eq!(envelope["type"], "file");
    envelope
}

/// Checks an error response: status, Moonshot's error type, and the schema given.
async fn check_error(response: reqwest::Response, status: u16, kind: &str, validator: &Validator) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = json(response).await;
    assert_valid(validator, &body, &format!("{status} body"));
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn file_object_of_every_demo_file_matches_the_document() {
    let server = MockServer::start().await.expect("server starts");
    let mut purposes = Vec::new();
    for file in demo_files() {
        let object = check_file_object(&server, file.id()).await;
        assert_eq!(&object, &Value::Object(file.object().clone()));
        purposes.push(object["purpose"].as_str().expect("a string").to_owned());
    }
    purposes.sort();
    assert_eq!(
        purposes,
        ["batch_output", "file-extract", "file-extract", "image"]
    );
}

#[tokio::test]
async fn only_the_undocumented_purpose_breaks_the_closed_enum() {
    let server = MockServer::start().await.expect("server starts");
    let strict = response_validator(FILE, "200", "application/json", Enums::Closed);
    for id in [DEMO_PDF_ID, DEMO_IMAGE_ID, DEMO_FAILED_ID] {
        let object = json(get(&server, &format!("/v1/files/{id}"), None).await).await;
        assert_valid(&strict, &object, id);
    }
    let object = json(get(&server, &format!("/v1/files/{DEMO_BATCH_OUTPUT_ID}"), None).await).await;
    let paths: Vec<String> = strict
        .iter_errors(&object)
        .map(|e| e.instance_path().to_string())
        .collect();
    assert_eq!(paths, ["/purpose"]);
}

#[tokio::test]
async fn content_of_every_demo_file_with_text_matches_the_document() {
    let server = MockServer::start().await.expect("server starts");
    let mut served = Vec::new();
    for file in demo_files() {
        let Some(text) = file.content() else { continue };
        let filename = Value::from(file.filename());
        let envelope = check_content(&server, file.id(), &filename).await;
        assert_eq!(envelope["content"], text);
        served.push(file.id().to_owned());
    }
    assert_eq!(served, [DEMO_BATCH_OUTPUT_ID, DEMO_PDF_ID]);

    let pdf = check_content(&server, DEMO_PDF_ID, &Value::from("moonshot-intro.pdf")).await;
    assert_eq!(pdf["file_type"], "application/pdf");
    assert_eq!(pdf["title"], "");
    assert!(pdf["content"].as_str().is_some_and(|c| c.len() > 200));
}

#[tokio::test]
async fn fixtures_match_the_document() {
    let files = load_fixtures(FIXTURES.as_ref()).expect("the test fixtures load");
    let server = MockServer::builder()
        .files(files.clone())
        .start()
        .await
        .expect("server starts");
    for file in &files {
        let object = check_file_object(&server, file.id()).await;
        if file.content().is_some() {
            check_content(&server, file.id(), &object["filename"]).await;
        }
    }
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn large_file_matches_the_document() {
    let size = 3 * 1024 * 1024 + 7;
    let server = MockServer::builder()
        .with_large_file("big", size)
        .start()
        .await
        .expect("server starts");
    let object = check_file_object(&server, "big").await;
    assert_eq!(object["bytes"], size);
    let envelope = check_content(&server, "big", &Value::from("big.txt")).await;
    assert_eq!(envelope["file_type"], "text/plain");

    let response = get(&server, "/v1/files/big/content", None).await;
    assert_eq!(response.content_length(), Some(size));
    let body = response.bytes().await.expect("a complete body");
    assert_eq!(body.len() as u64, size);
}

#[tokio::test]
async fn error_bodies_match_the_document() {
    let keyed = MockServer::builder()
        .api_key("sk-right")
        .start()
        .await
        .expect("server starts");
    let open = MockServer::start().await.expect("server starts");
    let failing = MockServer::builder()
        .faults(Faults::default().fail_rate(1.0))
        .start()
        .await
        .expect("server starts");
    let any_error = component_validator("ErrorResponse", Enums::Closed);
    // The validator has teeth: a body without the `error` envelope fails it.
    assert!(!any_error.is_valid(&serde_json::json!({"message": "x", "type": "server_error"})));

    for (path, template) in [
        (format!("/v1/files/{DEMO_PDF_ID}"), FILE),
        (format!("/v1/files/{DEMO_PDF_ID}/content"), CONTENT),
    ] {
        let documented =
            |status| response_validator(template, status, "application/json", Enums::Closed);
        let unauthorized = documented("401");
        check_error(
            get(&keyed, &path, None).await,
            401,
            "invalid_authentication_error",
            &unauthorized,
        )
        .await;
        check_error(
            get(&keyed, &path, Some("sk-wrong")).await,
            401,
            "invalid_authentication_error",
            &unauthorized,
        )
        .await;

        let unknown = path.replace(DEMO_PDF_ID, "no-such-file");
        check_error(
            get(&open, &unknown, None).await,
            404,
            "resource_not_found_error",
            &documented("404"),
        )
        .await;

        check_error(
            get(&failing, &path, None).await,
            500,
            "server_error",
            &documented("500"),
        )
        .await;
    }

    // A failed extraction: the real API sends an empty `type`.
    let extraction = get(&open, &format!("/v1/files/{DEMO_FAILED_ID}/content"), None).await;
    check_error(
        extraction,
        500,
        "",
        &response_validator(CONTENT, "500", "application/json", Enums::Closed),
    )
    .await;
    let image = json(get(&open, &format!("/v1/files/{DEMO_IMAGE_ID}/content"), None).await).await;
    assert!(
        image["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("extract task failed: "))
    );

    for unknown_route in ["/v1/files", "/v1/files/", "/v1/chat/completions", "/"] {
        check_error(
            get(&open, unknown_route, None).await,
            404,
            "resource_not_found_error",
            &any_error,
        )
        .await;
    }
    let delete = common::client()
        .delete(format!("{}/v1/files/{DEMO_PDF_ID}", open.base_url()))
        .send()
        .await
        .expect("the mock server answers");
    check_error(delete, 404, "resource_not_found_error", &any_error).await;

    // 429 is not documented for these operations: its body follows the shared error schema.
    let limited = MockServer::builder()
        .faults(Faults::default().rate_limit_every(1))
        .start()
        .await
        .expect("server starts");
    let over_quota = MockServer::builder()
        .faults(Faults::default().quota_exceeded(true))
        .start()
        .await
        .expect("server starts");
    let path = format!("/v1/files/{DEMO_PDF_ID}");
    check_error(
        get(&limited, &path, None).await,
        429,
        "rate_limit_reached_error",
        &any_error,
    )
    .await;
    check_error(
        get(&over_quota, &path, None).await,
        429,
        "exceeded_current_quota_error",
        &any_error,
    )
    .await;
}

#[test]
fn openapi_3_0_keywords_are_mapped() {
    let mut schema = serde_json::json!({
        "type": "object",
        "properties": {
            "example": { "type": "string", "nullable": true, "example": "x" },
            "kind": { "type": "string", "enum": ["a"] },
            "other": { "$ref": "#/x", "nullable": true },
        },
    });
    to_json_schema(&mut schema, Enums::Open);
    assert_eq!(
        schema,
        serde_json::json!({
            "type": "object",
            "properties": {
                "example": { "type": ["string", "null"] },
                "kind": { "type": "string" },
                "other": { "anyOf": [{ "$ref": "#/x" }, { "type": "null" }] },
            },
        })
    );
}
