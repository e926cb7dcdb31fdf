//! `cargo xtask bench report --scale`: how `spectrace extract`, `scan`, `report` and `site`
//! grow from 1,000 to 10,000 to 100,000 requirements ([`scale_corpus`], two annotated tests
//! per requirement; at 100,000 the records are spread over 16 shard directories, read with
//! `--run 'shards/*'`).
//!
//! For each size and step: the median wall time and the largest peak RSS of [`RUNS`] runs
//! (the site rebuilt from scratch each time), the size of what the step wrote, and the growth
//! factor of the time from the size before (10× more requirements). Targets at 100,000:
//! `report` ≤ 10 s, `site` ≤ 30 s, peak RSS ≤ 1.5 GB, and each 10× step ≤ 11× the time of
//! the whole chain.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use super::harness::{self, CorpusDir, Verdict, mb};
use super::scale_corpus::{self, Shape};
use super::stats::median;
use crate::cli::CorpusOptions;
use crate::rss::run_measured;
use crate::term;
use crate::workspace::Workspace;

/// Timed runs per size and step.
const RUNS: usize = 3;
/// The sizes.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// The steps, in order.
const STEPS: [&str; 4] = ["extract", "scan", "report", "site"];
/// Targets at the largest size.
const REPORT_S: f64 = 10.0;
const SITE_S: f64 = 30.0;
const RSS_MB: f64 = 1_500.0;
/// The most a 10× step may multiply the chain's time by.
const GROWTH: f64 = 11.0;

/// Runs the benchmark; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &CorpusOptions) -> ExitCode {
    match bench(workspace, options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xtask bench report --scale: {message}");
            ExitCode::FAILURE
        }
    }
}

/// One step at one size: median wall (ms), largest peak RSS (KiB), bytes written.
#[derive(Debug, Clone, Copy, Default)]
struct StepResult {
    wall_ms: f64,
    rss_kib: f64,
    output_bytes: u64,
}

fn shape(requirements: usize) -> Shape {
    Shape {
        requirements,
        tests_per_requirement: 2,
        cover_every: 1,
        shards: if requirements >= 100_000 { 16 } else { 1 },
    }
}

