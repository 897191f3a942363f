//! An account's rate limits, enforced when asked: requests in flight at once, requests and
//! tokens per sliding window, and tokens per day.
//!
//! What counts, and how it is answered, is told in the crate docs ("Account limits").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The windows in a day, for [`AccountLimits::tokens_per_day`]: a day of one-minute windows.
pub const DAY_WINDOWS: u32 = 1_440;

/// The default of [`AccountLimits::window`]: one minute, as Moonshot counts.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// The default of [`AccountLimits::completion_reservation`]: the tokens a chat completion
/// without `max_completion_tokens` (or `max_tokens`) counts for its answer until it is done,
/// the same as the `moonshot` client reserves.
pub const DEFAULT_COMPLETION_RESERVATION: u64 = 4_096;

/// Moonshot's published tiers ("Recharge and Rate Limits"): concurrency, RPM, TPM, TPD (`None`:
/// unlimited), for tiers 0 to 5.
const TIERS: [(u64, u64, u64, Option<u64>); 6] = [
    (1, 3, 500_000, Some(1_500_000)),
    (50, 200, 2_000_000, None),
    (100, 500, 3_000_000, None),
    (200, 5_000, 3_000_000, None),
    (400, 5_000, 4_000_000, None),
    (1_000, 10_000, 5_000_000, None),
];

/// The limits a server enforces on its one account. [`AccountLimits::default()`] enforces none
/// (the server still counts, for [`MockServer::limit_stats`](crate::MockServer::limit_stats)).
///
/// ```
/// use std::time::Duration;
/// use moonshot_mock::AccountLimits;
///
/// // Tier 0, with a "minute" of 600 ms so that a test of its limits takes a second.
/// let limits = AccountLimits::tier(0)?.window(Duration::from_millis(600));
/// assert_eq!(limits.requests_per_window_limit(), Some(3));
/// // Or explicit numbers.
/// let limits = AccountLimits::default().concurrency(2).requests_per_window(10);
/// # let _ = limits;
/// # Ok::<(), moonshot_mock::AccountLimitsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLimits {
    concurrency: Option<u64>,
    requests_per_window: Option<u64>,
    tokens_per_window: Option<u64>,
    tokens_per_day: Option<u64>,
    window: Duration,
    completion_reservation: u64,
}

/// Limits that cannot be enforced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountLimitsError {
    /// [`AccountLimits::tier`] was given a tier Moonshot does not publish.
    #[error("there is no tier {tier}: Moonshot's tiers are 0 to 5")]
    UnknownTier {
        /// The tier given.
        tier: u8,
    },
    /// A limit is zero, which no request could pass.
    #[error("the {limit} limit is 0, which no request could pass: give at least 1, or no limit")]
    Zero {
        /// The limit's name: `concurrency`, `requests per window`, ...
        limit: &'static str,
    },
    /// The window is zero long.
    #[error("the window is 0 long: give a duration such as 60s (Moonshot's) or 600ms for tests")]
    ZeroWindow,
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self {
            concurrency: None,
            requests_per_window: None,
            tokens_per_window: None,
            tokens_per_day: None,
            window: DEFAULT_WINDOW,
            completion_reservation: DEFAULT_COMPLETION_RESERVATION,
        }
    }
}

impl AccountLimits {
    /// The limits of Moonshot's tier `tier` (0 to 5, by the account's cumulative recharge):
    ///
    /// | tier | concurrency | RPM | TPM | TPD |
    /// |---|---:|---:|---:|---:|
    /// | 0 | 1 | 3 | 500,000 | 1,500,000 |
    /// | 1 | 50 | 200 | 2,000,000 | unlimited |
    /// | 2 | 100 | 500 | 3,000,000 | unlimited |
    /// | 3 | 200 | 5,000 | 3,000,000 | unlimited |
    /// | 4 | 400 | 5,000 | 4,000,000 | unlimited |
    /// | 5 | 1,000 | 10,000 | 5,000,000 | unlimited |
    ///
    /// # Errors
    /// [`AccountLimitsError::UnknownTier`] for a tier above 5.
    pub fn tier(tier: u8) -> Result<Self, AccountLimitsError> {
        let &(concurrency, rpm, tpm, tpd) = TIERS
            .get(usize::from(tier))
            .ok_or(AccountLimitsError::UnknownTier { tier })?;
        Ok(Self {
            concurrency: Some(concurrency),
            requests_per_window: Some(rpm),
            tokens_per_window: Some(tpm),
            tokens_per_day: tpd,
            ..Self::default()
        })
    }

