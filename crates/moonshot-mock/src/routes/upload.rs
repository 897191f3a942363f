//! `POST /v1/files`: the multipart upload, Moonshot's limits, and the simulated processing.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::header::CONTENT_DISPOSITION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::{ApiError, ServerState, json_body};
use crate::limits::{MAX_FILE_BYTES, MAX_FILES};
use crate::mime::file_type;
use crate::store::{ServedContent, StoreRefusal, StoredFile, Upload, text_content};

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
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("file") if filename.is_some() => {
                return Err(ApiError::invalid_request(
                    "more than one `file` part: upload one file per request",
                ));
            }
            Some("file") => {
                let name = file_name(field.headers())?
                    .filter(|name| !name.is_empty())
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
            "the `file` part ({filename}) is empty: upload a file of at least one byte"
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
    while let Some(chunk) = field.chunk().await.map_err(|e| unreadable("file", e))? {
        upload.append(&chunk).map_err(refused)?;
    }
    Ok(())
}

/// Reads the `purpose` field: a short word such as `file-extract`; any such word is taken, as
/// the real API names more purposes than it documents.
async fn read_purpose(mut field: Field<'_>) -> Result<String, ApiError> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| unreadable("purpose", e))? {
        if value.len() + chunk.len() > MAX_PURPOSE_BYTES {
            return Err(ApiError::invalid_request(format!(
                "the `purpose` field is longer than {MAX_PURPOSE_BYTES} bytes: use one of \
                 file-extract, image, video, batch"
            )));
        }
        value.extend_from_slice(&chunk);
    }
    let purpose = String::from_utf8(value).map_err(|_| {
        ApiError::invalid_request(
            "the `purpose` field is not UTF-8: send one word such as file-extract, image, video \
             or batch",
        )
    })?;
    if purpose.is_empty() {
        return Err(ApiError::invalid_request(
            "the `purpose` field is empty: say what the file is for, e.g. file-extract",
        ));
    }
    if purpose.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid_request(format!(
            "the `purpose` field must be one word such as file-extract, image, video or batch, \
             without spaces or control characters: got {purpose:?}"
        )));
    }
    Ok(purpose)
}

/// The `filename` parameter of a part's `Content-Disposition` header, with the backslash
/// escapes of a quoted value (`\"`, `\\`) undone, as clients write them; `None` without one.
fn file_name(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(disposition) = headers.get(CONTENT_DISPOSITION) else {
        return Ok(None);
    };
    let Some(raw) = disposition_parameter(disposition.as_bytes(), "filename") else {
        return Ok(None);
    };
    String::from_utf8(raw).map(Some).map_err(|_| {
        ApiError::invalid_request(
            "the `file` part's file name is not UTF-8: send the name in UTF-8",
        )
    })
}

/// The value of parameter `name` in a `Content-Disposition` value such as `form-data;
/// name="file"; filename="a \"b\".txt"`: a quoted string unescaped, or a bare token.
fn disposition_parameter(value: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut rest = value;
    // Skips the disposition type (`form-data`).
    let after_type = rest.iter().position(|&b| b == b';')?;
    rest = &rest[after_type + 1..];
    loop {
        rest = rest.trim_ascii_start();
        if rest.is_empty() {
            return None;
        }
        let end_of_name = rest
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest.len());
        let this_name = rest[..end_of_name].trim_ascii();
        rest = &rest[end_of_name..];
        let mut found = Vec::new();
        if let Some(after_equals) = rest.strip_prefix(b"=") {
            rest = after_equals.trim_ascii_start();
            if let Some(quoted) = rest.strip_prefix(b"\"") {
                // A quoted string: a backslash takes the next byte as it is; a quote ends it.
                let mut bytes = quoted.iter().enumerate();
                rest = &[];
                while let Some((i, &b)) = bytes.next() {
                    match b {
                        b'\\' => found.extend(bytes.next().map(|(_, &next)| next)),
                        b'"' => {
                            rest = &quoted[i + 1..];
                            break;
                        }
                        _ => found.push(b),
                    }
                }
            } else {
                let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
                found.extend_from_slice(rest[..end].trim_ascii());
                rest = &rest[end..];
            }
        }
        if this_name.eq_ignore_ascii_case(name.as_bytes()) {
            return Some(found);
        }
        // Whatever follows a value up to the next parameter.
        let next = rest.iter().position(|&b| b == b';')?;
        rest = &rest[next + 1..];
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

/// A body whose parts cannot be told apart.
fn malformed(error: MultipartError) -> ApiError {
    ApiError::new(
        error.status(),
        "invalid_request_error",
        format!(
            "the multipart/form-data body is malformed: {error}; send a `file` part and a \
             `purpose` field"
        ),
    )
}

/// A part whose bytes cannot be read to its end.
fn unreadable(part: &str, error: MultipartError) -> ApiError {
    ApiError::new(
        error.status(),
        "invalid_request_error",
        format!("the `{part}` part of the multipart/form-data body cannot be read: {error}"),
    )
}

fn refused(refusal: StoreRefusal) -> ApiError {
    match refusal {
        StoreRefusal::TooManyFiles => ApiError::invalid_request(format!(
            "too many files: an account holds at most {MAX_FILES}; delete files you no longer need"
        )),
        StoreRefusal::FileTooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!(
                "the `file` part is too large: file size exceeds the limit of 100 MB \
                 ({MAX_FILE_BYTES} bytes); upload a smaller file"
            ),
        ),
        StoreRefusal::MemoryFull { limit } => ApiError::invalid_request(format!(
            "the mock server's uploads would exceed its memory limit of {limit} bytes: delete \
             files or raise the limit"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_read_with_their_escapes_undone() {
        let filename = |value: &str| {
            disposition_parameter(value.as_bytes(), "filename")
                .map(|name| String::from_utf8(name).expect("UTF-8"))
        };
        assert_eq!(
            filename(r#"form-data; name="file"; filename="a.txt""#).as_deref(),
            Some("a.txt")
        );
        assert_eq!(
            filename(r#"form-data; name="file"; filename="back\\slash \"q\".txt""#).as_deref(),
            Some(r#"back\slash "q".txt"#)
        );
        assert_eq!(
            filename(r#"form-data; filename="dir\\"; name="file""#).as_deref(),
            Some("dir\\")
        );
        assert_eq!(
            filename("form-data; name=file; FILENAME = plain.txt ").as_deref(),
            Some("plain.txt")
        );
        assert_eq!(
            filename(r#"form-data; name="filename=x.txt"; filename="y.txt""#).as_deref(),
            Some("y.txt")
        );
        assert_eq!(filename("form-data; filename*=utf-8''x.txt"), None);
        assert_eq!(filename(r#"form-data; name="file""#), None);
        assert_eq!(filename("form-data"), None);
        assert_eq!(
            filename(r#"form-data; filename="中文.txt""#).as_deref(),
            Some("中文.txt")
        );
    }

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
