//! The batches of a server and the task that runs each: validating, in progress (each line
//! answered by the chat responder), finalizing, then completed, with its output and error files.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::chat::request::ChatRequest;
use crate::chat::wire::{self, Meta, Usage};
use crate::chat::{ChatFixtures, reply};
use crate::error::ApiError;
use crate::store::{FileView, ServedContent, Store, StoredFile, random_id};

/// The default of [`MockServerBuilder::batch_duration`](crate::MockServerBuilder::batch_duration):
/// a batch runs for about a second, so that waiting for it shows.
pub const DEFAULT_BATCH_DURATION: Duration = Duration::from_secs(1);

/// The only endpoint batches run.
pub(crate) const ENDPOINT: &str = "/v1/chat/completions";

/// Statuses a batch never leaves.
pub(crate) const TERMINAL: [&str; 4] = ["completed", "failed", "expired", "cancelled"];

/// What a running batch needs of the server it runs in.
pub(crate) trait Host: Send + Sync + 'static {
    /// The files: the input file is read from them, the output and error files kept in them.
    fn files(&self) -> &Store;
    /// The batches, the running one among them.
    fn batches(&self) -> &BatchStore;
    /// The scripted chat answers, which answer the lines as they answer chat requests.
    fn chat_fixtures(&self) -> &ChatFixtures;
    /// Turns true when the server stops, which ends the run.
    fn stopping(&self) -> watch::Receiver<bool>;
}

/// One batch: its object as served, and whether a cancel was asked for.
#[derive(Debug)]
struct Record {
    object: Map<String, Value>,
    /// Orders the list, newest first.
    seq: u64,
}

/// The batches of one server.
#[derive(Debug)]
pub(crate) struct BatchStore {
    inner: Mutex<Inner>,
    /// How long a batch takes from validating to completed.
    pub(crate) duration: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    batches: HashMap<String, Record>,
    next_seq: u64,
}

/// Why a cancel was refused.
pub(crate) enum CancelRefusal {
    NotFound,
    /// The batch has ended, with this status.
    Ended(String),
}

impl BatchStore {
    /// A store holding `restored` batch objects as they are, and running new ones for
    /// `duration`.
    pub(crate) fn new(restored: Vec<Map<String, Value>>, duration: Duration) -> Self {
        let mut inner = Inner::default();
        let mut restored = restored;
        // Oldest first, so that the newest gets the highest sequence number.
        restored.sort_by_key(|o| o.get("created_at").and_then(Value::as_i64).unwrap_or(0));
        for object in restored {
            if let Some(id) = object.get("id").and_then(Value::as_str) {
                let seq = inner.next_seq;
                inner.next_seq += 1;
                inner.batches.insert(id.to_owned(), Record { object, seq });
            }
        }
        Self {
            inner: Mutex::new(inner),
            duration,
        }
    }

    // Every update is a single insert or field change: a panic cannot leave a batch half made.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps a new batch under an id of its own, `batch-` and 20 random characters; returns its
    /// object with the id.
    pub(crate) fn insert_new(&self, mut object: Map<String, Value>) -> Map<String, Value> {
        let mut inner = self.lock();
        let id = loop {
            let id = random_id("batch-");
            if !inner.batches.contains_key(&id) {
                break id;
            }
        };
        object.insert("id".to_owned(), Value::String(id.clone()));
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.batches.insert(
            id,
            Record {
                object: object.clone(),
                seq,
            },
        );
        object
    }

    /// The batch `id` as it is now.
    pub(crate) fn get(&self, id: &str) -> Option<Map<String, Value>> {
        self.lock().batches.get(id).map(|r| r.object.clone())
    }

