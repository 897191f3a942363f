//! The HTTP side: routes, the API key check, fault injection and Moonshot's error bodies.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body::Body as _;

use crate::body::{CutShort, GeneratedContent};
use crate::faults::{Faults, Verdict};
use crate::files::MockFile;

/// The response header that carries the request id, as on the real API.
pub const REQUEST_ID_HEADER: &str = "msh-request-id";

/// The content type of the content endpoint: documented `text/plain`, though the text is JSON.
const CONTENT_TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub(crate) files: HashMap<String, ServedFile>,
    pub(crate) api_key: Option<String>,
    pub(crate) faults: Faults,
    pub(crate) requests: AtomicU64,
    /// Distinguishes this server's request ids from another server's.
    pub(crate) instance: u32,
    pub(crate) filler: Bytes,
}

/// A file as the routes serve it, its bodies serialized once at start.
#[derive(Debug)]
pub(crate) struct ServedFile {
    pub(crate) object: Bytes,
    pub(crate) content: ServedContent,
}

/// What the content endpoint answers for one file.
#[derive(Debug)]
pub(crate) enum ServedContent {
    /// The content body, ready to send.
    Text(Bytes),
    /// A body of `size` bytes generated while it is sent.
    Generated { filename: String, size: u64 },
    /// No extracted text: a 500 like a failed extraction, with this reason.
    ExtractionFailed(String),
}

impl ServedFile {
    pub(crate) fn from_mock(file: &MockFile) -> Self {
        let content = match file.content_body() {
            Some(body) => ServedContent::Text(body.into()),
            None => ServedContent::ExtractionFailed(match file.status_details() {
                "" => format!("file {} has no extracted content", file.id()),
                details => details.to_owned(),
            }),
        };
        Self {
            object: serde_json::Value::Object(file.object().clone())
                .to_string()
                .into(),
            content,
        }
    }
}

pub(crate) fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/v1/files/{file_id}", get(retrieve_file))
        .route("/v1/files/{file_id}/content", get(retrieve_file_content))
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            around_every_request,
        ))
        .with_state(state)
}

/// Counts, delays, checks the key, injects faults, cuts bodies and tags every response with
/// its request id.
async fn around_every_request(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Response {
    let seq = state.requests.fetch_add(1, Ordering::SeqCst);
    if !state.faults.latency.is_zero() {
        tokio::time::sleep(state.faults.latency).await;
    }
    let mut response = if !state.authorized(request.headers()) {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_authentication_error",
            "Invalid Authentication",
        )
    } else {
        match state.faults.verdict(seq) {
            Verdict::Serve => next.run(request).await,
            Verdict::QuotaExceeded => error(
                StatusCode::TOO_MANY_REQUESTS,
                "exceeded_current_quota_error",
                "Your account mock-organization<ak-mock> is suspended, please check your plan \
                 and billing details",
            ),
            Verdict::RateLimited => rate_limited(state.faults.retry_after_secs()),
            Verdict::ServerError => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The server had an error while processing your request (moonshot-mock fail rate)",
            ),
        }
    };
    if state.faults.cut_body && response.status() == StatusCode::OK {
        response = cut_short(response);
    }
    let request_id = format!("mock-{:08x}-{seq:08}", state.instance);
    // Always ASCII letters and digits, so the conversion cannot fail.
    if let Ok(value) = HeaderValue::try_from(request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

impl ServerState {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(key) = &self.api_key else {
            return true;
        };
        headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && token.trim() == key
            })
    }
}

async fn retrieve_file(
    State(state): State<Arc<ServerState>>,
    file_id: Result<Path<String>, PathRejection>,
) -> Response {
    match file_id {
        Ok(Path(id)) => match state.files.get(&id) {
            Some(file) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                file.object.clone(),
            )
                .into_response(),
            None => file_not_found(&id),
        },
        Err(rejection) => unreadable_id(&rejection),
    }
}

async fn retrieve_file_content(
    State(state): State<Arc<ServerState>>,
    file_id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match file_id {
        Ok(Path(id)) => id,
        Err(rejection) => return unreadable_id(&rejection),
    };
    let Some(file) = state.files.get(&id) else {
        return file_not_found(&id);
    };
    let text_plain = [(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TEXT_TYPE))];
    match &file.content {
        ServedContent::Text(body) => (text_plain, body.clone()).into_response(),
        ServedContent::Generated { filename, size } => {
            let body = GeneratedContent::new(filename, *size, state.filler.clone());
            (text_plain, Body::new(body)).into_response()
        }
        // The real API reports a failed extraction as a 500 with an empty `type`.
        ServedContent::ExtractionFailed(reason) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            &format!("extract task failed: {reason}"),
        ),
    }
}

async fn unknown_route(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        &format!("no route for {method} {}", uri.path()),
    )
}

fn file_not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        &format!("file {id} not found"),
    )
}

/// A path segment that is not UTF-8 once percent-decoded names no file.
fn unreadable_id(rejection: &PathRejection) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        &format!("file not found: {rejection}"),
    )
}

fn rate_limited(retry_after_secs: u64) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_reached_error",
        &format!(
            "Your account mock-organization<ak-mock> request reached organization max RPM, \
             please try again after {retry_after_secs} seconds"
        ),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// Moonshot's error body: `{"error": {"message": ..., "type": ...}}`.
pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"message": message, "type": kind}});
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

/// Wraps a response so that only half its body is sent (see [`Faults::cut_body`]).
fn cut_short(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    match body.size_hint().exact() {
        Some(len) if len > 0 => {
            Response::from_parts(parts, Body::new(CutShort::new(body, len / 2)))
        }
        _ => Response::from_parts(parts, body),
    }
}
