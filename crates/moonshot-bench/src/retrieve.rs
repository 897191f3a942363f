//! Retrieve throughput: raw reqwest + serde_json, the generated client and the facade, each
//! with one shared client, at concurrency 1 and 64; and for comparison
//! raw reqwest configured as the facade is (its timeout), and async-openai (which cannot decode
//! Moonshot's `file-extract` purpose: its row shows the failure). With `--breakdown`, two more
//! contenders each add one of the facade's layers to a plain client, so the table shows what
//! each layer costs.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use moonshot_api::hooks::CallContext;

use crate::report::{Report, pass};
use crate::server::{API_KEY, RETRIEVE_ID, ServerProcess};
use crate::stats::{Summary, paired_ratios};
use crate::throughput::{self, Clients as _};
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
    /// Raw configured as the facade is: its 60 s timeout on the client (the headers are the
    /// same for every contender).
    RawWithTimeout,
    /// Breakdown: the generated client on a plain reqwest client, run in a `CallContext`
    /// (headers added per request, response head kept), as the facade runs a caller's own
    /// client, without the timeout, span or retry loop.
    GeneratedInContext,
    /// Breakdown: the facade with retries turned off.
    FacadeWithoutRetries,
    /// async-openai's `files().retrieve`, its base URL the server's `/v1`.
    AsyncOpenai,
    /// Breakdown: the facade with limits far above the load (concurrency and requests per
    /// minute).
    FacadeWithLimits,
    /// Breakdown: the facade with per-call options (a timeout) made for every call.
    FacadeWithOptions,
}

impl Contender {
    const MAIN: [Self; 5] = [
        Self::Raw,
        Self::RawWithTimeout,
        Self::Generated,
        Self::Facade,
        Self::AsyncOpenai,
    ];
    const WITH_BREAKDOWN: [Self; 9] = [
        Self::Raw,
        Self::RawWithTimeout,
        Self::Generated,
        Self::Facade,
        Self::AsyncOpenai,
        Self::GeneratedInContext,
        Self::FacadeWithoutRetries,
        Self::FacadeWithLimits,
        Self::FacadeWithOptions,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Raw => "raw reqwest + serde_json",
            Self::Generated => "generated (moonshot-api)",
            Self::Facade => "facade (moonshot)",
            Self::RawWithTimeout => "raw configured like the facade (60 s timeout)",
            Self::GeneratedInContext => "breakdown: generated in a call context",
            Self::FacadeWithoutRetries => "breakdown: facade, retries off",
            Self::AsyncOpenai => "async-openai 0.43",
            Self::FacadeWithLimits => "breakdown: facade with limits far above the load",
            Self::FacadeWithOptions => "breakdown: facade with per-call options (a timeout)",
        }
    }
}

/// The file object as a raw client decodes it.
#[derive(Debug, serde::Deserialize)]
#[expect(
    dead_code,
    reason = "decoding the fields is what is measured; only the id is read"
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
    facade_with_limits: moonshot::Client,
    async_openai: async_openai::Client<async_openai::config::OpenAIConfig>,
}

impl Clients {
    fn new(base_url: &str) -> Result<Self, BenchError> {
        // The facade sends these two headers; the others send the same, set once per client.
        let headers = throughput::headers()?;
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
            facade_with_limits: facade()
                .limits(
                    moonshot::limits::Limits::none()
                        .concurrency(10_000)
                        .requests_per_minute(1_000_000_000),
                )
                .build()?,
            async_openai: crate::case::async_openai(base_url),
        })
    }

    /// What listing the files does for each client that can: the facade's and async-openai's.
    async fn list(&self) -> [(&'static str, Result<usize, BenchError>); 2] {
        let facade = self.facade.files().list().await.map(|f| f.len());
        let peer = self.async_openai.files().list().await.map(|f| f.data.len());
        [
            ("facade `files().list()`", facade.map_err(Into::into)),
            ("async-openai `files().list()`", peer.map_err(Into::into)),
        ]
    }

    /// Retrieves the file the way `contender` does; returns the id of the object it decoded.
    async fn fetch(&self, contender: Contender) -> Result<String, BenchError> {
        Ok(match contender {
            Contender::Raw | Contender::RawWithTimeout => {
                let client = match contender {
                    Contender::Raw => &self.raw,
                    _ => &self.raw_with_timeout,
                };
                let url = format!("{}/v1/files/{RETRIEVE_ID}", self.base_url);
                let response = client.get(url).send().await?.error_for_status()?;
                response.json::<RawFileObject>().await?.id
            }
            Contender::Generated => {
                self.generated
                    .retrieve_file(RETRIEVE_ID)
                    .await?
                    .into_inner()
                    .id
            }
            Contender::Facade => self.facade.files().retrieve(RETRIEVE_ID).await?.id,
            Contender::GeneratedInContext => {
                let call = self.generated_bare.retrieve_file(RETRIEVE_ID);
                let (result, head) = self.context.clone().run(call).await;
                black_box(head);
                result?.into_inner().id
            }
            Contender::FacadeWithoutRetries => {
                let files = self.facade_without_retries.files();
                files.retrieve(RETRIEVE_ID).await?.id
            }
            Contender::AsyncOpenai => self.async_openai.files().retrieve(RETRIEVE_ID).await?.id,
            Contender::FacadeWithLimits => {
                let files = self.facade_with_limits.files();
                files.retrieve(RETRIEVE_ID).await?.id
            }
            Contender::FacadeWithOptions => {
                let options = moonshot::CallOptions::new().timeout(FACADE_TIMEOUT);
                let client = self.facade.with_options(options)?;
                client.files().retrieve(RETRIEVE_ID).await?.id
            }
        })
    }
}

