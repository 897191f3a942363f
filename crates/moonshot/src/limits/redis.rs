//! The limits of one account shared by several processes through Redis: [`RedisStore`].

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{LimitStore, LimitUsage, Limits, LocalStore, Permit};
use crate::error::Error;

/// The oldest Redis the scripts run on.
const MIN_REDIS_MAJOR: u32 = 5;
/// How often a store that lost Redis tries it again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// The longest a waiter sleeps between two asks.
const MAX_POLL: Duration = Duration::from_millis(25);

/// Checks the limits and takes a request's places if every one is free; else says how long to
/// wait. With `peek`, takes nothing. Returns {granted, wait ms, in flight, requests, tokens,
/// tokens today}.
const ACQUIRE: &str = r"
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local tokens = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local conc = tonumber(ARGV[4])
local rpw = tonumber(ARGV[5])
local tpw = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
local tpd = tonumber(ARGV[8])
local day = tonumber(ARGV[9])
local peek = ARGV[10] == '1'

local function slide(zset, amounts, sum, length)
  local old = redis.call('ZRANGEBYSCORE', zset, '-inf', now - length)
  for _, member in ipairs(old) do
    local amount = tonumber(redis.call('HGET', amounts, member) or '0')
    if amount > 0 then redis.call('DECRBY', sum, amount) end
    redis.call('HDEL', amounts, member)
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', zset, '-inf', now - length) end
  local total = tonumber(redis.call('GET', sum) or '0')
  if total < 0 then total = 0 end
  return total
end
local function ends(zset, length)
  local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
  if first[2] then return math.max(1, tonumber(first[2]) + length - now) end
  return 1
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local in_flight = redis.call('ZCARD', KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local requests = redis.call('ZCARD', KEYS[2])
local used = slide(KEYS[3], KEYS[4], KEYS[5], window)
local used_day = slide(KEYS[6], KEYS[7], KEYS[8], day)
if peek then return {0, 0, in_flight, requests, used, used_day} end

local wait = 0
local paused = tonumber(redis.call('GET', KEYS[9]) or '0')
if paused > now then wait = paused - now end
if conc > 0 and in_flight >= conc then wait = math.max(wait, ends(KEYS[1], 0)) end
if rpw > 0 and requests >= rpw then wait = math.max(wait, ends(KEYS[2], window)) end
if tpw > 0 and tokens > 0 and used + tokens > tpw then wait = math.max(wait, ends(KEYS[3], window)) end
if tpd > 0 and tokens > 0 and used_day + tokens > tpd then wait = math.max(wait, ends(KEYS[6], day)) end
if wait > 0 then return {0, wait, in_flight, requests, used, used_day} end

if conc > 0 then
  redis.call('ZADD', KEYS[1], now + ttl, id)
  redis.call('PEXPIRE', KEYS[1], ttl)
  in_flight = in_flight + 1
end
if rpw > 0 then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('PEXPIRE', KEYS[2], window)
  requests = requests + 1
end
local function take(zset, amounts, sum, length)
  redis.call('ZADD', zset, now, id)
  redis.call('HSET', amounts, id, tokens)
  redis.call('INCRBY', sum, tokens)
  redis.call('PEXPIRE', zset, length)
  redis.call('PEXPIRE', amounts, length)
  redis.call('PEXPIRE', sum, length)
end
if tpw > 0 and tokens > 0 then take(KEYS[3], KEYS[4], KEYS[5], window); used = used + tokens end
if tpd > 0 and tokens > 0 then take(KEYS[6], KEYS[7], KEYS[8], day); used_day = used_day + tokens end
return {1, 0, in_flight, requests, used, used_day}
";

/// Gives back `ARGV[2]` tokens of request `ARGV[1]`'s reservation, in both token windows.
const SETTLE: &str = r"
local unused = tonumber(ARGV[2])
for i = 1, 3, 2 do
  local amount = tonumber(redis.call('HGET', KEYS[i], ARGV[1]) or '0')
  local give = math.min(amount, unused)
  if give > 0 then
    redis.call('HSET', KEYS[i], ARGV[1], amount - give)
    redis.call('DECRBY', KEYS[i + 1], give)
  end
end
return 0
";

/// Ends request `ARGV[1]`'s lease; with `ARGV[2]` = 1 (a wait cancelled after the grant), also
/// gives back its request and tokens.
const RELEASE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  for i = 3, 6, 3 do
    local amount = tonumber(redis.call('HGET', KEYS[i + 1], ARGV[1]) or '0')
    if amount > 0 then redis.call('DECRBY', KEYS[i + 2], amount) end
    redis.call('HDEL', KEYS[i + 1], ARGV[1])
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
end
return 0
";

/// Renews the leases `ARGV[2..]` for `ARGV[1]` ms more (those still there).
const RENEW: &str = r"
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 0
";

/// Pauses every process for `ARGV[1]` ms from now, unless a longer pause is on.
const PAUSE: &str = r"
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused < until_ms then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1])) end
return 0
";

