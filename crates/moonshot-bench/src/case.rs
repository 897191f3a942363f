//! One measured case in a process of its own: the frame every such case shares (peak reset
//! after setup, repeats, the figures printed as one line) and the parent's side that starts the
//! child and reads that line back.

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::ValueEnum;

use crate::BenchError;
use crate::procfs;
use crate::server::API_KEY;

/// What one repeat of a case did: how many units (bytes, chunks) it moved, and, for a stream,
/// how long the first unit took to arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repeat {
    /// Bytes or chunks.
    pub units: u64,
    /// From the start of the request to the first unit, when the case measures it.
    pub first: Option<Duration>,
}

/// What a case prints: units moved, time taken, resident memory after setup, its peak during
/// the first repeat, its peak over all repeats and, for streams, the median time to the first
/// unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseOutcome {
    /// Bytes or chunks, over all repeats.
    pub units: u64,
    /// Wall time of all repeats.
    pub seconds: f64,
    /// Resident size after setup, in KiB.
    pub baseline_kib: u64,
    /// The peak of the first repeat: what one body or stream costs.
    pub peak_kib: u64,
    /// The peak over every repeat, which adds what the allocator keeps between repeats.
    pub peak_all_kib: u64,
    /// The median over the repeats of the time to the first unit, in seconds.
    pub first_seconds: Option<f64>,
    /// The process's CPU time over all repeats, every thread's, in seconds.
    pub cpu_seconds: f64,
}

/// Bytes per MB, as sizes and figures are given.
pub const MB: f64 = 1_000_000.0;

impl CaseOutcome {
    /// The line the child prints.
    pub fn to_line(self) -> String {
        let mut line = format!(
            "units={} seconds={} baseline_kib={} peak_kib={} peak_all_kib={} cpu_seconds={}",
            self.units,
            self.seconds,
            self.baseline_kib,
            self.peak_kib,
            self.peak_all_kib,
            self.cpu_seconds
        );
        if let Some(first) = self.first_seconds {
            line.push_str(&format!(" first_seconds={first}"));
        }
        line
    }

    /// Reads a line printed by [`CaseOutcome::to_line`].
    pub fn from_line(line: &str) -> Option<Self> {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        Some(Self {
            units: field("units")?.parse().ok()?,
            seconds: field("seconds")?.parse().ok()?,
            baseline_kib: field("baseline_kib")?.parse().ok()?,
            peak_kib: field("peak_kib")?.parse().ok()?,
            peak_all_kib: field("peak_all_kib")?.parse().ok()?,
            first_seconds: match field("first_seconds") {
                Some(first) => Some(first.parse().ok()?),
                None => None,
            },
            cpu_seconds: field("cpu_seconds")?.parse().ok()?,
        })
    }

    /// Units per second: MB/s when the units are bytes and divided by [`MB`].
    pub fn rate(&self) -> f64 {
        self.units as f64 / self.seconds
    }

    /// CPU time per unit, in microseconds: what the work cost, however many threads did it.
    pub fn cpu_us_per_unit(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.units.max(1) as f64
    }

    /// Peak growth of the first repeat, in bytes.
    pub fn growth_bytes(&self) -> f64 {
        self.peak_kib.saturating_sub(self.baseline_kib) as f64 * 1024.0
    }

    /// Peak growth over all repeats, in bytes.
    pub fn growth_all_bytes(&self) -> f64 {
        self.peak_all_kib.saturating_sub(self.baseline_kib) as f64 * 1024.0
    }
}

