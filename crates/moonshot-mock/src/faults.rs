//! Faults the server injects on demand, so clients can be tested against a misbehaving API.

use std::time::Duration;

use crate::chat::StreamFault;

/// Faults to inject. [`Faults::default()`] injects none.
///
/// Latency delays every answer. The other faults come after the API key check (a request with a
/// bad key gets its 401 whatever the faults) and before routing, first match wins: quota, rate
/// limit, failure rate. A body cut applies to any 200 response with a known length; a stream
/// fault to streamed chat answers. Which requests fail is decided from each request's sequence
/// number (0 for the first request the server receives, counting every request), so a run that
/// sends the same requests in the same order sees the same faults.
///
/// ```
/// use std::time::Duration;
/// use moonshot_mock::Faults;
///
/// let faults = Faults::default()
///     .latency(Duration::from_millis(20))
///     .fail_rate(0.25)
///     .seed(7)
///     .rate_limit_every(3)
///     .retry_after(Duration::from_secs(2));
/// assert_ne!(faults, Faults::default());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    pub(crate) latency: Duration,
    pub(crate) fail_rate: f64,
    pub(crate) seed: u64,
    pub(crate) rate_limit_every: u64,
    pub(crate) retry_after: Duration,
    pub(crate) quota_exceeded: bool,
    pub(crate) cut_body: bool,
    pub(crate) stream_fault: Option<StreamFault>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            fail_rate: 0.0,
            seed: 0,
            rate_limit_every: 0,
            retry_after: Duration::from_secs(1),
            quota_exceeded: false,
            cut_body: false,
            stream_fault: None,
        }
    }
}

/// What the fault settings make of one request, before it reaches a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Serve the request.
    Serve,
    /// 429 `exceeded_current_quota_error`.
    QuotaExceeded,
    /// 429 `rate_limit_reached_error` with `Retry-After`.
    RateLimited,
    /// 500 `server_error`.
    ServerError,
}

impl Faults {
    /// Waits this long before answering each request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Answers this share of requests (0.0 to 1.0) with 500 `server_error`.
    ///
    /// A value outside 0.0..=1.0 makes [`MockServerBuilder::start`](crate::MockServerBuilder::start)
    /// fail.
    pub fn fail_rate(mut self, rate: f64) -> Self {
        self.fail_rate = rate;
        self
    }

    /// Seeds the choice of which requests fail under [`fail_rate`](Self::fail_rate) (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Answers the first of every `n` requests (requests 1, n+1, 2n+1, …) with 429
    /// `rate_limit_reached_error` and a `Retry-After` header; 1 limits every request, 0 (the
    /// default) none. With 2, a client that retries once after a 429 always succeeds.
    pub fn rate_limit_every(mut self, n: u64) -> Self {
        self.rate_limit_every = n;
        self
    }

    /// The wait a rate-limited answer asks for, in its `Retry-After` header (whole seconds,
    /// rounded up) and its message (default 1 second).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Answers every request with 429 `exceeded_current_quota_error`, which retrying never fixes.
    pub fn quota_exceeded(mut self, on: bool) -> Self {
        self.quota_exceeded = on;
        self
    }

    /// Cuts every 200 response short: its headers advertise the full `Content-Length`, half of
    /// the body is sent, then the connection is dropped.
    pub fn cut_body(mut self, on: bool) -> Self {
        self.cut_body = on;
        self
    }

    /// Breaks every streamed chat answer that its fixture does not break otherwise (see
    /// [`StreamFault`]).
    pub fn stream_fault(mut self, fault: StreamFault) -> Self {
        self.stream_fault = Some(fault);
        self
    }

    /// `Retry-After` in whole seconds, rounded up so a client never retries too early.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        if self.retry_after.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        }
    }

    /// The fault, if any, for the request with sequence number `seq` (0-based).
    pub(crate) fn verdict(&self, seq: u64) -> Verdict {
        if self.quota_exceeded {
            Verdict::QuotaExceeded
        } else if self.rate_limit_every > 0 && seq.is_multiple_of(self.rate_limit_every) {
            Verdict::RateLimited
        } else if self.fail_rate > 0.0 && unit_interval(self.seed, seq) < self.fail_rate {
            Verdict::ServerError
        } else {
            Verdict::Serve
        }
    }
}

/// A number in [0, 1) that depends only on `seed` and `seq` (SplitMix64).
fn unit_interval(seed: u64, seq: u64) -> f64 {
    let mut z = seed.wrapping_add(seq.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits fill an f64 mantissa exactly.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(faults: &Faults, n: u64) -> Vec<u64> {
        (0..n)
            .filter(|&seq| faults.verdict(seq) == Verdict::ServerError)
            .collect()
    }

    #[test]
    fn fail_rate_extremes() {
        assert_eq!(failures(&Faults::default(), 1000), Vec::<u64>::new());
        assert_eq!(
            failures(&Faults::default().fail_rate(1.0), 1000).len(),
            1000
        );
    }

    #[test]
    fn fail_rate_is_seeded() {
        let half = Faults::default().fail_rate(0.5);
        let a = failures(&half.clone().seed(1), 1000);
        assert_eq!(a, failures(&half.clone().seed(1), 1000));
        assert_ne!(a, failures(&half.seed(2), 1000));
        // A fair share, loosely: the sequence is fixed, so this cannot flake.
        assert!((400..=600).contains(&a.len()), "{} failures", a.len());
    }

    #[test]
    fn rate_limit_hits_the_first_of_every_n() {
        let faults = Faults::default().rate_limit_every(3).fail_rate(1.0);
        let verdicts: Vec<_> = (0..6).map(|seq| faults.verdict(seq)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::RateLimited,
                Verdict::ServerError,
                Verdict::ServerError,
                Verdict::RateLimited,
                Verdict::ServerError,
                Verdict::ServerError,
            ]
        );
        assert_eq!(
            faults.quota_exceeded(true).verdict(1),
            Verdict::QuotaExceeded
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        let secs = |d| Faults::default().retry_after(d).retry_after_secs();
        assert_eq!(secs(Duration::from_secs(3)), 3);
        assert_eq!(secs(Duration::from_millis(1500)), 2);
        assert_eq!(secs(Duration::ZERO), 0);
    }
}
