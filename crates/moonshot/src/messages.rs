//! Messages of a conversation, built in one call each.
//!
//! ```
//! use moonshot::messages::{system, user};
//! let messages = vec![system("Answer from the document."), user("What is it about?")];
//! assert_eq!(messages[1].role.as_str(), "user");
//! ```

use moonshot_api::types::{
    ImageUrlImageUrl, KimiK3Message, Message, MessageContent, MessageContentArrayItem, MessageRole,
    VideoUrlVideoUrl,
};

/// The role of a message of a request: a plain message's, or `system` for a dynamic tool
/// message.
pub fn role_of(message: &KimiK3Message) -> &str {
    match message {
        KimiK3Message::Message(message) => message.role.as_str(),
        KimiK3Message::KimiK3DynamicToolMessage(dynamic) => dynamic.role.as_str(),
    }
}

/// A message of `role` with text `content`, nothing else set.
pub fn message(role: MessageRole, content: impl Into<String>) -> Message {
    Message {
        role,
        content: MessageContent::String(content.into()),
        name: None,
        partial: None,
        reasoning_content: None,
        tool_call_id: None,
        tool_calls: Vec::new(),
    }
}

/// A `system` message: instructions, or a file's extracted content.
pub fn system(content: impl Into<String>) -> Message {
    message(MessageRole::System, content)
}

/// A `user` message.
pub fn user(content: impl Into<String>) -> Message {
    message(MessageRole::User, content)
}

/// An `assistant` message: an earlier answer, sent back as context.
pub fn assistant(content: impl Into<String>) -> Message {
    message(MessageRole::Assistant, content)
}

/// An `assistant` message as a model answered: its text, reasoning and tool calls, sent back in
/// the next turn.
pub fn answered(
    content: impl Into<String>,
    reasoning: Option<String>,
    tool_calls: Vec<moonshot_api::types::ToolCall>,
) -> Message {
    Message {
        reasoning_content: reasoning,
        tool_calls,
        ..message(MessageRole::Assistant, content)
    }
}

/// A `tool` message: the result of the tool call `call_id`.
pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Message {
    Message {
        tool_call_id: Some(call_id.into()),
        ..message(MessageRole::Tool, content)
    }
}

/// Partial mode: an `assistant` message that the reply continues; it must be the last message.
pub fn partial(prefix: impl Into<String>) -> Message {
    Message {
        partial: Some(true),
        ..message(MessageRole::Assistant, prefix)
    }
}

/// A `user` message of several parts: text, images and videos (for vision models).
///
/// ```
/// use moonshot::messages::{image_url, text, user_parts};
/// let message = user_parts([text("What is in this picture?"), image_url("https://example.com/cat.png")]);
/// # let _ = message;
/// ```
pub fn user_parts(parts: impl IntoIterator<Item = MessageContentArrayItem>) -> Message {
    Message {
        content: MessageContent::Array(parts.into_iter().collect()),
        ..message(MessageRole::User, String::new())
    }
}

/// A text part of a multi-part message.
pub fn text(text: impl Into<String>) -> MessageContentArrayItem {
    MessageContentArrayItem::Text { text: text.into() }
}

/// An image part: a URL, or a `data:image/png;base64,...` URL.
pub fn image_url(url: impl Into<String>) -> MessageContentArrayItem {
    MessageContentArrayItem::ImageUrl {
        image_url: ImageUrlImageUrl::Object { url: url.into() },
    }
}

/// A video part: a URL, or a `data:` URL.
pub fn video_url(url: impl Into<String>) -> MessageContentArrayItem {
    MessageContentArrayItem::VideoUrl {
        video_url: VideoUrlVideoUrl::Object { url: url.into() },
    }
}
