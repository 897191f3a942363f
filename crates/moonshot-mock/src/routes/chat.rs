//! `POST /v1/chat/completions`: an answer made without a model (see [`crate::chat`]), whole or
//! streamed.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use bytes::Bytes;

use super::{ApiError, ServerState, json_body, json_request, off_the_workers, refused};
use crate::account_limits::{Refusal, Ticket};
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
    /// Refused by the account's token limits, before any work.
    Refused(Refusal),
}

pub(super) async fn create_chat_completion(
    State(state): State<Arc<ServerState>>,
    ticket: Option<Extension<Arc<Ticket>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let shared = Arc::clone(&state);
    let ticket = ticket.map(|Extension(ticket)| ticket);
    match off_the_workers(move || answer(&shared, ticket.as_deref(), body)).await? {
        Answer::Whole(completion) => Ok(json_body(completion)),
        Answer::Refused(refusal) => Ok(refused(&refusal)),
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

/// Parses the request, counts its tokens against the account's limits (`ticket`, its
/// admission) and makes its answer: work that grows with the request's size.
fn answer(
    state: &ServerState,
    ticket: Option<&Ticket>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Answer, ApiError> {
    let request = ChatRequest::parse(&json_request(body, MAX_CHAT_BODY_BYTES)?)?;
    if let Some(ticket) = ticket {
        let reserved = request.prompt_tokens + state.limiter.completion_tokens(request.max_tokens);
        if let Err(refusal) = ticket.spend(reserved) {
            return Ok(Answer::Refused(refusal));
        }
        // Counted as none unless an answer is made.
        ticket.settle(0);
    }
    let reply = reply(&request, &state.chat_fixtures)?;
    let usage = Usage::of(request.prompt_tokens, &reply);
    if let Some(ticket) = ticket {
        ticket.settle(usage.prompt_tokens + usage.completion_tokens);
    }
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
