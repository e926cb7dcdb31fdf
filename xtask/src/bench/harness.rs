//! The harness shared by the benchmarks that time one `spectrace` command on a generated tree
//! next to ripgrep counting requirement IDs in the same files (the I/O floor: reading every
//! byte once): `bench extract` and `bench report`.
//!
//! A benchmark describes itself as a [`Benchmark`] (what to write, how to run spectrace, what
//! ripgrep searches, the targets); [`run`] does the rest, the same way for every benchmark:
//! builds the release binary, finds or installs ripgrep, writes the tree into a [`CorpusDir`],
//! warms the page cache with one untimed, checked run of each tool, then times `--runs` runs of
//! each, alternating A B A B … so that machine noise hits both alike. Each run records wall
//! time and peak RSS (`wait4`). Prints a table, the spectrace/ripgrep ratio of medians and the
//! targets; the benchmark fails (exit 1) when a target is missed.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ripgrep;
use super::stats::{Summary, summarize};
use crate::cli::CorpusOptions;
use crate::process::{describe_failure, run_streaming};
use crate::rss::{Measurement, run_measured};
use crate::term;
use crate::workspace::Workspace;

/// The pattern ripgrep counts.
pub const ID_REGEX: &str = "ORCH-[0-9]{4}";
/// Marks a directory as a tree a benchmark wrote, so `--keep` may reuse it.
const MARKER: &str = ".xtask-bench-corpus";

/// What `spectrace` must achieve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// Median wall time, in milliseconds.
    pub median_ms: f64,
    /// Peak RSS of any run, in MB (10^6 bytes).
    pub peak_rss_mb: f64,
}

/// What the tree looks like, printed after it is written.
pub type Written = Result<String, String>;

/// A look at what spectrace wrote into the directory, as lines to print.
pub type Check = dyn Fn(&Path) -> Vec<String>;

/// One benchmark of a `spectrace` command: everything [`run`] needs to know.
pub struct Benchmark<'a> {
    /// The spectrace subcommand (`extract`, `report`); names the benchmark in messages.
    pub name: &'static str,
    /// The targets.
    pub targets: Targets,
    /// Top-level entries the benchmark writes into its directory; a kept directory of an
    /// earlier run loses them before the tree is written again.
    pub entries: &'static [&'static str],
    /// Writes the tree under the directory and describes it (`… MiB`; [`run`] adds ` in DIR`).
    pub write: &'a dyn Fn(&Path) -> Written,
    /// spectrace's arguments, given the directory (spectrace runs from it).
    pub args: &'a dyn Fn(&Path) -> Vec<OsString>,
    /// Options given to ripgrep besides `-c` and the pattern.
    pub rg_flags: &'static [&'static str],
    /// What ripgrep searches, relative to the directory.
    pub rg_paths: &'static [&'static str],
    /// How many of the last lines spectrace prints on stderr make its summary (shown after
    /// the warm-up); lines before them are diagnostics.
    pub summary_lines: usize,
    /// Texts the warm-up's stderr should contain; a missing one is a warning.
    pub expected: Vec<String>,
    /// After the warm-up: checks what spectrace wrote into the directory; returns lines to
    /// print.
    pub after_warm_up: Option<&'a Check>,
}

impl Benchmark<'_> {
    /// The spectrace command of one run.
    fn spectrace(&self, binary: &Path, dir: &Path) -> Command {
        let mut command = Command::new(binary);
        command
            .arg(self.name)
            .args((self.args)(dir))
            .current_dir(dir);
        command
    }

    /// The ripgrep command of one run.
    fn ripgrep(&self, rg: &Path, dir: &Path) -> Command {
        let mut command = Command::new(rg);
        command
            .arg("-c")
            .args(self.rg_flags)
            .arg(ID_REGEX)
            .args(self.rg_paths.iter().map(|p| dir.join(p)))
            .current_dir(dir)
            .env_remove("RIPGREP_CONFIG_PATH");
        command
    }
}

/// Runs `benchmark`; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &CorpusOptions, benchmark: &Benchmark<'_>) -> ExitCode {
    match bench(workspace, options, benchmark) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xtask bench {}: {message}", benchmark.name);
            ExitCode::FAILURE
        }
    }
}

