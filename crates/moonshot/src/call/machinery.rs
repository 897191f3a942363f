//! The per-call machinery every resource goes through: attempts, retries, tracing, and the
//! mapping of each failure to [`Error`].
//!
//! Resources know only their paths and types. They call the client through the narrow methods
//! here: [`Core::call_named`] for a generated operation that answers a typed value,
//! [`Core::call_bytes`] for one that answers bytes read whole (and [`Core::call_named`] for one
//! streamed: its body is the typed value), and
//! [`Core::send`] for an operation written by hand (progenitor cannot generate it). Each
//! runs in the client's call context (its headers and timeout), retries as the client's
//! [`RetryPolicy`](crate::RetryPolicy) says, and traces each attempt in a `moonshot.request` span.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable as _;
use futures::FutureExt as _;
use futures::TryStreamExt as _;
use futures::future::{self, Either};
use moonshot_api::hooks::{CallContext, ResponseHead};
use moonshot_api::types::ErrorResponse;
use moonshot_api::{ByteStream, ClientInfo as _, ResponseValue};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::Core;
use crate::error::Error;
use crate::error::map::{failed_before_sending, map_error, transport_error, undecodable};
use crate::limits::Permit;

/// What a generated operation's future resolves to.
type Generated<T> = Result<ResponseValue<T>, moonshot_api::Error<ErrorResponse>>;

/// The most a Content-Length header may make [`Core::call_bytes`] reserve up front (the API's
/// largest file is 100 MB, its text less).
const MAX_RESERVED_BODY: usize = 128 * 1024 * 1024;

/// Which failed attempts of a call are sent again (as far as the retry policy allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Every failure that says it may succeed if made again ([`Error::is_retryable`]).
    Retryable,
    /// Only a failure before the request was sent (no connection): a request the server got
    /// may be working on an answer, and would be paid for twice.
    BeforeSending,
    /// None.
    Never,
}

impl Retry {
    fn allows(self, error: &Error) -> bool {
        match self {
            Self::Retryable => error.is_retryable(),
            Self::BeforeSending => failed_before_sending(error),
            Self::Never => false,
        }
    }
}

/// Whether a failed attempt of a hand-written request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// The request can be built again from scratch (a body from a path, or none).
    Allowed,
    /// Its body was a one-shot reader: one attempt only, and a retryable failure says why.
    OneShot,
}

