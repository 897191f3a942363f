//! A streamed answer: server-sent events (parsed by [`super::sse`]), one typed chunk each,
//! until `data: [DONE]`.
//!
//! After the first chunk, a task of its own reads and decodes the events, at most
//! [`READ_AHEAD`] chunks ahead of the reader: decoding runs beside the caller's work on the
//! chunks (on another core, where the runtime has one), while a reader slower than the network
//! holds the connection back instead of letting chunks pile up in memory. A stream read only
//! to collect its answer ([`Chat::create`](super::Chat::create)) decodes its events as it reads
//! them, in the caller's task: there is no work of the caller's to run beside.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{self, Either};
use futures::{Stream, StreamExt as _};
use moonshot_api::types::ChatCompletionChunk;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use super::accumulate::ChatAccumulator;
use super::sse::{Event, EventStream, SseError};
use crate::error::Error;
use crate::error::map::{error_from_body, transport_error, undecodable};
use crate::limits::Permit;

type Events = Pin<Box<dyn Stream<Item = Result<Event, SseError<reqwest::Error>>> + Send>>;

/// How many decoded chunks the reading task may hold for a reader that has not taken them.
pub(crate) const READ_AHEAD: usize = 64;

/// How many chunks a reader that fell behind takes before the reading task goes on.
const REFILL: usize = READ_AHEAD / 2;

/// The events of a response, and the first chunk, read within the attempt that sent it (so a
/// failure before it is retried).
pub(crate) struct Opened {
    events: Events,
    first: Option<ChatCompletionChunk>,
    request_id: Option<String>,
}

/// What one event is.
enum Read {
    Chunk(Box<ChatCompletionChunk>),
    Done,
}

/// Turns a successful response into its events, and reads up to the first chunk.
///
/// A JSON answer instead of an event stream (gateways send one for an error, some servers
/// ignore `stream: true`) is read whole: an error object becomes its API error, a whole
/// completion the stream's one chunk.
pub(crate) async fn open(response: reqwest::Response, idle: Duration) -> Result<Opened, Error> {
    if is_json(response.headers()) {
        return open_json(response, idle).await;
    }
    let request_id = crate::error::map::request_id(response.headers());
    let mut events: Events = Box::pin(EventStream::new(response.bytes_stream()));
    let first = match tokio::time::timeout(idle, events.next()).await {
        Err(_) => return Err(stalled(idle)),
        Ok(None) => return Err(ended_early()),
        Ok(Some(event)) => match read(event, request_id.as_deref())? {
            Read::Chunk(chunk) => Some(*chunk),
            Read::Done => None,
        },
    };
    Ok(Opened {
        events,
        first,
        request_id,
    })
}

