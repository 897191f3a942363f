//! A streamed answer: `text/event-stream` events generated one at a time as they are sent,
//! paced, and broken on demand.

use std::time::Duration;

use axum::BoxError;
use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::fixtures::StreamFault;
use super::reply::{Content, FILLER_PIECE, Reply};
use super::wire::{self, Meta, Usage};

/// Words per content or reasoning chunk.
const WORDS_PER_PIECE: usize = 3;
/// Characters per chunk at most, for text without spaces (Chinese, tool call arguments).
const MAX_PIECE_CHARS: usize = 24;
/// How long a cut stream waits before dropping the connection, so what was sent is flushed.
const CUT_PAUSE: Duration = Duration::from_millis(20);

/// How a stream is sent: its pacing and its fault.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The wait before each event after the first.
    pub(crate) chunk_delay: Duration,
    pub(crate) fault: Option<StreamFault>,
    /// Turns true when the server stops, which ends stalled streams.
    pub(crate) stopping: watch::Receiver<bool>,
}

/// The `text/event-stream` response for `reply`.
pub(crate) fn response(
    meta: Meta,
    reply: Reply,
    usage: Usage,
    include_usage: bool,
    delivery: Delivery,
) -> Response {
    let events = Events {
        meta,
        reply,
        usage,
        include_usage,
        step: Step::Role,
    };
    let sender = Sender {
        events,
        sent: 0,
        delivery,
        ended: false,
    };
    let stream = futures::stream::unfold(sender, |mut sender| async move {
        let item = sender.next().await?;
        Some((item, sender))
    });
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The stream was cut on purpose.
#[derive(Debug, thiserror::Error)]
#[error("chat stream cut by the mock's stream fault")]
struct StreamCut;

/// Sends the events, waiting between them and injecting the fault.
struct Sender {
    events: Events,
    /// Events sent so far.
    sent: u64,
    delivery: Delivery,
    ended: bool,
}

impl Sender {
    async fn next(&mut self) -> Option<Result<Bytes, BoxError>> {
        if self.ended {
            return None;
        }
        match self.delivery.fault {
            Some(StreamFault::CutAfter(n)) if self.sent == n => {
                self.ended = true;
                tokio::time::sleep(CUT_PAUSE).await;
                return Some(Err(StreamCut.into()));
            }
            Some(StreamFault::ErrorAfter(n)) if self.sent == n => {
                self.ended = true;
                let error = json!({"error": {
                    "message": format!("the stream failed after {n} events (moonshot-mock stream fault)"),
                    "type": "server_error",
                }});
                return Some(Ok(event(&error)));
            }
            Some(StreamFault::StallAfter(n)) if self.sent == n => {
                self.ended = true;
                // Ends (the connection dropped) only when the server stops.
                let _ = self.delivery.stopping.wait_for(|stopping| *stopping).await;
                return Some(Err(StreamCut.into()));
            }
            _ => {}
        }
        if self.sent > 0 && !self.delivery.chunk_delay.is_zero() {
            tokio::time::sleep(self.delivery.chunk_delay).await;
        }
        let event = self.events.next()?;
        self.sent += 1;
        Some(Ok(event))
    }
}

/// Where the answer's events are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Role,
    /// Reasoning, from this byte on.
    Reasoning(usize),
    /// Content text from this byte on, or filler pieces sent so far.
    Content(u64),
    /// The head of tool call `n`.
    ToolCallHead(usize),
    /// Arguments of tool call `n`, from this byte on.
    ToolCallArguments(usize, usize),
    Finish,
    Usage,
    Done,
    End,
}

/// The events of one answer, each made when asked for.
struct Events {
    meta: Meta,
    reply: Reply,
    usage: Usage,
    include_usage: bool,
    step: Step,
}

impl Events {
    fn next(&mut self) -> Option<Bytes> {
        loop {
            let (chunk, next) = self.at(self.step)?;
            self.step = next;
            if let Some(chunk) = chunk {
                return Some(chunk);
            }
        }
    }

