//! A batch's results: the lines of its output and error files, parsed as they arrive and
//! matched back to the input's `custom_id`s.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use futures::{Stream, StreamExt as _, TryStreamExt as _};
use moonshot_api::types::ChatCompletionResponse;
use serde::Deserialize;
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};
use tokio_util::io::StreamReader;

use crate::chat::ChatCompletion;
use crate::error::Error;

/// The longest result line read; a longer one ends the stream with an error.
const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;

/// One line of a batch's output or error file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchResult {
    /// The `custom_id` of the input line it answers; `None` when the line does not say (it could
    /// not be read).
    pub custom_id: Option<String>,
    /// The answer, the failure, or why the line could not be read.
    pub outcome: BatchOutcome,
    /// The file the line is in.
    pub file_id: String,
    /// Its line number in that file, from 1.
    pub line: usize,
}

/// What became of one request of a batch.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// The model answered.
    Answered(Box<ChatCompletion>),
    /// The request failed: the server could not answer it.
    Failed(BatchFailure),
    /// The result line could not be read (not JSON, or not a result): kept, with the reason,
    /// so that nothing is dropped.
    Unreadable {
        /// Why it could not be read.
        reason: String,
        /// The line, as served (lossily decoded when it is not UTF-8).
        text: String,
    },
}

impl fmt::Display for BatchOutcome {
    /// The answer's text, or what went wrong.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answered(completion) => f.write_str(completion.content()),
            Self::Failed(failure) => write!(f, "failed: {failure}"),
            Self::Unreadable { reason, .. } => write!(f, "unreadable result line: {reason}"),
        }
    }
}

/// Why one request of a batch failed, as its result line says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchFailure {
    /// The HTTP status the request was answered with, when it was answered.
    pub status: Option<u16>,
    /// The error's type or code (`invalid_request_error`), when given.
    pub kind: Option<String>,
    /// The error's message.
    pub message: String,
    /// Moonshot's id for the request, when given.
    pub request_id: Option<String>,
}

impl fmt::Display for BatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.status, &self.kind) {
            (Some(status), Some(kind)) => write!(f, "{status} {kind}: {}", self.message),
            (Some(status), None) => write!(f, "{status}: {}", self.message),
            (None, Some(kind)) => write!(f, "{kind}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

#[derive(Deserialize)]
struct LineWire {
    custom_id: Option<String>,
    response: Option<ResponseWire>,
    error: Option<ErrorWire>,
}

#[derive(Deserialize)]
struct ResponseWire {
    status_code: u16,
    request_id: Option<String>,
    #[serde(default)]
    body: serde_json::Value,
}

#[derive(Deserialize, Default)]
struct ErrorWire {
    code: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

/// The files content endpoint serves extracted text inside `{"content": ...}`; a result file
/// served so has its lines in `content`.
#[derive(Deserialize)]
struct Envelope {
    content: String,
}

/// The results in `chunks`, the body of file `file_id`, as they arrive.
pub(crate) fn parse(
    file_id: String,
    chunks: impl Stream<Item = Result<Bytes, Error>> + Send + Unpin + 'static,
) -> impl Stream<Item = Result<BatchResult, Error>> + Send + 'static {
    lines(chunks, MAX_LINE_BYTES).flat_map(move |line| {
        let results = match line {
            Ok((number, bytes)) => decode(&file_id, number, &bytes)
                .into_iter()
                .map(Ok)
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures::stream::iter(results)
    })
}

/// The non-blank lines of a body, numbered from 1, as they arrive, each without its line end
/// (`\n` or `\r\n`); a body's failure, or a line over `max_line_bytes`, ends it.
///
/// Lines are framed as bytes, not text: a line that is not UTF-8 is still a line, and becomes an
/// unreadable result rather than the end of the stream.
fn lines(
    chunks: impl Stream<Item = Result<Bytes, Error>> + Send + Unpin + 'static,
    max_line_bytes: usize,
) -> impl Stream<Item = Result<(usize, Bytes), Error>> + Send + 'static {
    // The body's own error travels through the reader inside an I/O error, and comes out whole.
    let reader = StreamReader::new(chunks.map_err(std::io::Error::other));
    let codec = AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), max_line_bytes);
    FramedRead::new(reader, codec)
        .enumerate()
        .filter_map(move |(index, line)| {
            let number = index + 1;
            let line = match line {
                Ok(mut line) => {
                    if line.last() == Some(&b'\r') {
                        line.truncate(line.len() - 1);
                    }
                    (!line.iter().all(u8::is_ascii_whitespace)).then_some(Ok((number, line)))
                }
                Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => {
                    Some(Err(Error::UndecodableResponse {
                        status: 200,
                        request_id: None,
                        detail: format!(
                            "line {number} of a batch result file is over {max_line_bytes} bytes"
                        ),
                        snippet: String::new(),
                        attempts: 1,
                    }))
                }
                Err(AnyDelimiterCodecError::Io(error)) => Some(Err(body_error(error))),
            };
            futures::future::ready(line)
        })
}

