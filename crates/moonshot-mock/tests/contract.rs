//! Every body the mock can send, checked against the schemas of `openapi/openapi.yaml`.

mod common;

use std::time::Duration;

use common::{
    Enums, assert_valid, component_validator, delete, get, json, openapi, post_json,
    response_validator, to_json_schema, upload, upload_part,
};
use jsonschema::Validator;
use moonshot_mock::{
    DEMO_BATCH_OUTPUT_ID, DEMO_FAILED_ID, DEMO_IMAGE_ID, DEMO_PDF_ID, Faults, MockServer,
    demo_files, load_fixtures,
};
use serde_json::Value;

const FILES: &str = "/v1/files";
const FILE: &str = "/v1/files/{file_id}";
const CONTENT: &str = "/v1/files/{file_id}/content";
const MODELS: &str = "/v1/models";
const BALANCE: &str = "/v1/users/me/balance";
const ESTIMATE: &str = "/v1/tokenizers/estimate-token-count";
const BATCHES: &str = "/v1/batches";
const BATCH: &str = "/v1/batches/{batch_id}";
const CANCEL: &str = "/v1/batches/{batch_id}/cancel";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fixtures");

/// Fetches `/v1/files/{id}` and checks the file object against the document.
async fn check_file_object(server: &MockServer, id: &str) -> Value {
    let response = get(server, &format!("/v1/files/{id}"), None).await;
    assert_eq!(response.status(), 200, "file object of {id}");
    assert_eq!(response.headers()["content-type"], "application/json");
    let object = json(response).await;
    let validator = response_validator("get", FILE, "200", "application/json", Enums::Open);
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
    let validator = response_validator("get", CONTENT, "200", "text/plain", Enums::Closed);
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
    let strict = response_validator("get", FILE, "200", "application/json", Enums::Closed);
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
        if file.id() == DEMO_BATCH_OUTPUT_ID {
            // A batch's results are JSON Lines, served as they are, without the envelope.
            let response = get(&server, &format!("/v1/files/{}/content", file.id()), None).await;
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().await.expect("a complete body"), text);
            continue;
        }
        let filename = Value::from(file.filename());
        let envelope = check_content(&server, file.id(), &filename).await;
        assert_eq!(envelope["content"], text);
        served.push(file.id().to_owned());
    }
    assert_eq!(served, [DEMO_PDF_ID]);

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
            |status| response_validator("get", template, status, "application/json", Enums::Closed);
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
        &response_validator("get", CONTENT, "500", "application/json", Enums::Closed),
    )
    .await;
    let image = json(get(&open, &format!("/v1/files/{DEMO_IMAGE_ID}/content"), None).await).await;
    assert!(
        image["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("extract task failed: "))
    );

    for unknown_route in ["/v1/file", "/v1/files/", "/v1/chat/completions", "/"] {
        check_error(
            get(&open, unknown_route, None).await,
            404,
            "resource_not_found_error",
            &any_error,
        )
        .await;
    }
    let put = common::client()
        .put(format!("{}/v1/files/{DEMO_PDF_ID}", open.base_url()))
        .send()
        .await
        .expect("the mock server answers");
    check_error(put, 404, "resource_not_found_error", &any_error).await;

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

/// A request to one operation, with a valid body where it takes one.
async fn call(
    server: &MockServer,
    method: &str,
    path: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let url = format!("{}{path}", server.base_url());
    let client = common::client();
    let mut request = match (method, path) {
        ("post", FILES) => client.post(url).multipart(
            reqwest::multipart::Form::new()
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"),
                )
                .text("purpose", "file-extract"),
        ),
        ("post", ESTIMATE) => client.post(url).json(&estimate_request("kimi-k2.5")),
        ("delete", _) => client.delete(url),
        _ => client.get(url),
    };
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("the mock server answers")
}

fn estimate_request(model: &str) -> Value {
    serde_json::json!({"model": model, "messages": [
        {"role": "system", "content": "You are Kimi."},
        {"role": "user", "content": "How long is this prompt?"},
    ]})
}

/// The document's schema for an error answer of an operation, or the shared `ErrorResponse`
/// when the operation does not document that status (the real API sends it all the same).
fn error_validator(method: &str, template: &str, status: &str) -> Validator {
    let documented = openapi()["paths"][template][method]["responses"][status]["content"]
        ["application/json"]["schema"]
        .is_object();
    if documented {
        response_validator(method, template, status, "application/json", Enums::Closed)
    } else {
        component_validator("ErrorResponse", Enums::Closed)
    }
}

