//! Operations without a hand-written route, answered from the document: the request checked
//! against its schemas, the answer its example or a small value, each answer checked here
//! against the document with a JSON Schema validator of its own.

mod common;

use common::{Enums, assert_valid, client, json, openapi, validator};
use moonshot_mock::{MockError, MockServer};
use serde_json::{Value, json};

/// Today's document, with context caching as upstream once published it, and an operation
/// whose answer has no schema.
fn document_with_caching() -> Value {
    let mut spec = openapi();
    spec["components"]["schemas"]["CacheObject"] = json!({
        "type": "object",
        "required": ["id", "object", "status", "created_at", "expired_at", "tokens"],
        "properties": {
            "id": {"type": "string", "example": "cache-id-xxxxxxxx"},
            "object": {"type": "string", "enum": ["context_cache.object"]},
            "status": {"type": "string", "enum": ["pending", "ready", "error", "inactive"]},
            "created_at": {"type": "integer"},
            "expired_at": {"type": "integer"},
            "tokens": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "nullable": true},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    });
    let cache = json!({"$ref": "#/components/schemas/CacheObject"});
    let error =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}});
    spec["paths"]["/v1/caching"] = json!({
        "post": {
            "operationId": "create_cache",
            "summary": "Create Cache",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["model", "messages"],
                "properties": {
                    "model": {"type": "string"},
                    "messages": {"type": "array", "minItems": 1, "items": {
                        "type": "object",
                        "required": ["role", "content"],
                        "properties": {
                            "role": {"type": "string", "enum": ["system", "user", "assistant"]},
                            "content": {"type": "string"}
                        }
                    }},
                    "ttl": {"type": "integer", "minimum": 1}
                }
            }}}},
            "responses": {
                "200": {"description": "The cache", "content": {"application/json": {
                    "schema": cache,
                    "example": {
                        "id": "cache-id-example", "object": "context_cache.object",
                        "status": "ready", "created_at": 1_699_000_000,
                        "expired_at": 1_699_003_600, "tokens": 4096
                    }
                }}},
                "400": {"description": "Bad request", "content": error}
            }
        },
        "get": {
            "operationId": "list_caches",
            "summary": "List Caches",
            "responses": {"200": {"description": "The caches"}}
        }
    });
    spec["paths"]["/v1/caching/{cache_id}"] = json!({
        "get": {
            "operationId": "retrieve_cache_status",
            "summary": "Retrieve Cache Status",
            "parameters": [
                {"name": "cache_id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}
            ],
            "responses": {"200": {"description": "The cache", "content": {"application/json": {"schema": cache}}}}
        }
    });
    spec
}

async fn server_with(spec: &Value) -> MockServer {
    MockServer::builder()
        .document(&spec.to_string())
        .expect("the document reads")
        .start()
        .await
        .expect("the server starts")
}

async fn send(
    server: &MockServer,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = client().request(method, format!("{}{path}", server.base_url()));
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("the mock server answers")
}

/// Checks a 400 `invalid_request_error` whose message names `field`.
async fn assert_refused(response: reqwest::Response, spec: &Value, field: &str) {
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    let errors = validator(
        spec,
        json!({"$ref": "#/components/schemas/ErrorResponse"}),
        Enums::Closed,
    );
    assert_valid(&errors, &body, "a refusal");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field),
        "the message names {field}: {message}"
    );
}

