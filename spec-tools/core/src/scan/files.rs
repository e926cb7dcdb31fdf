//! Which files the scan reads: the `[evidence]` globs of `spectrace.toml` (`rust`, `features`,
//! `openapi`, `junit`), minus `exclude`, selected by one walk of the root
//! ([`crate::paths::Selector`]). A `junit` entry that names one file (no glob characters) must
//! exist: a report that a configured suite did not write is an error, not silence.

use std::path::Path;

use crate::config::EvidenceConfig;
use crate::diag::Diagnostic;
use crate::paths::{GlobKey, Selected, Selector};

/// The parser a file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SourceKind {
    /// `[evidence] rust`.
    Rust,
    /// `[evidence] features`.
    Gherkin,
    /// `[evidence] openapi`.
    OpenApi,
    /// `[evidence] junit`.
    Junit,
}

/// One file to scan.
pub(crate) type SourceFile = Selected<SourceKind>;

const fn key(key: &'static str) -> GlobKey<'static> {
    GlobKey {
        section: "evidence",
        key,
    }
}

/// The `[evidence]` globs, compiled.
pub(crate) fn selector(evidence: &EvidenceConfig) -> Result<Selector<SourceKind>, Vec<Diagnostic>> {
    Selector::new(
        &[
            (SourceKind::Rust, key("rust"), &evidence.rust),
            (SourceKind::Gherkin, key("features"), &evidence.features),
            (SourceKind::OpenApi, key("openapi"), &evidence.openapi),
            (SourceKind::Junit, key("junit"), &evidence.junit),
        ],
        &[(key("exclude"), &evidence.exclude)],
    )
}

/// Every file under `root` matched by the globs of `evidence`, sorted by path, or every invalid
/// glob and unreadable directory.
pub(crate) fn find_sources(
    root: &Path,
    evidence: &EvidenceConfig,
) -> Result<Vec<SourceFile>, Vec<Diagnostic>> {
    let missing: Vec<Diagnostic> = evidence
        .junit
        .iter()
        .map(|entry| entry.trim_start_matches("./"))
        .filter(|entry| !entry.contains(['*', '?', '[']) && !root.join(entry).is_file())
        .map(|entry| {
            Diagnostic::error(
                entry,
                None,
                "this JUnit report (`[evidence] junit`) does not exist: run the suite that \
                 writes it (`spectrace verify`) first",
            )
        })
        .collect();
    let selected = selector(evidence)?.select(root);
    match (selected, missing.is_empty()) {
        (Ok(found), true) => Ok(found),
        (Ok(_), false) => Err(missing),
        (Err(mut errors), _) => {
            errors.extend(missing);
            Err(errors)
        }
    }
}
