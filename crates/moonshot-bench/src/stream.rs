//! Streamed chat answers: chunks per second, time to the first chunk and peak memory of the
//! facade's `chat().stream` against raw reqwest + `eventsource-stream` + serde_json decoding the
//! same typed chunks, at four stream lengths, each case in a process of its own.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use eventsource_stream::Eventsource as _;
use futures::StreamExt as _;
use moonshot::chat::ChatRequest;
use moonshot::types::ChatCompletionChunk;

use crate::case::{self, CaseOutcome, ClientPair, MB, Repeat};
use crate::report::{Report, pass, rounds_ahead};
use crate::server::{API_KEY, ServerProcess};
use crate::sink::DEFAULT_CHUNKS;
use crate::stats::{Summary, paired_ratios};
use crate::{BenchError, Settings};

/// The stream lengths measured.
const LENGTHS: [u64; 4] = [100, 1_000, 10_000, 100_000];
/// The length the first-chunk target is read at: a typical answer's, short enough that its
/// processes stream many answers, so its per-process median first chunk is steady.
const FIRST_CHUNK_LENGTH: u64 = 1_000;
/// The targets: the facade's chunks per second at least this share of raw's at every length,
/// its first chunk at most this much later than raw's.
const THROUGHPUT_TARGET: f64 = 0.95;
const FIRST_CHUNK_LIMIT: Duration = Duration::from_millis(1);

/// What reads the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamReader {
    /// reqwest's `bytes_stream`, `eventsource-stream`, and `serde_json` into
    /// `ChatCompletionChunk`, by hand.
    Raw,
    /// `moonshot::chat::Chat::stream`, read to its end.
    Facade,
    /// async-openai's `chat().create_stream`, read to its end.
    AsyncOpenai,
}

impl StreamReader {
    /// In table order, the baseline first.
    const ALL: [Self; 3] = [Self::Raw, Self::Facade, Self::AsyncOpenai];

    fn label(self) -> &'static str {
        match self {
            Self::Raw => "raw reqwest + eventsource-stream + serde_json",
            Self::Facade => "facade `chat().stream()`",
            Self::AsyncOpenai => "async-openai `chat().create_stream()`",
        }
    }
}

/// One case, run by the hidden `stream-case` subcommand in a process of its own.
#[derive(Debug, Clone, Args)]
pub struct CaseArgs {
    /// The sink's base URL.
    #[arg(long)]
    base_url: String,
    /// What reads.
    #[arg(long, value_enum)]
    reader: StreamReader,
    /// The answer's length in chunks.
    #[arg(long)]
    chunks: u64,
    /// How many answers are streamed, one after another.
    #[arg(long, default_value_t = 1)]
    repeats: u32,
    /// Microseconds of work the reader does on each chunk (a busy loop), as a program that
    /// prints or forwards each chunk does; 0 reads as fast as possible.
    #[arg(long, default_value_t = 0)]
    work_us: u64,
}

/// The request both readers send: the answer's length is its `max_completion_tokens`, one chunk
/// per token.
fn request(chunks: u64) -> ChatRequest {
    ChatRequest::new("moonshot-v1-8k")
        .user("Tell me a long story.")
        .max_completion_tokens(u32::try_from(chunks).unwrap_or(u32::MAX))
}

/// The clients a case may use.
struct Readers {
    clients: ClientPair,
}

