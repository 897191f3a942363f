//! `POST /v1/chat/completions`: an answer made without a model (see [`crate::chat`]), whole or
//! streamed.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use bytes::Bytes;

use super::{ApiError, ServerState, json_body, json_request, off_the_workers};
use crate::chat::request::ChatRequest;
use crate::chat::sse::{self, Delivery};
use crate::chat::wire::{self, Meta, Usage};
use crate::chat::{Reply, reply};
use crate::limits::MAX_CHAT_BODY_BYTES;

/// An answer made, before it is sent.
enum Answer {
    /// The whole completion, serialized.
    Whole(String),
    /// What a stream is made of, one event at a time as it is sent.
    Streamed {
        meta: Meta,
        reply: Reply,
        usage: Usage,
        include_usage: bool,
    },
}

pub(super) async fn create_chat_completion(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let shared = Arc::clone(&state);
    match off_the_workers(move || answer(&shared, body)).await? {
        Answer::Whole(completion) => Ok(json_body(completion)),
        Answer::Streamed {
            meta,
            reply,
            usage,
            include_usage,
        } => {
            let delivery = Delivery {
                chunk_delay: state.chunk_delay,
                fault: reply.fault.or(state.faults.stream_fault),
                stopping: state.stopping.subscribe(),
            };
            Ok(sse::response(meta, reply, usage, include_usage, delivery))
        }
    }
}

/// Parses the request and makes its answer: work that grows with the request's size.
fn answer(state: &ServerState, body: Result<Bytes, BytesRejection>) -> Result<Answer, ApiError> {
    let request = ChatRequest::parse(&json_request(body, MAX_CHAT_BODY_BYTES)?)?;
    let reply = reply(&request, &state.chat_fixtures)?;
    let usage = Usage::of(request.prompt_tokens, &reply);
    let meta = Meta::new(&request.model);
    if request.stream {
        return Ok(Answer::Streamed {
            meta,
            reply,
            usage,
            include_usage: request.include_usage,
        });
    }
    Ok(Answer::Whole(
        wire::completion(&meta, &reply, usage).to_string(),
    ))
}
