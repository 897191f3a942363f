//! Staying under the account's limits: requests wait for capacity instead of being sent to
//! fail with a 429.
//!
//! Moonshot limits every account by tier (its "Recharge and Rate Limits" page): how many
//! requests run at once, how many start per minute, how many tokens they use per minute and per
//! day. [`Limits`] holds those numbers; the client that has them (every clone of it, every
//! operation) takes a permit before each attempt:
//!
//! - concurrency: a place among the requests in flight, given back when the attempt ends;
//! - requests and tokens per window: taken from a budget that each use gives back one window
//!   after its request ended (a sliding window counted from the end, so that however late the
//!   server saw the request arrive, no window of the server's holds more than the limit);
//! - a chat request reserves its input (estimated from its body, about three bytes a token, on
//!   the high side) plus the most it may answer (`max_completion_tokens`, else
//!   [`Limits::completion_reservation`]), and gives back what the answer's `usage` shows it did
//!   not use. That input plus output count against the tokens per minute is an assumption about
//!   how Moonshot counts (its page says tokens count input and output; gateways commonly count
//!   the most a request may answer when it is admitted).
//!
//! Waiting is first come, first served (tokio's fair [`Semaphore`]), is cancelled by dropping
//! the call (its place and reservation are given back), and is not part of the call's timeout;
//! [`Limits::max_wait`] bounds it. A 429 `rate_limit_reached_error` pauses every call of the
//! client until the time the server names.
//!
//! The state sits behind [`LimitStore`], so a store shared between processes can take the place
//! of the in-process one without touching callers: with the `redis` feature, [`RedisStore`]
//! shares it between the replicas of a service through Redis.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::Error;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{Account, RedisStore, RedisStoreBuilder};

/// The limits of one account: each `None` is no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    concurrency: Option<u32>,
    requests_per_window: Option<u32>,
    tokens_per_window: Option<u64>,
    tokens_per_day: Option<u64>,
    window: Duration,
    day: Duration,
    max_wait: Option<Duration>,
    completion_reservation: u32,
}

/// Moonshot's published tiers: concurrency, requests per minute, tokens per minute, tokens per
/// day (`None`: unlimited). Source: the platform's "Recharge and Rate Limits" page.
const TIERS: [(u32, u32, u64, Option<u64>); 6] = [
    (1, 3, 500_000, Some(1_500_000)),
    (50, 200, 2_000_000, None),
    (100, 500, 3_000_000, None),
    (200, 5_000, 3_000_000, None),
    (400, 5_000, 4_000_000, None),
    (1_000, 10_000, 5_000_000, None),
];

/// What a chat request reserves for its answer when it does not say `max_completion_tokens`.
pub const DEFAULT_COMPLETION_RESERVATION: u32 = 4_096;

impl Default for Limits {
    fn default() -> Self {
        Self::none()
    }
}

impl Limits {
    /// No limit at all (each can then be set).
    pub fn none() -> Self {
        Self {
            concurrency: None,
            requests_per_window: None,
            tokens_per_window: None,
            tokens_per_day: None,
            window: Duration::from_secs(60),
            day: Duration::from_secs(24 * 3600),
            max_wait: None,
            completion_reservation: DEFAULT_COMPLETION_RESERVATION,
        }
    }

    /// The limits of Moonshot's tier `tier` (0 to 5).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a tier Moonshot does not publish.
    pub fn tier(tier: u8) -> Result<Self, Error> {
        let (concurrency, rpm, tpm, tpd) =
            *TIERS
                .get(usize::from(tier))
                .ok_or_else(|| Error::InvalidInput {
                    name: "tier",
                    reason: format!(
                        "Moonshot publishes tiers 0 to {}, not {tier}",
                        TIERS.len() - 1
                    ),
                })?;
        Ok(Self {
            concurrency: Some(concurrency),
            requests_per_window: Some(rpm),
            tokens_per_window: Some(tpm),
            tokens_per_day: tpd,
            ..Self::none()
        })
    }

    /// At most `n` requests in flight at once.
    #[must_use]
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// At most `n` requests started per minute (per [`window`](Self::window)).
    #[must_use]
    pub fn requests_per_minute(mut self, n: u32) -> Self {
        self.requests_per_window = Some(n);
        self
    }

    /// At most `n` tokens per minute (per [`window`](Self::window)), input and output.
    #[must_use]
    pub fn tokens_per_minute(mut self, n: u64) -> Self {
        self.tokens_per_window = Some(n);
        self
    }

    /// At most `n` tokens per day.
    #[must_use]
    pub fn tokens_per_day(mut self, n: u64) -> Self {
        self.tokens_per_day = Some(n);
        self
    }

