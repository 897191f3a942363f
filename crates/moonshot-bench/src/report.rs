//! How the groups report: the word for a target met or missed, and the report `check` keeps
//! as each group's checks end. Every group uses these; none of them uses a group.

use crate::BenchError;

/// `met` or `MISSED`, for a target.
pub fn pass(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// How steady a "at least as fast" verdict is: in how many rounds the ratio (contender over
/// peer, within the round) was at least 1, and its spread; e.g. `ahead in 6 of 7 rounds,
/// 97.1–112.0 %`.
pub fn rounds_ahead(ratios: &[f64]) -> String {
    let ahead = ratios.iter().filter(|r| **r >= 1.0).count();
    let (min, max) = ratios
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
            (lo.min(*r), hi.max(*r))
        });
    format!(
        "ahead in {ahead} of {} rounds, {:.1}–{:.1} %",
        ratios.len(),
        min * 100.0,
        max * 100.0
    )
}

/// What the checks found: a line per check as it ends, failures kept for the verdict.
#[derive(Debug, Default)]
pub struct Report {
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    /// Records and prints the outcome of the check `what`.
    pub fn record(&mut self, what: &str, outcome: Result<(), BenchError>) {
        match outcome {
            Ok(()) => {
                println!("ok    {what}");
                self.passed += 1;
            }
            Err(error) => {
                let why = crate::error_chain(&*error).replace('\n', " ");
                println!("FAIL  {what}: {why}");
                self.failed.push(format!("{what}: {why}"));
            }
        }
    }

    /// Ok when every check passed; otherwise an error naming each that failed.
    ///
    /// # Errors
    /// When a check failed.
    pub fn verdict(self) -> Result<(), BenchError> {
        if self.failed.is_empty() {
            println!("all {} checks passed", self.passed);
            return Ok(());
        }
        Err(format!(
            "{} of {} checks failed:\n  {}",
            self.failed.len(),
            self.failed.len() + self.passed,
            self.failed.join("\n  ")
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_fails_the_run_and_is_named() {
        let mut report = Report::default();
        report.record("chat: facade", Ok(()));
        report.record("stream: raw", Err("read 3 chunks, expected 20".into()));
        let error = report.verdict().expect_err("a check failed").to_string();
        assert!(error.starts_with("1 of 2 checks failed"), "{error}");
        assert!(
            error.contains("stream: raw: read 3 chunks, expected 20"),
            "{error}"
        );
        assert!(Report::default().verdict().is_ok());
    }

    #[test]
    fn rounds_ahead_counts_ties_as_ahead_and_shows_the_spread() {
        assert_eq!(
            rounds_ahead(&[0.95, 1.0, 1.12]),
            "ahead in 2 of 3 rounds, 95.0–112.0 %"
        );
    }
}
