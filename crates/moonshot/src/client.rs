//! The client: configuration, authentication, and the retry loop every call goes through.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use moonshot_api::ResponseValue;
use moonshot_api::hooks::CallContext;
use moonshot_api::types::ErrorResponse;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret as _, SecretString};

use crate::balance::Balances;
use crate::batches::Batches;
use crate::call::{CallOptions, Core, ResponseHead};
use crate::chat::Chat;
use crate::error::Error;
use crate::files::Files;
use crate::limits::{LimitStore, LimitUsage, Limits, LocalStore};
use crate::models::Models;
use crate::retry::RetryPolicy;
use crate::tokenizers::Tokenizers;

/// Moonshot's global endpoint, the default.
pub const GLOBAL_BASE_URL: &str = "https://api.moonshot.ai";
/// Moonshot's endpoint for China. Keys do not cross between the two.
pub const CHINA_BASE_URL: &str = "https://api.moonshot.cn";
/// The environment variable [`Client::from_env`] reads the API key from.
pub const API_KEY_ENV: &str = "MOONSHOT_API_KEY";
/// The environment variable [`Client::from_env`] reads an optional base URL from.
pub const BASE_URL_ENV: &str = "MOONSHOT_BASE_URL";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_GENERATION_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// A client for Moonshot's platform API. Cheap to clone (one shared connection pool); `Send`
/// and `Sync`.
///
/// ```no_run
/// # async fn run() -> Result<(), moonshot::Error> {
/// let client = moonshot::Client::from_env()?;
/// let file = client.files().retrieve("clg681objj8g9m7n4je0").await?;
/// println!("{} ({} bytes, {})", file.filename, file.bytes, file.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    core: Arc<Core>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