    /// The length of a "minute" (60 s; shorter in tests, with a server that counts the same).
    /// A day is 1,440 of them.
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self.day = window * 1_440;
        self
    }

    /// The longest a call waits for capacity before failing with [`Error::InvalidInput`]
    /// (named `limits`, and never retried); unbounded by default.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = Some(wait);
        self
    }

    /// What a chat request without `max_completion_tokens` reserves for its answer
    /// ([`DEFAULT_COMPLETION_RESERVATION`] unless set).
    #[must_use]
    pub fn completion_reservation(mut self, tokens: u32) -> Self {
        self.completion_reservation = tokens;
        self
    }

    /// The reservation for an answer without `max_completion_tokens`.
    pub fn default_completion_reservation(&self) -> u32 {
        self.completion_reservation
    }

    /// Checks the numbers: none may be zero.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the limit that is zero.
    pub fn check(&self) -> Result<(), Error> {
        let zero = |name: &'static str| {
            Err(Error::InvalidInput {
                name,
                reason: "it is zero, so no request could ever be sent: give a positive number, \
                         or leave it unset for no limit"
                    .to_owned(),
            })
        };
        if self.concurrency == Some(0) {
            return zero("concurrency");
        }
        if self.requests_per_window == Some(0) {
            return zero("requests per minute");
        }
        if self.tokens_per_window == Some(0) {
            return zero("tokens per minute");
        }
        if self.tokens_per_day == Some(0) {
            return zero("tokens per day");
        }
        if self.window.is_zero() {
            return zero("window");
        }
        Ok(())
    }
}

impl Limits {
    /// This process's share when `replicas` processes split the limits evenly (at least one of
    /// each, so that no limit becomes "none").
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn divided(&self, replicas: u32) -> Self {
        let replicas = replicas.max(1);
        let share32 = |n: u32| (n / replicas).max(1);
        let share64 = |n: u64| (n / u64::from(replicas)).max(1);
        Self {
            concurrency: self.concurrency.map(share32),
            requests_per_window: self.requests_per_window.map(share32),
            tokens_per_window: self.tokens_per_window.map(share64),
            tokens_per_day: self.tokens_per_day.map(share64),
            ..self.clone()
        }
    }

    /// Refuses a request that needs more tokens than a whole window's (or day's) budget: it
    /// would wait forever.
    fn check_request(&self, tokens: u64) -> Result<(), Error> {
        for (budget, limit) in [
            ("tokens per minute", self.tokens_per_window),
            ("tokens per day", self.tokens_per_day),
        ] {
            if let Some(limit) = limit
                && tokens > limit
            {
                return Err(Error::InvalidInput {
                    name: "request",
                    reason: format!(
                        "it may use {tokens} tokens (its input and the most it may answer), over \
                         the account's {limit} {budget}: it could never be sent; lower \
                         `max_completion_tokens` or shorten the input"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Waits for `acquire`, no longer than [`Limits::max_wait`].
    async fn bounded_wait(
        &self,
        acquire: impl Future<Output = Result<Permit, Error>>,
    ) -> Result<Permit, Error> {
        match self.max_wait {
            Some(wait) => tokio::time::timeout(wait, acquire)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::InvalidInput {
                        name: "limits",
                        reason: format!(
                            "no capacity under the account's limits within {wait:?} \
                             (`Limits::max_wait`)"
                        ),
                    })
                }),
            None => acquire.await,
        }
    }
}

/// What a client's calls use now: for a progress display or metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LimitUsage {
    /// Requests in flight.
    pub in_flight: u32,
    /// Requests started in the last window.
    pub requests_this_window: u32,
    /// Tokens reserved or used in the last window.
    pub tokens_this_window: u64,
    /// Tokens reserved or used in the last day.
    pub tokens_today: u64,
}

/// Where the limits' state lives: in this process ([`LocalStore`]), or in a store shared by
/// several.
pub trait LimitStore: Send + Sync + fmt::Debug {
    /// Waits until a request of `tokens` tokens may start, then holds its place.
    fn acquire(&self, tokens: u64) -> BoxFuture<'_, Result<Permit, Error>>;
    /// Pauses every call until `until` (a server's 429 named the time).
    fn pause_until(&self, until: Instant);
    /// What calls use now.
    fn usage(&self) -> LimitUsage;
}

/// A request's place under the limits: its concurrency slot (freed when dropped) and its token
/// reservation: [`Permit::settle`] gives back what the answer did not use, [`Permit::keep`]
/// keeps it all (an answer whose use is not known), and a permit dropped without either gives
/// it all back (the request was never answered).
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
    /// What a shared store holds for the request (a lease), given back when dropped.
    _hold: Option<Box<dyn Send>>,
    settle: Option<Box<dyn FnOnce(u64) + Send>>,
    reserved: u64,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("reserved", &self.reserved)
            .finish_non_exhaustive()
    }
}

