//! The values the Files API returns.

use std::fmt;

use crate::ids::check_id;

pub use moonshot_api::Purpose;

/// What deleting a file answers: its id and `deleted: true`.
pub type FileDeleted = moonshot_api::types::FileDeleteResponse;

/// A file's metadata, as returned by [`Files::retrieve`](crate::files::Files::retrieve).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FileObject {
    /// The file's id, e.g. `clg681objj8g9m7n4je0`.
    pub id: String,
    /// The object type, `file`.
    pub object: String,
    /// The size in bytes.
    pub bytes: i64,
    /// When the file was uploaded, in seconds since the Unix epoch.
    pub created_at: i64,
    /// The name the file was uploaded with.
    pub filename: String,
    /// What the file was uploaded for.
    pub purpose: Purpose,
    /// Where processing stands.
    pub status: FileStatus,
    /// Details when processing failed or gave warnings; empty or absent otherwise.
    pub status_details: Option<String>,
}

impl From<moonshot_api::types::FileObject> for FileObject {
    fn from(file: moonshot_api::types::FileObject) -> Self {
        Self {
            id: file.id,
            object: file.object,
            bytes: file.bytes,
            created_at: file.created_at,
            filename: file.filename,
            purpose: file.purpose,
            status: FileStatus::from(file.status.as_str()),
            status_details: file.status_details,
        }
    }
}

/// Where a file's processing stands. An open set: a value unknown to this version of the crate
/// is kept in [`FileStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileStatus {
    /// `ok`: processed (the value the docs' usage example shows).
    Ok,
    /// `ready`: processed (the value the docs' schema example shows).
    Ready,
    /// Any other value, as sent by the server.
    Other(String),
}

impl FileStatus {
    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ok => "ok",
            Self::Ready => "ready",
            Self::Other(value) => value,
        }
    }

    /// Whether the file is processed and its content can be read (`ok` or `ready`).
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Ok | Self::Ready)
    }
}

impl From<&str> for FileStatus {
    fn from(value: &str) -> Self {
        match value {
            "ok" => Self::Ok,
            "ready" => Self::Ready,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for FileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for FileStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A file's extracted content, exactly as served: pass [`FileContent::as_str`] as-is in a
/// system message, or read its fields with [`FileContent::parsed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    text: String,
}

impl FileContent {
    pub(crate) fn new(text: String) -> Self {
        Self { text }
    }

    /// The body, exactly as served.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The body, exactly as served.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The body's fields. Although documented as plain text, the body is a JSON object
    /// (`{"content": ..., "file_type": ..., "filename": ..., "title": ..., "type": ...}`).
    ///
    /// Fallback: when the body is not such an object (not JSON, or without a string `content`),
    /// the whole body is the `content`, the other fields are `None` and
    /// [`ExtractedContent::structured`] is `false`.
    pub fn parsed(&self) -> ExtractedContent {
        #[derive(serde::Deserialize)]
        struct Body {
            content: String,
            file_type: Option<String>,
            filename: Option<String>,
            title: Option<String>,
            #[serde(rename = "type")]
            kind: Option<String>,
        }
        match serde_json::from_str::<Body>(&self.text) {
            Ok(body) => ExtractedContent {
                content: body.content,
                file_type: body.file_type,
                filename: body.filename,
                title: body.title,
                kind: body.kind,
                structured: true,
            },
            Err(_) => ExtractedContent {
                content: self.text.clone(),
                file_type: None,
                filename: None,
                title: None,
                kind: None,
                structured: false,
            },
        }
    }
}

impl fmt::Display for FileContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The fields of a file's extracted content; see [`FileContent::parsed`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ExtractedContent {
    /// The extracted text.
    pub content: String,
    /// The file's media type, e.g. `application/pdf`.
    pub file_type: Option<String>,
    /// The file's name.
    pub filename: Option<String>,
    /// The document's title, often empty.
    pub title: Option<String>,
    /// The body's `type`, `file`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `false` when the body was not the expected JSON object and `content` is the whole body.
    pub structured: bool,
}

/// Refuses file ids that would reach another path or make no sense, before any request is
/// sent (see [`check_id`]).
pub(crate) fn check_file_id(id: &str) -> Result<(), crate::Error> {
    check_id("file id", "a file object", id)
}
