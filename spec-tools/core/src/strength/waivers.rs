//! `reports/strength-waivers.yaml`: what the strength figures leave out, one entry at a time,
//! each with a reason. Two kinds:
//!
//! - **A surviving mutant that no test can catch** (an equivalent mutant), named by `mutant`.
//!   It is left out of the strength; a waiver whose mutant no longer exists is reported, so the
//!   file cannot rot.
//! - **A requirement none of whose mutants can be judged**, without `mutant`: cargo-mutants
//!   generates none inside its implementing items (a struct, a constant, a trait), or none of
//!   them builds. Its strength is `0/0`, which a `[gate] must_strength` floor otherwise fails
//!   as "no measured strength". The waiver no longer applies, and is reported, once a mutant of
//!   the requirement is judged.
//!
//! Mutants are matched by [`stable_name`]: cargo-mutants' name without its `:line:column`, so
//! that an edit elsewhere in the file, which moves the mutant, does not void its waiver.
//!
//! ```yaml
//! - id: ORCH-3004
//!   mutant: "reference-impl/orchestrator-core/src/queue.rs: replace + with * in AdmissionQueue::len"
//!   reason: "equivalent: both classes are never non-empty together in this function"
//! - id: ORCH-2006
//!   reason: "its only implementing item is a struct, in which cargo-mutants makes no mutant"
//! ```

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;

/// One waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The requirement whose evidence cannot catch the mutant.
    pub id: String,
    /// The mutant, by [`stable_name`]; none for a requirement none of whose mutants can be
    /// judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutant: Option<String>,
    /// Why no test can catch it, or why no mutant of the requirement can be judged.
    pub reason: String,
}

/// `src/queue.rs:89:32: replace + with -` → `src/queue.rs: replace + with -`.
pub fn stable_name(name: &str) -> String {
    let Some((location, rest)) = name.split_once(": ") else {
        return name.to_owned();
    };
    let mut parts = location.rsplitn(3, ':');
    let (column, line, file) = (parts.next(), parts.next(), parts.next());
    match (file, line, column) {
        (Some(file), Some(line), Some(column))
            if line.bytes().all(|b| b.is_ascii_digit())
                && column.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{file}: {rest}")
        }
        _ => name.to_owned(),
    }
}

/// Parses the waivers file; `name` names it in errors. Every waiver needs a reason.
pub fn parse(name: &str, text: &str) -> Result<Vec<Waiver>, Diagnostic> {
    let only_comments = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if only_comments {
        return Ok(Vec::new());
    }
    let waivers: Vec<Waiver> = serde_saphyr::from_str(text)
        .map_err(|e| Diagnostic::yaml(name, "the strength waivers", &e))?;
    for (i, waiver) in waivers.iter().enumerate() {
        let what = match &waiver.mutant {
            Some(mutant) => format!("{} {mutant}", waiver.id),
            None => waiver.id.clone(),
        };
        if waiver.reason.trim().is_empty() {
            return Err(Diagnostic::error(
                name,
                None,
                format!("waiver {} ({what}) gives no reason", i + 1),
            ));
        }
        if waivers[..i]
            .iter()
            .any(|w| w.id == waiver.id && w.mutant == waiver.mutant)
        {
            return Err(Diagnostic::error(
                name,
                None,
                format!("waiver {} ({what}) repeats an earlier one", i + 1),
            ));
        }
    }
    Ok(waivers)
}

/// The reason `id`'s mutant `name` (cargo-mutants' name) is waived, if it is.
pub fn reason<'w>(waivers: &'w [Waiver], id: &str, name: &str) -> Option<&'w str> {
    let stable = stable_name(name);
    waivers
        .iter()
        .find(|w| w.id == id && w.mutant.as_deref() == Some(stable.as_str()))
        .map(|w| w.reason.as_str())
}

/// The reason none of `id`'s mutants can be judged, if a waiver without a mutant gives one.
pub fn unjudged_reason<'w>(waivers: &'w [Waiver], id: &str) -> Option<&'w str> {
    waivers
        .iter()
        .find(|w| w.id == id && w.mutant.is_none())
        .map(|w| w.reason.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_only_their_line_and_column() {
        assert_eq!(
            stable_name("src/queue.rs:89:32: replace + with - in AdmissionQueue::len"),
            "src/queue.rs: replace + with - in AdmissionQueue::len"
        );
        assert_eq!(stable_name("odd name"), "odd name");
        assert_eq!(stable_name("a:b: c"), "a:b: c");
    }

    #[test]
    fn waivers_parse_need_reasons_and_match_moved_mutants() {
        let text = "# waived\n- id: REQ-1\n  mutant: \"src/q.rs: replace + with * in len\"\n  reason: equivalent here\n";
        let waivers = parse("w.yaml", text).unwrap();
        assert_eq!(
            reason(&waivers, "REQ-1", "src/q.rs:12:5: replace + with * in len"),
            Some("equivalent here")
        );
        assert_eq!(
            reason(&waivers, "REQ-2", "src/q.rs:12:5: replace + with * in len"),
            None
        );
        assert!(parse("w.yaml", "# nothing yet\n").unwrap().is_empty());
        let e = parse("w.yaml", "- id: REQ-1\n  mutant: m\n  reason: \"\"\n").unwrap_err();
        assert!(e.message.contains("gives no reason"), "{e}");
        assert!(parse("w.yaml", "- id: REQ-1\n  mutant: m\n  why: x\n").is_err());
    }

    #[test]
    fn a_waiver_without_a_mutant_covers_a_requirement_with_no_judged_mutant() {
        let text = "- id: REQ-1\n  reason: a struct has no mutant\n- id: REQ-1\n  mutant: \"src/q.rs: replace + with * in len\"\n  reason: equivalent\n";
        let waivers = parse("w.yaml", text).unwrap();
        assert_eq!(
            unjudged_reason(&waivers, "REQ-1"),
            Some("a struct has no mutant")
        );
        assert_eq!(unjudged_reason(&waivers, "REQ-2"), None);
        // A mutant waiver is not a requirement waiver, nor the other way round.
        assert_eq!(
            reason(&waivers, "REQ-1", "src/q.rs:3:1: replace + with * in len"),
            Some("equivalent")
        );
        let only_mutant = parse(
            "w.yaml",
            &text[text.find("- id: REQ-1\n  mutant").unwrap()..],
        )
        .unwrap();
        assert_eq!(unjudged_reason(&only_mutant, "REQ-1"), None);
        let e = parse("w.yaml", "- id: REQ-1\n  reason: \" \"\n").unwrap_err();
        assert!(
            e.message.contains("waiver 1 (REQ-1) gives no reason"),
            "{e}"
        );
        let e = parse(
            "w.yaml",
            "- id: REQ-1\n  reason: a\n- id: REQ-1\n  reason: b\n",
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("waiver 2 (REQ-1) repeats an earlier one"),
            "{e}"
        );
    }
}
