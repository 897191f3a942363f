//! Token counting, as `POST /v1/tokenizers/estimate-token-count` answers it and chat usage counts.
//!
//! The estimate is 3 tokens for priming the reply, plus, per message, 4 tokens and those of its
//! content: `ceil(UTF-8 bytes / 4)` per text (a string content or a `text` part), and 1,024 per
//! `image_url` or `video_url` part. Four bytes is about one token of English; a Chinese
//! character (3 bytes) counts three quarters of one.

use axum::http::StatusCode;
use serde_json::Value;

use crate::error::ApiError;
use crate::models::{Family, family_of};

/// Tokens for priming the reply.
const REPLY_PRIMING_TOKENS: u64 = 3;
/// Tokens of each message's framing (its role and separators).
const MESSAGE_TOKENS: u64 = 4;
/// UTF-8 bytes per token of text.
const BYTES_PER_TOKEN: u64 = 4;
/// Tokens of each image or video.
const MEDIA_TOKENS: u64 = 1_024;

/// The roles a message may have.
const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

/// The estimate for a request `{model, messages}`, or the answer that refuses it.
pub(crate) fn estimate(request: &Value) -> Result<u64, ApiError> {
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::invalid_request("`model` is required: a model id such as kimi-k3")
        })?;
    let Some(family) = family_of(model) else {
        // What the real API answers for a model it does not serve.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found_error",
            format!("Not found the model {model} or Permission denied"),
        ));
    };
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .filter(|messages| !messages.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_request(
                "`messages` is required: a non-empty list of {\"role\": ..., \"content\": ...}",
            )
        })?;
    messages
        .iter()
        .enumerate()
        .try_fold(REPLY_PRIMING_TOKENS, |total, (i, message)| {
            message_tokens(message, model, family)
                .map(|tokens| total + tokens)
                .map_err(|problem| ApiError::invalid_request(format!("messages[{i}]: {problem}")))
        })
}

/// Whether `message` is a dynamic tool message: `{"role": "system", "tools": [...]}`.
pub(crate) fn is_dynamic_tool_message(message: &Value) -> bool {
    message["role"] == "system" && message.get("tools").is_some()
}

/// The tokens of one message to `model` of `family`, or what is wrong with it.
fn message_tokens(message: &Value, model: &str, family: Family) -> Result<u64, String> {
    let role = message
        .get("role")
        .and_then(Value::as_str)
        .ok_or("`role` is required: system, user, assistant or tool")?;
    if !ROLES.contains(&role) {
        return Err(format!(
            "role {role:?} is not one of system, user, assistant, tool"
        ));
    }
    if is_dynamic_tool_message(message) {
        return dynamic_tool_message_tokens(message, model, family);
    }
    let content_tokens = match message.get("content") {
        Some(Value::String(text)) if !text.is_empty() => text_tokens(text),
        // An assistant message that carries tool calls may have nothing to say.
        Some(Value::String(_)) if role == "assistant" && message.get("tool_calls").is_some() => 0,
        Some(Value::String(_)) => return Err("`content` must not be empty".to_owned()),
        Some(Value::Array(parts)) if !parts.is_empty() => {
            parts.iter().enumerate().try_fold(0, |total, (j, part)| {
                part_tokens(part)
                    .map(|tokens| total + tokens)
                    .map_err(|problem| format!("content[{j}]: {problem}"))
            })?
        }
        _ => {
            return Err(
                "`content` is required: a non-empty string or list of text, image_url and \
                 video_url parts"
                    .to_owned(),
            );
        }
    };
    Ok(MESSAGE_TOKENS + content_tokens)
}

/// The tokens of a dynamic tool message: those of its tools' JSON text.
fn dynamic_tool_message_tokens(
    message: &Value,
    model: &str,
    family: Family,
) -> Result<u64, String> {
    if !family.dynamic_tools {
        return Err(format!(
            "a dynamic tool message ({{\"role\": \"system\", \"tools\": [...]}}) is taken by \
             kimi-k3 only, and {model} is of the {} family: declare the tools in `tools`",
            family.name
        ));
    }
    if message.get("content").is_some() {
        return Err(
            "a dynamic tool message carries `tools` and no `content`: send the text in a \
             message of its own"
                .to_owned(),
        );
    }
    match &message["tools"] {
        Value::Array(_) => Ok(MESSAGE_TOKENS + text_tokens(&message["tools"].to_string())),
        _ => Err("`tools` of a dynamic tool message must be a list of tools".to_owned()),
    }
}

/// The tokens of one part of a multimodal content.
fn part_tokens(part: &Value) -> Result<u64, String> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") => part
            .get("text")
            .and_then(Value::as_str)
            .map(text_tokens)
            .ok_or_else(|| "a text part needs a string `text`".to_owned()),
        Some(kind @ ("image_url" | "video_url")) if part.get(kind).is_some() => Ok(MEDIA_TOKENS),
        Some(kind @ ("image_url" | "video_url")) => Err(format!("a {kind} part needs `{kind}`")),
        _ => Err("`type` must be text, image_url or video_url".to_owned()),
    }
}

fn text_tokens(text: &str) -> u64 {
    bytes_tokens(text.len() as u64)
}

/// The tokens of a text of `len` UTF-8 bytes.
pub(crate) fn bytes_tokens(len: u64) -> u64 {
    len.div_ceil(BYTES_PER_TOKEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use serde_json::json;

    #[test]
    fn the_estimate_follows_the_documented_formula() {
        let request = json!({"model": "kimi-k2.5", "messages": [
            {"role": "system", "content": "You are Kimi."},
            {"role": "user", "content": [
                {"type": "text", "text": "你好"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
            ]},
        ]});
        // 3 + (4 + ceil(13 / 4)) + (4 + ceil(6 / 4) + 1024)
        assert_eq!(estimate(&request).ok(), Some(3 + 4 + 4 + 4 + 2 + 1024));
    }

    #[tokio::test]
    async fn each_bad_message_is_named() {
        for (messages, expected) in [
            (
                json!([{"content": "hi"}]),
                "messages[0]: `role` is required",
            ),
            (
                json!([{"role": "robot", "content": "hi"}]),
                "is not one of system",
            ),
            (
                json!([{"role": "user", "content": ""}]),
                "must not be empty",
            ),
            (json!([{"role": "user"}]), "`content` is required"),
            (
                json!([{"role": "user", "content": [{"type": "audio"}]}]),
                "content[0]: `type`",
            ),
        ] {
            let request = json!({"model": "kimi-k2.5", "messages": messages});
            let Err(response) = estimate(&request) else {
                panic!("{request} accepted");
            };
            let response = response.into_response();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body in memory");
            let body = String::from_utf8_lossy(&body);
            assert!(body.contains(expected), "{body}");
        }
    }
}
