//! Content throughput and peak memory: the facade's buffered and streaming reads against raw
//! reqwest's, each case run in a fresh process so that its peak is its own.

use std::hint::black_box;

use clap::{Args, ValueEnum};
use tokio::io::AsyncWriteExt as _;

use crate::case::{self, CaseOutcome, ClientPair, MB, Repeat};
use crate::report::{Report, pass, rounds_ahead};
use crate::server::{
    API_KEY, LARGE_BODY, LARGE_ID, SMALL_BODY, SMALL_ID, ServerProcess, TINY_BODY, TINY_ID,
};
use crate::stats::{Summary, paired_ratios};
use crate::{BenchError, Settings};

/// A file with a small content body, read before the measured reads.
const WARM_UP_ID: &str = moonshot_mock::DEMO_PDF_ID;
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
    /// `moonshot::files::Files::content`: the whole body as a `FileContent`.
    FacadeBuffered,
    /// async-openai's `files().content`: the whole body as `Bytes` (it has no streamed read).
    AsyncOpenaiBuffered,
    /// async-openai's `files().content`, then `str::from_utf8`: the body as text, which is what
    /// the facade's `content` returns (a caller of async-openai checks it before using it as
    /// text).
    AsyncOpenaiText,
    /// `reqwest::Response::chunk` in a loop, each chunk written to a sink.
    RawStreaming,
    /// `moonshot::files::Files::content_to_writer` into a sink.
    FacadeStreaming,
}

