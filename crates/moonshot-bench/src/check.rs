//! `moonshot-bench check`: every group once at tiny sizes, every contender, no timings and no
//! pipeline build: whether each contender still gets the right answer, so that the benchmark
//! cannot rot unnoticed between its runs. Each case runs the way its group runs it (its own
//! server process, its own case process), so the plumbing is checked too.

use crate::{BenchError, Settings};

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

/// Runs every group's check; a group that cannot even start (its server) fails the run there.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let mut report = Report::default();
    crate::retrieve::check(&mut report)?;
    crate::chat::check(&mut report)?;
    crate::content::check(&mut report)?;
    crate::upload::check(&mut report)?;
    crate::stream::check(&mut report)?;
    crate::pipeline::check(&mut report, settings)?;
    report.verdict()
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
}
