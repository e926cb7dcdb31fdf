//! The pure part of `bench server` and `bench soak`: latency percentiles read from HDR
//! histograms, the side-by-side table of orchestratord and the baseline, and the verdicts on the
//! targets (met, or missed by how much). No I/O: the scenarios measure, this module judges.

use hdrhistogram::Histogram;

/// The percentiles every latency row shows.
pub const PERCENTILES: [f64; 3] = [50.0, 99.0, 99.9];

/// Longest latency a histogram tells apart: an hour, in nanoseconds. Longer ones are recorded
/// as an hour (`saturating_record`).
const HIGHEST_NS: u64 = 3_600 * 1_000_000_000;

/// An empty histogram of latencies in nanoseconds, 1 ns to an hour, 3 significant digits.
pub fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3)
        .map_err(|e| format!("cannot create a latency histogram: {e}"))
}

/// Percentile `p` (0–100) of `histogram` in milliseconds; NaN when it holds no sample.
pub fn percentile_ms(histogram: &Histogram<u64>, p: f64) -> f64 {
    if histogram.is_empty() {
        return f64::NAN;
    }
    histogram.value_at_quantile(p / 100.0) as f64 / 1e6
}

/// One line of the table: a measure of orchestratord beside the same measure of the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What is measured, e.g. `admission p99 (corrected)`.
    pub label: String,
    /// orchestratord's value.
    pub orchestratord: f64,
    /// The baseline's value.
    pub baseline: f64,
    /// How the values read.
    pub unit: Unit,
}

/// The unit of a [`Row`] or [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// Tasks per second.
    PerSecond,
    /// KiB of memory.
    KiB,
    /// A fraction shown as a percentage.
    Percent,
    /// A number of things.
    Count,
}

impl Unit {
    /// `value` with its unit, `n/a` for NaN.
    pub fn show(self, value: f64) -> String {
        if value.is_nan() {
            return "n/a".to_owned();
        }
        match self {
            Self::Ms => format!("{value:.3} ms"),
            Self::PerSecond => format!("{value:.0} /s"),
            Self::KiB => format!("{value:.0} KiB"),
            Self::Percent => format!("{:.1} %", value * 100.0),
            Self::Count => format!("{value:.0}"),
        }
    }

    /// A signed difference in this unit.
    fn show_signed(self, value: f64) -> String {
        if value.is_nan() {
            return "n/a".to_owned();
        }
        let sign = if value >= 0.0 { "+" } else { "" };
        format!("{sign}{}", self.show(value))
    }
}

impl Row {
    /// A row of latencies in milliseconds.
    pub fn ms(label: impl Into<String>, orchestratord: f64, baseline: f64) -> Self {
        Self {
            label: label.into(),
            orchestratord,
            baseline,
            unit: Unit::Ms,
        }
    }

    /// orchestratord minus the baseline.
    pub fn difference(&self) -> f64 {
        self.orchestratord - self.baseline
    }

    /// orchestratord over the baseline; NaN when the baseline is zero.
    pub fn ratio(&self) -> f64 {
        if self.baseline == 0.0 {
            f64::NAN
        } else {
            self.orchestratord / self.baseline
        }
    }
}

/// The latency rows of one scenario: p50, p99 and p99.9 of both histograms of each server.
pub fn latency_rows(
    scenario: &str,
    kind: &str,
    orchestratord: &Histogram<u64>,
    baseline: &Histogram<u64>,
) -> Vec<Row> {
    PERCENTILES
        .iter()
        .map(|&p| {
            Row::ms(
                format!("{scenario} p{p} ({kind})"),
                percentile_ms(orchestratord, p),
                percentile_ms(baseline, p),
            )
        })
        .collect()
}

/// The table: one line per row, with the difference (and the ratio for rates).
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(0).max(8);
    let mut out = format!(
        "  {:<width$}  {:>14}  {:>14}  {:>14}\n",
        "measure", "orchestratord", "baseline", "difference"
    );
    for row in rows {
        let mut difference = row.unit.show_signed(row.difference());
        if row.unit == Unit::PerSecond {
            difference = format!("{} ratio", Unit::Percent.show(row.ratio()));
        }
        out.push_str(&format!(
            "  {:<width$}  {:>14}  {:>14}  {:>14}\n",
            row.label,
            row.unit.show(row.orchestratord),
            row.unit.show(row.baseline),
            difference,
        ));
    }
    out
}

