//! How long a batch may take: Moonshot's `completion_window`, 12 hours to 7 days.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;

const HOUR: u32 = 3600;

/// How long a batch may run before it expires: whole hours from 12 hours to 7 days, sent as
/// Moonshot writes it (`12h`, `1d`, `3d`, `36h`). The default is one day.
///
/// ```
/// use moonshot::batches::CompletionWindow;
/// let window: CompletionWindow = "3d".parse()?;
/// assert_eq!(window.hours(), 72);
/// assert_eq!(CompletionWindow::from_hours(36)?.to_string(), "36h");
/// assert!("2h".parse::<CompletionWindow>().is_err());
/// # Ok::<(), moonshot::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompletionWindow {
    hours: u32,
}

impl CompletionWindow {
    /// The shortest window Moonshot takes: 12 hours.
    pub const MIN: Self = Self { hours: 12 };
    /// The longest window Moonshot takes: 7 days.
    pub const MAX: Self = Self { hours: 7 * 24 };

    /// A window of `hours` hours.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] outside 12..=168 hours.
    pub fn from_hours(hours: u32) -> Result<Self, Error> {
        let window = Self { hours };
        if window < Self::MIN || window > Self::MAX {
            return Err(invalid(format!(
                "{window} is outside what Moonshot takes, 12h to 7d"
            )));
        }
        Ok(window)
    }

    /// A window of `days` days.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] outside 1..=7 days.
    pub fn from_days(days: u32) -> Result<Self, Error> {
        Self::from_hours(days.saturating_mul(24))
    }

    /// Its length in hours.
    pub fn hours(self) -> u32 {
        self.hours
    }

    /// Its length.
    pub fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.hours) * u64::from(HOUR))
    }
}

impl Default for CompletionWindow {
    /// One day.
    fn default() -> Self {
        Self { hours: 24 }
    }
}

impl fmt::Display for CompletionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hours.is_multiple_of(24) {
            write!(f, "{}d", self.hours / 24)
        } else {
            write!(f, "{}h", self.hours)
        }
    }
}

impl FromStr for CompletionWindow {
    type Err = Error;

    /// Parses `12h`, `36h`, `1d`, `7d`: a whole number and `h` or `d`.
    fn from_str(text: &str) -> Result<Self, Error> {
        let trimmed = text.trim();
        let (number, unit) = trimmed
            .char_indices()
            .last()
            .map_or(("", ""), |(i, _)| trimmed.split_at(i));
        let per_unit = match unit {
            "h" | "H" => 1,
            "d" | "D" => 24,
            _ => 0,
        };
        let hours = number
            .parse::<u32>()
            .ok()
            .filter(|_| per_unit > 0 && !number.starts_with('+'))
            .and_then(|n| n.checked_mul(per_unit))
            .ok_or_else(|| {
                invalid(format!(
                    "{text:?} is not a window: write whole hours or days, e.g. 12h, 24h, 3d"
                ))
            })?;
        Self::from_hours(hours)
    }
}

impl TryFrom<Duration> for CompletionWindow {
    type Error = Error;

    /// A duration of whole hours from 12 hours to 7 days.
    fn try_from(duration: Duration) -> Result<Self, Error> {
        let secs = duration.as_secs();
        if duration.subsec_nanos() != 0 || !secs.is_multiple_of(u64::from(HOUR)) {
            return Err(invalid(format!(
                "{duration:?} is not a whole number of hours"
            )));
        }
        let hours = u32::try_from(secs / u64::from(HOUR)).unwrap_or(u32::MAX);
        Self::from_hours(hours)
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidInput {
        name: "completion window",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_within_twelve_hours_and_seven_days() {
        for (text, hours, shown) in [
            ("12h", 12, "12h"),
            ("24h", 24, "1d"),
            ("1d", 24, "1d"),
            (" 36h ", 36, "36h"),
            ("7d", 168, "7d"),
            ("168h", 168, "7d"),
        ] {
            let window: CompletionWindow = text.parse().expect(text);
            assert_eq!(
                (window.hours(), window.to_string().as_str()),
                (hours, shown)
            );
        }
        for bad in [
            "",
            "h",
            "11h",
            "8d",
            "169h",
            "1.5d",
            "-1d",
            "+1d",
            "1w",
            "99999999999d",
            "1dd",
            "12é",
            "é",
        ] {
            let err = bad.parse::<CompletionWindow>().expect_err(bad);
            assert!(
                matches!(
                    &err,
                    Error::InvalidInput {
                        name: "completion window",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn durations_must_be_whole_hours_in_range() {
        assert_eq!(
            CompletionWindow::try_from(Duration::from_secs(48 * 3600))
                .expect("two days")
                .to_string(),
            "2d"
        );
        assert!(CompletionWindow::try_from(Duration::from_secs(12 * 3600 + 1)).is_err());
        assert!(CompletionWindow::try_from(Duration::from_secs(3600)).is_err());
        assert_eq!(
            CompletionWindow::default().duration(),
            Duration::from_secs(86_400)
        );
    }
}
