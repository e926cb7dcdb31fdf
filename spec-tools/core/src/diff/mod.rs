//! `spectrace diff <rev>`: what a change did to the requirements and their
//! compliance, from a base (the committed `requirements/index.yaml` and
//! `reports/compliance.json` at a git revision) to a head (the working tree's requirement set
//! and the model `spectrace report` would build now). Pure: the CLI reads the files with git;
//! this module parses their text, compares the two sides, and [`render`] writes Markdown or
//! JSON.
//!
//! Change kinds: requirements **added** and **removed** (by ID), **reworded** (fingerprint
//! changed, with a word diff of the text), **level changed**, and **status changed** (both
//! sides have a status and they differ). A status change to a worse status by the rank of
//! [`Status`] is a **regression**. Added and removed requirements are never regressions: a new
//! requirement's status is news, not a step back, and removing a requirement (a MUST included)
//! is a deliberate spec edit that the "Removed" section puts in front of the reviewer, not a
//! change in how well the code meets the spec.
//!
//! The base files are read leniently (unknown fields are ignored) so that a revision written by
//! an older or newer spectrace can still be compared.

pub mod render;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use crate::compliance::{ComplianceModel, Status};
use crate::diag::Diagnostic;
use crate::id::natural_cmp;
use crate::level::Level;
use crate::model::RequirementIndex;

/// One requirement as one side of the comparison sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SideRequirement {
    /// ID.
    pub id: String,
    /// Level.
    pub level: Level,
    /// Title.
    pub title: String,
    /// Plain text (what the fingerprint hashes).
    pub text: String,
    /// Spec file.
    pub spec: String,
    /// Line in the spec.
    pub line: usize,
    /// Fingerprint of the text.
    pub fingerprint: String,
    /// Status, when that side has a compliance model that lists the requirement.
    #[serde(skip)]
    pub status: Option<Status>,
}

/// The requirements of one side, sorted by ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Side {
    /// Requirements in natural ID order.
    pub requirements: Vec<SideRequirement>,
}

#[derive(Deserialize)]
struct IndexDoc {
    #[serde(default)]
    requirements: Vec<SideRequirement>,
}

#[derive(Deserialize)]
struct ComplianceDoc {
    #[serde(default)]
    requirements: Vec<StatusEntry>,
}

#[derive(Deserialize)]
struct StatusEntry {
    id: String,
    status: Status,
}

/// The requirements of a `requirements/index.yaml` text; `file` names it in errors.
pub fn parse_index(file: &str, text: &str) -> Result<Vec<SideRequirement>, Diagnostic> {
    let doc: IndexDoc = serde_saphyr::from_str(text)
        .map_err(|e| Diagnostic::yaml(file, "the requirement index", &e))?;
    Ok(doc.requirements)
}

/// Requirement ID → status of a `compliance.json` text; `file` names it in errors.
pub fn parse_statuses(file: &str, text: &str) -> Result<BTreeMap<String, Status>, Diagnostic> {
    let doc: ComplianceDoc = serde_json::from_str(text).map_err(|e| {
        Diagnostic::error(
            file,
            Some(e.line()).filter(|l| *l > 0),
            format!("cannot parse the compliance model: {e}"),
        )
    })?;
    Ok(doc
        .requirements
        .into_iter()
        .map(|r| (r.id, r.status))
        .collect())
}

impl Side {
    /// A side from parsed files: `statuses` is `None` when there is no compliance model.
    pub fn new(
        mut requirements: Vec<SideRequirement>,
        statuses: Option<&BTreeMap<String, Status>>,
    ) -> Self {
        for r in &mut requirements {
            r.status = statuses.and_then(|s| s.get(&r.id).copied());
        }
        requirements.sort_by(|a, b| natural_cmp(&a.id, &b.id));
        Self { requirements }
    }

    /// The working tree's side: the requirement set and the model built from it.
    pub fn current(index: &RequirementIndex, model: &ComplianceModel) -> Self {
        let statuses: BTreeMap<String, Status> = model
            .requirements
            .iter()
            .map(|r| (r.id.clone(), r.status))
            .collect();
        let requirements = index
            .requirements
            .iter()
            .map(|r| SideRequirement {
                id: r.id.clone(),
                level: r.level,
                title: r.title.clone(),
                text: r.text.clone(),
                spec: r.spec.clone(),
                line: r.line,
                fingerprint: r.fingerprint.clone(),
                status: None,
            })
            .collect();
        Self::new(requirements, Some(&statuses))
    }
}

