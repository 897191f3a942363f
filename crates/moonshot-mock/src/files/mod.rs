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

mod demo;
mod fixtures;

use serde_json::{Map, Value};

use crate::json::{content_envelope, json_escaped};

pub use demo::{DEMO_BATCH_OUTPUT_ID, DEMO_FAILED_ID, DEMO_IMAGE_ID, DEMO_PDF_ID, demo_files};
pub use fixtures::{FixtureError, load_fixtures};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