/// Whether a response is JSON (`application/json`, or a `+json` type) rather than events.
fn is_json(headers: &reqwest::header::HeaderMap) -> bool {
    let Some(value) = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// A JSON answer to a stream request: an error object is its API error (retried as that error
/// is); a whole completion is one chunk followed by the end.
async fn open_json(mut response: reqwest::Response, idle: Duration) -> Result<Opened, Error> {
    let status = response.status().as_u16();
    let headers = std::mem::take(response.headers_mut());
    let request_id = crate::error::map::request_id(&headers);
    let body = match tokio::time::timeout(idle, response.bytes()).await {
        Err(_) => return Err(stalled(idle)),
        Ok(body) => body.map_err(transport_error)?,
    };
    let whole = super::decode_whole(status, &headers, &body)?;
    let chunk = as_chunk(whole).map_err(|e| {
        undecodable(
            status,
            request_id.clone(),
            format!("the completion cannot be read as a chunk: {e}"),
            &body,
        )
    })?;
    let done: Events = Box::pin(futures::stream::once(future::ready(Ok(Event {
        event: String::new(),
        data: "[DONE]".to_owned(),
    }))));
    Ok(Opened {
        events: done,
        first: Some(chunk),
        request_id,
    })
}

/// A whole completion as the one chunk that would have carried it: each choice's `message`
/// becomes its `delta`, and each tool call gets the `index` a fragment has.
fn as_chunk(
    completion: moonshot_api::types::ChatCompletionResponse,
) -> Result<ChatCompletionChunk, serde_json::Error> {
    let mut value = serde_json::to_value(completion)?;
    if let Some(choices) = value.get_mut("choices").and_then(|c| c.as_array_mut()) {
        for choice in choices.iter_mut().filter_map(|c| c.as_object_mut()) {
            let Some(mut message) = choice.remove("message") else {
                continue;
            };
            if let Some(calls) = message.get_mut("tool_calls").and_then(|c| c.as_array_mut()) {
                for (index, call) in calls.iter_mut().enumerate() {
                    if let Some(call) = call.as_object_mut() {
                        call.insert("index".to_owned(), index.into());
                    }
                }
            }
            choice.insert("delta".to_owned(), message);
        }
    }
    value["object"] = "chat.completion.chunk".into();
    serde_json::from_value(value)
}

/// Reads one event: a chunk, the end, or an error (an `error` event, an error object, a chunk
/// that does not decode, a transport failure).
fn read(
    event: Result<Event, SseError<reqwest::Error>>,
    request_id: Option<&str>,
) -> Result<Read, Error> {
    let event = event.map_err(|e| match e {
        SseError::Transport(e) => transport_error(e),
        other => undecodable(200, request_id.map(str::to_owned), other.to_string(), &[]),
    })?;
    let data = event.data.trim();
    if data == "[DONE]" {
        return Ok(Read::Done);
    }
    let decoded = serde_json::from_str::<ChatCompletionChunk>(data);
    // Every field of a chunk is optional, so an error object decodes as an empty chunk: only
    // then is the text looked at again, for an `error` key (skipped through, not built).
    #[derive(serde::Deserialize)]
    struct ErrorProbe {
        error: Option<serde::de::IgnoredAny>,
    }
    let empty = decoded
        .as_ref()
        .is_ok_and(|c| c.choices.is_empty() && c.id.is_none() && c.usage.is_none());
    let has_error = event.event == "error"
        || (empty && serde_json::from_str::<ErrorProbe>(data).is_ok_and(|p| p.error.is_some()));
    if has_error {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(id) = request_id.and_then(|id| id.parse().ok()) {
            headers.insert(moonshot_api::hooks::REQUEST_ID_HEADER, id);
        }
        return Err(error_from_body(200, &headers, data.as_bytes()));
    }
    decoded
        .map(|chunk| Read::Chunk(Box::new(chunk)))
        .map_err(|e| {
            undecodable(
                200,
                request_id.map(str::to_owned),
                format!("a stream chunk does not decode: {e}"),
                data.as_bytes(),
            )
        })
}

fn ended_early() -> Error {
    Error::Connection {
        attempts: 1,
        source: "the stream ended without `data: [DONE]`".into(),
    }
}

fn stalled(idle: Duration) -> Error {
    Error::Timeout {
        attempts: 1,
        source: format!("no event for {idle:?}: the stream stalled").into(),
    }
}

/// A streamed chat answer: a [`Stream`] of typed chunks, ending after `data: [DONE]`.
///
/// It also rebuilds the whole answer as it goes ([`ChatStream::answer`]), so a caller can print
/// chunks as they arrive and still have the complete message at the end. Nothing is buffered
/// but the answer so far and at most 64 chunks decoded ahead of the reader by the stream's
/// reading task (which needs a Tokio runtime, as every call does). A break mid-stream (an error event, a chunk that does not decode, a
/// connection that drops or stalls, an end without `[DONE]`) is one [`Error::StreamBroken`]
/// item that keeps the text that arrived ([`ChatStream::answer`] keeps the rest); the stream
/// ends after it. Dropping the stream closes the connection.
///
/// ```no_run
/// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
/// use futures::StreamExt as _;
/// use moonshot::chat::ChatRequest;
///
/// let mut stream = client.chat().stream(ChatRequest::new("kimi-k2.6").user("Hi")).await?;
/// while let Some(chunk) = stream.next().await {
///     let chunk = chunk?;
///     if let Some(text) = chunk.choices.first().and_then(|c| c.delta.as_ref()?.content.as_deref()) {
///         print!("{text}");
///     }
/// }
/// println!("\n{:?}", stream.answer().usage());
/// # Ok(())
/// # }
/// ```
pub struct ChatStream {
    /// Where the chunks come from after the first.
    source: Source,
    first: Option<ChatCompletionChunk>,
    answer: ChatAccumulator,
    request_id: Option<String>,
    idle: Duration,
    /// When the last event arrived; the deadline is moved only when it fires, so that an event
    /// costs a clock read, not a timer update.
    last_event: Instant,
    deadline: Pin<Box<Sleep>>,
    finished: bool,
    /// Removed from the errors of the stream, should the server echo it.
    api_key: SecretString,
    /// The request's place under the account's limits, held while the stream lasts and settled
    /// with the usage its end reports.
    permit: Held,
}

/// Where a stream's chunks come from after the first.
enum Source {
    /// The reading task, which decodes ahead of the reader; the channel ends after the last.
    Ahead(mpsc::Receiver<Result<Read, Error>>),
    /// The events themselves, decoded as the reader asks: for a reader that only collects the
    /// answer, which a task beside it would not speed up.
    Inline(Events),
}

/// A stream's permit: dropped before the stream's end, what the stream used is not known, so
/// its reservation stays counted.
#[derive(Default)]
struct Held(Option<Permit>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(permit) = self.0.take() {
            permit.keep();
        }
    }
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("answer", &self.answer)
            .field("request_id", &self.request_id)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// The stream of `opened`; with `ahead`, its events are read and decoded by a task of their
    /// own, ahead of the reader, otherwise as the reader asks for them.
    pub(crate) fn new(opened: Opened, idle: Duration, api_key: SecretString, ahead: bool) -> Self {
        let finished = opened.first.is_none();
        let source = if ahead && !finished {
            let (sender, chunks) = mpsc::channel(READ_AHEAD);
            tokio::spawn(read_ahead(opened.events, opened.request_id.clone(), sender));
            Source::Ahead(chunks)
        } else {
            Source::Inline(opened.events)
        };
        Self {
            source,
            first: opened.first,
            answer: ChatAccumulator::default(),
            request_id: opened.request_id,
            idle,
            last_event: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(idle)),
            finished,
            api_key,
            permit: Held::default(),
        }
    }

    /// Holds `permit` while the stream lasts.
    pub(crate) fn holding(mut self, permit: Permit) -> Self {
        self.permit = Held(Some(permit));
        self
    }

    /// The stream ended: its place under the limits is freed, settled with the usage it reported.
    fn settle(&mut self) {
        if let Some(permit) = self.permit.0.take() {
            match self.answer.usage().and_then(|u| u.total_tokens) {
                Some(used) => permit.settle(u64::try_from(used).unwrap_or(0)),
                None => permit.keep(),
            }
        }
    }

    /// The answer so far, rebuilt from the chunks read.
    pub fn answer(&self) -> &ChatAccumulator {
        &self.answer
    }

    /// Moonshot's id for the request (`Msh-Request-Id`), to quote to support.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Reads the stream to its end and returns the whole answer.
    ///
    /// # Errors
    /// [`Error::StreamBroken`] when the stream breaks off; it keeps the text that arrived.
    pub async fn collect_answer(mut self) -> Result<ChatAccumulator, Error> {
        while let Some(chunk) = self.next().await {
            chunk?;
        }
        Ok(self.answer)
    }

    fn broken(&mut self, source: Error) -> Error {
        self.finished = true;
        if let Some(permit) = self.permit.0.take() {
            permit.keep();
        }
        Error::StreamBroken {
            chunks: self.answer.chunks(),
            content: self.answer.content().to_owned(),
            source: Box::new(source.redacted(self.api_key.expose_secret())),
        }
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            this.answer.push(&first);
            return Poll::Ready(Some(Ok(first)));
        }
        if this.finished {
            return Poll::Ready(None);
        }
        let next = match &mut this.source {
            Source::Ahead(chunks) => chunks.poll_recv(cx),
            Source::Inline(events) => events
                .poll_next_unpin(cx)
                .map(|event| event.map(|event| read(event, this.request_id.as_deref()))),
        };
        match next {
            Poll::Pending => {
                while this.deadline.as_mut().poll(cx).is_ready() {
                    let due = this.last_event + this.idle;
                    if Instant::now() >= due {
                        let error = stalled(this.idle);
                        return Poll::Ready(Some(Err(this.broken(error))));
                    }
                    // Events came since the timer was set: it waits from the last one.
                    this.deadline.as_mut().reset(due);
                }
                Poll::Pending
            }
            Poll::Ready(None) => {
                let error = ended_early();
                Poll::Ready(Some(Err(this.broken(error))))
            }
            Poll::Ready(Some(read)) => {
                this.last_event = Instant::now();
                match read {
                    Ok(Read::Chunk(chunk)) => {
                        this.answer.push(&chunk);
                        Poll::Ready(Some(Ok(*chunk)))
                    }
                    Ok(Read::Done) => {
                        this.finished = true;
                        this.settle();
                        Poll::Ready(None)
                    }
                    Err(error) => Poll::Ready(Some(Err(this.broken(error)))),
                }
            }
        }
    }
}