    /// Up to `limit` batches, newest first, after the batch `after`; and whether more follow.
    /// `None` when `after` names no batch.
    pub(crate) fn page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Option<(Vec<Map<String, Value>>, bool)> {
        let inner = self.lock();
        let mut records: Vec<&Record> = inner.batches.values().collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.seq));
        let start = match after {
            Some(after) => inner.batches.get(after).map(|r| {
                records
                    .iter()
                    .position(|x| x.seq == r.seq)
                    .map_or(records.len(), |i| i + 1)
            })?,
            None => 0,
        };
        let rest = &records[start.min(records.len())..];
        let page = rest.iter().take(limit).map(|r| r.object.clone()).collect();
        Some((page, rest.len() > limit))
    }

    /// Applies `change` to the batch `id`'s object; returns it as changed.
    fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Option<Map<String, Value>> {
        let mut inner = self.lock();
        let record = inner.batches.get_mut(id)?;
        change(&mut record.object);
        Some(record.object.clone())
    }

    /// Marks the batch `id` `cancelling`, unless it has ended; its task then stops.
    pub(crate) fn cancel(&self, id: &str) -> Result<Map<String, Value>, CancelRefusal> {
        let mut inner = self.lock();
        let record = inner.batches.get_mut(id).ok_or(CancelRefusal::NotFound)?;
        let status = status_of(&record.object).to_owned();
        if TERMINAL.contains(&status.as_str()) {
            return Err(CancelRefusal::Ended(status));
        }
        if status != "cancelling" {
            record
                .object
                .insert("status".to_owned(), json!("cancelling"));
            record
                .object
                .insert("cancelling_at".to_owned(), json!(unix_now()));
        }
        Ok(record.object.clone())
    }

    fn status(&self, id: &str) -> String {
        self.lock()
            .batches
            .get(id)
            .map(|r| status_of(&r.object).to_owned())
            .unwrap_or_default()
    }
}

fn status_of(object: &Map<String, Value>) -> &str {
    object
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// One line of an input file, once the file as a whole was found good.
struct InputLine {
    custom_id: String,
    body: Value,
}

/// A problem with the input file as a whole, which fails the batch: Moonshot's `errors` entry.
struct FileProblem {
    code: &'static str,
    message: String,
    line: Option<usize>,
}

/// Checks the input file as a whole: JSON Lines of `{custom_id, method, url, body}`, ids unique,
/// one model. A body that is not a good chat request is left for its line's answer to refuse.
fn read_input(text: &[u8]) -> Result<Vec<InputLine>, Vec<FileProblem>> {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut model: Option<String> = None;
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Err(vec![FileProblem {
            code: "empty_file",
            message: "the input file has no requests".to_owned(),
            line: None,
        }]);
    }
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let mut problem = |code, message: String| {
            problems.push(FileProblem {
                code,
                message,
                line: Some(number),
            });
        };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(Value::Object(line)) = serde_json::from_slice::<Value>(raw) else {
            problem(
                "invalid_json_line",
                format!("line {number} is not a JSON object"),
            );
            continue;
        };
        let custom_id = line
            .get("custom_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if custom_id.is_empty() {
            problem(
                "missing_custom_id",
                format!("line {number} has no custom_id"),
            );
            continue;
        }
        if !seen.insert(custom_id.to_owned()) {
            problem(
                "duplicate_custom_id",
                format!("the custom_id {custom_id:?} of line {number} is used by an earlier line"),
            );
        }
        if line.get("method").and_then(Value::as_str) != Some("POST") {
            problem(
                "invalid_method",
                format!("line {number}: method must be POST"),
            );
        }
        if line.get("url").and_then(Value::as_str) != Some(ENDPOINT) {
            problem(
                "invalid_url",
                format!("line {number}: url must be {ENDPOINT}"),
            );
        }
        let body = line.get("body").cloned().unwrap_or(Value::Null);
        if let Some(this) = body.get("model").and_then(Value::as_str) {
            match &model {
                Some(first) if first != this => problem(
                    "mismatched_model",
                    format!(
                        "line {number} asks {this:?}, earlier lines {first:?}: one model per batch"
                    ),
                ),
                Some(_) => {}
                None => model = Some(this.to_owned()),
            }
        }
        lines.push(InputLine {
            custom_id: custom_id.to_owned(),
            body,
        });
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    }
}

