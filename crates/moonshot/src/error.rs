//! The one error type of the client.

use std::fmt;
use std::time::Duration;

pub(crate) mod map;

/// What went wrong with a call.
///
/// Small enough to return by value: the details of API failures are boxed.
///
/// API failures are told apart by HTTP status and Moonshot's `error.type`; each carries what is
/// known of the failure in an [`ApiError`]. Use [`Error::status`], [`Error::request_id`] and
/// [`Error::is_retryable`] to act on any error without matching every variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was malformed (400, other than a content filter).
    #[error("bad request: {0}")]
    BadRequest(Box<ApiError>),
    /// The API key was missing, wrong, or belongs to the other region (401). Check
    /// `MOONSHOT_API_KEY` and that the base URL matches where the key was issued.
    #[error("authentication failed: {0}")]
    Authentication(Box<ApiError>),
    /// The key may not do this (403).
    #[error("permission denied: {0}")]
    PermissionDenied(Box<ApiError>),
    /// No such file, or it belongs to someone else (404).
    #[error("not found: {0}")]
    NotFound(Box<ApiError>),
    /// Too many requests (429 `rate_limit_reached_error`); retried by default.
    #[error("rate limited: {0}")]
    RateLimited(Box<ApiError>),
    /// The account's balance or quota is used up (429 `exceeded_current_quota_error`). Never
    /// retried: waiting does not fix it.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(Box<ApiError>),
    /// The service is overloaded (429 `engine_overloaded_error`, or 503); retried by default.
    #[error("service overloaded: {0}")]
    Overloaded(Box<ApiError>),
    /// The input was refused by Moonshot's content filter (400 `content_filter`).
    #[error("content filtered: {0}")]
    ContentFiltered(Box<ApiError>),
    /// The server failed (5xx); retried by default.
    #[error("server error: {0}")]
    Server(Box<ApiError>),
    /// The file's text could not be extracted (500 "extract task failed: ..."), e.g. a scan
    /// without a text layer, or a file uploaded for another purpose. Not retried: the same file
    /// fails the same way.
    #[error("text extraction failed: {0}")]
    ExtractionFailed(Box<ApiError>),
    /// Any other unsuccessful status (408 and 409 are retried by default), a redirect the
    /// client does not follow (its message names the location), or an error object under a
    /// success status whose type is none of the above.
    #[error("unexpected status: {0}")]
    UnexpectedStatus(Box<ApiError>),
    /// The request did not complete within the configured timeout.
    #[error("timed out after {attempts} attempt(s): {source}")]
    Timeout {
        /// Attempts made, the first included.
        attempts: u32,
        /// The underlying transport error.
        #[source]
        source: BoxError,
    },
    /// The connection failed or broke (refused, reset, closed before the whole body arrived).
    #[error("connection failed after {attempts} attempt(s): {source}")]
    Connection {
        /// Attempts made, the first included.
        attempts: u32,
        /// The underlying transport error.
        #[source]
        source: BoxError,
    },
    /// The server's answer is not valid HTTP: a malformed head, or one declaring an impossible
    /// length (a `Content-Length` of 2^64-1). Not retried: the same server answers the same way;
    /// check that the base URL is the API's.
    #[error("the server's answer is not valid HTTP, after {attempts} attempt(s): {source}")]
    InvalidHttp {
        /// Attempts made, the first included.
        attempts: u32,
        /// What the HTTP library said of it.
        #[source]
        source: BoxError,
    },
    /// A file's processing ended in a failure status (e.g. `failed`): its text cannot be
    /// extracted. Moonshot's `status_details` say why.
    #[error("processing of file {file_id} failed with status `{status}`: {}", .details.as_deref().unwrap_or("no details"))]
    ProcessingFailed {
        /// The file waited for.
        file_id: String,
        /// Its failure status.
        status: String,
        /// Why, from the file's `status_details`, when given.
        details: Option<String>,
    },
    /// A file was still being processed when the wait's deadline passed.
    #[error("file {file_id} was still `{status}` after {waited:?}: wait longer, or check it later")]
    ProcessingTimedOut {
        /// The file waited for.
        file_id: String,
        /// Its last status.
        status: String,
        /// How long was waited.
        waited: Duration,
    },
    /// A batch had not reached a terminal status when the wait's deadline passed; it goes on
    /// running. The counts are the batch's as last seen.
    #[error("batch {batch_id} was still `{status}` after {waited:?} ({} of {total} requests done): wait longer, or check it later", .completed + .failed)]
    BatchTimedOut {
        /// The batch waited for.
        batch_id: String,
        /// Its last status.
        status: String,
        /// Its requests answered so far.
        completed: i64,
        /// Its requests failed so far.
        failed: i64,
        /// All its requests.
        total: i64,
        /// How long was waited.
        waited: Duration,
    },
    /// A streamed answer broke off: an error event, a chunk that does not decode, a connection
    /// that dropped or stalled, or an end without `data: [DONE]`. The text that arrived is kept
    /// here; the whole answer so far (reasoning, tool calls, usage) stays in the stream's
    /// `answer()`.
    #[error("the stream broke off after {chunks} chunk(s): {source}")]
    StreamBroken {
        /// The chunks that arrived.
        chunks: u64,
        /// The answer's text as far as it arrived.
        content: String,
        /// What broke it.
        #[source]
        source: Box<Error>,
    },
    /// A tool call could not be answered: its arguments are not JSON, the toolbox has no such
    /// function, or its handler failed.
    #[error("tool call {call_id} of `{tool}`: {reason}")]
    ToolCall {
        /// The function called.
        tool: String,
        /// The call's id.
        call_id: String,
        /// What went wrong.
        reason: String,
        /// The handler's error, when it failed.
        #[source]
        source: Option<BoxError>,
    },
    /// A tool loop reached its bound on rounds while the model still called tools.
    #[error(
        "the model still called tools after {rounds} round(s): raise the bound, or look at the conversation"
    )]
    ToolRoundsExceeded {
        /// The bound.
        rounds: usize,
    },
    /// A failure that would have been retried, but the request's body was a one-shot reader
    /// already read (an upload from an `AsyncRead`): upload from a path to have it retried.
    #[error(
        "not retried, since the upload's body was a one-shot reader already read (upload from a \
         path to have it retried): {source}"
    )]
    NotReplayed {
        /// The failure of the one attempt.
        #[source]
        source: Box<Error>,
    },
    /// A successful response whose body could not be decoded (malformed JSON, a missing
    /// required field, text that is not UTF-8).
    #[error("undecodable response (status {status}{}): {detail}; body starts: {snippet:?}", RequestIdSuffix(request_id.as_deref()))]
    UndecodableResponse {
        /// The HTTP status.
        status: u16,
        /// Moonshot's request id, from the `Msh-Request-Id` header.
        request_id: Option<String>,
        /// What the decoder said.
        detail: String,
        /// The start of the body, cut to a few hundred characters.
        snippet: String,
        /// Attempts made, the first included.
        attempts: u32,
    },
    /// An argument was refused before any request was sent.
    #[error("invalid {name}: {reason}")]
    InvalidInput {
        /// Which argument.
        name: &'static str,
        /// Why, and what to do.
        reason: String,
    },
    /// The client could not be built (no API key, a bad base URL, a bad header value).
    #[error("configuration error: {0}")]
    Configuration(String),
    /// Writing a streamed body to the caller's writer failed.
    #[error("writing the response body failed: {0}")]
    Write(#[source] std::io::Error),
}

