//! The one duration syntax of the workspace's commands (`moonshot --timeout`, `moonshot-mock
//! --latency`, `cargo xtask fetch --timeout`): a number of seconds (`2`, `0.5`) or a number with
//! a unit, as [`humantime`] reads it (`500ms`, `30s`, `2m`, `1h 30m`).
//!
//! Every parse is fallible: a value too large for a [`Duration`], below a nanosecond or negative
//! is an error that says what is accepted, never a panic.
//!
//! ```
//! use std::time::Duration;
//! assert_eq!(moonshot_duration::parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
//! assert_eq!(moonshot_duration::parse_timeout("2m"), Ok(Duration::from_secs(120)));
//! assert!(moonshot_duration::parse_timeout("0").is_err());
//! assert_eq!(moonshot_duration::parse_delay("0"), Ok(Duration::ZERO));
//! ```

use std::time::Duration;

/// What every message says is accepted.
const ACCEPTED: &str = "a number of seconds (2, 0.5) or a number with a unit (500ms, 30s, 2m)";

/// Parses a delay, which may be zero.
///
/// # Errors
/// A message naming `text` and saying what is accepted.
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    // A bare number is seconds; humantime wants a unit.
    let with_unit =
        if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
            format!("{trimmed}s")
        } else {
            trimmed.to_owned()
        };
    humantime::parse_duration(&with_unit)
        .map_err(|e| format!("`{text}` is not a duration ({e}): give {ACCEPTED}"))
}

/// Parses a timeout: a delay that must be more than zero, since a zero timeout can only expire.
///
/// # Errors
/// As [`parse_delay`], and for zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_delay(text)? {
        Duration::ZERO => Err(format!(
            "`{text}` is no time at all: a timeout must be more than zero, e.g. 30s"
        )),
        duration => Ok(duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_seconds_and_units() {
        for (text, expected) in [
            ("2", Duration::from_secs(2)),
            ("0.3", Duration::from_millis(300)),
            (" 30s ", Duration::from_secs(30)),
            ("250ms", Duration::from_millis(250)),
            ("2m", Duration::from_secs(120)),
            ("1h 30m", Duration::from_secs(5400)),
        ] {
            assert_eq!(parse_timeout(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_usable_duration_without_panicking() {
        for text in [
            "",
            "soon",
            "-1",
            "1e-9",
            "5 parsecs",
            "100000000000000000000",
            "18446744073709551616s",
            "NaN",
            "inf",
        ] {
            let error = parse_timeout(text).expect_err(text);
            assert!(error.contains(&format!("`{text}`")), "{error}");
        }
        assert!(
            parse_timeout("0")
                .expect_err("zero")
                .contains("more than zero")
        );
        assert!(parse_timeout("0ms").is_err());
        assert_eq!(parse_delay("0"), Ok(Duration::ZERO));
    }
}
