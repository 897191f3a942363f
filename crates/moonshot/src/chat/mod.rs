//! Chat completions: typed requests, answers whole or streamed, and tool loops.
//!
//! ```no_run
//! # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
//! use moonshot::chat::ChatRequest;
//!
//! // A file's text in a system message, then the question.
//! let (_, content) = client.files().upload_and_extract("report.pdf").await?;
//! let answer = client
//!     .chat()
//!     .create(ChatRequest::new("kimi-k2.6").file_content(&content).user("Summarize it."))
//!     .await?;
//! println!("{}", answer.content());
//! # Ok(())
//! # }
//! ```

mod accumulate;
mod families;
mod request;
mod sse;
mod stream;
mod tools;

use std::ops::Deref;
use std::time::Duration;

use moonshot_api::types::{
    ChatCompletionResponse, ChatCompletionResponseChoicesItemFinishReason,
    ChatCompletionResponseChoicesItemMessage, Message, ToolCall,
};

pub use accumulate::ChatAccumulator;
pub use families::{Thinking, family_of, thinking_of};
pub use moonshot_api::types::{KimiK3DynamicToolMessage, KimiK3Message};
pub(crate) use request::WireBody;
pub use request::{ChatModel, ChatRequest, MAX_STOP_WORDS, ReasoningEffort};
pub use stream::ChatStream;
pub use tools::{Tool, Toolbox, WEB_SEARCH, arguments};

use futures::StreamExt as _;

use crate::call::{Core, Retry};
use crate::error::Error;
use crate::error::map::{error_from_body, request_id, transport_error, undecodable};

/// How long a streamed answer may last in all: streams of thinking models run for minutes, so
/// only the wait between two events is bounded by the client's timeout.
const STREAM_LIMIT: Duration = Duration::from_secs(60 * 60);

/// The Chat API; get it from [`Client::chat`](crate::Client::chat).
#[derive(Debug, Clone, Copy)]
pub struct Chat<'a> {
    client: &'a Core,
}

impl<'a> Chat<'a> {
    pub(crate) fn new(client: &'a Core) -> Self {
        Self { client }
    }