impl Client {
    /// A client with `api_key` and every default: the global endpoint, a 60 s timeout, 2 retries.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the key is empty or cannot be sent in a header.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder().api_key(api_key).build()
    }

    /// A client configured from the environment: the key from `MOONSHOT_API_KEY`, and the base
    /// URL from `MOONSHOT_BASE_URL` when set (e.g. `https://api.moonshot.cn`).
    ///
    /// # Errors
    /// [`Error::Configuration`] when `MOONSHOT_API_KEY` is unset or empty, or
    /// `MOONSHOT_BASE_URL` is not an http(s) URL.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut builder = Self::builder();
        if let Some(key) = lookup(API_KEY_ENV) {
            builder = builder.api_key(key);
        }
        if let Some(url) = lookup(BASE_URL_ENV).filter(|u| !u.trim().is_empty()) {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// A builder for every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A handle on this client whose calls run with `options` over the client's settings
    /// (timeout, retries, extra headers); every resource works on it. It shares the client's
    /// connections and limits: making one costs a few small copies, not a new HTTP client.
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// use std::time::Duration;
    /// let patient = client.with_options(
    ///     moonshot::CallOptions::new().timeout(Duration::from_secs(300)).max_retries(5),
    /// )?;
    /// let batch = patient.batches().wait("batch-1", Duration::from_secs(3600)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the option: a timeout of zero, or a header that cannot be
    /// sent (not a valid name or value, or `Authorization`, `Host`, `Content-Length`,
    /// `Transfer-Encoding`, `Connection`). Nothing is sent.
    pub fn with_options(&self, options: CallOptions) -> Result<Self, Error> {
        Ok(Self {
            core: Arc::new(self.core.with_options(options)?),
        })
    }

    /// What this client's calls use of the account's limits now (for a progress display or
    /// metrics); `None` without limits.
    pub fn limit_usage(&self) -> Option<LimitUsage> {
        self.core.limits.as_ref().map(|store| store.usage())
    }

    /// The Files API.
    pub fn files(&self) -> Files<'_> {
        Files::new(&self.core)
    }

    /// Chat completions: create, stream, and tool loops.
    pub fn chat(&self) -> Chat<'_> {
        Chat::new(&self.core)
    }

    /// Batches: create, follow, list, cancel, and their results.
    pub fn batches(&self) -> Batches<'_> {
        Batches::new(&self.core)
    }

    /// The Models API.
    pub fn models(&self) -> Models<'_> {
        Models::new(&self.core)
    }

    /// The account's balance.
    pub fn balance(&self) -> Balances<'_> {
        Balances::new(&self.core)
    }

    /// Token estimates.
    pub fn tokenizers(&self) -> Tokenizers<'_> {
        Tokenizers::new(&self.core)
    }

    /// The base URL requests go to, without a trailing `/v1`.
    pub fn base_url(&self) -> &str {
        self.core.base_url()
    }

    /// Any operation of the generated client ([`moonshot_api::Client`]), run as the facade's own
    /// methods run theirs: with the client's authentication and timeout, retried as its
    /// [`RetryPolicy`] says, each failure mapped to an [`Error`], each attempt traced in a
    /// `moonshot.request` span (operation `generated`). Resolves to the value the operation
    /// answers. `request` is called once per attempt.
    ///
    /// For an operation the facade has no method for yet, the day it is generated:
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// let models = client.call(|api| api.list_models()).await?;
    /// for model in models.data {
    ///     println!("{}", model.id.unwrap_or_default());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// An operation that answers a byte stream resolves once its head has arrived; the body is
    /// read afterwards, outside the retries.
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn call<'a, T, F, Fut>(&'a self, request: F) -> Result<T, Error>
    where
        F: Fn(&'a moonshot_api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, moonshot_api::Error<ErrorResponse>>>,
    {
        self.core.call_named("generated", request).await
    }

    /// As [`Client::call`], with the head of the successful response: its status, Moonshot's
    /// request id and every header.
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// let (balance, head) = client.call_with_head(|api| api.retrieve_balance()).await?;
    /// println!("{} (request {:?})", balance.data.available_balance, head.request_id());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn call_with_head<'a, T, F, Fut>(
        &'a self,
        request: F,
    ) -> Result<(T, ResponseHead), Error>
    where
        F: Fn(&'a moonshot_api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, moonshot_api::Error<ErrorResponse>>>,
    {
        self.core.call_named_with_head("generated", request).await
    }

    /// A request by method and path, for an operation the generated client does not have yet,
    /// with the client's authentication, timeout, retries, error mapping and tracing (operation
    /// `request_json`). `path` is the API's path (`/v1/...`), joined to the base URL as every
    /// call's is; `query` is sent as the query string; `body`, when given, as a JSON body.
    ///
    /// Resolves to the successful response's body: its JSON, or, when it is not JSON, its text
    /// as a JSON string (`null` for an empty body).
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// use serde_json::json;
    /// let cache = client
    ///     .request_json(
    ///         reqwest::Method::POST,
    ///         "/v1/caching",
    ///         &[],
    ///         Some(&json!({"model": "moonshot-v1", "messages": [], "ttl": 300})),
    ///     )
    ///     .await?;
    /// println!("{}", cache["id"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a path that could leave the API (no leading `/`, a scheme,
    /// `//`, a `.` or `..` segment, a `?` or `#`), before anything is sent; any other [`Error`]
    /// the call ends in after retries.
    pub async fn request_json(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        self.core.request_json(method, path, query, body).await
    }
}

