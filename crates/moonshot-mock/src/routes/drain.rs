//! Reading the rest of a request body the server answered before reading it whole.
//!
//! A server that answers early (a wrong key, an upload over a limit, a malformed multipart
//! body) and closes the connection while the client still sends makes the client's system
//! reset the connection: the client sees "Broken pipe" or "Connection reset" instead of the
//! answer. So every request body is read to its end before the answer goes out, up to
//! [`MAX_BODY_BYTES`] in all and for at most [`MAX_WAIT`]; past either, the connection is closed
//! as before.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use futures::StreamExt as _;
use http_body::{Body as _, Frame, SizeHint};

use crate::limits::MAX_FILE_BYTES;

/// The most bytes of one request body read, by its handler and the drain together: the upload
/// limit and a margin for the multipart framing around the file.
const MAX_BODY_BYTES: u64 = MAX_FILE_BYTES + 1024 * 1024;

/// The longest wait for the rest of a body.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// A request's body, shared between its handler and the drain.
#[derive(Debug, Default)]
struct Slot {
    /// `None` once the drain has taken it back.
    body: Option<Body>,
    /// The bytes read from it so far.
    read: u64,
}

/// The body a handler reads: the request's, through the [`Slot`] the drain takes it back from.
struct Shared(Arc<Mutex<Slot>>);

impl Shared {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut slot = self.slot();
        let Some(body) = slot.body.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            slot.read += frame.data_ref().map_or(0, |data| data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.slot().body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.slot()
            .body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// The rest of a request's body, to read once the request is answered.
pub(super) struct Leftover(Arc<Mutex<Slot>>);

/// Puts `request`'s body where [`Leftover::drain`] can take it back from.
pub(super) fn share_body(request: Request) -> (Request, Leftover) {
    let (parts, body) = request.into_parts();
    let slot = Arc::new(Mutex::new(Slot {
        body: Some(body),
        read: 0,
    }));
    let shared = Shared(Arc::clone(&slot));
    (
        Request::from_parts(parts, Body::new(shared)),
        Leftover(slot),
    )
}

impl Leftover {
    /// Reads what the handler left of the body, within the limits; the bytes are dropped.
    pub(super) async fn drain(self) {
        let (body, read) = {
            let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            (slot.body.take(), slot.read)
        };
        let Some(body) = body.filter(|body| !body.is_end_stream()) else {
            return;
        };
        let mut budget = MAX_BODY_BYTES.saturating_sub(read);
        let mut data = body.into_data_stream();
        let read_rest = async {
            while budget > 0 {
                match data.next().await {
                    Some(Ok(chunk)) => budget = budget.saturating_sub(chunk.len() as u64),
                    // The end, or a client gone: nothing more to wait for.
                    Some(Err(_)) | None => break,
                }
            }
        };
        // Past the limits the connection closes with the rest unread, as it would have.
        let _ = tokio::time::timeout(MAX_WAIT, read_rest).await;
    }
}