/// The body's error that `error` carries, or `error` itself as a broken connection.
fn body_error(error: std::io::Error) -> Error {
    error
        .downcast::<Error>()
        .unwrap_or_else(|error| Error::Connection {
            attempts: 1,
            source: Box::new(error),
        })
}

/// The result on line `number` of file `file_id`: one, or for a body served inside the content
/// envelope (its line 1), the results of the lines it holds.
fn decode(file_id: &str, number: usize, bytes: &[u8]) -> Vec<BatchResult> {
    if number == 1
        && let Ok(envelope) = serde_json::from_slice::<Envelope>(bytes)
        && !envelope.content.trim().is_empty()
        && !bytes_have_custom_id(bytes)
    {
        return envelope
            .content
            .split('\n')
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| decode_line(file_id, i + 1, line.trim_end_matches('\r').as_bytes()))
            .collect();
    }
    vec![decode_line(file_id, number, bytes)]
}

fn bytes_have_custom_id(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        custom_id: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(bytes).is_ok_and(|p| p.custom_id.is_some())
}

fn decode_line(file_id: &str, line: usize, bytes: &[u8]) -> BatchResult {
    let result = |custom_id, outcome| BatchResult {
        custom_id,
        outcome,
        file_id: file_id.to_owned(),
        line,
    };
    let unreadable = |custom_id, reason: String| {
        result(
            custom_id,
            BatchOutcome::Unreadable {
                reason,
                text: String::from_utf8_lossy(bytes).into_owned(),
            },
        )
    };
    let wire: LineWire = match serde_json::from_slice(bytes) {
        Ok(wire) => wire,
        Err(e) => return unreadable(None, format!("not a batch result line: {e}")),
    };
    let custom_id = wire.custom_id;
    match (wire.response, wire.error) {
        (Some(response), None) if (200..300).contains(&response.status_code) => {
            match serde_json::from_value::<ChatCompletionResponse>(response.body) {
                Ok(body) => result(
                    custom_id,
                    BatchOutcome::Answered(Box::new(ChatCompletion::from_parts(
                        body,
                        response.request_id,
                    ))),
                ),
                Err(e) => unreadable(
                    custom_id,
                    format!("its answer is not a chat completion: {e}"),
                ),
            }
        }
        (response, error) => {
            let status = response.as_ref().map(|r| r.status_code);
            let request_id = response.as_ref().and_then(|r| r.request_id.clone());
            // The line's `error`, else the error in the response's body.
            let error = error
                .or_else(|| {
                    let body = response?.body;
                    serde_json::from_value::<ErrorWire>(body.get("error")?.clone()).ok()
                })
                .unwrap_or_default();
            let message = error
                .message
                .unwrap_or_else(|| "the result line gives no reason".to_owned());
            result(
                custom_id,
                BatchOutcome::Failed(BatchFailure {
                    status,
                    kind: error.kind.or(error.code),
                    message,
                    request_id,
                }),
            )
        }
    }
}

/// A batch's results matched to the `custom_id`s of its input; see
/// [`Batches::report`](super::Batches::report).
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// The input's ids, in order.
    expected: Vec<String>,
    /// The result of each expected id that has one.
    results: HashMap<String, BatchResult>,
    /// Results that match no expected id, or repeat one, or could not be read.
    unmatched: Vec<BatchResult>,
}

