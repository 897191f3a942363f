//! The harness's own server for the upload and stream groups, run in a process of its own (the
//! hidden `serve-sink` subcommand): `POST /v1/files` reads the whole body without keeping it and
//! answers a fixed file object with the purpose the form sent; `POST /v1/chat/completions` streams an answer of as many chunks
//! as the request's `max_completion_tokens`, each made as it is sent, so the server's memory
//! does not grow with the stream. Any key is accepted.

use std::convert::Infallible;
use std::io::Write as _;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use futures::StreamExt as _;

use crate::BenchError;
use crate::server::end_of_stdin;

/// The file object every upload is answered with.
pub const FILE_OBJECT: &str = r#"{"id":"file-bench-upload","object":"file","bytes":100000000,"created_at":1700000000,"filename":"upload.txt","purpose":"file-extract","status":"ok","status_details":""}"#;
/// The chunks of an answer whose request sets no `max_completion_tokens`.
pub const DEFAULT_CHUNKS: u64 = 10;
/// What each chunk adds to the answer.
const DELTA: &str = " word";

/// The hidden `serve-sink` subcommand: prints the base URL, serves until stdin reaches its end.
pub fn serve_sink() -> Result<(), BenchError> {
    // Named apart from the client's threads, so a profile of a run can tell them apart.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bench-sink")
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{}", listener.local_addr()?)?;
        stdout.flush()?;
        // A streamed answer is many small writes: without TCP_NODELAY, those after the first
        // wait for the client's delayed acknowledgement (40 ms on Linux), once per answer.
        let listener = listener.tap_io(|tcp| {
            let _best_effort = tcp.set_nodelay(true);
        });
        axum::serve(listener, router())
            .with_graceful_shutdown(end_of_stdin())
            .await?;
        Ok(())
    })
}

fn router() -> Router {
    Router::new()
        .route("/v1/files", post(drain_upload))
        .route("/v1/chat/completions", post(stream_answer))
}

/// How much of the body's start and end the sink keeps, to find the `purpose` field (sent
/// before the file by some clients, after it by others).
const KEPT: usize = 4096;

/// Reads the upload to its end, frame by frame, keeping only its first and last few KB.
async fn drain_upload(body: Body) -> Response {
    let mut frames = body.into_data_stream();
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(frame) => {
                if head.len() < KEPT {
                    head.extend_from_slice(&frame[..frame.len().min(KEPT - head.len())]);
                }
                tail.extend_from_slice(&frame[frame.len().saturating_sub(KEPT)..]);
                tail.drain(..tail.len().saturating_sub(KEPT));
            }
            Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
        }
    }
    let purpose = sent_purpose(&head)
        .or_else(|| sent_purpose(&tail))
        .unwrap_or_else(|| "file-extract".to_owned());
    let object = FILE_OBJECT.replace(
        r#""purpose":"file-extract""#,
        &format!(r#""purpose":"{purpose}""#),
    );
    ([(CONTENT_TYPE, "application/json")], object).into_response()
}

/// The value of the form's `purpose` field, if `part` holds it whole and it is one word.
pub fn sent_purpose(part: &[u8]) -> Option<String> {
    const FIELD: &[u8] = b"name=\"purpose\"\r\n\r\n";
    let start = part.windows(FIELD.len()).position(|w| w == FIELD)? + FIELD.len();
    let value = &part[start..];
    let end = value.windows(2).position(|w| w == b"\r\n")?;
    let value = std::str::from_utf8(&value[..end]).ok()?;
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        .then(|| value.to_owned())
}

