//! The one duration syntax of the workspace's commands (`moonshot --timeout`, `moonshot-mock
//! --latency`, `cargo xtask fetch --timeout`): a number of seconds (`2`, `0.5`) or a number with
//! a unit, as [`humantime`] reads it (`500ms`, `30s`, `2m`, `1h 30m`).
//!
//! Every parse is fallible: a value too large for a [`Duration`], finer than a nanosecond (the
//! smallest step a [`Duration`] has) or negative is an error that names the value, says what is
//! wrong with it and what is accepted, never a panic.
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
    if trimmed.starts_with('-') {
        return Err(format!(
            "`{text}` is negative: a duration must be positive: give {ACCEPTED}"
        ));
    }
    // A bare number is seconds, read here: humantime wants a unit, and reports a fraction finer
    // than a nanosecond as "too large".
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return seconds(text, trimmed);
    }
    humantime::parse_duration(trimmed).map_err(|e| match e {
        humantime::DurationError::NumberOverflow => format!(
            "`{text}` is too large or finer than a nanosecond (the smallest step): give {ACCEPTED}, \
             from 1ns to centuries"
        ),
        e => format!("`{text}` is not a duration ({e}): give {ACCEPTED}"),
    })
}

/// A bare number of seconds, `trimmed` holding only digits and points.
fn seconds(text: &str, trimmed: &str) -> Result<Duration, String> {
    let not_a_number = || format!("`{text}` is not a number of seconds: give {ACCEPTED}");
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    if fraction.contains('.')
        || (whole.is_empty() && fraction.is_empty())
        || (trimmed.contains('.') && fraction.is_empty())
    {
        return Err(not_a_number());
    }
    let secs = if whole.is_empty() {
        0
    } else {
        whole.parse::<u64>().map_err(|_| {
            format!(
                "`{text}` is too large: a duration is at most {} seconds (about 584 billion \
                 years)",
                u64::MAX
            )
        })?
    };
    let (nanos, finer) = fraction.split_at(fraction.len().min(9));
    if finer.bytes().any(|b| b != b'0') {
        let below = secs == 0 && nanos.bytes().all(|b| b == b'0');
        return Err(if below {
            format!(
                "`{text}` is below a nanosecond, the smallest duration: give at least \
                 0.000000001 (1ns)"
            )
        } else {
            format!(
                "`{text}` is finer than a nanosecond, the smallest step of a duration: give at \
                 most 9 digits after the point"
            )
        });
    }
    // At most nine digits: padded to nine, they are the nanoseconds.
    let nanos = format!("{nanos:0<9}")
        .parse::<u32>()
        .map_err(|_| not_a_number())?;
    Ok(Duration::new(secs, nanos))
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
            "1..5",
            ".",
            "1.",
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

    #[test]
    fn says_what_is_wrong_with_a_negative_tiny_or_huge_value() {
        for (text, expected) in [
            ("-1", "is negative: a duration must be positive"),
            (" -0.5s", "is negative"),
            ("0.0000000001", "is below a nanosecond"),
            ("1.0000000001", "is finer than a nanosecond"),
            ("0.5ns", "is too large or finer than a nanosecond"),
            ("18446744073709551616", "is too large"),
        ] {
            let error = parse_delay(text).expect_err(text);
            assert!(error.contains(&format!("`{text}` {expected}")), "{error}");
        }
        for (text, expected) in [
            ("0.000000001", Duration::from_nanos(1)),
            ("1.5000000000", Duration::from_millis(1500)),
            (".25", Duration::from_millis(250)),
            ("18446744073709551615", Duration::from_secs(u64::MAX)),
        ] {
            assert_eq!(parse_delay(text), Ok(expected), "{text}");
        }
    }
}
