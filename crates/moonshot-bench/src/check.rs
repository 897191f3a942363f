//! `moonshot-bench check`: every group once at tiny sizes, every contender, no timings and no
//! pipeline build: whether each contender still gets the right answer, so that the benchmark
//! cannot rot unnoticed between its runs. Each case runs the way its group runs it (its own
//! server process, its own case process), so the plumbing is checked too.

use crate::report::Report;
use crate::{BenchError, Settings};

/// Runs every group's check; a group that cannot even start (its server) fails the run there.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let mut report = Report::default();
    crate::retrieve::check(&mut report)?;
    crate::chat::check(&mut report)?;
    crate::content::check(&mut report)?;
    crate::upload::check(&mut report)?;
    crate::stream::check(&mut report)?;
    crate::limits::check(&mut report)?;
    crate::pipeline::check(&mut report, settings)?;
    report.verdict()
}
