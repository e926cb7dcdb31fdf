//! The compliance model: for every requirement, the evidence that declares it, what
//! ran, and the resulting status. Pure: it takes the requirement index, the static scan and the
//! evidence records of one run, and does no I/O ([`records`] reads the run directory).
//!
//! Evidence is keyed by `(file, line)` ([`EvidenceKey`]): the line of a test function's name,
//! or of a Gherkin `Scenario`/`Scenario Outline` keyword, which is what both the scanner and the
//! runners write; a JUnit test case adds its label to the line of its `<testcase>`.
//! Several records under one key (a test run by two suites, the rows of a scenario outline) are
//! one evidence item that passed only if every run passed.
//!
//! | status | meaning |
//! |---|---|
//! | `verified` | every linked evidence ran and passed (`[gate] evidence = "all"`, the default); with `"any"`, at least one ran and every one that ran passed |
//! | `failing` | a linked evidence ran and failed |
//! | `unverified` | linked evidence is declared and some of it (with `"any"`: all of it) did not run |
//! | `uncovered` | nothing links to it |
//! | `suspect` | the requirement was reworded since its evidence was last reviewed |
//!
//! **Suspect links.** `reports/reviewed.yaml` records, per requirement, the
//! fingerprint its evidence was last reviewed against ([`crate::review`]). When the current
//! fingerprint differs, the evidence was written for other words and cannot be trusted as is:
//! - `verified` and `unverified` become `suspect`;
//! - `failing` stays `failing`: a failure is news whatever the wording;
//! - `uncovered` stays `uncovered`: there is no evidence to distrust.
//!
//! Statuses are ranked best to worst (the order of [`Status::ALL`] and of `Ord`): verified,
//! unverified, suspect, uncovered, failing. `suspect` sits below `unverified` (trusted evidence
//! that did not run is one run away from verified; suspect evidence needs a person first) and
//! above `uncovered` (the evidence exists and is probably still right). `spectrace diff` calls a
//! move down this order a regression, and the gate's demands are prefixes of it: `verified`
//! accepts the first, `covered` the first two, so a suspect requirement fails either.

pub mod records;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::EvidenceRule;
use crate::evidence::{EvidenceKey, EvidenceKind, EvidenceRecord, Outcome};
use crate::level::Level;
use crate::model::RequirementIndex;
use crate::scan::Scan;

/// Version of the `compliance.json` format. 2: status `suspect` and `reviewed_fingerprint`.
/// 3: `strength` per requirement, evidence kind `junit`, and `verified` demanding every
/// declared item (`[gate] evidence`). 4: `shards`, the shards whose records contributed.
/// 5: `strength.unjudged_waiver`, why none of a requirement's mutants can be judged.
pub const COMPLIANCE_SCHEMA_VERSION: u32 = 5;

/// A requirement's status in one run; the values are listed best to worst.
// Declared in rank order, so the derived `Ord` is the rank: `a < b` means `a` is better.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Evidence ran, and all of it passed.
    Verified,
    /// Evidence is declared, none ran.
    Unverified,
    /// Reworded since its evidence was last reviewed (and not failing).
    Suspect,
    /// No evidence links to it.
    Uncovered,
    /// Some evidence ran and failed.
    Failing,
}

impl Status {
    /// Every status, best first (the rank).
    pub const ALL: [Status; 5] = [
        Status::Verified,
        Status::Unverified,
        Status::Suspect,
        Status::Uncovered,
        Status::Failing,
    ];

    /// The lower-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Unverified => "unverified",
            Status::Suspect => "suspect",
            Status::Uncovered => "uncovered",
            Status::Failing => "failing",
        }
    }

    /// The icon shown before the status in Markdown (COMPLIANCE.md, `spectrace diff`).
    pub fn icon(self) -> &'static str {
        match self {
            Status::Verified => "✅",
            Status::Unverified => "⚠️",
            Status::Suspect => "🔶",
            Status::Uncovered => "⬜",
            Status::Failing => "❌",
        }
    }

    /// True when `self` is worse than `before` (a regression in `spectrace diff`).
    pub fn is_worse_than(self, before: Status) -> bool {
        self > before
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one evidence item in the run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Every run of it passed.
    Passed,
    /// A run of it failed.
    Failed,
    /// It is declared but did not run.
    NotRun,
}