#[tokio::test]
async fn upload_list_and_delete_bodies_match_the_document() {
    let server = MockServer::builder()
        .processing_delay(Duration::ZERO)
        .start()
        .await
        .expect("server starts");
    let uploaded = response_validator("post", FILES, "200", "application/json", Enums::Closed);
    let response = upload(&server, "notes.txt", "Kimi 长文本".as_bytes()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let object = json(response).await;
    assert_valid(&uploaded, &object, "an uploaded file");
    let id = object["id"].as_str().expect("an id").to_owned();
    assert_eq!(check_file_object(&server, &id).await, object);
    let envelope = check_content(&server, &id, &Value::from("notes.txt")).await;
    assert_eq!(envelope["content"], "Kimi 长文本");

    let image = reqwest::multipart::Part::bytes(b"\x89PNG".to_vec()).file_name("x.png");
    let failed = json(upload_part(&server, image, Some("file-extract")).await).await;
    assert_eq!(failed["status"], "failed");
    assert_valid(&uploaded, &failed, "a file whose extraction failed");

    let slow = MockServer::builder()
        .processing_delay(Duration::from_secs(60))
        .start()
        .await
        .expect("server starts");
    let processing = json(upload(&slow, "later.txt", b"later").await).await;
    assert_eq!(processing["status"], "processing");
    assert_valid(&uploaded, &processing, "a file being processed");

    // The demo batch output's purpose is not in the document's enum: purposes are open.
    let listed = response_validator("get", FILES, "200", "application/json", Enums::Open);
    let list = json(get(&server, FILES, None).await).await;
    assert_valid(&listed, &list, "the file list");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(6));

    let deleted = response_validator("delete", FILE, "200", "application/json", Enums::Closed);
    let response = delete(&server, &format!("/v1/files/{id}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_valid(&deleted, &json(response).await, "a deletion");
}

#[tokio::test]
async fn models_match_the_document_and_name_every_model_of_the_reference() {
    let server = MockServer::start().await.expect("server starts");
    let response = get(&server, MODELS, None).await;
    assert_eq!(response.status(), 200);
    let list = json(response).await;
    let validator = response_validator("get", MODELS, "200", "application/json", Enums::Closed);
    assert_valid(&validator, &list, "the model list");

    let served: Vec<&str> = list["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|model| model["id"].as_str().expect("an id"))
        .collect();
    let spec = openapi();
    let enum_of = |name: &str| -> Vec<String> {
        spec["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has an enum"))
            .iter()
            .map(|id| id.as_str().expect("a string id").to_owned())
            .collect()
    };
    assert_eq!(served, enum_of("CreateChatCompletionRequestModel"));
    for id in enum_of("EstimateTokenRequestModel") {
        assert!(served.contains(&id.as_str()), "{id} is not listed");
    }
}

#[tokio::test]
async fn balance_matches_the_document() {
    let server = MockServer::start().await.expect("server starts");
    let response = get(&server, BALANCE, None).await;
    assert_eq!(response.status(), 200);
    let balance = json(response).await;
    let validator = response_validator("get", BALANCE, "200", "application/json", Enums::Closed);
    assert_valid(&validator, &balance, "the balance");
}

#[tokio::test]
async fn batch_bodies_match_the_document_at_every_status() {
    let server = MockServer::builder()
        .batch_duration(Duration::from_millis(300))
        .start()
        .await
        .expect("server starts");
    let line = serde_json::json!({
        "custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
        "body": estimate_request("moonshot-v1-8k"),
    });
    let part =
        reqwest::multipart::Part::bytes(format!("{line}\n").into_bytes()).file_name("in.jsonl");
    let file = json(upload_part(&server, part, Some("batch")).await).await;
    let create = serde_json::json!({
        "input_file_id": file["id"], "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "metadata": {"job": "contract"},
    });
    let created = post_json(&server, BATCHES, &create).await;
    assert_eq!(created.status(), 200);
    let created = json(created).await;
    let object = |method, template| {
        response_validator(method, template, "200", "application/json", Enums::Open)
    };
    assert_valid(&object("post", BATCHES), &created, "a created batch");
    assert_eq!(created["status"], "validating");
    let id = created["id"].as_str().expect("an id");

    // Every status it passes through, as retrieved, in the lifecycle's order.
    const LIFECYCLE: [&str; 4] = ["validating", "in_progress", "finalizing", "completed"];
    let mut statuses: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while statuses.last().map(String::as_str) != Some("completed") {
        assert!(
            std::time::Instant::now() < deadline,
            "not completed: {statuses:?}"
        );
        let batch = json(get(&server, &format!("{BATCHES}/{id}"), None).await).await;
        assert_valid(&object("get", BATCH), &batch, "a retrieved batch");
        let status = batch["status"].as_str().unwrap_or_default().to_owned();
        if statuses.last() != Some(&status) {
            statuses.push(status);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let order: Vec<usize> = statuses
        .iter()
        .map(|s| {
            LIFECYCLE
                .iter()
                .position(|l| l == s)
                .expect("a lifecycle status")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{statuses:?}");

    let list = json(get(&server, &format!("{BATCHES}?limit=1"), None).await).await;
    assert_valid(&object("get", BATCHES), &list, "a page of batches");
    assert_eq!(list["has_more"], false);

    let again = post_json(&server, &format!("{BATCHES}/{id}/cancel"), &Value::Null).await;
    check_error(
        again,
        400,
        "invalid_request_error",
        &error_validator("post", CANCEL, "400"),
    )
    .await;
    let second = json(post_json(&server, BATCHES, &create).await).await;
    let cancelled = post_json(
        &server,
        &format!(
            "{BATCHES}/{}/cancel",
            second["id"].as_str().unwrap_or_default()
        ),
        &Value::Null,
    )
    .await;
    let cancelled = json(cancelled).await;
    assert_valid(&object("post", CANCEL), &cancelled, "a cancelled batch");
    assert_eq!(cancelled["status"], "cancelling");

    let mut bad = create.clone();
    bad["completion_window"] = Value::from("2h");
    let refused = post_json(&server, BATCHES, &bad).await;
    check_error(
        refused,
        400,
        "invalid_request_error",
        &error_validator("post", BATCHES, "400"),
    )
    .await;
    let unknown = get(&server, &format!("{BATCHES}/batch-unknown"), None).await;
    check_error(
        unknown,
        404,
        "resource_not_found_error",
        &error_validator("get", BATCH, "404"),
    )
    .await;
}

#[tokio::test]
async fn token_estimates_match_the_document() {
    let server = MockServer::start().await.expect("server starts");
    let response = post_json(&server, ESTIMATE, &estimate_request("moonshot-v1-8k")).await;
    assert_eq!(response.status(), 200);
    let estimate = json(response).await;
    let validator = response_validator("post", ESTIMATE, "200", "application/json", Enums::Closed);
    assert_valid(&validator, &estimate, "a token estimate");
}

#[tokio::test]
async fn error_bodies_of_every_new_operation_match_the_document() {
    let keyed = MockServer::builder()
        .api_key("sk-right")
        .start()
        .await
        .expect("server starts");
    let failing = MockServer::builder()
        .faults(Faults::default().fail_rate(1.0))
        .start()
        .await
        .expect("server starts");
    let delete_path = format!("/v1/files/{DEMO_PDF_ID}");
    for (method, path, template) in [
        ("post", FILES, FILES),
        ("get", FILES, FILES),
        ("delete", delete_path.as_str(), FILE),
        ("get", MODELS, MODELS),
        ("get", BALANCE, BALANCE),
        ("post", ESTIMATE, ESTIMATE),
    ] {
        check_error(
            call(&keyed, method, path, Some("sk-wrong")).await,
            401,
            "invalid_authentication_error",
            &error_validator(method, template, "401"),
        )
        .await;
        check_error(
            call(&failing, method, path, None).await,
            500,
            "server_error",
            &error_validator(method, template, "500"),
        )
        .await;
    }

    let open = MockServer::builder()
        .memory_limit(10)
        .processing_delay(Duration::from_secs(60))
        .start()
        .await
        .expect("server starts");
    let upload_error = error_validator("post", FILES, "400");
    for response in [
        upload(&open, "empty.txt", b"").await,
        upload(&open, "big.txt", b"more than ten bytes").await,
        upload_part(
            &open,
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
            None,
        )
        .await,
        post_json(
            &open,
            FILES,
            &serde_json::json!({"purpose": "file-extract"}),
        )
        .await,
    ] {
        check_error(response, 400, "invalid_request_error", &upload_error).await;
    }
    check_error(
        delete(&open, "/v1/files/no-such-file").await,
        404,
        "resource_not_found_error",
        &error_validator("delete", FILE, "404"),
    )
    .await;

    let processing = json(upload(&open, "a.txt", b"tiny").await).await;
    let id = processing["id"].as_str().expect("an id");
    check_error(
        get(&open, &format!("/v1/files/{id}/content"), None).await,
        400,
        "invalid_request_error",
        &error_validator("get", CONTENT, "400"),
    )
    .await;

    let estimate_error = error_validator("post", ESTIMATE, "400");
    for body in [
        serde_json::json!({"messages": []}),
        serde_json::json!({"model": "kimi-k2.5", "messages": []}),
        serde_json::json!({"model": "kimi-k2.5", "messages": [{"role": "user"}]}),
        serde_json::json!("not an object"),
    ] {
        check_error(
            post_json(&open, ESTIMATE, &body).await,
            400,
            "invalid_request_error",
            &estimate_error,
        )
        .await;
    }
    check_error(
        post_json(&open, ESTIMATE, &estimate_request("no-such-model")).await,
        404,
        "resource_not_found_error",
        &error_validator("post", ESTIMATE, "404"),
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

const CHAT: &str = "/v1/chat/completions";

/// Chat requests that make every kind of answer: extractive with reasoning, cut by
/// `max_completion_tokens`, a web search call and its answer, scripted tool calls, a Kimi K3
/// call of a dynamically loaded tool.
fn chat_requests() -> Vec<Value> {
    let ask = |model: &str, question: &str| {
        serde_json::json!({"model": model, "messages": [
            {"role": "system", "content": "Kimi reads files. It answers from them."},
            {"role": "user", "content": question},
        ]})
    };
    let web_search =
        serde_json::json!([{"type": "builtin_function", "function": {"name": "$web_search"}}]);
    let mut cut = ask("moonshot-v1-8k", "What does Kimi read?");
    cut["max_completion_tokens"] = serde_json::json!(2);
    let mut search = ask("kimi-k2.5", "Search the news");
    search["thinking"] = serde_json::json!({"type": "disabled"});
    search["tools"] = web_search.clone();
    let mut searched = search.clone();
    let arguments = r#"{"query":"Search the news"}"#;
    searched["messages"]
        .as_array_mut()
        .expect("a list")
        .extend([
            serde_json::json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": "$web_search:0", "type": "builtin_function", "function": {"name": "$web_search", "arguments": arguments}},
            ]}),
            serde_json::json!({"role": "tool", "tool_call_id": "$web_search:0", "name": "$web_search", "content": arguments}),
        ]);
    // Kimi K3 calls a tool its dynamic tool message loaded, as `tool_choice` requires.
    let mut k3 = ask("kimi-k3", "What is the weather in Paris?");
    k3["reasoning_effort"] = serde_json::json!("high");
    k3["max_completion_tokens"] = serde_json::json!(1000);
    k3["tool_choice"] = serde_json::json!("required");
    k3["messages"].as_array_mut().expect("a list").insert(
        1,
        serde_json::json!({"role": "system", "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
        }}]}),
    );
    vec![
        ask("kimi-k2.6", "What does Kimi read?"),
        ask("moonshot-v1-8k", "Anything?"),
        cut,
        search,
        searched,
        ask("kimi-k3", "Call the tools"),
        k3,
    ]
}

async fn chat_server(faults: Faults) -> MockServer {
    let fixtures = moonshot_mock::ChatFixtures::from_value(serde_json::json!([
        {"user_contains": "Call the tools", "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_time", "arguments": {}},
        ]},
        {"user_contains": "overloaded", "error": {"status": 429, "type": "engine_overloaded_error", "message": "The engine is currently overloaded"}},
    ]))
    .expect("valid fixtures");
    MockServer::builder()
        .api_key("sk-chat")
        .chat_fixtures(fixtures)
        .faults(faults)
        .start()
        .await
        .expect("server starts")
}

