//! The files a mock server serves: the built-in demo files or a fixtures directory.
//!
//! # Fixture format
//!
//! A fixtures directory holds, per file, two entries named after the file id:
//!
//! - `<id>.json` (required): the file object exactly as `GET /v1/files/{file_id}` returns it, for
//!   example `{"id": "<id>", "object": "file", "bytes": 1024, "created_at": 1717000000,
//!   "filename": "report.pdf", "purpose": "file-extract", "status": "ok", "status_details": ""}`.
//!   `id` must equal the file name without `.json`; `object` must be `"file"`; `bytes` (a
//!   non-negative integer), `created_at` (an integer), `filename`, `purpose` and `status` (strings)
//!   are required; `status_details`, when present, is a string. Any other field is served as is,
//!   and `purpose` and `status` take any string (the real API sends more values than it documents).
//! - `<id>.txt` (optional): the extracted text, UTF-8. `GET /v1/files/{file_id}/content` answers
//!   with the JSON object the real API sends as text: `{"content": <the text>, "file_type": <from
//!   the filename's extension>, "filename": <filename>, "title": "", "type": "file"}`. Without a
//!   `.txt` the content request fails the way a failed extraction does: a 500 whose message is
//!   `extract task failed: <status_details>`.
//!
//! File ids use ASCII letters, digits, `-`, `_` and `.`. Entries whose name starts with `.` are
//! ignored; anything else (another extension, a directory, a `.txt` without its `.json`) is
//! refused, as is a directory with no fixture at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::body::content_envelope;

/// Id of the demo PDF `moonshot-intro.pdf` (purpose `file-extract`, with extracted text).
pub const DEMO_PDF_ID: &str = "mock-intro-pdf";
/// Id of the demo image `architecture-diagram.png` (purpose `image`, no extracted text).
pub const DEMO_IMAGE_ID: &str = "mock-diagram-png";
/// Id of the demo batch result (purpose `batch_output`, a value the docs do not list).
pub const DEMO_BATCH_OUTPUT_ID: &str = "mock-batch-output";
/// Id of the demo scan whose extraction failed (status `failed`; its content request is a 500).
pub const DEMO_FAILED_ID: &str = "mock-scan-failed";

/// `created_at` of the demo files: 2024-05-29T16:26:40Z.
const DEMO_CREATED_AT: i64 = 1_717_000_000;

/// One file a mock server serves: its file object and, when extraction succeeded, its text.
#[derive(Debug, Clone, PartialEq)]
pub struct MockFile {
    id: String,
    filename: String,
    object: Map<String, Value>,
    content: Option<String>,
}

/// Why a JSON value is not a file object the mock can serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileObjectError {
    /// The value is not a JSON object.
    #[error("a file object must be a JSON object")]
    NotAnObject,
    /// A field the `FileObject` schema requires is absent.
    #[error("missing required field `{field}`")]
    MissingField {
        /// The absent field.
        field: &'static str,
    },
    /// A field holds a value of the wrong JSON type.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// The offending field.
        field: &'static str,
        /// What the field must hold, in words.
        expected: &'static str,
    },
    /// `object` is a string other than `"file"`.
    #[error("field `object` must be \"file\", found {found:?}")]
    NotAFile {
        /// The value found.
        found: String,
    },
    /// The id cannot be used as one path segment of the file's URL.
    #[error(
        "{id:?} is not a usable file id: use ASCII letters, digits, '-', '_' and '.' (not \".\" or \"..\")"
    )]
    InvalidId {
        /// The rejected id.
        id: String,
    },
}

