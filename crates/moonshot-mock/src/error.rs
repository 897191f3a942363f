//! Moonshot's error answers: [`ApiError`], the one value every layer returns for a request it
//! refuses, and the response it becomes.

use std::borrow::Cow;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer in Moonshot's shape, small enough to pass around before it is sent.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: Cow<'static, str>,
    message: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        kind: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind: kind.into(),
            message: message.into(),
        }
    }

    /// The status it is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Moonshot's error body: `{"error": {"message": ..., "type": ...}}`.
    pub(crate) fn body(&self) -> Value {
        error_body(&self.kind, &self.message)
    }

    /// 400 `invalid_request_error`, the real API's answer to a request it cannot take.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.status, &self.kind, &self.message)
    }
}

/// An error response in Moonshot's shape: `status`, and the body `{"error": {"message": ...,
/// "type": ...}}`.
pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = error_body(kind, message);
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

/// The body of an error: `{"error": {"message": ..., "type": ...}}`.
fn error_body(kind: &str, message: &str) -> Value {
    json!({"error": {"message": message, "type": kind}})
}
