//! Content throughput and peak memory: the facade's buffered and streaming reads against raw
//! reqwest's, each case run in a fresh process so that its peak is its own.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use clap::{Args, ValueEnum};
use tokio::io::AsyncWriteExt as _;

use crate::procfs;
use crate::retrieve::pass;
use crate::server::{API_KEY, LARGE_BODY, LARGE_ID, SMALL_BODY, SMALL_ID, ServerProcess};
use crate::stats::{Summary, paired_ratios};
use crate::{BenchError, Settings};

/// A file with a small content body, read before the measured reads.
const WARM_UP_ID: &str = moonshot_mock::DEMO_PDF_ID;
/// Bytes per MB, as the sizes and figures are given.
const MB: f64 = 1_000_000.0;
/// The streaming targets: peak growth under this many bytes, throughput at least this share of
/// raw streaming.
const STREAMING_GROWTH_LIMIT: f64 = 16.0 * MB;
const STREAMING_THROUGHPUT_TARGET: f64 = 0.90;
/// The buffered target: peak growth at most this many times the body.
const BUFFERED_GROWTH_FACTOR: f64 = 2.5;

/// How a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BodyRead {
    /// `reqwest::Response::text`: the whole body as a `String`.
    RawBuffered,
    /// `moonshot::Files::content`: the whole body as a `FileContent`.
    FacadeBuffered,
    /// `reqwest::Response::chunk` in a loop, each chunk written to a sink.
    RawStreaming,
    /// `moonshot::Files::content_to_writer` into a sink.
    FacadeStreaming,
}

impl BodyRead {
    /// In table order: each raw read right before the facade's read it is the baseline of.
    const ALL: [Self; 4] = [
        Self::RawBuffered,
        Self::FacadeBuffered,
        Self::RawStreaming,
        Self::FacadeStreaming,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::RawBuffered => "raw `text()`",
            Self::FacadeBuffered => "facade `content()`",
            Self::RawStreaming => "raw `chunk()` loop",
            Self::FacadeStreaming => "facade `content_to_writer()`",
        }
    }

    fn baseline(self) -> Self {
        match self {
            Self::RawBuffered | Self::FacadeBuffered => Self::RawBuffered,
            Self::RawStreaming | Self::FacadeStreaming => Self::RawStreaming,
        }
    }

    fn arg(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// One case, run by the hidden `content-case` subcommand in a process of its own.
#[derive(Debug, Clone, Args)]
pub struct CaseArgs {
    /// The mock server's base URL.
    #[arg(long)]
    base_url: String,
    /// The file whose content is read.
    #[arg(long)]
    file_id: String,
    /// The content body's size; a read of any other size fails the case.
    #[arg(long)]
    size: u64,
    /// How the body is read.
    #[arg(long, value_enum)]
    read: BodyRead,
    /// How many times the body is read, one after another.
    #[arg(long, default_value_t = 1)]
    repeats: u32,
}

/// What a case prints: bytes read, time taken, resident memory after setup, its peak during
/// the first read, and its peak over all reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CaseOutcome {
    bytes: u64,
    seconds: f64,
    baseline_kib: u64,
    /// The peak of the first read: what one body costs.
    peak_kib: u64,
    /// The peak over every read, which adds what the allocator keeps between reads.
    peak_all_kib: u64,
}

impl CaseOutcome {
    fn to_line(self) -> String {
        format!(
            "bytes={} seconds={} baseline_kib={} peak_kib={} peak_all_kib={}",
            self.bytes, self.seconds, self.baseline_kib, self.peak_kib, self.peak_all_kib
        )
    }

    fn from_line(line: &str) -> Option<Self> {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        Some(Self {
            bytes: field("bytes")?.parse().ok()?,
            seconds: field("seconds")?.parse().ok()?,
            baseline_kib: field("baseline_kib")?.parse().ok()?,
            peak_kib: field("peak_kib")?.parse().ok()?,
            peak_all_kib: field("peak_all_kib")?.parse().ok()?,
        })
    }

    fn throughput_mb_s(&self) -> f64 {
        self.bytes as f64 / MB / self.seconds
    }

    fn growth_bytes(&self) -> f64 {
        self.peak_kib.saturating_sub(self.baseline_kib) as f64 * 1024.0
    }

    fn growth_all_bytes(&self) -> f64 {
        self.peak_all_kib.saturating_sub(self.baseline_kib) as f64 * 1024.0
    }
}

/// The two clients a case may read with.
struct Readers {
    base_url: String,
    raw: reqwest::Client,
    facade: moonshot::Client,
}