/// Why a fixtures directory was refused.
///
/// Each variant names the entry at fault; its [`source`](std::error::Error::source), where there
/// is one, says what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The directory itself could not be listed.
    #[error("cannot read fixtures directory {}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A fixture file could not be read.
    #[error("cannot read fixture {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no `<id>.json` at all.
    #[error("no fixtures in {}: expected <id>.json files (and optional <id>.txt)", dir.display())]
    Empty {
        /// The directory.
        dir: PathBuf,
    },
    /// An entry is neither `<id>.json` nor `<id>.txt` (or is a directory).
    #[error("unexpected entry {}: fixtures are <id>.json and <id>.txt files", path.display())]
    UnexpectedEntry {
        /// The entry.
        path: PathBuf,
    },
    /// A `<id>.txt` has no `<id>.json` beside it.
    #[error("content {} has no metadata: add {}", path.display(), expected.display())]
    ContentWithoutMetadata {
        /// The `.txt` file.
        path: PathBuf,
        /// The `.json` file that is missing.
        expected: PathBuf,
    },
    /// A `<id>.json` is not valid JSON.
    #[error("invalid JSON in {}", path.display())]
    InvalidJson {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        #[source]
        source: serde_json::Error,
    },
    /// A `<id>.json` is JSON but not a file object.
    #[error("invalid file object in {}", path.display())]
    InvalidFileObject {
        /// The file.
        path: PathBuf,
        /// What is wrong with the object.
        #[source]
        source: FileObjectError,
    },
    /// The `id` inside a `<id>.json` differs from its file name.
    #[error("{}: field `id` is {id:?} but the file name says {expected:?}", path.display())]
    IdMismatch {
        /// The file.
        path: PathBuf,
        /// The id inside the file.
        id: String,
        /// The id the file name gives.
        expected: String,
    },
    /// A `<id>.txt` is not UTF-8.
    #[error("content {} is not UTF-8", path.display())]
    ContentNotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the first invalid byte is.
        #[source]
        source: std::string::FromUtf8Error,
    },
}

impl MockFile {
    /// A file from its file object and its extracted text (`None`: extraction failed or does
    /// not apply, and the content request answers 500).
    ///
    /// # Errors
    ///
    /// [`FileObjectError`] when `object` lacks a field the `FileObject` schema requires, holds one
    /// of the wrong type, has `object` other than `"file"`, or an id unusable in a URL.
    pub fn new(object: Value, content: Option<String>) -> Result<Self, FileObjectError> {
        let Value::Object(object) = object else {
            return Err(FileObjectError::NotAnObject);
        };
        let id = required_string(&object, "id")?.to_owned();
        let kind = required_string(&object, "object")?;
        if kind != "file" {
            return Err(FileObjectError::NotAFile {
                found: kind.to_owned(),
            });
        }
        require(&object, "bytes", "a non-negative integer", Value::is_u64)?;
        require(&object, "created_at", "an integer", |v| {
            v.is_i64() || v.is_u64()
        })?;
        let filename = required_string(&object, "filename")?.to_owned();
        required_string(&object, "purpose")?;
        required_string(&object, "status")?;
        if object.get("status_details").is_some_and(|v| !v.is_string()) {
            return Err(FileObjectError::WrongType {
                field: "status_details",
                expected: "a string",
            });
        }
        if !is_usable_id(&id) {
            return Err(FileObjectError::InvalidId { id });
        }
        Ok(Self {
            id,
            filename,
            object,
            content,
        })
    }

    /// The file id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The original file name.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The file object as `GET /v1/files/{file_id}` returns it.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The extracted text, if extraction succeeded.
    pub fn content(&self) -> Option<&str> {
        self.content.as_deref()
    }

    /// The body `GET /v1/files/{file_id}/content` returns: a JSON object as text, written the way
    /// the real API writes it (`", "` and `": "` separators, fields in its order).
    pub fn content_body(&self) -> Option<String> {
        self.content.as_deref().map(|text| {
            let (prefix, suffix) = content_envelope(&self.filename);
            format!("{prefix}{}{suffix}", json_escaped(text))
        })
    }

