//! The Files API: upload, list, retrieve, delete, wait for processing, and the extracted
//! content.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt as _;
use moonshot_api::hooks::ResponseHead;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use crate::call::{Core, Replay, decode_json};
use crate::error::Error;
use crate::error::map::{transport_error, undecodable};
use crate::wait::Wait;
use types::check_file_id;
use upload::{BytesUpload, PathUpload, Progress, ReaderUpload, check_purpose};

mod types;
pub(crate) mod upload;

pub use types::{ExtractedContent, FileContent, FileDeleted, FileObject, FileStatus, Purpose};
pub use upload::MAX_UPLOAD_BYTES;

/// How long [`Files::wait_for_processing`] waits at most by default.
pub const DEFAULT_PROCESSING_DEADLINE: Duration = Duration::from_secs(120);
/// The first pause between two looks at a file being processed; it doubles up to
/// [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(250);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Statuses that end processing without text.
const FAILED_STATUSES: [&str; 3] = ["failed", "error", "cancelled"];

/// The Files API; get it from [`Client::files`](crate::Client::files).
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    client: &'a Core,
}

impl<'a> Files<'a> {
    pub(crate) fn new(client: &'a Core) -> Self {
        Self { client }
    }

    /// Uploads the file at `path` for `purpose` (any value; the documented ones are
    /// [`Purpose`]'s variants). The body is streamed, so memory stays bounded whatever the size;
    /// a retried attempt opens the file anew.
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// use moonshot::files::Purpose;
    /// let file = client.files().upload("report.pdf", Purpose::FileExtract).await?;
    /// let file = client.files().wait_for_processing(&file.id).await?;
    /// println!("{} is {}", file.id, file.status);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`], before any request, when `path` does not exist, is a directory,
    /// cannot be read, is empty, is over 100 MB or has a name that is not UTF-8, or when
    /// `purpose` is empty or holds spaces; any other [`Error`] the call ends in after retries.
    pub async fn upload(
        &self,
        path: impl AsRef<Path>,
        purpose: impl Into<Purpose>,
    ) -> Result<FileObject, Error> {
        let purpose = purpose.into();
        check_purpose(&purpose)?;
        let upload = PathUpload::check(path.as_ref())?;
        self.send_upload(Replay::Allowed, || upload.form(&purpose, None))
            .await
    }