/// Which side of its limit a target's value must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// The value must not exceed this.
    AtMost(f64),
    /// The value must reach this.
    AtLeast(f64),
}

/// One target: a value measured in this run and its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What the value is, e.g. `admission p99, orchestratord - baseline (corrected)`.
    pub what: String,
    /// The value measured.
    pub value: f64,
    /// The limit it must keep.
    pub limit: Limit,
    /// The unit of both.
    pub unit: Unit,
}

impl Target {
    /// `row`'s difference must not exceed `most` milliseconds.
    pub fn difference_at_most(row: &Row, most: f64) -> Self {
        Self {
            what: format!("{}: orchestratord - baseline", row.label),
            value: row.difference(),
            limit: Limit::AtMost(most),
            unit: row.unit,
        }
    }

    /// `row`'s ratio must reach `least` (a fraction).
    pub fn ratio_at_least(row: &Row, least: f64) -> Self {
        Self {
            what: format!("{}: orchestratord / baseline", row.label),
            value: row.ratio(),
            limit: Limit::AtLeast(least),
            unit: Unit::Percent,
        }
    }

    /// By how much the target is missed (positive), or `None` when it is met. A value that
    /// could not be measured (NaN) misses by NaN.
    pub fn miss(&self) -> Option<f64> {
        match self.limit {
            Limit::AtMost(most) if self.value <= most => None,
            Limit::AtMost(most) => Some(self.value - most),
            Limit::AtLeast(least) if self.value >= least => None,
            Limit::AtLeast(least) => Some(least - self.value),
        }
    }

    /// `PASS …` or `FAIL … missed by …`, one line.
    pub fn verdict_line(&self) -> String {
        let (sign, limit) = match self.limit {
            Limit::AtMost(most) => ("<=", most),
            Limit::AtLeast(least) => (">=", least),
        };
        let head = format!(
            "{} {sign} {} ({})",
            self.what,
            self.unit.show(limit),
            self.unit.show(self.value)
        );
        match self.miss() {
            None => format!("PASS  {head}"),
            Some(by) if by.is_nan() => format!("FAIL  {head}: not measured"),
            Some(by) => format!("FAIL  {head}: missed by {}", self.unit.show(by)),
        }
    }
}

/// Every target's verdict line, and whether all were met.
pub fn verdicts(targets: &[Target]) -> (String, bool) {
    let mut out = String::new();
    for target in targets {
        out.push_str("  ");
        out.push_str(&target.verdict_line());
        out.push('\n');
    }
    (out, targets.iter().all(|t| t.miss().is_none()))
}