    /// `status_details`, or `""` when absent.
    pub(crate) fn status_details(&self) -> &str {
        self.object
            .get("status_details")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// The built-in demo files, sorted by id: see the `DEMO_*_ID` constants.
pub fn demo_files() -> Vec<MockFile> {
    let files = [
        (
            json!({
                "id": DEMO_BATCH_OUTPUT_ID,
                "object": "file",
                "bytes": 412,
                "created_at": DEMO_CREATED_AT + 3_600,
                "filename": "batch_output.jsonl",
                "purpose": "batch_output",
                "status": "ok",
                "status_details": "",
            }),
            Some(DEMO_BATCH_OUTPUT_TEXT),
        ),
        (
            json!({
                "id": DEMO_IMAGE_ID,
                "object": "file",
                "bytes": 183_552,
                "created_at": DEMO_CREATED_AT + 120,
                "filename": "architecture-diagram.png",
                "purpose": "image",
                "status": "ok",
                "status_details": "",
            }),
            None,
        ),
        (
            json!({
                "id": DEMO_PDF_ID,
                "object": "file",
                "bytes": 48_213,
                "created_at": DEMO_CREATED_AT,
                "filename": "moonshot-intro.pdf",
                "purpose": "file-extract",
                "status": "ok",
                "status_details": "",
            }),
            Some(DEMO_PDF_TEXT),
        ),
        (
            json!({
                "id": DEMO_FAILED_ID,
                "object": "file",
                "bytes": 2_310_144,
                "created_at": DEMO_CREATED_AT + 7_200,
                "filename": "scanned-contract.pdf",
                "purpose": "file-extract",
                "status": "failed",
                "status_details": "no text layer found in the document",
            }),
            None,
        ),
    ];
    files
        .into_iter()
        .filter_map(|(object, text)| MockFile::new(object, text.map(str::to_owned)).ok())
        .collect()
}

/// Loads a fixtures directory (format in the [module docs](self)), sorted by id.
///
/// # Errors
///
/// [`FixtureError`] naming the first entry at fault, in file name order.
pub fn load_fixtures(dir: &Path) -> Result<Vec<MockFile>, FixtureError> {
    let read_dir_error = |source| FixtureError::ReadDir {
        dir: dir.to_owned(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(read_dir_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_dir_error)?;
    entries.sort();

    let mut metadata = BTreeMap::new();
    let mut contents = BTreeMap::new();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(FixtureError::UnexpectedEntry { path });
        };
        if name.starts_with('.') {
            continue;
        }
        let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
        let stem = stem.to_owned();
        match extension {
            _ if path.is_dir() => return Err(FixtureError::UnexpectedEntry { path }),
            "json" => metadata.insert(stem, path),
            "txt" => contents.insert(stem, path),
            _ => return Err(FixtureError::UnexpectedEntry { path }),
        };
    }
    if let Some((stem, path)) = contents.iter().find(|(s, _)| !metadata.contains_key(*s)) {
        return Err(FixtureError::ContentWithoutMetadata {
            path: path.clone(),
            expected: dir.join(format!("{stem}.json")),
        });
    }
    if metadata.is_empty() {
        return Err(FixtureError::Empty {
            dir: dir.to_owned(),
        });
    }

    metadata
        .into_iter()
        .map(|(stem, path)| {
            let content = contents.remove(&stem).map(read_content).transpose()?;
            let bytes = read(&path)?;
            let object =
                serde_json::from_slice(&bytes).map_err(|source| FixtureError::InvalidJson {
                    path: path.clone(),
                    source,
                })?;
            let file = MockFile::new(object, content).map_err(|source| {
                FixtureError::InvalidFileObject {
                    path: path.clone(),
                    source,
                }
            })?;
            if file.id != stem {
                return Err(FixtureError::IdMismatch {
                    path,
                    id: file.id,
                    expected: stem,
                });
            }
            Ok(file)
        })
        .collect()
}

fn read(path: &Path) -> Result<Vec<u8>, FixtureError> {
    std::fs::read(path).map_err(|source| FixtureError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_content(path: PathBuf) -> Result<String, FixtureError> {
    String::from_utf8(read(&path)?).map_err(|source| FixtureError::ContentNotUtf8 { path, source })
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, FileObjectError> {
    require(object, field, "a string", Value::is_string)
        .map(|value| value.as_str().unwrap_or_default())
}

fn require<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
    expected: &'static str,
    is_expected: impl Fn(&Value) -> bool,
) -> Result<&'a Value, FileObjectError> {
    match object.get(field) {
        None => Err(FileObjectError::MissingField { field }),
        Some(value) if is_expected(value) => Ok(value),
        Some(_) => Err(FileObjectError::WrongType { field, expected }),
    }
}

/// Whether `id` is one URL path segment that needs no escaping and is not a dot segment.
pub(crate) fn is_usable_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A string as a JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}

/// A string escaped as inside a JSON string literal, without the quotes.
pub(crate) fn json_escaped(text: &str) -> String {
    let mut quoted = json_string(text);
    quoted.pop();
    quoted.remove(0);
    quoted
}

/// The content body's `file_type`: the media type the file name's extension implies.
pub(crate) fn file_type(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

const DEMO_PDF_TEXT: &str = "Moonshot AI Platform: Getting Started\n\
\n\
Kimi reads long documents so that you do not have to paste them into a prompt. Upload a PDF, \
Word, Excel, PowerPoint or plain-text file with purpose file-extract; the platform extracts its \
text in the background and marks the file ok once the text is ready. Retrieve the extracted text \
from /v1/files/{file_id}/content and place it, unchanged, in a system message ahead of your \
question: the model then answers from the document, quoting its sections and page headings.\n\
\n\
Each account can keep up to 1,000 files of at most 100 MB each, 10 GB in total. Delete files you \
no longer need; extracted text stays available for as long as the file exists.\n";

const DEMO_BATCH_OUTPUT_TEXT: &str = r#"{"id": "batch-req-1", "custom_id": "request-1", "response": {"status_code": 200, "body": {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "Hello!"}}]}}}
{"id": "batch-req-2", "custom_id": "request-2", "response": {"status_code": 200, "body": {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "Bonjour !"}}]}}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_files_are_all_valid() {
        let ids: Vec<_> = demo_files().iter().map(|f| f.id().to_owned()).collect();
        assert_eq!(
            ids,
            [
                DEMO_BATCH_OUTPUT_ID,
                DEMO_IMAGE_ID,
                DEMO_PDF_ID,
                DEMO_FAILED_ID
            ]
        );
    }

