//! The Files API: a file's metadata and its extracted content.

use futures::TryStreamExt as _;
use moonshot_api::hooks::ResponseHead;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::client::Client;
use crate::error::Error;
use crate::error::map::{transport_error, undecodable};
use crate::types::{FileContent, FileObject, check_file_id};

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
        self.client
            .call("retrieve_file", |api| api.retrieve_file(file_id))
            .await
            .map(FileObject::from)
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
        let (body, head) = self
            .client
            .call_bytes("retrieve_file_content", |api| {
                api.retrieve_file_content(file_id)
            })
            .await?;
        String::from_utf8(body).map(FileContent::new).map_err(|e| {
            let status = head.as_ref().map_or(200, |h| h.status.as_u16());
            let request_id = head
                .as_ref()
                .and_then(ResponseHead::request_id)
                .map(str::to_owned);
            undecodable(status, request_id, e.utf8_error().to_string(), e.as_bytes())
        })
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
        let mut stream = self
            .client
            .call_stream("retrieve_file_content", |api| {
                api.retrieve_file_content(file_id)
            })
            .await?
            .into_inner();
        let mut written = 0u64;
        while let Some(chunk) = stream.try_next().await.map_err(transport_error)? {
            writer.write_all(&chunk).await.map_err(Error::Write)?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(Error::Write)?;
        Ok(written)
    }
}
