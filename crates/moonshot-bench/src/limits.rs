//! The limits group: 200 chat requests from 64 tasks against a local server that enforces an
//! account's limits on short windows, with the client's limits and without them (then retried
//! as the client retries 429s by default); and the client CPU a call pays for limits set far
//! above the load.
//!
//! The least time the limits allow: with R requests per window of W, N requests need
//! `ceil(N / R) - 1` windows after the first (the first R start at once, the last ones one window
//! after the previous R ended).

use std::time::{Duration, Instant};

use moonshot::chat::ChatRequest;
use moonshot::limits::Limits;
use moonshot::{Client, RetryPolicy};
use moonshot_mock::{AccountLimits, MockServer};

use crate::report::Report;
use crate::{BenchError, Settings};

const KEY: &str = "sk-bench-limits";
const REQUESTS: usize = 200;
const TASKS: usize = 64;
const CONCURRENCY: u64 = 16;
const PER_WINDOW: u64 = 50;
const WINDOW: Duration = Duration::from_millis(500);

/// One run's outcome.
#[derive(Debug)]
struct Outcome {
    elapsed: Duration,
    failed: usize,
    rate_limited: u64,
    peak_concurrency: u64,
    peak_per_window: u64,
}

fn account() -> Result<AccountLimits, BenchError> {
    Ok(AccountLimits::tier(5)?
        .concurrency(CONCURRENCY)
        .requests_per_window(PER_WINDOW)
        .window(WINDOW))
}

async fn run_once(limits: Option<Limits>, retry: RetryPolicy) -> Result<Outcome, BenchError> {
    let server = MockServer::builder()
        .api_key(KEY)
        .account_limits(account()?)
        .start()
        .await?;
    let mut builder = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .retry(retry);
    if let Some(limits) = limits {
        builder = builder.limits(limits);
    }
    let client = builder.build()?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (client, next) = (client.clone(), std::sync::Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut failed = 0;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < REQUESTS {
                let request = ChatRequest::new("kimi-k2.6")
                    .thinking(false)
                    .system("Kimi reads files. It answers from them.")
                    .user("What does Kimi read?")
                    .max_completion_tokens(64);
                if client.chat().create(request).await.is_err() {
                    failed += 1;
                }
            }
            failed
        }));
    }
    let mut failed = 0;
    for task in tasks {
        failed += task.await?;
    }
    let elapsed = started.elapsed();
    let stats = server.limit_stats();
    Ok(Outcome {
        elapsed,
        failed,
        rate_limited: stats.rate_limited,
        peak_concurrency: stats.peak_concurrency,
        peak_per_window: stats.peak_requests_per_window,
    })
}

fn client_limits() -> Limits {
    Limits::none()
        .concurrency(CONCURRENCY as u32)
        .requests_per_minute(PER_WINDOW as u32)
        .window(WINDOW)
}

/// The least time the server's limits allow for the work.
fn least_time() -> Duration {
    let windows = (REQUESTS as u64).div_ceil(PER_WINDOW) - 1;
    WINDOW * windows as u32
}

/// The CPU a call pays for limits set far above the load: calls with and without them, one at a
/// time, against the same server; the difference per call, in microseconds of this process's CPU.
async fn overhead(calls: u32) -> Result<(f64, f64), BenchError> {
    let server = MockServer::builder().api_key(KEY).start().await?;
    let plain = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .build()?;
    let limited = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .limits(Limits::tier(5)?)
        .build()?;
    let mut per_call = Vec::new();
    for client in [&plain, &limited, &plain, &limited] {
        let cpu = cpu_time();
        for _ in 0..calls {
            client.models().list().await?;
        }
        per_call.push((cpu_time() - cpu).as_secs_f64() * 1e6 / f64::from(calls));
    }
    let plain_us = (per_call[0] + per_call[2]) / 2.0;
    let limited_us = (per_call[1] + per_call[3]) / 2.0;
    Ok((plain_us, limited_us))
}

fn cpu_time() -> Duration {
    crate::procfs::cpu_time().unwrap_or_default()
}

/// Runs the group and prints its figures.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!(
            "limits: {REQUESTS} chat requests from {TASKS} tasks; the server allows {CONCURRENCY} \
             at once and {PER_WINDOW} a {} ms window; least time {} ms",
            WINDOW.as_millis(),
            least_time().as_millis()
        );
        for round in 1..=settings.rounds().min(3) {
            let with = run_once(Some(client_limits()), RetryPolicy::default()).await?;
            let without = run_once(None, RetryPolicy::default()).await?;
            println!(
                "round {round}: with the client's limits {} ms ({:.2} x the least), {} failed, \
                 {} 429s, peak {} at once, {} a window | without: {} ms, {} failed, {} 429s",
                with.elapsed.as_millis(),
                with.elapsed.as_secs_f64() / least_time().as_secs_f64(),
                with.failed,
                with.rate_limited,
                with.peak_concurrency,
                with.peak_per_window,
                without.elapsed.as_millis(),
                without.failed,
                without.rate_limited,
            );
        }
        let calls = if settings.quick { 2_000 } else { 10_000 };
        let (plain, limited) = overhead(calls).await?;
        println!(
            "overhead: {plain:.1} us of CPU a call without limits, {limited:.1} us with limits far \
             above the load ({calls} calls each, twice, interleaved): {:+.2} us a call",
            limited - plain
        );
        Ok::<_, BenchError>(())
    })
}

/// The check: the work under the client's limits meets no 429 and stays within the server's.
pub fn check(report: &mut Report) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(run_once(Some(client_limits()), RetryPolicy::none()))?;
    let held = outcome.failed == 0
        && outcome.rate_limited == 0
        && outcome.peak_concurrency <= CONCURRENCY
        && outcome.peak_per_window <= PER_WINDOW;
    report.record(
        "limits: 200 chat requests under the client's limits meet no 429",
        if held {
            Ok(())
        } else {
            Err(format!("{outcome:?}").into())
        },
    );
    Ok(())
}