    #[test]
    fn content_body_is_written_like_the_real_api() {
        let file = MockFile::new(
            json!({"id": "a", "object": "file", "bytes": 1, "created_at": 0,
                   "filename": "x.PDF", "purpose": "file-extract", "status": "ok"}),
            Some("line \"one\"\n".to_owned()),
        )
        .expect("valid file object");
        assert_eq!(
            file.content_body().as_deref(),
            Some(
                r#"{"content": "line \"one\"\n", "file_type": "application/pdf", "filename": "x.PDF", "title": "", "type": "file"}"#
            )
        );
    }

    #[test]
    fn file_object_checks_name_the_field() {
        let base = json!({"id": "a", "object": "file", "bytes": 1, "created_at": 0,
                          "filename": "x.pdf", "purpose": "file-extract", "status": "ok"});
        let with = |field: &str, value: Value| {
            let mut object = base.clone();
            object[field] = value;
            MockFile::new(object, None).err()
        };
        assert_eq!(
            with("bytes", json!(-1)),
            Some(FileObjectError::WrongType {
                field: "bytes",
                expected: "a non-negative integer"
            })
        );
        assert_eq!(
            with("object", json!("list")),
            Some(FileObjectError::NotAFile {
                found: "list".to_owned()
            })
        );
        assert_eq!(
            with("status_details", Value::Null),
            Some(FileObjectError::WrongType {
                field: "status_details",
                expected: "a string"
            })
        );
        assert_eq!(
            with("id", json!("..")),
            Some(FileObjectError::InvalidId {
                id: "..".to_owned()
            })
        );
        assert_eq!(with("purpose", json!("anything-new")), None);
        assert_eq!(
            MockFile::new(json!([]), None).err(),
            Some(FileObjectError::NotAnObject)
        );
    }

    #[test]
    fn usable_ids() {
        assert!(is_usable_id("cqbu3ijd8pg8l7k0ghs0"));
        assert!(is_usable_id("file_1.v2"));
        for bad in ["", ".", "..", "a/b", "a b", "é"] {
            assert!(!is_usable_id(bad), "{bad:?} accepted");
        }
    }
}
