//! A local server that answers like Moonshot AI's (Kimi's) API, for tests, demos and
//! benchmarks of clients, in the spirit of stripe-mock: files are uploaded, processed, listed and
//! deleted as on the real API, and kept in memory; chat completions are answered without a
//! model; batches run.
//!
//! ```
//! use std::time::Duration;
//! use moonshot_mock::MockServer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = MockServer::builder()
//!         .api_key("sk-test")
//!         .processing_delay(Duration::ZERO)
//!         .start()
//!         .await?;
//!     let files = format!("{}/v1/files", server.base_url());
//!     let client = reqwest::Client::new();
//!
//!     let form = reqwest::multipart::Form::new()
//!         .part("file", reqwest::multipart::Part::text("Kimi reads it.").file_name("a.txt"))
//!         .text("purpose", "file-extract");
//!     let file: serde_json::Value =
//!         client.post(&files).bearer_auth("sk-test").multipart(form).send().await?.json().await?;
//!     assert_eq!(file["status"], "ok");
//!
//!     let content = client
//!         .get(format!("{files}/{}/content", file["id"].as_str().unwrap_or_default()))
//!         .bearer_auth("sk-test")
//!         .send()
//!         .await?
//!         .text()
//!         .await?;
//!     assert!(content.starts_with(r#"{"content": "Kimi reads it.""#));
//!     server.shutdown().await?;
//!     Ok(())
//! }
//! ```
//!
//! # Operations
//!
//! The operations of `openapi/openapi.yaml`:
//!
//! - `POST /v1/files` (`multipart/form-data`: a `file` part with a file name, a `purpose` field
//!   of one word, any word): the new file object, `id` `file-` and 20 random characters. The
//!   file name is read as clients escape it (`\"` and `\\` in the quoted `filename`). Refused
//!   with 400 `invalid_request_error`, nothing kept, the message naming the part and what is
//!   wrong: a missing part or field, an empty file or purpose, a purpose that is not one UTF-8
//!   word, a 1,001st file (demo and fixture files count), and uploads past the memory limit
//!   ([`MockServerBuilder::memory_limit`], 256 MiB by default; deleting files makes room); a
//!   file over 100 MB is 413 (the server stops reading at the limit). Any request answered
//!   before its body was read whole (a wrong key, an early refusal) has the rest of its body
//!   read first, up to 101 MiB in all and for 10 s, so the client gets the answer rather than
//!   a reset connection.
//! - Processing: a new file is `processing` for [`MockServerBuilder::processing_delay`] (200 ms
//!   by default), then `ok`. Its text is the file itself when it is UTF-8 (txt, md, csv, json,
//!   jsonl, html, code); images, videos and other bytes yield none: with purpose `file-extract`
//!   the status is then `failed` with `status_details` saying why, with any other purpose `ok`.
//! - `GET /v1/files`: `{"object": "list", "data": [...]}`, newest first.
//! - `GET /v1/files/{file_id}`: the file object, `application/json`.
//! - `GET /v1/files/{file_id}/content`: documented as `text/plain`, and sent as such, but the
//!   text is a JSON object: `{"content": "...", "file_type": "application/pdf", "filename":
//!   "x.pdf", "title": "", "type": "file"}`. A file without text answers 500 `extract task
//!   failed: <why>` with an empty `type`, as the real API does; a file still processing answers
//!   400 `invalid_request_error`.
//! - `DELETE /v1/files/{file_id}`: `{"id": ..., "object": "file", "deleted": true}`; the file is
//!   gone (404) from then on. Demo and fixture files are deleted the same way.
//! - `POST /v1/chat/completions`: an answer made without a model, deterministic: the sentences
//!   of the system messages (a file's content placed there, as Moonshot's docs show) that share
//!   the most words with the question; `reasoning_content` for thinking models; a `$web_search`
//!   call when the built-in web search is declared; scripted replies, tool calls and errors from
//!   [`ChatFixtures`]; `text/event-stream` chunks with `stream: true`, paced by
//!   [`MockServerBuilder::chunk_delay`] and broken on demand by a [`StreamFault`]. Kimi K3's
//!   dynamic tool messages (`{"role": "system", "tools": [...]}`) load tools it can call. Any
//!   listed model, and the retired ones Moonshot still answers (`kimi-k2-turbo-preview`,
//!   `kimi-k2-0905-preview`, `kimi-k2-0711-preview`, `kimi-k2-thinking`,
//!   `kimi-k2-thinking-turbo`); another is 404 `resource_not_found_error`; a body that is not
//!   such a request is 400 `invalid_request_error` naming what is wrong, and one over 16 MiB is
//!   413. The [`chat`] module says how each answer is made, how streams are shaped, and the
//!   fixtures format.
//! - `GET /v1/models`: the 12 model ids of the reference (`kimi-k3`, `kimi-k2.7-code`,
//!   `kimi-k2.7-code-highspeed`, `kimi-k2.6`, `kimi-k2.5`, `moonshot-v1-*`) with their context
//!   lengths and `supports_image_in`, `supports_video_in` and `supports_reasoning`.
//! - `GET /v1/users/me/balance`: `{"code": 0, "data": {"available_balance": 49.58894,
//!   "voucher_balance": 46.58893, "cash_balance": 3.00001}, "scode": "0x0", "status": true}`.
//! - `POST /v1/tokenizers/estimate-token-count` (`{model, messages}`): `{"code": 0, "data":
//!   {"total_tokens": N}, "scode": "0x0", "status": true}`, where N is 3, plus per message 4 and
//!   `ceil(UTF-8 bytes / 4)` of each text and 1,024 per image or video part. A body that is not
//!   such a request is 400 `invalid_request_error` naming what is wrong; a model neither listed
//!   nor retired is 404 `resource_not_found_error`. A Kimi K3 dynamic tool message counts as
//!   4 plus the tokens of its tools' JSON text.
//! - `POST /v1/batches` (`{input_file_id, endpoint, completion_window, metadata}`): the new
//!   batch, `validating`, `id` `batch-` and 20 random characters. Refused with 400
//!   `invalid_request_error`: an unknown input file or one whose purpose is not `batch`, an
//!   endpoint other than `/v1/chat/completions`, a window outside 12h..7d (`12h`, `3d`), metadata
//!   over 16 pairs, 64-character keys or 512-character values. Each batch then runs for
//!   [`MockServerBuilder::batch_duration`] ([`DEFAULT_BATCH_DURATION`]): a tenth `validating`
//!   (an input file that is not JSON Lines of `{custom_id, method: POST, url:
//!   /v1/chat/completions, body}` with unique ids and one model fails the batch, `failed` with
//!   `errors` naming each line), eight tenths `in_progress` (each line answered by the chat
//!   responder below, `request_counts` moving as it goes), a tenth `finalizing`, then
//!   `completed`. Answers go to an output file, lines the chat responder refuses (an unknown
//!   model, a bad body, a fixture's error) to an error file, both JSON Lines of `{"id",
//!   "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}` with
//!   purposes `batch_output` and `batch_error`, served by the content endpoint as they are
//!   (no JSON envelope). Batches do not expire.
//! - `GET /v1/batches` (`after`, `limit` 1 to 100, default 20): `{"object": "list", "data",
//!   "first_id", "last_id", "has_more"}`, newest first; an `after` naming no batch is 400.
//! - `GET /v1/batches/{batch_id}`: the batch as it is now; unknown ids are 404.
//! - `POST /v1/batches/{batch_id}/cancel`: a validating or in-progress batch turns
//!   `cancelling`, then `cancelled` with the answers made so far in its output file; a batch
//!   that has ended is 400 `invalid_request_error`.
//!
//! - Any other operation of the document (one published after these routes were written):
//!   answered from the document, by default the merged document the client is generated from,
//!   embedded in the crate ([`MockServerBuilder::document`] gives another). Its path and query
//!   parameters and its JSON body are checked against their schemas (the keywords `type`,
//!   `nullable`, `enum`, `required`, `properties`, `additionalProperties`, `items`, `allOf`,
//!   `anyOf`, `oneOf`, the numeric, length and item-count bounds; not `pattern` or `format`),
//!   and a request that does not fit is 400 `invalid_request_error` naming the field. The answer
//!   is the operation's first success status with the example of its response (the media
//!   type's `example` or `examples`, else the schema's `example`), else a small value made from
//!   the schema (its required properties only; each value its `default` or `example`, the
//!   first `enum` value, or the least of its type), always valid against the schema; an
//!   operation whose answer has no schema is 501 `server_error` naming it. Nothing is kept
//!   between requests.
//!
//! Errors carry Moonshot's body `{"error": {"message": "...", "type": "..."}}`: besides those
//! above, 401 `invalid_authentication_error` (when a key is configured), 404
//! `resource_not_found_error` (unknown file ids, and paths neither a route nor the document has), 500 `server_error`, and on
//! demand 429 `rate_limit_reached_error` with `Retry-After` or 429
//! `exceeded_current_quota_error` (see [`Faults`]). Every response carries a unique
//! `Msh-Request-Id` header.
//!
//! # Account limits
//!
//! With [`MockServerBuilder::account_limits`] (`moonshot-mock --tier N`, or `--concurrency`,
//! `--rpm`, `--tpm`, `--tpd` and `--window`) the server enforces an account's rate limits:
//! Moonshot's tiers ([`AccountLimits::tier`]) or explicit numbers, over a window of a minute or
//! of a few hundred milliseconds in tests (a day is [`DAY_WINDOWS`] windows). What counts:
//!
//! - **Concurrency**: every request that passes the key check is in flight from the moment the
//!   server takes it until its answer's last byte is sent (a streamed chat answer until its
//!   last event).
//! - **Requests per window** (RPM): every such request, whatever its operation (files, chat,
//!   batches, models, ...), counts for one window from its admission: at any moment, the
//!   requests admitted within the last window (a sliding window).
//! - **Tokens per window** (TPM) and **per day** (TPD): only chat completions count tokens.
//!   Token estimates do not (they generate nothing), nor do the lines of a batch (batches have
//!   limits of their own). At admission a chat completion counts its input, as the token
//!   estimate counts it, plus the most it may answer: `max_completion_tokens`, else
//!   `max_tokens`, else [`DEFAULT_COMPLETION_RESERVATION`] (see
//!   [`AccountLimits::completion_reservation`]). Once its answer is sent, the count is corrected
//!   to its `usage.total_tokens`, the input plus the completion's actual tokens; an answer
//!   refused after admission (a fixture's error) counts none. That input and output count
//!   against the tokens per minute, the most an answer may take counted at admission, is an
//!   assumption about Moonshot (whose page says tokens count input plus output), the one the
//!   `moonshot` client's limiter makes too.
//!
//! A request over a limit is answered 429 `rate_limit_reached_error`, `"Your account ...
//! request reached organization max RPM: 3, please try again after N seconds"` (`max
//! concurrency`, `max TPM`, `max TPD` for the others), N being the whole seconds until the
//! window frees enough for it, rounded up and at least 1 (1 for concurrency, which frees when a
//! request ends), with `Retry-After: N`. It does no work and counts against no limit. A chat
//! completion that needs more tokens than a whole window's (or day's) budget could never pass:
//! it is answered 400 `invalid_request_error` naming both numbers.
//!
//! When a requests-per-window limit is set, every answer (2xx, 4xx and 5xx) carries, as of when
//! it is sent (Moonshot names these headers without saying their units; these are the mock's):
//! `X-RateLimit-Limit`, the requests per window; `X-RateLimit-Remaining`, the requests the
//! window has room for; `X-RateLimit-Reset`, the seconds, with milliseconds (`0.417`), until the
//! window frees a request (0 when it counts none).
//!
//! [`MockServer::limit_stats`] tells what the server counted, limits set or not: the peak of
//! requests in flight, the most requests and tokens within one window, what it admitted and
//! the 429s it sent.
//!
//! A client must send each request head within
//! [`MockServerBuilder::header_read_timeout`] (10 s by default), or its connection is closed;
//! [`MockServer::shutdown`] lets requests in flight finish for up to
//! [`MockServerBuilder::shutdown_grace`] (5 s), then drops the connections left.
//!
//! The server starts with the built-in demo files ([`demo_files`]), a fixtures directory
//! ([`load_fixtures`], whose format is described in [`files`]), files built in code
//! ([`MockFile`]), and large generated ones ([`MockServerBuilder::with_large_file`]).
//!
//! Ask it about a file as Moonshot's docs do:
//!
//! ```
//! use moonshot_mock::{DEMO_PDF_ID, MockServer};
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = MockServer::start().await?;
//!     let client = reqwest::Client::new();
//!     let content = client
//!         .get(format!("{}/v1/files/{DEMO_PDF_ID}/content", server.base_url()))
//!         .send()
//!         .await?
//!         .text()
//!         .await?;
//!     let completion: serde_json::Value = client
//!         .post(format!("{}/v1/chat/completions", server.base_url()))
//!         .json(&json!({"model": "kimi-k3", "messages": [
//!             {"role": "system", "content": content},
//!             {"role": "user", "content": "How many files can each account keep?"},
//!         ]}))
//!         .send()
//!         .await?
//!         .json()
//!         .await?;
//!     assert_eq!(completion["object"], "chat.completion");
//!     let answer = completion["choices"][0]["message"]["content"].as_str().unwrap_or_default();
//!     assert!(answer.starts_with("Each account can keep up to 1,000 files"), "{answer}");
//!     Ok(())
//! }
//! ```
//!
//! The `moonshot-mock` binary runs the same server from the command line: `moonshot-mock --help`.

mod account_limits;
mod batches;
mod body;
pub mod chat;
mod connections;
mod document;
mod error;
mod faults;
pub mod files;
mod json;
mod limits;
mod mime;
mod models;
mod routes;
mod server;
mod state;
mod store;
mod tokens;

pub use account_limits::{
    AccountLimits, AccountLimitsError, DAY_WINDOWS, DEFAULT_COMPLETION_RESERVATION, DEFAULT_WINDOW,
    LimitStats,
};
pub use batches::DEFAULT_BATCH_DURATION;
pub use chat::{ChatFixtureError, ChatFixtures, StreamFault};
pub use faults::Faults;
pub use files::{
    DEMO_BATCH_OUTPUT_ID, DEMO_FAILED_ID, DEMO_IMAGE_ID, DEMO_PDF_ID, FileObjectError,
    FixtureError, MockFile, demo_files, load_fixtures,
};
pub use routes::REQUEST_ID_HEADER;
pub use server::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MEMORY_LIMIT, DEFAULT_PROCESSING_DELAY,
    DEFAULT_SHUTDOWN_GRACE, MockError, MockServer, MockServerBuilder,
};
