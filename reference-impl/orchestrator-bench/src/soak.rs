//! `bench soak`: the throughput scenario for minutes, watching orchestratord's memory. The
//! baseline runs in the same run, in rounds alternated with orchestratord's, so the throughput
//! ratio is measured under the same drift; orchestratord's RSS is sampled twice a second while
//! it is under load. Passes when the peak of the last half is at most 10 % above the peak of
//! the first half and under 200 MB.

use std::time::{Duration, Instant};

use crate::compare::{order, rounds};
use crate::load::{self, CLIENTS, TOKENS_PER_TASK, Throughput};
use crate::servers::{self, Server};
use crate::stats::{self, Row, Unit};

/// Rounds of one server at a time.
const ROUND: Duration = Duration::from_secs(10);
/// Between two RSS samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// 200 MB, in KiB.
const CEILING_KIB: f64 = 200_000_000.0 / 1024.0;

/// Samples `server`'s RSS every [`SAMPLE_EVERY`] for `length`, as (`offset` + seconds, KiB).
async fn sample_rss(server: &Server, length: Duration, offset: f64) -> Vec<(f64, u64)> {
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < length {
        if let Some(kib) = server.rss_kib() {
            samples.push((offset + start.elapsed().as_secs_f64(), kib));
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    samples
}

/// Runs the soak for `seconds` of load on each server; prints the report.
pub async fn run(binary: &str, seconds: u64) -> Result<bool, String> {
    let orchestratord =
        servers::start_orchestratord(binary, &servers::bench_config(), true).await?;
    let baseline = servers::start_baseline().await?;
    let both: [&Server; 2] = [&orchestratord, &baseline];
    let total = Duration::from_secs(seconds);
    let rounds = rounds(total, ROUND);
    println!(
        "== soak: {CLIENTS} closed-loop clients, {TOKENS_PER_TASK} tokens per task, {seconds} s per server in {} alternated rounds",
        rounds.len()
    );
    let idle = orchestratord.rss_kib().unwrap_or(0);
    let mut throughput = [Throughput::new()?, Throughput::new()?];
    let mut samples = Vec::new();
    let mut loaded = 0.0;
    for (k, length) in rounds.iter().enumerate() {
        for side in order(k) {
            if side == 0 {
                let (_, taken) = tokio::join!(
                    load::throughput_round(&orchestratord.base, *length, &mut throughput[0]),
                    sample_rss(&orchestratord, *length, loaded),
                );
                samples.extend(taken);
                loaded += length.as_secs_f64();
            } else {
                load::throughput_round(&both[1].base, *length, &mut throughput[1]).await;
            }
        }
        let last = samples.last().map_or(0, |(_, kib)| *kib);
        println!("  after {loaded:>5.0} s of load: orchestratord RSS {last} KiB");
    }
    let window = total.as_secs_f64() / 2.0;
    let peak_in = |from: f64, to: f64| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, kib)| *kib as f64)
            .fold(f64::NAN, f64::max)
    };
    let mut rows = crate::load::throughput_rows(&throughput);
    let memory = |label: String, orchestratord: f64, baseline: f64| Row {
        label,
        orchestratord,
        baseline,
        unit: Unit::KiB,
    };
    let baseline_peak = baseline.peak_rss_kib().map_or(f64::NAN, |k| k as f64);
    rows.push(memory("RSS idle".into(), idle as f64, f64::NAN));
    rows.push(memory(
        format!("peak RSS, first {window:.0} s"),
        peak_in(0.0, window),
        f64::NAN,
    ));
    rows.push(memory(
        format!("peak RSS, last {window:.0} s"),
        peak_in(total.as_secs_f64() - window, f64::INFINITY),
        f64::NAN,
    ));
    rows.push(memory(
        "peak RSS (VmHWM)".into(),
        orchestratord.peak_rss_kib().map_or(f64::NAN, |k| k as f64),
        baseline_peak,
    ));
    println!("== results");
    print!("{}", stats::table(&rows));
    for side in [0, 1] {
        println!(
            "  {:<14} {} tasks, {} failures",
            ["orchestratord", "baseline"][side],
            throughput[side].tasks,
            throughput[side].failures
        );
    }
    let targets = stats::soak_targets(&samples, total.as_secs_f64(), window, CEILING_KIB);
    let (text, all) = stats::verdicts(&targets);
    println!("== targets");
    print!("{text}");
    Ok(all)
}