impl throughput::Clients for Clients {
    type Contender = Contender;

    async fn send(&self, contender: Contender) -> Result<(), BenchError> {
        black_box(self.fetch(contender).await?);
        Ok(())
    }
}

/// Retrieves the file once through every contender: each decodes the file asked for, except
/// async-openai, which fails on Moonshot's `file-extract` purpose as the table shows.
pub fn check(report: &mut Report) -> Result<(), BenchError> {
    let server = ServerProcess::start()?;
    let runtime = crate::runtime()?;
    let clients = Clients::new(server.base_url())?;
    for contender in Contender::WITH_BREAKDOWN {
        let mut what = format!("retrieve: {}", contender.label());
        let outcome = match runtime.block_on(clients.fetch(contender)) {
            Ok(id) if id == RETRIEVE_ID => Ok(()),
            Ok(id) => Err(format!("decoded file {id:?}, asked for {RETRIEVE_ID:?}").into()),
            Err(error)
                if contender == Contender::AsyncOpenai
                    && one_line(&*error).contains("unknown variant `file-extract`") =>
            {
                what.push_str(" (fails on the `file-extract` purpose, as known)");
                Ok(())
            }
            Err(error) => Err(error),
        };
        report.record(&what, outcome);
    }
    Ok(())
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

    // A contender that cannot retrieve Moonshot's file object is shown failing, not measured.
    let mut failures = Vec::new();
    let mut working = Vec::new();
    for &contender in contenders {
        match runtime.block_on(clients.send(contender)) {
            Ok(()) => working.push(contender),
            Err(error) => failures.push((contender, one_line(&*error))),
        }
    }
    let listed = runtime.block_on(clients.list());
    let contenders = &working[..];

    eprintln!("retrieve: warming up (connections, allocator, CPU frequency)");
    runtime.block_on(throughput::warm_up(
        &clients,
        contenders,
        &CONCURRENCIES,
        time,
    ))?;

    println!("## Retrieve: `GET /v1/files/{{id}}`, requests per second\n");
    println!(
        "{rounds} rounds of {:.1} s per contender, interleaved; median (min–max). \
         Ratios are to raw reqwest in the same round. CPU is the client process's CPU time \
         per request (the server runs in another process).\n",
        time.as_secs_f64()
    );
    println!(
        "| concurrency | client | req/s | ratio to raw | ratio to raw like the facade | client \
         CPU µs/request |"
    );
    println!("|---:|---|---:|---:|---:|---:|");
    let like_facade = contenders
        .iter()
        .position(|c| *c == Contender::RawWithTimeout)
        .ok_or("raw configured like the facade failed")?;
    let mut verdicts = Vec::new();
    for concurrency in CONCURRENCIES {
        let samples = throughput::rounds("retrieve", contenders, concurrency, rounds, |c| {
            runtime.block_on(throughput::measure_contender(
                &clients,
                c,
                concurrency,
                time,
            ))
        })?;
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
                ratios.show(3).to_string()
            };
            let to_like = if index == like_facade {
                "1 (baseline)".to_owned()
            } else {
                let ratios = Summary::of(&paired_ratios(&rps[index], &rps[like_facade]))
                    .ok_or("no samples")?;
                if contender == Contender::Facade {
                    verdicts.push(format!(
                        "- facade ≥ {:.0} % of raw configured like it at concurrency \
                         {concurrency}: {} (median {:.1} %)",
                        TARGET * 100.0,
                        pass(ratios.median >= TARGET),
                        ratios.median * 100.0
                    ));
                }
                ratios.show(3).to_string()
            };
            println!(
                "| {concurrency} | {} | {} | {ratio} | {to_like} | {} |",
                contender.label(),
                req_s.show(0),
                cpu.show(1)
            );
        }
    }
    for (contender, error) in &failures {
        for concurrency in CONCURRENCIES {
            println!(
                "| {concurrency} | {} | fails: {error} | — | — | — |",
                contender.label()
            );
        }
    }
    println!(
        "\nListing the same server's files (the demo files, one with purpose `file-extract`):\n"
    );
    for (label, result) in listed {
        match result {
            Ok(n) => println!("- {label}: {n} files"),
            Err(error) => println!("- {label}: fails: {}", one_line(&*error)),
        }
    }
    println!("\nTargets:\n{}\n", verdicts.join("\n"));
    drop(clients);
    Ok(())
}

/// An error and its causes on one line, for a table cell.
fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = crate::error_chain(error);
    // The body a decoder quotes after its message is the server's answer, shown elsewhere.
    if let Some(cut) = text.find(" content:") {
        text.truncate(cut);
    }
    text.replace('|', "/").replace('\n', " ")
}

/// The hidden `retrieve-one` subcommand: one contender alone, for a profiler to look at;
/// prints its figures.
pub fn run_one(args: &throughput::OneArgs<Contender>) -> Result<(), BenchError> {
    throughput::run_one(args, args.contender.label(), Clients::new)
}