/// A requirement that is only on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// ID.
    pub id: String,
    /// Level.
    pub level: Level,
    /// Title.
    pub title: String,
    /// Spec file (of the side it is on).
    pub spec: String,
    /// Line in the spec.
    pub line: usize,
    /// Status on that side, when known.
    pub status: Option<Status>,
}

/// What a run of words did in a word diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WordOp {
    /// On both sides.
    Equal,
    /// Only in the old text.
    Removed,
    /// Only in the new text.
    Added,
}

/// A run of words (with the whitespace between them) of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordChange {
    /// Kind.
    pub op: WordOp,
    /// The words.
    pub text: String,
}

/// A requirement whose wording changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reworded {
    /// ID.
    pub id: String,
    /// Level now.
    pub level: Level,
    /// Title now.
    pub title: String,
    /// Spec file now.
    pub spec: String,
    /// Line now.
    pub line: usize,
    /// Fingerprint at the base.
    pub old_fingerprint: String,
    /// Fingerprint now.
    pub new_fingerprint: String,
    /// Text at the base.
    pub old_text: String,
    /// Text now.
    pub new_text: String,
    /// Word diff of the two texts.
    pub words: Vec<WordChange>,
}

/// A requirement whose level changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelChange {
    /// ID.
    pub id: String,
    /// Title now.
    pub title: String,
    /// Spec file now.
    pub spec: String,
    /// Line now.
    pub line: usize,
    /// Level at the base.
    pub before: Level,
    /// Level now.
    pub after: Level,
}

/// A requirement whose status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// ID.
    pub id: String,
    /// Level now.
    pub level: Level,
    /// Title now.
    pub title: String,
    /// Spec file now.
    pub spec: String,
    /// Line now.
    pub line: usize,
    /// Status at the base.
    pub before: Status,
    /// Status now.
    pub after: Status,
    /// `after` is worse than `before` (see [`Status::is_worse_than`]).
    pub regression: bool,
}

/// How many changes of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Requirements added.
    pub added: usize,
    /// Requirements removed.
    pub removed: usize,
    /// Requirements reworded.
    pub reworded: usize,
    /// Level changes.
    pub level_changed: usize,
    /// Status changes.
    pub status_changed: usize,
    /// Status changes that are regressions.
    pub regressions: usize,
}

/// Everything that changed from the base to the head; every list in natural ID order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementDiff {
    /// What the base is (the git revision as given).
    pub base: String,
    /// Remarks about the inputs (e.g. a file missing at the base).
    pub notes: Vec<String>,
    /// Counts per kind.
    pub counts: Counts,
    /// Requirements only at the head (with their status now).
    pub added: Vec<Entry>,
    /// Requirements only at the base (with their status there).
    pub removed: Vec<Entry>,
    /// Requirements whose fingerprint changed.
    pub reworded: Vec<Reworded>,
    /// Requirements whose level changed.
    pub level_changed: Vec<LevelChange>,
    /// Requirements whose status changed.
    pub status_changed: Vec<StatusChange>,
}

impl RequirementDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.reworded.is_empty()
            && self.level_changed.is_empty()
            && self.status_changed.is_empty()
    }

    /// True when some requirement's status got worse.
    pub fn has_regressions(&self) -> bool {
        self.counts.regressions > 0
    }
}

fn entry(r: &SideRequirement) -> Entry {
    Entry {
        id: r.id.clone(),
        level: r.level,
        title: r.title.clone(),
        spec: r.spec.clone(),
        line: r.line,
        status: r.status,
    }
}

