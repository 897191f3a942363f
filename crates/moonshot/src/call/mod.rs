//! The bottom of the client: the generated client with the settings every call runs with (base
//! URL, key, call context, timeout, retry policy), and the machinery that runs a call (attempts,
//! retries, tracing, error mapping).
//!
//! Resources hold a [`Core`] and call through its narrow methods; they never see the public
//! [`Client`](crate::Client), which is built on top of them (`client.rs`: the builder and the
//! resource accessors).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use moonshot_api::hooks::CallContext;
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::Error;
use crate::retry::RetryPolicy;

mod head;
mod machinery;
mod options;
mod untyped;

pub use head::ResponseHead;
pub(crate) use machinery::{Replay, Retry, decode_json};
pub use options::CallOptions;

/// What every call of one client shares: the generated client, and the settings it runs with.
/// Built by the client's builder; resources read it through the methods below. A copy with
/// other settings ([`CallOptions`]) shares the HTTP client, its connections and the limits.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) api: moonshot_api::Client,
    /// Kept to remove it from any text a server echoes it in.
    pub(crate) api_key: SecretString,
    /// Normalised: no trailing `/v1`.
    pub(crate) base_url: String,
    /// For a caller's own reqwest client: Authorization (marked sensitive) and User-Agent, added
    /// to each request, and the timeout. Empty for a client built here, which carries them.
    pub(crate) context: CallContext,
    pub(crate) timeout: Duration,
    /// The time allowed for a whole answer asked for without a stream.
    pub(crate) generation_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// The account's limits every call waits under, when set.
    pub(crate) limits: Option<std::sync::Arc<dyn crate::limits::LimitStore>>,
    /// What a chat request without `max_completion_tokens` reserves under the limits.
    pub(crate) completion_reservation: u32,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// The base URL requests go to, without a trailing `/v1`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What a chat request without `max_completion_tokens` reserves under the limits; `None`
    /// when the client has none (then nothing is estimated).
    pub(crate) fn completion_reservation(&self) -> Option<u32> {
        self.limits.as_ref().map(|_| self.completion_reservation)
    }

    /// The generated client, for the call machinery.
    pub(crate) fn api(&self) -> &moonshot_api::Client {
        &self.api
    }

    /// The headers and timeout every call runs with.
    pub(crate) fn context(&self) -> &CallContext {
        &self.context
    }

    /// `error` without the API key in any text it shows.
    pub(crate) fn redact(&self, error: Error) -> Error {
        error.redacted(self.api_key.expose_secret())
    }

    /// The API key, for what outlives a call (a stream) and must still redact it.
    pub(crate) fn api_key(&self) -> &SecretString {
        &self.api_key
    }

    /// `text` without the API key.
    pub(crate) fn redact_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let key = self.api_key.expose_secret().trim();
        if text.contains(key) {
            text.replace(key, "[redacted]").into()
        } else {
            text.into()
        }
    }

    /// How calls are retried.
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The timeout of one attempt; for a stream, the longest wait between two events.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The time allowed for a whole answer asked for without a stream.
    pub(crate) fn generation_timeout(&self) -> Duration {
        self.generation_timeout
    }
}
