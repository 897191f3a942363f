//! Response bodies built for the mock: generated large contents and bodies cut short.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::files::{file_type, json_string};

/// Size of the one filler chunk a server keeps and sends again and again.
const FILLER_CHUNK_BYTES: usize = 64 * 1024;

/// The repeated text of generated contents: plain ASCII, so no byte needs JSON escaping.
const FILLER_SENTENCE: &str = "Kimi reads long documents and answers questions about them. ";

/// One chunk of filler text, shared by every generated body of a server.
pub(crate) fn filler_chunk() -> Bytes {
    FILLER_SENTENCE
        .bytes()
        .cycle()
        .take(FILLER_CHUNK_BYTES)
        .collect::<Vec<u8>>()
        .into()
}

/// A content body of an exact size, generated while it is sent: the real API's JSON object as
/// text, whose `content` is filler text.
#[derive(Debug)]
pub(crate) struct GeneratedContent {
    prefix: Bytes,
    filler: Bytes,
    filler_left: u64,
    suffix: Bytes,
}

impl GeneratedContent {
    /// A body of `size` bytes, or of the JSON envelope's size if that is larger.
    pub(crate) fn new(filename: &str, size: u64, filler: Bytes) -> Self {
        let prefix = Bytes::from_static(br#"{"content": ""#);
        let suffix = Bytes::from(format!(
            r#"", "file_type": {}, "filename": {}, "title": "", "type": "file"}}"#,
            json_string(file_type(filename)),
            json_string(filename)
        ));
        let envelope = (prefix.len() + suffix.len()) as u64;
        Self {
            prefix,
            filler,
            filler_left: size.saturating_sub(envelope),
            suffix,
        }
    }

    fn remaining(&self) -> u64 {
        self.prefix.len() as u64 + self.filler_left + self.suffix.len() as u64
    }
}

impl Body for GeneratedContent {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let chunk = if !this.prefix.is_empty() {
            std::mem::take(&mut this.prefix)
        } else if this.filler_left > 0 {
            let n = usize::try_from(this.filler_left)
                .unwrap_or(usize::MAX)
                .min(this.filler.len());
            this.filler_left -= n as u64;
            this.filler.slice(..n)
        } else if !this.suffix.is_empty() {
            std::mem::take(&mut this.suffix)
        } else {
            return Poll::Ready(None);
        };
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}

/// The error that ends a body cut short; the server then drops the connection.
#[derive(Debug, thiserror::Error)]
#[error("response body cut short by the mock's cut-body fault")]
pub(crate) struct BodyCut;

/// How long a body cut short waits before failing, so that the server flushes what was sent.
const CUT_PAUSE: Duration = Duration::from_millis(20);

/// A body that advertises its inner body's full size, sends the first `keep` bytes, then fails.
#[derive(Debug)]
pub(crate) struct CutShort<B> {
    inner: B,
    keep: u64,
    // Failing right after the last frame would drop it unsent, still in the server's buffer.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> CutShort<B> {
    pub(crate) fn new(inner: B, keep: u64) -> Self {
        Self {
            inner,
            keep,
            pause: None,
        }
    }
}

impl<B> Body for CutShort<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.keep == 0 {
            let pause = self
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(CUT_PAUSE)));
            return match pause.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyCut.into()))),
                Poll::Pending => Poll::Pending,
            };
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let frame = match frame.into_data() {
                    Ok(mut data) => {
                        let len = data.len() as u64;
                        if len > self.keep {
                            data.truncate(usize::try_from(self.keep).unwrap_or(usize::MAX));
                        }
                        self.keep = self.keep.saturating_sub(len);
                        Frame::data(data)
                    }
                    Err(frame) => frame,
                };
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls a body to its end: the bytes it sent, and whether it ended in an error.
    async fn drain<B: Body<Data = Bytes> + Unpin>(mut body: B) -> (Vec<u8>, bool) {
        let mut sent = Vec::new();
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        sent.extend_from_slice(&data);
                    }
                }
                Some(Err(_)) => return (sent, true),
                None => return (sent, false),
            }
        }
    }

    #[tokio::test]
    async fn generated_content_has_the_exact_size_and_is_json() {
        for size in [0, 10, 100, 100_000, 200_000] {
            let body = GeneratedContent::new("big.txt", size, filler_chunk());
            let hint = body.size_hint().exact();
            let (sent, failed) = drain(body).await;
            assert!(!failed);
            assert_eq!(hint, Some(sent.len() as u64));
            let envelope: serde_json::Value =
                serde_json::from_slice(&sent).expect("generated content is JSON");
            assert_eq!(envelope["filename"], "big.txt");
            assert_eq!(envelope["file_type"], "text/plain");
            if size >= 100 {
                assert_eq!(sent.len() as u64, size);
            }
        }
    }

    #[tokio::test]
    async fn cut_short_keeps_the_full_size_hint_and_fails_after_keep_bytes() {
        let inner = GeneratedContent::new("big.txt", 200_000, filler_chunk());
        let body = CutShort::new(inner, 100_000);
        assert_eq!(body.size_hint().exact(), Some(200_000));
        let (sent, failed) = drain(body).await;
        assert!(failed);
        assert_eq!(sent.len(), 100_000);
    }
}
