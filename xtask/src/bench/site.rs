//! `cargo xtask bench site`: how fast `spectrace site` builds the site of a large repository,
//! and how much disk the site takes.
//!
//! The tree is the one of `bench report` (10,000 requirements, 20,000 annotated tests, 2,000
//! scenarios, one run's evidence records). The warm-up runs `spectrace report` once, which
//! writes `reports/compliance.json`, then `spectrace site` once (checked); the timed runs
//! rebuild the site, as a repeated `spectrace site` does. The release build, the tree's
//! directory and the timed runs are the shared [`harness`]'s; there is no ripgrep baseline
//! (nothing else writes a site). After the runs, the site's size: apparent bytes (the sum of
//! its files' lengths), allocated blocks (`st_blocks * 512`, directories included) and files.
//!
//! The 30 MB target is on apparent bytes: what the site weighs when it is copied, archived or
//! uploaded. Allocated blocks depend on the file system too: every file takes at least one
//! block however small it is. Both numbers are printed, with that floor.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use super::harness::{self, CorpusDir, Verdict};
use super::report;
use super::stats::{Summary, summarize};
use crate::cli::CorpusOptions;
use crate::term;
use crate::workspace::Workspace;

/// Median wall time of `spectrace site`, in milliseconds.
const MEDIAN_MS: f64 = 2_000.0;
/// Apparent size of the built site (the sum of its files' lengths), in MB (10^6 bytes).
const DISK_MB: f64 = 30.0;
/// Where `spectrace site` writes, relative to the tree's root.
const SITE_OUT: &str = "site/out";

/// Runs the benchmark; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &CorpusOptions) -> ExitCode {
    match bench(workspace, options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xtask bench site: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(true) when every target passed.
fn bench(workspace: &Workspace, options: &CorpusOptions) -> Result<bool, String> {
    let color = term::color_enabled();
    harness::release_build(workspace, &["spectrace"])?;
    let spectrace = workspace.binary("release", "spectrace");

    println!("==> corpus");
    // The tree of `bench report`, and the site.
    let entries = [report::ENTRIES, &["site"]].concat();
    let dir = CorpusDir::prepare(options.keep.as_deref(), "site", &entries)
        .map_err(|e| format!("cannot prepare the corpus directory: {e}"))?;
    let description = report::write(dir.path())?;
    println!("{description} in {}", dir.path().display());
    let root = dir.path();
    let command = |subcommand: &str| {
        let mut command = Command::new(&spectrace);
        command
            .arg(subcommand)
            .args([OsString::from("--root"), root.as_os_str().to_owned()])
            .current_dir(root);
        command
    };

    println!("==> warm-up (untimed): spectrace report, then spectrace site");
    warm_up(&mut command("report"), "report")?;
    let compliance = root.join("reports").join("compliance.json");
    if !compliance.is_file() {
        return Err(format!(
            "spectrace report wrote no {}",
            compliance.display()
        ));
    }
    warm_up(&mut command("site"), "site")?;
    let out = root.join(SITE_OUT);
    if !out.join("index.html").is_file() {
        return Err(format!(
            "spectrace site wrote no {}",
            out.join("index.html").display()
        ));
    }

    let (runs, _) = harness::timed_runs(options.runs, || command("site"), None::<fn() -> Command>)?;
    let summary = summarize(&runs).ok_or("no spectrace runs")?;
    let usage = disk_usage(&out).map_err(|e| format!("cannot measure {}: {e}", out.display()))?;
    println!();
    print_table(&summary, &usage);
    let mut verdicts = vec![time_verdict(&summary)];
    verdicts.push(disk_verdict(&usage));
    let passed = harness::print_verdicts("spectrace site", &verdicts, color);
    if options.keep.is_some() {
        println!("corpus kept in {} (site in {SITE_OUT})", root.display());
    }
    Ok(passed)
}

/// One untimed run with output captured; shows the last two lines of its stderr.
fn warm_up(command: &mut Command, name: &str) -> Result<(), String> {
    let stderr = harness::spectrace_succeeds(command, name)?;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in lines.iter().skip(lines.len().saturating_sub(2)) {
        println!("{name}: {line}");
    }
    Ok(())
}

/// What a directory tree takes on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DiskUsage {
    /// Allocated bytes (`st_blocks * 512`) of every file and directory, the root included.
    allocated: u64,
    /// Apparent size (`st_size`) of the regular files.
    apparent: u64,
    /// Regular files.
    files: u64,
    /// The smallest non-zero allocation of a regular file: the filesystem's block.
    block: u64,
}

