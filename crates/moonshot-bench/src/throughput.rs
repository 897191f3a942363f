//! Requests per second of one contender: `concurrency` loops sending one request after another
//! over one shared client for a fixed time, and the client process's CPU time per request.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use tokio::task::JoinSet;

use crate::BenchError;
use crate::procfs;
use crate::server::API_KEY;

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
