//! Retrieve throughput: raw reqwest + serde_json, the generated client and the facade, each
//! with one shared client, at concurrency 1 and 64.
//!
//! With `--breakdown`, three more contenders each add one of the facade's layers to a plain
//! client, so the table shows what each layer costs.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moonshot_api::hooks::CallContext;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use tokio::task::JoinSet;

use crate::procfs;
use crate::server::{API_KEY, RETRIEVE_ID, ServerProcess};
use crate::stats::{Summary, paired_ratios};
use crate::{BenchError, Settings};

/// The concurrencies measured: one request at a time, and many in flight over one client.
const CONCURRENCIES: [usize; 2] = [1, 64];
/// The facade's throughput target, as a share of raw reqwest's.
const TARGET: f64 = 0.95;
/// The facade's default timeout, which the breakdown's raw client is given too.
const FACADE_TIMEOUT: Duration = Duration::from_secs(60);

/// What sends the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Contender {
    /// reqwest and serde_json by hand: the floor.
    Raw,
    /// `moonshot_api::Client::retrieve_file`.
    Generated,
    /// `moonshot::Client::files().retrieve`, with its default retry policy and timeout.
    Facade,
    /// Breakdown: raw, with the facade's 60 s timeout on the client.
    RawWithTimeout,
    /// Breakdown: the generated client on a plain reqwest client, run in a `CallContext`
    /// (headers added per request, response head kept), as the facade runs a caller's own
    /// client, without the timeout, span or retry loop.
    GeneratedInContext,
    /// Breakdown: the facade with retries turned off.
    FacadeWithoutRetries,
}

impl Contender {
    const MAIN: [Self; 3] = [Self::Raw, Self::Generated, Self::Facade];
    const WITH_BREAKDOWN: [Self; 6] = [
        Self::Raw,
        Self::Generated,
        Self::Facade,
        Self::RawWithTimeout,
        Self::GeneratedInContext,
        Self::FacadeWithoutRetries,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Raw => "raw reqwest + serde_json",
            Self::Generated => "generated (moonshot-api)",
            Self::Facade => "facade (moonshot)",
            Self::RawWithTimeout => "breakdown: raw + 60 s timeout",
            Self::GeneratedInContext => "breakdown: generated in a call context",
            Self::FacadeWithoutRetries => "breakdown: facade, retries off",
        }
    }
}

/// The file object as a raw client decodes it.
#[derive(Debug, serde::Deserialize)]
#[expect(
    dead_code,
    reason = "decoding the fields is what is measured; nothing reads them"
)]
struct RawFileObject {
    id: String,
    object: String,
    bytes: i64,
    created_at: i64,
    filename: String,
    purpose: String,
    status: String,
    #[serde(default)]
    status_details: String,
}

/// One client of each kind, each with its own connection pool.
struct Clients {
    base_url: String,
    raw: reqwest::Client,
    generated: moonshot_api::Client,
    facade: moonshot::Client,
    raw_with_timeout: reqwest::Client,
    /// Without default headers: the context adds them, as the facade's does.
    generated_bare: moonshot_api::Client,
    context: CallContext,
    facade_without_retries: moonshot::Client,
}

impl Clients {
    fn new(base_url: &str) -> Result<Self, BenchError> {
        // The facade sends these two headers; the others send the same, set once per client.
        let mut headers = HeaderMap::new();
        let mut authorization = HeaderValue::try_from(format!("Bearer {API_KEY}"))?;
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(USER_AGENT, HeaderValue::from_static("moonshot-bench"));
        let http = || reqwest::Client::builder().default_headers(headers.clone());
        let facade = || {
            moonshot::Client::builder()
                .api_key(API_KEY)
                .base_url(base_url)
        };
        Ok(Self {
            base_url: base_url.to_owned(),
            raw: http().build()?,
            generated: moonshot_api::Client::new_with_client(base_url, http().build()?),
            facade: facade().build()?,
            raw_with_timeout: http().timeout(FACADE_TIMEOUT).build()?,
            generated_bare: moonshot_api::Client::new_with_client(base_url, reqwest::Client::new()),
            context: CallContext::new(headers.clone(), None),
            facade_without_retries: facade().retry(moonshot::RetryPolicy::none()).build()?,
        })
    }

    async fn retrieve(&self, contender: Contender) -> Result<(), BenchError> {
        match contender {
            Contender::Raw | Contender::RawWithTimeout => {
                let client = match contender {
                    Contender::Raw => &self.raw,
                    _ => &self.raw_with_timeout,
                };
                let url = format!("{}/v1/files/{RETRIEVE_ID}", self.base_url);
                let response = client.get(url).send().await?.error_for_status()?;
                black_box(response.json::<RawFileObject>().await?);
            }
            Contender::Generated => {
                black_box(
                    self.generated
                        .retrieve_file(RETRIEVE_ID)
                        .await?
                        .into_inner(),
                );
            }
            Contender::Facade => {
                black_box(self.facade.files().retrieve(RETRIEVE_ID).await?);
            }
            Contender::GeneratedInContext => {
                let call = self.generated_bare.retrieve_file(RETRIEVE_ID);
                let (result, head) = self.context.clone().run(call).await;
                black_box(head);
                black_box(result?.into_inner());
            }
            Contender::FacadeWithoutRetries => {
                let files = self.facade_without_retries.files();
                black_box(files.retrieve(RETRIEVE_ID).await?);
            }
        }
        Ok(())
    }
}

/// What one contender did in one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Requests completed per second of wall time.
    requests_per_second: f64,
    /// This process's CPU time per request, in microseconds: the client's cost alone, less
    /// sensitive than wall time to whatever else the machine runs.
    cpu_us_per_request: f64,
    /// Requests completed.
    requests: u64,
}

