//! Which strings are requirement IDs, and whether each one names a requirement that exists.
//!
//! Owns the two checks every source of declared evidence shares (evidence naming an unknown
//! ID is always an error, whatever the gate's policy): an ID must match the configured pattern (else it is
//! *malformed*) and must be defined by a spec (else it is *unknown*). It also decides when a
//! Gherkin tag that is not an ID *looks like* one of this project's IDs (`@ORCH-12`,
//! `@orch-2002`), which is an error rather than an ignored tag.

use std::collections::BTreeSet;

use crate::diag::Diagnostic;
use crate::id::IdPattern;

/// The ID pattern, the known IDs, and the prefixes of this project's IDs.
#[derive(Debug)]
pub(crate) struct IdRules<'a> {
    pattern: &'a IdPattern,
    known: &'a BTreeSet<String>,
    /// Upper-case prefixes such as `ORCH-`: each known ID without its trailing number, plus the
    /// literal start of the pattern.
    prefixes: Vec<String>,
}

/// What a Gherkin tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagClass {
    /// A requirement ID (known or not: [`IdRules::check`] tells).
    Id,
    /// Not an ID, but it looks like one of this project's IDs: an error.
    Malformed,
    /// Any other tag (`@wip`, `@slow`): ignored.
    Other,
}

impl<'a> IdRules<'a> {
    /// Rules over `pattern` and the IDs the specs define.
    pub(crate) fn new(pattern: &'a IdPattern, known: &'a BTreeSet<String>) -> Self {
        let mut prefixes: BTreeSet<String> = known.iter().filter_map(|id| prefix_of(id)).collect();
        let literal: String = pattern
            .as_str()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        // A literal followed by a quantifier (`ORCH-?`) or an alternation is not a prefix.
        let rest = &pattern.as_str()[literal.len()..];
        if !literal.is_empty() && !rest.starts_with(['?', '*', '{', '|']) {
            prefixes.insert(literal.to_ascii_uppercase());
        }
        Self {
            pattern,
            known,
            prefixes: prefixes.into_iter().collect(),
        }
    }

    /// `None` when `id` is a defined requirement ID; else the error at `file:line`.
    pub(crate) fn check(&self, id: &str, file: &str, line: u32) -> Option<Diagnostic> {
        let line = Some(line as usize);
        if !self.pattern.is_id(id) {
            Some(Diagnostic::error(
                file,
                line,
                format!(
                    "malformed requirement ID `{id}`: it does not match the ID pattern `{}`",
                    self.pattern.as_str()
                ),
            ))
        } else if !self.known.contains(id) {
            Some(Diagnostic::error(
                file,
                line,
                format!("unknown requirement ID {id}: no spec defines it"),
            ))
        } else {
            None
        }
    }

    /// Classifies a Gherkin tag (without its `@`).
    pub(crate) fn classify_tag(&self, tag: &str) -> TagClass {
        if self.pattern.is_id(tag) {
            return TagClass::Id;
        }
        let upper = tag.to_ascii_uppercase();
        let looks_like_id = self.prefixes.iter().any(|prefix| {
            upper.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                prefix.ends_with(|c: char| !c.is_ascii_alphanumeric())
                    || rest.starts_with(|c: char| c.is_ascii_digit())
            })
        });
        if looks_like_id {
            TagClass::Malformed
        } else {
            TagClass::Other
        }
    }

    /// The ID pattern as configured.
    pub(crate) fn pattern(&self) -> &str {
        self.pattern.as_str()
    }
}

/// `ORCH-2002` → `ORCH-`, `OC-ADAPT-5001` → `OC-ADAPT-`; an ID without a trailing number keeps
/// everything up to its last `-`.
fn prefix_of(id: &str) -> Option<String> {
    let stripped = id.trim_end_matches(|c: char| c.is_ascii_digit());
    let prefix = if stripped.len() < id.len() {
        stripped
    } else {
        &id[..id.rfind('-')? + 1]
    };
    (!prefix.is_empty()).then(|| prefix.to_ascii_uppercase())
}

