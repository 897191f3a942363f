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

use super::types::Purpose;
use crate::error::map::InputChanged;
use crate::error::{BoxError, Error};

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

    /// Checks `path` before any request: it must be a readable, non-empty regular file of at
    /// most [`MAX_UPLOAD_BYTES`], with a UTF-8 name that can name a file in a multipart body.
    pub(crate) fn check(path: &Path) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidInput {
            name: "path",
            reason: format!("`{}` {reason}", path.display()),
        };
        let (mut file, len) = open_regular_file(path).map_err(|reason| match reason {
            Unopenable::Directory => invalid("is a directory: upload a file".to_owned()),
            other => invalid(other.to_string()),
        })?;
        if len == 0 {
            // A file the system generates (under /proc or /sys) has a size of 0 yet holds text.
            let holds_bytes = std::io::Read::read(&mut file, &mut [0u8; 1]).is_ok_and(|n| n > 0);
            return Err(invalid(if holds_bytes {
                "reports a size of 0 bytes though it holds text (a file the system generates, as \
                 under /proc): copy it to a regular file and upload that"
                    .to_owned()
            } else {
                "is empty: Moonshot refuses empty files".to_owned()
            }));
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
        check_file_name(&file_name)?;
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
        let (file, _) = open_regular_file(&self.path).map_err(|reason| Error::InvalidInput {
            name: "path",
            reason: format!("`{}` {reason}", self.path.display()),
        })?;
        let progress = progress.cloned();
        let (path, expected) = (self.path.clone(), self.len);
        let changed = move |now: String| {
            BoxError::from(InputChanged {
                name: "path",
                reason: format!(
                    "`{}` changed size during the upload ({expected} bytes when it was checked, \
                     {now}): upload it again once nothing writes to it",
                    path.display()
                ),
            })
        };
        let chunks = ReaderStream::with_capacity(tokio::fs::File::from_std(file), CHUNK);
        // The body is declared `expected` bytes long: a file that shrinks or grows meanwhile ends
        // the body with an error saying so, neither sent short nor cut silently.
        let stream = futures::stream::unfold(Some((chunks, 0u64)), move |state| {
            let (progress, changed) = (progress.clone(), changed.clone());
            async move {
                let (mut chunks, mut sent) = state?;
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        sent += chunk.len() as u64;
                        if sent > expected {
                            return Some((Err(changed(format!("over {expected} now"))), None));
                        }
                        if let Some(progress) = &progress {
                            progress(sent);
                        }
                        Some((Ok(chunk), Some((chunks, sent))))
                    }
                    Some(Err(e)) => Some((Err(BoxError::from(e)), None)),
                    None if sent < expected => {
                        Some((Err(changed(format!("{sent} bytes now"))), None))
                    }
                    None => None,
                }
            }
        });
        let body = reqwest::Body::wrap_stream(stream);
        let part = Part::stream_with_length(body, self.len);
        form(part, &self.file_name, purpose)
    }
}

/// Why a path cannot be read as a file.
#[derive(Debug)]
pub(crate) enum Unopenable {
    /// Nothing is there.
    Missing,
    /// A directory is there.
    Directory,
    /// A FIFO, device or socket is there: opening it may wait for a writer, reading it may never
    /// end.
    Special(&'static str),
    /// It cannot be opened or looked at.
    Unreadable(std::io::Error),
}

impl std::fmt::Display for Unopenable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("does not exist"),
            Self::Directory => f.write_str("is a directory"),
            Self::Special(kind) => write!(
                f,
                "is {kind}, not a regular file: give a regular file (save what it gives to one \
                 first)"
            ),
            Self::Unreadable(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

/// Opens `path` for reading when it is a regular file, and gives its size. Anything else is
/// refused before it is opened: opening a FIFO waits for a writer, and a device such as
/// `/dev/zero` reads without end.
pub(crate) fn open_regular_file(path: &Path) -> Result<(std::fs::File, u64), Unopenable> {
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Unopenable::Missing,
        _ => Unopenable::Unreadable(e),
    };
    let kind = |metadata: &std::fs::Metadata| {
        let file_type = metadata.file_type();
        if file_type.is_file() {
            return None;
        }
        if file_type.is_dir() {
            return Some(Unopenable::Directory);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt as _;
            if file_type.is_fifo() {
                return Some(Unopenable::Special("a FIFO (named pipe)"));
            }
            if file_type.is_char_device() || file_type.is_block_device() {
                return Some(Unopenable::Special("a device"));
            }
            if file_type.is_socket() {
                return Some(Unopenable::Special("a socket"));
            }
        }
        Some(Unopenable::Special("neither a file nor a directory"))
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if let Some(refused) = kind(&metadata) {
        return Err(refused);
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // Looked at again through the handle: the path may have been replaced meanwhile.
    let metadata = file.metadata().map_err(unreadable)?;
    match kind(&metadata) {
        Some(refused) => Err(refused),
        None => Ok((file, metadata.len())),
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

/// Media types of files Moonshot reads that `mime_guess`'s table lacks, by extension.
const MOONSHOT_MEDIA_TYPES: [(&str, &str); 1] = [("jsonl", "application/jsonl")];

/// The media type sent for a file, from its extension; the server reads the content anyway.
fn media_type(file_name: &str) -> &'static str {
    let extension = file_name.rsplit_once('.').map_or("", |(_, e)| e);
    MOONSHOT_MEDIA_TYPES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(extension))
        .map(|(_, media_type)| *media_type)
        .or_else(|| mime_guess::from_ext(extension).first_raw())
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::media_type;

    #[test]
    fn a_file_is_sent_with_the_media_type_of_its_extension() {
        for (name, expected) in [
            ("report.PDF", "application/pdf"),
            ("notes.md", "text/markdown"),
            ("requests.JSONL", "application/jsonl"),
            ("sheet.xls", "application/vnd.ms-excel"),
            ("deck.ppt", "application/vnd.ms-powerpoint"),
            (
                "letter.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("photo.jpeg", "image/jpeg"),
            ("no-extension", "application/octet-stream"),
            ("archive.unknown-kind", "application/octet-stream"),
        ] {
            assert_eq!(media_type(name), expected, "{name}");
        }
    }
}