    /// Asks for a whole answer. It is read as a stream underneath (the request goes with
    /// `stream: true` and `stream_options.include_usage` unless the request sets its own), and
    /// the [`ChatCompletion`] is assembled from the chunks: the same answer as without `stream`,
    /// with content, reasoning, tool calls, finish reason, usage, id, model and time. So only the
    /// wait between two events is bounded by the client's timeout, and a long answer of a
    /// thinking model takes as long as it takes (up to an hour). The request is retried until
    /// the first chunk arrives, never after: an answer that broke off is not generated (and
    /// paid for) again. For a request sent without `stream`, see [`Chat::create_unstreamed`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the request breaks a documented limit (see
    /// [`ChatRequest::check`]), before anything is sent; an API error when Moonshot answers
    /// with one, even with status 200 or in the stream; [`Error::StreamBroken`], which keeps the
    /// text that arrived, when the answer breaks off after its first chunk (an error event, a
    /// connection that drops, or no event within the client's timeout);
    /// [`Error::UndecodableResponse`] for an answer that holds no completion; any other
    /// [`Error`] the call ends in after retries. Each error says how many attempts were made.
    pub async fn create(&self, request: impl Into<ChatRequest>) -> Result<ChatCompletion, Error> {
        let mut request = request.into();
        if request.as_request().stream_options.is_none() {
            // OpenAI-style servers send a stream's usage only when asked; Moonshot sends it in
            // the last chunk's choice anyway.
            request.request_mut().stream_options = Some(
                moonshot_api::types::CreateChatCompletionRequestStreamOptions {
                    include_usage: Some(true),
                },
            );
        }
        // The answer is only collected here: decoding in a task beside this one would add a
        // hand-over per chunk and save nothing.
        let (mut stream, attempts) = self.open(request, false).await?;
        let mut others = accumulate::OtherChoices::default();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => others.push(&chunk),
                Err(mut error) => {
                    error.set_attempts(attempts);
                    return Err(error);
                }
            }
        }
        let request_id = stream.request_id().map(str::to_owned);
        let answer = stream.answer();
        if answer.chunks() == 0 {
            return Err(undecodable(
                200,
                request_id,
                "the stream ended without a chunk: the answer holds no choice".to_owned(),
                b"",
            ));
        }
        let inner = others.completion(answer).map_err(|e| {
            undecodable(
                200,
                request_id.clone(),
                format!("the chunks do not make a completion: {e}"),
                b"",
            )
        })?;
        Ok(ChatCompletion {
            inner,
            request_id,
            attempts,
        })
    }

    /// Asks for a whole answer with a request sent without `stream`, for a server or gateway
    /// that needs one; [`Chat::create`] is the better choice everywhere else. The server says
    /// nothing until the whole answer is ready, so the call is bounded by the client's
    /// generation timeout ([`ClientBuilder::generation_timeout`](crate::ClientBuilder::generation_timeout),
    /// 10 minutes by default) rather than its timeout, and it is retried only when it failed
    /// before it was sent (no connection could be made): a request the server received may be
    /// generating an answer, and would be paid for twice.
    ///
    /// # Errors
    /// As [`Chat::create`], without [`Error::StreamBroken`]: [`Error::Timeout`] when the answer
    /// did not arrive within the generation timeout.
    pub async fn create_unstreamed(
        &self,
        request: impl Into<ChatRequest>,
    ) -> Result<ChatCompletion, Error> {
        let request = request.into();
        request.check()?;
        let answer_limit = request.answer_limit();
        let body = encode(&request.into_body(false))?;
        let tokens = self.reservation(&body, answer_limit);
        let timeout = self.client.generation_timeout();
        let (mut answer, attempts) = self
            .client
            .send_with_permit(
                "create_chat_completion",
                tokens,
                (Retry::BeforeSending, None),
                |http, base| Ok(build(http, base, &body, Some(timeout))),
                |response, permit| async move {
                    let answer = decode_completion(response).await?;
                    match answer.usage.as_ref().and_then(|u| u.total_tokens) {
                        Some(used) => permit.settle(u64::try_from(used).unwrap_or(0)),
                        None => permit.keep(),
                    }
                    Ok(answer)
                },
            )
            .await?;
        answer.attempts = attempts;
        Ok(answer)
    }

    /// Asks for the answer as a stream of chunks. The request is retried until the first chunk
    /// arrives, never after. A JSON answer instead of an event stream is taken for what it is:
    /// an error object is its API error, a whole completion the stream's one chunk.
    ///
    /// # Errors
    /// As [`Chat::create`], for what happens before the first chunk.
    pub async fn stream(&self, request: impl Into<ChatRequest>) -> Result<ChatStream, Error> {
        let opened = self.open(request.into(), true).await;
        opened.map(|(stream, _)| stream)
    }

    /// Sends `request` as a stream request, retried until its first chunk; resolves to the
    /// stream (its events read `ahead` of the reader by a task, or not) and the attempts it took.
    async fn open(&self, request: ChatRequest, ahead: bool) -> Result<(ChatStream, u32), Error> {
        request.check()?;
        let answer_limit = request.answer_limit();
        let body = encode(&request.into_body(true))?;
        let tokens = self.reservation(&body, answer_limit);
        let idle = self.client.timeout();
        let ((opened, permit), attempts) = self
            .client
            .send_with_permit(
                "create_chat_completion",
                tokens,
                (Retry::Retryable, Some(idle)),
                |http, base| Ok(build(http, base, &body, Some(STREAM_LIMIT))),
                |response, permit| async move { Ok((stream::open(response, idle).await?, permit)) },
            )
            .await?;
        let api_key = self.client.api_key().clone();
        let stream = ChatStream::new(opened, idle, api_key, ahead).holding(permit);
        Ok((stream, attempts))
    }

    /// Runs a tool loop: asks, and while the model calls tools, answers each call with the
    /// toolbox (a function's handler, or a built-in's own arguments) and asks again, up to
    /// `max_rounds` times; returns the answer that calls no tool. The toolbox's tools are
    /// declared on the request. The conversation, with every call and result, is in
    /// [`ToolRun::messages`].
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// use moonshot::chat::{ChatRequest, Toolbox};
    /// let request = ChatRequest::new("kimi-k2.6").thinking(false).user("What happened today?");
    /// let run = client.chat().run_tools(request, &Toolbox::new().web_search(), 4).await?;
    /// println!("{}", run.answer.content());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Chat::create`]; [`Error::ToolCall`] naming a call whose arguments are not JSON,
    /// whose function the toolbox lacks, or whose handler failed;
    /// [`Error::ToolRoundsExceeded`] when the model still calls tools after `max_rounds`.
    pub async fn run_tools(
        &self,
        request: impl Into<ChatRequest>,
        toolbox: &Toolbox,
        max_rounds: usize,
    ) -> Result<ToolRun, Error> {
        let mut request = request.into();
        let declared: Vec<String> = request
            .as_request()
            .tools
            .iter()
            .map(|t| t.function.name.to_string())
            .collect();
        let missing: Vec<Tool> = toolbox
            .tools()
            .filter(|t| !declared.iter().any(|d| d == t.name()))
            .cloned()
            .collect();
        request = request.tools(missing);
        for round in 1..=max_rounds.max(1) {
            let answer = self.create(request.clone()).await?;
            let calls = answer.tool_calls().to_vec();
            if calls.is_empty() {
                return Ok(ToolRun {
                    answer,
                    messages: request.into_request().messages,
                    rounds: round,
                });
            }
            if round == max_rounds.max(1) {
                break;
            }
            request = request.message(answer.to_message());
            for call in &calls {
                let result = toolbox.answer(call).await?;
                request = request.message(crate::messages::tool(
                    call.id.clone().unwrap_or_default(),
                    result,
                ));
            }
        }
        Err(Error::ToolRoundsExceeded {
            rounds: max_rounds.max(1),
        })
    }
}