/// The result line of one request: an answer for the output file, or an error for the error
/// file.
fn answer(fixtures: &ChatFixtures, custom_id: &str, body: &Value) -> Result<Value, Value> {
    let request_id = format!("mock-batch-{:016x}", fastrand::u64(..));
    let line = |response: Value| {
        json!({
            "id": format!("batch_req_{:016x}", fastrand::u64(..)),
            "custom_id": custom_id,
            "response": response,
            "error": null,
        })
    };
    let failed = |error: ApiError| {
        line(json!({
            "status_code": error.status().as_u16(),
            "request_id": request_id,
            "body": error.body(),
        }))
    };
    let request = ChatRequest::parse(body).map_err(failed)?;
    if request.stream {
        return Err(failed(ApiError::invalid_request(
            "a batch request cannot be streamed: remove `stream`",
        )));
    }
    let reply = reply(&request, fixtures).map_err(failed)?;
    let usage = Usage::of(request.prompt_tokens, &reply);
    let completion = wire::completion(&Meta::new(&request.model), &reply, usage);
    Ok(line(json!({
        "status_code": 200,
        "request_id": request_id,
        "body": completion,
    })))
}

/// Runs the batch `id` to its end: the task spawned when it is created.
pub(crate) async fn run(host: Arc<impl Host>, id: String, input_file_id: String) {
    let batches = host.batches();
    let step = batches.duration / 10;
    let mut stopping = host.stopping();
    // Sleeps, unless the server stops first (then the task ends).
    macro_rules! pause {
        ($d:expr) => {
            tokio::select! {
                () = tokio::time::sleep($d) => {}
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        };
    }
    pause!(step);
    let text = loop {
        match host.files().get(&input_file_id) {
            Some(FileView::Processing { .. }) => pause!(Duration::from_millis(50)),
            Some(FileView::Ready {
                content: ServedContent::Text { text, .. } | ServedContent::Raw(text),
                ..
            }) => break Some(text),
            _ => break None,
        }
    };
    let read = match text {
        // Reading up to 100 MB of JSON Lines is CPU work: off the async workers.
        Some(text) => Some(blocking(move || read_input(&text)).await),
        None => None,
    };
    let lines = match read {
        Some(Ok(lines)) => lines,
        Some(Err(problems)) => return fail(batches, &id, &problems),
        None => {
            let problem = FileProblem {
                code: "invalid_file",
                message: format!("the input file {input_file_id} is gone or holds no text"),
                line: None,
            };
            return fail(batches, &id, &[problem]);
        }
    };
    if batches.status(&id) == "cancelling" {
        return finish(&*host, &id, Vec::new(), Vec::new(), "cancelled");
    }
    let total = lines.len();
    batches.update(&id, |b| {
        b.insert("status".to_owned(), json!("in_progress"));
        b.insert("in_progress_at".to_owned(), json!(unix_now()));
        b.insert(
            "request_counts".to_owned(),
            json!({"total": total, "completed": 0, "failed": 0}),
        );
    });
    // Eight tenths of the time answering, paced per line; sleeps shorter than 5 ms add up.
    let per_line = (step * 8) / u32::try_from(total.max(1)).unwrap_or(u32::MAX);
    let mut owed = Duration::ZERO;
    let (mut output, mut errors) = (Vec::new(), Vec::new());
    for line in lines {
        if batches.status(&id) == "cancelling" {
            return finish(&*host, &id, output, errors, "cancelled");
        }
        let shared = Arc::clone(&host);
        match blocking(move || answer(shared.chat_fixtures(), &line.custom_id, &line.body)).await {
            Ok(result) => output.push(result),
            Err(result) => errors.push(result),
        }
        let (completed, failed) = (output.len(), errors.len());
        batches.update(&id, |b| {
            b.insert(
                "request_counts".to_owned(),
                json!({"total": total, "completed": completed, "failed": failed}),
            );
        });
        owed += per_line;
        if owed >= Duration::from_millis(5) {
            pause!(owed);
            owed = Duration::ZERO;
        }
    }
    if batches.status(&id) == "cancelling" {
        return finish(&*host, &id, output, errors, "cancelled");
    }
    batches.update(&id, |b| {
        b.insert("status".to_owned(), json!("finalizing"));
        b.insert("finalizing_at".to_owned(), json!(unix_now()));
    });
    pause!(step);
    finish(&*host, &id, output, errors, "completed");
}

/// Runs CPU work on a thread of Tokio's blocking pool, so that a large batch does not hold up
/// requests; a panic goes on as it would have without the thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => done,
        Err(failure) if failure.is_panic() => std::panic::resume_unwind(failure.into_panic()),
        // The runtime is shutting down, and drops this task at this await.
        Err(_) => std::future::pending().await,
    }
}

