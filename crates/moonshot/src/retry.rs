//! When and how long to wait before trying a failed call again.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// How failed calls are retried.
///
/// Retried: timeouts, connection failures, 408, 409, 429 (but never a used-up quota) and 5xx;
/// see [`Error::is_retryable`](crate::Error::is_retryable). The wait before retry `n` (from 0)
/// is `min(initial_delay * 2^n, max_delay)` times a random factor in `[0.75, 1]`, unless the
/// server said how long to wait (`retry-after-ms`, `Retry-After` in seconds or as an HTTP date,
/// or Moonshot's "please try again after N seconds"): then that. A wait longer than
/// `max_retry_after` is not slept: the error is returned at once.
///
/// ```
/// use std::time::Duration;
/// let policy = moonshot::RetryPolicy::default().max_retries(5).max_delay(Duration::from_secs(4));
/// assert_eq!(policy.retries(), 5);
/// assert_eq!(moonshot::RetryPolicy::none().retries(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 2 retries, waits from 0.5 s doubling up to 8 s, server-asked waits up to 60 s.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is tried once.
    pub fn none() -> Self {
        Self::default().max_retries(0)
    }

    /// Extra attempts after the first (not the total).
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry, doubled for each next one.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest computed wait.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest wait the server may ask for; asked for more, the error is returned instead.
    #[must_use]
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// The number of retries.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest wait the server may ask for.
    pub fn retry_after_limit(&self) -> Duration {
        self.max_retry_after
    }

    /// The computed waits, one per retry, with jitter.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin + use<> {
        let (initial, max) = (self.initial_delay, self.max_delay);
        (0..self.max_retries).map(move |n| {
            let exponential = initial.saturating_mul(2u32.saturating_pow(n)).min(max);
            exponential.mul_f64(1.0 - 0.25 * fastrand::f64())
        })
    }
}

/// The wait the server asked for, from `retry-after-ms`, `Retry-After` (seconds or an HTTP
/// date), or Moonshot's message ("... please try again after 3 seconds"), in that order.
pub(crate) fn requested_wait(
    headers: &HeaderMap,
    message: &str,
    now: SystemTime,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    if let Some(value) = header("retry-after") {
        if let Ok(asked) = value.parse::<f64>() {
            return seconds(asked);
        }
        if let Ok(date) = httpdate::parse_http_date(value) {
            return Some(date.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    seconds_in_message(message)
}

/// "please try again after 3 seconds" -> 3 s.
fn seconds_in_message(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("try again after")? + "try again after".len()..];
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let asked: f64 = number.parse().ok()?;
    rest.trim_start()[number.len()..]
        .trim_start()
        .starts_with("sec")
        .then_some(())?;
    seconds(asked)
}

/// A wait of `asked` seconds; one too long to represent is the longest wait there is, which any
/// limit refuses, not no wait at all. Negative and NaN waits are no answer.
fn seconds(asked: f64) -> Option<Duration> {
    (asked >= 0.0).then(|| Duration::try_from_secs_f64(asked).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    reqwest::header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_in_range() {
        let policy = RetryPolicy::default().max_retries(6);
        let delays: Vec<Duration> = policy.delays().collect();
        assert_eq!(delays.len(), 6);
        let nominal = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0];
        for (delay, nominal) in delays.iter().zip(nominal) {
            let secs = delay.as_secs_f64();
            assert!(
                secs <= nominal && secs >= nominal * 0.75,
                "{secs} for {nominal}"
            );
        }
        assert_eq!(RetryPolicy::none().delays().count(), 0);
    }

    #[test]
    fn retry_after_forms_in_order_of_precedence() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            requested_wait(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
                "",
                now
            ),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "2")]), "", now),
            Some(Duration::from_secs(2))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        let mut map = HeaderMap::new();
        map.insert("retry-after", HeaderValue::from_str(&date).expect("header"));
        assert_eq!(requested_wait(&map, "", now), Some(Duration::from_secs(7)));
        assert_eq!(
            requested_wait(
                &HeaderMap::new(),
                "Rate limit reached, please try again after 3 seconds",
                now
            ),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            requested_wait(&HeaderMap::new(), "try again after lunch", now),
            None
        );
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "soon")]), "", now),
            None
        );
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "-1")]), "", now),
            None
        );
    }

    #[test]
    fn a_wait_too_long_to_represent_is_the_longest_not_none() {
        let now = SystemTime::UNIX_EPOCH;
        for (name, value) in [
            ("retry-after", "18446744073709551615"),
            ("retry-after", "1e300"),
            ("retry-after-ms", "1e300"),
        ] {
            assert_eq!(
                requested_wait(&headers(&[(name, value)]), "", now),
                Some(Duration::MAX),
                "{name}: {value}"
            );
        }
    }
}