/// Sorts IDs in natural order (`ORCH-999` before `ORCH-1000`) and drops repeats.
pub(crate) fn sort_ids(ids: &mut Vec<String>) {
    ids.sort_by(|a, b| crate::id::natural_cmp(a, b));
    ids.dedup();
}

/// Runs `f` with the rules the scanner's unit tests share: pattern `REQ-[0-9]{3}`, and
/// `REQ-001` … `REQ-009` defined.
#[cfg(test)]
pub(crate) fn with_fixture_rules<T>(f: impl FnOnce(&IdRules<'_>) -> T) -> T {
    #[allow(clippy::unwrap_used, reason = "a literal pattern")]
    let pattern = IdPattern::new("REQ-[0-9]{3}").unwrap();
    let known: BTreeSet<String> = (1..=9).map(|n| format!("REQ-00{n}")).collect();
    f(&IdRules::new(&pattern, &known))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn check_names_malformed_and_unknown_ids() {
        let pattern = IdPattern::new("ORCH-[0-9]{4}").unwrap();
        let known = known(&["ORCH-2002"]);
        let rules = IdRules::new(&pattern, &known);
        assert!(rules.check("ORCH-2002", "a.rs", 3).is_none());
        assert_eq!(
            rules.check("ORCH-9999", "a.rs", 3).unwrap().to_string(),
            "a.rs:3: error: unknown requirement ID ORCH-9999: no spec defines it"
        );
        assert_eq!(
            rules.check("ORCH-12", "a.rs", 4).unwrap().to_string(),
            "a.rs:4: error: malformed requirement ID `ORCH-12`: it does not match the ID pattern `ORCH-[0-9]{4}`"
        );
    }

    #[test]
    fn tags_that_look_like_ids_are_malformed_and_others_are_ignored() {
        let pattern = IdPattern::new("(ORCH|OC-[A-Z]+)-[0-9]{4}").unwrap();
        let known = known(&["ORCH-2002", "OC-ADAPT-5001"]);
        let rules = IdRules::new(&pattern, &known);
        for id in ["ORCH-2002", "ORCH-9999", "OC-CORE-1234"] {
            assert_eq!(rules.classify_tag(id), TagClass::Id, "{id}");
        }
        for bad in ["ORCH-12", "orch-2002", "ORCH-2002a", "OC-ADAPT-50", "ORCH-"] {
            assert_eq!(rules.classify_tag(bad), TagClass::Malformed, "{bad}");
        }
        for other in ["wip", "slow", "ORCHESTRA", "JIRA-123", "OC-1234"] {
            assert_eq!(rules.classify_tag(other), TagClass::Other, "{other}");
        }
    }

    #[test]
    fn the_pattern_literal_is_a_prefix_even_without_known_ids() {
        let pattern = IdPattern::new("REQ-[0-9]{3}").unwrap();
        let none = BTreeSet::new();
        let rules = IdRules::new(&pattern, &none);
        assert_eq!(rules.classify_tag("REQ-1"), TagClass::Malformed);
        assert_eq!(rules.classify_tag("REQUEST"), TagClass::Other);
        let bare = IdPattern::new("REQ[0-9]{3}").unwrap();
        let rules = IdRules::new(&bare, &none);
        assert_eq!(rules.classify_tag("REQ12"), TagClass::Malformed);
        assert_eq!(rules.classify_tag("REQUEST"), TagClass::Other);
        let optional = IdPattern::new("X?[0-9]{3}").unwrap();
        let rules = IdRules::new(&optional, &none);
        assert_eq!(rules.classify_tag("Xylophone"), TagClass::Other);
    }

    #[test]
    fn ids_sort_naturally_without_repeats() {
        let mut ids = vec![
            "ORCH-1000".to_owned(),
            "ORCH-999".to_owned(),
            "ORCH-1000".to_owned(),
        ];
        sort_ids(&mut ids);
        assert_eq!(ids, ["ORCH-999", "ORCH-1000"]);
    }
}