#[tokio::test]
async fn an_operation_without_a_route_is_answered_from_the_document() {
    let spec = document_with_caching();
    let server = server_with(&spec).await;
    let cache_object = validator(
        &spec,
        json!({"$ref": "#/components/schemas/CacheObject"}),
        Enums::Closed,
    );

    // A valid request: the example the document gives.
    let request = json!({"model": "kimi-k3", "messages": [{"role": "system", "content": "Kimi"}], "ttl": 300});
    let response = send(&server, "POST", "/v1/caching", Some(&request)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let created = json(response).await;
    assert_valid(&cache_object, &created, "the created cache");
    assert_eq!(created["id"], "cache-id-example");

    // No example: a small value made from the schema.
    let response = send(&server, "GET", "/v1/caching/cache-1?verbose=true", None).await;
    assert_eq!(response.status(), 200);
    let status = json(response).await;
    assert_valid(&cache_object, &status, "the cache status");
    assert_eq!(status["id"], "cache-id-xxxxxxxx");
    assert_eq!(status["status"], "pending");
    assert_eq!(status["tokens"], 1);

    // Requests that do not fit.
    let bad_role = json!({"model": "kimi-k3", "messages": [{"role": "bot", "content": "Kimi"}]});
    assert_refused(
        send(&server, "POST", "/v1/caching", Some(&bad_role)).await,
        &spec,
        "messages[0].role",
    )
    .await;
    let no_model = json!({"messages": [{"role": "user", "content": "Kimi"}]});
    assert_refused(
        send(&server, "POST", "/v1/caching", Some(&no_model)).await,
        &spec,
        "model",
    )
    .await;
    let bad_ttl = json!({"model": "kimi-k3", "messages": [{"role": "user", "content": "Kimi"}], "ttl": "soon"});
    assert_refused(
        send(&server, "POST", "/v1/caching", Some(&bad_ttl)).await,
        &spec,
        "ttl",
    )
    .await;
    assert_refused(
        send(&server, "POST", "/v1/caching", None).await,
        &spec,
        "body",
    )
    .await;
    assert_refused(
        send(&server, "GET", "/v1/caching/cache-1?verbose=maybe", None).await,
        &spec,
        "verbose",
    )
    .await;

    // An answer without a schema: 501, naming the operation.
    let response = send(&server, "GET", "/v1/caching", None).await;
    assert_eq!(response.status(), 501);
    let body = json(response).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("GET /v1/caching (list_caches)"),
        "{message}"
    );

    // Hand-written routes still answer, and what the document lacks is still 404.
    let response = send(&server, "GET", "/v1/models", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await["data"].as_array().map(Vec::len),
        Some(12)
    );
    assert_eq!(
        send(&server, "DELETE", "/v1/caching", None).await.status(),
        404
    );
    assert_eq!(
        send(&server, "GET", "/v1/caching/a/b", None).await.status(),
        404
    );
}

#[tokio::test]
async fn every_operation_of_the_document_answered_from_it_fits_its_schema() {
    // Today every operation has a hand-written route: moved under /v9, none has.
    let mut spec = openapi();
    let paths = spec["paths"].as_object().expect("paths").clone();
    spec["paths"] = paths
        .into_iter()
        .map(|(path, item)| (path.replacen("/v1/", "/v9/", 1), item))
        .collect();
    let server = server_with(&spec).await;
    let mut answered = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let url = path.replace(['{', '}'], "");
            let json_body = operation
                .pointer("/requestBody/content/application~1json")
                .is_some();
            let response = send(&server, method, &url, json_body.then_some(&json!({}))).await;
            let what = format!("{method} {path}");
            if json_body {
                // `{}` lacks the required fields.
                assert_refused(response, &spec, "is required").await;
                continue;
            }
            assert_eq!(response.status(), 200, "{what}");
            let media_type = response.headers()["content-type"]
                .to_str()
                .expect("ASCII")
                .to_owned();
            let text = response.text().await.expect("a body");
            let body = if media_type == "application/json" {
                serde_json::from_str(&text).expect("JSON")
            } else {
                Value::String(text)
            };
            let schema = operation["responses"]["200"]["content"][&media_type]["schema"].clone();
            assert_valid(&validator(&spec, schema, Enums::Closed), &body, &what);
            answered += 1;
        }
    }
    assert!(answered >= 8, "{answered} operations answered");
}

#[test]
fn a_document_that_is_not_one_is_refused() {
    for text in ["{", "openapi: 3.0.3\n"] {
        let refused = MockServer::builder().document(text).expect_err(text);
        assert!(
            matches!(refused, MockError::InvalidDocument(_)),
            "{refused}"
        );
    }
}
