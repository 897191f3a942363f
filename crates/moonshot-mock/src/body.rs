//! Response bodies built for the mock: contents sent frame by frame (extracted text escaped on
//! the way, large generated ones) and bodies cut short.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::json::{content_envelope, json_escaped};

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

/// How much text [`ExtractedContent`] escapes per frame.
const TEXT_CHUNK_BYTES: usize = 64 * 1024;

/// What a content body sends between its envelope's prefix and suffix, one frame at a time.
pub(crate) trait ContentText {
    /// The next frame of text, or `None` when all was sent.
    fn next_frame(&mut self) -> Option<Bytes>;
    /// How many bytes are left to send.
    fn remaining(&self) -> u64;
}

/// A content body of an exact size, sent frame by frame: the real API's JSON object as text,
/// whose `content` comes from `T`.
#[derive(Debug)]
pub(crate) struct ContentBody<T> {
    prefix: Bytes,
    text: T,
    suffix: Bytes,
}

/// A content body whose text is filler, generated while it is sent.
pub(crate) type GeneratedContent = ContentBody<Filler>;

/// A content body around an extracted text held in memory, escaped while it is sent, so that
/// sending a large text never copies it whole.
pub(crate) type ExtractedContent = ContentBody<EscapedText>;

impl<T> ContentBody<T> {
    fn around(filename: &str, text: T) -> Self {
        let (prefix, suffix) = content_envelope(filename);
        Self {
            prefix: Bytes::from_static(prefix.as_bytes()),
            text,
            suffix: suffix.into(),
        }
    }
}

impl<T: ContentText> ContentBody<T> {
    fn remaining(&self) -> u64 {
        self.prefix.len() as u64 + self.text.remaining() + self.suffix.len() as u64
    }
}

impl<T: ContentText + Unpin> Body for ContentBody<T> {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let chunk = if !this.prefix.is_empty() {
            std::mem::take(&mut this.prefix)
        } else if let Some(chunk) = this.text.next_frame() {
            chunk
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

/// Filler text of a given length, from one shared chunk.
#[derive(Debug)]
pub(crate) struct Filler {
    chunk: Bytes,
    left: u64,
}

impl GeneratedContent {
    /// A body of `size` bytes, or of the JSON envelope's size if that is larger.
    pub(crate) fn new(filename: &str, size: u64, filler: Bytes) -> Self {
        let mut body = Self::around(
            filename,
            Filler {
                chunk: filler,
                left: 0,
            },
        );
        let envelope = (body.prefix.len() + body.suffix.len()) as u64;
        body.text.left = size.saturating_sub(envelope);
        body
    }
}

impl ContentText for Filler {
    fn next_frame(&mut self) -> Option<Bytes> {
        if self.left == 0 {
            return None;
        }
        let n = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(self.chunk.len());
        self.left -= n as u64;
        Some(self.chunk.slice(..n))
    }

    fn remaining(&self) -> u64 {
        self.left
    }
}

/// A UTF-8 text, escaped as inside a JSON string a frame at a time.
#[derive(Debug)]
pub(crate) struct EscapedText {
    /// The text not yet sent, split only at character boundaries.
    text: Bytes,
    escaped_left: u64,
}

impl ExtractedContent {
    /// The body for `text` (UTF-8) of `filename`; `escaped_len` is [`escaped_len`](crate::json::escaped_len) of `text`.
    pub(crate) fn new(filename: &str, text: Bytes, escaped_len: u64) -> Self {
        Self::around(
            filename,
            EscapedText {
                text,
                escaped_left: escaped_len,
            },
        )
    }
}

impl ContentText for EscapedText {
    fn next_frame(&mut self) -> Option<Bytes> {
        if self.text.is_empty() {
            return None;
        }
        let mut end = self.text.len().min(TEXT_CHUNK_BYTES);
        // Back off continuation bytes (10xxxxxx) to the start of a character.
        while end < self.text.len() && self.text[end] & 0xC0 == 0x80 {
            end -= 1;
        }
        let piece = self.text.split_to(end);
        // The text was UTF-8 when stored and is split only between characters.
        let escaped = std::str::from_utf8(&piece)
            .map(|text| Bytes::from(json_escaped(text)))
            .unwrap_or_default();
        self.escaped_left = self.escaped_left.saturating_sub(escaped.len() as u64);
        Some(escaped)
    }

    fn remaining(&self) -> u64 {
        self.escaped_left
    }
}

/// The error that ends a body cut short; the server then drops the connection.
#[derive(Debug, thiserror::Error)]
#[error("response body cut short by the mock's cut-body fault")]
pub(crate) struct BodyCut;

/// How long a body cut short waits before failing, so that the server flushes what was sent.
const CUT_PAUSE: Duration = Duration::from_millis(20);

/// A body that keeps `held` until its last frame is sent (or it fails, or is dropped): what
/// keeps a request counted as in flight until its answer is sent whole.
pub(crate) struct Holding<B, T> {
    inner: B,
    held: Option<T>,
}

impl<B, T> Holding<B, T> {
    pub(crate) fn new(inner: B, held: T) -> Self {
        Self {
            inner,
            held: Some(held),
        }
    }
}

impl<B, T> Body for Holding<B, T>
where
    B: Body<Data = Bytes> + Unpin,
    T: Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.held = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

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
    use crate::json::escaped_len;

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
    async fn extracted_content_escapes_across_chunks_and_has_the_exact_size() {
        // Multi-byte characters and characters to escape straddle every chunk boundary.
        let text: String = "é\"\n长文本\u{1}\\ "
            .chars()
            .cycle()
            .take(3 * TEXT_CHUNK_BYTES)
            .collect();
        let body = ExtractedContent::new("notes.md", Bytes::from(text.clone()), escaped_len(&text));
        let hint = body.size_hint().exact();
        let (sent, failed) = drain(body).await;
        assert!(!failed);
        assert_eq!(hint, Some(sent.len() as u64));
        let (prefix, suffix) = content_envelope("notes.md");
        assert_eq!(
            sent,
            format!("{prefix}{}{suffix}", json_escaped(&text)).as_bytes()
        );
        let envelope: serde_json::Value = serde_json::from_slice(&sent).expect("JSON");
        assert_eq!(envelope["content"], text.as_str());
        assert_eq!(envelope["file_type"], "text/markdown");
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
