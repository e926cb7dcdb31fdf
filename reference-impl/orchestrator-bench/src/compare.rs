//! `bench server`: orchestratord and the baseline side by side in one run. Both servers stay up
//! for the whole run and every scenario alternates short rounds between them (A B, B A, …), so
//! that drift on a shared machine (other builds, thermal state) falls on both alike. Prints the
//! table of [`crate::stats`] and the verdict on each target; `Ok(false)` when one is missed.

use std::time::Duration;

use crate::load::{self, CLIENTS, OpenLoop, TOKENS_PER_TASK, Throughput};
use crate::servers::{self, FULL_POOL, Server};
use crate::stats::{self, Limit, Row, Target, Unit};

/// Longest round of one scenario on one server.
const ROUND: Duration = Duration::from_secs(5);
/// Unmeasured load on each server before the first measured round.
const WARM_UP: Duration = Duration::from_secs(3);
/// Enqueue rate of the admission scenario.
const ADMISSION_RATE: u64 = 1_000;
/// Enqueue rate of the overload scenario: 10× admission.
const OVERLOAD_RATE: u64 = 10_000;
/// Most growth of orchestratord's RSS over the measured rounds that still counts as flat.
const FLAT_RSS_KIB: f64 = 16.0 * 1024.0;

/// The lengths of the rounds that make up `total` on one server: as many [`ROUND`]s as fit,
/// then the remainder.
pub fn rounds(total: Duration, round: Duration) -> Vec<Duration> {
    let mut left = total;
    let mut out = Vec::new();
    while !left.is_zero() {
        let next = left.min(round);
        out.push(next);
        left -= next;
    }
    out
}

/// The order of the two servers (0, 1) in round `k`: A B, then B A, alternately, so that
/// neither always runs right after the other.
pub fn order(k: usize) -> [usize; 2] {
    if k.is_multiple_of(2) { [0, 1] } else { [1, 0] }
}

const NAMES: [&str; 2] = ["orchestratord", "baseline"];