impl RunOutcome {
    /// The name used in compliance.json and on the site (`passed`, `failed`, `not-run`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Passed => "passed",
            RunOutcome::Failed => "failed",
            RunOutcome::NotRun => "not-run",
        }
    }
}

/// The whole model, as written to `compliance.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceModel {
    /// [`COMPLIANCE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The shards whose records the model was built from, sorted: each record's
    /// `SPECTRACE_SHARD`, or else the run directory it was read from.
    pub shards: Vec<String>,
    /// Requirement counts per level and status (every pair present, zeros included).
    pub totals: Vec<Total>,
    /// Every requirement, in the order of the index (by ID).
    pub requirements: Vec<RequirementStatus>,
}

/// The number of requirements of one level with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Total {
    /// Level.
    pub level: Level,
    /// Status.
    pub status: Status,
    /// How many.
    pub count: usize,
}

/// One requirement and what proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementStatus {
    /// Requirement ID.
    pub id: String,
    /// Level.
    pub level: Level,
    /// Short title.
    pub title: String,
    /// Spec file, relative to the root.
    pub spec: String,
    /// Line of the requirement in the spec.
    pub line: usize,
    /// Heading of its section.
    pub section: String,
    /// GitHub anchor of its section.
    pub anchor: String,
    /// Fingerprint of its text.
    pub fingerprint: String,
    /// The fingerprint its evidence was last reviewed against, when it differs from
    /// `fingerprint` (absent when they are equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_fingerprint: Option<String>,
    /// Status in this run.
    pub status: Status,
    /// Evidence items, sorted by file and line.
    pub evidence: Vec<EvidenceItem>,
    /// `x-req-id` links into the contracts.
    pub contracts: Vec<Link>,
    /// `#[implements]` links into the code.
    pub implementations: Vec<Link>,
    /// How strongly its evidence catches mutants of its implementing items
    /// (`spectrace strength`), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<Strength>,
}

/// A requirement's evidence strength, from `reports/strength.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Strength {
    /// Mutants its evidence caught (a run failed or timed out).
    pub caught: usize,
    /// Mutants every evidence item passed, not waived.
    pub missed: usize,
    /// Surviving mutants waived as equivalent.
    pub waived: usize,
    /// Mutants that do not build.
    pub unviable: usize,
    /// The implementing items or the evidence changed since the measurement: the figures may
    /// no longer hold.
    pub stale: bool,
    /// The surviving mutants that are not waived.
    pub survivors: Vec<Survivor>,
    /// Why none of its mutants can be judged, from a waiver without a mutant in the strength
    /// waivers; set only while none is judged. It lets a `0/0` pass `[gate] must_strength`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unjudged_waiver: Option<String>,
}

impl Strength {
    /// `caught/judged` as the reports show it: `7/9`.
    pub fn fraction(&self) -> String {
        format!("{}/{}", self.caught, self.caught + self.missed)
    }

    /// Mutants judged: caught and missed.
    pub fn judged(&self) -> usize {
        self.caught + self.missed
    }
}

/// A mutant that survived a requirement's evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Survivor {
    /// cargo-mutants' name.
    pub name: String,
    /// File, relative to the root.
    pub file: String,
    /// Line of the change.
    pub line: u32,
    /// The change as a unified diff.
    pub diff: Option<String>,
}

/// One test or scenario linked to a requirement, and how it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    /// Test path or `Feature: Scenario`.
    pub test: String,
    /// File, relative to the root.
    pub file: String,
    /// Line of the test's name or the scenario's keyword.
    pub line: u32,
    /// Kind of evidence.
    #[schemars(with = "crate::evidence::KindSchema")]
    pub kind: EvidenceKind,
    /// Outcome in this run.
    pub outcome: RunOutcome,
    /// The first failure message, for failed evidence.
    pub message: Option<String>,
}

/// A contract or implementation location.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// File, relative to the root.
    pub file: String,
    /// Line.
    pub line: u32,
    /// JSON pointer (contracts) or item name (implementations).
    pub target: String,
}

/// One evidence item while it is being merged.
struct Merged {
    ids: Vec<String>,
    test: String,
    kind: EvidenceKind,
    outcome: RunOutcome,
    message: Option<String>,
}