/// Settings for a [`Client`]; start from [`Client::builder`].
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    generation_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
    limits: Option<Limits>,
    /// A store given for the limits, with what a chat request without `max_completion_tokens`
    /// reserves in it.
    limit_store: Option<(Arc<dyn LimitStore>, u32)>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url.as_deref().map(without_user_info))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("generation_timeout", &self.generation_timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key (required). Create one in the Moonshot console's API keys page.
    #[must_use]
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(api_key.into()));
        self
    }

    /// The endpoint: [`GLOBAL_BASE_URL`] (the default), [`CHINA_BASE_URL`], or any other, such as
    /// a local server. A trailing `/v1`, as OpenAI-SDK users write it, is accepted.
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Use Moonshot's endpoint for China, [`CHINA_BASE_URL`].
    #[must_use]
    pub fn china(self) -> Self {
        self.base_url(CHINA_BASE_URL)
    }

    /// The time allowed for one attempt, body included (default 60 s); for a streamed answer,
    /// and so for [`Chat::create`](crate::chat::Chat::create), the longest wait between two
    /// events. Raise it to move very large contents over slow links.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The time allowed for a whole chat answer asked for without a stream
    /// ([`Chat::create_unstreamed`](crate::chat::Chat::create_unstreamed)), from sending the
    /// request to the answer's end (default 10 minutes).
    #[must_use]
    pub fn generation_timeout(mut self, timeout: Duration) -> Self {
        self.generation_timeout = Some(timeout);
        self
    }

    /// The time allowed to connect (default 10 s). Not applied to a client given with
    /// [`ClientBuilder::http_client`], which keeps its own.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Stays under the account's limits ([`Limits::tier`] or explicit numbers): every call of
    /// this client and its clones waits for capacity instead of being sent to fail with a 429
    /// (see [`crate::limits`]). Off by default.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// As [`ClientBuilder::limits`], with the limits' state in `store` (shared by several
    /// clients, or kept elsewhere than in this process); `completion_reservation` is what a chat
    /// request without `max_completion_tokens` reserves.
    #[must_use]
    pub fn limit_store(mut self, store: Arc<dyn LimitStore>, completion_reservation: u32) -> Self {
        self.limit_store = Some((store, completion_reservation));
        self
    }

    /// How failed calls are retried (default [`RetryPolicy::default`]; [`RetryPolicy::none`]
    /// turns retries off).
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The `User-Agent` header (default `moonshot-rs/<version>`).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The HTTP client to send requests with, e.g. one configured with a proxy. Authentication,
    /// user agent and the timeout are still added to each request.
    ///
    /// It keeps its own redirect policy (reqwest's default follows up to 10, and turns a `POST`
    /// redirected by a 301, 302 or 303 into a `GET` without its body). A client built here
    /// follows only a 307 or 308 to the same server, which keeps the method and the body; any
    /// other redirect is an [`Error::UnexpectedStatus`] naming where it pointed.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Configuration`] when no API key was given or it is blank or unsendable, the base
    /// URL is not an http(s) URL, the user agent is not a valid header value, or the HTTP client
    /// cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self.api_key.filter(|k| !k.expose_secret().trim().is_empty()).ok_or_else(|| {
            Error::Configuration(format!(
                "no API key: set {API_KEY_ENV} or call ClientBuilder::api_key (keys are created in \
                 the Moonshot console's API keys page)"
            ))
        })?;
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {}", api_key.expose_secret().trim())).map_err(
                |_| {
                    Error::Configuration(
                        "the API key holds characters that cannot be sent in a header".into(),
                    )
                },
            )?;
        authorization.set_sensitive(true);
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| format!("moonshot-rs/{}", env!("CARGO_PKG_VERSION")));
        let user_agent = HeaderValue::try_from(user_agent).map_err(|_| {
            Error::Configuration("the user agent is not a valid header value".into())
        })?;
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(USER_AGENT, user_agent);
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);

        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(GLOBAL_BASE_URL))
            .map_err(|e| e.redacted(api_key.expose_secret()))?;
        // A client built here carries the headers and the timeout itself, as a hand-configured
        // reqwest client would, and reqwest applies them to each request as it does for any
        // client. A caller's own client gets them per request through the call context instead,
        // on top of that: two more header inserts and an extension map for the timeout.
        let (http, context) = match self.http_client {
            Some(client) => (client, CallContext::new(headers, Some(timeout))),
            None => (
                reqwest::Client::builder()
                    .default_headers(headers)
                    .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                    .timeout(timeout)
                    .redirect(reqwest::redirect::Policy::custom(same_server_redirect))
                    .build()
                    .map_err(|e| {
                        Error::Configuration(format!("the HTTP client cannot be built: {e}"))
                    })?,
                CallContext::default(),
            ),
        };
        let (limits, completion_reservation): (Option<Arc<dyn LimitStore>>, u32) =
            match (self.limit_store, self.limits) {
                (Some((store, reservation)), _) => (Some(store), reservation),
                (None, Some(limits)) => {
                    let reservation = limits.default_completion_reservation();
                    (Some(Arc::new(LocalStore::new(limits)?)), reservation)
                }
                (None, None) => (None, crate::limits::DEFAULT_COMPLETION_RESERVATION),
            };
        // A client that paces itself reads what each response says of the account's budget.
        let context = if limits.is_some() {
            context.reading_rate_limits()
        } else {
            context
        };
        Ok(Client {
            core: Arc::new(Core {
                api: moonshot_api::Client::new_with_client(&base_url, http),
                api_key,
                base_url,
                context,
                timeout,
                generation_timeout: self
                    .generation_timeout
                    .unwrap_or(DEFAULT_GENERATION_TIMEOUT),
                retry: self.retry.unwrap_or_default(),
                limits,
                completion_reservation,
            }),
        })
    }
}