impl Core {
    /// One generated operation, retried as needed; resolves to the typed value it answers.
    ///
    /// Not an `async fn`, nor are the layers below it up to [`Core::with_permits`]: each `async`
    /// layer would move the call's future into its own state once more.
    pub(crate) fn call_named<'a, T, F, Fut>(
        &'a self,
        operation: &'static str,
        request: F,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Fn(&'a moonshot_api::Client) -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        self.with_retries(operation, move || {
            attempt(self, request(self.api()), |value, _| value.into_inner())
        })
    }

    /// As [`Core::call_named`], with the head of the successful response: its status and every
    /// header, read from the generated client's response value.
    pub(crate) async fn call_named_with_head<'a, T, F, Fut>(
        &'a self,
        operation: &'static str,
        request: F,
    ) -> Result<(T, super::head::ResponseHead), Error>
    where
        F: Fn(&'a moonshot_api::Client) -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        self.with_retries(operation, || {
            attempt(self, request(self.api()), |value, _| {
                let head = super::head::ResponseHead::new(value.status(), value.headers().clone());
                (value.into_inner(), head)
            })
        })
        .await
    }

    /// One generated operation that answers bytes, read whole within each attempt (so a body cut
    /// off mid-way is retried); resolves to the bytes and the response's head.
    pub(crate) async fn call_bytes<'a, F, Fut>(
        &'a self,
        operation: &'static str,
        request: F,
    ) -> Result<(Vec<u8>, Option<ResponseHead>), Error>
    where
        F: Fn(&'a moonshot_api::Client) -> Fut,
        Fut: Future<Output = Generated<ByteStream>>,
    {
        self.with_retries(operation, || {
            let read = async {
                let response = request(self.api()).await?;
                let capacity = response
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut stream = response.into_inner().into_inner();
                // Sized from Content-Length so the body is not copied as it grows; the cap keeps
                // a lying header from reserving more than a real body can be.
                let mut body = Vec::with_capacity(capacity.min(MAX_RESERVED_BODY));
                while let Some(chunk) = stream
                    .try_next()
                    .await
                    .map_err(moonshot_api::Error::ResponseBodyError)?
                {
                    body.extend_from_slice(&chunk);
                }
                Ok::<_, moonshot_api::Error<_>>(body)
            };
            attempt(self, read, |body, head| (body, head))
        })
        .await
    }

    /// One request built by hand, for an operation progenitor cannot generate: `build` makes it
    /// anew for each attempt from the HTTP client and the base URL, and it is sent through the
    /// same hooks as generated calls. Resolves to the successful response.
    pub(crate) async fn send<F>(
        &self,
        operation: &'static str,
        replay: Replay,
        build: F,
    ) -> Result<reqwest::Response, Error>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder, Error>,
    {
        self.send_with(
            operation,
            replay,
            build,
            |response| async move { Ok(response) },
        )
        .await
    }

    /// As [`Core::send`], and `read` takes the successful response within the same attempt:
    /// what it fails with is retried like a failure to send (a stream that breaks before its
    /// first event, say).
    pub(crate) async fn send_with<T, F, R, Fut>(
        &self,
        operation: &'static str,
        replay: Replay,
        build: F,
        read: R,
    ) -> Result<T, Error>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder, Error>,
        R: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let send = || async { read(self.send_built(operation, &build).await?).await };
        match replay {
            Replay::Allowed => self.with_retries(operation, send).await,
            Replay::OneShot => self
                .with_retries_limited(operation, send, Retry::Never)
                .await
                .map_err(Error::not_replayed),
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry policy says stop, all in
    /// this client's call context (see [`CallContext::scope`]). Each attempt is traced in a
    /// `moonshot.request` span.
    fn with_retries<T, F, Fut>(
        &self,
        operation: &'static str,
        attempt: F,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.with_retries_limited(operation, attempt, Retry::Retryable)
    }

    fn with_retries_limited<T, F, Fut>(
        &self,
        operation: &'static str,
        attempt: F,
        retry: Retry,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        // The attempt holds its place under the account's limits until it ends.
        self.with_permits(operation, 0, retry, move |permit| {
            attempt().map(move |result| {
                drop(permit);
                result
            })
        })
        .map(|result| result.map(|(value, _)| value))
    }

    /// As [`Core::send_with`], for a request that may use `tokens` tokens of the account's
    /// limits: `read` gets the attempt's [`Permit`] with the response, to settle it with the
    /// tokens the answer used (or keep it while a stream lasts). Failures are retried as `retry`
    /// says; `head_timeout`, when given, bounds the wait for the response's head (for a request
    /// whose own timeout is long: a stream). Resolves to what `read` made and the number of
    /// attempts.
    pub(crate) async fn send_with_permit<T, F, R, Fut>(
        &self,
        operation: &'static str,
        tokens: u64,
        (retry, head_timeout): (Retry, Option<Duration>),
        build: F,
        read: R,
    ) -> Result<(T, u32), Error>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder, Error>,
        R: Fn(reqwest::Response, Permit) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let send = |permit: Permit| async {
            let sent = self.send_built(operation, &build);
            let response = match head_timeout {
                None => sent.await?,
                Some(limit) => {
                    tokio::time::timeout(limit, sent)
                        .await
                        .map_err(|_| Error::Timeout {
                            attempts: 1,
                            source: format!("no response within {limit:?}").into(),
                        })??
                }
            };
            read(response, permit).await
        };
        self.with_permits(operation, tokens, retry, send).await
    }

    /// One attempt of a hand-built request: `build` makes it from the HTTP client and the base
    /// URL, and it is sent through the same hooks as generated calls.
    async fn send_built<F>(
        &self,
        operation: &'static str,
        build: &F,
    ) -> Result<reqwest::Response, Error>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder, Error>,
    {
        let request = build(self.api().client(), self.api().baseurl())?
            .build()
            .map_err(|e| Error::InvalidInput {
                name: "request",
                reason: e.to_string(),
            })?;
        let sent = self.api().send_hand_written(request, operation);
        attempt(self, sent, |response, _| response).await
    }

    /// Runs `attempt` with a place under the account's limits (waited for, outside the
    /// attempt's timeout), retried as `retry` and the policy say. Resolves to its value and the
    /// number of attempts made.
    async fn with_permits<T, F, Fut>(
        &self,
        operation: &'static str,
        tokens: u64,
        retry: Retry,
        attempt: F,
    ) -> Result<(T, u32), Error>
    where
        F: Fn(Permit) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let attempt = &attempt;
        // Without limits the attempt runs as it is: no layer around it, nothing to wait for.
        let attempt = move || match &self.limits {
            None => Either::Left(attempt(Permit::unlimited())),
            Some(store) => Either::Right(async move {
                let permit = acquire(store.as_ref(), tokens).await?;
                let result = attempt(permit).await;
                if let Err(error @ Error::RateLimited(_)) = &result {
                    // The account is over a limit: every call of the client waits, not just
                    // this one.
                    let wait = error.retry_after().unwrap_or(Duration::from_secs(1));
                    store.pause_until(tokio::time::Instant::now() + wait);
                }
                result
            }),
        };
        let attempts = AtomicU32::new(0);
        let result = self
            .context()
            .clone()
            .scope(self.retry_loop(operation, &attempts, attempt, retry))
            .await;
        let attempts = attempts.load(Ordering::Relaxed);
        match result {
            Ok(value) => Ok((value, attempts)),
            Err(mut error) => {
                error.set_attempts(attempts);
                Err(error)
            }
        }
    }

    /// The attempts of one call: the first one directly, the rest in backon's retry loop.
    async fn retry_loop<T, F, Fut>(
        &self,
        operation: &'static str,
        attempts: &AtomicU32,
        mut attempt: F,
        retry: Retry,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut traced = || {
            let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            let span = tracing::info_span!(
                "moonshot.request",
                operation,
                attempt = n,
                status = tracing::field::Empty,
                request_id = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            // Timed only when someone is listening: reading the clock costs every call.
            let started = (!span.is_disabled()).then(Instant::now);
            attempt()
                .map(move |result| {
                    if let Some(started) = started {
                        let elapsed_ms = started.elapsed().as_millis() as u64;
                        tracing::Span::current().record("elapsed_ms", elapsed_ms);
                    }
                    result.map_err(|error| {
                        let error = self.redact(error);
                        tracing::debug!(%error, "attempt failed");
                        error
                    })
                })
                .instrument(span)
        };
        // The first attempt runs before the retry loop is built, so the call that succeeds at
        // once, nearly every call, does not pay for the loop. A retryable failure is handed to
        // the loop as its first attempt's outcome, and the loop takes it from there; its
        // attempts are boxed, so that the call's future does not hold a second attempt inline.
        let mut first = match traced().await {
            Err(error) if retry.allows(&error) && self.retry_policy().retries() > 0 => Some(error),
            done => return done,
        };
        let limit = self.retry_policy().retry_after_limit();
        (|| match first.take() {
            Some(error) => Either::Left(future::ready(Err(error))),
            None => Either::Right(Box::pin(traced())),
        })
        .retry(self.retry_policy().delays())
        .sleep(tokio::time::sleep)
        .when(|error| retry.allows(error))
        .adjust(move |error, computed| {
            let computed = computed?;
            match error.retry_after() {
                Some(asked) if asked > limit => None,
                Some(asked) => Some(asked),
                None => Some(computed),
            }
        })
        .notify(|error, wait| tracing::info!(%error, wait_ms = wait.as_millis() as u64, "retrying"))
        .await
    }
}