/// Runs `repeat` `repeats` times after resetting the peak: the caller has set up and warmed up
/// already, so the resident size now is the baseline.
///
/// # Errors
/// The first error of a repeat, or of reading `/proc/self`.
pub async fn measure<F, Fut>(repeats: u32, mut repeat: F) -> Result<CaseOutcome, BenchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Repeat, BenchError>>,
{
    procfs::reset_peak()?;
    let baseline = procfs::resident()?;
    let cpu_before = procfs::cpu_time()?;
    let started = Instant::now();
    let mut units = 0;
    let mut first_peak = None;
    let mut firsts = Vec::new();
    for _ in 0..repeats {
        let done = repeat().await?;
        units += done.units;
        firsts.extend(done.first.map(|f| f.as_secs_f64()));
        if first_peak.is_none() {
            first_peak = Some(procfs::resident()?.peak_kib);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = procfs::cpu_time()?.saturating_sub(cpu_before).as_secs_f64();
    let peak_all_kib = procfs::resident()?.peak_kib;
    Ok(CaseOutcome {
        units,
        seconds,
        baseline_kib: baseline.now_kib,
        peak_kib: first_peak.unwrap_or(peak_all_kib),
        peak_all_kib,
        first_seconds: crate::stats::Summary::of(&firsts).map(|s| s.median),
        cpu_seconds,
    })
}

/// The clients the cases compare, for one server.
pub struct ClientPair {
    /// The server's base URL, for the raw client's requests.
    pub base_url: String,
    /// A plain reqwest client: the baseline.
    pub raw: reqwest::Client,
    /// The facade, with its defaults.
    pub facade: moonshot::Client,
    /// async-openai with its defaults, its base URL the server's `/v1`, as users point it at
    /// Moonshot.
    pub async_openai: async_openai::Client<async_openai::config::OpenAIConfig>,
}

impl ClientPair {
    /// Both clients for the server at `base_url`.
    ///
    /// # Errors
    /// When either client cannot be built.
    pub fn new(base_url: &str) -> Result<Self, BenchError> {
        Ok(Self {
            base_url: base_url.to_owned(),
            raw: reqwest::Client::new(),
            facade: moonshot::Client::builder()
                .api_key(API_KEY)
                .base_url(base_url)
                .build()?,
            async_openai: async_openai(base_url),
        })
    }
}

/// async-openai with its defaults, pointed at the server at `base_url` as users point it at
/// Moonshot: the key, and `/v1` in the base URL.
pub fn async_openai(base_url: &str) -> async_openai::Client<async_openai::config::OpenAIConfig> {
    async_openai::Client::with_config(
        async_openai::config::OpenAIConfig::new()
            .with_api_key(API_KEY)
            .with_api_base(format!("{base_url}/v1")),
    )
}

/// A contender's value on a case's command line.
pub fn arg(contender: impl ValueEnum) -> String {
    contender
        .to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default()
}

/// Runs this binary with `args` (a hidden case subcommand) and reads the line it prints.
///
/// # Errors
/// When the child cannot start, fails (its stderr is quoted) or prints no figures.
pub fn spawn(args: &[String]) -> Result<CaseOutcome, BenchError> {
    let output = Command::new(std::env::current_exe()?).args(args).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    CaseOutcome::from_line(stdout.trim())
        .ok_or_else(|| format!("`{}` printed {stdout:?}", args.join(" ")).into())
}

/// The order in which round `round` runs `contenders` cases: each round starts one further
/// along, so that no contender always runs first or last.
pub fn rotation(round: usize, contenders: usize) -> impl Iterator<Item = usize> {
    (0..contenders).map(move |k| (round + k) % contenders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines_round_trip() {
        let outcome = CaseOutcome {
            units: 2_000_000,
            seconds: 0.5,
            baseline_kib: 10_000,
            peak_kib: 12_000,
            peak_all_kib: 13_000,
            first_seconds: None,
            cpu_seconds: 0.25,
        };
        assert_eq!(CaseOutcome::from_line(&outcome.to_line()), Some(outcome));
        assert_eq!(outcome.rate(), 4_000_000.0);
        assert_eq!(outcome.growth_bytes(), 2000.0 * 1024.0);
        assert_eq!(outcome.growth_all_bytes(), 3000.0 * 1024.0);
        assert_eq!(outcome.cpu_us_per_unit(), 0.125);
        let stream = CaseOutcome {
            first_seconds: Some(0.000_25),
            ..outcome
        };
        assert_eq!(CaseOutcome::from_line(&stream.to_line()), Some(stream));
        assert_eq!(CaseOutcome::from_line("units=1"), None);
    }

    #[test]
    fn every_contender_runs_once_per_round_and_the_start_moves() {
        let orders: Vec<Vec<usize>> = (0..3).map(|r| rotation(r, 3).collect()).collect();
        assert_eq!(orders, [[0, 1, 2], [1, 2, 0], [2, 0, 1]]);
    }
}
