//! Each failure of an attempt, mapped to [`Error`]: transport errors, Moonshot's error bodies,
//! statuses the document does not list, and bodies that do not decode.

use std::time::SystemTime;

use moonshot_api::hooks::ResponseHead;
use moonshot_api::types::ErrorResponse;
use reqwest::header::{HeaderMap, HeaderName};

use super::{ApiError, Error};
use crate::retry::requested_wait;

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("msh-request-id");
/// How much of an unexpected body is read and kept for the error message.
const SNIPPET_CHARS: usize = 300;
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Moonshot's request id, from the `Msh-Request-Id` header.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Turns what the generated client returned for a failed attempt into this crate's error.
pub(crate) async fn map_error(
    error: moonshot_api::Error<ErrorResponse>,
    head: Option<&ResponseHead>,
) -> Error {
    use moonshot_api::Error as Generated;
    match error {
        Generated::CommunicationError(e) | Generated::ResponseBodyError(e) => transport_error(e),
        Generated::ErrorResponse(response) => {
            let (status, headers) = (response.status().as_u16(), response.headers().clone());
            let body = response.into_inner().error;
            api_error(status, &headers, body.message, body.type_, body.code)
        }
        Generated::UnexpectedResponse(response) => {
            let (status, headers) = (response.status().as_u16(), response.headers().clone());
            match read_limited(response, ERROR_BODY_LIMIT).await {
                Ok(body) => error_from_body(status, &headers, &body),
                Err(e) => transport_error(e),
            }
        }
        Generated::InvalidResponsePayload(body, decode_error) => {
            let status = head.map_or(200, |h| h.status.as_u16());
            if let (Some(head), true) = (head, status >= 400) {
                // The head of an error response keeps every header, `Retry-After` included.
                error_from_body(status, &head.headers, &body)
            } else {
                let request_id = head.and_then(ResponseHead::request_id).map(str::to_owned);
                undecodable(status, request_id, decode_error.to_string(), &body)
            }
        }
        Generated::InvalidRequest(reason) => Error::InvalidInput {
            name: "request",
            reason,
        },
        other => Error::Connection {
            attempts: 1,
            source: other.to_string().into(),
        },
    }
}

/// A timeout or a connection failure.
pub(crate) fn transport_error(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        Error::Timeout {
            attempts: 1,
            source: Box::new(error),
        }
    } else {
        Error::Connection {
            attempts: 1,
            source: Box::new(error),
        }
    }
}

/// An error from a status and a body that may or may not be Moonshot's error JSON.
pub(crate) fn error_from_body(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(parsed) => api_error(
            status,
            headers,
            parsed.error.message,
            parsed.error.type_,
            parsed.error.code,
        ),
        Err(_) => api_error(status, headers, snippet(body), None, None),
    }
}

fn api_error(
    status: u16,
    headers: &HeaderMap,
    message: String,
    error_type: Option<String>,
    code: Option<String>,
) -> Error {
    let retry_after = requested_wait(headers, &message, SystemTime::now());
    Error::from_api(ApiError {
        status,
        error_type: error_type.filter(|t| !t.is_empty()),
        message,
        code,
        request_id: request_id(headers),
        retry_after,
        attempts: 1,
    })
}

/// The start of a body as text, cut to a few hundred characters.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_CHARS * 4)]);
    let mut cut: String = text.chars().take(SNIPPET_CHARS).collect();
    if cut.len() < text.len() || body.len() > SNIPPET_CHARS * 4 {
        cut.push('…');
    }
    cut
}

async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]);
        if body.len() >= limit {
            break;
        }
    }
    Ok(body)
}

/// A successful response whose body is not what the operation answers.
pub(crate) fn undecodable(
    status: u16,
    request_id: Option<String>,
    detail: String,
    body: &[u8],
) -> Error {
    Error::UndecodableResponse {
        status,
        request_id,
        detail,
        snippet: snippet(body),
        attempts: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_cut() {
        assert_eq!(snippet(b"short"), "short");
        let long = "x".repeat(1000);
        let cut = snippet(long.as_bytes());
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
