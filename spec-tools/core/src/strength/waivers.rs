//! `reports/strength-waivers.yaml`: surviving mutants that no test can catch (equivalent
//! mutants), waived one by one, each with a reason. A waived survivor is left out of the
//! strength; a waiver whose mutant no longer exists is reported, so the file cannot rot.
//!
//! Mutants are matched by [`stable_name`]: cargo-mutants' name without its `:line:column`, so
//! that an edit elsewhere in the file, which moves the mutant, does not void its waiver.
//!
//! ```yaml
//! - id: ORCH-3004
//!   mutant: "reference-impl/orchestrator-core/src/queue.rs: replace + with * in AdmissionQueue::len"
//!   reason: "equivalent: both classes are never non-empty together in this function"
//! ```

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;

/// One waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The requirement whose evidence cannot catch the mutant.
    pub id: String,
    /// The mutant, by [`stable_name`].
    pub mutant: String,
    /// Why no test can catch it.
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
        if waiver.reason.trim().is_empty() {
            return Err(Diagnostic::error(
                name,
                None,
                format!(
                    "waiver {} ({} {}) gives no reason",
                    i + 1,
                    waiver.id,
                    waiver.mutant
                ),
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
        .find(|w| w.id == id && w.mutant == stable)
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
}