impl DiskUsage {
    /// The least the files can take on this filesystem: one block each.
    fn floor(&self) -> u64 {
        self.files * self.block
    }
}

/// Walks `root` (symbolic links are counted, not followed).
fn disk_usage(root: &Path) -> io::Result<DiskUsage> {
    let mut usage = DiskUsage::default();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        usage.allocated += meta.blocks() * 512;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        } else if meta.is_file() {
            usage.apparent += meta.len();
            usage.files += 1;
            let allocated = meta.blocks() * 512;
            if allocated > 0 && (usage.block == 0 || allocated < usage.block) {
                usage.block = allocated;
            }
        }
    }
    Ok(usage)
}

/// Bytes → MB (10^6 bytes), the unit of the disk target.
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn print_table(summary: &Summary, usage: &DiskUsage) {
    println!(
        "{:<10} {:>4} {:>10} {:>8} {:>8} {:>16} {:>13}",
        "tool", "runs", "median ms", "min ms", "max ms", "median RSS MiB", "max RSS MiB"
    );
    println!(
        "{:<10} {:>4} {:>10.1} {:>8.1} {:>8.1} {:>16.1} {:>13.1}",
        "spectrace",
        summary.runs,
        summary.median_ms,
        summary.min_ms,
        summary.max_ms,
        harness::mib(summary.median_rss_kib),
        harness::mib(summary.max_rss_kib)
    );
    println!();
    println!(
        "site ({SITE_OUT}): {} files, {:.2} MB allocated on disk, {:.2} MB apparent",
        usage.files,
        mb(usage.allocated),
        mb(usage.apparent)
    );
    println!(
        "(floor: one {}-byte block per file is {:.2} MB: small files take a whole block)",
        usage.block,
        mb(usage.floor())
    );
}

fn time_verdict(summary: &Summary) -> Verdict {
    (
        format!("median wall <= {MEDIAN_MS:.0} ms"),
        format!("{:.1} ms", summary.median_ms),
        summary.median_ms <= MEDIAN_MS,
    )
}

fn disk_verdict(usage: &DiskUsage) -> Verdict {
    (
        format!("site size (apparent) <= {DISK_MB:.0} MB"),
        format!(
            "{:.2} MB apparent ({:.2} MB allocated, {} files)",
            mb(usage.apparent),
            mb(usage.allocated),
            usage.files
        ),
        mb(usage.apparent) <= DISK_MB,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_counts_files_bytes_and_allocated_blocks() {
        let dir = std::env::temp_dir().join(format!(
            "xtask-site-disk-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("req")).unwrap();
        std::fs::write(dir.join("index.html"), vec![b'x'; 5000]).unwrap();
        std::fs::write(dir.join("req").join("a.html"), b"ab").unwrap();
        std::fs::write(dir.join("req").join("empty.html"), b"").unwrap();
        let usage = disk_usage(&dir).unwrap();
        assert_eq!(usage.files, 3);
        assert_eq!(usage.apparent, 5002);
        // Two non-empty files take at least a block each, beyond their bytes.
        assert!(usage.allocated >= 5002, "{usage:?}");
        assert_eq!(usage.allocated % 512, 0);
        assert!(
            usage.block >= 512 && usage.block <= 5002 + 4096,
            "{usage:?}"
        );
        assert_eq!(usage.floor(), 3 * usage.block);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(disk_usage(&dir).is_err(), "a missing directory is an error");
    }

    #[test]
    fn the_targets_are_the_issues() {
        let usage = |apparent| DiskUsage {
            allocated: 0,
            apparent,
            files: 0,
            block: 4096,
        };
        assert!(disk_verdict(&usage(30_000_000)).2);
        assert!(!disk_verdict(&usage(30_000_001)).2);
        let summary = |median_ms| Summary {
            runs: 5,
            median_ms,
            min_ms: 0.0,
            max_ms: 0.0,
            median_rss_kib: 0.0,
            max_rss_kib: 0.0,
        };
        assert!(time_verdict(&summary(2_000.0)).2);
        assert!(!time_verdict(&summary(2_000.1)).2);
    }
}
