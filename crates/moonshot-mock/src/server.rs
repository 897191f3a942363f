//! The server handle and its builder.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::task::JoinHandle;

use crate::account_limits::{AccountLimits, AccountLimitsError, LimitStats, Limiter};
use crate::batches::{BatchStore, DEFAULT_BATCH_DURATION};
use crate::body::filler_chunk;
use crate::chat::ChatFixtures;
use crate::connections::{self, Limits};
use crate::document::Document;
use crate::faults::Faults;
use crate::files::{FileObjectError, MockFile, demo_files};
use crate::routes::router;
use crate::state::ServerState;
use crate::store::{ServedContent, Store, stored_file};

/// The default of [`MockServerBuilder::processing_delay`]: none, so an upload answers `ok` at
/// once and its content can be read straight away, as Moonshot's docs show.
pub const DEFAULT_PROCESSING_DELAY: Duration = Duration::ZERO;

/// The default of [`MockServerBuilder::memory_limit`]: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// The default of [`MockServerBuilder::header_read_timeout`]: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`MockServerBuilder::shutdown_grace`]: 5 seconds.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a mock server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The address could not be bound (in use, not local, not permitted).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// [`Faults::fail_rate`] is outside 0.0..=1.0.
    #[error("fail rate must be between 0.0 and 1.0, got {rate}")]
    InvalidFailRate {
        /// The rate given.
        rate: f64,
    },
    /// [`MockServerBuilder::api_key`] was given an empty key, which no client could send.
    #[error("the API key is empty: give a non-empty key, or none to accept any request")]
    EmptyApiKey,
    /// [`MockServerBuilder::api_key`] was given a key no request could carry: one with a control
    /// character (a newline), a character outside visible ASCII and spaces, or spaces around it.
    #[error(
        "the API key cannot be sent in an `Authorization: Bearer` header, so no request could \
         authenticate: give a key of visible ASCII characters, without spaces around it"
    )]
    UnsendableApiKey,
    /// A [`MockServerBuilder::with_large_file`] id is not usable as a file id.
    #[error("invalid large file {id:?}")]
    InvalidLargeFile {
        /// The id given.
        id: String,
        /// Why it was refused.
        #[source]
        source: FileObjectError,
    },
    /// [`MockServerBuilder::account_limits`] were given limits no request could pass.
    #[error("invalid account limits")]
    AccountLimits(#[from] AccountLimitsError),
    /// A batch given to [`MockServerBuilder::batches`] is not a batch object.
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
    /// The document given to [`MockServerBuilder::document`] is not an OpenAPI document the
    /// server can read.
    #[error("cannot answer from the OpenAPI document given: {0}")]
    InvalidDocument(String),
    /// The server stopped with an I/O error, or its task panicked.
    #[error("the mock server stopped with an error")]
    Serve {
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

/// A running mock of Moonshot's API. Dropping it stops the server too.
///
/// See the [crate docs](crate) for an example.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    task: Option<JoinHandle<()>>,
}

/// Configures and starts a [`MockServer`]: `MockServer::builder()…start().await`.
#[derive(Clone)]
pub struct MockServerBuilder {
    bind: SocketAddr,
    api_key: Option<String>,
    faults: Faults,
    files: Vec<MockFile>,
    large_files: Vec<(String, u64)>,
    processing_delay: Duration,
    memory_limit: u64,
    chat_fixtures: ChatFixtures,
    chunk_delay: Duration,
    batch_duration: Duration,
    batches: Vec<serde_json::Map<String, serde_json::Value>>,
    limits: Limits,
    account_limits: AccountLimits,
    document: Option<Arc<Document>>,
}

impl MockServer {
    /// A builder with the defaults: `127.0.0.1:0`, the demo files, no key check, no faults,
    /// [`DEFAULT_PROCESSING_DELAY`] and [`DEFAULT_MEMORY_LIMIT`].
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            api_key: None,
            faults: Faults::default(),
            files: demo_files(),
            large_files: Vec::new(),
            processing_delay: DEFAULT_PROCESSING_DELAY,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            chat_fixtures: ChatFixtures::default(),
            chunk_delay: Duration::ZERO,
            batch_duration: DEFAULT_BATCH_DURATION,
            batches: Vec::new(),
            limits: Limits {
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            },
            account_limits: AccountLimits::default(),
            document: None,
        }
    }

    /// Starts a server with the defaults of [`MockServer::builder`].
    ///
    /// # Errors
    ///
    /// As [`MockServerBuilder::start`].
    pub async fn start() -> Result<Self, MockError> {
        Self::builder().start().await
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for a client, without a trailing slash or `/v1`: `http://127.0.0.1:PORT`.
    ///
    /// A server bound to an unspecified address (`0.0.0.0`, `::`) is reached through loopback.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// How many requests the server has received, whatever their route or answer.
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// What the server counted of the account's limits: requests in flight and their peak, the
    /// most requests and tokens within one window, what it admitted, and the 429s its limits
    /// sent. Counted whether or not limits are set (see [`MockServerBuilder::account_limits`]).
    pub fn limit_stats(&self) -> LimitStats {
        self.state.limiter.stats()
    }

    /// The ids of the batches the server holds now, sorted.
    pub fn batch_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .state
            .batches
            .page(None, usize::MAX)
            .map(|(page, _)| page)
            .unwrap_or_default()
            .iter()
            .filter_map(|b| Some(b.get("id")?.as_str()?.to_owned()))
            .collect();
        ids.sort();
        ids
    }

    /// The ids of the files the server holds now (configured, uploaded, not deleted), sorted.
    pub fn file_ids(&self) -> Vec<String> {
        self.state.store.ids()
    }

    /// The bytes uploads hold in memory now: the text of uploaded files and the buffers of
    /// uploads being received. Never above [`MockServerBuilder::memory_limit`].
    pub fn upload_memory(&self) -> u64 {
        self.state.store.held_bytes()
    }

    /// Stops accepting connections, lets requests in flight finish for up to
    /// [`MockServerBuilder::shutdown_grace`], drops the connections still open, and waits for
    /// the server. Stalled streams and running batches end at once.
    ///
    /// # Errors
    ///
    /// [`MockError::Serve`] if the server had panicked.
    pub async fn shutdown(mut self) -> Result<(), MockError> {
        self.state.stopping.send_replace(true);
        match self.task.take() {
            Some(task) => task.await.map_err(|join| MockError::Serve {
                source: std::io::Error::other(join),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.state.stopping.send_replace(true);
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("request_count", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl MockServerBuilder {
    /// The address to listen on (default `127.0.0.1:0`: loopback, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Requires `Authorization: Bearer <key>` on every request; without it, or with another
    /// key, the answer is 401 `invalid_authentication_error`. Without a key, anything goes.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The faults to inject (default none).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Serves these files instead of the demo files (see [`load_fixtures`](crate::load_fixtures)).
    pub fn files(mut self, files: impl IntoIterator<Item = MockFile>) -> Self {
        self.files = files.into_iter().collect();
        self
    }

    /// Serves one more file; it replaces a file with the same id.
    pub fn file(mut self, file: MockFile) -> Self {
        self.files.push(file);
        self
    }

    /// Serves one more file, `id`, whose content body is `size_bytes` long (at least the ~100
    /// bytes of its JSON envelope) and generated while it is sent, for benchmarks. Its file
    /// object says `<id>.txt`, `file-extract`, `ok`, and `bytes: size_bytes`. It replaces a file
    /// with the same id.
    pub fn with_large_file(mut self, id: impl Into<String>, size_bytes: u64) -> Self {
        self.large_files.push((id.into(), size_bytes));
        self
    }

    /// How long an uploaded file stays `processing` before its status turns `ok` (or `failed`)
    /// and its content can be read (default [`DEFAULT_PROCESSING_DELAY`]; zero: at once).
    pub fn processing_delay(mut self, delay: Duration) -> Self {
        self.processing_delay = delay;
        self
    }

    /// The most bytes uploads may hold in memory, all files together (default
    /// [`DEFAULT_MEMORY_LIMIT`]). An upload that would pass it is refused with 400
    /// `invalid_request_error`, as Moonshot refuses a file over its limits; deleting files
    /// makes room again.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Answers chat completions from these scripted rules first (see the
    /// [fixtures format](crate::chat#fixtures-format)); requests no rule matches get the default
    /// answer.
    pub fn chat_fixtures(mut self, fixtures: ChatFixtures) -> Self {
        self.chat_fixtures = fixtures;
        self
    }

    /// How long a client may take to send a request head, counted from its first byte on a new
    /// connection and from the end of the last answer on a kept-alive one (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]); then the connection is closed. A client that opens
    /// connections and sends little or nothing cannot hold them.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long [`MockServer::shutdown`] (or dropping the server) lets requests in flight
    /// finish before it drops the connections still open (default [`DEFAULT_SHUTDOWN_GRACE`]).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.limits.shutdown_grace = grace;
        self
    }

    /// Waits this long between the events of a streamed chat answer (default none).
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// How long a batch takes from `validating` to `completed` (default
    /// [`DEFAULT_BATCH_DURATION`]): a tenth validating, eight tenths answering its lines at an
    /// even pace, a tenth finalizing.
    pub fn batch_duration(mut self, duration: Duration) -> Self {
        self.batch_duration = duration;
        self
    }

    /// Enforces an account's rate limits (default none): Moonshot's tier with
    /// [`AccountLimits::tier`], or explicit numbers, over a window of
    /// [`AccountLimits::window`]. A request over a limit is answered 429
    /// `rate_limit_reached_error` with "please try again after N seconds"; every answer carries
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` when a request
    /// limit is set. The [crate docs](crate#account-limits) say what counts.
    pub fn account_limits(mut self, limits: AccountLimits) -> Self {
        self.account_limits = limits;
        self
    }

    /// Serves these batches too, as their objects say (as `GET /v1/batches/{id}` answered them):
    /// to carry finished batches over from another server. A batch given here does not run, so
    /// give batches that have ended, and the files they name with [`MockServerBuilder::files`].
    ///
    /// # Errors
    /// [`MockError::InvalidBatch`] for an object without a string `id`, `status` and
    /// `created_at` number.
    pub fn batches(
        mut self,
        batches: impl IntoIterator<Item = serde_json::Value>,
    ) -> Result<Self, MockError> {
        for batch in batches {
            let serde_json::Value::Object(object) = batch else {
                return Err(MockError::InvalidBatch(
                    "a batch object is not a JSON object".to_owned(),
                ));
            };
            let usable = object
                .get("id")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|id| !id.is_empty())
                && object
                    .get("status")
                    .is_some_and(serde_json::Value::is_string)
                && object
                    .get("created_at")
                    .is_some_and(serde_json::Value::is_i64);
            if !usable {
                return Err(MockError::InvalidBatch(format!(
                    "a batch object needs a string id and status and a created_at number: {}",
                    serde_json::Value::Object(object)
                )));
            }
            self.batches.push(object);
        }
        Ok(self)
    }

    /// Answers the operations without a hand-written route from this OpenAPI 3.0 document
    /// (YAML or JSON text) instead of the one the client is generated from, which is embedded:
    /// to try a newer document before a client is generated from it.
    ///
    /// # Errors
    /// [`MockError::InvalidDocument`] for text that is not YAML or JSON, or has no `paths`.
    pub fn document(mut self, text: &str) -> Result<Self, MockError> {
        let document = Document::parse(text).map_err(MockError::InvalidDocument)?;
        self.document = Some(Arc::new(document));
        Ok(self)
    }

    /// Binds the address and starts serving on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`MockError::Bind`] when the address cannot be bound; [`MockError::InvalidFailRate`],
    /// [`MockError::EmptyApiKey`], [`MockError::UnsendableApiKey`] or
    /// [`MockError::InvalidLargeFile`] or [`MockError::AccountLimits`] for a bad setting.
    pub async fn start(self) -> Result<MockServer, MockError> {
        self.account_limits.check()?;
        let rate = self.faults.fail_rate;
        if !(0.0..=1.0).contains(&rate) {
            return Err(MockError::InvalidFailRate { rate });
        }
        if let Some(key) = &self.api_key {
            if key.is_empty() {
                return Err(MockError::EmptyApiKey);
            }
            // What clients can send, and what `authorized` compares a sent key with.
            let sendable =
                key.trim() == key && key.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
            if !sendable {
                return Err(MockError::UnsendableApiKey);
            }
        }
        let mut files: HashMap<_, _> = self
            .files
            .iter()
            .map(|file| (file.id().to_owned(), stored_file(file)))
            .collect();
        for (id, size) in self.large_files {
            let object = json!({
                "id": id,
                "object": "file",
                "bytes": size,
                "created_at": 1_717_000_000,
                "filename": format!("{id}.txt"),
                "purpose": "file-extract",
                "status": "ok",
                "status_details": "",
            });
            let file = MockFile::new(object, None)
                .map_err(|source| MockError::InvalidLargeFile { id, source })?;
            let mut stored = stored_file(&file);
            stored.content = ServedContent::Generated {
                filename: file.filename().to_owned(),
                size,
            };
            files.insert(file.id().to_owned(), stored);
        }

        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .map_err(|source| MockError::Bind {
                addr: self.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| MockError::Bind {
            addr: self.bind,
            source,
        })?;
        let state = Arc::new(ServerState {
            store: Store::new(files, self.memory_limit, self.processing_delay),
            api_key: self.api_key,
            faults: self.faults,
            requests: AtomicU64::new(0),
            instance: instance_tag(addr),
            filler: filler_chunk(),
            chat_fixtures: self.chat_fixtures,
            chunk_delay: self.chunk_delay,
            batches: BatchStore::new(self.batches, self.batch_duration),
            stopping: tokio::sync::watch::channel(false).0,
            limiter: Limiter::new(self.account_limits),
            document: self.document,
        });
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(connections::serve(
            listener,
            app,
            self.limits,
            state.stopping.subscribe(),
        ));
        Ok(MockServer {
            addr,
            state,
            task: Some(task),
        })
    }
}

impl std::fmt::Debug for MockServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServerBuilder")
            .field("bind", &self.bind)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("faults", &self.faults)
            .field("files", &self.files.len())
            .field("large_files", &self.large_files)
            .field("processing_delay", &self.processing_delay)
            .field("memory_limit", &self.memory_limit)
            .field("chat_fixtures", &self.chat_fixtures.len())
            .field("chunk_delay", &self.chunk_delay)
            .field("batch_duration", &self.batch_duration)
            .field("batches", &self.batches.len())
            .field("header_read_timeout", &self.limits.header_read_timeout)
            .field("shutdown_grace", &self.limits.shutdown_grace)
            .field("account_limits", &self.account_limits)
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

/// A tag that differs between servers, so request ids are unique across them too.
fn instance_tag(addr: SocketAddr) -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    nanos ^ u32::from(addr.port()).rotate_left(16) ^ std::process::id()
}