/// Streams the answer the request asks for, one event made per chunk sent.
async fn stream_answer(request: Bytes) -> Response {
    let chunks = requested_chunks(&request);
    let events = futures::stream::iter(0..=chunks).then(move |n| async move {
        if n == 1 {
            // The body is not ready for a moment, so hyper sends the head and the first chunk
            // at once, as a model's first token would go, instead of filling its write buffer
            // with the chunks after it first.
            tokio::task::yield_now().await;
        }
        Ok::<_, Infallible>(event(n, chunks))
    });
    (
        [(CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

/// The answer's length: the request's `max_completion_tokens`, one chunk per token.
pub fn requested_chunks(request: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(request)
        .ok()
        .and_then(|body| body.get("max_completion_tokens")?.as_u64())
        .filter(|&chunks| chunks > 0)
        .unwrap_or(DEFAULT_CHUNKS)
}

/// Event `n` of an answer of `chunks` chunks: a chunk with a small content delta (the first also
/// says the role; the last also says why the answer ended and what it used), and after the last
/// chunk, `[DONE]`.
pub fn event(n: u64, chunks: u64) -> Bytes {
    if n >= chunks {
        return Bytes::from_static(b"data: [DONE]\n\n");
    }
    let role = if n == 0 { r#""role":"assistant","# } else { "" };
    let end = if n + 1 == chunks {
        format!(
            r#","finish_reason":"stop","usage":{{"prompt_tokens":8,"completion_tokens":{chunks},"total_tokens":{}}}"#,
            chunks + 8
        )
    } else {
        String::new()
    };
    Bytes::from(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\
         \"created\":1700000000,\"model\":\"moonshot-v1-8k\",\"choices\":[{{\"index\":0,\
         \"delta\":{{{role}\"content\":\"{DELTA}\"}}{end}}}]}}\n\n"
    ))
}

#[cfg(test)]
mod tests {
    use moonshot::types::{ChatCompletionChunk, ChoiceDeltaFinishReason};

    use super::*;

    #[test]
    fn the_purpose_is_read_from_the_form_before_or_after_the_file() {
        let field =
            b"--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b--\r\n";
        assert_eq!(sent_purpose(field).as_deref(), Some("batch"));
        assert_eq!(sent_purpose(b"name=\"purpose\"\r\n\r\nno spaces\r\n"), None);
        assert_eq!(sent_purpose(b"name=\"file\"\r\n\r\nabc"), None);
    }

    fn decode(event: &Bytes) -> ChatCompletionChunk {
        let text = std::str::from_utf8(event).expect("UTF-8");
        let data = text
            .strip_prefix("data: ")
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .expect("one data line, then a blank line");
        serde_json::from_str(data).expect("a chat.completion.chunk")
    }

    #[test]
    fn the_file_object_is_what_the_api_returns() {
        let file: moonshot::types::FileObject =
            serde_json::from_str(FILE_OBJECT).expect("a FileObject");
        assert_eq!((file.object.as_str(), file.status.as_str()), ("file", "ok"));
        assert_eq!(file.status_details.as_deref(), Some(""));
    }

    #[test]
    fn an_answer_is_chunks_with_a_last_one_that_stops_then_done() {
        let first = decode(&event(0, 3));
        let choice = &first.choices[0];
        assert_eq!(first.object.as_deref(), Some("chat.completion.chunk"));
        let delta = choice.delta.as_ref().expect("a delta");
        assert!(delta.role.is_some());
        assert_eq!(delta.content.as_deref(), Some(DELTA));
        assert!(choice.finish_reason.is_none() && choice.usage.is_none());

        let middle = decode(&event(1, 3));
        assert!(
            middle.choices[0]
                .delta
                .as_ref()
                .expect("a delta")
                .role
                .is_none()
        );

        let last = decode(&event(2, 3));
        let choice = &last.choices[0];
        assert_eq!(choice.finish_reason, Some(ChoiceDeltaFinishReason::Stop));
        let usage = choice.usage.as_ref().expect("usage in the choice");
        assert_eq!(usage.completion_tokens, Some(3));
        assert_eq!(&event(3, 3)[..], b"data: [DONE]\n\n");
    }

    #[test]
    fn a_one_chunk_answer_starts_and_stops_in_the_same_chunk() {
        let only = decode(&event(0, 1));
        assert!(
            only.choices[0]
                .delta
                .as_ref()
                .expect("a delta")
                .role
                .is_some()
        );
        assert!(only.choices[0].finish_reason.is_some());
    }

    #[test]
    fn the_length_comes_from_max_completion_tokens() {
        let body = br#"{"model":"m","messages":[],"max_completion_tokens":100000}"#;
        assert_eq!(requested_chunks(body), 100_000);
        assert_eq!(requested_chunks(br#"{"model":"m"}"#), DEFAULT_CHUNKS);
        assert_eq!(requested_chunks(b"not json"), DEFAULT_CHUNKS);
    }
}
