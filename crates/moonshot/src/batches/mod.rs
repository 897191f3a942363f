//! The Batches API: prepare a batch's input, create it, follow it, and collect its results.
//!
//! A batch runs many chat requests without holding a connection for each: its input is a JSON
//! Lines file of requests, each with a `custom_id` ([`BatchInput`] builds and checks it),
//! uploaded with purpose `batch`; the batch runs for hours at most (its
//! [`CompletionWindow`]), and its answers come back as output and error files, read as a stream
//! of [`BatchResult`]s and matched to their `custom_id` ([`BatchReport`]).
//!
//! ```no_run
//! # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
//! use std::time::Duration;
//! use moonshot::batches::{BatchInput, CompletionWindow};
//! use moonshot::chat::ChatRequest;
//!
//! let mut input = BatchInput::new();
//! for (id, question) in [("q1", "What is Rust?"), ("q2", "What is Kimi?")] {
//!     input.push(id, &ChatRequest::new("kimi-k2.6").user(question))?;
//! }
//! let batch = client.batches().submit(&input, CompletionWindow::default()).await?;
//! let batch = client
//!     .batches()
//!     .wait_with_progress(&batch.id, Duration::from_secs(24 * 3600), |b| {
//!         eprintln!("{}: {}/{}", b.status, b.request_counts.completed, b.request_counts.total)
//!     })
//!     .await?;
//! let report = client.batches().report(&batch, &input).await?;
//! for id in input.custom_ids() {
//!     match report.get(id) {
//!         Some(outcome) => println!("{id}: {outcome}"),
//!         None => println!("{id}: no answer"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod input;
mod results;
mod window;

use std::ops::ControlFlow;
use std::time::Duration;

use futures::{Stream, StreamExt as _, TryStreamExt as _};
use moonshot_api::types::{
    BatchCreateRequest, BatchCreateRequestEndpoint, BatchCreateRequestMetadataValue,
    BatchObjectStatus,
};

use crate::call::Core;
use crate::error::Error;
use crate::files::Files;
use crate::ids::check_id;
use crate::wait::Wait;

pub use input::{BatchInput, CHAT_COMPLETIONS_ENDPOINT, MAX_INPUT_BYTES};
pub use results::{BatchFailure, BatchOutcome, BatchReport, BatchResult};
pub use window::CompletionWindow;

/// A batch as the API describes it: its status, request counts and files.
pub type Batch = moonshot_api::types::BatchObject;
/// A batch's status: an open enum (`validating`, `in_progress`, `finalizing`, `completed`,
/// `failed`, `expired`, `cancelling`, `cancelled`, or a value added later).
pub type BatchStatus = BatchObjectStatus;

/// The first pause between two looks at a running batch; it doubles up to
/// [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The longest pause between two looks at a running batch.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// The page size [`Batches::list`] asks for.
const LIST_PAGE_SIZE: u32 = 100;

/// Whether a batch in `status` has stopped for good: `completed`, `failed`, `expired` or
/// `cancelled`. A status this crate does not know is taken as still running.
pub fn is_terminal(status: &BatchStatus) -> bool {
    matches!(
        status,
        BatchStatus::Completed
            | BatchStatus::Failed
            | BatchStatus::Expired
            | BatchStatus::Cancelled
    )
}

/// The ids of the files that hold a batch's results: its output file, then its error file,
/// those it has.
pub fn result_files(batch: &Batch) -> Vec<&str> {
    [&batch.output_file_id, &batch.error_file_id]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|id| !id.is_empty())
        .collect()
}

/// One page of [`Batches::list_page`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchPage {
    /// The batches of this page, newest first.
    pub batches: Vec<Batch>,
    /// Whether more follow: ask again with `after` set to the last batch's id.
    pub has_more: bool,
}

/// The Batches API; get it from [`Client::batches`](crate::Client::batches).
#[derive(Debug, Clone, Copy)]
pub struct Batches<'a> {
    client: &'a Core,
}

impl<'a> Batches<'a> {
    pub(crate) fn new(client: &'a Core) -> Self {
        Self { client }
    }

    /// Uploads `input` (purpose `batch`) and creates its batch: the commonest path in one call.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty input, before any request; as [`Files::upload_bytes`]
    /// and [`Batches::create`].
    ///
    /// [`Files::upload_bytes`]: crate::files::Files::upload_bytes
    pub async fn submit(
        &self,
        input: &BatchInput,
        window: CompletionWindow,
    ) -> Result<Batch, Error> {
        let file = input.upload(self.client).await?;
        self.create(&file.id, window).await
    }

