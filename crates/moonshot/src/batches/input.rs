//! A batch's input: JSON Lines of chat requests, each with its `custom_id`, checked as
//! Moonshot's docs demand before anything is uploaded.

use std::collections::HashSet;
use std::path::Path;

use moonshot_api::types::CreateChatCompletionRequest;
use serde::{Deserialize, Serialize};

use crate::call::Core;
use crate::chat::ChatRequest;
use crate::error::Error;
use crate::files::upload::{Unopenable, open_regular_file};
use crate::files::{FileObject, Files, MAX_UPLOAD_BYTES, Purpose};

/// The endpoint every line of a batch calls: the only one Moonshot runs in batches.
pub const CHAT_COMPLETIONS_ENDPOINT: &str = "/v1/chat/completions";

/// The largest input file: Moonshot's 100 MB file limit.
pub const MAX_INPUT_BYTES: u64 = MAX_UPLOAD_BYTES;

/// The name the input is uploaded under.
const INPUT_FILE_NAME: &str = "batch.jsonl";

/// One line of a batch's input, as written.
#[derive(Serialize)]
struct LineOut<'a> {
    custom_id: &'a str,
    method: &'static str,
    url: &'static str,
    body: crate::chat::WireBody<'a>,
}

/// One line of a batch's input, as read.
#[derive(Deserialize)]
struct LineIn {
    custom_id: String,
    method: String,
    url: String,
    body: CreateChatCompletionRequest,
}

/// The input of a batch: one chat request per line, each under a `custom_id` its result will
/// carry. Every line is checked as it is added, so an input that exists is one Moonshot takes:
/// unique non-blank ids, one model for all lines, requests within the chat limits (see
/// [`ChatRequest::check`]), none streamed, and at most [`MAX_INPUT_BYTES`] in all.
///
/// ```
/// use moonshot::batches::BatchInput;
/// use moonshot::chat::ChatRequest;
///
/// let mut input = BatchInput::new();
/// input.push("q1", &ChatRequest::new("kimi-k2.6").user("Name a prime."))?;
/// input.push("q2", &ChatRequest::new("kimi-k2.6").user("Name a colour."))?;
/// assert!(input.push("q1", &ChatRequest::new("kimi-k2.6").user("Again?")).is_err());
/// assert!(input.push("q3", &ChatRequest::new("moonshot-v1-8k").user("Other model?")).is_err());
/// assert_eq!(input.len(), 2);
/// assert!(std::str::from_utf8(input.as_jsonl())?.starts_with(r#"{"custom_id":"q1","method":"POST","url":"/v1/chat/completions","body":{"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct BatchInput {
    jsonl: Vec<u8>,
    ids: Vec<String>,
    seen: HashSet<String>,
    model: Option<String>,
}

impl BatchInput {
    /// An input with no lines yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `request` under `custom_id`. Nothing is added when a check fails.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank or repeated `custom_id`, a model other than the
    /// earlier lines', a streamed request, a request [`ChatRequest::check`] refuses, or an input
    /// that would pass [`MAX_INPUT_BYTES`].
    pub fn push(
        &mut self,
        custom_id: impl Into<String>,
        request: &ChatRequest,
    ) -> Result<&mut Self, Error> {
        let custom_id = custom_id.into();
        let line_number = self.ids.len() + 1;
        let at = |reason: String| invalid(format!("line {line_number} ({custom_id:?}): {reason}"));
        request.check().map_err(|e| at(e.to_string()))?;
        let body = request.as_request();
        self.check_line(&custom_id, body).map_err(at)?;
        let line = serde_json::to_vec(&LineOut {
            custom_id: &custom_id,
            method: "POST",
            url: CHAT_COMPLETIONS_ENDPOINT,
            body: request.wire(),
        })
        .map_err(|e| at(format!("cannot be written as JSON: {e}")))?;
        let total = (self.jsonl.len() + line.len() + 1) as u64;
        if total > MAX_INPUT_BYTES {
            return Err(at(format!(
                "takes the input to {total} bytes, above Moonshot's limit of 100 MB \
                 ({MAX_INPUT_BYTES} bytes): split it into several batches"
            )));
        }
        self.jsonl.extend_from_slice(&line);
        self.jsonl.push(b'\n');
        self.accept(custom_id, body);
        Ok(self)
    }