impl BodyRead {
    /// In table order: each raw read right before the facade's read it is the baseline of.
    const ALL: [Self; 6] = [
        Self::RawBuffered,
        Self::FacadeBuffered,
        Self::AsyncOpenaiBuffered,
        Self::AsyncOpenaiText,
        Self::RawStreaming,
        Self::FacadeStreaming,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::RawBuffered => "raw `text()`",
            Self::FacadeBuffered => "facade `content()`",
            Self::AsyncOpenaiBuffered => "async-openai `files().content()`",
            Self::AsyncOpenaiText => "async-openai `files().content()` + `str::from_utf8`",
            Self::RawStreaming => "raw `chunk()` loop",
            Self::FacadeStreaming => "facade `content_to_writer()`",
        }
    }

    fn baseline(self) -> Self {
        match self {
            Self::RawBuffered
            | Self::FacadeBuffered
            | Self::AsyncOpenaiBuffered
            | Self::AsyncOpenaiText => Self::RawBuffered,
            Self::RawStreaming | Self::FacadeStreaming => Self::RawStreaming,
        }
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

/// The clients a case may use.
struct Readers {
    clients: ClientPair,
}

impl Readers {
    /// Reads a small content body (a few KB) the same way, so that what any read costs once per
    /// process (the connection, its buffers, the allocator's per-thread arenas) belongs to the
    /// baseline rather than to the body measured.
    async fn warm_up(&self, read: BodyRead) -> Result<(), BenchError> {
        self.read(read, WARM_UP_ID).await.map(drop)
    }

    /// Reads the content of `file_id` once; returns its length.
    async fn read(&self, read: BodyRead, file_id: &str) -> Result<u64, BenchError> {
        let raw_response = || async {
            let url = format!("{}/v1/files/{file_id}/content", self.clients.base_url);
            let response = self
                .clients
                .raw
                .get(url)
                .bearer_auth(API_KEY)
                .send()
                .await?;
            Ok::<_, BenchError>(response.error_for_status()?)
        };
        let mut sink = tokio::io::sink();
        Ok(match read {
            BodyRead::RawBuffered => {
                let text = raw_response().await?.text().await?;
                black_box(text.as_str()).len() as u64
            }
            BodyRead::FacadeBuffered => {
                let content = self.clients.facade.files().content(file_id).await?;
                black_box(content.as_str()).len() as u64
            }
            BodyRead::AsyncOpenaiBuffered => {
                let bytes = self.clients.async_openai.files().content(file_id).await?;
                black_box(&bytes[..]).len() as u64
            }
            BodyRead::AsyncOpenaiText => {
                let bytes = self.clients.async_openai.files().content(file_id).await?;
                let text = std::str::from_utf8(&bytes)?;
                black_box(text).len() as u64
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
                self.clients
                    .facade
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
        let readers = Readers {
            clients: ClientPair::new(&args.base_url)?,
        };
        readers.warm_up(args.read).await?;
        case::measure(args.repeats, || async {
            let read = readers.read(args.read, &args.file_id).await?;
            if read != args.size {
                return Err(format!("read {read} bytes, expected {}", args.size).into());
            }
            Ok(Repeat {
                units: read,
                first: None,
            })
        })
        .await
    })?;
    println!("{}", outcome.to_line());
    Ok(())
}

/// Runs one case in a child process.
fn spawn_case(base_url: &str, body: &Body, read: BodyRead) -> Result<CaseOutcome, BenchError> {
    case::spawn(&[
        "content-case".to_owned(),
        format!("--base-url={base_url}"),
        format!("--file-id={}", body.id),
        format!("--size={}", body.size),
        format!("--read={}", case::arg(read)),
        format!("--repeats={}", body.repeats),
    ])
}

/// Reads the 1 MB body once in a case process of each kind: each reads every byte (the case
/// fails on any other length).
pub fn check(report: &mut Report) -> Result<(), BenchError> {
    let server = ServerProcess::start()?;
    let body = Body {
        id: SMALL_ID,
        size: SMALL_BODY,
        label: "1 MB",
        repeats: 1,
    };
    for read in BodyRead::ALL {
        let outcome = spawn_case(server.base_url(), &body, read).map(drop);
        report.record(
            &format!("content {}: {}", body.label, read.label()),
            outcome,
        );
    }
    Ok(())
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
            id: TINY_ID,
            size: TINY_BODY,
            label: "1 KB",
            repeats: if settings.quick { 2_000 } else { 5_000 },
        },
        Body {
            id: SMALL_ID,
            size: SMALL_BODY,
            label: "1 MB",
            repeats: if settings.quick { 100 } else { 300 },
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
         the last column is the same over every read of the case (1 KB: {} reads, 1 MB: {}, \
         100 MB: {}), \
         which adds what the allocator keeps between reads. Ratios are to the raw read of the \
         same kind in the same round.\n",
        bodies[0].repeats, bodies[1].repeats, bodies[2].repeats
    );
    println!(
        "| body | read | MB/s | ratio to raw | peak growth (MB) | growth / body | \
         growth over all reads (MB) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    for body in &bodies {
        let mut outcomes: [Vec<CaseOutcome>; BodyRead::ALL.len()] = Default::default();
        for round in 0..rounds {
            eprintln!("content: {}, round {}/{rounds}", body.label, round + 1);
            for index in case::rotation(round, BodyRead::ALL.len()) {
                outcomes[index].push(spawn_case(server.base_url(), body, BodyRead::ALL[index])?);
            }
        }
        let throughput = |read: BodyRead| -> Vec<f64> {
            outcomes[index_of(read)]
                .iter()
                .map(|o| o.rate() / MB)
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
                        for (peer, what) in [
                            (BodyRead::AsyncOpenaiBuffered, "async-openai's bytes"),
                            (
                                BodyRead::AsyncOpenaiText,
                                "async-openai's bytes checked as text",
                            ),
                        ] {
                            let paired = paired_ratios(&throughput(read), &throughput(peer));
                            let versus = Summary::of(&paired).ok_or("no samples")?;
                            verdicts.push(format!(
                                "- facade buffered {}: at least as fast as {what}: {} \
                                 (median {:.1} %; {})",
                                body.label,
                                pass(versus.median >= 1.0),
                                versus.median * 100.0,
                                rounds_ahead(&paired)
                            ));
                        }
                        // Resident sizes move by pages: a ratio to a 1 KB body means nothing.
                        if body.size >= SMALL_BODY {
                            verdicts.push(format!(
                                "- facade buffered {}: peak growth ≤ {BUFFERED_GROWTH_FACTOR} × \
                                 body: {} (worst {:.2} ×)",
                                body.label,
                                pass(per_body.max <= BUFFERED_GROWTH_FACTOR),
                                per_body.max
                            ));
                        }
                    }
                    _ => {}
                }
                ratios.show(3).to_string()
            };
            println!(
                "| {} | {} | {} | {ratio} | {} | {} | {} |",
                body.label,
                read.label(),
                // A 1 KB body reads at a few MB/s: whole numbers would hide the differences.
                mb_s.show(if mb_s.median < 100.0 { 2 } else { 0 }),
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
    fn each_facade_read_has_a_raw_baseline() {
        for read in BodyRead::ALL {
            assert!(matches!(
                read.baseline(),
                BodyRead::RawBuffered | BodyRead::RawStreaming
            ));
            assert!(!case::arg(read).is_empty());
        }
    }
}
