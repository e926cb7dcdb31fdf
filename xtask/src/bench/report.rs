//! `cargo xtask bench report`: how fast and how lean `spectrace report` is on a large
//! repository, next to ripgrep counting the IDs in the same files (the I/O floor).
//!
//! The tree is the spec [`corpus`] (10,000 requirements) plus the [`evidence_corpus`]: 20,000
//! annotated Rust tests, 2,000 Gherkin scenarios, one run's evidence records and a
//! `spectrace.toml` pointing at them. So one `spectrace report` extracts the requirements,
//! scans the declared evidence, reads the records, builds the compliance model and writes
//! `COMPLIANCE.md`, `reports/compliance.json` and `reports/junit.xml`. Building, warming up,
//! the alternated timed runs and the verdict are the shared [`harness`]'s.
//!
//! The warm-up writes the reports; the timed runs regenerate them and find them unchanged,
//! as a repeated `spectrace report` does.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use super::corpus;
use super::evidence_corpus;
use super::harness::{self, Benchmark, Targets, Written, mib};
use crate::cli::CorpusOptions;
use crate::workspace::Workspace;

/// The targets: median wall time and peak RSS of `spectrace report`.
const TARGETS: Targets = Targets {
    median_ms: 1_000.0,
    peak_rss_mb: 200.0,
};

/// Top-level entries of the tree: what [`write`] creates and `spectrace report` writes.
pub(super) const ENTRIES: &[&str] = &[
    ".specs",
    "tests",
    "features",
    "reports",
    "requirements",
    "spectrace.toml",
    "COMPLIANCE.md",
];

/// Runs the benchmark; exit 0 when every target passes, 1 otherwise or on error.
pub fn run(workspace: &Workspace, options: &CorpusOptions) -> ExitCode {
    let benchmark = Benchmark {
        name: "report",
        targets: TARGETS,
        entries: ENTRIES,
        write: &write,
        args: &|dir: &Path| vec![OsString::from("--root"), dir.as_os_str().to_owned()],
        rg_flags: &["--no-ignore"],
        rg_paths: &[".specs", "tests", "features", evidence_corpus::RUN_DIR],
        summary_lines: 2,
        expected: vec![format!(
            "{} requirements",
            corpus::FILES * corpus::REQUIREMENTS_PER_FILE
        )],
        after_warm_up: Some(&check_outcomes),
    };
    harness::run(workspace, options, &benchmark)
}

/// Writes the specs and the evidence tree under `dir`; describes the tree. `bench site`
/// uses the same tree.
pub(super) fn write(dir: &Path) -> Written {
    let specs = corpus::generate();
    let tree = evidence_corpus::generate();
    let cannot = |e: std::io::Error| format!("cannot write the corpus in {}: {e}", dir.display());
    let bytes = corpus::write(dir, &specs).map_err(cannot)?
        + corpus::write(dir, &tree.files).map_err(cannot)?;
    let count = |prefix: &str| {
        tree.files
            .iter()
            .filter(|f| f.path.starts_with(prefix))
            .count()
    };
    let scenarios = evidence_corpus::FEATURE_FILES * evidence_corpus::SCENARIOS_PER_FEATURE;
    let tests = evidence_corpus::TEST_FILES * evidence_corpus::TESTS_PER_FILE;
    let failed = tree.records.iter().filter(|r| r.failure.is_some()).count();
    Ok(format!(
        "{} specs ({} requirements), {} test files ({tests} tests), {} feature files \
         ({scenarios} scenarios, {} outlines), {} evidence files ({} records, {failed} failed), \
         spectrace.toml\ntree: {} files, {bytes} bytes ({:.2} MiB)",
        specs.len(),
        specs.len() * corpus::REQUIREMENTS_PER_FILE,
        count("tests/"),
        count("features/"),
        tree.outlines,
        count(evidence_corpus::RUN_DIR),
        tree.records.len(),
        specs.len() + tree.files.len(),
        mib(bytes as f64 / 1024.0),
    ))
}

/// After the warm-up: how the evidence items of `compliance.json` ended. Declared evidence
/// that did not run means a record and the scanner disagree on a `file:line`.
fn check_outcomes(dir: &Path) -> Vec<String> {
    let path = dir.join("reports").join("compliance.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => return vec![format!("warning: cannot read {}: {e}", path.display())],
    };
    let count = |outcome: &str| text.matches(&format!("\"outcome\": \"{outcome}\"")).count();
    let (passed, failed, not_run) = (count("passed"), count("failed"), count("not-run"));
    let mut lines = vec![format!(
        "compliance.json: {} evidence links: {passed} passed, {failed} failed, {not_run} not run",
        passed + failed + not_run
    )];
    if not_run > 0 {
        lines.push(
            "warning: declared evidence did not run: the records and the scanner disagree on \
             file:line"
                .to_owned(),
        );
    }
    lines
}
