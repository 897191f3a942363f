//! `POST /v1/chat/completions`: an answer made without a model (see [`crate::chat`]), whole or
//! streamed.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use bytes::Bytes;

use super::{ApiError, ServerState, json_body, json_request};
use crate::chat::reply;
use crate::chat::request::ChatRequest;
use crate::chat::sse::{self, Delivery};
use crate::chat::wire::{self, Meta, Usage};

pub(super) async fn create_chat_completion(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request = ChatRequest::parse(&json_request(body)?)?;
    let reply = reply(&request, &state.chat_fixtures)?;
    let usage = Usage::of(request.prompt_tokens, &reply);
    let meta = Meta::new(&request.model);
    if !request.stream {
        return Ok(json_body(
            wire::completion(&meta, &reply, usage).to_string(),
        ));
    }
    let delivery = Delivery {
        chunk_delay: state.chunk_delay,
        fault: reply.fault.or(state.faults.stream_fault),
        stopping: state.stopping.subscribe(),
    };
    Ok(sse::response(
        meta,
        reply,
        usage,
        request.include_usage,
        delivery,
    ))
}