/// Ends a batch whose input file is not a batch input: `failed`, with the problems as `errors`.
fn fail(batches: &BatchStore, id: &str, problems: &[FileProblem]) {
    let data: Vec<Value> = problems
        .iter()
        .map(|p| json!({"code": p.code, "message": p.message, "line": p.line, "param": null}))
        .collect();
    batches.update(id, |b| {
        b.insert("status".to_owned(), json!("failed"));
        b.insert("failed_at".to_owned(), json!(unix_now()));
        b.insert("errors".to_owned(), json!({"object": "list", "data": data}));
    });
}

/// Writes the output and error files (those with lines) and ends the batch in `status`.
fn finish(host: &impl Host, id: &str, output: Vec<Value>, errors: Vec<Value>, status: &str) {
    let files = host.files();
    let output_file = write_results(files, id, "output", "batch_output", &output);
    let error_file = write_results(files, id, "error", "batch_error", &errors);
    let at = if status == "completed" {
        "completed_at"
    } else {
        "cancelled_at"
    };
    host.batches().update(id, |b| {
        b.insert("output_file_id".to_owned(), json!(output_file));
        b.insert("error_file_id".to_owned(), json!(error_file));
        b.insert("status".to_owned(), json!(status));
        b.insert(at.to_owned(), json!(unix_now()));
    });
}

/// Keeps `lines` as a new JSON Lines file of `purpose`; its id, or none for no lines.
fn write_results(
    files: &Store,
    batch_id: &str,
    kind: &str,
    purpose: &str,
    lines: &[Value],
) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let mut text = Vec::new();
    for line in lines {
        text.extend_from_slice(line.to_string().as_bytes());
        text.push(b'\n');
    }
    let id = files.unused_id("file-");
    let created_at = unix_now();
    let object = json!({
        "id": id,
        "object": "file",
        "bytes": text.len(),
        "created_at": created_at,
        "filename": format!("{batch_id}_{kind}.jsonl"),
        "purpose": purpose,
        "status": "ok",
        "status_details": "",
    });
    files.insert_made(
        id.clone(),
        StoredFile {
            object: object.to_string().into(),
            content: ServedContent::Raw(Bytes::from(text)),
            created_at,
            processing: None,
            held_bytes: 0,
        },
    );
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, model: &str) -> String {
        format!(
            r#"{{"custom_id": "{id}", "method": "POST", "url": "/v1/chat/completions", "body": {{"model": "{model}", "messages": [{{"role": "user", "content": "hi"}}]}}}}"#
        )
    }

    fn codes(text: &str) -> Vec<(&'static str, Option<usize>)> {
        match read_input(text.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(|p| (p.code, p.line)).collect(),
        }
    }

    #[test]
    fn an_input_file_is_refused_as_a_whole_with_each_problem_by_line() {
        let good = format!("{}\n{}\n", line("a", "kimi-k2.6"), line("b", "kimi-k2.6"));
        assert!(codes(&good).is_empty());
        let bad = format!(
            "{}\n{}\nnot json\n{}",
            line("a", "kimi-k2.6"),
            line("a", "kimi-k2.6"),
            line("c", "moonshot-v1-8k").replace("POST", "GET")
        );
        assert_eq!(
            codes(&bad),
            [
                ("duplicate_custom_id", Some(2)),
                ("invalid_json_line", Some(3)),
                ("invalid_method", Some(4)),
                ("mismatched_model", Some(4)),
            ]
        );
        assert_eq!(codes(""), [("empty_file", None)]);
    }

    #[test]
    fn pages_follow_after_and_say_when_more_remain() {
        let store = BatchStore::new(Vec::new(), Duration::ZERO);
        let ids: Vec<String> = (0..5)
            .map(|_| {
                let object = store.insert_new(Map::new());
                object["id"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        let (first, more) = store.page(None, 2).expect("a page");
        assert!(more);
        assert_eq!(first[0]["id"], ids[4], "newest first");
        let (rest, more) = store.page(Some(&ids[3]), 10).expect("a page");
        assert!(!more);
        let rest: Vec<_> = rest
            .iter()
            .map(|b| b["id"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(rest, [&ids[2], &ids[1], &ids[0]]);
        assert!(store.page(Some("batch-unknown"), 10).is_none());
    }
}
