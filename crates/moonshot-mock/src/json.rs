//! JSON text written as the real API writes it.

use serde_json::Value;

use crate::mime::file_type;

/// A string as a JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}

/// A string escaped as inside a JSON string literal, without the quotes.
pub(crate) fn json_escaped(text: &str) -> String {
    let mut quoted = json_string(text);
    quoted.pop();
    quoted.remove(0);
    quoted
}

/// The real API's JSON envelope around a file's text, split where the text goes: `{"content":
/// "` and `", "file_type": ..., "filename": ..., "title": "", "type": "file"}`, written with
/// its `", "` and `": "` separators and its field order.
pub(crate) fn content_envelope(filename: &str) -> (&'static str, String) {
    let prefix = r#"{"content": ""#;
    let suffix = format!(
        r#"", "file_type": {}, "filename": {}, "title": "", "type": "file"}}"#,
        json_string(file_type(filename)),
        json_string(filename)
    );
    (prefix, suffix)
}

/// The length of `text` escaped as a JSON string, without its quotes.
pub(crate) fn escaped_len(text: &str) -> u64 {
    /// Counts what is written to it.
    struct Counter(u64);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a string to a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, text);
    counter.0 - 2
}