    /// The most requests in flight at once.
    pub fn concurrency(mut self, requests: u64) -> Self {
        self.concurrency = Some(requests);
        self
    }

    /// The most requests admitted in any window (RPM with the default window).
    pub fn requests_per_window(mut self, requests: u64) -> Self {
        self.requests_per_window = Some(requests);
        self
    }

    /// The most chat completion tokens counted in any window (TPM with the default window).
    pub fn tokens_per_window(mut self, tokens: u64) -> Self {
        self.tokens_per_window = Some(tokens);
        self
    }

    /// The most chat completion tokens counted in any day of [`DAY_WINDOWS`] windows (TPD).
    pub fn tokens_per_day(mut self, tokens: u64) -> Self {
        self.tokens_per_day = Some(tokens);
        self
    }

    /// The window's length (default [`DEFAULT_WINDOW`], a minute); tests use a "minute" of
    /// a few hundred milliseconds. A day is [`DAY_WINDOWS`] of them.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The tokens a chat completion without `max_completion_tokens` or `max_tokens` counts for
    /// its answer until it is done (default [`DEFAULT_COMPLETION_RESERVATION`]).
    pub fn completion_reservation(mut self, tokens: u64) -> Self {
        self.completion_reservation = tokens;
        self
    }

    /// The requests-per-window limit, if any: what `X-RateLimit-Limit` says.
    pub fn requests_per_window_limit(&self) -> Option<u64> {
        self.requests_per_window
    }

    /// Whether no limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.concurrency.is_none()
            && self.requests_per_window.is_none()
            && self.tokens_per_window.is_none()
            && self.tokens_per_day.is_none()
    }

    /// Refuses limits no request could pass.
    pub(crate) fn check(&self) -> Result<(), AccountLimitsError> {
        if self.window.is_zero() {
            return Err(AccountLimitsError::ZeroWindow);
        }
        for (limit, value) in [
            ("concurrency", self.concurrency),
            ("requests per window", self.requests_per_window),
            ("tokens per window", self.tokens_per_window),
            ("tokens per day", self.tokens_per_day),
        ] {
            if value == Some(0) {
                return Err(AccountLimitsError::Zero { limit });
            }
        }
        Ok(())
    }

    fn day(&self) -> Duration {
        self.window.saturating_mul(DAY_WINDOWS)
    }
}

/// What the server counted of its limits, for tests: see [`MockServer::limit_stats`](crate::MockServer::limit_stats).
///
/// Counted whether or not limits are set, over [`AccountLimits::window`] (a minute by default),
/// so a test can also check that a client kept under limits the server does not enforce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitStats {
    /// Requests in flight now.
    pub in_flight: u64,
    /// The most requests that were in flight at once.
    pub peak_concurrency: u64,
    /// The most requests admitted within one window.
    pub peak_requests_per_window: u64,
    /// The most tokens counted within one window, at admission (reservations included).
    pub peak_tokens_per_window: u64,
    /// Requests admitted (and so counted against the limits).
    pub requests_admitted: u64,
    /// Chat completion tokens counted, corrected to the answers' usage once they are done.
    pub tokens_admitted: u64,
    /// Requests answered 429 `rate_limit_reached_error` by the limits (injected faults apart).
    pub rate_limited: u64,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Concurrency,
    Requests,
    Tokens,
    TokensPerDay,
}

/// Why a request was refused, and when it may pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Over `limit` now: 429, to be tried again after `retry_after_secs`.
    Over {
        limit: Limit,
        value: u64,
        retry_after_secs: u64,
    },
    /// `needed` tokens are more than `limit` ever allows: 400.
    TooLarge {
        limit: Limit,
        value: u64,
        needed: u64,
    },
}

