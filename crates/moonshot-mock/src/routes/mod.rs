//! The HTTP side: the router, the API key check, fault injection and Moonshot's error bodies;
//! one module per resource.

mod balance;
mod batches;
mod chat;
mod document;
mod drain;
mod files;
mod models;
mod tokenizers;
mod upload;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body::Body as _;

use crate::account_limits::{Refusal, Ticket};
use crate::body::{CutShort, Holding};
use crate::error::{ApiError, error};
use crate::faults::Verdict;
use crate::limits::{MAX_BATCH_BODY_BYTES, MAX_CHAT_BODY_BYTES};
use crate::state::ServerState;

/// The response header that carries the request id, as on the real API.
pub const REQUEST_ID_HEADER: &str = "msh-request-id";

/// The requests per window of the account's limits.
const RATE_LIMIT_LIMIT: &str = "x-ratelimit-limit";
/// The requests the window has room for when the answer is sent.
const RATE_LIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// Seconds (with milliseconds) until the window frees a request; 0 when it counts none.
const RATE_LIMIT_RESET: &str = "x-ratelimit-reset";

pub(crate) fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route(
            "/v1/files",
            get(files::list_files)
                .post(upload::upload_file)
                // The upload reads its body as a stream and enforces Moonshot's limits itself.
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/v1/files/{file_id}",
            get(files::retrieve_file).delete(files::delete_file),
        )
        .route(
            "/v1/files/{file_id}/content",
            get(files::retrieve_file_content),
        )
        .route(
            "/v1/chat/completions",
            post(chat::create_chat_completion).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            "/v1/batches",
            get(batches::list_batches)
                .post(batches::create_batch)
                .layer(DefaultBodyLimit::max(MAX_BATCH_BODY_BYTES)),
        )
        .route("/v1/batches/{batch_id}", get(batches::retrieve_batch))
        .route("/v1/batches/{batch_id}/cancel", post(batches::cancel_batch))
        .route("/v1/models", get(models::list_models))
        .route("/v1/users/me/balance", get(balance::retrieve_balance))
        .route(
            "/v1/tokenizers/estimate-token-count",
            post(tokenizers::estimate_token_count)
                .layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        // Any other operation of the document is answered from it; other routes are 404.
        .fallback(document::answer)
        .method_not_allowed_fallback(document::answer)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            around_every_request,
        ))
        .with_state(state)
}

/// Counts, delays, checks the key, enforces the account's limits, injects faults, cuts bodies
/// and tags every response with its request id and the account's `X-RateLimit-*` headers.
async fn around_every_request(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Response {
    let seq = state.requests.fetch_add(1, Ordering::SeqCst);
    let (mut request, leftover) = drain::share_body(request);
    if !state.faults.latency.is_zero() {
        tokio::time::sleep(state.faults.latency).await;
    }
    let mut ticket = None;
    let mut response = if !state.authorized(request.headers()) {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_authentication_error",
            "Invalid Authentication",
        )
    } else if let Err(refusal) = state.limiter.admit().map(|admitted| {
        request.extensions_mut().insert(Arc::clone(&admitted));
        ticket = Some(admitted);
    }) {
        refused(&refusal)
    } else {
        match state.faults.verdict(seq) {
            Verdict::Serve => next.run(request).await,
            Verdict::QuotaExceeded => error(
                StatusCode::TOO_MANY_REQUESTS,
                "exceeded_current_quota_error",
                "Your account mock-organization<ak-mock> is suspended, please check your plan \
                 and billing details",
            ),
            Verdict::RateLimited => {
                let secs = state.faults.retry_after_secs();
                rate_limited(
                    &format!(
                        "Your account mock-organization<ak-mock> request reached organization \
                         max RPM, please try again after {secs} seconds"
                    ),
                    secs,
                )
            }
            Verdict::ServerError => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The server had an error while processing your request (moonshot-mock fail rate)",
            ),
        }
    };
    // Answering while the client still sends would have it reset instead of reading the answer.
    leftover.drain().await;
    if state.faults.cut_body && response.status() == StatusCode::OK {
        response = cut_short(response);
    }
    let request_id = format!("mock-{:08x}-{seq:08}", state.instance);
    // Always ASCII letters and digits, so the conversion cannot fail.
    if let Ok(value) = HeaderValue::try_from(request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if let Some(limits) = state.limiter.headers() {
        let headers = response.headers_mut();
        headers.insert(RATE_LIMIT_LIMIT, HeaderValue::from(limits.limit));
        headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(limits.remaining));
        // Seconds with millisecond precision: ASCII digits and a point, so it cannot fail.
        if let Ok(reset) = HeaderValue::try_from(format!("{:.3}", limits.reset.as_secs_f64())) {
            headers.insert(RATE_LIMIT_RESET, reset);
        }
    }
    match ticket {
        Some(ticket) => in_flight_until_sent(response, ticket),
        None => response,
    }
}

/// Keeps the request in flight until its answer's last byte is sent.
fn in_flight_until_sent(response: Response, ticket: Arc<Ticket>) -> Response {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(Holding::new(body, ticket)))
}

/// The answer to a request the account's limits refuse: 429 `rate_limit_reached_error` with
/// `Retry-After`, or 400 `invalid_request_error` for one that could never pass.
pub(crate) fn refused(refusal: &Refusal) -> Response {
    match *refusal {
        Refusal::Over {
            retry_after_secs, ..
        } => rate_limited(&refusal.message(), retry_after_secs),
        Refusal::TooLarge { .. } => ApiError::invalid_request(refusal.message()).into_response(),
    }
}

async fn unknown_route(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        &format!("no route for {method} {}", uri.path()),
    )
}

/// A `200 application/json` answer from a body serialized beforehand.
pub(crate) fn json_body(body: impl Into<Body>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.into(),
    )
        .into_response()
}

/// A request body parsed as JSON, or the error that says why it is not: 413 for a body over
/// `limit`, the route's limit in bytes, 400 otherwise.
pub(crate) fn json_request(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<serde_json::Value, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!(
                "the request body is larger than {limit} bytes, the most this endpoint takes: \
                 send a smaller one"
            ),
        ),
        _ => ApiError::invalid_request(format!("unreadable request body: {rejection}")),
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_request(format!("the request body is not valid JSON: {e}")))
}

/// Runs `work`, CPU work that grows with a request's size, on a thread of Tokio's blocking
/// pool, so that a large request does not hold up the others.
pub(crate) async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|failure| {
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("moonshot-mock failed while answering: {failure}"),
            ))
        })
}

pub(crate) fn file_not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        &format!("file {id} not found"),
    )
}

/// A path segment that is not UTF-8 once percent-decoded names no file.
pub(crate) fn unreadable_id(rejection: &PathRejection) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "resource_not_found_error",
        &format!("file not found: {rejection}"),
    )
}

/// 429 `rate_limit_reached_error` with `message` and `Retry-After`.
fn rate_limited(message: &str, retry_after_secs: u64) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_reached_error",
        message,
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// Wraps a response so that only half its body is sent (see [`Faults::cut_body`](crate::Faults::cut_body)).
fn cut_short(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    match body.size_hint().exact() {
        Some(len) if len > 0 => {
            Response::from_parts(parts, Body::new(CutShort::new(body, len / 2)))
        }
        _ => Response::from_parts(parts, body),
    }
}