/// The account whose limits are shared: the SHA-256 of its API key, which is all that reaches
/// Redis (and this type's `Debug`, cut to a few characters).
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    hash: String,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account({}…)", &self.hash[..8])
    }
}

impl Account {
    /// The account of API key `key` (only its hash is kept).
    pub fn from_api_key(key: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
        Self {
            hash: digest
                .as_ref()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect(),
        }
    }

    /// The account whose API key's SHA-256 is `hash` (64 hexadecimal digits), for processes
    /// that are handed the hash rather than the key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `hash` is not 64 hexadecimal digits.
    pub fn from_hash(hash: &str) -> Result<Self, Error> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidInput {
                name: "account hash",
                reason: format!(
                    "it is {} characters, not the 64 hexadecimal digits of a SHA-256 (of the \
                     API key): pass the key to `Account::from_api_key` instead",
                    hash.chars().count()
                ),
            });
        }
        Ok(Self {
            hash: hash.to_ascii_lowercase(),
        })
    }

    /// The SHA-256 of the API key, in lowercase hexadecimal.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Settings of a [`RedisStore`]: made by [`RedisStore::builder`].
#[derive(Debug, Clone)]
pub struct RedisStoreBuilder {
    url: String,
    limits: Limits,
    account: Account,
    replicas: u32,
    lease_ttl: Duration,
    timeout: Duration,
}

impl RedisStoreBuilder {
    /// How many processes share the account: while Redis cannot be reached, each keeps to the
    /// limits divided by this (1 unless set, so a lone process keeps the whole limits).
    #[must_use]
    pub fn replicas(mut self, replicas: u32) -> Self {
        self.replicas = replicas.max(1);
        self
    }

    /// How long a concurrency lease lives unless renewed (30 s unless set, at least 100 ms): the
    /// longest a dead process's requests in flight keep their places.
    #[must_use]
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(100));
        self
    }

    /// How long connecting to Redis, or one command, may take before Redis is taken as
    /// unreachable (500 ms unless set).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects, checks that the server is Redis 5 or later, and loads the scripts.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for limits that are zero; [`Error::Configuration`] naming the
    /// Redis (its URL without password) when the URL does not parse, the server cannot be
    /// reached, answers with an error (a password missing or wrong) or is older than 5.
    pub async fn connect(self) -> Result<RedisStore, Error> {
        self.limits.check()?;
        let shown = redacted(&self.url);
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            Error::Configuration(format!(
                "the Redis URL {shown} does not parse ({e}): give one such as \
                 redis://127.0.0.1:6379/ or redis://:password@host:6379/0"
            ))
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| {
                Error::Configuration(format!(
                    "Redis at {shown} cannot be reached: {e}; start it, or check the URL"
                ))
            })?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await
            .map_err(|e| {
                Error::Configuration(format!(
                    "Redis at {shown} answered INFO with an error: {e}; check the password and \
                     the user's rights"
                ))
            })?;
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(str::trim)
            .unwrap_or("unknown");
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        if major < MIN_REDIS_MAJOR {
            return Err(Error::Configuration(format!(
                "Redis at {shown} is version {version}: the limits' scripts need Redis \
                 {MIN_REDIS_MAJOR} or later"
            )));
        }
        let scripts = Scripts::new();
        for script in [
            &scripts.acquire,
            &scripts.settle,
            &scripts.release,
            &scripts.renew,
            &scripts.pause,
        ] {
            script.load_async(&mut conn).await.map_err(|e| {
                Error::Configuration(format!(
                    "Redis at {shown} refused to load a script: {e}; the limits need EVAL \
                     (scripting) allowed for this user"
                ))
            })?;
        }
        let fallback = LocalStore::new(self.limits.divided(self.replicas))?;
        let prefix = format!("moonshot:limits:{{{}}}:", self.account.hash);
        let inner = Arc::new(Inner {
            client,
            config,
            conn: Mutex::new(Some(conn)),
            shown,
            keys: Keys::new(&prefix),
            limits: self.limits,
            lease_ttl: self.lease_ttl,
            fallback,
            scripts,
            down: Mutex::new(None),
            warned: AtomicBool::new(false),
            held: Mutex::new(HashSet::new()),
            usage: Mutex::new(LimitUsage::default()),
            paused_until: Mutex::new(None),
            queue: tokio::sync::Mutex::new(()),
        });
        let stop = CancellationToken::new();
        tokio::spawn(renew(Arc::downgrade(&inner), stop.clone()));
        Ok(RedisStore {
            inner,
            _renewal: stop.drop_guard(),
        })
    }
}

