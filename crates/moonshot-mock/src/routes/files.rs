//! `/v1/files`: list, retrieve, content and delete (upload has its own module).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::{ApiError, ServerState, error, file_not_found, json_body, unreadable_id};
use crate::body::{ExtractedContent, GeneratedContent};
use crate::store::{FileView, ServedContent};

/// The content type of the content endpoint: documented `text/plain`, though the text is JSON.
const CONTENT_TEXT_TYPE: &str = "text/plain; charset=utf-8";

pub(super) async fn list_files(State(state): State<Arc<ServerState>>) -> Response {
    let objects = state.store.list();
    let mut body = Vec::with_capacity(32 + objects.iter().map(Bytes::len).sum::<usize>());
    body.extend_from_slice(br#"{"object": "list", "data": ["#);
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b", ");
        }
        body.extend_from_slice(object);
    }
    body.extend_from_slice(b"]}");
    json_body(body)
}

pub(super) async fn retrieve_file(
    State(state): State<Arc<ServerState>>,
    file_id: Result<Path<String>, PathRejection>,
) -> Response {
    match file_id {
        Ok(Path(id)) => match state.store.get(&id) {
            Some(file) => json_body(file.object().clone()),
            None => file_not_found(&id),
        },
        Err(rejection) => unreadable_id(&rejection),
    }
}

pub(super) async fn delete_file(
    State(state): State<Arc<ServerState>>,
    file_id: Result<Path<String>, PathRejection>,
) -> Response {
    match file_id {
        Ok(Path(id)) if state.store.delete(&id) => {
            json_body(json!({"id": id, "object": "file", "deleted": true}).to_string())
        }
        Ok(Path(id)) => file_not_found(&id),
        Err(rejection) => unreadable_id(&rejection),
    }
}

pub(super) async fn retrieve_file_content(
    State(state): State<Arc<ServerState>>,
    file_id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match file_id {
        Ok(Path(id)) => id,
        Err(rejection) => return unreadable_id(&rejection),
    };
    let content = match state.store.get(&id) {
        None => return file_not_found(&id),
        Some(FileView::Processing { .. }) => {
            return ApiError::invalid_request(format!(
                "file {id} is still being processed: retrieve it until its status is ok, then \
                 ask for its content"
            ))
            .into_response();
        }
        Some(FileView::Ready { content, .. }) => content,
    };
    let text_plain = [(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TEXT_TYPE))];
    match content {
        ServedContent::Text {
            filename,
            text,
            escaped_len,
        } => {
            let body = ExtractedContent::new(&filename, text, escaped_len);
            (text_plain, Body::new(body)).into_response()
        }
        ServedContent::Generated { filename, size } => {
            let body = GeneratedContent::new(&filename, size, state.filler.clone());
            (text_plain, Body::new(body)).into_response()
        }
        ServedContent::Raw(bytes) => (text_plain, bytes).into_response(),
        // The real API reports a failed extraction as a 500 with an empty `type`.
        ServedContent::ExtractionFailed(reason) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            &format!("extract task failed: {reason}"),
        ),
    }
}
