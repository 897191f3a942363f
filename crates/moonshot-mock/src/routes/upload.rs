//! `POST /v1/files`: the multipart upload, Moonshot's limits, and the simulated processing.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::files::text_content;
use super::{ApiError, ServerState, json_body};
use crate::files::file_type;
use crate::store::{MAX_FILE_BYTES, MAX_FILES, ServedContent, StoreRefusal, StoredFile, Upload};

/// The longest `purpose` accepted; the documented ones are a few letters.
const MAX_PURPOSE_BYTES: usize = 64;

/// The purpose whose files must yield text; a file of another purpose that yields none is
/// still `ok`, as the demo image is.
const FILE_EXTRACT: &str = "file-extract";

/// Why an image or a video fails extraction.
const NO_TEXT_IN_MEDIA: &str = "images and videos hold no text to extract";

/// Why any other file that is not UTF-8 fails extraction.
const NO_TEXT_IN_BINARY: &str = "moonshot-mock extracts text from UTF-8 text files only";

pub(super) async fn upload_file(
    State(state): State<Arc<ServerState>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut multipart = multipart.map_err(|rejection| {
        ApiError::invalid_request(format!(
            "the body must be multipart/form-data with a `file` part and a `purpose` field: \
             {rejection}"
        ))
    })?;
    let mut upload = state.store.begin_upload().map_err(refused)?;
    let mut filename = None;
    let mut purpose = None;
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") if filename.is_some() => {
                return Err(ApiError::invalid_request(
                    "more than one `file` part: upload one file per request",
                ));
            }
            Some("file") => {
                let name = field
                    .file_name()
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ApiError::invalid_request(
                            "the `file` part has no file name: send it with \
                             Content-Disposition: form-data; name=\"file\"; filename=\"...\"",
                        )
                    })?;
                read_file(field, &mut upload).await?;
                filename = Some(name);
            }
            Some("purpose") => purpose = Some(read_purpose(field).await?),
            // Other fields are ignored; the parser skips their bytes without keeping them.
            _ => {}
        }
    }
    let filename = filename.ok_or_else(|| {
        ApiError::invalid_request("missing the `file` part: send the file as a part named `file`")
    })?;
    let purpose = purpose.ok_or_else(|| {
        ApiError::invalid_request(
            "missing the `purpose` field: say what the file is for, e.g. file-extract",
        )
    })?;
    if upload.bytes().is_empty() {
        return Err(ApiError::invalid_request(format!(
            "file {filename} is empty: upload a file of at least one byte"
        )));
    }

    let id = state.store.unused_id("file-");
    let bytes = upload.bytes().len();
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let delay = state.store.processing_delay();
    let object = |status: &str, details: &str| -> Bytes {
        json!({
            "id": id,
            "object": "file",
            "bytes": bytes,
            "created_at": created_at,
            "filename": filename,
            "purpose": purpose,
            "status": status,
            "status_details": details,
        })
        .to_string()
        .into()
    };
    let shown = upload.finish(id.clone(), |data| {
        let content = extract(&filename, data);
        let processed = match &content {
            ServedContent::ExtractionFailed(reason) if purpose == FILE_EXTRACT => {
                object("failed", reason)
            }
            _ => object("ok", ""),
        };
        StoredFile {
            object: processed,
            content,
            created_at,
            processing: (!delay.is_zero())
                .then(|| (Instant::now() + delay, object("processing", ""))),
            held_bytes: 0,
        }
    });
    Ok(json_body(shown))
}

/// Reads the file part into the upload, chunk by chunk, stopping at the first limit passed.
async fn read_file(mut field: Field<'_>, upload: &mut Upload<'_>) -> Result<(), ApiError> {
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        upload.append(&chunk).map_err(refused)?;
    }
    Ok(())
}

/// Reads the `purpose` field: a short word such as `file-extract`; any such word is taken, as
/// the real API names more purposes than it documents.
async fn read_purpose(mut field: Field<'_>) -> Result<String, ApiError> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if value.len() + chunk.len() > MAX_PURPOSE_BYTES {
            return Err(ApiError::invalid_request(format!(
                "`purpose` is longer than {MAX_PURPOSE_BYTES} bytes: use one of file-extract, \
                 image, video, batch"
            )));
        }
        value.extend_from_slice(&chunk);
    }
    match String::from_utf8(value) {
        Ok(purpose)
            if !purpose.is_empty()
                && !purpose.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(purpose)
        }
        _ => Err(ApiError::invalid_request(
            "`purpose` must be one word such as file-extract, image, video or batch",
        )),
    }
}

/// What processing makes of a file: text formats are their own text; images, videos and other
/// bytes that are not UTF-8 yield none.
fn extract(filename: &str, data: Bytes) -> ServedContent {
    let media = file_type(filename);
    if media.starts_with("image/") || media.starts_with("video/") {
        ServedContent::ExtractionFailed(NO_TEXT_IN_MEDIA.to_owned())
    } else if std::str::from_utf8(&data).is_ok() {
        text_content(filename, data)
    } else {
        ServedContent::ExtractionFailed(NO_TEXT_IN_BINARY.to_owned())
    }
}

fn unreadable(error: MultipartError) -> ApiError {
    ApiError::invalid_request(format!("unreadable multipart/form-data body: {error}"))
}

fn refused(refusal: StoreRefusal) -> ApiError {
    ApiError::invalid_request(match refusal {
        StoreRefusal::TooManyFiles => format!(
            "too many files: an account holds at most {MAX_FILES}; delete files you no longer need"
        ),
        StoreRefusal::FileTooLarge => {
            format!("file size exceeds the limit of 100 MB ({MAX_FILE_BYTES} bytes)")
        }
        StoreRefusal::MemoryFull { limit } => format!(
            "the mock server's uploads would exceed its memory limit of {limit} bytes: delete \
             files or raise the limit"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_by_kind_of_file() {
        assert!(matches!(
            extract("notes.MD", Bytes::from_static("# 标题\n".as_bytes())),
            ServedContent::Text { text, .. } if &text[..] == "# 标题\n".as_bytes()
        ));
        assert!(matches!(
            extract("main.rs", Bytes::from_static(b"fn main() {}")),
            ServedContent::Text { .. }
        ));
        for (name, data, reason) in [
            ("photo.png", &b"plain ascii"[..], NO_TEXT_IN_MEDIA),
            ("clip.mp4", b"\x00\x00", NO_TEXT_IN_MEDIA),
            ("report.pdf", b"%PDF-1.7\n\xff\xfe", NO_TEXT_IN_BINARY),
        ] {
            assert!(
                matches!(extract(name, Bytes::from_static(data)), ServedContent::ExtractionFailed(r) if r == reason),
                "{name}"
            );
        }
    }
}
