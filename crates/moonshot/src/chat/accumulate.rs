//! Rebuilding a whole answer from the chunks of a stream.

use std::collections::BTreeMap;

use moonshot_api::types::{
    ChatCompletionChunk, ChatCompletionResponse, ChoiceDelta, ChoiceDeltaFinishReason, Message,
    ToolCall, ToolCallFunction, ToolCallType, Usage,
};
use serde_json::json;

/// The answer so far, rebuilt from a stream's chunks: content, reasoning, and tool calls
/// assembled from their fragments by index. Reads the first choice (Moonshot streams one).
///
/// ```
/// use moonshot::chat::ChatAccumulator;
/// use moonshot::types::ChatCompletionChunk;
///
/// let mut answer = ChatAccumulator::default();
/// for data in [
///     r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
///     r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
/// ] {
///     answer.push(&serde_json::from_str::<ChatCompletionChunk>(data).unwrap());
/// }
/// assert_eq!(answer.content(), "Hello");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatAccumulator {
    id: Option<String>,
    model: Option<String>,
    created: Option<i64>,
    content: String,
    reasoning: String,
    tool_calls: Vec<ToolCall>,
    finish_reason: Option<ChoiceDeltaFinishReason>,
    usage: Option<Usage>,
    chunks: u64,
}

impl ChatAccumulator {
    /// Adds one chunk.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        self.chunks += 1;
        if self.id.is_none() {
            self.id.clone_from(&chunk.id);
        }
        if self.model.is_none() {
            self.model.clone_from(&chunk.model);
        }
        if self.created.is_none() {
            self.created = chunk.created;
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        let Some(choice) = chunk.choices.iter().find(|c| c.index.unwrap_or(0) == 0) else {
            return;
        };
        // Moonshot's own place for a stream's usage.
        if let Some(usage) = &choice.usage {
            self.usage = Some(usage.clone());
        }
        if let Some(reason) = &choice.finish_reason {
            self.finish_reason = Some(reason.clone());
        }
        let Some(delta) = &choice.delta else {
            return;
        };
        if let Some(text) = &delta.content {
            self.content.push_str(text);
        }
        if let Some(text) = &delta.reasoning_content {
            self.reasoning.push_str(text);
        }
        for fragment in &delta.tool_calls {
            let index = usize::try_from(fragment.index).unwrap_or(0);
            if self.tool_calls.len() <= index {
                self.tool_calls.resize_with(index + 1, ToolCall::default);
            }
            let call = &mut self.tool_calls[index];
            if fragment.id.is_some() {
                call.id.clone_from(&fragment.id);
            }
            if let Some(kind) = &fragment.type_ {
                call.type_ = Some(ToolCallType::from(kind.as_str()));
            }
            if let Some(function) = &fragment.function {
                let target = call.function.get_or_insert_with(ToolCallFunction::default);
                if function.name.is_some() {
                    target.name.clone_from(&function.name);
                }
                if let Some(part) = &function.arguments {
                    target
                        .arguments
                        .get_or_insert_with(String::new)
                        .push_str(part);
                }
            }
        }
    }

    /// The answer's text so far.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// The reasoning so far, from thinking models.
    pub fn reasoning(&self) -> Option<&str> {
        (!self.reasoning.is_empty()).then_some(self.reasoning.as_str())
    }

    /// The tool calls so far, each assembled from its fragments (arguments kept as the text
    /// the model wrote: see [`arguments`](super::arguments)).
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// Why the answer ended, once a chunk said.
    pub fn finish_reason(&self) -> Option<&ChoiceDeltaFinishReason> {
        self.finish_reason.as_ref()
    }

    /// The tokens used, from whichever chunk carried them (the last chunk's first choice, or a
    /// final chunk's top-level `usage`).
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// The completion's id.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The model that answered.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// When the completion was created (Unix seconds), as its chunks say.
    pub fn created(&self) -> Option<i64> {
        self.created
    }

    /// How many chunks were added.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The answer as an `assistant` message, to send back in the next turn (with its tool calls
    /// and reasoning).
    pub fn to_message(&self) -> Message {
        crate::messages::answered(
            self.content.clone(),
            self.reasoning().map(str::to_owned),
            self.tool_calls.clone(),
        )
    }
}

/// The choices after the first of a streamed answer (a request for several answers streams them
/// side by side, told apart by their index), each rebuilt as a [`ChatAccumulator`] rebuilds the
/// first; with the first, the whole completion.
#[derive(Debug, Default)]
pub(crate) struct OtherChoices(BTreeMap<i64, ChatAccumulator>);

impl OtherChoices {
    /// Adds the choices of `chunk` other than the first (nearly always none: nothing is done).
    pub(crate) fn push(&mut self, chunk: &ChatCompletionChunk) {
        for choice in chunk.choices.iter().filter(|c| c.index.unwrap_or(0) != 0) {
            let index = choice.index.unwrap_or(0);
            let alone = ChatCompletionChunk {
                choices: vec![ChoiceDelta {
                    index: Some(0),
                    ..choice.clone()
                }],
                ..ChatCompletionChunk::default()
            };
            self.0.entry(index).or_default().push(&alone);
        }
    }

    /// The whole completion the chunks made, `first` holding its first choice, the id, model,
    /// creation time and usage: the same response a request without `stream` is answered with.
    pub(crate) fn completion(
        self,
        first: &ChatAccumulator,
    ) -> Result<ChatCompletionResponse, serde_json::Error> {
        let choice = |index: i64, answer: &ChatAccumulator| {
            json!({
                "index": index,
                "finish_reason": answer.finish_reason,
                "message": {
                    "role": "assistant",
                    "content": answer.content,
                    "reasoning_content": answer.reasoning(),
                    "tool_calls": answer.tool_calls,
                },
            })
        };
        let choices: Vec<_> = std::iter::once(choice(0, first))
            .chain(self.0.iter().map(|(index, answer)| choice(*index, answer)))
            .collect();
        serde_json::from_value(json!({
            "id": first.id,
            "object": "chat.completion",
            "created": first.created,
            "model": first.model,
            "choices": choices,
            "usage": first.usage,
        }))
    }
}
