//! Every string enum of the merged document is open: walked from the document itself, so an enum
//! upstream adds tomorrow cannot slip through closed.

use moonshot_api::OpenEnum;
use moonshot_api::types::{
    self, ChatCompletionResponse, CreateChatCompletionRequest, CreateChatCompletionRequestModel,
    Message,
};
use serde_json::{Value, json};

/// The merged document, as the build script read it.
fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("the merged document");
    serde_yaml_ng::from_str(&text).expect("YAML")
}

/// A string enum found in the document.
struct FoundEnum {
    pointer: String,
    values: Vec<String>,
    /// A required single-value property of a `oneOf`/`anyOf` alternative: the alternative's tag.
    tag: bool,
}

/// Every string enum anywhere in `value`, with its pointer.
fn string_enums(value: &Value, pointer: &str, tag: bool, found: &mut Vec<FoundEnum>) {
    match value {
        Value::Object(map) => {
            if let Some(values) = map.get("enum").and_then(Value::as_array)
                && values.iter().any(Value::is_string)
            {
                found.push(FoundEnum {
                    pointer: pointer.to_owned(),
                    values: values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    tag,
                });
            }
            let alternatives = ["oneOf", "anyOf"]
                .iter()
                .any(|k| pointer.split('/').rev().nth(1) == Some(k));
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let child_pointer = format!("{pointer}/{escaped}");
                // Properties of an alternative that it requires, with one value, are tags.
                if key == "properties" && alternatives {
                    for (property, schema) in child.as_object().into_iter().flatten() {
                        let required = map
                            .get("required")
                            .and_then(Value::as_array)
                            .is_some_and(|r| r.iter().any(|n| n == property));
                        let single = schema
                            .get("enum")
                            .and_then(Value::as_array)
                            .is_some_and(|v| v.len() == 1);
                        string_enums(
                            schema,
                            &format!("{child_pointer}/{property}"),
                            required && single,
                            found,
                        );
                    }
                } else {
                    string_enums(child, &child_pointer, false, found);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                string_enums(item, &format!("{pointer}/{index}"), false, found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_string_enum_of_the_document_is_an_open_type_that_keeps_unknown_values() {
    let document = document();
    let mut found = Vec::new();
    string_enums(&document, "", false, &mut found);
    let mut opened = Vec::new();
    let mut tags = Vec::new();
    for e in &found {
        if e.tag {
            tags.push(e.pointer.clone());
            continue;
        }
        // Every other enum is a component of its own, which the crate opens.
        let name = e
            .pointer
            .strip_prefix("/components/schemas/")
            .filter(|rest| !rest.contains('/'))
            .unwrap_or_else(|| {
                panic!(
                    "{} is an inline enum: `cargo xtask gen` names them all",
                    e.pointer
                )
            });
        let entry = moonshot_api::types::OPEN_ENUMS
            .iter()
            .find(|entry| entry.name == name)
            .unwrap_or_else(|| panic!("{name} is not opened"));
        assert_eq!(entry.known, e.values, "{name}");
        for value in &e.values {
            let decoded = (entry.decode)(&json!(value).to_string()).expect("decodes");
            assert_eq!(decoded, (value.clone(), true), "{name}: {value}");
        }
        let unknown =
            (entry.decode)("\"a-value-added-tomorrow\"").expect("an unknown value decodes");
        assert_eq!(
            unknown,
            ("a-value-added-tomorrow".to_owned(), false),
            "{name}"
        );
        opened.push(name.to_owned());
    }
    // The document's server-sent and client-sent enums are among them.
    for name in [
        "Purpose",
        "BatchObjectStatus",
        "ChatCompletionResponseChoicesItemFinishReason",
        "ChoiceDeltaFinishReason",
        "MessageRole",
        "ToolCallType",
        "CreateChatCompletionRequestModel",
        "EstimateTokenRequestModel",
        "BatchCreateRequestEndpoint",
        "UploadFileBodyPurpose",
    ] {
        assert!(opened.iter().any(|o| o == name), "{name} is not open");
    }
    assert_eq!(opened.len(), moonshot_api::types::OPEN_ENUMS.len());
    // Only the tags of message parts and of a named tool choice stay closed.
    assert!(!tags.is_empty());
    assert!(
        tags.iter().all(|t| t.ends_with("/properties/type")),
        "{tags:?}"
    );
}

/// Every `enum` of `value`, by JSON pointer.
fn all_enums<'v>(value: &'v Value, pointer: &str, found: &mut Vec<(String, &'v Vec<Value>)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_pointer = format!("{pointer}/{key}");
                match (key.as_str(), child) {
                    ("enum", Value::Array(values)) => found.push((child_pointer, values)),
                    _ => all_enums(child, &child_pointer, found),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                all_enums(item, &format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn no_enum_of_the_document_lists_a_value_twice() {
    // A value twice would be two variants for one value (and a correction that repeats what
    // upstream now says would make one): `cargo xtask gen` must never write it.
    let document = document();
    let mut found = Vec::new();
    all_enums(&document, "", &mut found);
    assert!(found.len() > 10, "{}", found.len());
    for (pointer, values) in found {
        for (index, value) in values.iter().enumerate() {
            assert!(
                !values[..index].contains(value),
                "{pointer} lists {value} twice"
            );
        }
    }
}

#[test]
fn a_model_launched_tomorrow_can_be_named_and_a_documented_one_is_a_variant() {
    let request: CreateChatCompletionRequest = serde_json::from_value(json!({
        "model": "kimi-k9-preview",
        "messages": [{"role": "user", "content": "Hello"}],
    }))
    .expect("any model id");
    assert_eq!(
        request.model,
        CreateChatCompletionRequestModel::Other("kimi-k9-preview".to_owned())
    );
    assert_eq!(
        CreateChatCompletionRequestModel::from("kimi-k2.6"),
        CreateChatCompletionRequestModel::KimiK26
    );
    assert!(CreateChatCompletionRequestModel::KimiK26.is_known());
    assert_eq!(
        CreateChatCompletionRequestModel::MoonshotV18k.to_string(),
        "moonshot-v1-8k"
    );
}

#[test]
fn a_request_sends_only_what_was_set() {
    let request: CreateChatCompletionRequest = serde_json::from_value(json!({
        "model": "moonshot-v1-8k",
        "messages": [{"role": "user", "content": "Hello"}],
    }))
    .expect("decodes");
    // No family's default (temperature 0.6, 1.0 or 0.0), no `stream: false`, no `partial`.
    assert_eq!(
        serde_json::to_value(&request).expect("encodes"),
        json!({
            "model": "moonshot-v1-8k",
            "messages": [{"role": "user", "content": "Hello"}],
        })
    );
}

#[test]
fn a_family_field_and_thinking_keep_are_typed() {
    let request: CreateChatCompletionRequest = serde_json::from_value(json!({
        "model": "kimi-k2.6",
        "messages": [{"role": "user", "content": "Hello"}],
        "thinking": {"type": "enabled", "keep": "all"},
        "temperature": 0.3,
    }))
    .expect("decodes");
    let thinking = request.thinking.as_ref().expect("thinking");
    assert_eq!(
        thinking.type_,
        types::CreateChatCompletionRequestThinkingType::Enabled
    );
    assert_eq!(
        thinking.keep,
        Some(types::CreateChatCompletionRequestThinkingKeep::All)
    );
    assert_eq!(request.temperature, Some(0.3));
}

#[test]
fn a_tool_conversation_round_trips() {
    let answer: ChatCompletionResponse = serde_json::from_value(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "kimi-k2.6",
        "choices": [{
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "",
                "reasoning_content": "The user wants the weather.",
                "tool_calls": [{
                    "id": "call-1",
                    "type": "builtin_function",
                    "function": {"name": "$web_search", "arguments": "{\"q\":\"x\"}"}
                }]
            }
        }]
    }))
    .expect("decodes");
    let choice = &answer.choices[0];
    assert_eq!(
        choice.finish_reason,
        Some(types::ChatCompletionResponseChoicesItemFinishReason::ToolCalls)
    );
    let message = choice.message.as_ref().expect("message");
    let call = &message.tool_calls[0];
    assert_eq!(call.type_, Some(types::ToolCallType::BuiltinFunction));

    // The calls go back as an assistant message, the result as a tool message.
    let back: Vec<Message> = serde_json::from_value(json!([
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call-1", "content": "{\"q\":\"x\"}"},
    ]))
    .expect("decodes");
    assert_eq!(back[1].role, types::MessageRole::Tool);
    assert_eq!(back[1].tool_call_id.as_deref(), Some("call-1"));
    assert_eq!(
        serde_json::to_value(&back[0]).expect("encodes")["tool_calls"][0]["function"]["name"],
        "$web_search"
    );
}

#[test]
fn a_streamed_chunk_decodes_with_usage_in_either_place() {
    let chunk: types::ChatCompletionChunk = serde_json::from_value(json!({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "kimi-k2.6",
        "choices": [{
            "index": 0,
            "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\""}}]},
            "finish_reason": null,
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        }],
        "usage": null
    }))
    .expect("decodes");
    assert_eq!(
        chunk.choices[0].delta.as_ref().expect("delta").tool_calls[0].index,
        0
    );
    assert_eq!(
        chunk.choices[0].usage.as_ref().and_then(|u| u.total_tokens),
        Some(3)
    );
    assert!(chunk.usage.is_none());
}
