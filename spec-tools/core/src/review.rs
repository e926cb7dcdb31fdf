//! `reports/reviewed.yaml`: per requirement, the fingerprint its evidence was last
//! reviewed against. Pure: parsing text, rendering text, and the two updates — the one
//! `spectrace report` makes (new requirements start reviewed, removed ones are dropped, existing
//! entries never change) and the one `spectrace review` makes (the named requirements, or all,
//! recorded at their current fingerprint). The compliance model compares the map with the
//! current fingerprints ([`crate::compliance::build_reviewed`]).

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;
use crate::id::natural_cmp;
use crate::model::RequirementIndex;

/// Version of the `reviewed.yaml` format.
pub const REVIEWED_SCHEMA_VERSION: u32 = 1;

/// The comment at the top of the file.
pub const HEADER: &str = "# Fingerprint of the wording each requirement's evidence was last \
reviewed against. A reworded requirement is `suspect` until `spectrace review ID...` (or \
`--all`) records its new fingerprint; `spectrace report` adds new requirements.\n";

/// Requirement ID → reviewed fingerprint.
pub type Reviewed = BTreeMap<String, String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    schema_version: u32,
    #[serde(default)]
    reviewed: BTreeMap<String, Spanned<String>>,
}

/// The file as written: entries in natural ID order.
#[derive(Serialize)]
struct FileOut<'a> {
    schema_version: u32,
    reviewed: Ordered<'a>,
}

struct Ordered<'a>(Vec<(&'a String, &'a String)>);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, fingerprint) in &self.0 {
            map.serialize_entry(id, fingerprint)?;
        }
        map.end()
    }
}

/// True for a fingerprint as [`crate::fingerprint`] makes them: 16 lower-case hex digits.
fn is_fingerprint(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The file as read when it is valid: plain strings, without the positions of
/// [`FileIn`], which only an error needs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainFileIn {
    schema_version: u32,
    #[serde(default)]
    reviewed: Reviewed,
}

/// Parses the text of a `reviewed.yaml`; `file` names it in errors (with the line).
pub fn parse(file: &str, text: &str) -> Result<Reviewed, Diagnostic> {
    let options = || {
        let mut options = serde_saphyr::Options::default();
        options.strict_booleans = true;
        options
    };
    // Thousands of entries: read them as plain strings first; only when a fingerprint is
    // malformed is the file read again with positions, to name the line.
    if let Ok(plain) = serde_saphyr::from_str_with_options::<PlainFileIn>(text, options())
        && plain.schema_version == REVIEWED_SCHEMA_VERSION
        && plain.reviewed.values().all(|f| is_fingerprint(f))
    {
        return Ok(plain.reviewed);
    }
    let parsed: FileIn = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| Diagnostic::yaml(file, "reviewed fingerprints", &e))?;
    if parsed.schema_version != REVIEWED_SCHEMA_VERSION {
        return Err(Diagnostic::error(
            file,
            None,
            format!(
                "schema_version {} is not supported (expected {REVIEWED_SCHEMA_VERSION})",
                parsed.schema_version
            ),
        ));
    }
    let mut out = Reviewed::new();
    for (id, fingerprint) in parsed.reviewed {
        if !is_fingerprint(&fingerprint.value) {
            let line = usize::try_from(fingerprint.referenced.line())
                .ok()
                .filter(|l| *l > 0);
            return Err(Diagnostic::error(
                file,
                line,
                format!(
                    "{id}: `{}` is not a fingerprint (16 lower-case hex digits)",
                    fingerprint.value
                ),
            ));
        }
        out.insert(id, fingerprint.value);
    }
    Ok(out)
}