/// The URL as it may be shown: without its password.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_owned(),
        },
    }
}

struct Scripts {
    acquire: Script,
    settle: Script,
    release: Script,
    renew: Script,
    pause: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            acquire: Script::new(ACQUIRE),
            settle: Script::new(SETTLE),
            release: Script::new(RELEASE),
            renew: Script::new(RENEW),
            pause: Script::new(PAUSE),
        }
    }
}

/// The account's keys.
struct Keys {
    leases: String,
    requests: String,
    tokens: String,
    token_amounts: String,
    token_sum: String,
    daily: String,
    daily_amounts: String,
    daily_sum: String,
    pause: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let key = |name: &str| format!("{prefix}{name}");
        Self {
            leases: key("leases"),
            requests: key("requests"),
            tokens: key("tokens"),
            token_amounts: key("tokens:amounts"),
            token_sum: key("tokens:sum"),
            daily: key("daily"),
            daily_amounts: key("daily:amounts"),
            daily_sum: key("daily:sum"),
            pause: key("pause"),
        }
    }

    /// The keys of the leases and the windows, in the order the scripts take them.
    fn counted(&self) -> [&str; 8] {
        [
            &self.leases,
            &self.requests,
            &self.tokens,
            &self.token_amounts,
            &self.token_sum,
            &self.daily,
            &self.daily_amounts,
            &self.daily_sum,
        ]
    }
}

/// The limits' state in Redis, shared by every process that uses the same Redis and API key.
///
/// Every process that runs with the same API key and a [`RedisStore`] on the same Redis draws
/// from one budget:
///
/// - requests and tokens per window: sliding windows kept as sorted sets (one member per
///   request, scored by when it was taken), checked and taken in one server-side Lua script, so
///   two processes never both take the last place. Times are Redis's own clock (`TIME`), so the
///   processes' clocks do not matter.
/// - concurrency: a lease per request in flight, a sorted-set member scored by when it expires.
///   The store renews its leases every third of [`RedisStoreBuilder::lease_ttl`] while their
///   permits are held; a process that dies (or loses Redis) stops renewing, and its leases come
///   back at most `lease_ttl` later (30 s unless set).
/// - a permit's unused tokens are given back ([`Permit::settle`](super::Permit::settle)), and a
///   wait cancelled after Redis granted it gives everything back.
/// - a 429 `rate_limit_reached_error` pauses every process: the pause's end is a key that the
///   script reads before granting anything.
///
/// Keys are `moonshot:limits:{<hash>}:<name>`, where `<hash>` is the SHA-256 of the API key
/// (never the key itself); the braces keep them in one slot of a Redis Cluster.
///
/// Waiting: a process's callers queue first come, first served (a fair tokio mutex); the one at
/// the head asks Redis, and while Redis says there is no capacity it asks again after the time
/// Redis names (when the oldest use of a window ends) or a short backoff (5 ms doubling to
/// 25 ms), whichever is sooner. Between processes no order is kept: the first to ask once
/// capacity is back gets it. Dropping the wait gives back its place and anything taken.
///
/// When Redis cannot be reached (or answers with an error), the store warns once (traced) and
/// falls back to a [`LocalStore`] of the limits divided by
/// [`RedisStoreBuilder::replicas`] (at least one of each: never no limits). It tries Redis again
/// at most once a second, and returns to it (traced) as soon as it answers.
///
/// ```no_run
/// # async fn run() -> Result<(), moonshot::Error> {
/// use moonshot::limits::{Account, Limits, RedisStore};
/// let key = std::env::var("MOONSHOT_API_KEY").unwrap_or_default();
/// let store = RedisStore::builder("redis://127.0.0.1:6379/", Limits::tier(1)?, Account::from_api_key(&key))
///     .replicas(4)
///     .connect()
///     .await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
pub struct RedisStore {
    inner: Arc<Inner>,
    /// Stops renewing leases when the store is dropped.
    _renewal: DropGuard,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("redis", &self.inner.shown)
            .field("limits", &self.inner.limits)
            .field("lease_ttl", &self.inner.lease_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Settings for a store of `limits` for `account` in the Redis at `url`
    /// (`redis://[:password@]host:port[/db]`); [`RedisStoreBuilder::connect`] makes it.
    pub fn builder(url: impl Into<String>, limits: Limits, account: Account) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            limits,
            account,
            replicas: 1,
            lease_ttl: Duration::from_secs(30),
            timeout: Duration::from_millis(500),
        }
    }

    /// Whether the store is using Redis now (false while it falls back to per-process limits).
    pub fn is_shared(&self) -> bool {
        self.inner.down.lock().expect("the state's lock").is_none()
    }
}

