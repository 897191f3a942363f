//! `-v` and `-vv`: request logs on standard error, which never show the API key.
//!
//! The key is never logged by the client, but a server can echo it (in a request id header, say),
//! and what it sends is logged: so each line is scanned for the key before it is written, and
//! the key replaced. Its control characters are escaped (see [`crate::terminal`]), so a line has
//! no colours either.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// What replaces the API key in a log line.
const REDACTED: &str = "[API key]";

/// Logs requests at `verbose` (1: each request; 2 and more: everything), with `key` replaced
/// wherever it shows.
pub(crate) fn init(verbose: u8, key: Option<String>) {
    let filter = match verbose {
        0 => return,
        1 => "moonshot=info",
        _ => "moonshot=trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(Lines {
            key: key.filter(|k| !k.trim().is_empty()),
        })
        .with_ansi(false)
        .init();
}

/// Makes one [`Line`] per event.
struct Lines {
    key: Option<String>,
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            key: self.key.as_deref(),
            text: Vec::new(),
        }
    }
}

/// One event's text, gathered, then written cleaned when dropped: the key cannot be split
/// between two writes and escape its replacement.
struct Line<'a> {
    key: Option<&'a str>,
    text: Vec<u8>,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        let _ = std::io::stderr().write_all(clean(&self.text, self.key).as_bytes());
    }
}

/// A log line as written: `key` replaced, control characters but newlines escaped.
fn clean(text: &[u8], key: Option<&str>) -> String {
    let mut text = String::from_utf8_lossy(text).into_owned();
    if let Some(key) = key {
        text = text.replace(key, REDACTED);
    }
    crate::terminal::text(&text).replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_neither_the_key_nor_raw_control_characters() {
        let line = b"request_id=\"sk-secret\" error=a\x1b[2Jb sk-secret\n";
        assert_eq!(
            clean(line, Some("sk-secret")),
            "request_id=\"[API key]\" error=a\\u{1b}[2Jb [API key]\n"
        );
    }
}
