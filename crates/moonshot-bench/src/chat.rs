//! Whole chat answers: requests per second at concurrency 1 and 64 through raw reqwest +
//! serde_json configured as the facade is (not streamed), async-openai pointed at the local
//! server (not streamed, and streamed and collected), and the facade (`create`, a stream
//! underneath, and `create_unstreamed`), against `moonshot-mock` in another process.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use futures::StreamExt as _;
use serde_json::json;

use crate::report::{Report, pass, rounds_ahead};
use crate::server::{API_KEY, ServerProcess};
use crate::stats::{Summary, paired_ratios};
use crate::throughput;
use crate::{BenchError, Settings};

/// The concurrencies measured.
const CONCURRENCIES: [usize; 2] = [1, 64];
/// The facade's default timeout, which raw reqwest is given too.
const FACADE_TIMEOUT: Duration = Duration::from_secs(60);
/// The model asked: one the local server lists that does not think (no reasoning to send).
const MODEL: &str = "kimi-k2.6";

/// What sends the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Contender {
    /// reqwest + serde_json into a typed answer, with the facade's timeout and headers.
    Raw,
    /// async-openai's `chat().create`, its base URL the local server's.
    AsyncOpenai,
    /// async-openai's `chat().create_stream`, read to its end and its content collected: a
    /// whole answer asked for as a stream, as the facade's `create` asks for it.
    AsyncOpenaiStreamed,
    /// `moonshot::Client::chat().create`, with its defaults: the answer asked for as a stream
    /// and read whole (so the server streams it).
    Facade,
    /// `moonshot::Client::chat().create_unstreamed`: the same request as the others, not
    /// streamed.
    FacadeUnstreamed,
}

impl Contender {
    const ALL: [Self; 5] = [
        Self::Raw,
        Self::AsyncOpenai,
        Self::AsyncOpenaiStreamed,
        Self::Facade,
        Self::FacadeUnstreamed,
    ];

    /// The async-openai contender that asks the way this one does, for the facade's two.
    fn peer(self) -> Option<Self> {
        match self {
            Self::Facade => Some(Self::AsyncOpenaiStreamed),
            Self::FacadeUnstreamed => Some(Self::AsyncOpenai),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Raw => "raw reqwest + serde_json (60 s timeout, same headers)",
            Self::AsyncOpenai => "async-openai 0.43 `create()`",
            Self::AsyncOpenaiStreamed => "async-openai 0.43 `create_stream()`, collected",
            Self::Facade => "facade `create()` (streamed underneath)",
            Self::FacadeUnstreamed => "facade `create_unstreamed()`",
        }
    }
}

/// A chat completion as a raw client decodes it: every field the answer carries, typed.
#[derive(Debug, serde::Deserialize)]
#[expect(
    dead_code,
    reason = "decoding the fields is what is measured; only the choices are read"
)]
struct RawCompletion {
    id: String,
    object: String,
    created: i64,
    model: String,
    choices: Vec<RawChoice>,
    usage: Option<RawUsage>,
}

#[derive(Debug, serde::Deserialize)]
#[expect(dead_code, reason = "decoded; only the message is read")]
struct RawChoice {
    index: u32,
    message: RawMessage,
    finish_reason: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[expect(dead_code, reason = "decoded; only the content is read")]
struct RawMessage {
    role: String,
    content: Option<String>,
    reasoning_content: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[expect(dead_code, reason = "decoded, not read")]
struct RawUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// The request every contender sends: a short document and a question about it.
fn request_body() -> serde_json::Value {
    json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "The lighthouse was built in 1874. Its lamp burns \
                paraffin. Keepers climbed 217 steps every evening. The island has no trees."},
            {"role": "user", "content": "How many steps did the keepers climb?"},
        ],
    })
}

struct Clients {
    url: String,
    body: serde_json::Value,
    raw: reqwest::Client,
    async_openai: async_openai::Client<OpenAIConfig>,
    async_openai_request: async_openai::types::chat::CreateChatCompletionRequest,
    facade: moonshot::Client,
    facade_request: moonshot::chat::ChatRequest,
}

impl Clients {
    fn new(base_url: &str) -> Result<Self, BenchError> {
        let headers = throughput::headers()?;
        let body = request_body();
        Ok(Self {
            url: format!("{base_url}/v1/chat/completions"),
            raw: reqwest::Client::builder()
                .default_headers(headers)
                .timeout(FACADE_TIMEOUT)
                .build()?,
            async_openai: crate::case::async_openai(base_url),
            async_openai_request: serde_json::from_value(body.clone())?,
            facade: moonshot::Client::builder()
                .api_key(API_KEY)
                .base_url(base_url)
                .build()?,
            facade_request: moonshot::chat::ChatRequest::from(serde_json::from_value::<
                moonshot::types::CreateChatCompletionRequest,
            >(body.clone())?),
            body,
        })
    }