/// A place under the account's limits for a request of `tokens` tokens. A wait is traced.
async fn acquire(store: &dyn crate::limits::LimitStore, tokens: u64) -> Result<Permit, Error> {
    let started = tokio::time::Instant::now();
    let permit = store.acquire(tokens).await?;
    let waited = started.elapsed();
    if waited >= Duration::from_millis(1) {
        tracing::info!(
            waited_ms = waited.as_millis() as u64,
            tokens,
            "waited for capacity under the account's limits"
        );
    }
    Ok(permit)
}

/// One attempt of a generated-client call, run within a call's retries: its response
/// head traced, and a failure mapped to this crate's [`Error`]. Resolves to what `finish` makes
/// of the call's output and the head of its response (in the same layer, so that the output
/// is not moved through one more).
///
/// Built from combinators rather than as an `async fn`: a generated call's future is large
/// (1.6 KB for `retrieve_file`), and every `async` layer that took it as an argument and awaited
/// it would hold it twice. The facade's futures stay near the size of the call they make.
fn attempt<T, U>(
    client: &Core,
    call: impl Future<Output = Result<T, moonshot_api::Error<ErrorResponse>>>,
    finish: impl FnOnce(T, Option<ResponseHead>) -> U,
) -> impl Future<Output = Result<U, Error>> {
    call.then(move |result| {
        let head = CallContext::take_head();
        trace_head(client, head.as_ref());
        learn_from_head(client, head.as_ref());
        match result {
            Ok(output) => Either::Left(future::ready(Ok(finish(output, head)))),
            // Boxed: the error path is rare, and would otherwise add its size to every call.
            Err(error) => Either::Right(Box::pin(async move {
                Err(map_error(error, head.as_ref()).await)
            })),
        }
    })
}

