//! Chat completions: how the server answers `POST /v1/chat/completions`, and the scripted
//! answers tests can give it.
//!
//! # Answers
//!
//! The first that applies:
//!
//! 1. The first [fixture rule](#fixtures-format) that matches the request.
//! 2. The last message is a user message and the model calls a tool: the function
//!    `tool_choice` names; with `tool_choice` `"required"`, the first declared function whose
//!    name's longest word (`weather` of `get_weather`) the question holds, else the built-in
//!    web search if declared, else the first declared tool; by default, the built-in web search
//!    (`{"type": "builtin_function", "function": {"name": "$web_search"}}`) when declared and
//!    `tool_choice` is not `"none"`. Finish reason `tool_calls`, one call `{"id": "<name>:N",
//!    "type": ..., "function": {"name": ..., "arguments": ...}}`, the arguments `{"query":
//!    <question>}` for the web search and, for a function, the question for each required
//!    string parameter. A thinking model cannot use the web search: 400
//!    `invalid_request_error` saying to send `"thinking": {"type": "disabled"}`. The tools
//!    are those of `tools` and, for Kimi K3, those of the dynamic tool messages (`{"role":
//!    "system", "tools": [...]}`, no `content`) before the last user message; another model
//!    refuses such a message (400).
//! 3. The last messages are tool results: an answer that reports each of them; for
//!    `$web_search`, one that cites the query searched (the server has no web).
//! 4. The extractive answer: the sentences of the system messages that share the most words
//!    with the question (the last user message), up to three, at least half as many as the
//!    best, in document order. Words are lowercase runs of letters and digits (each CJK
//!    character one word), common English words left out. A system message that is the JSON
//!    object the files content endpoint serves counts as its `content`, so a file placed there
//!    as Moonshot's docs show is answered from. Without system text, a short answer saying this
//!    is the local server and repeating the question.
//!
//! User functions are never called unless `tool_choice` or a fixture says so. Thinking models
//! (kimi-k3, kimi-k2.7-code* and the retired kimi-k2-thinking* always; kimi-k2.6 and kimi-k2.5
//! unless `"thinking": {"type": "disabled"}`) also send `reasoning_content`, which says which
//! sentences were picked and why; `"thinking": {"type": "disabled"}` for a model that always
//! thinks is refused (400), as Moonshot does. Kimi K3's `reasoning_effort` (`low`, `high`,
//! `max`) is taken, another value refused. With `response_format`
//! `json_object` or `json_schema`, the text is the JSON object `{"answer": <text>}`. With
//! `max_completion_tokens` (or `max_tokens`) below the answer, the text is cut there and the
//! finish reason is `length`. A scripted answer is sent as written. Usage counts the prompt as the token estimate does and the answer
//! (content, reasoning, tool calls) at 4 UTF-8 bytes per token.
//!
//! # Streaming
//!
//! With `"stream": true` the answer is `text/event-stream`, each event `data: <chunk>` and a
//! blank line, each chunk a `chat.completion.chunk`: the role (`{"role": "assistant",
//! "content": ""}`), `reasoning_content` pieces, then `content` pieces of a few words, then for
//! each tool call a fragment with its `index`, `id`, `type` and `function.name` (arguments
//! `""`) followed by fragments of its arguments; then a chunk with an empty delta, the
//! `finish_reason` and `usage` inside `choices[0]` (where Moonshot puts it); with
//! `stream_options.include_usage`, a chunk with no choices and `usage` at the top (where OpenAI
//! puts it); then `data: [DONE]`. Events are made as they are sent, so a stream of any length
//! holds one event in memory. [`MockServerBuilder::chunk_delay`](crate::MockServerBuilder::chunk_delay)
//! paces them; a [`StreamFault`] (for every stream through
//! [`Faults::stream_fault`](crate::Faults::stream_fault), for one through a fixture) breaks them.
//!
//! # Fixtures format
//!
//! A fixtures file ([`ChatFixtures::load`], `moonshot-mock --chat-fixtures FILE`) is a JSON
//! array of rules, or JSON Lines: one rule object per line, blank lines skipped. The first rule
//! that matches a request answers it. A rule's fields:
//!
//! | field | matches or answers |
//! |---|---|
//! | `user_contains` | matches when the last user message contains this text (case-sensitive); absent: any |
//! | `model` | matches this model id only; absent: any |
//! | `after_tool` | `false` (default): matches when the last message is a user (or system, assistant) message; `true`: when it is a tool result |
//! | `reply` | the answer's text |
//! | `filler_chunks` | instead of `reply`: an answer of N content chunks (`"Kimi streams this answer. "` each), generated while sent |
//! | `reasoning` | `reasoning_content` (default: a line naming the rule, for thinking models only) |
//! | `tool_calls` | `[{"name": ..., "arguments": ..., "type": "function"}]`: calls to make (finish reason `tool_calls`); `arguments` is sent as is when a string, even one that is not JSON, else as its JSON text; `type` defaults to `function` |
//! | `error` | `{"status": 429, "type": "rate_limit_reached_error", "message": "..."}`: answers with this error instead, streaming or not |
//! | `fault` | `{"cut_after": N}`, `{"error_after": N}` or `{"stall_after": N}`: the [`StreamFault`] of this answer's stream |
//!
//! A rule gives `reply`, `filler_chunks`, `tool_calls` or `error`; `error` goes alone, and
//! `error.status` is 400 to 599. Unknown fields are refused. Errors name the file and the line
//! and column, or the rule. For example:
//!
//! ```text
//! {"user_contains": "weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
//! {"user_contains": "weather", "after_tool": true, "reply": "It is sunny in Paris."}
//! {"user_contains": "overloaded", "error": {"status": 429, "type": "engine_overloaded_error", "message": "The engine is currently overloaded, please try again later"}}
//! {"user_contains": "long answer", "filler_chunks": 10000, "fault": {"cut_after": 500}}
//! ```

mod extract;
mod fixtures;
mod reply;
pub(crate) mod request;
pub(crate) mod sse;
pub(crate) mod wire;

pub use fixtures::{ChatFixtureError, ChatFixtures, StreamFault};
pub(crate) use reply::{Reply, reply};
