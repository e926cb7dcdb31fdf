//! `cargo xtask bench extract`: how fast and how lean `spectrace extract` is on a large
//! corpus, next to ripgrep counting the same IDs (the I/O floor: reading every byte once).
//!
//! Builds the release binary, writes the [`corpus`], warms the page cache with one untimed
//! run of each tool, then times `--runs` runs of each, alternating A B A B … so that machine
//! noise hits both alike. Each run records wall time and peak RSS (`wait4`). Prints a table,
//! the spectrace/ripgrep ratio of medians and the targets; exits 1 if a target fails.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use super::corpus;
use super::ripgrep;
use super::stats::{Summary, summarize};
use crate::cli::ExtractOptions;
use crate::process::{describe_failure, run_streaming};
use crate::rss::{Measurement, run_measured};
use crate::term;
use crate::workspace::Workspace;

/// Target: median wall time of `spectrace extract`, in milliseconds.
const TARGET_MEDIAN_MS: f64 = 200.0;
/// Target: peak RSS of any `spectrace extract` run, in MB (10^6 bytes).
const TARGET_PEAK_RSS_MB: f64 = 100.0;
/// The pattern ripgrep counts.
const ID_REGEX: &str = "ORCH-[0-9]{4}";
/// Marks a directory as a corpus this benchmark wrote, so `--keep` may reuse it.
const MARKER: &str = ".xtask-bench-corpus";

/// Runs the benchmark; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &ExtractOptions) -> ExitCode {
    match bench(workspace, options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xtask bench extract: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(true) when every target passed.
fn bench(workspace: &Workspace, options: &ExtractOptions) -> Result<bool, String> {
    let color = term::color_enabled();
    let mut build = workspace.cargo(["build", "--release", "--bin", "spectrace"]);
    term::pass_color(&mut build, color);
    println!("==> build: {}", workspace.display(&build));
    run_streaming(&mut build).map_err(|reason| format!("release build failed: {reason}"))?;
    let spectrace = workspace.binary("release", "spectrace");

    println!("==> ripgrep");
    let rg = ripgrep::locate_or_install(workspace);
    match &rg {
        Some(rg) => println!("using {}", version(rg)),
        None => println!("ripgrep is unavailable: reporting spectrace alone"),
    }

    println!("==> corpus");
    let dir = CorpusDir::prepare(options.keep.as_deref())
        .map_err(|e| format!("cannot prepare the corpus directory: {e}"))?;
    let files = corpus::generate();
    let bytes = corpus::write(dir.path(), &files)
        .map_err(|e| format!("cannot write the corpus in {}: {e}", dir.path().display()))?;
    println!(
        "{} specs, {} requirements, {:.2} MiB in {}",
        files.len(),
        files.len() * corpus::REQUIREMENTS_PER_FILE,
        mib(bytes as f64 / 1024.0),
        dir.path().display()
    );

    let extract = || {
        let mut command = Command::new(&spectrace);
        command
            .arg("extract")
            .arg("--root")
            .arg(dir.path())
            .arg("--out")
            .arg(dir.path().join("index.yaml"))
            .current_dir(dir.path());
        command
    };
    let count = |rg: &Path| {
        let mut command = Command::new(rg);
        command
            .args(["-c", ID_REGEX])
            .arg(dir.path().join(".specs"))
            .current_dir(dir.path())
            .env_remove("RIPGREP_CONFIG_PATH");
        command
    };

    println!("==> warm-up (untimed)");
    warm_up_spectrace(&mut extract())?;
    if let Some(rg) = &rg {
        warm_up_ripgrep(&mut count(rg))?;
    }

    let runs = options.runs;
    let alternation = if rg.is_some() { ", alternating" } else { "" };
    println!("==> {runs} timed runs per tool{alternation}");
    let mut spectrace_runs = Vec::with_capacity(runs);
    let mut rg_runs = Vec::with_capacity(runs);
    for i in 1..=runs {
        let a = measure(&mut extract(), "spectrace", i)?;
        let mut line = format!("run {i:>2}/{runs}: spectrace {}", brief(&a));
        spectrace_runs.push(a);
        if let Some(rg) = &rg {
            let b = measure(&mut count(rg), "rg", i)?;
            line.push_str(&format!(" | ripgrep {}", brief(&b)));
            rg_runs.push(b);
        }
        println!("{line}");
    }

    let spectrace = summarize(&spectrace_runs).ok_or("no spectrace runs")?;
    let ripgrep = summarize(&rg_runs);
    println!();
    print_table(&spectrace, ripgrep.as_ref());
    let passed = print_targets(&spectrace, color);
    if options.keep.is_some() {
        println!("corpus kept in {}", dir.path().display());
    }
    Ok(passed)
}

fn version(rg: &Path) -> String {
    Command::new(rg)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| rg.display().to_string())
}

/// One untimed run with output captured: checks that spectrace succeeds on the corpus and
/// shows its summary line.
fn warm_up_spectrace(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start spectrace: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "spectrace extract failed on the corpus ({}):\n{stderr}",
            describe_failure(output.status)
        ));
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some((summary, diagnostics)) = lines.split_last() {
        println!("{summary}");
        if let Some(first) = diagnostics.first() {
            println!(
                "({} diagnostic lines on the corpus; first: {first})",
                diagnostics.len()
            );
        }
    }
    let expected = format!(
        "{} requirements",
        corpus::FILES * corpus::REQUIREMENTS_PER_FILE
    );
    if !stderr.contains(&expected) {
        println!("warning: expected spectrace to report {expected}");
    }
    Ok(())
}