impl Readers {
    /// Streams one answer of `chunks` chunks to its end, doing `work` on each; fails unless
    /// every chunk arrived.
    async fn read(
        &self,
        reader: StreamReader,
        chunks: u64,
        work: Duration,
    ) -> Result<Repeat, BenchError> {
        let started = Instant::now();
        let mut first = None;
        let mut read = 0u64;
        let mut count = |chunk: ChatCompletionChunk| {
            black_box(chunk);
            first.get_or_insert_with(|| started.elapsed());
            read += 1;
            busy(work);
        };
        match reader {
            StreamReader::Raw => {
                let mut body = request(chunks).into_request();
                body.stream = Some(true);
                let response = self
                    .clients
                    .raw
                    .post(format!("{}/v1/chat/completions", self.clients.base_url))
                    .bearer_auth(API_KEY)
                    .json(&body)
                    .send()
                    .await?
                    .error_for_status()?;
                let mut events = response.bytes_stream().eventsource();
                let mut done = false;
                while let Some(event) = events.next().await {
                    let event = event?;
                    if event.data == "[DONE]" {
                        done = true;
                        break;
                    }
                    count(serde_json::from_str(&event.data)?);
                }
                if !done {
                    return Err("the stream ended without [DONE]".into());
                }
            }
            StreamReader::Facade => {
                let mut stream = self.clients.facade.chat().stream(request(chunks)).await?;
                while let Some(chunk) = stream.next().await {
                    count(chunk?);
                }
            }
            StreamReader::AsyncOpenai => {
                // The same request, in async-openai's type.
                let body = serde_json::to_value(request(chunks).as_request())?;
                let body = serde_json::from_value(body)?;
                let mut stream = self.clients.async_openai.chat().create_stream(body).await?;
                while let Some(chunk) = stream.next().await {
                    black_box(chunk?);
                    first.get_or_insert_with(|| started.elapsed());
                    read += 1;
                    busy(work);
                }
            }
        }
        if read != chunks {
            return Err(format!("read {read} chunks, expected {chunks}").into());
        }
        Ok(Repeat { units: read, first })
    }
}

/// The hidden `stream-case` subcommand: sets up, streams a short answer, resets the peak,
/// streams the measured answers, prints the figures.
pub fn run_case(args: &CaseArgs) -> Result<(), BenchError> {
    let runtime = crate::runtime()?;
    let outcome = runtime.block_on(async {
        let readers = Readers {
            clients: ClientPair::new(&args.base_url)?,
        };
        let work = Duration::from_micros(args.work_us);
        readers.read(args.reader, DEFAULT_CHUNKS, work).await?;
        case::measure(args.repeats, || {
            readers.read(args.reader, args.chunks, work)
        })
        .await
    })?;
    println!("{}", outcome.to_line());
    Ok(())
}