impl BatchReport {
    /// A report awaiting a result for each of `ids`.
    pub fn expecting<'i>(ids: impl IntoIterator<Item = &'i str>) -> Self {
        Self {
            expected: ids.into_iter().map(str::to_owned).collect(),
            ..Self::default()
        }
    }

    /// Files one result: under its `custom_id` when the input has that id and has no result
    /// yet, else among [`BatchReport::unmatched`].
    pub fn add(&mut self, result: BatchResult) {
        let expected = result.custom_id.as_ref().filter(|id| {
            !self.results.contains_key(id.as_str()) && self.expected.iter().any(|e| e == *id)
        });
        match expected {
            Some(id) => {
                self.results.insert(id.clone(), result);
            }
            None => self.unmatched.push(result),
        }
    }

    /// What became of the input line `custom_id`, if its result arrived.
    pub fn get(&self, custom_id: &str) -> Option<&BatchOutcome> {
        self.results.get(custom_id).map(|r| &r.outcome)
    }

    /// The result of the input line `custom_id`, with where it was read, if it arrived.
    pub fn result(&self, custom_id: &str) -> Option<&BatchResult> {
        self.results.get(custom_id)
    }

    /// The answered lines, in input order.
    pub fn answered(&self) -> impl Iterator<Item = (&str, &ChatCompletion)> {
        self.in_order()
            .filter_map(|(id, result)| match &result.outcome {
                BatchOutcome::Answered(completion) => Some((id, &**completion)),
                _ => None,
            })
    }

    /// The lines whose result is a failure or could not be read, in input order.
    pub fn failed(&self) -> impl Iterator<Item = (&str, &BatchOutcome)> {
        self.in_order()
            .filter_map(|(id, result)| match &result.outcome {
                BatchOutcome::Answered(_) => None,
                other => Some((id, other)),
            })
    }

    /// The input lines no result was found for (a cancelled or expired batch leaves some), in
    /// input order.
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.expected
            .iter()
            .map(String::as_str)
            .filter(|id| !self.results.contains_key(*id))
    }

    /// Results that match no input line: an unknown or repeated `custom_id`, or a line that
    /// could not be read and so names none.
    pub fn unmatched(&self) -> &[BatchResult] {
        &self.unmatched
    }

    /// Whether every input line was answered and nothing else arrived.
    pub fn is_complete(&self) -> bool {
        self.unmatched.is_empty() && self.answered().count() == self.expected.len()
    }

    fn in_order(&self) -> impl Iterator<Item = (&str, &BatchResult)> {
        self.expected
            .iter()
            .filter_map(|id| Some((id.as_str(), self.results.get(id)?)))
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt as _;

    use super::*;

    const ANSWER: &str = r#"{"id": "r1", "custom_id": "a", "response": {"status_code": 200, "request_id": "req-1", "body": {"id": "c1", "object": "chat.completion", "created": 1, "model": "kimi-k2.6", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}]}}, "error": null}"#;
    const FAILURE: &str = r#"{"id": "r2", "custom_id": "b", "response": {"status_code": 400, "body": {"error": {"message": "model not found", "type": "invalid_request_error"}}}, "error": null}"#;

    async fn read(chunks: Vec<&'static [u8]>) -> Vec<Result<BatchResult, Error>> {
        let chunks = futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))));
        parse("file-out".to_owned(), chunks).collect().await
    }

    #[tokio::test]
    async fn lines_split_across_chunks_are_read_whole_and_none_is_dropped() {
        let body = format!("{ANSWER}\n\r\n{FAILURE}\nnot json\n{{\"custom_id\": \"c\"}}");
        let bytes: &'static [u8] = Box::leak(body.into_bytes().into_boxed_slice());
        let chunks: Vec<&'static [u8]> = bytes.chunks(7).collect();
        let results: Vec<BatchResult> = read(chunks)
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("no transport error");
        assert_eq!(results.len(), 4, "{results:?}");
        assert!(
            matches!(&results[0].outcome, BatchOutcome::Answered(c) if c.content() == "Hello!" && c.request_id() == Some("req-1"))
        );
        assert_eq!(results[1].line, 3, "blank lines count");
        assert!(matches!(&results[1].outcome, BatchOutcome::Failed(f)
            if f.status == Some(400) && f.kind.as_deref() == Some("invalid_request_error") && f.message == "model not found"));
        assert!(
            matches!(&results[2].outcome, BatchOutcome::Unreadable { text, .. } if text == "not json")
        );
        assert_eq!(results[2].custom_id, None);
        assert!(matches!(&results[3].outcome, BatchOutcome::Failed(f) if f.status.is_none()));
        assert_eq!(results[3].custom_id.as_deref(), Some("c"));
    }

    #[tokio::test]
    async fn a_body_inside_the_content_envelope_is_read_line_by_line() {
        let content = format!("{ANSWER}\n{FAILURE}\n");
        let envelope = serde_json::json!({"content": content, "file_type": "application/jsonl", "filename": "out.jsonl", "title": "", "type": "file"}).to_string();
        let bytes: &'static [u8] = Box::leak(envelope.into_bytes().into_boxed_slice());
        let results: Vec<BatchResult> = read(vec![bytes])
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("read");
        let ids: Vec<_> = results
            .iter()
            .map(|r| (r.custom_id.as_deref(), r.line))
            .collect();
        assert_eq!(ids, [(Some("a"), 1), (Some("b"), 2)]);
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_ends_with_its_error_after_the_whole_lines() {
        let chunks = futures::stream::iter(vec![
            Ok(Bytes::from(format!("{ANSWER}\n{{\"custom_id\": "))),
            Err(Error::Configuration("cut".to_owned())),
        ]);
        let mut results = std::pin::pin!(parse("f".to_owned(), chunks));
        assert!(results.try_next().await.expect("first line").is_some());
        assert!(matches!(
            results.try_next().await,
            Err(Error::Configuration(_))
        ));
        assert!(
            results.next().await.is_none(),
            "the cut line is not a result"
        );
    }

    #[tokio::test]
    async fn a_line_over_the_bound_ends_the_lines_with_an_error_naming_it() {
        let chunks = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"short\n\n")),
            Ok(Bytes::from_static(
                b"far too long for the bound\nnever read\n",
            )),
        ]);
        let read: Vec<_> = lines(chunks, 10).collect().await;
        assert_eq!(read.len(), 2, "{read:?}");
        assert!(matches!(&read[0], Ok((1, line)) if line.as_ref() == b"short"));
        assert!(
            matches!(&read[1], Err(Error::UndecodableResponse { detail, .. }) if detail.contains("line 3 ")),
            "{read:?}"
        );
    }

    #[tokio::test]
    async fn a_line_that_is_not_utf8_is_a_result_and_the_next_lines_follow() {
        let results = read(vec![b"\xff\xfe\n", ANSWER.as_bytes()]).await;
        assert_eq!(results.len(), 2, "{results:?}");
        assert!(matches!(
            &results[0],
            Ok(BatchResult {
                outcome: BatchOutcome::Unreadable { .. },
                line: 1,
                ..
            })
        ));
        assert!(matches!(&results[1], Ok(r) if r.custom_id.as_deref() == Some("a")));
    }

    #[test]
    fn a_report_matches_results_to_input_ids_and_keeps_the_rest() {
        let mut report = BatchReport::expecting(["a", "b", "z"]);
        for (line, text) in [ANSWER, FAILURE, ANSWER, "junk"].into_iter().enumerate() {
            report.add(decode_line("f", line + 1, text.as_bytes()));
        }
        assert_eq!(
            report.answered().map(|(id, _)| id).collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(report.failed().map(|(id, _)| id).collect::<Vec<_>>(), ["b"]);
        assert_eq!(report.missing().collect::<Vec<_>>(), ["z"]);
        assert_eq!(
            report.unmatched().len(),
            2,
            "a repeated id and an unreadable line"
        );
        assert!(!report.is_complete());
        assert_eq!(
            report.get("a").map(ToString::to_string).as_deref(),
            Some("Hello!")
        );
    }
}
