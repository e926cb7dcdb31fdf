//! `cargo xtask bench extract`: how fast and how lean `spectrace extract` is on a large
//! corpus, next to ripgrep counting the same IDs (the I/O floor: reading every byte once).
//!
//! The tree is the spec [`corpus`]; building, warming up, the alternated timed runs and the
//! verdict are the shared [`harness`]'s.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use super::corpus;
use super::harness::{self, Benchmark, Targets, Written, mib};
use crate::cli::CorpusOptions;
use crate::workspace::Workspace;

/// The targets: median wall time and peak RSS of `spectrace extract`.
const TARGETS: Targets = Targets {
    median_ms: 200.0,
    peak_rss_mb: 100.0,
};

/// Runs the benchmark; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &CorpusOptions) -> ExitCode {
    let benchmark = Benchmark {
        name: "extract",
        targets: TARGETS,
        entries: &[".specs", "index.yaml"],
        write: &write,
        args: &|dir: &Path| {
            vec![
                OsString::from("--root"),
                dir.as_os_str().to_owned(),
                OsString::from("--out"),
                dir.join("index.yaml").into_os_string(),
            ]
        },
        rg_flags: &[],
        rg_paths: &[".specs"],
        summary_lines: 1,
        expected: vec![format!(
            "{} requirements",
            corpus::FILES * corpus::REQUIREMENTS_PER_FILE
        )],
        after_warm_up: None,
    };
    harness::run(workspace, options, &benchmark)
}

/// Writes the spec corpus under `dir`.
fn write(dir: &Path) -> Written {
    let files = corpus::generate();
    let bytes = corpus::write(dir, &files)
        .map_err(|e| format!("cannot write the corpus in {}: {e}", dir.display()))?;
    Ok(format!(
        "{} specs, {} requirements, {:.2} MiB",
        files.len(),
        files.len() * corpus::REQUIREMENTS_PER_FILE,
        mib(bytes as f64 / 1024.0),
    ))
}