    /// The event at `step`, if it has one, and the step after it.
    fn at(&self, step: Step) -> Option<(Option<Bytes>, Step)> {
        let delta = |delta: Value| Some(event(&wire::delta_chunk(&self.meta, delta)));
        Some(match step {
            Step::Role => (
                delta(json!({"role": "assistant", "content": ""})),
                Step::Reasoning(0),
            ),
            Step::Reasoning(from) => match self.reply.reasoning.as_deref() {
                Some(text) if from < text.len() => {
                    let end = piece_end(text, from);
                    (
                        delta(json!({"reasoning_content": &text[from..end]})),
                        Step::Reasoning(end),
                    )
                }
                _ => (None, Step::Content(0)),
            },
            Step::Content(from) => match &self.reply.content {
                Content::Text(text) if (from as usize) < text.len() => {
                    let from = from as usize;
                    let end = piece_end(text, from);
                    (
                        delta(json!({"content": &text[from..end]})),
                        Step::Content(end as u64),
                    )
                }
                Content::Filler(pieces) if from < *pieces => (
                    delta(json!({"content": FILLER_PIECE})),
                    Step::Content(from + 1),
                ),
                _ => (None, Step::ToolCallHead(0)),
            },
            Step::ToolCallHead(n) => match self.reply.tool_calls.get(n) {
                Some(call) => (
                    delta(wire::tool_call_head(n, call)),
                    Step::ToolCallArguments(n, 0),
                ),
                None => (None, Step::Finish),
            },
            Step::ToolCallArguments(n, from) => {
                let arguments = self.reply.tool_calls.get(n).map_or("", |c| &c.arguments);
                if from < arguments.len() {
                    let end = piece_end(arguments, from);
                    (
                        delta(wire::tool_call_arguments(n, &arguments[from..end])),
                        Step::ToolCallArguments(n, end),
                    )
                } else {
                    (None, Step::ToolCallHead(n + 1))
                }
            }
            Step::Finish => (
                Some(event(&wire::finish_chunk(
                    &self.meta,
                    self.reply.finish_reason,
                    self.usage,
                ))),
                Step::Usage,
            ),
            Step::Usage => (
                self.include_usage
                    .then(|| event(&wire::usage_chunk(&self.meta, self.usage))),
                Step::Done,
            ),
            Step::Done => (Some(Bytes::from_static(b"data: [DONE]\n\n")), Step::End),
            Step::End => return None,
        })
    }
}

/// One `data:` event.
fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// Where the piece of `text` that starts at `from` ends: after a few words and the spaces that
/// follow them, or after [`MAX_PIECE_CHARS`] characters.
fn piece_end(text: &str, from: usize) -> usize {
    let mut words = 0;
    let mut in_word = false;
    for (n, (i, c)) in text[from..].char_indices().enumerate() {
        if c.is_whitespace() {
            if in_word {
                words += 1;
                in_word = false;
            }
        } else {
            if words == WORDS_PER_PIECE || n >= MAX_PIECE_CHARS {
                return from + i;
            }
            in_word = true;
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let mut pieces = Vec::new();
        let mut from = 0;
        while from < text.len() {
            let end = piece_end(text, from);
            pieces.push(&text[from..end]);
            from = end;
        }
        pieces
    }

    #[test]
    fn pieces_hold_a_few_words_and_rebuild_the_text() {
        let text = "One two three four five  six.\nSeven 长长长长长长长长长长长长长长长长长长长长长长长长长长长长";
        let split = pieces(text);
        assert_eq!(split[0], "One two three ");
        assert_eq!(split[1], "four five  six.\n");
        assert!(
            split
                .iter()
                .all(|piece| piece.chars().count() <= MAX_PIECE_CHARS),
            "{split:?}"
        );
        assert_eq!(split.concat(), text);
    }
}
