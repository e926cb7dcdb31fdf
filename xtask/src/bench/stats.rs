//! Summary statistics of repeated runs: median, minimum, maximum.

use crate::rss::Measurement;

/// One tool's runs, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Number of runs.
    pub runs: usize,
    /// Median wall time in milliseconds.
    pub median_ms: f64,
    /// Fastest run in milliseconds.
    pub min_ms: f64,
    /// Slowest run in milliseconds.
    pub max_ms: f64,
    /// Median peak RSS in KiB.
    pub median_rss_kib: f64,
    /// Largest peak RSS of any run in KiB.
    pub max_rss_kib: f64,
}

/// The median: the middle value, or the mean of the two middle values for an even count.
/// `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(mid).copied(),
        _ => Some((sorted.get(mid - 1)? + sorted.get(mid)?) / 2.0),
    }
}

/// Summarises `runs`; `None` when there are none.
pub fn summarize(runs: &[Measurement]) -> Option<Summary> {
    let ms: Vec<f64> = runs.iter().map(|m| m.wall.as_secs_f64() * 1e3).collect();
    // KiB counts stay far below 2^53, so f64 holds them exactly.
    let rss: Vec<f64> = runs.iter().map(|m| m.max_rss_kib as f64).collect();
    Some(Summary {
        runs: runs.len(),
        median_ms: median(&ms)?,
        min_ms: ms.iter().copied().reduce(f64::min)?,
        max_ms: ms.iter().copied().reduce(f64::max)?,
        median_rss_kib: median(&rss)?,
        max_rss_kib: rss.iter().copied().reduce(f64::max)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[4.0]), Some(4.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[8.0, 2.0, 4.0, 6.0]), Some(5.0));
        assert_eq!(median(&[3.0, 100.0, 1.0, 2.0, 2.0]), Some(2.0));
    }

    #[test]
    fn summary_of_runs() {
        use std::os::unix::process::ExitStatusExt;
        use std::process::ExitStatus;
        use std::time::Duration;
        let run = |ms: u64, kib: u64| Measurement {
            wall: Duration::from_millis(ms),
            max_rss_kib: kib,
            status: ExitStatus::from_raw(0),
        };
        let summary = summarize(&[run(30, 900), run(10, 1000), run(20, 1100)]);
        let expected = Summary {
            runs: 3,
            median_ms: 20.0,
            min_ms: 10.0,
            max_ms: 30.0,
            median_rss_kib: 1000.0,
            max_rss_kib: 1100.0,
        };
        assert_eq!(summary, Some(expected));
        assert_eq!(summarize(&[]), None);
    }
}
