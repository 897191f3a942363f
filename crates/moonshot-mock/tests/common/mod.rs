//! Helpers shared by the integration tests: requests to a mock server, and validators built
//! from the merged OpenAPI document.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use jsonschema::Validator;
use moonshot_mock::MockServer;
use serde_json::{Map, Value};

thread_local! {
    // Building a client loads TLS roots, slow in debug builds: build one per test thread. Idle
    // connections are not kept, since one belongs to the runtime of the test that opened it.
    static CLIENT: reqwest::Client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a default client builds");
}

/// A client for the tests of this thread.
pub fn client() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

/// `GET {base_url}{path}`, with `Authorization: Bearer <key>` when a key is given.
pub async fn get(server: &MockServer, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", server.base_url()));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("the mock server answers")
}

/// `POST {base_url}/v1/files` with a multipart body: the `file` part given, then `purpose`
/// when given.
pub async fn upload_part(
    server: &MockServer,
    file: reqwest::multipart::Part,
    purpose: Option<&str>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().part("file", file);
    if let Some(purpose) = purpose {
        form = form.text("purpose", purpose.to_owned());
    }
    upload_form(server, form, None).await
}

/// `POST {base_url}/v1/files` with any multipart body, with `Authorization: Bearer <key>` when
/// a key is given.
pub async fn upload_form(
    server: &MockServer,
    form: reqwest::multipart::Form,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}/v1/files", server.base_url()))
        .multipart(form);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("the mock server answers")
}

/// Uploads `data` as `filename` with purpose `file-extract`.
pub async fn upload(server: &MockServer, filename: &str, data: &[u8]) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(data.to_vec()).file_name(filename.to_owned());
    upload_part(server, part, Some("file-extract")).await
}

/// `DELETE {base_url}{path}`.
pub async fn delete(server: &MockServer, path: &str) -> reqwest::Response {
    client()
        .delete(format!("{}{path}", server.base_url()))
        .send()
        .await
        .expect("the mock server answers")
}

/// `POST {base_url}{path}` with a JSON body.
pub async fn post_json(server: &MockServer, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", server.base_url()))
        .json(body)
        .send()
        .await
        .expect("the mock server answers")
}

/// The response's body parsed as JSON.
pub async fn json(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("a complete body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The `Msh-Request-Id` of a response.
pub fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(moonshot_mock::REQUEST_ID_HEADER)
        .expect("every response has a Msh-Request-Id")
        .to_str()
        .expect("an ASCII request id")
        .to_owned()
}

/// Whether string enums of the document are checked as written or treated as open sets, as
/// clients must treat `purpose` (the real API sends values the docs do not list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enums {
    /// `enum` as the document says.
    Closed,
    /// `enum` dropped: any string is accepted.
    Open,
}

/// The merged document, `openapi/openapi.yaml`, as JSON.
pub fn openapi() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("openapi/openapi.yaml is valid YAML")
}

/// A validator for the schema of one documented response:
/// `paths.{path}.{method}.responses.{status}.content.{media_type}.schema`.
pub fn response_validator(
    method: &str,
    path: &str,
    status: &str,
    media_type: &str,
    enums: Enums,
) -> Validator {
    let spec = openapi();
    let schema =
        spec["paths"][path][method]["responses"][status]["content"][media_type]["schema"].clone();
    assert!(
        schema.is_object(),
        "the document has no {media_type} schema for {method} {path} -> {status}"
    );
    validator(&spec, schema, enums)
}

/// A validator for `#/components/schemas/{name}`.
pub fn component_validator(name: &str, enums: Enums) -> Validator {
    let spec = openapi();
    assert!(
        spec["components"]["schemas"][name].is_object(),
        "the document has no component schema {name}"
    );
    let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    validator(&spec, schema, enums)
}

/// Validates, failing the test with every error the validator finds.
pub fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the document: {errors:?}\n{instance:#}"
    );
}

/// A JSON Schema validator for `schema` of the document `spec`: its root is `schema`, and it
/// carries the document's `components`, so that `#/components/schemas/...` references resolve
/// inside it.
pub fn validator(spec: &Value, mut schema: Value, enums: Enums) -> Validator {
    let mut schemas = spec["components"]["schemas"].clone();
    if let Value::Object(schemas) = &mut schemas {
        for component in schemas.values_mut() {
            to_json_schema(component, enums);
        }
    }
    to_json_schema(&mut schema, enums);
    let Value::Object(root) = &mut schema else {
        panic!("a schema is an object: {schema}");
    };
    root.insert(
        "components".to_owned(),
        serde_json::json!({ "schemas": schemas }),
    );
    jsonschema::validator_for(&schema).expect("the document's schemas are valid JSON Schema")
}

