//! The requirement set: what `spectrace extract` writes to `requirements/index.yaml` and what
//! every later stage reads. Field names and order are a published format; bump
//! [`SCHEMA_VERSION`] when they change incompatibly.

use serde::{Deserialize, Serialize};

use crate::level::Level;

/// Version of the requirement index format.
pub const SCHEMA_VERSION: u32 = 1;

/// The requirement set of a repository, sorted by ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementIndex {
    /// Format version, [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The spec files read, sorted by path.
    pub specs: Vec<SpecSummary>,
    /// Every requirement, sorted by ID (digit runs compare by value).
    pub requirements: Vec<Requirement>,
}

impl RequirementIndex {
    /// A generous guess at the size of the index written as YAML or JSON, in bytes (the
    /// field names and punctuation of each entry, plus its strings), to size the output buffer.
    pub fn text_size_hint(&self) -> usize {
        let specs: usize = self
            .specs
            .iter()
            .map(|s| 64 + s.path.len() + s.title.len())
            .sum();
        let requirements: usize = self
            .requirements
            .iter()
            .map(|r| {
                256 + r.id.len()
                    + r.title.len()
                    + r.text.len()
                    + r.spec.len()
                    + r.section.len()
                    + r.anchor.len()
                    + r.references.iter().map(|id| 8 + id.len()).sum::<usize>()
            })
            .sum();
        4096 + specs + requirements
    }
}

/// One spec file of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSummary {
    /// Path relative to the root, with `/` separators.
    pub path: String,
    /// Text of the first level-1 heading, or the file name when there is none.
    pub title: String,
    /// How many requirements the file defines.
    pub requirements: usize,
}

/// One requirement, defined by one Markdown block carrying a bracketed ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The ID, e.g. `ORCH-3004`.
    pub id: String,
    /// The strongest RFC 2119 level in the text.
    pub level: Level,
    /// The strongest keyword as written (e.g. `MUST NOT`); `None` for `info`.
    pub keyword: Option<String>,
    /// Short clean title: the heading, the leading bold phrase, or the first sentence.
    pub title: String,
    /// The requirement's plain text: Markdown stripped, ID token removed, whitespace collapsed.
    pub text: String,
    /// Spec file, relative to the root, with `/` separators.
    pub spec: String,
    /// 1-based line where the defining block starts.
    pub line: usize,
    /// Text of the nearest enclosing heading.
    pub section: String,
    /// GitHub anchor (slug) of that heading, without `#`.
    pub anchor: String,
    /// First 16 hex digits of SHA-256 over `text`.
    pub fingerprint: String,
    /// Other IDs mentioned in the text, sorted, without duplicates.
    pub references: Vec<String>,
}

impl Requirement {
    /// The requirement's own anchor on the site and in per-ID links: the lower-cased ID.
    pub fn requirement_anchor(&self) -> String {
        self.id.to_lowercase()
    }
}