/// A transport error, boxed so that no HTTP library type is part of this crate's interface.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What is known of an unsuccessful response from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// Moonshot's `error.type`, e.g. `resource_not_found_error`.
    pub error_type: Option<String>,
    /// Moonshot's `error.message`, or the start of the body when it was not Moonshot's JSON.
    pub message: String,
    /// Moonshot's `error.code`, when given.
    pub code: Option<String>,
    /// Moonshot's request id, from the `Msh-Request-Id` header: quote it to Moonshot's support.
    pub request_id: Option<String>,
    /// How long the server asked to wait before retrying, when it said.
    pub retry_after: Option<Duration>,
    /// Attempts made, the first included.
    pub attempts: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(error_type) = &self.error_type {
            write!(f, " {error_type}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        write!(f, "{}", RequestIdSuffix(self.request_id.as_deref()))?;
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

struct RequestIdSuffix<'a>(Option<&'a str>);

impl fmt::Display for RequestIdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " [request id {id}]"),
            None => Ok(()),
        }
    }
}

/// Matches the variants that carry an [`ApiError`], by reference or by mutable reference.
macro_rules! api_error_of {
    ($error:expr, $e:ident => $found:expr) => {
        match $error {
            Error::BadRequest($e)
            | Error::Authentication($e)
            | Error::PermissionDenied($e)
            | Error::NotFound($e)
            | Error::RateLimited($e)
            | Error::QuotaExceeded($e)
            | Error::Overloaded($e)
            | Error::ContentFiltered($e)
            | Error::Server($e)
            | Error::ExtractionFailed($e)
            | Error::UnexpectedStatus($e) => Some($found),
            _ => None,
        }
    };
}

