//! `/v1/files`: list, retrieve, content and delete (upload has its own module).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{ApiError, ServerState, error, file_not_found, json_body, unreadable_id};
use crate::body::{ExtractedContent, GeneratedContent, escaped_len};
use crate::files::MockFile;
use crate::store::{FileView, ServedContent, StoredFile};

/// The content type of the content endpoint: documented `text/plain`, though the text is JSON.
const CONTENT_TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// A configured file (demo, fixture or built in code) as the store keeps it: always processed.
pub(crate) fn stored_file(file: &MockFile) -> StoredFile {
    let purpose = file.object().get("purpose").and_then(Value::as_str);
    let content = match file.content() {
        Some(text) if purpose.is_some_and(is_batch_result) => {
            ServedContent::Raw(Bytes::from(text.to_owned()))
        }
        Some(text) => text_content(file.filename(), Bytes::from(text.to_owned())),
        None => ServedContent::ExtractionFailed(match file.status_details() {
            "" => format!("file {} has no extracted content", file.id()),
            details => details.to_owned(),
        }),
    };
    StoredFile {
        object: Value::Object(file.object().clone()).to_string().into(),
        content,
        created_at: file
            .object()
            .get("created_at")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        processing: None,
        held_bytes: 0,
    }
}

/// Whether files of `purpose` are a batch's results, served as the JSON Lines they are.
pub(crate) fn is_batch_result(purpose: &str) -> bool {
    matches!(purpose, "batch_output" | "batch_error")
}

/// Content served from `text`, which must be UTF-8.
pub(crate) fn text_content(filename: &str, text: Bytes) -> ServedContent {
    let escaped_len = std::str::from_utf8(&text)
        .map(escaped_len)
        .unwrap_or_default();
    ServedContent::Text {
        filename: filename.to_owned(),
        text,
        escaped_len,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::json_string;

    #[test]
    fn a_configured_file_keeps_its_text_and_object() {
        let file = MockFile::new(
            json!({"id": "a", "object": "file", "bytes": 1, "created_at": 5,
                   "filename": "a.txt", "purpose": "file-extract", "status": "ok"}),
            Some("\"quoted\"".to_owned()),
        )
        .expect("a valid file object");
        let stored = stored_file(&file);
        assert_eq!(stored.created_at, 5);
        assert!(matches!(
            stored.content,
            ServedContent::Text { escaped_len, .. }
                if escaped_len == json_string("\"quoted\"").len() as u64 - 2
        ));
    }
}