impl Permit {
    /// A permit that holds nothing (no limits).
    pub fn unlimited() -> Self {
        Self {
            _slot: None,
            _hold: None,
            settle: None,
            reserved: 0,
        }
    }

    /// The tokens this request reserved.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The request used `used` tokens: what it reserved beyond that is given back now.
    pub fn settle(mut self, used: u64) {
        if let Some(settle) = self.settle.take() {
            settle(used);
        }
    }

    /// The request was never sent: all of its reservation is given back.
    pub fn release(self) {
        self.settle(0);
    }

    /// The request was answered, and what it used is not known: its reservation stays counted
    /// until its window ends.
    pub fn keep(self) {
        let reserved = self.reserved;
        self.settle(reserved);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(settle) = self.settle.take() {
            settle(0);
        }
    }
}

/// A budget of `limit` units per window: each use comes back one window after it was taken.
#[derive(Debug)]
struct Window {
    semaphore: Arc<Semaphore>,
    /// Uses not yet given back: when each was taken, and how much of it is still out.
    taken: Mutex<VecDeque<(Instant, Arc<AtomicU64>)>>,
    length: Duration,
    limit: u64,
}

impl Window {
    fn new(limit: u64, length: Duration) -> Arc<Self> {
        Arc::new(Self {
            semaphore: Arc::new(Semaphore::new(permits(limit))),
            taken: Mutex::new(VecDeque::new()),
            length,
            limit,
        })
    }

    /// Takes `n` units (waiting, first come first served); they come back one window after
    /// [`Window::schedule`] says the use ended.
    async fn take(self: &Arc<Self>, n: u64) -> Result<Arc<AtomicU64>, Error> {
        let permit = self
            .semaphore
            .acquire_many(permits(n) as u32)
            .await
            .map_err(|_| Error::Configuration("the client's limits were closed".to_owned()))?;
        permit.forget();
        Ok(Arc::new(AtomicU64::new(n)))
    }

    /// The use `out` ended now: what is left of it comes back one window later.
    fn schedule(self: &Arc<Self>, out: Arc<AtomicU64>) {
        let first = {
            let mut taken = self.taken.lock().expect("the window's lock");
            taken.push_back((Instant::now(), out));
            taken.len() == 1
        };
        if first {
            // One task gives the uses back as their windows end, for as long as any is out.
            let window = Arc::clone(self);
            tokio::spawn(async move { window.give_back().await });
        }
    }

    async fn give_back(self: Arc<Self>) {
        loop {
            let next = {
                let taken = self.taken.lock().expect("the window's lock");
                taken.front().map(|(at, _)| *at + self.length)
            };
            let Some(due) = next else { return };
            tokio::time::sleep_until(due).await;
            let mut taken = self.taken.lock().expect("the window's lock");
            while taken
                .front()
                .is_some_and(|(at, _)| *at + self.length <= Instant::now())
            {
                if let Some((_, out)) = taken.pop_front() {
                    self.semaphore
                        .add_permits(permits(out.swap(0, Ordering::AcqRel)));
                }
            }
            if taken.is_empty() {
                return;
            }
        }
    }

    /// Gives back at once `n` of a use that was not needed after all.
    fn refund(&self, out: &AtomicU64, n: u64) {
        let mut current = out.load(Ordering::Acquire);
        loop {
            let given = n.min(current);
            match out.compare_exchange(
                current,
                current - given,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.semaphore.add_permits(permits(given));
                    return;
                }
                Err(now) => current = now,
            }
        }
    }

    fn in_use(&self) -> u64 {
        self.limit - self.semaphore.available_permits() as u64
    }
}

/// Semaphore permits for `n` units (tokio caps a semaphore's permits).
fn permits(n: u64) -> usize {
    usize::try_from(n)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS)
}

/// The limits' state in this process, shared by every clone of the client that has it.
#[derive(Debug)]
pub struct LocalStore {
    limits: Limits,
    concurrency: Option<Arc<Semaphore>>,
    requests: Option<Arc<Window>>,
    tokens: Option<Arc<Window>>,
    daily: Option<Arc<Window>>,
    paused_until: Mutex<Option<Instant>>,
    /// One waiter at a time takes its permits, so that waiting stays first come first served
    /// across the several budgets a request needs.
    queue: Arc<tokio::sync::Mutex<()>>,
}

impl LocalStore {
    /// A store for `limits`.
    ///
    /// # Errors
    /// As [`Limits::check`].
    pub fn new(limits: Limits) -> Result<Self, Error> {
        limits.check()?;
        Ok(Self {
            concurrency: limits
                .concurrency
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            requests: limits
                .requests_per_window
                .map(|n| Window::new(u64::from(n), limits.window)),
            tokens: limits
                .tokens_per_window
                .map(|n| Window::new(n, limits.window)),
            daily: limits.tokens_per_day.map(|n| Window::new(n, limits.day)),
            paused_until: Mutex::new(None),
            queue: Arc::new(tokio::sync::Mutex::new(())),
            limits,
        })
    }

