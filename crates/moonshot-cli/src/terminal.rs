//! Text from a server, made safe to show to a person.
//!
//! A server's text (an error message, a file name, an answer) may hold control characters: an
//! escape sequence printed raw retitles the window, clears the screen or moves the cursor, and a
//! newline puts a forged second line under a one-line error. What is shown to a person has every
//! control character written as an escape (`\u{1b}`, `\r`) instead:
//!
//! - error messages, warnings, progress and log lines on standard error, always (standard error
//!   is for people, and an error stays one line);
//! - tables and plain lines, which are printed only to a terminal;
//! - a streamed answer, its thinking and a file's text shown on a terminal, keeping their
//!   newlines and tabs.
//!
//! What goes to a program is left exact: JSON (whose strings escape control characters, see
//! [`json`]), and a file's text or content printed to a pipe or a file.

use std::borrow::Cow;

/// `text` on one line: every control character escaped, newlines and tabs too.
pub(crate) fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` as lines: every control character escaped but newlines and tabs.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(keep_lines && matches!(c, '\n' | '\t'));
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// JSON text with DEL and the C1 control characters (U+007F to U+009F) escaped as `\u00XX`:
/// serde_json escapes the others but leaves these raw, and some terminals act on them. They can
/// only stand inside strings, so the JSON means the same.
pub(crate) fn json(text: String) -> String {
    if !text.chars().any(c1_or_del) {
        return text;
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c1_or_del(c) {
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// DEL and the C1 controls.
fn c1_or_del(c: char) -> bool {
    ('\u{7f}'..='\u{9f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else_is_touched() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nerror: forged\tend\u{9b}31m";
        assert_eq!(
            line(hostile),
            "ok\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\r\\nerror: forged\\tend\\u{9b}31m"
        );
        assert_eq!(
            text(hostile),
            "ok\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\r\nerror: forged\tend\\u{9b}31m"
        );
        assert!(matches!(line("长文本.md — fine"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_keeps_its_meaning_with_c1_controls_escaped() {
        let value = serde_json::json!({"filename": "a\u{9b}2J\u{7f}\u{1b}.txt"});
        let printed = json(serde_json::to_string(&value).expect("JSON"));
        assert!(!printed.chars().any(char::is_control), "{printed}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&printed).expect("still JSON"),
            value
        );
    }
}