/// Follows a redirect only when it keeps the method and body (307, 308) and the server (scheme,
/// host and port), at most 10 times. A 301, 302 or 303 would turn an upload or a chat into a
/// `GET` that succeeds with nothing sent; another server would get a request without its key.
fn same_server_redirect(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let keeps_request = matches!(attempt.status().as_u16(), 307 | 308);
    let same_server = attempt
        .previous()
        .last()
        .is_some_and(|from| from.origin() == attempt.url().origin());
    if keeps_request && same_server && attempt.previous().len() <= 10 {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

/// `https://api.moonshot.ai/v1/` -> `https://api.moonshot.ai`: the generated paths hold `/v1`.
///
/// A user name or password in the URL is refused: reqwest would send it as Basic auth in place of
/// the key. Error messages never repeat it.
fn normalize_base_url(url: &str) -> Result<String, Error> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let shown = without_user_info(url);
    let url = shown.as_str();
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| Error::Configuration(format!("base URL `{url}` is not a URL: {e}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Configuration(format!(
            "base URL `{url}` must not hold a user name or password: the API key authenticates \
             (give it as the key), and credentials in a URL would be sent instead of it"
        )));
    }
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Configuration(format!(
            "base URL `{url}` must be an http(s) URL such as {GLOBAL_BASE_URL}"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Configuration(format!(
            "base URL `{url}` must not hold a query or fragment"
        )));
    }
    Ok(trimmed.to_owned())
}

/// `url` with anything between its scheme and an `@` in its authority replaced by `***`, so that
/// a message quoting it never shows a password.
fn without_user_info(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_user_info_are_refused_without_showing_it() {
        for url in [
            "http://user:hunter2@127.0.0.1:1",
            "https://hunter2@api.moonshot.ai/v1",
            "http://user:hunter2@[::1",
        ] {
            let Err(Error::Configuration(message)) = normalize_base_url(url) else {
                panic!("{url} accepted");
            };
            assert!(!message.contains("hunter2"), "{message}");
            assert!(message.contains("***@"), "{message}");
        }
    }

    #[test]
    fn base_urls_are_normalized() {
        for (given, expected) in [
            ("https://api.moonshot.ai", "https://api.moonshot.ai"),
            ("https://api.moonshot.ai/", "https://api.moonshot.ai"),
            ("https://api.moonshot.cn/v1", "https://api.moonshot.cn"),
            (" https://api.moonshot.cn/v1/ ", "https://api.moonshot.cn"),
            (
                "http://127.0.0.1:8080/proxy/v1",
                "http://127.0.0.1:8080/proxy",
            ),
        ] {
            assert_eq!(normalize_base_url(given).expect(given), expected);
        }
        for bad in ["api.moonshot.ai", "ftp://x", "", "https://x/?a=1"] {
            assert!(
                matches!(normalize_base_url(bad), Err(Error::Configuration(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn from_env_reads_the_key_and_an_optional_base_url() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let client = Client::from_lookup(env(&[(API_KEY_ENV, "sk-1")])).expect("key set");
        assert_eq!(client.base_url(), GLOBAL_BASE_URL);
        let client = Client::from_lookup(env(&[
            (API_KEY_ENV, "sk-1"),
            (BASE_URL_ENV, "https://api.moonshot.cn/v1"),
        ]))
        .expect("key and url set");
        assert_eq!(client.base_url(), CHINA_BASE_URL);
        let client = Client::from_lookup(env(&[(API_KEY_ENV, "sk-1"), (BASE_URL_ENV, " ")]))
            .expect("blank url");
        assert_eq!(client.base_url(), GLOBAL_BASE_URL);
        for unset in [env(&[]), env(&[(API_KEY_ENV, "")])] {
            let err = Client::from_lookup(unset).expect_err("no key");
            assert!(err.to_string().contains("set MOONSHOT_API_KEY"), "{err}");
        }
        let err = Client::from_lookup(env(&[(API_KEY_ENV, "sk-1"), (BASE_URL_ENV, "nonsense")]))
            .expect_err("bad url");
        assert!(err.to_string().contains("`nonsense`"), "{err}");
    }
}