/// Ok(true) when every target passed.
fn bench(
    workspace: &Workspace,
    options: &CorpusOptions,
    benchmark: &Benchmark<'_>,
) -> Result<bool, String> {
    let color = term::color_enabled();
    release_build(workspace, &["spectrace"])?;
    let spectrace = workspace.binary("release", "spectrace");

    println!("==> ripgrep");
    let rg = ripgrep::locate_or_install(workspace);
    match &rg {
        Some(rg) => println!("using {}", ripgrep_version(rg)),
        None => println!("ripgrep is unavailable: reporting spectrace alone"),
    }

    println!("==> corpus");
    let dir = CorpusDir::prepare(options.keep.as_deref(), benchmark.name, benchmark.entries)
        .map_err(|e| format!("cannot prepare the corpus directory: {e}"))?;
    let description = (benchmark.write)(dir.path())?;
    println!("{description} in {}", dir.path().display());

    println!("==> warm-up (untimed)");
    warm_up_spectrace(&mut benchmark.spectrace(&spectrace, dir.path()), benchmark)?;
    if let Some(check) = benchmark.after_warm_up {
        for line in check(dir.path()) {
            println!("{line}");
        }
    }
    if let Some(rg) = &rg {
        warm_up_ripgrep(&mut benchmark.ripgrep(rg, dir.path()))?;
    }

    let root = dir.path();
    let (spectrace_runs, rg_runs) = timed_runs(
        options.runs,
        || benchmark.spectrace(&spectrace, root),
        rg.as_deref().map(|rg| move || benchmark.ripgrep(rg, root)),
    )?;

    let spectrace = summarize(&spectrace_runs).ok_or("no spectrace runs")?;
    let ripgrep = summarize(&rg_runs);
    println!();
    print_table(&spectrace, ripgrep.as_ref());
    let passed = print_targets(
        &format!("spectrace {}", benchmark.name),
        &spectrace,
        benchmark.targets,
        color,
    );
    if options.keep.is_some() {
        println!("corpus kept in {}", dir.path().display());
    }
    Ok(passed)
}

/// `cargo build --release` of the named binaries, with live output; `Err` says why it failed.
pub fn release_build(workspace: &Workspace, binaries: &[&str]) -> Result<(), String> {
    let mut build = workspace.cargo(["build", "--release"]);
    for binary in binaries {
        build.args(["--bin", binary]);
    }
    term::pass_color(&mut build, term::color_enabled());
    println!("==> build: {}", workspace.display(&build));
    run_streaming(&mut build).map_err(|reason| format!("release build failed: {reason}"))
}

/// The first line of `rg --version`, else the path.
fn ripgrep_version(rg: &Path) -> String {
    Command::new(rg)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| rg.display().to_string())
}

/// `runs` timed runs of `subject`, each followed by one of `baseline` when there is one (A B
/// A B …), printing a line per pair. Returns the subject's and the baseline's measurements.
pub fn timed_runs<S, B>(
    runs: usize,
    mut subject: S,
    mut baseline: Option<B>,
) -> Result<(Vec<Measurement>, Vec<Measurement>), String>
where
    S: FnMut() -> Command,
    B: FnMut() -> Command,
{
    let alternation = if baseline.is_some() {
        ", alternating"
    } else {
        ""
    };
    println!("==> {runs} timed runs per tool{alternation}");
    let mut subject_runs = Vec::with_capacity(runs);
    let mut baseline_runs = Vec::with_capacity(runs);
    for i in 1..=runs {
        let a = measure(&mut subject(), "spectrace", i)?;
        let mut line = format!("run {i:>2}/{runs}: spectrace {}", brief(&a));
        subject_runs.push(a);
        if let Some(baseline) = baseline.as_mut() {
            let b = measure(&mut baseline(), "rg", i)?;
            line.push_str(&format!(" | ripgrep {}", brief(&b)));
            baseline_runs.push(b);
        }
        println!("{line}");
    }
    Ok((subject_runs, baseline_runs))
}

/// One untimed run with output captured: checks that spectrace succeeds on the tree and
/// shows its summary (the last [`Benchmark::summary_lines`] lines of its stderr).
fn warm_up_spectrace(command: &mut Command, benchmark: &Benchmark<'_>) -> Result<(), String> {
    let stderr = spectrace_succeeds(command, benchmark.name)?;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let (diagnostics, summary) =
        lines.split_at(lines.len().saturating_sub(benchmark.summary_lines));
    for line in summary {
        println!("{line}");
    }
    if let Some(first) = diagnostics.first() {
        println!(
            "({} diagnostic lines on the corpus; first: {first})",
            diagnostics.len()
        );
    }
    for expected in &benchmark.expected {
        if !stderr.contains(expected.as_str()) {
            println!("warning: expected spectrace to report {expected}");
        }
    }
    Ok(())
}