    /// Reads and checks an input written elsewhere, JSON Lines of `{"custom_id", "method":
    /// "POST", "url": "/v1/chat/completions", "body": {chat request}}`; it is kept byte for byte
    /// as given. A final newline is optional; a blank line elsewhere is refused.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the first bad line by number: not UTF-8, not JSON, not
    /// such an object, another method or endpoint, a body that is not a chat request, or a
    /// check of [`BatchInput::push`] failed; and for an empty input or one over
    /// [`MAX_INPUT_BYTES`].
    pub fn from_jsonl(jsonl: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let jsonl = jsonl.into();
        if jsonl.len() as u64 > MAX_INPUT_BYTES {
            return Err(invalid(format!(
                "it is {} bytes, above Moonshot's limit of 100 MB ({MAX_INPUT_BYTES} bytes): \
                 split it into several batches",
                jsonl.len()
            )));
        }
        let mut input = Self::new();
        let text = jsonl.strip_suffix(b"\n").unwrap_or(&jsonl);
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(invalid(
                "it is empty: give one chat request per line".to_owned(),
            ));
        }
        for (index, line) in text.split(|b| *b == b'\n').enumerate() {
            let at = |reason: String| invalid(format!("line {}: {reason}", index + 1));
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                return Err(at("it is blank: remove it".to_owned()));
            }
            let line: LineIn = serde_json::from_slice(line).map_err(|e| {
                at(format!(
                    "it is not a batch request ({e}): each line must be one JSON object with \
                     custom_id, method, url and body"
                ))
            })?;
            if line.method != "POST" {
                return Err(at(format!(
                    "method {:?}: batch requests are \"POST\"",
                    line.method
                )));
            }
            if line.url != CHAT_COMPLETIONS_ENDPOINT {
                return Err(at(format!(
                    "url {:?}: batches run {CHAT_COMPLETIONS_ENDPOINT} only",
                    line.url
                )));
            }
            let request = ChatRequest::from(line.body);
            let custom_id = line.custom_id;
            request
                .check()
                .map_err(|e| at(format!("({custom_id:?}) {e}")))?;
            input
                .check_line(&custom_id, request.as_request())
                .map_err(|reason| at(format!("({custom_id:?}) {reason}")))?;
            input.accept(custom_id, request.as_request());
        }
        input.jsonl = jsonl;
        Ok(input)
    }

    /// Reads and checks the input file at `path`, as [`BatchInput::from_jsonl`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the path is not a regular file (a directory, FIFO or
    /// device, refused before it is opened), cannot be read, or is over [`MAX_INPUT_BYTES`], and
    /// as [`BatchInput::from_jsonl`], naming the file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let named = |e: Error| match e {
            Error::InvalidInput { reason, .. } => Error::InvalidInput {
                name: "batch input",
                reason: format!("`{}`: {reason}", path.display()),
            },
            other => other,
        };
        let (file, len) = open_regular_file(path).map_err(|reason| {
            named(invalid(match reason {
                Unopenable::Directory => "it is a directory: give a .jsonl file".to_owned(),
                other => format!("it {other}"),
            }))
        })?;
        let over = |len: u64| {
            named(invalid(format!(
                "it is {len} bytes, above Moonshot's limit of 100 MB ({MAX_INPUT_BYTES} bytes): \
                 split it into several batches"
            )))
        };
        if len > MAX_INPUT_BYTES {
            return Err(over(len));
        }
        // Read to one byte past the limit, whatever the size said: a file the system generates
        // (under /proc) reports 0 bytes.
        let mut jsonl = Vec::with_capacity(len as usize);
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_INPUT_BYTES + 1),
            &mut jsonl,
        )
        .map_err(|e| named(invalid(format!("it cannot be read: {e}"))))?;
        if jsonl.len() as u64 > MAX_INPUT_BYTES {
            return Err(over(jsonl.len() as u64));
        }
        Self::from_jsonl(jsonl).map_err(named)
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no lines yet (an empty input cannot be submitted).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The model every line asks, once there is a line.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The lines' `custom_id`s, in order.
    pub fn custom_ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }

    /// The input as it is uploaded: JSON Lines, one request per line.
    pub fn as_jsonl(&self) -> &[u8] {
        &self.jsonl
    }

    /// Uploads the input with purpose `batch`.
    pub(crate) async fn upload(&self, client: &Core) -> Result<FileObject, Error> {
        if self.is_empty() {
            return Err(invalid(
                "it has no lines: push at least one request".to_owned(),
            ));
        }
        Files::new(client)
            .upload_bytes(self.jsonl.clone(), INPUT_FILE_NAME, Purpose::Batch)
            .await
    }

    /// What [`BatchInput::push`] and [`BatchInput::from_jsonl`] check of every line besides
    /// the chat limits: the id and the model.
    fn check_line(
        &self,
        custom_id: &str,
        body: &CreateChatCompletionRequest,
    ) -> Result<(), String> {
        if custom_id.trim().is_empty() {
            return Err("the custom_id is blank: give each line an id of its own".to_owned());
        }
        if self.seen.contains(custom_id) {
            return Err(
                "the custom_id is used by an earlier line: each line needs its own".to_owned(),
            );
        }
        if body.stream == Some(true) {
            return Err("it asks for a stream: batch answers are never streamed".to_owned());
        }
        let model = body.model.as_str();
        match &self.model {
            Some(first) if first != model => Err(format!(
                "it asks {model:?}, but earlier lines ask {first:?}: a batch runs one model"
            )),
            _ => Ok(()),
        }
    }

    fn accept(&mut self, custom_id: String, body: &CreateChatCompletionRequest) {
        if self.model.is_none() {
            self.model = Some(body.model.as_str().to_owned());
        }
        self.seen.insert(custom_id.clone());
        self.ids.push(custom_id);
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidInput {
        name: "batch input",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, model: &str) -> String {
        format!(
            r#"{{"custom_id": "{id}", "method": "POST", "url": "/v1/chat/completions", "body": {{"model": "{model}", "messages": [{{"role": "user", "content": "hi"}}]}}}}"#
        )
    }

    fn reason(jsonl: &str) -> String {
        match BatchInput::from_jsonl(jsonl) {
            Err(Error::InvalidInput {
                name: "batch input",
                reason,
            }) => reason,
            other => panic!("{jsonl:?} was not refused as batch input: {other:?}"),
        }
    }

    #[test]
    fn a_written_input_is_kept_byte_for_byte() {
        let jsonl = format!("{}\r\n{}", line("a", "kimi-k2.6"), line("b", "kimi-k2.6"));
        let input = BatchInput::from_jsonl(jsonl.clone()).expect("a good input");
        assert_eq!(input.as_jsonl(), jsonl.as_bytes());
        assert_eq!(input.custom_ids().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(input.model(), Some("kimi-k2.6"));
    }

    #[test]
    fn each_bad_line_is_named_by_its_number() {
        let good = line("a", "kimi-k2.6");
        let cases = [
            (
                format!("{good}\nnot json"),
                "line 2: it is not a batch request",
            ),
            (
                format!("{good}\n{good}"),
                "line 2: (\"a\") the custom_id is used by an earlier line",
            ),
            (
                format!("{good}\n{}", line("b", "moonshot-v1-8k")),
                "line 2: (\"b\") it asks \"moonshot-v1-8k\", but earlier lines ask \"kimi-k2.6\"",
            ),
            (
                format!("{good}\n\n{}", line("b", "kimi-k2.6")),
                "line 2: it is blank",
            ),
            (good.replace("POST", "GET"), "line 1: method \"GET\""),
            (
                good.replace("/v1/chat/completions", "/v1/embeddings"),
                "line 1: url \"/v1/embeddings\"",
            ),
            (
                good.replace(r#""a""#, r#""  ""#),
                "line 1: (\"  \") the custom_id is blank",
            ),
            (
                good.replace(
                    r#""messages": [{"role": "user", "content": "hi"}]"#,
                    r#""messages": []"#,
                ),
                "line 1: (\"a\") invalid messages",
            ),
            (
                good.replace(r#""model""#, r#""stream": true, "model""#),
                "it asks for a stream",
            ),
            (String::new(), "it is empty"),
            ("\n".to_owned(), "it is empty"),
        ];
        for (jsonl, expected) in cases {
            let reason = reason(&jsonl);
            assert!(
                reason.starts_with(expected) || reason.contains(expected),
                "{jsonl:?}: {reason}"
            );
        }
    }

    #[test]
    fn push_refuses_what_from_jsonl_refuses_and_adds_nothing() {
        let mut input = BatchInput::new();
        let ask = |model: &str| ChatRequest::new(model).user("hi");
        input.push("a", &ask("kimi-k2.6")).expect("first line");
        assert!(input.push("a", &ask("kimi-k2.6")).is_err());
        assert!(input.push("b", &ask("kimi-k2.5")).is_err());
        assert!(input.push(" ", &ask("kimi-k2.6")).is_err());
        assert!(
            input.push("c", &ChatRequest::new("kimi-k2.6")).is_err(),
            "no messages"
        );
        assert_eq!(input.len(), 1);
        let again =
            BatchInput::from_jsonl(input.as_jsonl().to_vec()).expect("what push wrote reads back");
        assert_eq!(again.custom_ids().collect::<Vec<_>>(), ["a"]);
    }
}