/// The reading task: decodes each event and hands it on, waiting while the reader holds
/// [`READ_AHEAD`] chunks; ends after `[DONE]` or an error, when the events end (the reader then
/// sees the end without `[DONE]`), or as soon as the reader is dropped, which drops the events
/// and so closes the connection.
///
/// Once the reader has fallen behind, the task waits until the reader has taken [`REFILL`]
/// chunks, not one: a reader slower than the network then wakes it once per [`REFILL`] chunks
/// instead of once per chunk (each wake-up is a hand-over between threads, paid by the reader).
async fn read_ahead(
    mut events: Events,
    request_id: Option<String>,
    sender: mpsc::Sender<Result<Read, Error>>,
) {
    // Room in the channel already waited for, to be used before asking for more.
    let mut room: Option<mpsc::PermitIterator<'_, Result<Read, Error>>> = None;
    loop {
        let event = {
            let closed = std::pin::pin!(sender.closed());
            match future::select(closed, events.next()).await {
                Either::Left(((), _)) => return,
                Either::Right((event, _)) => event,
            }
        };
        let Some(event) = event else { return };
        let read = read(event, request_id.as_deref());
        let last = !matches!(read, Ok(Read::Chunk(_)));
        let Some(permit) = next_permit(&sender, &mut room).await else {
            return;
        };
        permit.send(read);
        if last {
            return;
        }
    }
}

