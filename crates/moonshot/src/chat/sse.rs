//! Server-sent events, parsed in one pass over the bytes as they arrive.
//!
//! Written here rather than taken from `eventsource-stream`, which scans its whole buffer again
//! for each chunk: one 10 MB `data:` line (a big tool call's arguments) took it over a minute.
//! Here each byte is looked at once, whatever the length of its line. Lines end as the
//! specification says, with CRLF, LF, or CR alone (a CR at the end of a chunk may be followed by
//! its LF in the next).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

/// One event: its type (empty for the default type, `message`, so that the usual event costs
/// no allocation for it) and its data, the `data:` fields' values joined by newlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) event: String,
    pub(crate) data: String,
}

/// Why the events stopped.
#[derive(Debug)]
pub(crate) enum SseError<E> {
    /// The bytes' source failed.
    Transport(E),
    /// A line is not UTF-8.
    Utf8(std::str::Utf8Error),
}

impl<E: std::fmt::Display> std::fmt::Display for SseError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => e.fmt(f),
            Self::Utf8(e) => write!(f, "an event stream line is not UTF-8: {e}"),
        }
    }
}

/// The events of a stream of bytes.
pub(crate) struct EventStream<S> {
    bytes: S,
    /// Bytes of the line not ended yet; they hold no line end.
    line: Vec<u8>,
    /// The last chunk ended with a CR: an LF starting the next one ends no other line.
    after_cr: bool,
    event: String,
    data: String,
    ready: VecDeque<Event>,
    ended: bool,
    /// Bytes looked at for line ends, to show the parse is linear.
    scanned: u64,
}

impl<S> EventStream<S> {
    pub(crate) fn new(bytes: S) -> Self {
        Self {
            bytes,
            line: Vec::new(),
            after_cr: false,
            event: String::new(),
            data: String::new(),
            ready: VecDeque::new(),
            ended: false,
            scanned: 0,
        }
    }

    /// Takes in one chunk: each line it ends is read, and what follows its last line end is
    /// kept for the next.
    fn feed(&mut self, mut chunk: &[u8]) -> Result<(), std::str::Utf8Error> {
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        while let Some(end) = chunk.iter().position(|b| matches!(b, b'\r' | b'\n')) {
            self.scanned += end as u64 + 1;
            let ended = if self.line.is_empty() {
                self.read_line(&chunk[..end])
            } else {
                self.line.extend_from_slice(&chunk[..end]);
                let line = std::mem::take(&mut self.line);
                let read = self.read_line(&line);
                self.line = line;
                self.line.clear();
                read
            };
            ended?;
            let mut next = end + 1;
            if chunk[end] == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            chunk = &chunk[next..];
        }
        self.scanned += chunk.len() as u64;
        self.line.extend_from_slice(chunk);
        Ok(())
    }

    /// The end of the bytes: a last line without its line end, and a last event without its
    /// blank line, are read too.
    fn finish(&mut self) -> Result<(), std::str::Utf8Error> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.read_line(&line)?;
        }
        self.dispatch();
        Ok(())
    }

    /// One line: a field, a comment, or the blank line that ends an event.
    fn read_line(&mut self, line: &[u8]) -> Result<(), std::str::Utf8Error> {
        let line = std::str::from_utf8(line)?;
        // A byte-order mark may open the stream.
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                // One allocation for the usual one-line event, not a second for its newline.
                self.data.reserve(value.len() + 1);
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => value.clone_into(&mut self.event),
            // Comments (an empty field name), `id`, `retry` and unknown fields mean nothing here.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self) {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        let event = if event == "message" {
            String::new()
        } else {
            event
        };
        self.ready.push_back(Event { event, data });
    }
}

impl<S, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Event, SseError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let read = match Pin::new(&mut this.bytes).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.feed(&chunk),
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(SseError::Transport(e))));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    this.finish()
                }
            };
            if let Err(e) = read {
                this.ended = true;
                this.ready.clear();
                return Poll::Ready(Some(Err(SseError::Utf8(e))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;

    /// The events of `chunks`, parsed as they would arrive.
    fn parse(chunks: &[&[u8]]) -> (Vec<Event>, u64) {
        let bytes = futures::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::convert::Infallible>(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let mut events = EventStream::new(bytes);
        let parsed = futures::executor::block_on(async {
            let mut parsed = Vec::new();
            while let Some(event) = events.next().await {
                parsed.push(event.expect("parses"));
            }
            parsed
        });
        (parsed, events.scanned)
    }

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn every_line_ending_ends_lines_even_split_across_chunks() {
        for chunks in [
            &[b"data: a\n\ndata: [DONE]\n\n".as_slice()][..],
            &[b"data: a\r\n\r\ndata: [DONE]\r\n\r\n"],
            &[b"data: a\r\rdata: [DONE]\r\r"],
            &[b"data: a\r", b"\n\r", b"\ndata: [DONE]\r", b"\r"],
            &[b"data: a\r", b"\r", b"data: [DONE]\r", b"\r"],
            &[b"da", b"ta: a\n", b"\n", b"data: [DO", b"NE]\n\n"],
            // A last event without its blank line, or its line end, is read too.
            &[b"data: a\n\ndata: [DONE]"],
            &[b"data: a\n\ndata: [DONE]\r"],
        ] {
            let (events, _) = parse(chunks);
            assert_eq!(data(&events), ["a", "[DONE]"], "{chunks:?}");
        }
    }

    #[test]
    fn fields_follow_the_specification() {
        let (events, _) = parse(&[
            b"\xef\xbb\xbf: a comment\nevent: error\ndata:one\ndata:  two\nid: 7\nretry: 10\n\n",
            b"data\n\nevent: ignored\n\ndata: last\n\n",
        ]);
        assert_eq!(
            events,
            [
                Event {
                    event: "error".to_owned(),
                    data: "one\n two".to_owned()
                },
                Event {
                    event: String::new(),
                    data: String::new()
                },
                Event {
                    event: String::new(),
                    data: "last".to_owned()
                },
            ]
        );
    }

    #[test]
    fn a_line_of_ten_megabytes_in_small_chunks_is_scanned_once() {
        let line = format!("data: {}\n\n", "x".repeat(10 * 1024 * 1024));
        let chunks: Vec<&[u8]> = line.as_bytes().chunks(8 * 1024).collect();
        let (events, scanned) = parse(&chunks);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), 10 * 1024 * 1024);
        assert_eq!(scanned, line.len() as u64);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_an_error() {
        let bytes = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from_static(
            b"data: \xff\n\n",
        ))]);
        let mut events = EventStream::new(bytes);
        let first = futures::executor::block_on(events.next());
        assert!(matches!(first, Some(Err(SseError::Utf8(_)))), "{first:?}");
    }
}
