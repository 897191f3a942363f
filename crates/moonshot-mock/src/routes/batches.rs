//! `/v1/batches`: create, list, retrieve and cancel batches; [`crate::batches`] runs them.

use std::sync::Arc;

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{ApiError, ServerState, json_body, json_request};
use crate::batches::{self, CancelRefusal, ENDPOINT, unix_now};
use crate::limits::MAX_BATCH_BODY_BYTES;
use crate::store::FileView;

/// The page size when none is asked for, and the largest.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

fn batch_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        format!("batch {id} not found"),
    )
}

pub(super) async fn create_batch(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_request(body, MAX_BATCH_BODY_BYTES)?;
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let input_file_id = field("input_file_id").ok_or_else(|| {
        ApiError::invalid_request(
            "`input_file_id` is required: the id of a file uploaded with purpose batch",
        )
    })?;
    if field("endpoint") != Some(ENDPOINT) {
        return Err(ApiError::invalid_request(format!(
            "`endpoint` must be {ENDPOINT}, the only endpoint batches run"
        )));
    }
    let window = field("completion_window").unwrap_or_default();
    let Some(hours) = window_hours(window).filter(|h| (12..=168).contains(h)) else {
        return Err(ApiError::invalid_request(format!(
            "`completion_window` {window:?} is not supported: from 12h to 7d, e.g. 24h or 3d"
        )));
    };
    let metadata = check_metadata(body.get("metadata"))?;
    let purpose = match state.store.get(input_file_id) {
        None => {
            return Err(ApiError::invalid_request(format!(
                "input file {input_file_id} not found: upload the input with purpose batch first"
            )));
        }
        Some(file) => purpose_of(&file),
    };
    if purpose != "batch" {
        return Err(ApiError::invalid_request(format!(
            "input file {input_file_id} has purpose {purpose:?}: upload batch input with purpose batch"
        )));
    }
    let created_at = unix_now();
    let mut object = Map::new();
    for (key, value) in [
        ("object", json!("batch")),
        ("endpoint", json!(ENDPOINT)),
        ("input_file_id", json!(input_file_id)),
        ("completion_window", json!(window)),
        ("status", json!("validating")),
        ("output_file_id", Value::Null),
        ("error_file_id", Value::Null),
        ("created_at", json!(created_at)),
        ("in_progress_at", Value::Null),
        ("expires_at", json!(created_at + i64::from(hours) * 3600)),
        ("finalizing_at", Value::Null),
        ("completed_at", Value::Null),
        ("failed_at", Value::Null),
        ("expired_at", Value::Null),
        ("cancelling_at", Value::Null),
        ("cancelled_at", Value::Null),
        (
            "request_counts",
            json!({"total": 0, "completed": 0, "failed": 0}),
        ),
        ("metadata", metadata),
    ] {
        object.insert(key.to_owned(), value);
    }
    let object = state.batches.insert_new(object);
    let id = object["id"].as_str().unwrap_or_default().to_owned();
    tokio::spawn(batches::run(
        Arc::clone(&state),
        id,
        input_file_id.to_owned(),
    ));
    Ok(json_body(Value::Object(object).to_string()))
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    after: Option<String>,
    limit: Option<String>,
}

pub(super) async fn list_batches(
    State(state): State<Arc<ServerState>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::invalid_request(format!("unreadable query: {e}")))?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "`limit` {text:?} must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let after = query.after.as_deref().filter(|a| !a.is_empty());
    let (page, has_more) = state.batches.page(after, limit).ok_or_else(|| {
        ApiError::invalid_request(format!(
            "`after` names no batch: {}",
            after.unwrap_or_default()
        ))
    })?;
    let id_at = |i: Option<&Map<String, Value>>| i.and_then(|b| b.get("id")).cloned();
    let body = json!({
        "object": "list",
        "first_id": id_at(page.first()),
        "last_id": id_at(page.last()),
        "has_more": has_more,
        "data": page,
    });
    Ok(json_body(body.to_string()))
}

pub(super) async fn retrieve_batch(
    State(state): State<Arc<ServerState>>,
    batch_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = batch_id.map_err(|e| batch_not_found(&e.to_string()))?;
    let object = state.batches.get(&id).ok_or_else(|| batch_not_found(&id))?;
    Ok(json_body(Value::Object(object).to_string()))
}

pub(super) async fn cancel_batch(
    State(state): State<Arc<ServerState>>,
    batch_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = batch_id.map_err(|e| batch_not_found(&e.to_string()))?;
    match state.batches.cancel(&id) {
        Ok(object) => Ok(json_body(Value::Object(object).to_string())),
        Err(CancelRefusal::NotFound) => Err(batch_not_found(&id)),
        Err(CancelRefusal::Ended(status)) => Err(ApiError::invalid_request(format!(
            "batch {id} is {status}: only a validating or in-progress batch can be cancelled"
        ))),
    }
}

/// The purpose of a file, from its object.
fn purpose_of(file: &FileView) -> String {
    serde_json::from_slice::<Value>(file.object())
        .ok()
        .and_then(|o| o.get("purpose")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Hours of a window written `12h` or `3d`.
fn window_hours(window: &str) -> Option<u32> {
    let (number, per) = match window.strip_suffix('h') {
        Some(n) => (n, 1),
        None => (window.strip_suffix('d')?, 24),
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse::<u32>().ok()?.checked_mul(per)
}

/// Moonshot's limits on metadata: at most 16 pairs, keys of 64 characters, string values of 512.
fn check_metadata(metadata: Option<&Value>) -> Result<Value, ApiError> {
    let pairs = match metadata {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(Value::Object(pairs)) => pairs,
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`metadata` must be an object of strings",
            ));
        }
    };
    if pairs.len() > 16 {
        return Err(ApiError::invalid_request(format!(
            "`metadata` has {} pairs, above the limit of 16",
            pairs.len()
        )));
    }
    for (key, value) in pairs {
        let Some(value) = value.as_str() else {
            return Err(ApiError::invalid_request(format!(
                "`metadata.{key}` must be a string"
            )));
        };
        if key.chars().count() > 64 || value.chars().count() > 512 {
            return Err(ApiError::invalid_request(format!(
                "`metadata.{key}`: keys are at most 64 characters, values 512"
            )));
        }
    }
    Ok(Value::Object(pairs.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_hours_or_days() {
        assert_eq!(window_hours("12h"), Some(12));
        assert_eq!(window_hours("3d"), Some(72));
        for bad in ["", "h", "1.5d", "-1d", "1w", "+2d", "99999999999d"] {
            assert_eq!(window_hours(bad), None, "{bad}");
        }
    }
}