struct Inner {
    client: redis::Client,
    config: AsyncConnectionConfig,
    conn: Mutex<Option<MultiplexedConnection>>,
    /// The Redis URL without password.
    shown: String,
    keys: Keys,
    limits: Limits,
    lease_ttl: Duration,
    fallback: LocalStore,
    scripts: Scripts,
    /// Since when Redis has failed, and when it was last tried; `None` while it answers.
    down: Mutex<Option<Instant>>,
    /// Whether the loss of Redis was traced (once per loss).
    warned: AtomicBool,
    /// Leases of the permits held in this process, renewed while held.
    held: Mutex<HashSet<String>>,
    /// The use last read from Redis.
    usage: Mutex<LimitUsage>,
    paused_until: Mutex<Option<Instant>>,
    queue: tokio::sync::Mutex<()>,
}

/// What Redis answered to a request for a permit.
enum Answer {
    Granted,
    Wait(Duration),
}

impl Inner {
    /// A connection, made anew if the last one failed.
    async fn conn(&self) -> redis::RedisResult<MultiplexedConnection> {
        let current = self.conn.lock().expect("the connection's lock").clone();
        if let Some(conn) = current {
            return Ok(conn);
        }
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        *self.conn.lock().expect("the connection's lock") = Some(conn.clone());
        Ok(conn)
    }

    /// Whether Redis is to be asked now: it answers, or it failed more than [`RETRY_EVERY`] ago
    /// (then it is tried once more).
    fn try_redis(&self) -> bool {
        let mut down = self.down.lock().expect("the state's lock");
        match *down {
            None => true,
            Some(since) if since.elapsed() >= RETRY_EVERY => {
                *down = Some(Instant::now());
                true
            }
            Some(_) => false,
        }
    }