async fn post_chat(server: &MockServer, body: &Value, key: &str) -> reqwest::Response {
    common::client()
        .post(format!("{}{CHAT}", server.base_url()))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("the mock server answers")
}

#[tokio::test]
async fn chat_completions_and_chunks_match_the_document() {
    let server = chat_server(Faults::default()).await;
    let completion = response_validator("post", CHAT, "200", "application/json", Enums::Closed);
    let chunk = response_validator("post", CHAT, "200", "text/event-stream", Enums::Closed);
    // The validators have teeth: a chunk with an unknown finish reason or a completion whose
    // choices are not a list fails.
    assert!(!chunk.is_valid(&serde_json::json!({"choices": [{"finish_reason": "done"}]})));
    assert!(!completion.is_valid(&serde_json::json!({"choices": {}})));

    // The requests themselves are ones the document describes.
    let request = component_validator("CreateChatCompletionRequest", Enums::Closed);

    let mut finish_reasons = Vec::new();
    for body in chat_requests() {
        assert_valid(&request, &body, &format!("request {body}"));
        let response = post_chat(&server, &body, "sk-chat").await;
        assert_eq!(response.status(), 200, "{body}");
        let whole = json(response).await;
        assert_valid(&completion, &whole, &format!("completion of {body}"));
        finish_reasons.push(whole["choices"][0]["finish_reason"].clone());

        let mut stream_body = body.clone();
        stream_body["stream"] = serde_json::json!(true);
        stream_body["stream_options"] = serde_json::json!({"include_usage": true});
        let streamed = common::read_stream(post_chat(&server, &stream_body, "sk-chat").await).await;
        assert!(streamed.done, "{body}");
        assert!(streamed.chunks.len() >= 4, "{body}");
        for (i, one) in streamed.chunks.iter().enumerate() {
            assert_valid(&chunk, one, &format!("chunk {i} of {body}"));
        }
    }
    assert_eq!(
        finish_reasons,
        [
            "stop",
            "stop",
            "length",
            "tool_calls",
            "stop",
            "tool_calls",
            "tool_calls"
        ]
    );
}