/// Paces the client by what a response says of the account's budget: `X-RateLimit-Remaining: 0`
/// with `X-RateLimit-Reset: <seconds>` pauses every call until the reset. Moonshot does not
/// document their units; they are read as the local server sends them (requests left in the
/// window, and seconds, with a fraction, until it frees one). Only for a client with limits.
fn learn_from_head(client: &Core, head: Option<&ResponseHead>) {
    let (Some(store), Some((remaining, reset))) =
        (&client.limits, head.and_then(ResponseHead::rate_limit))
    else {
        return;
    };
    let parse =
        |value: &reqwest::header::HeaderValue| value.to_str().ok()?.trim().parse::<f64>().ok();
    if parse(remaining) == Some(0.0)
        && let Some(seconds) = parse(reset).filter(|s| s.is_finite() && *s > 0.0 && *s < 3_600.0)
    {
        store.pause_until(tokio::time::Instant::now() + Duration::from_secs_f64(seconds));
    }
}

/// Records the response's status and request id on the current attempt's span.
fn trace_head(client: &Core, head: Option<&ResponseHead>) {
    let span = tracing::Span::current();
    // A disabled span (no subscriber, or filtered out) records nothing: skip the lookups.
    if let (Some(head), false) = (head, span.is_disabled()) {
        span.record("status", head.status.as_u16());
        if let Some(id) = head.request_id() {
            span.record("request_id", &*client.redact_text(id));
        }
    }
}

/// Decodes a successful hand-written call's JSON body into `T`.
pub(crate) async fn decode_json<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, Error> {
    let status = response.status().as_u16();
    let request_id = crate::error::map::request_id(response.headers());
    let body = response.bytes().await.map_err(transport_error)?;
    serde_json::from_slice(&body).map_err(|e| undecodable(status, request_id, e.to_string(), &body))
}
