//! Requests per second of one contender: `concurrency` loops sending one request after another
//! over one shared client for a fixed time, and the client process's CPU time per request.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use tokio::task::JoinSet;

use crate::BenchError;
use crate::procfs;
use crate::server::{API_KEY, ServerProcess};

/// The headers the facade sends, which the raw contenders send too, set once per client.
///
/// # Errors
/// Never in practice: the key is a valid header value.
pub fn headers() -> Result<HeaderMap, BenchError> {
    let mut headers = HeaderMap::new();
    let mut authorization = HeaderValue::try_from(format!("Bearer {API_KEY}"))?;
    authorization.set_sensitive(true);
    headers.insert(AUTHORIZATION, authorization);
    headers.insert(USER_AGENT, HeaderValue::from_static("moonshot-bench"));
    Ok(headers)
}

/// A group's clients: each request of a contender's kind, over the client shared by every
/// request of that kind.
pub trait Clients: Send + Sync + 'static {
    /// What sends the requests.
    type Contender: Copy + Send + 'static;

    /// Sends one request the way `contender` does, and decodes its answer.
    fn send(
        &self,
        contender: Self::Contender,
    ) -> impl Future<Output = Result<(), BenchError>> + Send;
}

/// Runs `contender` of `clients` for `time`, with `concurrency` requests in flight.
///
/// # Errors
/// As [`measure`].
pub async fn measure_contender<C: Clients>(
    clients: &Arc<C>,
    contender: C::Contender,
    concurrency: usize,
    time: Duration,
) -> Result<Sample, BenchError> {
    let clients = Arc::clone(clients);
    measure(concurrency, time, move || {
        let clients = Arc::clone(&clients);
        async move { clients.send(contender).await }
    })
    .await
}

/// What a hidden `*-one` subcommand runs: one contender of a group, alone.
#[derive(Debug, Clone, clap::Args)]
pub struct OneArgs<T: clap::ValueEnum + Clone + Send + Sync + 'static> {
    /// The contender.
    #[arg(long, value_enum)]
    pub contender: T,
    /// Requests in flight.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Seconds to run, after a warm-up of half as long.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
}

/// Runs `args.contender` alone against the local server in another process, at
/// `args.concurrency` for half of `args.seconds` (a warm-up) and then `args.seconds`, for a
/// profiler (`perf record`, `strace -c`, `valgrind`) to look at; `clients` makes the group's
/// clients for the server's base URL. Prints one line with the requests made in all (so two
/// runs of different lengths give a count per request), the rate and the CPU per request.
///
/// # Errors
/// When the server cannot start, the clients cannot be made, or a request fails.
pub fn run_one<C: Clients>(
    args: &OneArgs<C::Contender>,
    label: &str,
    clients: impl FnOnce(&str) -> Result<C, BenchError>,
) -> Result<(), BenchError>
where
    C::Contender: clap::ValueEnum + Sync,
{
    let server = ServerProcess::start()?;
    let runtime = crate::runtime()?;
    let clients = Arc::new(clients(server.base_url())?);
    let (contender, concurrency) = (args.contender, args.concurrency);
    let time = Duration::from_secs_f64(args.seconds);
    let (warm_up, sample) = runtime.block_on(async {
        let warm_up = measure_contender(&clients, contender, concurrency, time / 2).await?;
        let sample = measure_contender(&clients, contender, concurrency, time).await?;
        Ok::<_, BenchError>((warm_up, sample))
    })?;
    println!(
        "{label}: concurrency {concurrency}: {} requests in all, {:.0} req/s, {:.1} µs client \
         CPU/request",
        warm_up.requests + sample.requests,
        sample.requests_per_second,
        sample.cpu_us_per_request
    );
    Ok(())
}

/// Runs every contender at every concurrency for half of `time` (connections, allocator, CPU
/// frequency), its figures thrown away.
///
/// # Errors
/// The first error a request ends in.
pub async fn warm_up<C: Clients>(
    clients: &Arc<C>,
    contenders: &[C::Contender],
    concurrencies: &[usize],
    time: Duration,
) -> Result<(), BenchError> {
    for &contender in contenders {
        for &concurrency in concurrencies {
            measure_contender(clients, contender, concurrency, time / 2).await?;
        }
    }
    Ok(())
}

/// Runs `rounds` rounds of every contender at `concurrency`, each round starting one contender
/// further along so that none always runs first; returns each contender's samples, in the
/// order of `contenders`.
///
/// # Errors
/// The first error a sample ends in.
pub fn rounds<C: Copy>(
    group: &str,
    contenders: &[C],
    concurrency: usize,
    rounds: usize,
    mut sample: impl FnMut(C) -> Result<Sample, BenchError>,
) -> Result<Vec<Vec<Sample>>, BenchError> {
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        eprintln!(
            "{group}: concurrency {concurrency}, round {}/{rounds}",
            round + 1
        );
        for index in crate::case::rotation(round, contenders.len()) {
            samples[index].push(sample(contenders[index])?);
        }
    }
    Ok(samples)
}

/// What one contender did in one round.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Requests completed per second of wall time.
    pub requests_per_second: f64,
    /// This process's CPU time per request, in microseconds: the client's cost alone, less
    /// sensitive than wall time to whatever else the machine runs.
    pub cpu_us_per_request: f64,
    /// Requests completed.
    pub requests: u64,
}

/// Runs `call` for `time` with `concurrency` calls in flight.
///
/// # Errors
/// The first error a call ends in: a contender that fails is not measured.
pub async fn measure<F, Fut>(
    concurrency: usize,
    time: Duration,
    call: F,
) -> Result<Sample, BenchError>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send,
{
    let cpu_before = procfs::cpu_time()?;
    let started = Instant::now();
    let deadline = started + time;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let call = call.clone();
        workers.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                call().await?;
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
