//! One Gherkin feature file → one [`DeclaredEvidence`] per Scenario and Scenario Outline,
//! parsed with the `gherkin` crate (the parser cucumber uses).
//!
//! A scenario's IDs are the ID tags among its effective tags, inherited Feature → Rule →
//! Scenario → Examples ([`crate::bdd`], the rules a cucumber recorder applies too); `test` is
//! its [`crate::bdd::scenario_label`] and `line` the line of its Scenario keyword. This module
//! owns the checks: tags that are not IDs (`@wip`) are ignored; a tag that looks like one of
//! this project's IDs but does not match the pattern (`@ORCH-12`) is an error, reported once at
//! the tag's own line. Scenarios without any ID tag are listed too (with no IDs), so that a
//! report can show untraced scenarios.

use gherkin::{Feature, GherkinEnv, Rule, Scenario};

use super::ids::{IdRules, TagClass, sort_ids};
use super::{DeclaredEvidence, FileScan};
use crate::bdd::{effective_tags, scenario_label};
use crate::diag::Diagnostic;
use crate::evidence::EvidenceKind;
use crate::lines::LineIndex;

/// Scans one feature file.
pub(crate) fn scan_feature(file: &str, source: &str, rules: &IdRules<'_>) -> FileScan {
    let mut out = FileScan::default();
    let feature = match Feature::parse(source, GherkinEnv::default()) {
        Ok(feature) => feature,
        Err(e) => {
            let (line, message) = parse_error(&e.to_string());
            out.diagnostics.push(Diagnostic::error(file, line, message));
            return out;
        }
    };
    let mut scanner = Scanner {
        file,
        rules,
        lines: LineIndex::new(source),
        source,
        out: &mut out,
    };
    // Each element's tags are checked once, at their own lines; the scenarios then take their
    // IDs from the inherited tags.
    scanner.check_tags(&feature.tags, feature.span.start);
    for scenario in &feature.scenarios {
        scanner.scenario(&feature, None, scenario);
    }
    for rule in &feature.rules {
        scanner.check_tags(&rule.tags, rule.span.start);
        for scenario in &rule.scenarios {
            scanner.scenario(&feature, Some(rule), scenario);
        }
    }
    out
}

struct Scanner<'a, 'r> {
    file: &'a str,
    rules: &'a IdRules<'r>,
    lines: LineIndex,
    source: &'a str,
    out: &'a mut FileScan,
}

impl Scanner<'_, '_> {
    fn scenario(&mut self, feature: &Feature, rule: Option<&Rule>, scenario: &Scenario) {
        self.check_tags(&scenario.tags, scenario.span.start);
        for examples in &scenario.examples {
            self.check_tags(&examples.tags, examples.span.start);
        }
        let mut ids: Vec<String> = effective_tags(feature, rule, scenario)
            .filter(|tag| self.rules.classify_tag(tag) == TagClass::Id)
            .map(str::to_owned)
            .collect();
        sort_ids(&mut ids);
        self.out.evidence.push(DeclaredEvidence {
            ids,
            test: scenario_label(feature, scenario),
            file: self.file.to_owned(),
            line: self.lines.line_u32(scenario.span.start),
            end_line: self.last_line(scenario),
            kind: EvidenceKind::Bdd,
        });
    }

    /// The last line of a scenario's own text: its span runs up to the next element, whose
    /// tags and comments, and the blank lines before them, are not the scenario's.
    fn last_line(&self, scenario: &Scenario) -> u32 {
        let first = self.lines.line_u32(scenario.span.start);
        let mut last = self
            .lines
            .line_u32(scenario.span.end.saturating_sub(1))
            .max(first);
        while last > first {
            let text = self.lines.text(self.source, last as usize).trim();
            if !(text.is_empty() || text.starts_with('@') || text.starts_with('#')) {
                break;
            }
            last -= 1;
        }
        last
    }

    /// Checks the tags of the element whose keyword starts at byte `keyword`, once (not again
    /// for every scenario that inherits them).
    fn check_tags(&mut self, tags: &[String], keyword: usize) {
        for tag in tags {
            match self.rules.classify_tag(tag) {
                TagClass::Other => {}
                TagClass::Id => {
                    let line = self.tag_line(tag, keyword);
                    if let Some(error) = self.rules.check(tag, self.file, line) {
                        self.out.diagnostics.push(error);
                    }
                }
                TagClass::Malformed => {
                    let line = self.tag_line(tag, keyword);
                    self.out.diagnostics.push(Diagnostic::error(
                        self.file,
                        Some(line as usize),
                        format!(
                            "malformed requirement ID tag `@{tag}`: it does not match the ID pattern `{}`",
                            self.rules.pattern()
                        ),
                    ));
                }
            }
        }
    }

    /// The parser does not locate tags: they sit on the lines just above their element's
    /// keyword (between tags only comments and blank lines may appear), so look there; fall
    /// back to the keyword's line.
    fn tag_line(&self, tag: &str, keyword: usize) -> u32 {
        let keyword_line = self.lines.line_u32(keyword);
        let wanted = format!("@{tag}");
        let mut line = keyword_line;
        while line > 1 {
            line -= 1;
            let text = self.lines.text(self.source, line as usize).trim();
            if text.split_whitespace().any(|word| word == wanted) {
                return line;
            }
            if !(text.is_empty() || text.starts_with('@') || text.starts_with('#')) {
                break;
            }
        }
        keyword_line
    }
}