    /// [`Files::upload`], telling `progress` the bytes sent and the file's size as the body
    /// goes out (from 0 again when an attempt is retried): for a progress bar.
    ///
    /// # Errors
    /// As [`Files::upload`].
    pub async fn upload_with_progress(
        &self,
        path: impl AsRef<Path>,
        purpose: impl Into<Purpose>,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<FileObject, Error> {
        let purpose = purpose.into();
        check_purpose(&purpose)?;
        let upload = PathUpload::check(path.as_ref())?;
        let total = upload.len();
        let progress: Progress = Arc::new(move |sent| progress(sent, total));
        self.send_upload(Replay::Allowed, || upload.form(&purpose, Some(&progress)))
            .await
    }

    /// Uploads what `reader` gives, named `file_name`, for `purpose`. The body is streamed and
    /// read once, so a failure is not retried (the error says so): upload from a path to have it
    /// retried. The body stops with an error past Moonshot's 100 MB.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank file name or a bad purpose, before any request;
    /// [`Error::NotReplayed`] for a failure that a path upload would have retried; any other
    /// [`Error`] the call ends in.
    pub async fn upload_reader<R>(
        &self,
        reader: R,
        file_name: &str,
        purpose: impl Into<Purpose>,
    ) -> Result<FileObject, Error>
    where
        R: AsyncRead + Send + Sync + 'static,
    {
        let purpose = purpose.into();
        check_purpose(&purpose)?;
        let upload = ReaderUpload::new(reader, file_name)?;
        self.send_upload(Replay::OneShot, || upload.form(&purpose))
            .await
    }

    /// Uploads `bytes` held in memory, named `file_name`, for `purpose`. Unlike
    /// [`Files::upload_reader`], a failed attempt is retried: the bytes are sent anew.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], before any request, for empty bytes, bytes over 100 MB, a blank
    /// file name or a bad purpose; any other [`Error`] the call ends in after retries.
    pub async fn upload_bytes(
        &self,
        bytes: impl Into<bytes::Bytes>,
        file_name: &str,
        purpose: impl Into<Purpose>,
    ) -> Result<FileObject, Error> {
        let purpose = purpose.into();
        check_purpose(&purpose)?;
        let upload = BytesUpload::check(bytes.into(), file_name)?;
        self.send_upload(Replay::Allowed, || upload.form(&purpose))
            .await
    }

    /// `POST /v1/files` with the multipart body `form` makes for each attempt.
    async fn send_upload(
        &self,
        replay: Replay,
        form: impl Fn() -> Result<reqwest::multipart::Form, Error>,
    ) -> Result<FileObject, Error> {
        let response = self
            .client
            .send("upload_file", replay, |http, base| {
                Ok(http.post(format!("{base}/v1/files")).multipart(form()?))
            })
            .await?;
        decode_json::<moonshot_api::types::FileObject>(response)
            .await
            .map(FileObject::from)
    }

    /// Every file of the account (Moonshot keeps at most 1,000).
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn list(&self) -> Result<Vec<FileObject>, Error> {
        let list = self
            .client
            .call_named("list_files", |api| api.list_files())
            .await?;
        Ok(list.data.into_iter().map(FileObject::from).collect())
    }

    /// Deletes a file.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id that cannot be a file's (no request is sent);
    /// [`Error::NotFound`] for an unknown id; any other [`Error`] the call ends in.
    pub async fn delete(&self, file_id: &str) -> Result<FileDeleted, Error> {
        check_file_id(file_id)?;
        self.client
            .call_named("delete_file", |api| api.delete_file(file_id))
            .await
    }

    /// Waits until the file's processing ends, up to [`DEFAULT_PROCESSING_DEADLINE`]: see
    /// [`Files::wait_for_processing_within`].
    ///
    /// # Errors
    /// As [`Files::wait_for_processing_within`].
    pub async fn wait_for_processing(&self, file_id: &str) -> Result<FileObject, Error> {
        self.wait_for_processing_within(file_id, DEFAULT_PROCESSING_DEADLINE)
            .await
    }

    /// Looks at the file until its status says processing ended (`ok` or `ready`), with
    /// pauses from 250 ms doubling up to 5 s, for at most `deadline`; returns the file.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad id or a zero deadline; [`Error::ProcessingFailed`] when
    /// the status says processing failed (`failed`, `error`, `cancelled`), with the file's
    /// id, status and `status_details`; [`Error::ProcessingTimedOut`] when the deadline passes first; any
    /// [`Error`] a look at the file ends in.
    pub async fn wait_for_processing_within(
        &self,
        file_id: &str,
        deadline: Duration,
    ) -> Result<FileObject, Error> {
        check_file_id(file_id)?;
        let wait = Wait::new(
            deadline,
            FIRST_POLL_INTERVAL,
            MAX_POLL_INTERVAL,
            "give the processing some time, e.g. 2 minutes",
        )?;
        wait.until(
            async || {
                let file = self.retrieve(file_id).await?;
                if file.status.is_ready() {
                    return Ok(ControlFlow::Break(file));
                }
                if FAILED_STATUSES.contains(&file.status.as_str()) {
                    return Err(Error::ProcessingFailed {
                        file_id: file.id,
                        status: file.status.to_string(),
                        details: file.status_details.filter(|d| !d.is_empty()),
                    });
                }
                Ok(ControlFlow::Continue(file.status))
            },
            |status, waited| Error::ProcessingTimedOut {
                file_id: file_id.to_owned(),
                status: status.to_string(),
                waited,
            },
        )
        .await
    }

    /// The commonest path in one call: uploads `path` for text extraction, waits for its
    /// processing, and returns the file with its extracted content, ready for a system message.
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// let (file, content) = client.files().upload_and_extract("report.pdf").await?;
    /// println!("{}: {}", file.filename, content.parsed().content);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// When the processing or the extraction fails, the uploaded file is deleted before the
    /// error is returned.
    ///
    /// # Errors
    /// As [`Files::upload`], [`Files::wait_for_processing`] and [`Files::content`]. When the
    /// delete fails too, a warning naming the file is traced.
    pub async fn upload_and_extract(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<(FileObject, FileContent), Error> {
        let file = self.upload(path, Purpose::FileExtract).await?;
        let extracted = async {
            let file = self.wait_for_processing(&file.id).await?;
            let content = self.content(&file.id).await?;
            Ok((file, content))
        };
        match extracted.await {
            Ok(done) => Ok(done),
            Err(error) => Err(self.delete_after_failure(&file.id, error).await),
        }
    }

    /// Deletes a file uploaded by a call that then failed with `error`, so that no orphan stays
    /// on the account; returns `error`. A delete that fails too is traced as a warning naming
    /// the file.
    async fn delete_after_failure(&self, file_id: &str, error: Error) -> Error {
        if let Err(delete) = self.delete(file_id).await {
            tracing::warn!(
                file_id,
                error = %delete,
                "the uploaded file stays on the account: deleting it failed; delete it later"
            );
        }
        error
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
            .call_named("retrieve_file", |api| api.retrieve_file(file_id))
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
        let mut stream = self.content_stream(file_id).await?;
        let mut written = 0u64;
        while let Some(chunk) = stream.try_next().await? {
            writer.write_all(&chunk).await.map_err(Error::Write)?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(Error::Write)?;
        Ok(written)
    }

    /// A file's content, exactly as served, as a stream of chunks: for bodies too large to hold,
    /// or read as they arrive. Failures before the body starts are retried as for
    /// [`Files::content`]; a failure once the body has started ends the stream with it.
    ///
    /// # Errors
    /// As [`Files::retrieve`]; the stream yields [`Error::Connection`] or [`Error::Timeout`]
    /// when the body breaks off.
    pub async fn content_stream(
        &self,
        file_id: &str,
    ) -> Result<
        impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send + Unpin + use<>,
        Error,
    > {
        check_file_id(file_id)?;
        let stream = self
            .client
            .call_named("retrieve_file_content", |api| {
                api.retrieve_file_content(file_id)
            })
            .await?
            .into_inner();
        Ok(stream.map_err(transport_error))
    }
}
