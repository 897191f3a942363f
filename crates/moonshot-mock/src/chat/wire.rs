//! The JSON the server sends for an answer: the whole completion (`chat.completion`) and the
//! chunks of a streamed one (`chat.completion.chunk`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::reply::{Reply, ToolCall};
use crate::tokens::bytes_tokens;

/// What every object of one answer shares.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: String,
}

/// Tokens of one request and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
}

impl Meta {
    /// A new answer's id (`chatcmpl-` and 24 random characters), now, and the model asked for.
    pub(crate) fn new(model: &str) -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let suffix: String = (0..24)
            .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
            .collect();
        Self {
            id: format!("chatcmpl-{suffix}"),
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            model: model.to_owned(),
        }
    }
}

impl Usage {
    /// The usage of `reply` to a prompt of `prompt_tokens`: its content, reasoning and tool call
    /// arguments counted as the token estimate counts text.
    pub(crate) fn of(prompt_tokens: u64, reply: &Reply) -> Self {
        let bytes = reply.content.len()
            + reply.reasoning.as_ref().map_or(0, |r| r.len() as u64)
            + reply
                .tool_calls
                .iter()
                .map(|call| (call.name.len() + call.arguments.len()) as u64)
                .sum::<u64>();
        Self {
            prompt_tokens,
            completion_tokens: bytes_tokens(bytes),
        }
    }

    pub(crate) fn to_json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        })
    }
}

/// The whole answer, `chat.completion`.
pub(crate) fn completion(meta: &Meta, reply: &Reply, usage: Usage) -> Value {
    let mut message = json!({"role": "assistant", "content": reply.content.to_text()});
    if let Some(reasoning) = &reply.reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    if !reply.tool_calls.is_empty() {
        message["tool_calls"] = reply
            .tool_calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": call.kind,
                    "function": {"name": call.name, "arguments": call.arguments},
                })
            })
            .collect();
    }
    json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": usage.to_json(),
    })
}

/// A chunk whose only choice carries `delta`.
pub(crate) fn delta_chunk(meta: &Meta, delta: Value) -> Value {
    chunk(
        meta,
        json!([{"index": 0, "delta": delta, "finish_reason": null}]),
    )
}

/// The first fragment of a tool call: its index, id, type and name, no arguments yet.
pub(crate) fn tool_call_head(index: usize, call: &ToolCall) -> Value {
    json!({"tool_calls": [{
        "index": index,
        "id": call.id,
        "type": call.kind,
        "function": {"name": call.name, "arguments": ""},
    }]})
}

/// A later fragment of a tool call: a piece of its arguments.
pub(crate) fn tool_call_arguments(index: usize, piece: &str) -> Value {
    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
}

/// The last chunk of the answer: an empty delta, the finish reason, and the usage inside the
/// choice, where Moonshot puts it.
pub(crate) fn finish_chunk(meta: &Meta, finish_reason: &str, usage: Usage) -> Value {
    chunk(
        meta,
        json!([{
            "index": 0,
            "delta": {},
            "finish_reason": finish_reason,
            "usage": usage.to_json(),
        }]),
    )
}

/// The chunk `stream_options.include_usage` asks for, as OpenAI sends it: no choices, the usage
/// at the top.
pub(crate) fn usage_chunk(meta: &Meta, usage: Usage) -> Value {
    let mut chunk = chunk(meta, json!([]));
    chunk["usage"] = usage.to_json();
    chunk
}

fn chunk(meta: &Meta, choices: Value) -> Value {
    json!({
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "choices": choices,
    })
}