/// The word diff of `old` and `new`: runs of equal, removed and added words. Changes separated
/// only by whitespace form one block, shown as one removed run then one added run (`~~a b~~
/// **c d**` rather than `~~a~~ **c** ~~b~~ **d**`).
pub fn word_diff(old: &str, new: &str) -> Vec<WordChange> {
    let diff = TextDiff::from_words(old, new);
    let mut out: Vec<WordChange> = Vec::new();
    // The block of changes being collected: its old and its new text.
    let (mut removed, mut added) = (String::new(), String::new());
    let flush = |out: &mut Vec<WordChange>, removed: &mut String, added: &mut String| {
        // The whitespace after the block (either side's, whichever is longer) stays outside it.
        let tail = |text: &str| text[text.trim_end().len()..].to_owned();
        let (old_tail, new_tail) = (tail(removed), tail(added));
        let space = if new_tail.len() > old_tail.len() {
            new_tail
        } else {
            old_tail
        };
        for (op, text) in [(WordOp::Removed, &*removed), (WordOp::Added, &*added)] {
            if !text.trim().is_empty() {
                out.push(WordChange {
                    op,
                    text: text.trim_end().to_owned(),
                });
            }
        }
        if !space.is_empty() {
            push_run(out, WordOp::Equal, &space);
        }
        removed.clear();
        added.clear();
    };
    for change in diff.iter_all_changes() {
        let value = change.value();
        let in_block = !removed.is_empty() || !added.is_empty();
        match change.tag() {
            ChangeTag::Delete => removed.push_str(value),
            ChangeTag::Insert => added.push_str(value),
            ChangeTag::Equal if in_block && value.trim().is_empty() => {
                removed.push_str(value);
                added.push_str(value);
            }
            ChangeTag::Equal => {
                if in_block {
                    flush(&mut out, &mut removed, &mut added);
                }
                push_run(&mut out, WordOp::Equal, value);
            }
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

/// Appends `text` to the last run when it has the same kind, else starts a run.
fn push_run(out: &mut Vec<WordChange>, op: WordOp, text: &str) {
    match out.last_mut() {
        Some(last) if last.op == op => last.text.push_str(text),
        _ => out.push(WordChange {
            op,
            text: text.to_owned(),
        }),
    }
}

/// Compares `base` with `head`. `label` names the base; `notes` are carried into the result.
pub fn compare(label: &str, notes: Vec<String>, base: &Side, head: &Side) -> RequirementDiff {
    let before: BTreeMap<&str, &SideRequirement> = base
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let after: BTreeMap<&str, &SideRequirement> = head
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut diff = RequirementDiff {
        base: label.to_owned(),
        notes,
        counts: Counts::default(),
        added: Vec::new(),
        removed: Vec::new(),
        reworded: Vec::new(),
        level_changed: Vec::new(),
        status_changed: Vec::new(),
    };
    for new in &head.requirements {
        let Some(old) = before.get(new.id.as_str()) else {
            diff.added.push(entry(new));
            continue;
        };
        if old.fingerprint != new.fingerprint {
            diff.reworded.push(Reworded {
                id: new.id.clone(),
                level: new.level,
                title: new.title.clone(),
                spec: new.spec.clone(),
                line: new.line,
                old_fingerprint: old.fingerprint.clone(),
                new_fingerprint: new.fingerprint.clone(),
                old_text: old.text.clone(),
                new_text: new.text.clone(),
                words: word_diff(&old.text, &new.text),
            });
        }
        if old.level != new.level {
            diff.level_changed.push(LevelChange {
                id: new.id.clone(),
                title: new.title.clone(),
                spec: new.spec.clone(),
                line: new.line,
                before: old.level,
                after: new.level,
            });
        }
        if let (Some(was), Some(is)) = (old.status, new.status)
            && was != is
        {
            diff.status_changed.push(StatusChange {
                id: new.id.clone(),
                level: new.level,
                title: new.title.clone(),
                spec: new.spec.clone(),
                line: new.line,
                before: was,
                after: is,
                regression: is.is_worse_than(was),
            });
        }
    }
    diff.removed = base
        .requirements
        .iter()
        .filter(|r| !after.contains_key(r.id.as_str()))
        .map(entry)
        .collect();
    diff.counts = Counts {
        added: diff.added.len(),
        removed: diff.removed.len(),
        reworded: diff.reworded.len(),
        level_changed: diff.level_changed.len(),
        status_changed: diff.status_changed.len(),
        regressions: diff.status_changed.iter().filter(|c| c.regression).count(),
    };
    diff
}

#[cfg(test)]
mod tests;