/// The gherkin crate's error reads `Error at LINE:COL: {tokens}`, the tokens in hash-set
/// order and mostly internal to its grammar (`"_"`, `"no match"`). Keep the position and the
/// tokens that are words meant for people (`unknown keyword`, `inconsistent table row sizes`),
/// sorted, so the message is useful and the same on every run.
fn parse_error(text: &str) -> (Option<usize>, String) {
    let Some(rest) = text.strip_prefix("Error at ") else {
        return (None, format!("cannot parse Gherkin: {text}"));
    };
    let (position, expected) = rest.split_once(": ").unwrap_or((rest, ""));
    let mut parts = position.split(':');
    let line = parts.next().and_then(|l| l.parse::<usize>().ok());
    let column = parts.next().unwrap_or("?");
    let inner = expected
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}');
    let mut words: Vec<&str> = inner
        .split(", ")
        .filter_map(|token| token.strip_prefix('"')?.strip_suffix('"'))
        .filter(|token| {
            token.starts_with(|c: char| c.is_ascii_lowercase())
                && token.chars().all(|c| c.is_ascii_lowercase() || c == ' ')
                && !matches!(*token, "no match" | "success" | "fatal error")
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    let mut message = format!("cannot parse Gherkin at column {column}");
    if !words.is_empty() {
        message.push_str(": ");
        message.push_str(&words.join(", "));
    }
    (line, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ids::with_fixture_rules;

    fn scan(source: &str) -> FileScan {
        with_fixture_rules(|rules| scan_feature("features/queue.feature", source, rules))
    }

    fn messages(scan: &FileScan) -> Vec<String> {
        scan.diagnostics.iter().map(ToString::to_string).collect()
    }

    const FEATURE: &str = "\
# A comment
@REQ-001 @wip
Feature: Admission queue

  Background:
    Given a pool

  @REQ-002
  Scenario: Full queue rejects
    When I enqueue
    Then I get 429

  Scenario: Untraced
    Then nothing

  @REQ-003
  Rule: Priorities

    @slow
    Scenario Outline: Interactive first
      When <n> tasks
      Then interactive runs first

      @REQ-004
      Examples: small
        | n |
        | 1 |

      # a comment between tags
      @REQ-005
      @REQ-004
      Examples: large
        | n |
        | 9 |

    Scenario: Inherits the rule
      Then fine
";

    #[test]
    fn scenarios_inherit_tags_and_outlines_union_their_examples() {
        let out = scan(FEATURE);
        assert_eq!(messages(&out), Vec::<String>::new());
        let found: Vec<_> = out
            .evidence
            .iter()
            .map(|e| (e.line, e.test.as_str(), e.ids.join(" "), e.kind))
            .collect();
        assert_eq!(
            found,
            [
                (
                    9,
                    "Admission queue: Full queue rejects",
                    "REQ-001 REQ-002".to_owned(),
                    EvidenceKind::Bdd
                ),
                (
                    13,
                    "Admission queue: Untraced",
                    "REQ-001".to_owned(),
                    EvidenceKind::Bdd
                ),
                (
                    20,
                    "Admission queue: Interactive first",
                    "REQ-001 REQ-003 REQ-004 REQ-005".to_owned(),
                    EvidenceKind::Bdd
                ),
                (
                    36,
                    "Admission queue: Inherits the rule",
                    "REQ-001 REQ-003".to_owned(),
                    EvidenceKind::Bdd
                ),
            ]
        );
    }

    #[test]
    fn unknown_and_malformed_tags_are_errors_at_the_tag_line() {
        let source = "@REQ-999\nFeature: F\n\n  @req-1 @ok\n  # note\n  @REQ-12\n  Scenario: S\n    Then x\n";
        let out = scan(source);
        assert_eq!(
            messages(&out),
            [
                "features/queue.feature:1: error: unknown requirement ID REQ-999: no spec defines it",
                "features/queue.feature:4: error: malformed requirement ID tag `@req-1`: it does not match the ID pattern `REQ-[0-9]{3}`",
                "features/queue.feature:6: error: malformed requirement ID tag `@REQ-12`: it does not match the ID pattern `REQ-[0-9]{3}`",
            ]
        );
    }

    #[test]
    fn a_feature_without_ids_gives_scenarios_without_ids() {
        let out = scan("Feature: F\n  Scenario: S\n    Then x");
        assert_eq!(out.evidence.len(), 1);
        assert!(out.evidence[0].ids.is_empty());
        assert_eq!(out.evidence[0].line, 2);
    }

    #[test]
    fn unparsable_files_are_errors_with_a_line_and_a_stable_message() {
        let source = "Feature: F\n  Scenario: S\n    Then x\n  Nonsense here\n";
        let first = messages(&scan(source));
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(
            first[0].starts_with("features/queue.feature:5: error: cannot parse Gherkin at column"),
            "{first:?}"
        );
        for _ in 0..8 {
            assert_eq!(messages(&scan(source)), first);
        }
        assert_eq!(
            messages(&scan(
                "Feature: F\n  Scenario: S\n    Given a\n      | a | b |\n      | c |\n"
            )),
            [
                "features/queue.feature:6: error: cannot parse Gherkin at column 1: inconsistent table row sizes"
            ]
        );
        assert_eq!(
            messages(&scan("Scenario: no feature\n")),
            ["features/queue.feature:1: error: cannot parse Gherkin at column 14: unknown keyword"]
        );
        let empty = messages(&scan(""));
        assert!(empty[0].contains("cannot parse Gherkin"), "{empty:?}");
    }

    #[test]
    fn error_text_is_split_into_line_and_sorted_tokens() {
        assert_eq!(
            parse_error(
                r#"Error at 4:3: {"_", "unknown keyword", "\"@\"", "inconsistent table row sizes", "no match"}"#
            ),
            (
                Some(4),
                "cannot parse Gherkin at column 3: inconsistent table row sizes, unknown keyword"
                    .to_owned()
            )
        );
        assert_eq!(
            parse_error("odd"),
            (None, "cannot parse Gherkin: odd".to_owned())
        );
    }
}