    /// Redis failed: drop the connection, trace it once, use the fallback.
    fn failed(&self, error: &redis::RedisError) {
        *self.conn.lock().expect("the connection's lock") = None;
        let mut down = self.down.lock().expect("the state's lock");
        if down.is_none() {
            *down = Some(Instant::now());
        }
        if !self.warned.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                redis = %self.shown,
                error = %error,
                "Redis cannot be reached: the limits fall back to this process's share until it answers"
            );
        }
    }

    /// Redis answered.
    fn answered(&self) {
        let mut down = self.down.lock().expect("the state's lock");
        if down.take().is_some() && self.warned.swap(false, Ordering::AcqRel) {
            tracing::info!(redis = %self.shown, "Redis answers again: the limits are shared again");
        }
    }

    fn limit_arg<T: Into<u64>>(limit: Option<T>) -> u64 {
        limit.map_or(0, Into::into)
    }

    async fn ask(&self, id: &str, tokens: u64, peek: bool) -> redis::RedisResult<Answer> {
        let mut conn = self.conn().await?;
        let mut invocation = self.scripts.acquire.prepare_invoke();
        for key in self.keys.counted() {
            invocation.key(key);
        }
        invocation
            .key(&self.keys.pause)
            .arg(id)
            .arg(tokens)
            .arg(millis(self.lease_ttl))
            .arg(Self::limit_arg(self.limits.concurrency))
            .arg(Self::limit_arg(self.limits.requests_per_window))
            .arg(Self::limit_arg(self.limits.tokens_per_window))
            .arg(millis(self.limits.window))
            .arg(Self::limit_arg(self.limits.tokens_per_day))
            .arg(millis(self.limits.day))
            .arg(if peek { "1" } else { "0" });
        let (granted, wait, in_flight, requests, used, used_day): (u8, u64, u32, u32, u64, u64) =
            invocation.invoke_async(&mut conn).await?;
        *self.usage.lock().expect("the usage's lock") = LimitUsage {
            in_flight,
            requests_this_window: requests,
            tokens_this_window: used,
            tokens_today: used_day,
        };
        Ok(if granted == 1 {
            Answer::Granted
        } else {
            Answer::Wait(Duration::from_millis(wait))
        })
    }

    async fn release(&self, id: &str, everything: bool) -> redis::RedisResult<()> {
        let mut conn = self.conn().await?;
        let mut invocation = self.scripts.release.prepare_invoke();
        for key in self.keys.counted() {
            invocation.key(key);
        }
        invocation
            .arg(id)
            .arg(if everything { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
    }

    async fn settle(&self, id: &str, unused: u64) -> redis::RedisResult<()> {
        let mut conn = self.conn().await?;
        let k = &self.keys;
        self.scripts
            .settle
            .key(&k.token_amounts)
            .key(&k.token_sum)
            .key(&k.daily_amounts)
            .key(&k.daily_sum)
            .arg(id)
            .arg(unused)
            .invoke_async(&mut conn)
            .await
    }

    async fn pause(&self, millis: u64) -> redis::RedisResult<()> {
        let mut conn = self.conn().await?;
        self.scripts
            .pause
            .key(&self.keys.pause)
            .arg(millis.max(1))
            .invoke_async(&mut conn)
            .await
    }

    async fn renew(&self, ids: &[String]) -> redis::RedisResult<()> {
        let mut conn = self.conn().await?;
        let mut invocation = self.scripts.renew.key(&self.keys.leases);
        invocation.arg(millis(self.lease_ttl));
        for id in ids {
            invocation.arg(id);
        }
        invocation.invoke_async(&mut conn).await
    }

    /// Runs `work` on Redis in the background (from a drop or a sync call); a failure only
    /// marks Redis as down.
    fn spawn<F>(self: &Arc<Self>, work: impl FnOnce(Arc<Self>) -> F + Send + 'static)
    where
        F: Future<Output = redis::RedisResult<()>> + Send + 'static,
    {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let inner = Arc::clone(self);
            runtime.spawn(async move {
                let result = work(Arc::clone(&inner)).await;
                if let Err(error) = result {
                    inner.failed(&error);
                }
            });
        }
    }

    async fn acquire(self: &Arc<Self>, tokens: u64) -> Result<Permit, Error> {
        self.limits.check_request(tokens)?;
        let _turn = self.queue.lock().await;
        let paused = *self.paused_until.lock().expect("the pause's lock");
        if let Some(until) = paused {
            tokio::time::sleep_until(until).await;
        }
        let mut poll = Duration::from_millis(5);
        loop {
            if !self.try_redis() {
                return self.fallback.acquire(tokens).await;
            }
            let id = format!("{:032x}", fastrand::u128(..));
            // Until Redis's answer is read, a cancelled wait gives back whatever it was granted.
            let mut pending = Pending {
                inner: Arc::clone(self),
                id: Some(id.clone()),
            };
            match self.ask(&id, tokens, false).await {
                Ok(Answer::Granted) => {
                    pending.id = None;
                    self.answered();
                    return Ok(self.permit(id, tokens));
                }
                Ok(Answer::Wait(wait)) => {
                    pending.id = None;
                    self.answered();
                    tokio::time::sleep(wait.min(poll)).await;
                    poll = (poll * 2).min(MAX_POLL);
                }
                Err(error) => {
                    self.failed(&error);
                    return self.fallback.acquire(tokens).await;
                }
            }
        }
    }

    fn permit(self: &Arc<Self>, id: String, tokens: u64) -> Permit {
        if self.limits.concurrency.is_some() {
            self.held
                .lock()
                .expect("the leases' lock")
                .insert(id.clone());
        }
        let lease = Lease {
            inner: Arc::clone(self),
            id: id.clone(),
        };
        let inner = Arc::clone(self);
        let settle = move |used: u64| {
            let unused = tokens.saturating_sub(used);
            if unused > 0 {
                inner.spawn(move |inner| async move { inner.settle(&id, unused).await });
            }
        };
        Permit {
            _slot: None,
            _hold: Some(Box::new(lease)),
            settle: Some(Box::new(settle)),
            reserved: tokens,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A request for a permit whose answer is not read yet: dropped with its id set (the wait was
/// cancelled), it gives back whatever Redis may have granted.
struct Pending {
    inner: Arc<Inner>,
    id: Option<String>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.inner
                .spawn(move |inner| async move { inner.release(&id, true).await });
        }
    }
}

/// A request's concurrency lease: renewed while held, ended when dropped.
struct Lease {
    inner: Arc<Inner>,
    id: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.inner.limits.concurrency.is_none() {
            return;
        }
        self.inner
            .held
            .lock()
            .expect("the leases' lock")
            .remove(&self.id);
        let id = std::mem::take(&mut self.id);
        self.inner
            .spawn(move |inner| async move { inner.release(&id, false).await });
    }
}

/// Renews the leases held, and reads the use, every third of the lease's life (at most every
/// second), until the store is dropped.
async fn renew(inner: Weak<Inner>, stop: CancellationToken) {
    let every = match inner.upgrade() {
        Some(inner) => (inner.lease_ttl / 3).min(Duration::from_secs(1)),
        None => return,
    };
    loop {
        if tokio::time::timeout(every, stop.cancelled()).await.is_ok() {
            return;
        }
        let Some(inner) = inner.upgrade() else { return };
        if inner.down.lock().expect("the state's lock").is_some() {
            continue;
        }
        let ids: Vec<String> = inner
            .held
            .lock()
            .expect("the leases' lock")
            .iter()
            .cloned()
            .collect();
        let result = async {
            if !ids.is_empty() {
                inner.renew(&ids).await?;
            }
            inner.ask("", 0, true).await.map(|_| ())
        }
        .await;
        if let Err(error) = result {
            inner.failed(&error);
        }
    }
}

impl LimitStore for RedisStore {
    fn acquire(&self, tokens: u64) -> BoxFuture<'_, Result<Permit, Error>> {
        Box::pin(self.inner.limits.bounded_wait(self.inner.acquire(tokens)))
    }

    fn pause_until(&self, until: Instant) {
        {
            let mut paused = self.inner.paused_until.lock().expect("the pause's lock");
            if paused.is_none_or(|p| p < until) {
                *paused = Some(until);
            }
        }
        self.inner.fallback.pause_until(until);
        let left = millis(until.saturating_duration_since(Instant::now()));
        self.inner
            .spawn(move |inner| async move { inner.pause(left).await });
    }

    /// What calls use: while Redis answers, the account's use as Redis counted it at this
    /// process's last request or lease renewal (at most a second ago while leases are held);
    /// while it does not, this process's own.
    fn usage(&self) -> LimitUsage {
        if self.is_shared() {
            *self.inner.usage.lock().expect("the usage's lock")
        } else {
            self.inner.fallback.usage()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_a_hash_and_a_bad_hash_is_refused() {
        let account = Account::from_api_key("sk-secret");
        assert_eq!(account.hash().len(), 64);
        assert!(!format!("{account:?}").contains("sk-secret"));
        assert_eq!(
            Account::from_hash(&account.hash().to_uppercase()).expect("hash"),
            account
        );
        let err = Account::from_hash("sk-secret").expect_err("not a hash");
        assert!(err.to_string().contains("account hash"), "{err}");
        assert_eq!(
            redacted("redis://:hunter2@127.0.0.1:6379/"),
            "redis://:***@127.0.0.1:6379/"
        );
    }
}