/// Spins for `work`: a consumer's work on a chunk, done on the reading thread as a program's
/// would be (a sleep would hand the thread back to the runtime).
fn busy(work: Duration) {
    if work.is_zero() {
        return;
    }
    let until = Instant::now() + work;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// How many answers of `chunks` chunks one process streams: enough chunks in all for the
/// timing to stand well above the timer's and the scheduler's noise.
fn repeats(chunks: u64, quick: bool) -> u32 {
    u32::try_from((chunks_per_case(quick) / chunks).max(1)).unwrap_or(u32::MAX)
}

/// The chunks one process streams in all, at least.
fn chunks_per_case(quick: bool) -> u64 {
    if quick { 50_000 } else { 200_000 }
}

/// The answer's length in the check.
const CHECK_CHUNKS: u64 = 20;

/// Streams a short answer once in a case process of each kind, read at full speed and with a
/// little work on each chunk: each reads every chunk (the case fails on any other count, and
/// raw on a stream without `[DONE]`).
pub fn check(report: &mut Report) -> Result<(), BenchError> {
    let server = ServerProcess::start_sink()?;
    for work_us in [0, 1] {
        for reader in StreamReader::ALL {
            let outcome = case::spawn(&[
                "stream-case".to_owned(),
                format!("--base-url={}", server.base_url()),
                format!("--reader={}", case::arg(reader)),
                format!("--chunks={CHECK_CHUNKS}"),
                "--repeats=1".to_owned(),
                format!("--work-us={work_us}"),
            ]);
            report.record(
                &format!(
                    "stream of {CHECK_CHUNKS} chunks, {work_us} µs of work each: {}",
                    reader.label()
                ),
                outcome.map(drop),
            );
        }
    }
    Ok(())
}

/// Runs the stream group and prints its table.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let server = ServerProcess::start_sink()?;
    let rounds = settings.rounds() as usize;
    let cases: Vec<(u64, StreamReader)> = LENGTHS
        .iter()
        .flat_map(|&chunks| StreamReader::ALL.map(|reader| (chunks, reader)))
        .collect();
    let mut outcomes: Vec<Vec<CaseOutcome>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        eprintln!("stream: round {}/{rounds}", round + 1);
        for index in case::rotation(round, cases.len()) {
            let (chunks, reader) = cases[index];
            outcomes[index].push(case::spawn(&[
                "stream-case".to_owned(),
                format!("--base-url={}", server.base_url()),
                format!("--reader={}", case::arg(reader)),
                format!("--chunks={chunks}"),
                format!("--repeats={}", repeats(chunks, settings.quick)),
            ])?);
        }
    }

    println!("## Stream: chunks per second, first chunk, peak memory\n");
    println!(
        "{rounds} rounds, each case in a fresh process, in rotating order; median (min–max). \
         The local server makes each chunk as it sends it (a small content delta; the last \
         chunk stops and carries the usage; then `[DONE]`). Each process streams answers of \
         the same length one after another ({} chunks in all, at least one answer). First \
         chunk: from the request's start to the first typed chunk in hand, the median of the \
         process's answers. Peak growth is the process's peak resident size (VmHWM) during the \
         first answer minus its resident size after setup (runtime, client, one answer of \
         {DEFAULT_CHUNKS} chunks the same way). Ratios and differences are to raw in the same \
         round.\n",
        chunks_per_case(settings.quick)
    );
    println!(
        "| chunks | client | chunks/s | ratio to raw | CPU µs/chunk | first chunk (µs) | first \
         chunk − raw (µs) | peak growth (MB) | growth over all answers (MB) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    let mut facade_growth = Vec::new();
    let per_length = StreamReader::ALL.len();
    for (pair, (cases, outcomes)) in cases
        .chunks(per_length)
        .zip(outcomes.chunks(per_length))
        .enumerate()
    {
        let chunks = LENGTHS[pair];
        let rates: Vec<Vec<f64>> = outcomes
            .iter()
            .map(|o| o.iter().map(CaseOutcome::rate).collect())
            .collect();
        let firsts: Vec<Vec<f64>> = outcomes
            .iter()
            .map(|o| {
                o.iter()
                    .map(|o| o.first_seconds.unwrap_or(f64::NAN) * 1e6)
                    .collect()
            })
            .collect();
        for (index, (_, reader)) in cases.iter().enumerate() {
            let growth = Summary::of_each(&outcomes[index], |o| o.growth_bytes() / MB)?;
            let growth_all = Summary::of_each(&outcomes[index], |o| o.growth_all_bytes() / MB)?;
            let (ratio, later) = if *reader == StreamReader::Raw {
                ("1 (baseline)".to_owned(), "—".to_owned())
            } else {
                let ratios = Summary::of_each(&paired_ratios(&rates[index], &rates[0]), |r| *r)?;
                let later: Vec<f64> = firsts[index]
                    .iter()
                    .zip(&firsts[0])
                    .map(|(f, r)| f - r)
                    .collect();
                let later = Summary::of_each(&later, |d| *d)?;
                if *reader == StreamReader::AsyncOpenai {
                    let facade = index_of(StreamReader::Facade);
                    let paired = paired_ratios(&rates[facade], &rates[index]);
                    let versus = Summary::of_each(&paired, |r| *r)?;
                    verdicts.push(format!(
                        "- facade stream of {chunks} chunks at least as fast as async-openai's: \
                         {} (median {:.1} %; {})",
                        pass(versus.median >= 1.0),
                        versus.median * 100.0,
                        rounds_ahead(&paired)
                    ));
                } else {
                    verdicts.push(format!(
                        "- facade stream of {chunks} chunks: chunks/s ≥ {:.0} % of raw: {} \
                         (median {:.1} %)",
                        THROUGHPUT_TARGET * 100.0,
                        pass(ratios.median >= THROUGHPUT_TARGET),
                        ratios.median * 100.0
                    ));
                }
                if *reader == StreamReader::Facade {
                    facade_growth.push((chunks, growth));
                }
                if chunks == FIRST_CHUNK_LENGTH && *reader == StreamReader::Facade {
                    verdicts.push(format!(
                        "- facade first chunk at most {} µs after raw's ({chunks} chunks): {} \
                         (median {:+.0} µs)",
                        FIRST_CHUNK_LIMIT.as_micros(),
                        pass(later.median <= FIRST_CHUNK_LIMIT.as_secs_f64() * 1e6),
                        later.median
                    ));
                }
                (ratios.show(3).to_string(), later.show(0).to_string())
            };
            println!(
                "| {chunks} | {} | {} | {ratio} | {} | {} | {later} | {} | {} |",
                reader.label(),
                Summary::of_each(&rates[index], |r| *r)?.show(0),
                Summary::of_each(&outcomes[index], CaseOutcome::cpu_us_per_unit)?.show(2),
                Summary::of_each(&firsts[index], |f| *f)?.show(0),
                growth.show(2),
                growth_all.show(2)
            );
        }
    }
    let growth: Vec<String> = facade_growth
        .iter()
        .map(|(chunks, g)| format!("{chunks}: {:.2} MB", g.median))
        .collect();
    verdicts.push(format!(
        "- facade memory flat in the stream's length: peak growth by length {}",
        growth.join(", ")
    ));
    println!("\nTargets:\n{}\n", verdicts.join("\n"));
    slow_consumer(&server, settings)
}

