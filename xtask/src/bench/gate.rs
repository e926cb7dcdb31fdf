//! `cargo xtask bench gate`: the whole gate chain a CI job runs — `spectrace extract`, `scan`,
//! `report`, `check` — and `spectrace site` from scratch, on a generated repository of 10,000
//! requirements in 100 specs with one annotated test for every second requirement and one
//! run's records ([`scale_corpus`]). Half the requirements are uncovered, so `check` reports
//! thousands of shortfalls, as a real gate on a young project does.
//!
//! Each timed run runs the four commands in turn (the chain's time is their sum), then removes
//! the site and builds it again. With `--baseline BIN`, every run is followed by the same run
//! of another `spectrace` binary (an older build), alternated, and the ratios of the medians
//! are printed: a before/after comparison measured on the same machine at the same time.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use super::harness::{self, CorpusDir, Verdict};
use super::scale_corpus::{self, Shape};
use super::stats::median;
use crate::cli::CorpusOptions;
use crate::rss::run_measured;
use crate::term;
use crate::workspace::Workspace;

/// The corpus.
const SHAPE: Shape = Shape {
    requirements: 10_000,
    tests_per_requirement: 1,
    cover_every: 2,
    shards: 1,
};
/// The gate chain, in order.
const CHAIN: [&str; 4] = ["extract", "scan", "report", "check"];
/// Median wall time of the whole chain, in milliseconds.
const CHAIN_MS: f64 = 150.0;
/// Median wall time of `check` alone, in milliseconds.
const CHECK_MS: f64 = 60.0;
/// Median wall time of `site` from scratch, in milliseconds.
const SITE_MS: f64 = 400.0;

/// Runs the benchmark; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &CorpusOptions) -> ExitCode {
    match bench(workspace, options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xtask bench gate: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Wall times of one run of one binary, in milliseconds: each chain step, then the site.
type RunTimes = [f64; 5];

fn bench(workspace: &Workspace, options: &CorpusOptions) -> Result<bool, String> {
    let color = term::color_enabled();
    let spectrace = match &options.binary {
        Some(binary) => binary.clone(),
        None => {
            harness::release_build(workspace, &["spectrace"])?;
            workspace.binary("release", "spectrace")
        }
    };
    println!("==> corpus");
    let dir = CorpusDir::prepare(options.keep.as_deref(), "gate", scale_corpus::ENTRIES)
        .map_err(|e| format!("cannot prepare the corpus directory: {e}"))?;
    let root = dir.path();
    let files = scale_corpus::generate(SHAPE);
    let bytes = super::corpus::write(root, &files)
        .map_err(|e| format!("cannot write the corpus in {}: {e}", root.display()))?;
    println!(
        "{} requirements in {} specs, {} annotated tests, one run's records: {} files, {bytes} \
         bytes in {}",
        SHAPE.requirements,
        SHAPE.requirements / scale_corpus::PER_SPEC,
        SHAPE.tests(),
        files.len(),
        root.display()
    );
    let binaries: Vec<(&str, PathBuf)> = std::iter::once(("spectrace", spectrace))
        .chain(options.baseline.clone().map(|b| ("baseline", b)))
        .collect();
    println!("==> warm-up (untimed)");
    for (name, binary) in &binaries {
        let times = one_run(binary, root)?;
        println!("{name}: {}", describe(&times));
    }
    println!(
        "==> {} timed runs{}",
        options.runs,
        if binaries.len() > 1 {
            ", alternated"
        } else {
            ""
        }
    );
    let mut all: Vec<Vec<RunTimes>> = vec![Vec::new(); binaries.len()];
    for i in 1..=options.runs {
        for ((name, binary), runs) in binaries.iter().zip(&mut all) {
            let times = one_run(binary, root)?;
            println!(
                "run {i:>2}/{}: {name:<9} {}",
                options.runs,
                describe(&times)
            );
            runs.push(times);
        }
    }
    println!();
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "median ms", "extract", "scan", "report", "check", "chain", "site"
    );
    let medians: Vec<[f64; 6]> = all.iter().map(|runs| medians(runs)).collect();
    for ((name, _), m) in binaries.iter().zip(&medians) {
        println!(
            "{name:<10} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        );
    }
    if let [new, old] = medians.as_slice() {
        let ratio: Vec<String> = (0..6)
            .map(|i| format!("{:>9.2}", old[i] / new[i]))
            .collect();
        println!(
            "{:<10} {}   (baseline / spectrace: how many times faster)",
            "speed-up",
            ratio.join(" ")
        );
    }
    let m = medians.first().copied().unwrap_or_default();
    let verdicts: Vec<Verdict> = vec![
        (
            format!("chain <= {CHAIN_MS:.0} ms"),
            format!("{:.1} ms", m[4]),
            m[4] <= CHAIN_MS,
        ),
        (
            format!("check <= {CHECK_MS:.0} ms"),
            format!("{:.1} ms", m[3]),
            m[3] <= CHECK_MS,
        ),
        (
            format!("site <= {SITE_MS:.0} ms"),
            format!("{:.1} ms (from scratch)", m[5]),
            m[5] <= SITE_MS,
        ),
    ];
    Ok(harness::print_verdicts("gate", &verdicts, color))
}

/// The medians of each step, of the chain's sum, and of the site.
fn medians(runs: &[RunTimes]) -> [f64; 6] {
    let column = |f: &dyn Fn(&RunTimes) -> f64| {
        median(&runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    [
        column(&|r| r[0]),
        column(&|r| r[1]),
        column(&|r| r[2]),
        column(&|r| r[3]),
        column(&|r| r[..4].iter().sum()),
        column(&|r| r[4]),
    ]
}

fn describe(times: &RunTimes) -> String {
    let chain: f64 = times[..4].iter().sum();
    format!(
        "extract {:>6.1}  scan {:>6.1}  report {:>6.1}  check {:>6.1}  = chain {:>6.1} ms | site {:>6.1} ms",
        times[0], times[1], times[2], times[3], chain, times[4]
    )
}

/// One run of the chain and of the site from scratch with `binary` in `root`.
fn one_run(binary: &Path, root: &Path) -> Result<RunTimes, String> {
    let mut times = [0.0; 5];
    for (i, step) in CHAIN.iter().enumerate() {
        // `check` exits 1: half the requirements are uncovered.
        let allowed: &[i32] = if *step == "check" { &[1] } else { &[0] };
        times[i] = timed(binary, root, step, allowed)?;
    }
    let site = root.join("site");
    if site.exists() {
        std::fs::remove_dir_all(&site)
            .map_err(|e| format!("cannot remove {}: {e}", site.display()))?;
    }
    times[4] = timed(binary, root, "site", &[0])?;
    Ok(times)
}

/// Wall time in milliseconds of `binary STEP --root ROOT`, which must exit with one of
/// `allowed`.
fn timed(binary: &Path, root: &Path, step: &str, allowed: &[i32]) -> Result<f64, String> {
    let mut command = Command::new(binary);
    command
        .arg(step)
        .arg("--root")
        .arg(root)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let m =
        run_measured(&mut command).map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    match m.status.code() {
        Some(code) if allowed.contains(&code) => Ok(m.wall.as_secs_f64() * 1e3),
        _ => Err(format!(
            "`{} {step} --root {}` ended with {}; rerun with --keep DIR and run it by hand",
            binary.display(),
            root.display(),
            m.status
        )),
    }
}
