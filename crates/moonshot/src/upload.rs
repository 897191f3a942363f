//! The file upload's multipart body, written by hand: progenitor generates none.
//!
//! The body is streamed (reqwest's multipart, a file read in 64 KiB chunks), so memory stays
//! bounded whatever the file's size. Moonshot's limits are checked before any byte is sent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use reqwest::multipart::{Form, Part};
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

use crate::error::Error;
use crate::file_types::Purpose;

/// Moonshot's largest file: 100 MB.
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// How much of a file is read at a time.
const CHUNK: usize = 64 * 1024;

/// Told the bytes of the file sent so far in the current attempt.
pub(crate) type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// A file on disk, checked against Moonshot's limits: opened anew for each attempt.
#[derive(Debug)]
pub(crate) struct PathUpload {
    path: PathBuf,
    file_name: String,
    len: u64,
}

impl PathUpload {
    /// The file's size.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Checks `path` before any request: it must be a readable, non-empty file of at most
    /// [`MAX_UPLOAD_BYTES`], with a UTF-8 name.
    pub(crate) fn check(path: &Path) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidInput {
            name: "path",
            reason: format!("`{}` {reason}", path.display()),
        };
        let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => invalid("does not exist".to_owned()),
            _ => invalid(format!("cannot be read: {e}")),
        })?;
        if metadata.is_dir() {
            return Err(invalid("is a directory: upload a file".to_owned()));
        }
        std::fs::File::open(path).map_err(|e| invalid(format!("cannot be read: {e}")))?;
        let len = metadata.len();
        if len == 0 {
            return Err(invalid("is empty: Moonshot refuses empty files".to_owned()));
        }
        if len > MAX_UPLOAD_BYTES {
            return Err(invalid(format!(
                "is {len} bytes, over Moonshot's limit of 100 MB ({MAX_UPLOAD_BYTES} bytes)"
            )));
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| invalid("has no file name".to_owned()))?
            .to_str()
            .ok_or_else(|| {
                invalid(
                    "has a file name that is not UTF-8: rename it, or upload it with \
                     `Files::upload_reader` and a name"
                        .to_owned(),
                )
            })?
            .to_owned();
        Ok(Self {
            path: path.to_owned(),
            file_name,
            len,
        })
    }

    /// The multipart form of one attempt: the file opened anew, streamed, `progress` told as
    /// it goes.
    pub(crate) fn form(
        &self,
        purpose: &Purpose,
        progress: Option<&Progress>,
    ) -> Result<Form, Error> {
        let file = std::fs::File::open(&self.path).map_err(|e| Error::InvalidInput {
            name: "path",
            reason: format!("`{}` cannot be read: {e}", self.path.display()),
        })?;
        let progress = progress.cloned();
        let mut sent = 0u64;
        let stream = ReaderStream::with_capacity(tokio::fs::File::from_std(file), CHUNK).inspect(
            move |chunk| {
                if let (Ok(chunk), Some(progress)) = (chunk, &progress) {
                    sent += chunk.len() as u64;
                    progress(sent);
                }
            },
        );
        let body = reqwest::Body::wrap_stream(stream);
        let part = Part::stream_with_length(body, self.len);
        form(part, &self.file_name, purpose)
    }
}

/// Bytes in memory and their name, checked against Moonshot's limits: sent anew (a cheap clone)
/// for each attempt.
#[derive(Debug)]
pub(crate) struct BytesUpload {
    bytes: bytes::Bytes,
    file_name: String,
}

impl BytesUpload {
    /// Checks the bytes and the name before any request: not empty, at most
    /// [`MAX_UPLOAD_BYTES`], a name that can name a file.
    pub(crate) fn check(bytes: bytes::Bytes, file_name: &str) -> Result<Self, Error> {
        check_file_name(file_name)?;
        let invalid = |reason: String| Error::InvalidInput {
            name: "bytes",
            reason: format!("the content of `{file_name}` {reason}"),
        };
        if bytes.is_empty() {
            return Err(invalid("is empty: Moonshot refuses empty files".to_owned()));
        }
        if bytes.len() as u64 > MAX_UPLOAD_BYTES {
            return Err(invalid(format!(
                "is {} bytes, above Moonshot's limit of 100 MB ({MAX_UPLOAD_BYTES} bytes)",
                bytes.len()
            )));
        }
        Ok(Self {
            bytes,
            file_name: file_name.to_owned(),
        })
    }

    /// The multipart form of one attempt.
    pub(crate) fn form(&self, purpose: &Purpose) -> Result<Form, Error> {
        let part = Part::stream_with_length(
            reqwest::Body::from(self.bytes.clone()),
            self.bytes.len() as u64,
        );
        form(part, &self.file_name, purpose)
    }
}

/// Refuses a name that cannot name a file in a multipart body.
fn check_file_name(file_name: &str) -> Result<(), Error> {
    if file_name.trim().is_empty() || file_name.chars().any(char::is_control) {
        return Err(Error::InvalidInput {
            name: "file name",
            reason: format!("{file_name:?} cannot name a file: give a name such as `notes.txt`"),
        });
    }
    Ok(())
}

/// A one-shot reader and its name: sent once, never retried.
pub(crate) struct ReaderUpload<R> {
    reader: Mutex<Option<R>>,
    file_name: String,
}

impl<R: AsyncRead + Send + Sync + 'static> ReaderUpload<R> {
    /// Checks the name before any request.
    pub(crate) fn new(reader: R, file_name: &str) -> Result<Self, Error> {
        check_file_name(file_name)?;
        Ok(Self {
            reader: Mutex::new(Some(reader)),
            file_name: file_name.to_owned(),
        })
    }

    /// The multipart form of the one attempt. The body stops with an error past 100 MB.
    pub(crate) fn form(&self, purpose: &Purpose) -> Result<Form, Error> {
        let reader = self
            .reader
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .ok_or_else(|| Error::InvalidInput {
                name: "reader",
                reason: "it was read by an earlier attempt".to_owned(),
            })?;
        let mut sent = 0u64;
        let stream = ReaderStream::with_capacity(reader, CHUNK).map(move |chunk| {
            let chunk = chunk?;
            sent += chunk.len() as u64;
            if sent > MAX_UPLOAD_BYTES {
                return Err(std::io::Error::other(format!(
                    "the reader gave more than Moonshot's limit of 100 MB ({MAX_UPLOAD_BYTES} \
                     bytes)"
                )));
            }
            Ok(chunk)
        });
        let part = Part::stream(reqwest::Body::wrap_stream(stream));
        form(part, &self.file_name, purpose)
    }
}

fn form(part: Part, file_name: &str, purpose: &Purpose) -> Result<Form, Error> {
    let part = part
        .file_name(file_name.to_owned())
        .mime_str(media_type(file_name))
        .map_err(|e| Error::InvalidInput {
            name: "file name",
            reason: e.to_string(),
        })?;
    Ok(Form::new()
        .text("purpose", purpose.as_str().to_owned())
        .part("file", part))
}

/// Checks an upload purpose: any value Moonshot may add is allowed, but not one that cannot be
/// a form field's value.
pub(crate) fn check_purpose(purpose: &Purpose) -> Result<(), Error> {
    let value = purpose.as_str();
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidInput {
            name: "purpose",
            reason: format!(
                "{value:?} is not a purpose: use file-extract, image, video or batch (or another \
                 value Moonshot documents, without spaces)"
            ),
        });
    }
    Ok(())
}

/// The media type sent for a file, from its extension; the server reads the content anyway.
fn media_type(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}