/// The chunks of the answer a slow consumer reads, and the work it does on each.
const SLOW_CHUNKS: u64 = 50_000;
const SLOW_WORK_US: u64 = 20;

/// A reader that does some work on each chunk (printing it, forwarding it): whether the client
/// waits for it (memory flat) or reads ahead into an unbounded queue (memory growing with the
/// answer).
fn slow_consumer(server: &ServerProcess, settings: &Settings) -> Result<(), BenchError> {
    let rounds = settings.rounds().min(3) as usize;
    let mut outcomes: Vec<Vec<CaseOutcome>> = vec![Vec::new(); StreamReader::ALL.len()];
    for round in 0..rounds {
        eprintln!("stream: slow consumer, round {}/{rounds}", round + 1);
        for index in case::rotation(round, StreamReader::ALL.len()) {
            outcomes[index].push(case::spawn(&[
                "stream-case".to_owned(),
                format!("--base-url={}", server.base_url()),
                format!("--reader={}", case::arg(StreamReader::ALL[index])),
                format!("--chunks={SLOW_CHUNKS}"),
                "--repeats=1".to_owned(),
                format!("--work-us={SLOW_WORK_US}"),
            ])?);
        }
    }
    println!("### A consumer that works {SLOW_WORK_US} µs on each chunk\n");
    println!(
        "{rounds} rounds, one answer of {SLOW_CHUNKS} chunks per process; median (min–max). \
         The reader spins {SLOW_WORK_US} µs on each chunk on its own thread, as a program that \
         prints or forwards each chunk works; peak growth as above.\n"
    );
    println!("| client | chunks/s | peak growth (MB) |");
    println!("|---|---:|---:|");
    for (reader, outcomes) in StreamReader::ALL.iter().zip(&outcomes) {
        println!(
            "| {} | {} | {} |",
            reader.label(),
            Summary::of_each(outcomes, CaseOutcome::rate)?.show(0),
            Summary::of_each(outcomes, |o| o.growth_bytes() / MB)?.show(2),
        );
    }
    println!();
    Ok(())
}

fn index_of(reader: StreamReader) -> usize {
    StreamReader::ALL
        .iter()
        .position(|r| *r == reader)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_for_the_length_the_server_reads() {
        let body = serde_json::to_vec(request(100_000).as_request()).expect("JSON");
        assert_eq!(crate::sink::requested_chunks(&body), 100_000);
        request(1).check().expect("a valid request");
    }

    #[test]
    fn every_process_streams_at_least_one_answer() {
        assert_eq!(repeats(1_000, false), 200);
        assert_eq!(repeats(100_000, true), 1);
        assert_eq!(repeats(1_000_000, false), 1);
    }
}