impl Chat<'_> {
    /// The tokens a request reserves under the account's limits: its input, estimated from its
    /// body (about three bytes a token, on the high side; nothing is asked of the server), and
    /// the most it may answer. Nothing without limits.
    fn reservation(&self, body: &[u8], answer_limit: Option<u64>) -> u64 {
        match self.client.completion_reservation() {
            None => 0,
            Some(default) => body.len() as u64 / 3 + 1 + answer_limit.unwrap_or(u64::from(default)),
        }
    }
}

/// The request's body, written once for every attempt.
fn encode(request: &ChatRequest) -> Result<bytes::Bytes, Error> {
    serde_json::to_vec(&request.wire())
        .map(bytes::Bytes::from)
        .map_err(|e| Error::InvalidInput {
            name: "request",
            reason: format!("it cannot be written as JSON: {e}"),
        })
}

/// The request of one attempt.
fn build(
    http: &reqwest::Client,
    base: &str,
    body: &bytes::Bytes,
    timeout: Option<Duration>,
) -> reqwest::RequestBuilder {
    let builder = http
        .post(format!("{base}/v1/chat/completions"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.clone());
    match timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder,
    }
}

/// A whole answer's body: a completion, or an error object even under status 200.
async fn decode_completion(mut response: reqwest::Response) -> Result<ChatCompletion, Error> {
    let status = response.status().as_u16();
    // The response is consumed below: its headers are taken, not copied.
    let headers = std::mem::take(response.headers_mut());
    let body = response.bytes().await.map_err(transport_error)?;
    let completion = decode_whole(status, &headers, &body)?;
    Ok(ChatCompletion {
        inner: completion,
        request_id: request_id(&headers),
        attempts: 1,
    })
}

/// A whole answer's body decoded: a completion with at least one choice, or the error object
/// it holds instead.
///
/// The body is decoded once, straight into the typed completion; only a body that does not
/// decode, or holds no choice, is looked at again for an `error` key (skipped through, not
/// built).
fn decode_whole(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<ChatCompletionResponse, Error> {
    #[derive(serde::Deserialize)]
    struct ErrorProbe {
        error: Option<serde::de::IgnoredAny>,
    }
    let decoded = serde_json::from_slice::<ChatCompletionResponse>(body);
    if decoded.as_ref().map_or(true, |c| c.choices.is_empty())
        && serde_json::from_slice::<ErrorProbe>(body).is_ok_and(|p| p.error.is_some())
    {
        return Err(error_from_body(status, headers, body));
    }
    let completion =
        decoded.map_err(|e| undecodable(status, request_id(headers), e.to_string(), body))?;
    if completion.choices.is_empty() {
        return Err(undecodable(
            status,
            request_id(headers),
            "the response holds no choice".to_owned(),
            body,
        ));
    }
    Ok(completion)
}

/// A whole answer. Derefs to the response as the API sends it; the methods read its first
/// choice.
#[derive(Debug, Clone)]
pub struct ChatCompletion {
    inner: ChatCompletionResponse,
    request_id: Option<String>,
    attempts: u32,
}

impl ChatCompletion {
    /// An answer that arrived some other way than a call (a batch's output line).
    pub(crate) fn from_parts(inner: ChatCompletionResponse, request_id: Option<String>) -> Self {
        Self {
            inner,
            request_id,
            attempts: 0,
        }
    }

    /// How many times the request was sent for this answer (1 when the first attempt
    /// succeeded; 0 for an answer that came from elsewhere than a call, such as a batch's
    /// output).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The first choice's message.
    pub fn message(&self) -> Option<&ChatCompletionResponseChoicesItemMessage> {
        self.inner.choices.first()?.message.as_ref()
    }

    /// The answer's text (empty when the model only called tools).
    pub fn content(&self) -> &str {
        self.message()
            .and_then(|m| m.content.as_deref())
            .unwrap_or_default()
    }

    /// The model's reasoning, from thinking models.
    pub fn reasoning(&self) -> Option<&str> {
        self.message()?.reasoning_content.as_deref()
    }

    /// The tools the model called.
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.message().map_or(&[], |m| m.tool_calls.as_slice())
    }

    /// Why the answer ended.
    pub fn finish_reason(&self) -> Option<&ChatCompletionResponseChoicesItemFinishReason> {
        self.inner.choices.first()?.finish_reason.as_ref()
    }

    /// Moonshot's id for the request (`Msh-Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The answer as an `assistant` message, to send back in the next turn (with its tool calls
    /// and reasoning).
    pub fn to_message(&self) -> Message {
        crate::messages::answered(
            self.content(),
            self.reasoning().map(str::to_owned),
            self.tool_calls().to_vec(),
        )
    }

    /// The response as the API sent it.
    pub fn into_inner(self) -> ChatCompletionResponse {
        self.inner
    }
}

impl Deref for ChatCompletion {
    type Target = ChatCompletionResponse;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

/// What a tool loop ends with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolRun {
    /// The answer that called no tool.
    pub answer: ChatCompletion,
    /// The conversation sent for it: the request's messages, then each round's tool calls and
    /// results.
    pub messages: Vec<KimiK3Message>,
    /// How many answers were asked for.
    pub rounds: usize,
}