/// The soak's memory targets from RSS samples `(seconds of load, KiB)`: the peak of the last
/// `window` seconds at most 10 % above the peak of the first `window` seconds, and the peak
/// under `ceiling_kib`. Empty windows give NaN values, which miss.
pub fn soak_targets(
    samples: &[(f64, u64)],
    total: f64,
    window: f64,
    ceiling_kib: f64,
) -> Vec<Target> {
    let peak = |keep: &dyn Fn(f64) -> bool| {
        samples
            .iter()
            .filter(|(t, _)| keep(*t))
            .map(|(_, kib)| *kib as f64)
            .fold(f64::NAN, f64::max)
    };
    let early = peak(&|t| t <= window);
    let late = peak(&|t| t >= total - window);
    let overall = peak(&|_| true);
    vec![
        Target {
            what: format!("peak RSS of the last {window:.0} s / of the first {window:.0} s"),
            value: late / early,
            limit: Limit::AtMost(1.10),
            unit: Unit::Percent,
        },
        Target {
            what: "peak RSS".to_owned(),
            value: overall,
            limit: Limit::AtMost(ceiling_kib),
            unit: Unit::KiB,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(values_ns: &[u64]) -> Histogram<u64> {
        let mut h = histogram().unwrap();
        for v in values_ns {
            h.saturating_record(*v);
        }
        h
    }

    #[test]
    fn percentiles_of_a_histogram_in_milliseconds() {
        // 1,000 samples of 1..=1000 µs; 3 significant digits read back within 0.2 %.
        let values: Vec<u64> = (1..=1000).map(|us| us * 1000).collect();
        let h = filled(&values);
        let p50 = percentile_ms(&h, 50.0);
        let p99 = percentile_ms(&h, 99.0);
        let p999 = percentile_ms(&h, 99.9);
        assert!((p50 - 0.5).abs() < 0.002, "{p50}");
        assert!((p99 - 0.99).abs() < 0.002, "{p99}");
        assert!((p999 - 0.999).abs() < 0.002, "{p999}");
        assert!(p50 < p99 && p99 < p999);
        assert!(percentile_ms(&histogram().unwrap(), 50.0).is_nan());
    }

    #[test]
    fn latency_rows_pair_the_servers_percentiles() {
        let orchestratord = filled(&[2_000_000; 10]);
        let baseline = filled(&[1_000_000; 10]);
        let rows = latency_rows("admission", "corrected", &orchestratord, &baseline);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].label, "admission p99 (corrected)");
        assert!((rows[1].difference() - 1.0).abs() < 0.01);
    }

    #[test]
    fn a_difference_target_passes_at_its_limit_and_fails_above_it_by_the_excess() {
        let met = Target::difference_at_most(&Row::ms("p99", 1.25, 1.0), 0.25);
        assert_eq!(met.miss(), None);
        let missed = Target::difference_at_most(&Row::ms("p99", 1.75, 1.0), 0.3);
        let by = missed.miss().unwrap();
        assert!((by - 0.45).abs() < 1e-9, "{by}");
        assert!(missed.verdict_line().starts_with("FAIL"));
        assert!(
            missed.verdict_line().ends_with("missed by 0.450 ms"),
            "{}",
            missed.verdict_line()
        );
        let faster = Target::difference_at_most(&Row::ms("p99", 0.5, 1.0), 0.3);
        assert_eq!(faster.miss(), None);
        assert!(faster.verdict_line().starts_with("PASS"));
    }

    #[test]
    fn a_ratio_target_fails_below_its_share() {
        let rate = |o, b| Row {
            label: "throughput".into(),
            orchestratord: o,
            baseline: b,
            unit: Unit::PerSecond,
        };
        assert_eq!(
            Target::ratio_at_least(&rate(650.0, 1000.0), 0.6).miss(),
            None
        );
        let missed = Target::ratio_at_least(&rate(500.0, 1000.0), 0.6);
        assert!((missed.miss().unwrap() - 0.1).abs() < 1e-9);
        assert!(missed.verdict_line().ends_with("missed by 10.0 %"));
        // No baseline throughput: nothing to compare with, so the target is not met.
        let unmeasured = Target::ratio_at_least(&rate(500.0, 0.0), 0.6);
        assert!(unmeasured.miss().unwrap().is_nan());
        assert!(unmeasured.verdict_line().ends_with("not measured"));
    }

    #[test]
    fn verdicts_are_all_met_only_when_every_target_is() {
        let pass = Target::difference_at_most(&Row::ms("a", 1.0, 1.0), 0.3);
        let fail = Target::difference_at_most(&Row::ms("b", 2.0, 1.0), 0.3);
        assert!(verdicts(std::slice::from_ref(&pass)).1);
        let (text, ok) = verdicts(&[pass, fail]);
        assert!(!ok);
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn the_table_shows_differences_and_throughput_ratios() {
        let rows = vec![
            Row::ms("admission p99 (corrected)", 0.5, 0.25),
            Row {
                label: "throughput".into(),
                orchestratord: 700.0,
                baseline: 1000.0,
                unit: Unit::PerSecond,
            },
        ];
        let text = table(&rows);
        assert!(text.contains("+0.250 ms"), "{text}");
        assert!(text.contains("70.0 % ratio"), "{text}");
    }

    #[test]
    fn soak_passes_on_flat_memory_and_fails_on_growth() {
        let flat: Vec<(f64, u64)> = (0..120).map(|s| (s as f64, 30_000 + (s % 3))).collect();
        let targets = soak_targets(&flat, 120.0, 60.0, 195_312.0);
        assert!(verdicts(&targets).1);
        // Growing by 200 KiB a second: the last minute peaks 40 % above the first.
        let growing: Vec<(f64, u64)> = (0..120).map(|s| (s as f64, 30_000 + 200 * s)).collect();
        let targets = soak_targets(&growing, 120.0, 60.0, 195_312.0);
        assert!(targets[0].miss().is_some());
        assert_eq!(targets[1].miss(), None);
        // Over the ceiling.
        let big: Vec<(f64, u64)> = (0..120).map(|s| (s as f64, 300_000)).collect();
        assert!(
            soak_targets(&big, 120.0, 60.0, 195_312.0)[1]
                .miss()
                .is_some()
        );
        // No samples: not measured, not met.
        assert!(!verdicts(&soak_targets(&[], 120.0, 60.0, 195_312.0)).1);
    }
}
