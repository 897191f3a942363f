//! Settings for some calls only: a handle on the same client with another timeout, retry policy
//! or extra headers ([`Client::with_options`](crate::Client::with_options)).

use std::time::Duration;

use moonshot_api::hooks::CallContext;
use reqwest::header::{HeaderName, HeaderValue};

use super::Core;
use crate::error::Error;
use crate::retry::RetryPolicy;

/// Headers a caller may not set: the key authenticates (set it on the client), and the others
/// are the HTTP library's to write for each request.
const RESERVED_HEADERS: [&str; 5] = [
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// Per-call settings over the client's own; unset ones stay the client's. Applied with
/// [`Client::with_options`](crate::Client::with_options), which checks them.
///
/// ```no_run
/// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
/// use std::time::Duration;
/// use moonshot::CallOptions;
///
/// // A quick balance check: 5 s, no retry, a header for the gateway in front of the API.
/// let quick = client.with_options(
///     CallOptions::new()
///         .timeout(Duration::from_secs(5))
///         .max_retries(0)
///         .header("X-Team", "billing"),
/// )?;
/// let balance = quick.balance().retrieve().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    timeout: Option<Duration>,
    generation_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    max_retries: Option<u32>,
    headers: Vec<(String, String)>,
}

impl CallOptions {
    /// No setting changed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time allowed for one attempt, body included; for a stream (and so for
    /// [`Chat::create`](crate::chat::Chat::create)) the longest wait between two events. Must
    /// not be zero.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The time allowed for a whole answer asked for without a stream
    /// ([`Chat::create_unstreamed`](crate::chat::Chat::create_unstreamed)). Must not be zero.
    #[must_use]
    pub fn generation_timeout(mut self, timeout: Duration) -> Self {
        self.generation_timeout = Some(timeout);
        self
    }

    /// How failed calls are retried.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The most retries after the first attempt (0 for none), the rest of the retry policy
    /// kept.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// A header sent with every request, in place of one of the same name the client would
    /// send (but never `Authorization`: the key is the client's).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl Core {
    /// A copy of this core with `options` over its settings, sharing its HTTP client.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a zero timeout, or a header that cannot be sent (its name or
    /// value is not valid in a header, or it is one the client writes itself).
    pub(crate) fn with_options(&self, options: CallOptions) -> Result<Self, Error> {
        for (name, timeout) in [
            ("timeout", options.timeout),
            ("generation_timeout", options.generation_timeout),
        ] {
            if timeout.is_some_and(|t| t.is_zero()) {
                return Err(Error::InvalidInput {
                    name,
                    reason: "a timeout of zero would end every call at once: give a duration \
                             above zero, or leave it unset to keep the client's"
                        .to_owned(),
                });
            }
        }
        let mut core = self.clone();
        // The context is made anew only when the options change what it adds to a request:
        // its headers, or its timeout.
        if !options.headers.is_empty() || options.timeout.is_some() {
            let mut headers = self.context().headers().clone();
            for (name, value) in options.headers {
                let (name, value) = header(&name, &value)?;
                headers.insert(name, value);
            }
            // The context's timeout reaches every request that sets none of its own, whichever
            // HTTP client sends it; unchanged, it stays as it was (none for a client built
            // here, which carries its timeout itself).
            let timeout = options.timeout.or(self.context().timeout());
            core.context = CallContext::new(headers, timeout);
            if core.limits.is_some() {
                core.context = core.context.reading_rate_limits();
            }
        }
        if let Some(timeout) = options.timeout {
            core.timeout = timeout;
        }
        if let Some(timeout) = options.generation_timeout {
            core.generation_timeout = timeout;
        }
        if let Some(policy) = options.retry {
            core.retry = policy;
        }
        if let Some(retries) = options.max_retries {
            core.retry = core.retry.max_retries(retries);
        }
        Ok(core)
    }
}

/// A header as given, checked: one the client can send, and may let the caller set.
fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let refused = |reason: String| Error::InvalidInput {
        name: "header",
        reason,
    };
    let parsed = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        refused(format!(
            "`{name}` is not a header name: use letters, digits and `-` (such as `X-Team`)"
        ))
    })?;
    if RESERVED_HEADERS.contains(&parsed.as_str()) {
        let why = if parsed == reqwest::header::AUTHORIZATION {
            "the API key is the client's: build a client with another key instead"
        } else {
            "the HTTP library writes it for each request"
        };
        return Err(refused(format!("`{name}` cannot be set per call: {why}")));
    }
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        refused(format!(
            "the value of `{name}` cannot be sent in a header: it must be visible ASCII or \
             spaces, without line breaks"
        ))
    })?;
    // It may carry a gateway's credential: kept out of any debug output.
    value.set_sensitive(true);
    Ok((parsed, value))
}