impl Refusal {
    /// The answer's message, in Moonshot's words.
    pub(crate) fn message(&self) -> String {
        match *self {
            Self::Over {
                limit,
                value,
                retry_after_secs,
            } => format!(
                "Your account mock-organization<ak-mock> request reached organization max {}: \
                 {value}, please try again after {retry_after_secs} seconds",
                limit.name()
            ),
            Self::TooLarge {
                limit,
                value,
                needed,
            } => format!(
                "this request needs {needed} tokens (its input plus max_completion_tokens), more \
                 than the organization max {}: {value}, so it can never pass: ask for fewer \
                 max_completion_tokens or send a shorter prompt",
                limit.name()
            ),
        }
    }
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Self::Concurrency => "concurrency",
            Self::Requests => "RPM",
            Self::Tokens => "TPM",
            Self::TokensPerDay => "TPD",
        }
    }
}

/// The `X-RateLimit-*` values of an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateHeaders {
    /// Requests per window.
    pub(crate) limit: u64,
    /// Requests the window has room for now.
    pub(crate) remaining: u64,
    /// Seconds until the window frees a request (0 when it counts none).
    pub(crate) reset: Duration,
}

/// Tokens counted for one chat completion, at one moment.
#[derive(Debug, Clone, Copy)]
struct Spend {
    at: Instant,
    seq: u64,
    tokens: u64,
}

/// Spends within a span of time (a window or a day), with their sum.
#[derive(Debug, Default)]
struct Spends {
    entries: VecDeque<Spend>,
    total: u64,
}

impl Spends {
    fn prune(&mut self, now: Instant, span: Duration) {
        while let Some(first) = self.entries.front() {
            if now.duration_since(first.at) < span {
                break;
            }
            self.total -= first.tokens;
            self.entries.pop_front();
        }
    }

    /// How long until `needed` more tokens fit under `limit`.
    fn wait_for(&self, now: Instant, span: Duration, needed: u64, limit: u64) -> Duration {
        let mut total = self.total;
        for spend in &self.entries {
            total -= spend.tokens;
            if total + needed <= limit {
                return (spend.at + span).saturating_duration_since(now);
            }
        }
        span
    }

    fn push(&mut self, spend: Spend) {
        self.total += spend.tokens;
        self.entries.push_back(spend);
    }

    fn correct(&mut self, seq: u64, tokens: u64) {
        if let Ok(i) = self.entries.binary_search_by_key(&seq, |spend| spend.seq) {
            let spend = &mut self.entries[i];
            self.total = self.total - spend.tokens + tokens;
            spend.tokens = tokens;
        }
    }
}

/// The counts of the current window and day.
#[derive(Debug, Default)]
struct Counts {
    in_flight: u64,
    /// When each request counted in the window was admitted, and its id.
    starts: VecDeque<(Instant, u64)>,
    window: Spends,
    day: Spends,
    next_id: u64,
    next_spend: u64,
    stats: LimitStats,
}

/// Enforces an account's limits and counts what it admits.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: AccountLimits,
    counts: Mutex<Counts>,
}

/// One admitted request: in flight until it is dropped, when its tokens are corrected.
#[derive(Debug)]
pub(crate) struct Ticket {
    limiter: Arc<Limiter>,
    id: u64,
    tokens: Mutex<TicketTokens>,
}

#[derive(Debug, Default)]
struct TicketTokens {
    /// The spend's sequence number and the tokens counted at admission.
    spent: Option<(u64, u64)>,
    /// The tokens it used in the end.
    settled: Option<u64>,
}

/// Whole seconds, rounded up, at least 1.
fn whole_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

impl Limiter {
    pub(crate) fn new(limits: AccountLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// The tokens a chat completion counts for its answer at admission: `max_tokens` (its
    /// `max_completion_tokens` or `max_tokens`), else the configured reservation.
    pub(crate) fn completion_tokens(&self, max_tokens: Option<u64>) -> u64 {
        max_tokens.unwrap_or(self.limits.completion_reservation)
    }

    fn counts(&self, now: Instant) -> MutexGuard<'_, Counts> {
        // The counts stay consistent between statements, so a panic elsewhere cannot break them.
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.limits.window;
        while counts
            .starts
            .front()
            .is_some_and(|&(at, _)| now.duration_since(at) >= window)
        {
            counts.starts.pop_front();
        }
        counts.window.prune(now, window);
        counts.day.prune(now, self.limits.day());
        counts
    }

