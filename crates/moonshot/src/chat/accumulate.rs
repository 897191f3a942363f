//! Rebuilding a whole answer from the chunks of a stream.

use moonshot_api::types::{
    ChatCompletionChunk, ChoiceDeltaFinishReason, Message, ToolCall, ToolCallFunction,
    ToolCallType, Usage,
};

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
