//! Each failure of an attempt, mapped to [`Error`]: transport errors, Moonshot's error bodies,
//! statuses the document does not list, and bodies that do not decode.

use std::time::SystemTime;

use std::fmt;

use moonshot_api::hooks::{ERROR_BODY_LIMIT, REQUEST_ID_HEADER, ResponseHead};
use moonshot_api::types::ErrorResponse;
use reqwest::header::HeaderMap;

use super::{ApiError, Error};
use crate::retry::requested_wait;

/// How much of an unexpected body is read and kept for the error message.
const SNIPPET_CHARS: usize = 300;

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
                error_from_body(status, head.headers(), &body)
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

/// A request body's source that failed through the caller's doing (a file that changed size
/// while it was sent): it ends the body, and the call fails with [`Error::InvalidInput`], not
/// retried.
#[derive(Debug)]
pub(crate) struct InputChanged {
    pub(crate) name: &'static str,
    pub(crate) reason: String,
}

impl fmt::Display for InputChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for InputChanged {}

/// A timeout or a connection failure, saying what happened.
pub(crate) fn transport_error(error: reqwest::Error) -> Error {
    let input = std::iter::successors(std::error::Error::source(&error), |e| e.source())
        .find_map(|e| e.downcast_ref::<InputChanged>());
    if let Some(input) = input {
        return Error::InvalidInput {
            name: input.name,
            reason: input.reason.clone(),
        };
    }
    // A URL's query may carry a secret: the error quotes the URL without it.
    let error = match error.url() {
        Some(url) if url.query().is_some() || url.fragment().is_some() => {
            let mut url = url.clone();
            url.set_query(None);
            url.set_fragment(None);
            error.with_url(url)
        }
        _ => error,
    };
    let parse = std::iter::successors(std::error::Error::source(&error), |e| e.source())
        .find_map(|e| e.downcast_ref::<hyper::Error>())
        .filter(|e| e.is_parse());
    if let Some(parse) = parse {
        let what = format!(
            "{parse} (a malformed head, or one declaring a length no body can have): is the base \
             URL the API's?"
        );
        return Error::InvalidHttp {
            attempts: 1,
            source: Box::new(TransportFailure {
                what,
                source: error,
            }),
        };
    }
    let timeout = error.is_timeout();
    let source = Box::new(TransportFailure {
        what: describe(&error),
        source: error,
    });
    if timeout {
        Error::Timeout {
            attempts: 1,
            source,
        }
    } else {
        Error::Connection {
            attempts: 1,
            source,
        }
    }
}

/// Whether `error` is a transport failure from before the request was sent: no connection was
/// made (refused, unreachable, or not in time), so the server never saw the request.
pub(crate) fn failed_before_sending(error: &Error) -> bool {
    match error {
        Error::Connection { source, .. } | Error::Timeout { source, .. } => source
            .downcast_ref::<TransportFailure>()
            .is_some_and(|t| t.source.is_connect()),
        _ => false,
    }
}

/// A transport failure, told in a few words; the HTTP library's error is its source.
#[derive(Debug)]
struct TransportFailure {
    what: String,
    source: reqwest::Error,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for TransportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What a transport failure was: the HTTP library's own message ("error sending request")
/// names the step, while the cause at the bottom of its chain says what went wrong.
fn describe(error: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    let causes: Vec<&(dyn std::error::Error + 'static)> =
        std::iter::successors(std::error::Error::source(error), |e| e.source()).collect();
    let innermost = causes
        .last()
        .map_or_else(|| error.to_string(), ToString::to_string);
    // The innermost I/O error's kind: an I/O error wrapping another one does not give it as
    // its source, but through `get_ref`.
    let io = causes
        .iter()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .flat_map(|e| {
            std::iter::successors(Some(e), |e| {
                e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<std::io::Error>())
            })
        })
        .last()
        .map(std::io::Error::kind);
    let server = error.url().map_or_else(String::new, |url| {
        let host = url.host_str().unwrap_or_default();
        match url.port_or_known_default() {
            Some(port) => format!(" {host}:{port}"),
            None => format!(" {host}"),
        }
    });
    let https = error.url().is_some_and(|url| url.scheme() == "https");
    match io {
        Some(ErrorKind::ConnectionRefused) => {
            format!("connection refused by{server}: is the server running, at that port?")
        }
        Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => {
            format!("connection reset by{server}")
        }
        _ if error.is_timeout() && error.is_connect() && https => {
            format!("no TLS handshake with{server} in time: is it an https server? ({innermost})")
        }
        _ if error.is_timeout() && error.is_connect() => {
            format!("no connection to{server} in time ({innermost})")
        }
        _ if error.is_timeout() => format!("no whole answer from{server} in time"),
        _ if error.is_connect() && https && io == Some(ErrorKind::InvalidData) => {
            format!("TLS handshake with{server} failed: {innermost}")
        }
        _ if error.is_connect() => format!("cannot connect to{server}: {innermost}"),
        _ if error.is_body() || error.is_decode() => {
            format!("the response broke off before its end: {innermost}")
        }
        _ => innermost,
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
    let message = match (status, headers.get(reqwest::header::LOCATION)) {
        (300..=399, location) => {
            let location = location.map_or_else(
                || "nowhere (no Location header)".to_owned(),
                |l| {
                    format!(
                        "`{}`",
                        without_query(&String::from_utf8_lossy(l.as_bytes()))
                    )
                },
            );
            format!(
                "redirected to {location}, which is not followed (only a 307 or 308 to the same \
                 server is): set the base URL to where the API answers{}",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(" ({message})")
                }
            )
        }
        (_, _) if message.trim().is_empty() => "the response has no body".to_owned(),
        _ => message,
    };
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

/// `url` without its query and fragment, which may carry a secret.
pub(crate) fn without_query(url: &str) -> &str {
    url.find(['?', '#']).map_or(url, |end| &url[..end])
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