#[tokio::test]
async fn chat_errors_match_the_document() {
    let server =
        chat_server(Faults::default().stream_fault(moonshot_mock::StreamFault::ErrorAfter(2)))
            .await;
    let documented =
        |status| response_validator("post", CHAT, status, "application/json", Enums::Closed);
    let any_error = component_validator("ErrorResponse", Enums::Closed);
    let ask = |model: &str, question: &str| serde_json::json!({"model": model, "messages": [{"role": "user", "content": question}]});

    check_error(
        post_chat(&server, &ask("kimi-k2.6", "hi"), "sk-wrong").await,
        401,
        "invalid_authentication_error",
        &documented("401"),
    )
    .await;
    check_error(
        post_chat(
            &server,
            &serde_json::json!({"model": "kimi-k2.6", "messages": []}),
            "sk-chat",
        )
        .await,
        400,
        "invalid_request_error",
        &documented("400"),
    )
    .await;
    check_error(
        post_chat(&server, &ask("no-such-model", "hi"), "sk-chat").await,
        404,
        "resource_not_found_error",
        &any_error,
    )
    .await;
    check_error(
        post_chat(&server, &ask("kimi-k2.6", "overloaded?"), "sk-chat").await,
        429,
        "engine_overloaded_error",
        &any_error,
    )
    .await;

    // The error event in the middle of a stream is an error body too.
    let mut body = ask("kimi-k2.6", "hi");
    body["stream"] = serde_json::json!(true);
    let streamed = common::read_stream(post_chat(&server, &body, "sk-chat").await).await;
    let event = streamed.chunks.last().expect("events");
    assert_valid(&any_error, event, "the error event");
    assert_eq!(event["error"]["type"], "server_error");
}