/// One untimed run with output captured: checks that ripgrep succeeds and shows what it
/// counted.
fn warm_up_ripgrep(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start rg: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rg failed on the corpus ({}): {}",
            describe_failure(output.status),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (files, lines) = stdout
        .lines()
        .filter_map(|l| l.rsplit_once(':')?.1.parse::<usize>().ok())
        .fold((0, 0), |(files, lines), n| (files + 1, lines + n));
    println!("rg: {lines} lines matching `{ID_REGEX}` in {files} files");
    Ok(())
}

/// One timed run, stdout and stderr discarded; the tool must exit 0.
fn measure(command: &mut Command, tool: &str, run: usize) -> Result<Measurement, String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let measurement =
        run_measured(command).map_err(|e| format!("{tool}, run {run}: cannot run: {e}"))?;
    if !measurement.status.success() {
        return Err(format!(
            "{tool}, run {run}: {}; rerun with --keep DIR to look at the corpus",
            describe_failure(measurement.status)
        ));
    }
    Ok(measurement)
}

fn brief(m: &Measurement) -> String {
    format!(
        "{:>7.1} ms {:>6.1} MiB",
        m.wall.as_secs_f64() * 1e3,
        mib(m.max_rss_kib as f64)
    )
}

fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

fn mb(kib: f64) -> f64 {
    kib * 1024.0 / 1e6
}

fn print_table(spectrace: &Summary, ripgrep: Option<&Summary>) {
    println!(
        "{:<10} {:>4} {:>10} {:>8} {:>8} {:>16} {:>13}",
        "tool", "runs", "median ms", "min ms", "max ms", "median RSS MiB", "max RSS MiB"
    );
    let row = |tool: &str, s: &Summary| {
        println!(
            "{tool:<10} {:>4} {:>10.1} {:>8.1} {:>8.1} {:>16.1} {:>13.1}",
            s.runs,
            s.median_ms,
            s.min_ms,
            s.max_ms,
            mib(s.median_rss_kib),
            mib(s.max_rss_kib)
        );
    };
    row("spectrace", spectrace);
    match ripgrep {
        Some(rg) => {
            row("ripgrep", rg);
            println!();
            println!(
                "spectrace/ripgrep (medians): wall {:.1}x, peak RSS {:.1}x",
                spectrace.median_ms / rg.median_ms,
                spectrace.median_rss_kib / rg.median_rss_kib
            );
        }
        None => println!("ripgrep    (unavailable: no comparison)"),
    }
}

/// Prints each target with PASS/FAIL; true when all pass.
fn print_targets(spectrace: &Summary, color: bool) -> bool {
    let peak_mb = mb(spectrace.max_rss_kib);
    let targets = [
        (
            format!("median wall <= {TARGET_MEDIAN_MS:.0} ms"),
            format!("{:.1} ms", spectrace.median_ms),
            spectrace.median_ms <= TARGET_MEDIAN_MS,
        ),
        (
            format!("peak RSS <= {TARGET_PEAK_RSS_MB:.0} MB"),
            format!("{peak_mb:.1} MB (largest of {} runs)", spectrace.runs),
            peak_mb <= TARGET_PEAK_RSS_MB,
        ),
    ];
    println!();
    println!("targets (spectrace extract):");
    for (target, actual, pass) in &targets {
        let verdict = if *pass {
            term::paint("PASS", term::Style::Green, color)
        } else {
            term::paint("FAIL", term::Style::Red, color)
        };
        println!("  {target:<24} {verdict}  {actual}");
    }
    targets.iter().all(|(_, _, pass)| *pass)
}

/// Where the corpus lives: a fresh temporary directory removed on drop, or the `--keep`
/// directory, which is kept.
struct CorpusDir {
    path: PathBuf,
    remove: bool,
}

impl CorpusDir {
    fn prepare(keep: Option<&Path>) -> io::Result<Self> {
        let Some(keep) = keep else {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("xtask-bench-extract-{}-{nanos}", std::process::id());
            let path = std::env::temp_dir().join(name);
            std::fs::create_dir(&path)?;
            return Ok(Self { path, remove: true });
        };
        let path = std::path::absolute(keep)?;
        if path.exists() {
            let empty = std::fs::read_dir(&path)?.next().is_none();
            if !empty && !path.join(MARKER).exists() {
                return Err(io::Error::other(format!(
                    "{} exists and is not empty; give a new or empty directory, or one an \
                     earlier `--keep` wrote",
                    path.display()
                )));
            }
            // A corpus from an earlier run: start over.
            remove_if_present(&path.join(".specs"))?;
            remove_if_present(&path.join("index.yaml"))?;
        } else {
            std::fs::create_dir_all(&path)?;
        }
        std::fs::write(
            path.join(MARKER),
            "written by `cargo xtask bench extract`\n",
        )?;
        Ok(Self {
            path,
            remove: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CorpusDir {
    fn drop(&mut self) {
        if self.remove {
            // Best effort: a leftover directory in the temp dir harms nothing.
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