/// Runs every scenario interleaved, `seconds` per scenario per server; prints the report.
pub async fn run(binary: &str, seconds: u64) -> Result<bool, String> {
    let orchestratord =
        servers::start_orchestratord(binary, &servers::bench_config(), true).await?;
    let _full_pool_streams = servers::fill_full_pool(&orchestratord).await?;
    let baseline = servers::start_baseline().await?;
    let both: [&Server; 2] = [&orchestratord, &baseline];
    let total = Duration::from_secs(seconds);
    let rounds = rounds(total, ROUND);
    println!(
        "== orchestratord and the baseline interleaved: {} s per scenario per server, in {} rounds each",
        seconds,
        rounds.len()
    );

    // Warm-up: connection pools, allocator arenas and orchestratord's retained tasks reach
    // their steady state before the RSS "before" is read. Throughput goes last, so that the
    // 1,000 retained tasks are then the largest the run makes (256 tokens each, where an
    // admission task has one): the RSS "before" includes that plateau, and growth past it is
    // what the flat-memory target catches.
    for server in both {
        let mut open = OpenLoop::new()?;
        load::open_loop_round(server.addr(), "bench", ADMISSION_RATE, WARM_UP, &mut open).await?;
        load::open_loop_round(server.addr(), FULL_POOL, OVERLOAD_RATE, WARM_UP, &mut open).await?;
        let mut throughput = Throughput::new()?;
        load::throughput_round(&server.base, WARM_UP, &mut throughput).await;
    }
    let rss_before = both.map(|s| s.rss_kib().map_or(f64::NAN, |k| k as f64));

    println!("-- throughput: {CLIENTS} closed-loop clients, {TOKENS_PER_TASK} tokens per task");
    let mut throughput = [Throughput::new()?, Throughput::new()?];
    for (k, length) in rounds.iter().enumerate() {
        for side in order(k) {
            load::throughput_round(&both[side].base, *length, &mut throughput[side]).await;
        }
    }
    for side in [0, 1] {
        let t = &throughput[side];
        println!(
            "  {:<14} {} tasks, {} tokens, {} failures",
            NAMES[side], t.tasks, t.tokens, t.failures
        );
    }

    println!("-- admission: open loop of {ADMISSION_RATE} enqueues/s");
    let admission = open_loop(both, "bench", ADMISSION_RATE, &rounds).await?;
    println!("-- overload: open loop of {OVERLOAD_RATE} enqueues/s against a full queue");
    let overload = open_loop(both, FULL_POOL, OVERLOAD_RATE, &rounds).await?;
    let rss_after = both.map(|s| s.rss_kib().map_or(f64::NAN, |k| k as f64));
    let peak = both.map(|s| s.peak_rss_kib().map_or(f64::NAN, |k| k as f64));

    let mut rows = crate::load::throughput_rows(&throughput);
    let share = |label: &str, loops: &[OpenLoop; 2], status| Row {
        label: label.into(),
        orchestratord: loops[0].share(status),
        baseline: loops[1].share(status),
        unit: Unit::Percent,
    };
    let rate = |label: &str, loops: &[OpenLoop; 2]| Row {
        label: label.into(),
        orchestratord: loops[0].rate(),
        baseline: loops[1].rate(),
        unit: Unit::PerSecond,
    };
    rows.push(rate("admission rate achieved", &admission));
    rows.push(share("admission answered 202", &admission, 202));
    rows.extend(stats::latency_rows(
        "admission",
        "corrected",
        &admission[0].corrected,
        &admission[1].corrected,
    ));
    rows.extend(stats::latency_rows(
        "admission",
        "uncorrected",
        &admission[0].uncorrected,
        &admission[1].uncorrected,
    ));
    rows.push(rate("overload rate achieved", &overload));
    rows.push(share("overload answered 429", &overload, 429));
    rows.extend(stats::latency_rows(
        "429",
        "corrected",
        &overload[0].corrected,
        &overload[1].corrected,
    ));
    rows.extend(stats::latency_rows(
        "429",
        "uncorrected",
        &overload[0].uncorrected,
        &overload[1].uncorrected,
    ));
    let memory = |label: &str, values: [f64; 2]| Row {
        label: label.into(),
        orchestratord: values[0],
        baseline: values[1],
        unit: Unit::KiB,
    };
    rows.push(memory("RSS after warm-up", rss_before));
    rows.push(memory("RSS at the end", rss_after));
    rows.push(memory("peak RSS", peak));
    println!("== results");
    print!("{}", stats::table(&rows));

    let find = |label: &str| rows.iter().find(|r| r.label == label).cloned();
    let mut targets = Vec::new();
    if let Some(row) = find("throughput (tasks)") {
        targets.push(Target::ratio_at_least(&row, 0.6));
    }
    for (label, most) in [
        ("admission p99 (corrected)", 0.3),
        ("admission p99.9 (corrected)", 1.0),
        ("429 p99 (corrected)", 0.3),
    ] {
        if let Some(row) = find(label) {
            targets.push(Target::difference_at_most(&row, most));
        }
    }
    targets.push(Target {
        what: "admission answered 202 by orchestratord".into(),
        value: admission[0].share(202),
        limit: Limit::AtLeast(0.99),
        unit: Unit::Percent,
    });
    targets.push(Target {
        what: "overload answered 429 by orchestratord".into(),
        value: overload[0].share(429),
        limit: Limit::AtLeast(0.99),
        unit: Unit::Percent,
    });
    targets.push(Target {
        what: "orchestratord RSS growth over the measured rounds (flat)".into(),
        value: rss_after[0] - rss_before[0],
        limit: Limit::AtMost(FLAT_RSS_KIB),
        unit: Unit::KiB,
    });
    let (text, all) = stats::verdicts(&targets);
    println!("== targets (differences and ratios within this run)");
    print!("{text}");
    Ok(all)
}

/// The open-loop scenario for `pool` at `rate`, rounds alternated between the two servers.
async fn open_loop(
    both: [&Server; 2],
    pool: &str,
    rate: u64,
    rounds: &[Duration],
) -> Result<[OpenLoop; 2], String> {
    let mut loops = [OpenLoop::new()?, OpenLoop::new()?];
    for (k, length) in rounds.iter().enumerate() {
        for side in order(k) {
            load::open_loop_round(both[side].addr(), pool, rate, *length, &mut loops[side]).await?;
        }
    }
    Ok(loops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_cover_the_total_in_round_lengths() {
        let secs = Duration::from_secs;
        assert_eq!(rounds(secs(30), secs(5)), vec![secs(5); 6]);
        assert_eq!(rounds(secs(7), secs(5)), vec![secs(5), secs(2)]);
        assert_eq!(rounds(secs(3), secs(5)), vec![secs(3)]);
        assert!(rounds(Duration::ZERO, secs(5)).is_empty());
    }

    #[test]
    fn the_servers_alternate_which_goes_first() {
        assert_eq!(order(0), [0, 1]);
        assert_eq!(order(1), [1, 0]);
        assert_eq!(order(2), [0, 1]);
    }
}