/// Runs `spectrace {name}` untimed with its output captured; its stderr when it succeeds.
pub fn spectrace_succeeds(command: &mut Command, name: &str) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start spectrace: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        Ok(stderr)
    } else {
        Err(format!(
            "spectrace {name} failed on the corpus ({}):\n{stderr}",
            describe_failure(output.status)
        ))
    }
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
pub fn measure(command: &mut Command, tool: &str, run: usize) -> Result<Measurement, String> {
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

/// `  123.4 ms   56.7 MiB`: one run, for the progress lines.
pub fn brief(m: &Measurement) -> String {
    format!(
        "{:>7.1} ms {:>6.1} MiB",
        m.wall.as_secs_f64() * 1e3,
        mib(m.max_rss_kib as f64)
    )
}

/// KiB → MiB.
pub fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

/// KiB → MB (10^6 bytes), the unit of the RSS targets.
pub fn mb(kib: f64) -> f64 {
    kib * 1024.0 / 1e6
}

/// The summary table of both tools and the ratio of their medians.
pub fn print_table(spectrace: &Summary, ripgrep: Option<&Summary>) {
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

/// Prints each target of `what` with PASS/FAIL; true when all pass.
pub fn print_targets(what: &str, summary: &Summary, targets: Targets, color: bool) -> bool {
    print_verdicts(what, &target_verdicts(summary, targets), color)
}

/// One target: what it asks, what was measured, whether it passed.
pub type Verdict = (String, String, bool);

/// The median-wall and peak-RSS verdicts of `summary` against `targets`.
pub fn target_verdicts(summary: &Summary, targets: Targets) -> Vec<Verdict> {
    let peak_mb = mb(summary.max_rss_kib);
    vec![
        (
            format!("median wall <= {:.0} ms", targets.median_ms),
            format!("{:.1} ms", summary.median_ms),
            summary.median_ms <= targets.median_ms,
        ),
        (
            format!("peak RSS <= {:.0} MB", targets.peak_rss_mb),
            format!("{peak_mb:.1} MB (largest of {} runs)", summary.runs),
            peak_mb <= targets.peak_rss_mb,
        ),
    ]
}

/// Prints `verdicts` under `targets (what):` with PASS/FAIL; true when all pass.
pub fn print_verdicts(what: &str, verdicts: &[Verdict], color: bool) -> bool {
    println!();
    println!("targets ({what}):");
    for (target, actual, pass) in verdicts {
        let verdict = if *pass {
            term::paint("PASS", term::Style::Green, color)
        } else {
            term::paint("FAIL", term::Style::Red, color)
        };
        println!("  {target:<24} {verdict}  {actual}");
    }
    verdicts.iter().all(|(_, _, pass)| *pass)
}

/// Where a benchmark's tree lives: a fresh temporary directory removed on drop, or the
/// `--keep` directory, which is kept.
pub struct CorpusDir {
    path: PathBuf,
    remove: bool,
}

impl CorpusDir {
    /// A new temporary directory named after the benchmark, or `keep`: new, empty, or one an
    /// earlier `--keep` wrote (marked), from which `entries` (top-level names) are removed.
    pub fn prepare(keep: Option<&Path>, name: &str, entries: &[&str]) -> io::Result<Self> {
        let Some(keep) = keep else {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = format!("xtask-bench-{name}-{}-{nanos}", std::process::id());
            let path = std::env::temp_dir().join(dir);
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
            // A tree from an earlier run: start over.
            for entry in entries {
                remove_if_present(&path.join(entry))?;
            }
        } else {
            std::fs::create_dir_all(&path)?;
        }
        std::fs::write(
            path.join(MARKER),
            format!("written by `cargo xtask bench {name}`\n"),
        )?;
        Ok(Self {
            path,
            remove: false,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(mib(2048.0), 2.0);
        assert_eq!(mb(1_000_000.0 / 1024.0), 1.0);
    }

    #[test]
    fn a_kept_directory_is_reused_only_when_marked_and_loses_only_its_entries() {
        let base = std::env::temp_dir().join(format!(
            "xtask-harness-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        let kept = base.join("kept");
        let dir = CorpusDir::prepare(Some(&kept), "report", &["tests", "note"]).unwrap();
        assert_eq!(dir.path(), kept);
        std::fs::create_dir(kept.join("tests")).unwrap();
        std::fs::write(kept.join("tests").join("t.rs"), "fn main() {}").unwrap();
        std::fs::write(kept.join("note"), "x").unwrap();
        std::fs::write(kept.join("other"), "x").unwrap();
        drop(dir);
        assert!(kept.exists(), "a --keep directory is kept");

        CorpusDir::prepare(Some(&kept), "report", &["tests", "note"]).unwrap();
        assert!(!kept.join("tests").exists() && !kept.join("note").exists());
        assert!(kept.join("other").exists());
        let marker = std::fs::read_to_string(kept.join(MARKER)).unwrap();
        assert_eq!(marker, "written by `cargo xtask bench report`\n");

        let foreign = base.join("foreign");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("precious"), "x").unwrap();
        assert!(CorpusDir::prepare(Some(&foreign), "report", &["precious"]).is_err());
        assert!(foreign.join("precious").exists());

        let temporary = CorpusDir::prepare(None, "report", &[]).unwrap();
        let path = temporary.path().to_path_buf();
        assert!(path.is_dir());
        assert!(path.to_string_lossy().contains("xtask-bench-report-"));
        drop(temporary);
        assert!(!path.exists(), "a temporary directory is removed");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