    /// Creates a batch from an uploaded input file (purpose `batch`) for chat completions.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad file id, before any request; [`Error::BadRequest`] when
    /// the server refuses the batch (the file is not a batch input, a limit is passed); any
    /// other [`Error`] the call ends in after retries.
    pub async fn create(
        &self,
        input_file_id: &str,
        window: CompletionWindow,
    ) -> Result<Batch, Error> {
        check_id(
            "input file id",
            "a file uploaded with purpose `batch`",
            input_file_id,
        )?;
        self.create_with(BatchCreateRequest {
            input_file_id: input_file_id.to_owned(),
            endpoint: BatchCreateRequestEndpoint::from(CHAT_COMPLETIONS_ENDPOINT),
            completion_window: window.to_string(),
            metadata: Default::default(),
        })
        .await
    }

    /// Creates a batch from a request written in full (metadata, another endpoint).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad file id, a completion window outside 12h..7d or
    /// metadata over its limits (16 pairs, keys of 64 characters, values of 512), before any
    /// request; otherwise as [`Batches::create`].
    pub async fn create_with(&self, request: BatchCreateRequest) -> Result<Batch, Error> {
        check_id(
            "input file id",
            "a file uploaded with purpose `batch`",
            &request.input_file_id,
        )?;
        request.completion_window.parse::<CompletionWindow>()?;
        check_metadata(&request.metadata)?;
        self.client
            .call_named("create_batch", |api| api.create_batch(&request))
            .await
    }

    /// A batch, as it is now.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id that cannot be a batch's (no request is sent);
    /// [`Error::NotFound`] for an unknown id; any other [`Error`] the call ends in after retries.
    pub async fn retrieve(&self, batch_id: &str) -> Result<Batch, Error> {
        check_batch_id(batch_id)?;
        self.client
            .call_named("retrieve_batch", |api| api.retrieve_batch(batch_id))
            .await
    }

    /// Asks the server to cancel a batch; it turns `cancelling`, then `cancelled` with the
    /// answers made so far in its output file.
    ///
    /// # Errors
    /// As [`Batches::retrieve`]; [`Error::BadRequest`] when the batch has already ended.
    pub async fn cancel(&self, batch_id: &str) -> Result<Batch, Error> {
        check_batch_id(batch_id)?;
        self.client
            .call_named("cancel_batch", |api| api.cancel_batch(batch_id))
            .await
    }

    /// One page of the account's batches, newest first: those after the batch `after` (none:
    /// from the newest), at most `limit` (none: the server's default, 20).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad `after` id or a zero limit; any [`Error`] the call
    /// ends in after retries.
    pub async fn list_page(
        &self,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<BatchPage, Error> {
        if let Some(after) = after {
            check_id("after", "the last batch of the previous page", after)?;
        }
        if limit == Some(0) {
            return Err(Error::InvalidInput {
                name: "limit",
                reason: "it is zero: ask for at least one batch per page".to_owned(),
            });
        }
        let limit = limit.map(i64::from);
        let page = self
            .client
            .call_named("list_batches", |api| api.list_batches(after, limit))
            .await?;
        Ok(BatchPage {
            batches: page.data,
            has_more: page.has_more.unwrap_or(false),
        })
    }

    /// Every batch of the account, newest first, fetched page by page as the stream is read
    /// (each page's last id is the next page's `after`). Dropping the stream stops it.
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// use futures::TryStreamExt as _;
    /// let running: Vec<_> = client
    ///     .batches()
    ///     .list()
    ///     .try_filter(|b| std::future::ready(!moonshot::batches::is_terminal(&b.status)))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The stream yields the first [`Error`] a page ends in, then stops.
    pub fn list(&self) -> impl Stream<Item = Result<Batch, Error>> + Send + 'a {
        let batches = *self;
        futures::stream::try_unfold(Some(None::<String>), move |cursor| async move {
            // `None`: the last page was read. `Some(after)`: the next page starts after it.
            let Some(after) = cursor else {
                return Ok(None);
            };
            let page = batches
                .list_page(after.as_deref(), Some(LIST_PAGE_SIZE))
                .await?;
            let next = match page.batches.last() {
                Some(last) if page.has_more => Some(Some(last.id.clone())),
                _ => None,
            };
            Ok(Some((
                futures::stream::iter(page.batches.into_iter().map(Ok)),
                next,
            )))
        })
        .try_flatten()
    }

