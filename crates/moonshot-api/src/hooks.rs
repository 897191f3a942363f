//! The generated client's hooks: per-call request settings, and the head of the response.
//!
//! The orphan rule puts the `ClientHooks` impl for the generated [`Client`](crate::Client) in this
//! crate. It does three things, only for calls run inside [`CallContext::scope`]:
//! adds the call's headers (authentication, user agent), sets the call's timeout, and records the
//! status and request id of the response (and its headers, for an error status), so a caller can
//! report them even when the generated code drops them (a body that fails to decode). It also drops progenitor's `api-version` header, which
//! Moonshot's API does not define, and, for every call, cuts the body of an error response
//! (4xx or 5xx) at [`ERROR_BODY_LIMIT`]: the generated code reads error bodies whole, and a server
//! could otherwise make it hold any amount in memory.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use progenitor_client::{ClientHooks, ClientInfo as _, Error, OperationInfo};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The header progenitor adds to every request, which Moonshot's API does not define.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");
/// What is left of the account's budget, as a server that paces its clients says it.
const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// When the account's budget frees up again, as a server that paces its clients says it.
const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
/// The header that carries Moonshot's id for a request, which support asks for
/// (`Msh-Request-Id`).
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("msh-request-id");
/// The most of an error response's body that is read. Moonshot's error bodies are a few hundred
/// bytes; a cut one fails to decode, and is reported by its start.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

tokio::task_local! {
    static CALL: CallState;
}

/// Settings for the requests of one call.
///
/// Cheap to clone: the headers are shared, so a client can keep one context and run each call
/// in a clone of it.
#[derive(Debug, Default, Clone)]
pub struct CallContext {
    headers: Arc<HeaderMap>,
    timeout: Option<Duration>,
    rate_limits: bool,
}

/// A call's context, and what was seen of its last response. Lives in the call's task-local
/// slot, which only that call's task reaches, so a `Cell` is enough.
struct CallState {
    context: CallContext,
    head: Cell<Option<ResponseHead>>,
}

/// The status of a response, and the headers a caller reports or acts on.
///
/// A successful response keeps its status and request id only: copying every header of every
/// response would cost each call allocations that only an error report needs. What only some
/// responses keep is boxed, so that the head every call carries is small.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The HTTP status.
    pub status: reqwest::StatusCode,
    /// Moonshot's id for the request (`Msh-Request-Id`), when the response has one.
    pub request_id: Option<HeaderValue>,
    /// Every header of an error response.
    headers: Option<Box<HeaderMap>>,
    /// `X-RateLimit-Remaining` and `X-RateLimit-Reset`, when asked for and present.
    rate_limit: Option<Box<(HeaderValue, HeaderValue)>>,
}

impl ResponseHead {
    /// The head of `response`, as the hooks record it; its rate-limit headers only when
    /// `rate_limits`.
    fn of(response: &reqwest::Response, rate_limits: bool) -> Self {
        let status = response.status();
        let headers = response.headers();
        Self {
            status,
            request_id: headers.get(&REQUEST_ID_HEADER).cloned(),
            headers: (status.is_client_error() || status.is_server_error())
                .then(|| Box::new(headers.clone())),
            rate_limit: rate_limits
                .then(|| headers.get(RATE_LIMIT_REMAINING))
                .flatten()
                .and_then(|remaining| {
                    let reset = headers.get(RATE_LIMIT_RESET)?.clone();
                    Some(Box::new((remaining.clone(), reset)))
                }),
        }
    }

    /// Every response header when the status is an error (4xx or 5xx), where a caller needs
    /// them (`Retry-After`, for one); empty for any other status.
    pub fn headers(&self) -> &HeaderMap {
        static NONE: std::sync::LazyLock<HeaderMap> = std::sync::LazyLock::new(HeaderMap::new);
        self.headers.as_deref().unwrap_or(&NONE)
    }

    /// `X-RateLimit-Remaining` and `X-RateLimit-Reset`, when the response has both and the
    /// call's context asks for them ([`CallContext::reading_rate_limits`]): what a client that
    /// paces itself reads of the account's budget.
    pub fn rate_limit(&self) -> Option<(&HeaderValue, &HeaderValue)> {
        self.rate_limit
            .as_deref()
            .map(|(remaining, reset)| (remaining, reset))
    }

    /// The request id as text, when it is present and printable.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().and_then(|v| v.to_str().ok())
    }
}