/// The text of a `reviewed.yaml`: the header comment, then the entries in natural ID order.
pub fn render(reviewed: &Reviewed) -> Result<String, String> {
    let mut entries: Vec<(&String, &String)> = reviewed.iter().collect();
    entries.sort_by(|a, b| natural_cmp(a.0, b.0));
    let body = serde_saphyr::to_string(&FileOut {
        schema_version: REVIEWED_SCHEMA_VERSION,
        reviewed: Ordered(entries),
    })
    .map_err(|e| format!("cannot serialize reviewed fingerprints: {e}"))?;
    let mut text = format!("{HEADER}{body}");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// What `spectrace report` writes: existing entries of requirements that still exist, unchanged
/// (so a rewording stays suspect), plus every requirement missing from `reviewed` at its current
/// fingerprint (new requirements start reviewed). Entries of removed requirements are dropped.
pub fn reconcile(reviewed: &Reviewed, index: &RequirementIndex) -> Reviewed {
    index
        .requirements
        .iter()
        .map(|r| {
            let fingerprint = reviewed.get(&r.id).unwrap_or(&r.fingerprint);
            (r.id.clone(), fingerprint.clone())
        })
        .collect()
}

/// Which requirements `spectrace review` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every requirement.
    All,
    /// These IDs.
    Ids(Vec<String>),
}

/// One entry `spectrace review` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Requirement ID.
    pub id: String,
    /// The fingerprint it was reviewed against before (`None`: it had no entry).
    pub from: Option<String>,
    /// Its current fingerprint, now recorded.
    pub to: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.from {
            Some(from) => write!(f, "{}: {from} → {}", self.id, self.to),
            None => write!(f, "{}: (new) → {}", self.id, self.to),
        }
    }
}

/// What `spectrace review` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The whole new map (reconciled as [`reconcile`] does, then the selection recorded).
    pub reviewed: Reviewed,
    /// Selected entries whose fingerprint changed, in ID order.
    pub changed: Vec<Change>,
    /// Selected IDs that were already reviewed at their current fingerprint.
    pub unchanged: Vec<String>,
}