    /// Waits until the batch reaches a terminal status (see [`is_terminal`]), for at most
    /// `deadline`; returns it whatever that status is, so a `failed` or `expired` batch is a
    /// value to look at, not an error.
    ///
    /// # Errors
    /// As [`Batches::wait_with_progress`].
    pub async fn wait(&self, batch_id: &str, deadline: Duration) -> Result<Batch, Error> {
        self.wait_with_progress(batch_id, deadline, |_| {}).await
    }

    /// [`Batches::wait`], telling `progress` the batch each time it is looked at (its status
    /// and request counts), with pauses from 500 ms doubling up to 30 s.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad id or a zero deadline; [`Error::BatchTimedOut`], with
    /// the batch's status and counts as last seen, when the deadline passes first; any [`Error`] a look at the
    /// batch ends in.
    pub async fn wait_with_progress(
        &self,
        batch_id: &str,
        deadline: Duration,
        mut progress: impl FnMut(&Batch),
    ) -> Result<Batch, Error> {
        check_batch_id(batch_id)?;
        let wait = Wait::new(
            deadline,
            FIRST_POLL_INTERVAL,
            MAX_POLL_INTERVAL,
            "give the batch some time, up to its completion window",
        )?;
        wait.until(
            async || {
                let batch = self.retrieve(batch_id).await?;
                progress(&batch);
                Ok(if is_terminal(&batch.status) {
                    ControlFlow::Break(batch)
                } else {
                    ControlFlow::Continue(batch)
                })
            },
            |batch, waited| Error::BatchTimedOut {
                batch_id: batch.id,
                status: batch.status.to_string(),
                completed: batch.request_counts.completed,
                failed: batch.request_counts.failed,
                total: batch.request_counts.total,
                waited,
            },
        )
        .await
    }

    /// The batch's results as they are read: the lines of its output file, then of its error
    /// file, each parsed into a [`BatchResult`]. The files are streamed, never held whole; a
    /// line that cannot be read is a result too ([`BatchOutcome::Unreadable`]), never dropped.
    ///
    /// A batch without files (still running, failed in validation) yields nothing.
    ///
    /// # Errors
    /// The stream yields the first [`Error`] reading a file ends in (an unknown file is
    /// [`Error::NotFound`]), then stops.
    pub fn results(
        &self,
        batch: &Batch,
    ) -> impl Stream<Item = Result<BatchResult, Error>> + Send + 'a {
        let files = Files::new(self.client);
        let ids: Vec<String> = result_files(batch).into_iter().map(str::to_owned).collect();
        futures::stream::iter(ids)
            .then(move |file_id| async move {
                let chunks = files.content_stream(&file_id).await?;
                Ok::<_, Error>(results::parse(file_id, chunks))
            })
            .try_flatten()
    }

    /// Reads every result of `batch` and matches each to the line of `input` with its
    /// `custom_id`; the report also names the lines left without a result and the results that
    /// match no line.
    ///
    /// # Errors
    /// As [`Batches::results`].
    pub async fn report(&self, batch: &Batch, input: &BatchInput) -> Result<BatchReport, Error> {
        let mut report = BatchReport::expecting(input.custom_ids());
        let mut results = std::pin::pin!(self.results(batch));
        while let Some(result) = results.try_next().await? {
            report.add(result);
        }
        Ok(report)
    }
}

/// Refuses batch ids that would leave `/v1/batches/{batch_id}`, before any request.
fn check_batch_id(id: &str) -> Result<(), Error> {
    check_id("batch id", "a batch object", id)
}

/// The documented limits of a batch's metadata: 16 pairs, keys of 64 characters, values of 512.
fn check_metadata(
    metadata: &std::collections::HashMap<String, BatchCreateRequestMetadataValue>,
) -> Result<(), Error> {
    let invalid = |reason: String| {
        Err(Error::InvalidInput {
            name: "metadata",
            reason,
        })
    };
    if metadata.len() > 16 {
        return invalid(format!(
            "it has {} pairs, above the 16 a batch can carry",
            metadata.len()
        ));
    }
    for (key, value) in metadata {
        if key.chars().count() > 64 {
            return invalid(format!("the key {key:?} is over 64 characters"));
        }
        if value.chars().count() > 512 {
            return invalid(format!("the value of {key:?} is over 512 characters"));
        }
    }
    Ok(())
}
