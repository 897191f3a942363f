//! The generated client's hooks: per-call request settings, and the head of the response.
//!
//! The orphan rule puts the `ClientHooks` impl for the generated [`Client`](crate::Client) in this
//! crate. It does three things, only for calls run inside [`CallContext::run`]:
//! adds the call's headers (authentication, user agent), sets the call's timeout, and records the
//! status and headers of the response, so a caller can report them even when the generated code
//! drops them (a body that fails to decode). It also drops progenitor's `api-version` header, which
//! Moonshot's API does not define.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{HeaderMap, HeaderName};

/// The header progenitor adds to every request, which Moonshot's API does not define.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

tokio::task_local! {
    static CALL: Arc<CallState>;
}

/// Settings for the requests of one call, and what was seen of their response.
///
/// Cheap to clone: the headers are shared, so a client can keep one context and run each call
/// in a clone of it.
#[derive(Debug, Default, Clone)]
pub struct CallContext {
    headers: Arc<HeaderMap>,
    timeout: Option<Duration>,
}

#[derive(Debug, Default)]
struct CallState {
    context: CallContext,
    head: Mutex<Option<ResponseHead>>,
}

/// The status and headers of a response.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The HTTP status.
    pub status: reqwest::StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
}

impl CallContext {
    /// A context adding `headers` to each request, with an optional whole-request `timeout`.
    pub fn new(headers: HeaderMap, timeout: Option<Duration>) -> Self {
        Self {
            headers: Arc::new(headers),
            timeout,
        }
    }

    /// Runs `call` (one or more generated-client calls) with this context; returns its output
    /// and the head of the last response received, if any.
    pub async fn run<F: Future>(self, call: F) -> (F::Output, Option<ResponseHead>) {
        let state = Arc::new(CallState {
            context: self,
            head: Mutex::new(None),
        });
        let output = CALL.scope(Arc::clone(&state), call).await;
        let head = state
            .head
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        (output, head)
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
            if let Some(timeout) = state.context.timeout {
                *request.timeout_mut() = Some(timeout);
            }
        });
        Ok(())
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Ok(response) = result {
            let _outside_a_call = CALL.try_with(|state| {
                let head = ResponseHead {
                    status: response.status(),
                    headers: response.headers().clone(),
                };
                *state.head.lock().unwrap_or_else(PoisonError::into_inner) = Some(head);
            });
        }
        Ok(())
    }
}