fn bench(workspace: &Workspace, options: &CorpusOptions) -> Result<bool, String> {
    let color = term::color_enabled();
    let spectrace: PathBuf = match &options.binary {
        Some(binary) => binary.clone(),
        None => {
            harness::release_build(workspace, &["spectrace"])?;
            workspace.binary("release", "spectrace")
        }
    };
    let mut table: Vec<(usize, [StepResult; 4])> = Vec::new();
    for size in SIZES {
        let shape = shape(size);
        println!(
            "==> {size} requirements, {} tests, {} run director{}",
            shape.tests(),
            shape.shards,
            if shape.shards == 1 { "y" } else { "ies" }
        );
        let dir = CorpusDir::prepare(options.keep.as_deref(), "scale", scale_corpus::ENTRIES)
            .map_err(|e| format!("cannot prepare the corpus directory: {e}"))?;
        let root = dir.path();
        let files = scale_corpus::generate(shape);
        let bytes = super::corpus::write(root, &files)
            .map_err(|e| format!("cannot write the corpus in {}: {e}", root.display()))?;
        println!("corpus: {} files, {bytes} bytes", files.len());
        let mut results = [StepResult::default(); 4];
        for (i, step) in STEPS.iter().enumerate() {
            let mut walls = Vec::with_capacity(RUNS);
            let mut rss = 0.0f64;
            for run in 1..=RUNS {
                if *step == "site" {
                    remove(&root.join("site"))?;
                }
                let (wall, peak) = timed(&spectrace, root, step, &shape)?;
                println!(
                    "{step:<8} run {run}/{RUNS}: {wall:>9.1} ms {:>8.1} MB",
                    mb(peak)
                );
                walls.push(wall);
                rss = rss.max(peak);
            }
            results[i] = StepResult {
                wall_ms: median(&walls).unwrap_or(f64::NAN),
                rss_kib: rss,
                output_bytes: output_bytes(root, step),
            };
        }
        table.push((size, results));
    }
    println!();
    println!(
        "{:>8} {:<8} {:>11} {:>9} {:>12} {:>8}",
        "reqs", "step", "median ms", "peak MB", "output MB", "growth"
    );
    let mut verdicts: Vec<Verdict> = Vec::new();
    for (row, (size, results)) in table.iter().enumerate() {
        let before = row.checked_sub(1).and_then(|r| table.get(r));
        for (i, step) in STEPS.iter().enumerate() {
            let r = results[i];
            let growth = before
                .map(|(_, b)| format!("{:.1}x", r.wall_ms / b[i].wall_ms))
                .unwrap_or_else(|| "-".to_owned());
            println!(
                "{size:>8} {step:<8} {:>11.1} {:>9.1} {:>12.2} {growth:>8}",
                r.wall_ms,
                mb(r.rss_kib),
                r.output_bytes as f64 / 1e6
            );
        }
        let chain: f64 = results.iter().map(|r| r.wall_ms).sum();
        let growth = before.map(|(_, b)| chain / b.iter().map(|r| r.wall_ms).sum::<f64>());
        println!(
            "{size:>8} {:<8} {chain:>11.1} {:>9} {:>12} {:>8}",
            "all",
            "",
            "",
            growth.map_or_else(|| "-".to_owned(), |g| format!("{g:.1}x"))
        );
        if let (Some(growth), Some((from, _))) = (growth, before) {
            verdicts.push((
                format!("{from} -> {size}: growth <= {GROWTH:.0}x"),
                format!("{growth:.2}x"),
                growth <= GROWTH,
            ));
        }
    }
    if let Some((size, results)) = table.last() {
        let report_s = results[2].wall_ms / 1e3;
        let site_s = results[3].wall_ms / 1e3;
        let peak = results.iter().map(|r| mb(r.rss_kib)).fold(0.0, f64::max);
        verdicts.push((
            format!("{size}: report <= {REPORT_S:.0} s"),
            format!("{report_s:.2} s"),
            report_s <= REPORT_S,
        ));
        verdicts.push((
            format!("{size}: site <= {SITE_S:.0} s"),
            format!("{site_s:.2} s"),
            site_s <= SITE_S,
        ));
        verdicts.push((
            format!("{size}: peak RSS <= {RSS_MB:.0} MB"),
            format!("{peak:.1} MB"),
            peak <= RSS_MB,
        ));
    }
    Ok(harness::print_verdicts("scale", &verdicts, color))
}

/// Bytes of what `step` writes.
fn output_bytes(root: &Path, step: &str) -> u64 {
    let paths: &[&str] = match step {
        "extract" => &["requirements/index.yaml"],
        "report" => &[
            "requirements/index.yaml",
            "COMPLIANCE.md",
            "reports/compliance.json",
            "reports/junit.xml",
        ],
        "site" => &["site/out"],
        _ => &[],
    };
    paths.iter().map(|p| tree_bytes(&root.join(p))).sum()
}

fn tree_bytes(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| tree_bytes(&e.path())).sum())
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

fn remove(path: &Path) -> Result<(), String> {
    if path.exists() {
        std::fs::remove_dir_all(path)
            .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Wall time (ms) and peak RSS (KiB) of `binary STEP --root ROOT [--run …]`, which must exit 0.
fn timed(binary: &Path, root: &Path, step: &str, shape: &Shape) -> Result<(f64, f64), String> {
    let mut command = Command::new(binary);
    command.arg(step).arg("--root").arg(root);
    if step == "report" {
        command.args(shape.run_args());
    }
    command
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let m =
        run_measured(&mut command).map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !m.status.success() {
        return Err(format!(
            "`{} {step} --root {}` ended with {}; rerun with --keep DIR and run it by hand",
            binary.display(),
            root.display(),
            m.status
        ));
    }
    Ok((m.wall.as_secs_f64() * 1e3, m.max_rss_kib as f64))
}