impl Readers {
    fn new(base_url: &str) -> Result<Self, BenchError> {
        Ok(Self {
            base_url: base_url.to_owned(),
            raw: reqwest::Client::new(),
            facade: moonshot::Client::builder()
                .api_key(API_KEY)
                .base_url(base_url)
                .build()?,
        })
    }

    /// Reads a small content body (a few KB) the same way, so that what any read costs once per
    /// process (the connection, its buffers, the allocator's per-thread arenas) belongs to the
    /// baseline rather than to the body measured.
    async fn warm_up(&self, read: BodyRead) -> Result<(), BenchError> {
        self.read(read, WARM_UP_ID).await.map(drop)
    }

    /// Reads the content of `file_id` once; returns its length.
    async fn read(&self, read: BodyRead, file_id: &str) -> Result<u64, BenchError> {
        let raw_response = || async {
            let url = format!("{}/v1/files/{file_id}/content", self.base_url);
            let response = self.raw.get(url).bearer_auth(API_KEY).send().await?;
            Ok::<_, BenchError>(response.error_for_status()?)
        };
        let mut sink = tokio::io::sink();
        Ok(match read {
            BodyRead::RawBuffered => {
                let text = raw_response().await?.text().await?;
                black_box(text.as_str()).len() as u64
            }
            BodyRead::FacadeBuffered => {
                let content = self.facade.files().content(file_id).await?;
                black_box(content.as_str()).len() as u64
            }
            BodyRead::RawStreaming => {
                let mut response = raw_response().await?;
                let mut written = 0u64;
                while let Some(chunk) = response.chunk().await? {
                    sink.write_all(&chunk).await?;
                    written += chunk.len() as u64;
                }
                sink.flush().await?;
                written
            }
            BodyRead::FacadeStreaming => {
                self.facade
                    .files()
                    .content_to_writer(file_id, &mut sink)
                    .await?
            }
        })
    }
}