/// Room for one more chunk: from `room` while it lasts, else at once while the channel has
/// some, else once the reader has taken [`REFILL`] chunks (the rest kept in `room`). `None`
/// when the reader is gone.
async fn next_permit<'a, T>(
    sender: &'a mpsc::Sender<T>,
    room: &mut Option<mpsc::PermitIterator<'a, T>>,
) -> Option<mpsc::Permit<'a, T>> {
    if let Some(permit) = room.as_mut().and_then(Iterator::next) {
        return Some(permit);
    }
    match sender.try_reserve() {
        Ok(permit) => Some(permit),
        Err(mpsc::error::TrySendError::Closed(())) => None,
        Err(mpsc::error::TrySendError::Full(())) => {
            let mut more = sender.reserve_many(REFILL).await.ok()?;
            let permit = more.next();
            *room = Some(more);
            permit
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Events of `n` chunks whose ids count from 0, then `[DONE]`; `pulled` counts the events
    /// taken from them.
    fn counted_events(n: usize, pulled: &Arc<AtomicUsize>) -> Events {
        let pulled = Arc::clone(pulled);
        let events = (0..=n).map(move |i| Event {
            event: "message".to_owned(),
            data: if i == n {
                "[DONE]".to_owned()
            } else {
                format!(r#"{{"id":"{i}","object":"chat.completion.chunk","choices":[]}}"#)
            },
        });
        Box::pin(futures::stream::iter(events).map(move |event| {
            pulled.fetch_add(1, Ordering::SeqCst);
            Ok(event)
        }))
    }

    /// Lets the reading task run until it waits (the test runtime has one thread).
    async fn settle() {
        for _ in 0..1_000 {
            tokio::task::yield_now().await;
        }
    }

    fn id_of(read: Option<Result<Read, Error>>) -> String {
        match read {
            Some(Ok(Read::Chunk(chunk))) => chunk.id.unwrap_or_default(),
            Some(Ok(Read::Done)) => "[DONE]".to_owned(),
            Some(Err(error)) => panic!("the stream failed: {error}"),
            None => panic!("the stream ended early"),
        }
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_holds_the_reading_task_back_and_wakes_it_by_halves() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let (sender, mut chunks) = mpsc::channel(READ_AHEAD);
        let task = tokio::spawn(read_ahead(counted_events(1_000, &pulled), None, sender));
        settle().await;
        // A full channel, and the one event read that waits for room.
        assert_eq!(pulled.load(Ordering::SeqCst), READ_AHEAD + 1);

        for expected in 0..REFILL - 1 {
            assert_eq!(id_of(chunks.recv().await), expected.to_string());
        }
        settle().await;
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            READ_AHEAD + 1,
            "the task went on before the reader took {REFILL} chunks"
        );

        assert_eq!(id_of(chunks.recv().await), (REFILL - 1).to_string());
        settle().await;
        assert_eq!(pulled.load(Ordering::SeqCst), READ_AHEAD + 1 + REFILL);

        // Every chunk arrives once, in order, and then the end.
        for expected in REFILL..1_000 {
            assert_eq!(id_of(chunks.recv().await), expected.to_string());
        }
        assert_eq!(id_of(chunks.recv().await), "[DONE]");
        assert!(chunks.recv().await.is_none());
        task.await.expect("the reading task ends by itself");
    }

    #[tokio::test]
    async fn a_dropped_reader_ends_a_reading_task_that_waits_for_room() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let (sender, chunks) = mpsc::channel(READ_AHEAD);
        let task = tokio::spawn(read_ahead(counted_events(1_000, &pulled), None, sender));
        settle().await;
        drop(chunks);
        task.await
            .expect("the reading task ends when its reader is gone");
        assert_eq!(pulled.load(Ordering::SeqCst), READ_AHEAD + 1);
    }
}