impl CallContext {
    /// A context adding `headers` to each request, with an optional whole-request `timeout`.
    pub fn new(headers: HeaderMap, timeout: Option<Duration>) -> Self {
        Self {
            headers: Arc::new(headers),
            timeout,
            rate_limits: false,
        }
    }

    /// This context, its calls keeping the response's `X-RateLimit-Remaining` and
    /// `X-RateLimit-Reset` in [`ResponseHead::rate_limit`] (not kept otherwise: looking them up
    /// costs every call).
    #[must_use]
    pub fn reading_rate_limits(mut self) -> Self {
        self.rate_limits = true;
        self
    }

    /// The headers added to each request.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The whole-request timeout set on each request that has none of its own.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Runs `call` (one or more generated-client calls) with this context. Within it,
    /// [`CallContext::take_head`] gives the head of the last response received.
    pub fn scope<F: Future>(self, call: F) -> impl Future<Output = F::Output> {
        let state = CallState {
            context: self,
            head: Cell::new(None),
        };
        CALL.scope(state, call)
    }

    /// Runs one generated-client call with this context; returns its output and the head of
    /// its response, if one arrived.
    ///
    /// The call is moved once, into the scope: a generated call's future is over a kilobyte,
    /// and each `async` layer around it would copy it again.
    pub fn run<F: Future>(
        self,
        call: F,
    ) -> impl Future<Output = (F::Output, Option<ResponseHead>)> {
        // `map` runs inside the scope, so the head it takes is this call's.
        self.scope(call.map(|output| (output, Self::take_head())))
    }

    /// The head of the last response received within the current [`CallContext::scope`], taken
    /// out of it, so the next call starts without one. `None` when no response has arrived
    /// since the last take, or outside a scope.
    pub fn take_head() -> Option<ResponseHead> {
        CALL.try_with(|state| state.head.take()).ok().flatten()
    }
}

impl crate::Client {
    /// Sends a request built by hand, for an operation progenitor cannot generate (the document
    /// marks it `x-hand-written`), through the same hooks as the generated calls: the call
    /// context's headers and timeout, and the response head kept. A success status resolves to
    /// the response, any other to [`Error::UnexpectedResponse`].
    ///
    /// # Errors
    /// [`Error::CommunicationError`] when no response arrives; [`Error::UnexpectedResponse`] for
    /// an unsuccessful status.
    pub async fn send_hand_written(
        &self,
        mut request: reqwest::Request,
        operation_id: &'static str,
    ) -> Result<reqwest::Response, Error<crate::types::ErrorResponse>> {
        let info = OperationInfo { operation_id };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result.map_err(Error::CommunicationError)?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(Error::UnexpectedResponse(response))
        }
    }
}

impl ClientHooks<()> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove(API_VERSION);
        let _outside_a_call = CALL.try_with(|state| {
            for (name, value) in state.context.headers.iter() {
                request.headers_mut().insert(name, value.clone());
            }
            // A request that set its own timeout (a stream, which may last) keeps it.
            if let (Some(timeout), None) = (state.context.timeout, request.timeout()) {
                *request.timeout_mut() = Some(timeout);
            }
        });
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            Ok(capped(response, ERROR_BODY_LIMIT))
        } else {
            Ok(response)
        }
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Ok(response) = result {
            let _outside_a_call = CALL.try_with(|state| {
                let head = ResponseHead::of(response, state.context.rate_limits);
                state.head.set(Some(head));
            });
        }
        Ok(())
    }
}

/// `response` with a body that ends after `limit` bytes; its status, version and headers are
/// kept, but for a `Content-Length` that no longer holds.
fn capped(response: reqwest::Response, limit: usize) -> reqwest::Response {
    let (status, version) = (response.status(), response.version());
    let mut headers = response.headers().clone();
    headers.remove(reqwest::header::CONTENT_LENGTH);
    let body = response.bytes_stream().scan(limit, |left, chunk| {
        let next = match chunk {
            Ok(mut bytes) if *left > 0 => {
                bytes.truncate(*left);
                *left -= bytes.len();
                Some(Ok(bytes))
            }
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        };
        std::future::ready(next)
    });
    let mut cut = http::Response::new(reqwest::Body::wrap_stream(body));
    *cut.status_mut() = status;
    *cut.version_mut() = version;
    *cut.headers_mut() = headers;
    reqwest::Response::from(cut)
}
