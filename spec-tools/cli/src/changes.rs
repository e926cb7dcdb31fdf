//! Part of the `spectrace` binary: the commands about change — `review` (record the wording a
//! requirement's evidence was reviewed against, in `reports/reviewed.yaml`) and `diff` (what
//! changed since a git revision). The git I/O lives here; comparing and rendering are
//! [`spectrace_core::diff`], the review rules [`spectrace_core::review`].

use std::path::Path;
use std::process::{Command, ExitCode};

use spectrace_core::config::Config;
use spectrace_core::diag::Diagnostic;
use spectrace_core::diff::{self, Side, compare};
use spectrace_core::generated::emit;
use spectrace_core::id::IdPattern;
use spectrace_core::pipeline::read_reviewed;
use spectrace_core::requirements::{ExtractOptions, extract};
use spectrace_core::review::{self, Selection};

use super::commands::load_or_fail;
use super::{BAD_INPUT, CHECK_FAILED, CommonArgs, fail, print_diagnostics, print_stdout};

/// `spectrace review (ID… | --all)`: records the current fingerprint of the named
/// requirements (or all) in `outputs.reviewed`. It does not rewrite the reports, which also
/// depend on the run's evidence records: run `spectrace report` afterwards.
pub fn review(root: &Path, config: Option<&Path>, ids: &[String], all: bool) -> ExitCode {
    let config = match Config::load(root, config) {
        Ok(config) => config,
        Err(d) => return fail(&[d]),
    };
    let pattern = match IdPattern::new(&config.specs.id_pattern) {
        Ok(pattern) => pattern,
        Err(message) => return fail(&[Diagnostic::error("spectrace.toml", None, message)]),
    };
    let extraction = match extract(&ExtractOptions {
        root: root.to_path_buf(),
        include: config.specs.include.clone(),
        ids: pattern,
        strict: false,
    }) {
        Ok(extraction) => extraction,
        Err(diagnostics) => return fail(&diagnostics),
    };
    print_diagnostics(&extraction.warnings);
    let display = config.outputs.reviewed.clone();
    let current = match read_reviewed(root, &display) {
        Ok(current) => current,
        Err(d) => return fail(&[d]),
    };
    let selection = if all {
        Selection::All
    } else {
        Selection::Ids(ids.to_vec())
    };
    let recorded = match review::record(&current, &extraction.index, &selection) {
        Ok(recorded) => recorded,
        Err(unknown) => {
            let diagnostics: Vec<Diagnostic> = unknown
                .iter()
                .map(|id| {
                    Diagnostic::error(
                        "spectrace review",
                        None,
                        format!("{id}: no spec defines this requirement"),
                    )
                })
                .collect();
            return fail(&diagnostics);
        }
    };
    let text = match review::render(&recorded.reviewed) {
        Ok(text) => text,
        Err(e) => return fail(&[Diagnostic::error(&display, None, e)]),
    };
    if let Err(e) = emit(&root.join(&display), &display, &text, false) {
        return fail(&[Diagnostic::error(
            &display,
            None,
            format!("cannot write: {e}"),
        )]);
    }
    for change in &recorded.changed {
        eprintln!("{change}");
    }
    for id in &recorded.unchanged {
        if !all {
            eprintln!("{id}: already reviewed at its current wording");
        }
    }
    eprintln!(
        "spectrace review: {} recorded, {} already current → {display}; run `spectrace report` \
         to update COMPLIANCE.md and reports/",
        recorded.changed.len(),
        recorded.unchanged.len()
    );
    ExitCode::SUCCESS
}

/// Output format of `spectrace diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Markdown for a pull-request comment.
    Markdown,
    /// JSON for machines.
    Json,
}

/// What makes `spectrace diff` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any requirement's status got worse (verified → unverified → suspect → uncovered →
    /// failing).
    Regress,
}

/// Runs git in `root`; stdout on success, git's message (or why git did not run) otherwise.
fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        String::from_utf8(output.stdout).map_err(|e| format!("git printed non-UTF-8 text: {e}"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// The text of `path` (relative to `root`) at `commit`, or `None` when it does not exist there.
fn file_at(root: &Path, commit: &str, path: &str) -> Result<Option<String>, String> {
    let object = format!("{commit}:./{path}");
    if git(root, &["cat-file", "-e", &object]).is_err() {
        return Ok(None);
    }
    git(root, &["show", &object]).map(Some)
}

/// `spectrace diff REV`: the base is the committed index and compliance model at `rev`; the
/// head is the model `spectrace report` would build now.
pub fn diff(
    common: &CommonArgs,
    rev: &str,
    format: DiffFormat,
    fail_on: Option<FailOn>,
) -> ExitCode {
    let commit = match git(
        &common.root,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    ) {
        Ok(commit) => commit.trim().to_owned(),
        Err(message) => {
            eprintln!("spectrace diff: `{rev}` is not a revision: {message}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let loaded = match load_or_fail(common) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let outputs = &loaded.config.outputs;
    let mut notes = Vec::new();
    let mut read = |path: &str| match file_at(&common.root, &commit, path) {
        Ok(Some(text)) => Ok(Some(text)),
        Ok(None) => {
            notes.push(format!("{path} does not exist at {rev}: taken as empty"));
            Ok(None)
        }
        Err(message) => Err(Diagnostic::error(
            path,
            None,
            format!("git show at {rev}: {message}"),
        )),
    };
    let index_text = match read(&outputs.index) {
        Ok(text) => text,
        Err(d) => return fail(&[d]),
    };
    let model_text = match read(&outputs.compliance_json) {
        Ok(text) => text,
        Err(d) => return fail(&[d]),
    };
    let at = |path: &str| format!("{path} at {rev}");
    let requirements = match index_text.map(|t| diff::parse_index(&at(&outputs.index), &t)) {
        None => Vec::new(),
        Some(Ok(requirements)) => requirements,
        Some(Err(d)) => return fail(&[d]),
    };
    let statuses = match model_text.map(|t| diff::parse_statuses(&at(&outputs.compliance_json), &t))
    {
        None => None,
        Some(Ok(statuses)) => Some(statuses),
        Some(Err(d)) => return fail(&[d]),
    };
    let base = Side::new(requirements, statuses.as_ref());
    let head = Side::current(&loaded.index, &loaded.model);
    let result = compare(rev, notes, &base, &head);
    let text = match format {
        DiffFormat::Markdown => diff::render::markdown(&result),
        DiffFormat::Json => match diff::render::json(&result) {
            Ok(text) => text,
            Err(e) => return fail(&[Diagnostic::error("<output>", None, e)]),
        },
    };
    if let Err(d) = print_stdout(&text) {
        return fail(&[d]);
    }
    let c = &result.counts;
    eprintln!(
        "spectrace diff: since {rev}: {} added, {} removed, {} reworded, {} level changed, {} \
         status changed ({} regression{})",
        c.added,
        c.removed,
        c.reworded,
        c.level_changed,
        c.status_changed,
        c.regressions,
        if c.regressions == 1 { "" } else { "s" }
    );
    if fail_on == Some(FailOn::Regress) && result.has_regressions() {
        eprintln!("spectrace diff: FAILED: a requirement's status got worse (--fail-on regress)");
        return ExitCode::from(CHECK_FAILED);
    }
    ExitCode::SUCCESS
}