    async fn acquire_inner(&self, tokens: u64) -> Result<Permit, Error> {
        self.limits.check_request(tokens)?;
        let _turn = self.queue.lock().await;
        let paused = *self.paused_until.lock().expect("the pause's lock");
        if let Some(until) = paused {
            tokio::time::sleep_until(until).await;
        }
        let slot = match &self.concurrency {
            Some(semaphore) => {
                Some(Arc::clone(semaphore).acquire_owned().await.map_err(|_| {
                    Error::Configuration("the client's limits were closed".to_owned())
                })?)
            }
            None => None,
        };
        let mut outs = Vec::new();
        if let Some(requests) = &self.requests {
            outs.push((Arc::clone(requests), requests.take(1).await?, false));
        }
        for window in [&self.tokens, &self.daily].into_iter().flatten() {
            if tokens > 0 {
                outs.push((Arc::clone(window), window.take(tokens).await?, true));
            }
        }
        let settle = move |used: u64| {
            let unused = tokens.saturating_sub(used);
            for (window, out, is_tokens) in outs {
                if is_tokens && unused > 0 {
                    window.refund(&out, unused);
                }
                window.schedule(out);
            }
        };
        Ok(Permit {
            _slot: slot,
            _hold: None,
            settle: Some(Box::new(settle)),
            reserved: tokens,
        })
    }
}

impl LimitStore for LocalStore {
    fn acquire(&self, tokens: u64) -> BoxFuture<'_, Result<Permit, Error>> {
        Box::pin(self.limits.bounded_wait(self.acquire_inner(tokens)))
    }

    fn pause_until(&self, until: Instant) {
        let mut paused = self.paused_until.lock().expect("the pause's lock");
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    fn usage(&self) -> LimitUsage {
        LimitUsage {
            in_flight: self.concurrency.as_ref().map_or(0, |s| {
                self.limits.concurrency.unwrap_or(0) - s.available_permits() as u32
            }),
            requests_this_window: self.requests.as_ref().map_or(0, |w| w.in_use() as u32),
            tokens_this_window: self.tokens.as_ref().map_or(0, |w| w.in_use()),
            tokens_today: self.daily.as_ref().map_or(0, |w| w.in_use()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_moonshots_and_others_are_refused() {
        let tier1 = Limits::tier(1).expect("tier 1");
        assert_eq!(tier1.concurrency, Some(50));
        assert_eq!(tier1.requests_per_window, Some(200));
        assert_eq!(tier1.tokens_per_window, Some(2_000_000));
        assert_eq!(tier1.tokens_per_day, None);
        assert_eq!(Limits::tier(0).expect("tier 0").concurrency, Some(1));
        let err = Limits::tier(6).expect_err("no tier 6");
        assert!(err.to_string().contains("tiers 0 to 5"), "{err}");
        let err = LocalStore::new(Limits::none().requests_per_minute(0)).expect_err("zero");
        assert!(err.to_string().contains("requests per minute"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_per_window_wait_for_the_window_to_slide() {
        let store = LocalStore::new(
            Limits::none()
                .requests_per_minute(2)
                .window(Duration::from_secs(10)),
        )
        .expect("store");
        let start = Instant::now();
        for _ in 0..5 {
            store.acquire(0).await.expect("permit");
        }
        // Two at once, two more 10 s later, the fifth 20 s later.
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn unused_tokens_come_back_at_once_and_a_dropped_wait_gives_its_place_back() {
        let store = LocalStore::new(
            Limits::none()
                .tokens_per_minute(100)
                .window(Duration::from_secs(60)),
        )
        .expect("store");
        let first = store.acquire(80).await.expect("80 of 100");
        assert_eq!(store.usage().tokens_this_window, 80);
        // 50 more do not fit: this waiter is dropped before it gets them.
        let waiting = tokio::time::timeout(Duration::from_secs(1), store.acquire(50)).await;
        assert!(waiting.is_err(), "it waited");
        first.settle(30); // the answer used 30 of its 80
        assert_eq!(store.usage().tokens_this_window, 30);
        let start = Instant::now();
        store.acquire(50).await.expect("fits now").settle(50);
        assert_eq!(start.elapsed(), Duration::ZERO);
        let err = store.acquire(101).await.expect_err("over a window");
        assert!(err.to_string().contains("101 tokens"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_call_until_its_end() {
        let store = LocalStore::new(Limits::none().concurrency(4)).expect("store");
        let start = Instant::now();
        store.pause_until(start + Duration::from_secs(7));
        let _a = store.acquire(0).await.expect("after the pause");
        assert_eq!(start.elapsed(), Duration::from_secs(7));
        assert_eq!(store.usage().in_flight, 1);
    }
}