/// Runs `contender` for `time`, with `concurrency` requests in flight.
async fn measure(
    clients: &Arc<Clients>,
    contender: Contender,
    concurrency: usize,
    time: Duration,
) -> Result<Sample, BenchError> {
    let cpu_before = procfs::cpu_time()?;
    let started = Instant::now();
    let deadline = started + time;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let clients = Arc::clone(clients);
        workers.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                clients.retrieve(contender).await?;
                done += 1;
            }
            Ok::<_, BenchError>(done)
        });
    }
    let mut done = 0;
    while let Some(worker) = workers.join_next().await {
        done += worker??;
    }
    let elapsed = started.elapsed();
    let cpu = procfs::cpu_time()?.saturating_sub(cpu_before);
    let requests = done;
    let done = done.max(1) as f64;
    Ok(Sample {
        requests_per_second: done / elapsed.as_secs_f64(),
        cpu_us_per_request: cpu.as_secs_f64() * 1e6 / done,
        requests,
    })
}

/// Runs the retrieve group and prints its table.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let contenders: &[Contender] = if settings.breakdown {
        &Contender::WITH_BREAKDOWN
    } else {
        &Contender::MAIN
    };
    let server = ServerProcess::start()?;
    let runtime = crate::runtime()?;
    let clients = Arc::new(Clients::new(server.base_url())?);
    let rounds = settings.rounds() as usize;
    let time = settings.sample_time();

    eprintln!("retrieve: warming up (connections, allocator, CPU frequency)");
    runtime.block_on(async {
        for &contender in contenders {
            for concurrency in CONCURRENCIES {
                measure(&clients, contender, concurrency, time / 2).await?;
            }
        }
        Ok::<_, BenchError>(())
    })?;

    println!("## Retrieve: `GET /v1/files/{{id}}`, requests per second\n");
    println!(
        "{rounds} rounds of {:.1} s per contender, interleaved; median (min–max). \
         Ratios are to raw reqwest in the same round. CPU is the client process's CPU time \
         per request (the server runs in another process).\n",
        time.as_secs_f64()
    );
    println!("| concurrency | client | req/s | ratio to raw | client CPU µs/request |");
    println!("|---:|---|---:|---:|---:|");
    let mut verdicts = Vec::new();
    for concurrency in CONCURRENCIES {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
        for round in 0..rounds {
            eprintln!(
                "retrieve: concurrency {concurrency}, round {}/{rounds}",
                round + 1
            );
            // Each round starts with a different contender, so none always runs first.
            for k in 0..contenders.len() {
                let index = (round + k) % contenders.len();
                let sample =
                    runtime.block_on(measure(&clients, contenders[index], concurrency, time))?;
                samples[index].push(sample);
            }
        }
        let rps: Vec<Vec<f64>> = samples
            .iter()
            .map(|s| s.iter().map(|s| s.requests_per_second).collect())
            .collect();
        for (index, &contender) in contenders.iter().enumerate() {
            let cpu: Vec<f64> = samples[index]
                .iter()
                .map(|s| s.cpu_us_per_request)
                .collect();
            let cpu = Summary::of(&cpu).ok_or("no samples")?;
            let req_s = Summary::of(&rps[index]).ok_or("no samples")?;
            let ratio = if contender == Contender::Raw {
                "1 (baseline)".to_owned()
            } else {
                let ratios =
                    Summary::of(&paired_ratios(&rps[index], &rps[0])).ok_or("no samples")?;
                if contender == Contender::Facade {
                    verdicts.push(format!(
                        "- facade ≥ {:.0} % of raw at concurrency {concurrency}: {} \
                         (median {:.1} %)",
                        TARGET * 100.0,
                        pass(ratios.median >= TARGET),
                        ratios.median * 100.0
                    ));
                }
                ratios.show(3).to_string()
            };
            println!(
                "| {concurrency} | {} | {} | {ratio} | {} |",
                contender.label(),
                req_s.show(0),
                cpu.show(1)
            );
        }
    }
    println!("\nTargets:\n{}\n", verdicts.join("\n"));
    drop(clients);
    Ok(())
}

/// What the hidden `retrieve-one` subcommand runs.
#[derive(Debug, Clone, clap::Args)]
pub struct OneArgs {
    /// The contender.
    #[arg(long, value_enum)]
    contender: Contender,
    /// Requests in flight.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds to run, after a warm-up of half as long.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

/// The hidden `retrieve-one` subcommand: one contender alone, for a profiler
/// (`perf record`, `strace -c`, `valgrind`) to look at; prints its figures.
pub fn run_one(args: &OneArgs) -> Result<(), BenchError> {
    let server = ServerProcess::start()?;
    let runtime = crate::runtime()?;
    let clients = Arc::new(Clients::new(server.base_url())?);
    let time = Duration::from_secs_f64(args.seconds);
    let (warm_up, sample) = runtime.block_on(async {
        let warm_up = measure(&clients, args.contender, args.concurrency, time / 2).await?;
        let sample = measure(&clients, args.contender, args.concurrency, time).await?;
        Ok::<_, BenchError>((warm_up, sample))
    })?;
    println!(
        "{}: concurrency {}: {} requests in all, {:.0} req/s, {:.1} µs client CPU/request",
        args.contender.label(),
        args.concurrency,
        warm_up.requests + sample.requests,
        sample.requests_per_second,
        sample.cpu_us_per_request
    );
    drop(clients);
    Ok(())
}

/// `met` or `MISSED`, for a target.
pub fn pass(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}
