//! Downloads one page or index, with a timeout and retries.

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use backon::Retryable as _;

/// The longest `Retry-After` a fetch waits for; a server asking for more fails the page.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The largest page or index a fetch reads: far above any docs page, far below what would strain
/// memory.
pub(super) const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// A downloaded text and where it came from.
pub(super) struct Downloaded {
    /// The text.
    pub(super) text: String,
    /// The URL it was read from, after redirects.
    pub(super) url: String,
}

/// Downloads pages with a timeout and retries.
pub(super) struct Downloader {
    pub(super) client: reqwest::Client,
    pub(super) timeout: Duration,
    pub(super) retries: u32,
}

/// What went wrong with one attempt, and whether (and when) another may help.
struct Failure {
    detail: String,
    retryable: bool,
    /// The wait the server asked for (`Retry-After`).
    retry_after: Option<Duration>,
}

impl Failure {
    /// What went wrong, with the attempts made and, when the server asked for a longer wait than
    /// is waited for while retries were left, that.
    fn explained(self, attempts: u32, retries: u32) -> String {
        let mut notes = Vec::new();
        if let Some(asked) = self
            .retry_after
            .filter(|asked| self.retryable && *asked > MAX_RETRY_AFTER && attempts <= retries)
        {
            let asked = match asked {
                Duration::MAX => "longer than can be waited".to_owned(),
                asked => format!("after {} s", asked.as_secs()),
            };
            notes.push(format!(
                "the server asked to retry {asked}, more than the {} s this command waits",
                MAX_RETRY_AFTER.as_secs()
            ));
        }
        if attempts > 1 {
            notes.push(format!("after {attempts} attempts"));
        }
        if notes.is_empty() {
            self.detail
        } else {
            format!("{} ({})", self.detail, notes.join(", "))
        }
    }
}

impl Downloader {
    /// The text at `url`, after up to `retries` extra attempts on failures worth retrying.
    ///
    /// # Errors
    /// What went wrong with the last attempt, and how many were made; a text larger than
    /// [`MAX_PAGE_BYTES`] is not retried.
    pub(super) async fn get(&self, url: &str) -> Result<Downloaded, String> {
        let attempts = Cell::new(0_u32);
        // 0.5 s, 1 s, 2 s... up to 8 s, as HTTP clients commonly pause, unless the server asks.
        let pauses = (0..self.retries).map(|n| Duration::from_millis(500 << n.min(4)));
        (|| {
            attempts.set(attempts.get() + 1);
            self.get_once(url)
        })
        .retry(pauses)
        .sleep(tokio::time::sleep)
        .when(|failure: &Failure| failure.retryable)
        .adjust(|failure, pause| match failure.retry_after {
            Some(asked) if asked > MAX_RETRY_AFTER => None,
            Some(asked) => pause.map(|_| asked),
            None => pause,
        })
        .await
        .map_err(|failure| failure.explained(attempts.get(), self.retries))
    }

    /// One attempt: the text, or what went wrong.
    async fn get_once(&self, url: &str) -> Result<Downloaded, Failure> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, SystemTime::now()));
            return Err(Failure {
                detail: format!("HTTP {status}"),
                retryable: status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error(),
                retry_after,
            });
        }
        let read_from = response.url().to_string();
        let content = |problem: &str| {
            let redirected = if read_from == url {
                String::new()
            } else {
                format!(" (redirected to {read_from})")
            };
            Failure {
                detail: format!("{problem}{redirected}"),
                retryable: false,
                retry_after: None,
            }
        };
        let too_large = || {
            content(&format!(
                "the page is larger than {} MiB, the most a fetch reads: check that the URL \
                 names one docs page",
                MAX_PAGE_BYTES >> 20
            ))
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > MAX_PAGE_BYTES as u64 {
            return Err(too_large());
        }
        // Read as it arrives, so that a body larger than announced (or not announced) stops at
        // the limit; `chunk` fails on a body cut short of its `Content-Length`.
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_PAGE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| content("the page is not UTF-8 text"))?;
        Ok(Downloaded {
            text,
            url: read_from,
        })
    }

    fn transport(&self, error: &reqwest::Error) -> Failure {
        if error.is_timeout() {
            return Failure {
                detail: format!("timed out after {:?}", self.timeout),
                retryable: true,
                retry_after: None,
            };
        }
        // The URL is already in the message around this one.
        let url = error
            .url()
            .map(|u| format!(" for url ({u})"))
            .unwrap_or_default();
        let mut detail = error.to_string().replace(&url, "");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let _ = write!(detail, ": {cause}");
            source = cause.source();
        }
        // Refused connections, resets and bodies cut short are all worth another attempt.
        Failure {
            detail,
            retryable: true,
            retry_after: None,
        }
    }
}

/// The wait a `Retry-After` value asks for: whole seconds or an HTTP date. A number of seconds
/// too large to represent is the longest wait there is, not no wait at all.
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retry_after_as_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::MAX)
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }
}