impl Error {
    /// The API failure's details, for the variants that come from an HTTP error status.
    pub fn api_error(&self) -> Option<&ApiError> {
        if let Self::NotReplayed { source } | Self::StreamBroken { source, .. } = self {
            return source.api_error();
        }
        api_error_of!(self, e => &**e)
    }

    /// The HTTP status of the response, when one was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::UndecodableResponse { status, .. } => Some(*status),
            other => other.api_error().map(|e| e.status),
        }
    }

    /// Moonshot's request id (`Msh-Request-Id`), when a response carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::UndecodableResponse { request_id, .. } => request_id.as_deref(),
            other => other.api_error().and_then(|e| e.request_id.as_deref()),
        }
    }

    /// How many attempts were made before giving up (0 when no request was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Timeout { attempts, .. }
            | Self::Connection { attempts, .. }
            | Self::InvalidHttp { attempts, .. }
            | Self::UndecodableResponse { attempts, .. } => *attempts,
            Self::NotReplayed { source } | Self::StreamBroken { source, .. } => source.attempts(),
            other => other.api_error().map_or(0, |e| e.attempts),
        }
    }

    /// Whether the same call may succeed if made again: timeouts, connection failures, rate
    /// limits, overload, 408, 409 and 5xx. Never a used-up quota.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Connection { .. } => true,
            Self::RateLimited(_) | Self::Overloaded(_) | Self::Server(_) => true,
            Self::UnexpectedStatus(e) => matches!(e.status, 408 | 409) || e.status >= 500,
            _ => false,
        }
    }

    /// How long the server asked to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api_error().and_then(|e| e.retry_after)
    }

    pub(crate) fn set_attempts(&mut self, n: u32) {
        match self {
            Self::Timeout { attempts, .. }
            | Self::Connection { attempts, .. }
            | Self::InvalidHttp { attempts, .. }
            | Self::UndecodableResponse { attempts, .. } => *attempts = n,
            Self::NotReplayed { source } | Self::StreamBroken { source, .. } => {
                source.set_attempts(n);
            }
            other => {
                if let Some(e) = api_error_of!(other, e => &mut **e) {
                    e.attempts = n;
                }
            }
        }
    }

    /// `self` with every occurrence of `secret` (the API key, echoed by a server or given in
    /// the wrong place) replaced by `[redacted]`, in every text it shows.
    pub(crate) fn redacted(self, secret: &str) -> Self {
        let secret = secret.trim();
        if secret.is_empty() {
            return self;
        }
        let clean = |text: String| {
            if text.contains(secret) {
                text.replace(secret, "[redacted]")
            } else {
                text
            }
        };
        let clean_source = |source: BoxError| -> BoxError {
            // A transport error's chain may quote a URL; it is kept unless it shows the secret.
            let shown =
                std::iter::successors(Some(&*source as &dyn std::error::Error), |e| e.source())
                    .any(|e| e.to_string().contains(secret));
            if shown {
                clean(source.to_string()).into()
            } else {
                source
            }
        };
        match self {
            Self::Timeout { attempts, source } => Self::Timeout {
                attempts,
                source: clean_source(source),
            },
            Self::Connection { attempts, source } => Self::Connection {
                attempts,
                source: clean_source(source),
            },
            Self::InvalidHttp { attempts, source } => Self::InvalidHttp {
                attempts,
                source: clean_source(source),
            },
            Self::StreamBroken {
                chunks,
                content,
                source,
            } => Self::StreamBroken {
                chunks,
                content,
                source: Box::new(source.redacted(secret)),
            },
            Self::NotReplayed { source } => Self::NotReplayed {
                source: Box::new(source.redacted(secret)),
            },
            Self::UndecodableResponse {
                status,
                request_id,
                detail,
                snippet,
                attempts,
            } => Self::UndecodableResponse {
                status,
                request_id: request_id.map(clean),
                detail: clean(detail),
                snippet: clean(snippet),
                attempts,
            },
            Self::InvalidInput { name, reason } => Self::InvalidInput {
                name,
                reason: clean(reason),
            },
            Self::Configuration(message) => Self::Configuration(clean(message)),
            Self::ToolCall {
                tool,
                call_id,
                reason,
                source,
            } => Self::ToolCall {
                tool,
                call_id,
                reason: clean(reason),
                source: source.map(clean_source),
            },
            mut other => {
                if let Some(api) = api_error_of!(&mut other, e => &mut **e) {
                    api.message = clean(std::mem::take(&mut api.message));
                    api.error_type = api.error_type.take().map(clean);
                    api.code = api.code.take().map(clean);
                    api.request_id = api.request_id.take().map(clean);
                }
                other
            }
        }
    }

    /// `self`, said not to have been retried because the request could not be sent again.
    pub(crate) fn not_replayed(self) -> Self {
        if self.is_retryable() {
            Self::NotReplayed {
                source: Box::new(self),
            }
        } else {
            self
        }
    }

    /// The variant for an unsuccessful status and Moonshot's `error.type`.
    pub(crate) fn from_api(api: ApiError) -> Self {
        let api = Box::new(api);
        // An error object under a success status (an error event mid-stream) is told apart by
        // its type, as if it had come with the status that type comes with.
        let status = match (api.status, api.error_type.as_deref()) {
            (400.., _) | (_, None) => api.status,
            (_, Some("invalid_request_error")) => 400,
            (_, Some("invalid_authentication_error" | "incorrect_api_key_error")) => 401,
            (_, Some("permission_denied_error")) => 403,
            (_, Some("resource_not_found_error")) => 404,
            (_, Some("server_error" | "unexpected_output")) => 500,
            _ => api.status,
        };
        match (status, api.error_type.as_deref()) {
            (_, Some("exceeded_current_quota_error")) => Self::QuotaExceeded(api),
            (_, Some("engine_overloaded_error")) | (503, _) => Self::Overloaded(api),
            (_, Some("rate_limit_reached_error")) | (429, _) => Self::RateLimited(api),
            (_, Some("content_filter")) => Self::ContentFiltered(api),
            (400, _) => Self::BadRequest(api),
            (401, _) => Self::Authentication(api),
            (403, _) => Self::PermissionDenied(api),
            (404, _) => Self::NotFound(api),
            (500, _) if api.message.starts_with("extract task failed") => {
                Self::ExtractionFailed(api)
            }
            (500..=599, _) => Self::Server(api),
            _ => Self::UnexpectedStatus(api),
        }
    }
}
