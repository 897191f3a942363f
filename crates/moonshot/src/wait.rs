//! Waiting for a resource to change: look at it, pause, look again, until it is done or a
//! deadline passes. Files being processed and batches running are waited for this way.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::error::Error;

/// How a wait paces its looks: pauses from `first_pause`, doubling up to `max_pause`, for at
/// most `deadline` in all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    deadline: Duration,
    first_pause: Duration,
    max_pause: Duration,
}

impl Wait {
    /// A wait of at most `deadline`; a zero deadline is refused, with `advice` saying what to
    /// give instead.
    pub(crate) fn new(
        deadline: Duration,
        first_pause: Duration,
        max_pause: Duration,
        advice: &str,
    ) -> Result<Self, Error> {
        if deadline.is_zero() {
            return Err(Error::InvalidInput {
                name: "deadline",
                reason: format!("it is zero: {advice}"),
            });
        }
        Ok(Self {
            deadline,
            first_pause,
            max_pause,
        })
    }

    /// Calls `look` until it breaks with the wait's result (or fails); when the deadline passes
    /// first, returns what `timed_out` makes of the last value seen and the time waited. The
    /// last pause is cut to the deadline, so a wait never overshoots it by a whole pause.
    pub(crate) async fn until<T, R>(
        self,
        mut look: impl AsyncFnMut() -> Result<ControlFlow<R, T>, Error>,
        timed_out: impl FnOnce(T, Duration) -> Error,
    ) -> Result<R, Error> {
        let started = Instant::now();
        let mut pause = self.first_pause;
        loop {
            let seen = match look().await? {
                ControlFlow::Break(done) => return Ok(done),
                ControlFlow::Continue(seen) => seen,
            };
            let waited = started.elapsed();
            let Some(left) = self.deadline.checked_sub(waited).filter(|l| !l.is_zero()) else {
                return Err(timed_out(seen, waited));
            };
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(self.max_pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(deadline_ms: u64) -> Result<Wait, Error> {
        Wait::new(
            Duration::from_millis(deadline_ms),
            Duration::from_millis(100),
            Duration::from_millis(150),
            "give it time",
        )
    }

    #[tokio::test]
    async fn a_wait_stops_at_its_deadline_with_the_last_value_seen() {
        let mut looks = 0;
        let error = wait(400)
            .expect("a deadline")
            .until(
                async || {
                    looks += 1;
                    Ok(ControlFlow::<(), _>::Continue(looks))
                },
                |last, waited| {
                    Error::Configuration(format!("{last} {}", waited.as_millis() >= 400))
                },
            )
            .await
            .expect_err("never done");
        // Looks at 0, 100, 250 (pauses doubling up to 150) and 400 ms (the last pause cut).
        assert_eq!(looks, 4);
        assert_eq!(error.to_string(), "configuration error: 4 true");
    }

    #[tokio::test]
    async fn a_wait_returns_what_the_look_that_ended_it_found() {
        let mut looks = 0;
        let done = wait(10_000)
            .expect("a deadline")
            .until(
                async || {
                    looks += 1;
                    Ok(if looks == 2 {
                        ControlFlow::Break("done")
                    } else {
                        ControlFlow::Continue(())
                    })
                },
                |(), _| Error::Configuration("timed out".to_owned()),
            )
            .await
            .expect("done on the second look");
        assert_eq!((done, looks), ("done", 2));
    }

    #[test]
    fn a_zero_deadline_is_refused_with_advice() {
        let error = wait(0).expect_err("zero");
        assert_eq!(
            error.to_string(),
            "invalid deadline: it is zero: give it time"
        );
    }
}
