//! Medians, spreads and ratios of a handful of samples.

use std::fmt;

use crate::BenchError;

/// The median of samples and their range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The middle sample, or the mean of the two middle ones.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none (or one is NaN).
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() || samples.iter().any(|s| s.is_nan()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }

    /// Summarizes `sample` of each item.
    ///
    /// # Errors
    /// When there are no items, or a sample is NaN.
    pub fn of_each<T>(items: &[T], sample: impl Fn(&T) -> f64) -> Result<Self, BenchError> {
        Self::of(&items.iter().map(sample).collect::<Vec<_>>()).ok_or_else(|| "no samples".into())
    }

    /// Shows the median and range with `decimals` decimals: `12.3 (11.0–13.1)`.
    pub fn show(&self, decimals: usize) -> Shown {
        Shown {
            summary: *self,
            decimals,
        }
    }
}

/// A [`Summary`] ready for a table cell.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    summary: Summary,
    decimals: usize,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, d) = (self.summary, self.decimals);
        write!(f, "{:.d$} ({:.d$}–{:.d$})", s.median, s.min, s.max)
    }
}

/// The ratio of each round's sample to the same round's baseline: pairing the rounds keeps
/// noise that hit one round (another build, a frequency change) out of the ratio.
pub fn paired_ratios(samples: &[f64], baseline: &[f64]) -> Vec<f64> {
    samples
        .iter()
        .zip(baseline)
        .map(|(sample, base)| sample / base)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let odd = Summary::of(&[3.0, 1.0, 2.0]).expect("samples");
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let even = Summary::of(&[4.0, 1.0, 2.0, 3.0]).expect("samples");
        assert_eq!(even.median, 2.5);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
        let halves = Summary::of_each(&[2.0, 4.0], |x| x / 2.0).expect("samples");
        assert_eq!(halves.median, 1.5);
        assert!(Summary::of_each(&[] as &[f64], |x| *x).is_err());
    }

    #[test]
    fn shown_with_spread() {
        let summary = Summary::of(&[1.0, 2.0, 4.0]).expect("samples");
        assert_eq!(summary.show(1).to_string(), "2.0 (1.0–4.0)");
    }

    #[test]
    fn ratios_are_paired_by_round() {
        assert_eq!(paired_ratios(&[2.0, 3.0], &[4.0, 3.0]), vec![0.5, 1.0]);
    }
}