/// Records the current fingerprint of the selected requirements. Unknown IDs are an error
/// listing every one of them.
pub fn record(
    reviewed: &Reviewed,
    index: &RequirementIndex,
    selection: &Selection,
) -> Result<Recorded, Vec<String>> {
    if let Selection::Ids(ids) = selection {
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !index.requirements.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
    }
    let mut next = reconcile(reviewed, index);
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for r in &index.requirements {
        let selected = match selection {
            Selection::All => true,
            Selection::Ids(ids) => ids.contains(&r.id),
        };
        if !selected {
            continue;
        }
        let before = reviewed.get(&r.id);
        if before == Some(&r.fingerprint) {
            unchanged.push(r.id.clone());
        } else {
            changed.push(Change {
                id: r.id.clone(),
                from: before.cloned(),
                to: r.fingerprint.clone(),
            });
        }
        next.insert(r.id.clone(), r.fingerprint.clone());
    }
    Ok(Recorded {
        reviewed: next,
        changed,
        unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::model::Requirement;

    fn index(entries: &[(&str, &str)]) -> RequirementIndex {
        RequirementIndex {
            schema_version: 1,
            specs: Vec::new(),
            requirements: entries
                .iter()
                .map(|(id, fp)| Requirement {
                    id: (*id).to_owned(),
                    level: Level::Must,
                    keyword: Some("MUST".to_owned()),
                    title: "t".to_owned(),
                    text: "t".to_owned(),
                    spec: ".specs/s.md".to_owned(),
                    line: 1,
                    section: "s".to_owned(),
                    anchor: "s".to_owned(),
                    fingerprint: (*fp).to_owned(),
                    references: Vec::new(),
                })
                .collect(),
        }
    }

    fn map(entries: &[(&str, &str)]) -> Reviewed {
        entries
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    const A: &str = "0123456789abcdef";
    const B: &str = "fedcba9876543210";
    /// All digits: must be quoted, or YAML would read a number.
    const DIGITS: &str = "1234567890123456";

    #[test]
    fn render_is_sorted_naturally_commented_and_round_trips() {
        let reviewed = map(&[("ORCH-1000", A), ("ORCH-999", DIGITS), ("ORCH-20", B)]);
        let text = render(&reviewed).unwrap();
        assert_eq!(
            text,
            format!(
                "{HEADER}schema_version: 1\nreviewed:\n  ORCH-20: {B}\n  ORCH-999: \"{DIGITS}\"\n  ORCH-1000: {A}\n"
            )
        );
        assert_eq!(HEADER.lines().count(), 1);
        assert_eq!(parse("r.yaml", &text).unwrap(), reviewed);
        assert_eq!(
            render(&Reviewed::new()).unwrap(),
            format!("{HEADER}schema_version: 1\nreviewed: {{}}\n")
        );
        assert_eq!(
            parse("r.yaml", &render(&Reviewed::new()).unwrap()).unwrap(),
            Reviewed::new()
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        let bad_fp = format!("schema_version: 1\nreviewed:\n  ORCH-1: {A}\n  ORCH-2: nothex\n");
        let e = parse("reports/reviewed.yaml", &bad_fp).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("ORCH-2"), "{e}");
        let duplicate = format!("schema_version: 1\nreviewed:\n  ORCH-1: {A}\n  ORCH-1: {B}\n");
        let e = parse("reports/reviewed.yaml", &duplicate).unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let broken = "schema_version: 1\nreviewed: [\n";
        let e = parse("reports/reviewed.yaml", broken).unwrap_err();
        assert!(e.line.is_some(), "{e}");
        assert!(e.to_string().starts_with("reports/reviewed.yaml:"), "{e}");
        let unknown_key = format!("schema_version: 1\nreviewd:\n  ORCH-1: {A}\n");
        let e = parse("r.yaml", &unknown_key).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let version = parse("r.yaml", "schema_version: 9\n").unwrap_err();
        assert!(version.message.contains("schema_version 9"), "{version}");
    }

    #[test]
    fn reconcile_adds_new_drops_removed_and_keeps_existing_entries() {
        let reviewed = map(&[("ORCH-1", A), ("ORCH-2", A)]);
        // ORCH-1 reworded (now B), ORCH-2 removed, ORCH-3 new.
        let now = index(&[("ORCH-1", B), ("ORCH-3", B)]);
        assert_eq!(
            reconcile(&reviewed, &now),
            map(&[("ORCH-1", A), ("ORCH-3", B)])
        );
        assert_eq!(
            reconcile(&Reviewed::new(), &now),
            map(&[("ORCH-1", B), ("ORCH-3", B)])
        );
    }

    #[test]
    fn record_updates_the_selection_only_and_reports_changes() {
        let reviewed = map(&[("ORCH-1", A), ("ORCH-2", A), ("ORCH-9", A)]);
        let now = index(&[("ORCH-1", B), ("ORCH-2", B), ("ORCH-3", A)]);
        let one = record(&reviewed, &now, &Selection::Ids(vec!["ORCH-1".into()])).unwrap();
        assert_eq!(
            one.reviewed,
            map(&[("ORCH-1", B), ("ORCH-2", A), ("ORCH-3", A)])
        );
        assert_eq!(one.changed.len(), 1);
        assert_eq!(one.changed[0].to_string(), format!("ORCH-1: {A} → {B}"));
        assert!(one.unchanged.is_empty());

        let all = record(&one.reviewed, &now, &Selection::All).unwrap();
        assert_eq!(
            all.reviewed,
            map(&[("ORCH-1", B), ("ORCH-2", B), ("ORCH-3", A)])
        );
        assert_eq!(
            all.changed
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["ORCH-2"]
        );
        assert_eq!(all.unchanged, ["ORCH-1", "ORCH-3"]);

        let unknown = record(
            &reviewed,
            &now,
            &Selection::Ids(vec!["ORCH-1".into(), "ORCH-7".into(), "ORCH-9".into()]),
        )
        .unwrap_err();
        assert_eq!(unknown, ["ORCH-7", "ORCH-9"]);
    }
}
