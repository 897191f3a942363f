//! `POST /v1/tokenizers/estimate-token-count`: a deterministic token estimate (counted by
//! [`crate::tokens`]).

use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::{ApiError, json_body, json_request, off_the_workers};
use crate::limits::MAX_CHAT_BODY_BYTES;
use crate::tokens::estimate;

pub(super) async fn estimate_token_count(
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let total_tokens = off_the_workers(move || {
        json_request(body, MAX_CHAT_BODY_BYTES).and_then(|request| estimate(&request))
    })
    .await?;
    Ok(json_body(
        json!({
            "code": 0,
            "data": {"total_tokens": total_tokens},
            "scode": "0x0",
            "status": true,
        })
        .to_string(),
    ))
}
