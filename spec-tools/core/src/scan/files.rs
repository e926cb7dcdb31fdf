//! Which files the scan reads: the `[evidence]` globs of `spectrace.toml` (`rust`, `features`,
//! `openapi`), minus `exclude`, selected by one walk of the root ([`crate::paths::Selector`]).

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
    selector(evidence)?.select(root)
}