    /// Admits a request against the concurrency and request limits, or says why not.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Arc<Ticket>, Refusal> {
        let now = Instant::now();
        let mut counts = self.counts(now);
        if let Some(limit) = self.limits.concurrency
            && counts.in_flight >= limit
        {
            counts.stats.rate_limited += 1;
            return Err(Refusal::Over {
                limit: Limit::Concurrency,
                value: limit,
                retry_after_secs: 1,
            });
        }
        if let Some(limit) = self.limits.requests_per_window
            && counts.starts.len() as u64 >= limit
        {
            counts.stats.rate_limited += 1;
            let oldest = counts.starts.front().map_or(now, |&(at, _)| at);
            let wait = (oldest + self.limits.window).saturating_duration_since(now);
            return Err(Refusal::Over {
                limit: Limit::Requests,
                value: limit,
                retry_after_secs: whole_secs(wait),
            });
        }
        let id = counts.next_id;
        counts.next_id += 1;
        counts.in_flight += 1;
        counts.starts.push_back((now, id));
        let (in_flight, in_window) = (counts.in_flight, counts.starts.len() as u64);
        let stats = &mut counts.stats;
        stats.requests_admitted += 1;
        stats.peak_concurrency = stats.peak_concurrency.max(in_flight);
        stats.peak_requests_per_window = stats.peak_requests_per_window.max(in_window);
        Ok(Arc::new(Ticket {
            limiter: Arc::clone(self),
            id,
            tokens: Mutex::new(TicketTokens::default()),
        }))
    }

    /// What the `X-RateLimit-*` headers say now, when a request limit is set.
    pub(crate) fn headers(&self) -> Option<RateHeaders> {
        let limit = self.limits.requests_per_window?;
        let now = Instant::now();
        let counts = self.counts(now);
        let reset = counts.starts.front().map_or(Duration::ZERO, |&(at, _)| {
            (at + self.limits.window).saturating_duration_since(now)
        });
        Some(RateHeaders {
            limit,
            remaining: limit.saturating_sub(counts.starts.len() as u64),
            reset,
        })
    }

    /// The counts so far.
    pub(crate) fn stats(&self) -> LimitStats {
        let counts = self.counts(Instant::now());
        LimitStats {
            in_flight: counts.in_flight,
            ..counts.stats
        }
    }
}

impl Ticket {
    /// Counts `tokens` for this request against the token limits, or refuses it: then it
    /// counts against no limit (its request is taken back from the window too).
    pub(crate) fn spend(&self, tokens: u64) -> Result<(), Refusal> {
        let limiter = &self.limiter;
        let limits = &limiter.limits;
        let now = Instant::now();
        let mut counts = limiter.counts(now);
        let checks = [
            (
                Limit::Tokens,
                limits.tokens_per_window,
                &counts.window,
                limits.window,
            ),
            (
                Limit::TokensPerDay,
                limits.tokens_per_day,
                &counts.day,
                limits.day(),
            ),
        ];
        let mut refusal = None;
        for (limit, value, spends, span) in checks {
            let Some(value) = value else { continue };
            if tokens > value {
                refusal = Some(Refusal::TooLarge {
                    limit,
                    value,
                    needed: tokens,
                });
                break;
            }
            if spends.total + tokens > value {
                refusal = Some(Refusal::Over {
                    limit,
                    value,
                    retry_after_secs: whole_secs(spends.wait_for(now, span, tokens, value)),
                });
                break;
            }
        }
        if let Some(refusal) = refusal {
            if let Ok(i) = counts.starts.binary_search_by_key(&self.id, |&(_, id)| id) {
                counts.starts.remove(i);
            }
            counts.stats.requests_admitted -= 1;
            if matches!(refusal, Refusal::Over { .. }) {
                counts.stats.rate_limited += 1;
            }
            return Err(refusal);
        }
        let seq = counts.next_spend;
        counts.next_spend += 1;
        let spend = Spend {
            at: now,
            seq,
            tokens,
        };
        counts.window.push(spend);
        if limits.tokens_per_day.is_some() {
            counts.day.push(spend);
        }
        let in_window = counts.window.total;
        let stats = &mut counts.stats;
        stats.tokens_admitted += tokens;
        stats.peak_tokens_per_window = stats.peak_tokens_per_window.max(in_window);
        drop(counts);
        self.tokens_mut().spent = Some((seq, tokens));
        Ok(())
    }