/// The hidden `content-case` subcommand: sets up, resets the peak, reads, prints the figures.
pub fn run_case(args: &CaseArgs) -> Result<(), BenchError> {
    let runtime = crate::runtime()?;
    let outcome = runtime.block_on(async {
        let readers = Readers::new(&args.base_url)?;
        readers.warm_up(args.read).await?;
        procfs::reset_peak()?;
        let baseline = procfs::resident()?;
        let started = Instant::now();
        let mut bytes = 0;
        let mut first_peak = None;
        for _ in 0..args.repeats {
            let read = readers.read(args.read, &args.file_id).await?;
            if read != args.size {
                return Err(format!("read {read} bytes, expected {}", args.size).into());
            }
            bytes += read;
            if first_peak.is_none() {
                first_peak = Some(procfs::resident()?.peak_kib);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let peak_all_kib = procfs::resident()?.peak_kib;
        Ok::<_, BenchError>(CaseOutcome {
            bytes,
            seconds,
            baseline_kib: baseline.now_kib,
            peak_kib: first_peak.unwrap_or(peak_all_kib),
            peak_all_kib,
        })
    })?;
    println!("{}", outcome.to_line());
    Ok(())
}

/// Runs one case in a child process.
fn spawn_case(base_url: &str, body: &Body, read: BodyRead) -> Result<CaseOutcome, BenchError> {
    let output = Command::new(std::env::current_exe()?)
        .args(["content-case", "--base-url", base_url, "--file-id", body.id])
        .args(["--size", &body.size.to_string(), "--read", &read.arg()])
        .args(["--repeats", &body.repeats.to_string()])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "content case {} of {} failed ({}): {}",
            read.arg(),
            body.id,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    CaseOutcome::from_line(stdout.trim())
        .ok_or_else(|| format!("content case printed {stdout:?}").into())
}

/// A body size and how often one process reads it.
struct Body {
    id: &'static str,
    size: u64,
    label: &'static str,
    /// Enough reads for the timing to be well above the timer's and the scheduler's noise.
    repeats: u32,
}

/// Runs the content group and prints its table.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let server = ServerProcess::start()?;
    let rounds = settings.rounds() as usize;
    let bodies = [
        Body {
            id: SMALL_ID,
            size: SMALL_BODY,
            label: "1 MB",
            repeats: if settings.quick { 10 } else { 30 },
        },
        Body {
            id: LARGE_ID,
            size: LARGE_BODY,
            label: "100 MB",
            repeats: if settings.quick { 1 } else { 2 },
        },
    ];

    println!("## Content: throughput and peak memory\n");
    println!(
        "{rounds} rounds, each case in a fresh process, interleaved; median (min–max). \
         Peak growth is the process's peak resident size (VmHWM) during the first read minus \
         its resident size after setup (runtime, client, one read of a small body the same way); \
         the last column is the same over every read of the case (1 MB: {} reads, 100 MB: {}), \
         which adds what the allocator keeps between reads. Ratios are to the raw read of the \
         same kind in the same round.\n",
        bodies[0].repeats, bodies[1].repeats
    );
    println!(
        "| body | read | MB/s | ratio to raw | peak growth (MB) | growth / body | \
         growth over all reads (MB) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    for body in &bodies {
        let mut outcomes: [Vec<CaseOutcome>; 4] = Default::default();
        for round in 0..rounds {
            eprintln!("content: {}, round {}/{rounds}", body.label, round + 1);
            for k in 0..BodyRead::ALL.len() {
                let index = (round + k) % BodyRead::ALL.len();
                outcomes[index].push(spawn_case(server.base_url(), body, BodyRead::ALL[index])?);
            }
        }
        let throughput = |read: BodyRead| -> Vec<f64> {
            outcomes[index_of(read)]
                .iter()
                .map(CaseOutcome::throughput_mb_s)
                .collect()
        };
        for read in BodyRead::ALL {
            let mb_s = Summary::of(&throughput(read)).ok_or("no samples")?;
            let growth: Vec<f64> = outcomes[index_of(read)]
                .iter()
                .map(CaseOutcome::growth_bytes)
                .collect();
            let growth_mb = Summary::of(&growth.iter().map(|g| g / MB).collect::<Vec<_>>())
                .ok_or("no samples")?;
            let growth_all_mb = Summary::of(
                &outcomes[index_of(read)]
                    .iter()
                    .map(|o| o.growth_all_bytes() / MB)
                    .collect::<Vec<_>>(),
            )
            .ok_or("no samples")?;
            let per_body = Summary::of(
                &growth
                    .iter()
                    .map(|g| g / body.size as f64)
                    .collect::<Vec<_>>(),
            )
            .ok_or("no samples")?;
            let ratio = if read == read.baseline() {
                "1 (baseline)".to_owned()
            } else {
                let ratios = Summary::of(&paired_ratios(
                    &throughput(read),
                    &throughput(read.baseline()),
                ))
                .ok_or("no samples")?;
                match read {
                    BodyRead::FacadeStreaming if body.size == LARGE_BODY => {
                        verdicts.push(format!(
                            "- facade streaming {}: peak growth under 16 MB: {} (worst {:.1} MB); \
                             throughput ≥ {:.0} % of raw streaming: {} (median {:.1} %)",
                            body.label,
                            pass(growth_mb.max * MB < STREAMING_GROWTH_LIMIT),
                            growth_mb.max,
                            STREAMING_THROUGHPUT_TARGET * 100.0,
                            pass(ratios.median >= STREAMING_THROUGHPUT_TARGET),
                            ratios.median * 100.0
                        ));
                    }
                    BodyRead::FacadeBuffered => {
                        verdicts.push(format!(
                            "- facade buffered {}: peak growth ≤ {BUFFERED_GROWTH_FACTOR} × body: \
                             {} (worst {:.2} ×)",
                            body.label,
                            pass(per_body.max <= BUFFERED_GROWTH_FACTOR),
                            per_body.max
                        ));
                    }
                    _ => {}
                }
                ratios.show(3).to_string()
            };
            println!(
                "| {} | {} | {} | {ratio} | {} | {} | {} |",
                body.label,
                read.label(),
                mb_s.show(0),
                growth_mb.show(1),
                per_body.show(2),
                growth_all_mb.show(1)
            );
        }
    }
    println!("\nTargets:\n{}\n", verdicts.join("\n"));
    Ok(())
}

fn index_of(read: BodyRead) -> usize {
    BodyRead::ALL
        .iter()
        .position(|r| *r == read)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines_round_trip() {
        let outcome = CaseOutcome {
            bytes: 2_000_000,
            seconds: 0.5,
            baseline_kib: 10_000,
            peak_kib: 12_000,
            peak_all_kib: 13_000,
        };
        assert_eq!(CaseOutcome::from_line(&outcome.to_line()), Some(outcome));
        assert_eq!(outcome.throughput_mb_s(), 4.0);
        assert_eq!(outcome.growth_bytes(), 2000.0 * 1024.0);
        assert_eq!(outcome.growth_all_bytes(), 3000.0 * 1024.0);
        assert_eq!(CaseOutcome::from_line("bytes=1"), None);
    }

    #[test]
    fn each_facade_read_has_a_raw_baseline() {
        for read in BodyRead::ALL {
            assert!(matches!(
                read.baseline(),
                BodyRead::RawBuffered | BodyRead::RawStreaming
            ));
            assert!(!read.arg().is_empty());
        }
    }
}