    /// Asks the way `contender` does; returns the answer's content.
    async fn ask(&self, contender: Contender) -> Result<String, BenchError> {
        Ok(match contender {
            Contender::Raw => {
                let response = self.raw.post(&self.url).json(&self.body).send().await?;
                let answer = response.error_for_status()?.json::<RawCompletion>().await?;
                let choice = answer.choices.into_iter().next();
                choice.and_then(|c| c.message.content).unwrap_or_default()
            }
            Contender::AsyncOpenai => {
                let request = self.async_openai_request.clone();
                let answer = self.async_openai.chat().create(request).await?;
                let choice = answer.choices.into_iter().next();
                choice.and_then(|c| c.message.content).unwrap_or_default()
            }
            Contender::AsyncOpenaiStreamed => {
                let request = self.async_openai_request.clone();
                let mut stream = self.async_openai.chat().create_stream(request).await?;
                let mut content = String::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    let delta = chunk.choices.into_iter().next().map(|c| c.delta.content);
                    content.push_str(delta.flatten().as_deref().unwrap_or_default());
                }
                content
            }
            Contender::Facade => {
                let request = self.facade_request.clone();
                let answer = self.facade.chat().create(request).await?;
                answer.content().to_owned()
            }
            Contender::FacadeUnstreamed => {
                let request = self.facade_request.clone();
                let answer = self.facade.chat().create_unstreamed(request).await?;
                answer.content().to_owned()
            }
        })
    }
}

impl throughput::Clients for Clients {
    type Contender = Contender;

    async fn send(&self, contender: Contender) -> Result<(), BenchError> {
        black_box(self.ask(contender).await?);
        Ok(())
    }
}

/// The number the answer must carry: the system message's answer to the question.
const ANSWER: &str = "217";

/// Asks once through every contender: each reads the answer, which names [`ANSWER`].
pub fn check(report: &mut Report) -> Result<(), BenchError> {
    let server = ServerProcess::start()?;
    let runtime = crate::runtime()?;
    let clients = Clients::new(server.base_url())?;
    for contender in Contender::ALL {
        let outcome = runtime
            .block_on(clients.ask(contender))
            .and_then(|content| {
                if content.contains(ANSWER) {
                    Ok(())
                } else {
                    Err(format!("the answer {content:?} does not say {ANSWER}").into())
                }
            });
        report.record(&format!("chat: {}", contender.label()), outcome);
    }
    Ok(())
}

/// The hidden `chat-one` subcommand: one contender alone, for a profiler to look at; prints
/// its figures.
pub fn run_one(args: &throughput::OneArgs<Contender>) -> Result<(), BenchError> {
    throughput::run_one(args, args.contender.label(), Clients::new)
}

/// Runs the chat group and prints its table.
pub fn run(settings: &Settings) -> Result<(), BenchError> {
    let server = ServerProcess::start()?;
    let runtime = crate::runtime()?;
    let clients = Arc::new(Clients::new(server.base_url())?);
    let rounds = settings.rounds() as usize;
    let time = settings.sample_time();
    let contenders = Contender::ALL;

    eprintln!("chat: warming up");
    runtime.block_on(throughput::warm_up(
        &clients,
        &contenders[..],
        &CONCURRENCIES,
        time,
    ))?;

    println!("## Whole chat answers: `POST /v1/chat/completions`, requests per second\n");
    println!(
        "{rounds} rounds of {:.1} s per contender, interleaved; median (min–max). Ratios are to \
         raw reqwest in the same round. CPU is the client process's CPU time per request (the \
         server runs in another process and answers each request from its system message).\n",
        time.as_secs_f64()
    );
    println!(
        "| concurrency | client | req/s | ratio to raw | ratio to async-openai asking the same \
         way | client CPU µs/request |"
    );
    println!("|---:|---|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    for concurrency in CONCURRENCIES {
        let samples = throughput::rounds("chat", &contenders, concurrency, rounds, |c| {
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
            let cpu = Summary::of_each(&samples[index], |s| s.cpu_us_per_request)?;
            let req_s = Summary::of(&rps[index]).ok_or("no samples")?;
            let to_raw = Summary::of(&paired_ratios(&rps[index], &rps[0])).ok_or("no samples")?;
            // The facade's calls against the async-openai call that asks the same way; the
            // others against async-openai's `create()`.
            let peer = contender.peer().unwrap_or(Contender::AsyncOpenai);
            let peer = contenders
                .iter()
                .position(|c| *c == peer)
                .ok_or("no peer")?;
            let paired = paired_ratios(&rps[index], &rps[peer]);
            let to_peer = Summary::of(&paired).ok_or("no samples")?;
            if let Some(peer) = contender.peer() {
                let name = match contender {
                    Contender::Facade => "facade `create()`",
                    _ => "facade `create_unstreamed()`",
                };
                // Raw asks for the answer unstreamed: only the call that does the same is held
                // to it; a streamed answer costs the server and the client more by its nature.
                if contender == Contender::FacadeUnstreamed {
                    verdicts.push(format!(
                        "- {name} ≥ 95 % of raw configured like it at concurrency \
                         {concurrency}: {} (median {:.1} %)",
                        pass(to_raw.median >= 0.95),
                        to_raw.median * 100.0
                    ));
                }
                verdicts.push(format!(
                    "- {name} at concurrency {concurrency} at least as fast as {}: {} (median \
                     {:.1} %; {})",
                    peer.label(),
                    pass(to_peer.median >= 1.0),
                    to_peer.median * 100.0,
                    rounds_ahead(&paired)
                ));
            }
            println!(
                "| {concurrency} | {} | {} | {} | {} | {} |",
                contender.label(),
                req_s.show(0),
                if index == 0 {
                    "1 (baseline)".to_owned()
                } else {
                    to_raw.show(3).to_string()
                },
                if contender == Contender::AsyncOpenai {
                    "1".to_owned()
                } else {
                    to_peer.show(3).to_string()
                },
                cpu.show(1)
            );
        }
    }
    println!("\nTargets:\n{}\n", verdicts.join("\n"));
    drop(clients);
    Ok(())
}
