//! Messages of a conversation, built in one call each.
//!
//! ```
//! use moonshot::messages::{system, user};
//! let messages = vec![system("Answer from the document."), user("What is it about?")];
//! assert_eq!(messages[1].role.as_str(), "user");
//! ```

use moonshot_api::types::{Message, MessageContent, MessageRole};

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