/// What a model is built with besides the requirements, the scan and the records.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// When a requirement counts as verified (`[gate] evidence`).
    pub rule: EvidenceRule,
    /// Per requirement ID, the fingerprint its evidence was last reviewed against; a
    /// requirement missing from it is new and counts as reviewed at its current fingerprint.
    pub reviewed: BTreeMap<String, String>,
    /// Per requirement ID, its measured strength.
    pub strength: BTreeMap<String, Strength>,
}

/// Builds the model of one run with the default options: every declared item must run, every
/// requirement reviewed at its current wording, no strength.
pub fn build(index: &RequirementIndex, scan: &Scan, records: &[EvidenceRecord]) -> ComplianceModel {
    build_with(index, scan, records, &BuildOptions::default())
}

/// Builds the model of one run.
pub fn build_with(
    index: &RequirementIndex,
    scan: &Scan,
    records: &[EvidenceRecord],
    options: &BuildOptions,
) -> ComplianceModel {
    let reviewed = &options.reviewed;
    let mut items: BTreeMap<EvidenceKey, Merged> = BTreeMap::new();
    for declared in &scan.evidence {
        items.insert(
            EvidenceKey::new(&declared.file, declared.line, declared.kind, &declared.test),
            Merged {
                ids: declared.ids.clone(),
                test: declared.test.clone(),
                kind: declared.kind,
                outcome: RunOutcome::NotRun,
                message: None,
            },
        );
    }
    for record in records {
        let item = items
            .entry(EvidenceKey::new(
                &record.file,
                record.line,
                record.kind,
                &record.test,
            ))
            .or_insert_with(|| Merged {
                ids: Vec::new(),
                test: record.test.clone(),
                kind: record.kind,
                outcome: RunOutcome::NotRun,
                message: None,
            });
        // What ran is what counts: the compiled attribute's IDs join the declared ones.
        for id in &record.ids {
            if !item.ids.contains(id) {
                item.ids.push(id.clone());
            }
        }
        match (record.outcome, item.outcome) {
            (Outcome::Failed, RunOutcome::Failed) => {}
            (Outcome::Failed, _) => {
                item.outcome = RunOutcome::Failed;
                item.message = record.message.clone();
            }
            (Outcome::Passed, RunOutcome::NotRun) => item.outcome = RunOutcome::Passed,
            (Outcome::Passed, _) => {}
        }
    }

    let mut by_id: BTreeMap<&str, Vec<EvidenceItem>> = BTreeMap::new();
    for (key, item) in &items {
        for id in &item.ids {
            by_id.entry(id.as_str()).or_default().push(EvidenceItem {
                test: item.test.clone(),
                file: key.file.clone(),
                line: key.line,
                kind: item.kind,
                outcome: item.outcome,
                message: item.message.clone(),
            });
        }
    }
    let contracts = group_links(scan.contracts.iter().map(|c| {
        let link = Link {
            file: c.file.clone(),
            line: c.line,
            target: c.pointer.clone(),
        };
        (c.id.as_str(), link)
    }));
    let implementations = group_links(scan.implementations.iter().map(|i| {
        let link = Link {
            file: i.file.clone(),
            line: i.line,
            target: i.item.clone(),
        };
        (i.id.as_str(), link)
    }));

    let requirements: Vec<RequirementStatus> = index
        .requirements
        .iter()
        .map(|r| {
            let evidence = by_id.remove(r.id.as_str()).unwrap_or_default();
            let reviewed_fingerprint = reviewed
                .get(&r.id)
                .filter(|fp| **fp != r.fingerprint)
                .cloned();
            RequirementStatus {
                id: r.id.clone(),
                level: r.level,
                title: r.title.clone(),
                spec: r.spec.clone(),
                line: r.line,
                section: r.section.clone(),
                anchor: r.anchor.clone(),
                fingerprint: r.fingerprint.clone(),
                status: with_review(
                    status_of(&evidence, options.rule),
                    reviewed_fingerprint.is_some(),
                ),
                reviewed_fingerprint,
                contracts: contracts.get(r.id.as_str()).cloned().unwrap_or_default(),
                implementations: implementations
                    .get(r.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
                strength: options.strength.get(&r.id).cloned(),
                evidence,
            }
        })
        .collect();
    let totals = Level::ALL
        .iter()
        .flat_map(|&level| {
            let requirements = &requirements;
            Status::ALL.iter().map(move |&status| Total {
                level,
                status,
                count: requirements
                    .iter()
                    .filter(|r| r.level == level && r.status == status)
                    .count(),
            })
        })
        .collect();
    let shards: std::collections::BTreeSet<&str> =
        records.iter().filter_map(|r| r.shard.as_deref()).collect();
    ComplianceModel {
        schema_version: COMPLIANCE_SCHEMA_VERSION,
        shards: shards.into_iter().map(str::to_owned).collect(),
        totals,
        requirements,
    }
}

/// An evidence item that ran in more than one shard: a test that two CI jobs both ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// File of the item.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// Its test name or label.
    pub test: String,
    /// The shards it ran in, sorted (two or more).
    pub shards: Vec<String>,
}