    /// The tokens this request used in the end, counted instead of those spent at admission
    /// once its answer is sent.
    pub(crate) fn settle(&self, tokens: u64) {
        self.tokens_mut().settled = Some(tokens);
    }

    fn tokens_mut(&self) -> MutexGuard<'_, TicketTokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let tokens = self.tokens_mut();
        let correction = tokens.spent.zip(tokens.settled);
        drop(tokens);
        let mut counts = self.limiter.counts(Instant::now());
        counts.in_flight -= 1;
        if let Some(((seq, spent), settled)) = correction {
            counts.window.correct(seq, settled);
            counts.day.correct(seq, settled);
            counts.stats.tokens_admitted = counts.stats.tokens_admitted - spent + settled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limits: AccountLimits) -> Arc<Limiter> {
        Limiter::new(limits)
    }

    #[test]
    fn tiers_follow_the_published_table() {
        let zero = AccountLimits::tier(0).expect("tier 0");
        assert_eq!(
            (
                zero.concurrency,
                zero.requests_per_window,
                zero.tokens_per_window,
                zero.tokens_per_day
            ),
            (Some(1), Some(3), Some(500_000), Some(1_500_000))
        );
        let five = AccountLimits::tier(5).expect("tier 5");
        assert_eq!(five.concurrency, Some(1_000));
        assert_eq!(five.tokens_per_day, None);
        assert_eq!(
            AccountLimits::tier(6),
            Err(AccountLimitsError::UnknownTier { tier: 6 })
        );
    }

    #[test]
    fn zero_limits_are_refused() {
        assert_eq!(
            AccountLimits::default().tokens_per_window(0).check(),
            Err(AccountLimitsError::Zero {
                limit: "tokens per window"
            })
        );
        assert_eq!(
            AccountLimits::default().window(Duration::ZERO).check(),
            Err(AccountLimitsError::ZeroWindow)
        );
        assert_eq!(AccountLimits::tier(0).expect("tier 0").check(), Ok(()));
    }

    #[test]
    fn concurrency_frees_when_a_ticket_drops() {
        let limiter = limiter(AccountLimits::default().concurrency(1));
        let first = limiter.admit().expect("room for one");
        assert!(matches!(
            limiter.admit(),
            Err(Refusal::Over {
                limit: Limit::Concurrency,
                ..
            })
        ));
        drop(first);
        assert!(limiter.admit().is_ok());
        let stats = limiter.stats();
        assert_eq!((stats.peak_concurrency, stats.rate_limited), (1, 1));
        assert_eq!(stats.in_flight, 0);
    }

    #[test]
    fn tokens_are_corrected_to_the_usage_and_refusals_count_nowhere() {
        let limiter = limiter(
            AccountLimits::default()
                .requests_per_window(10)
                .tokens_per_window(1_000),
        );
        let big = limiter.admit().expect("admitted");
        big.spend(900).expect("under the limit");
        let next = limiter.admit().expect("admitted");
        let Err(refusal) = next.spend(200) else {
            panic!("over the token limit")
        };
        assert!(
            refusal
                .message()
                .ends_with("please try again after 60 seconds"),
            "{}",
            refusal.message()
        );
        drop(next);
        big.settle(100);
        drop(big);
        let stats = limiter.stats();
        assert_eq!(stats.requests_admitted, 1);
        assert_eq!(stats.tokens_admitted, 100);
        assert_eq!(stats.rate_limited, 1);
        // The correction made room.
        limiter.admit().expect("admitted").spend(900).expect("fits");
        assert!(matches!(
            limiter.admit().expect("admitted").spend(1_001),
            Err(Refusal::TooLarge { needed: 1_001, .. })
        ));
    }

    #[test]
    fn waits_are_whole_seconds_at_least_one() {
        assert_eq!(whole_secs(Duration::ZERO), 1);
        assert_eq!(whole_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(whole_secs(Duration::from_secs(3)), 3);
    }
}