#[tokio::test]
async fn account_limit_answers_match_the_document() {
    let server = MockServer::builder()
        .account_limits(
            moonshot_mock::AccountLimits::default()
                .requests_per_window(2)
                .tokens_per_window(1_000),
        )
        .start()
        .await
        .expect("server starts");
    let ask = |max: u64| serde_json::json!({"model": "kimi-k2.6", "max_completion_tokens": max, "messages": [{"role": "user", "content": "hi"}]});
    // Over a whole window's tokens: a request that could never pass.
    check_error(
        post_chat(&server, &ask(2_000), "").await,
        400,
        "invalid_request_error",
        &error_validator("post", CHAT, "400"),
    )
    .await;
    let passed = post_chat(&server, &ask(10), "").await;
    assert_eq!(passed.status(), 200);
    assert_eq!(passed.headers()["x-ratelimit-remaining"], "1");
    assert_eq!(
        get(&server, &format!("/v1/files/{DEMO_PDF_ID}"), None)
            .await
            .status(),
        200
    );
    // The document has no 429 for these operations: then the shared error schema.
    check_error(
        post_chat(&server, &ask(10), "").await,
        429,
        "rate_limit_reached_error",
        &error_validator("post", CHAT, "429"),
    )
    .await;
    check_error(
        get(&server, &format!("/v1/files/{DEMO_PDF_ID}"), None).await,
        429,
        "rate_limit_reached_error",
        &error_validator("get", FILE, "429"),
    )
    .await;
}