/// The items of `records` that ran in more than one shard, sorted by file and line. Records
/// without a shard (JUnit reports) count for none; several runs in one shard (the rows of an
/// outline, a retry) are one.
pub fn duplicates(records: &[EvidenceRecord]) -> Vec<Duplicate> {
    let mut shards: BTreeMap<EvidenceKey, (&str, std::collections::BTreeSet<&str>)> =
        BTreeMap::new();
    for record in records {
        let Some(shard) = record.shard.as_deref() else {
            continue;
        };
        shards
            .entry(EvidenceKey::new(
                &record.file,
                record.line,
                record.kind,
                &record.test,
            ))
            .or_insert_with(|| (record.test.as_str(), std::collections::BTreeSet::new()))
            .1
            .insert(shard);
    }
    shards
        .into_iter()
        .filter(|(_, (_, shards))| shards.len() > 1)
        .map(|(key, (test, shards))| Duplicate {
            file: key.file.clone(),
            line: key.line,
            test: test.to_owned(),
            shards: shards.into_iter().map(str::to_owned).collect(),
        })
        .collect()
}

/// Links grouped by requirement ID, each list sorted and without repeats.
fn group_links<'a>(pairs: impl Iterator<Item = (&'a str, Link)>) -> BTreeMap<&'a str, Vec<Link>> {
    let mut map: BTreeMap<&str, Vec<Link>> = BTreeMap::new();
    for (id, link) in pairs {
        map.entry(id).or_default().push(link);
    }
    for list in map.values_mut() {
        list.sort();
        list.dedup();
    }
    map
}

/// The status that a requirement's evidence gives it under `rule` (see the module
/// documentation).
pub fn status_of(evidence: &[EvidenceItem], rule: EvidenceRule) -> Status {
    let ran = |e: &&EvidenceItem| e.outcome == RunOutcome::Passed;
    if evidence.is_empty() {
        Status::Uncovered
    } else if evidence.iter().any(|e| e.outcome == RunOutcome::Failed) {
        Status::Failing
    } else if match rule {
        EvidenceRule::All => evidence.iter().all(|e| ran(&e)),
        EvidenceRule::Any => evidence.iter().any(|e| ran(&e)),
    } {
        Status::Verified
    } else {
        Status::Unverified
    }
}

/// The status once review is taken into account: `reworded` is true when the requirement's
/// fingerprint differs from the one its evidence was reviewed against. `verified` and
/// `unverified` become `suspect`; `failing` (a failure is news regardless) and `uncovered` (no
/// evidence to distrust) stay; see the module documentation.
pub fn with_review(status: Status, reworded: bool) -> Status {
    match status {
        Status::Verified | Status::Unverified if reworded => Status::Suspect,
        other => other,
    }
}

/// IDs that evidence records name but no requirement defines, with where the record came from.
pub fn unknown_record_ids<'a>(
    index: &RequirementIndex,
    records: &'a [EvidenceRecord],
) -> Vec<(&'a EvidenceRecord, &'a str)> {
    let known: std::collections::BTreeSet<&str> =
        index.requirements.iter().map(|r| r.id.as_str()).collect();
    records
        .iter()
        .flat_map(|r| r.ids.iter().map(move |id| (r, id.as_str())))
        .filter(|(_, id)| !known.contains(id))
        .collect()
}

#[cfg(test)]
mod tests;
