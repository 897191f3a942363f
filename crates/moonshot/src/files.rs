//! The Files API: a file's metadata and its extracted content.

use futures::TryStreamExt as _;
use moonshot_api::hooks::ResponseHead;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::client::{Client, attempt, snippet, transport_error};
use crate::error::Error;
use crate::types::{FileContent, FileObject, check_file_id};

/// The most a Content-Length header may make [`Files::content`] reserve up front (the API's
/// largest file is 100 MB, its text less).
const MAX_RESERVED_BODY: usize = 128 * 1024 * 1024;

/// The Files API; get it from [`Client::files`].
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    client: &'a Client,
}

impl<'a> Files<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// A file's metadata.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id that is empty, blank, `.`, `..`, overlong or holds control
    /// characters (no request is sent); [`Error::NotFound`] for an unknown id; any other
    /// [`Error`] the call ends in after retries.
    pub async fn retrieve(&self, file_id: &str) -> Result<FileObject, Error> {
        check_file_id(file_id)?;
        let client = self.client;
        client
            .with_retries("retrieve_file", || async move {
                let (response, _) = attempt(client.api().retrieve_file(file_id)).await?;
                Ok(FileObject::from(response.into_inner()))
            })
            .await
    }

    /// A file's extracted content, read whole, exactly as served. Files uploaded with purpose
    /// `file-extract` have one; see [`FileContent::parsed`] for its fields.
    ///
    /// # Errors
    /// As [`Files::retrieve`]; [`Error::ExtractionFailed`] when the file has no extractable text;
    /// [`Error::UndecodableResponse`] when the body is not UTF-8. A body cut off mid-way is a
    /// retryable [`Error::Connection`].
    pub async fn content(&self, file_id: &str) -> Result<FileContent, Error> {
        check_file_id(file_id)?;
        let client = self.client;
        client
            .with_retries("retrieve_file_content", || async move {
                let (body, head) = attempt(async {
                    let response = client.api().retrieve_file_content(file_id).await?;
                    let capacity = response
                        .headers()
                        .get(reqwest::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                        .unwrap_or(0);
                    let mut stream = response.into_inner().into_inner();
                    // Sized from Content-Length so the body is not copied as it grows; the cap
                    // keeps a lying header from reserving more than a real body can be.
                    let mut body = Vec::with_capacity(capacity.min(MAX_RESERVED_BODY));
                    while let Some(chunk) = stream
                        .try_next()
                        .await
                        .map_err(moonshot_api::Error::ResponseBodyError)?
                    {
                        body.extend_from_slice(&chunk);
                    }
                    Ok::<_, moonshot_api::Error<_>>(body)
                })
                .await?;
                String::from_utf8(body).map(FileContent::new).map_err(|e| {
                    Error::UndecodableResponse {
                        status: head.as_ref().map_or(200, |h| h.status.as_u16()),
                        request_id: head
                            .as_ref()
                            .and_then(ResponseHead::request_id)
                            .map(str::to_owned),
                        detail: e.utf8_error().to_string(),
                        snippet: snippet(e.as_bytes()),
                        attempts: 1,
                    }
                })
            })
            .await
    }

    /// Streams a file's extracted content, exactly as served, into `writer`; returns the number
    /// of bytes written. Memory stays bounded by the transport's buffers whatever the body's size.
    ///
    /// Failures before the body starts are retried as for [`Files::content`]; once bytes have
    /// reached `writer` a failure is returned, not retried, since `writer` holds part of the body.
    ///
    /// # Errors
    /// As [`Files::retrieve`]; [`Error::Connection`] or [`Error::Timeout`] when the body breaks
    /// off; [`Error::Write`] when `writer` fails.
    pub async fn content_to_writer<W>(&self, file_id: &str, writer: &mut W) -> Result<u64, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        check_file_id(file_id)?;
        let client = self.client;
        let response = client
            .with_retries("retrieve_file_content", || async move {
                let (response, _) = attempt(client.api().retrieve_file_content(file_id)).await?;
                Ok(response.into_inner())
            })
            .await?;
        let mut stream = response.into_inner();
        let mut written = 0u64;
        while let Some(chunk) = stream.try_next().await.map_err(transport_error)? {
            writer.write_all(&chunk).await.map_err(Error::Write)?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(Error::Write)?;
        Ok(written)
    }
}