/// Rewrites an OpenAPI 3.0 schema object, in place, into JSON Schema: drops `example`, maps
/// `nullable: true` to a `null` alternative, and drops `enum` when enums are open.
pub fn to_json_schema(schema: &mut Value, enums: Enums) {
    let Value::Object(object) = schema else {
        return;
    };
    object.remove("example");
    if enums == Enums::Open {
        object.remove("enum");
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = object.get_mut(key) {
            to_json_schema(sub, enums);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = object.get_mut(key) {
            subs.iter_mut().for_each(|sub| to_json_schema(sub, enums));
        }
    }
    // Keys of `properties` are names, not keywords: only their values are schemas.
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties
            .values_mut()
            .for_each(|sub| to_json_schema(sub, enums));
    }
    if object.remove("nullable") == Some(Value::Bool(true)) {
        // A nullable enum admits null too (OpenAPI 3.0.3), which JSON Schema's `enum` must list.
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.push(Value::Null);
        }
        match object.get_mut("type") {
            Some(Value::String(kind)) => {
                let kind = std::mem::take(kind);
                object.insert("type".to_owned(), serde_json::json!([kind, "null"]));
            }
            _ => {
                let inner = Value::Object(std::mem::take(object));
                let mut wrapper = Map::new();
                wrapper.insert(
                    "anyOf".to_owned(),
                    serde_json::json!([inner, { "type": "null" }]),
                );
                *object = wrapper;
            }
        }
    }
}

/// What a streamed chat answer sent: its chunks (the `data:` events before `[DONE]`, parsed),
/// whether `[DONE]` came, and how the body broke if it did.
#[derive(Debug, Default)]
pub struct Streamed {
    pub chunks: Vec<Value>,
    pub done: bool,
    pub broken: Option<String>,
}

/// Reads a `text/event-stream` body to its end with the workspace's SSE parser.
pub async fn read_stream(response: reqwest::Response) -> Streamed {
    use eventsource_stream::Eventsource as _;
    use futures::StreamExt as _;

    let content_type = response.headers()["content-type"].to_str().expect("ASCII");
    assert_eq!(content_type, "text/event-stream");
    let mut events = response.bytes_stream().eventsource();
    let mut streamed = Streamed::default();
    while let Some(event) = events.next().await {
        match event {
            Ok(event) if event.data == "[DONE]" => streamed.done = true,
            Ok(event) => {
                assert!(!streamed.done, "an event after [DONE]: {}", event.data);
                let chunk = serde_json::from_str(&event.data)
                    .unwrap_or_else(|e| panic!("an event that is not JSON ({e}): {}", event.data));
                streamed.chunks.push(chunk);
            }
            Err(error) => {
                streamed.broken = Some(error.to_string());
                break;
            }
        }
    }
    streamed
}

/// A message rebuilt from chunks: content, reasoning content, and the tool calls (id, type,
/// name, arguments) assembled by index.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Assembled {
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Vec<(String, String, String, String)>,
}

impl Streamed {
    /// The message the chunks carry.
    pub fn assemble(&self) -> Assembled {
        let mut message = Assembled::default();
        for chunk in &self.chunks {
            let delta = &chunk["choices"][0]["delta"];
            message.content += delta["content"].as_str().unwrap_or_default();
            message.reasoning += delta["reasoning_content"].as_str().unwrap_or_default();
            for fragment in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = fragment["index"]
                    .as_u64()
                    .expect("every fragment has an index") as usize;
                if index == message.tool_calls.len() {
                    message.tool_calls.push(Default::default());
                }
                let call = &mut message.tool_calls[index];
                let text = |field: &Value| field.as_str().unwrap_or_default().to_owned();
                if fragment.get("id").is_some() {
                    call.0 = text(&fragment["id"]);
                    call.1 = text(&fragment["type"]);
                    call.2 = text(&fragment["function"]["name"]);
                }
                call.3 += fragment["function"]["arguments"]
                    .as_str()
                    .unwrap_or_default();
            }
        }
        message
    }

    /// The chunk that carries the finish reason.
    pub fn finish(&self) -> &Value {
        self.chunks
            .iter()
            .find(|chunk| {
                !chunk["choices"][0]["finish_reason"].is_null() && chunk["choices"][0].is_object()
            })
            .expect("a chunk with a finish reason")
    }
}
