//! One JUnit XML report → its test cases, each a declared evidence item of kind `junit` and,
//! unless it was skipped, the record of its run: a JUnit file is both the declaration and the
//! run. Every test runner writes this format (pytest `--junitxml`, jest-junit, cargo-nextest,
//! Maven Surefire, go-junit-report), so any suite can feed spectrace.
//!
//! Parsed with quick-xml, streaming. Owns the rules:
//!
//! - **IDs.** A `<testcase>` names requirements through a `<property>` named `requirement` or
//!   `requirements` (one ID or a comma-separated list, in its `value` attribute or its text) —
//!   its own or one of an enclosing `<testsuite>`'s, inherited downward — or through IDs in
//!   square brackets in its `name` (`test_refill[REQ-0003]`, also `[REQ-0001, REQ-0002]`). A
//!   property value that is not an ID, or a bracketed word that looks like one of this
//!   project's IDs but does not match the pattern, is an error; so is an ID no spec defines.
//!   Bracketed words that look like no ID (`test_add[1-2]`) are parameters, not errors.
//! - **Outcome.** No `<failure>`, `<error>`, `<skipped>` or `<flakyFailure>`: passed.
//!   `<failure>` or `<error>`: failed, with the element's `message` (else its first line of
//!   text, else its `type`) as the message. `<flakyFailure>`/`<flakyError>` (cargo-nextest's retries): failed,
//!   `flaky: passed on retry after N failure(s)` — a test that needs a retry proves nothing.
//!   `<skipped>`: did not run (declared, no record).
//! - **Key.** The report's path, the line of the `<testcase>` start tag and the case's label
//!   ([`crate::evidence::EvidenceKey`]); the label, `test`, is `<classname>: <name>` (just
//!   `<name>` when there is no class name or it equals the name).
//! - **Only cases that name a requirement count.** A report usually holds a whole suite; its
//!   other cases trace to nothing and are neither declared nor recorded.
//!
//! Malformed XML (mismatched or unclosed tags, bad escapes) is an error naming `file:line`.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use super::ids::{IdRules, TagClass, sort_ids};
use super::{DeclaredEvidence, FileScan};
use crate::diag::Diagnostic;
use crate::evidence::{EvidenceKind, EvidenceRecord, Outcome};
use crate::lines::LineIndex;

/// How one test case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaseOutcome {
    /// It passed.
    Passed,
    /// It failed or errored; the message.
    Failed(String),
    /// It was skipped: declared, did not run.
    Skipped,
}

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Case {
    /// Its requirement IDs, sorted, without repeats.
    pub(crate) ids: Vec<String>,
    /// `<classname>: <name>`.
    pub(crate) test: String,
    /// Line of its start tag.
    pub(crate) line: u32,
    /// How it ended.
    pub(crate) outcome: CaseOutcome,
}

/// A parsed report.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Every test case, in document order.
    pub(crate) cases: Vec<Case>,
    /// Errors (malformed XML, bad IDs), each naming `file:line`.
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// The scan's view of a report: one declared item per test case that names a requirement.
pub(crate) fn scan_junit(file: &str, source: &str, rules: &IdRules<'_>) -> FileScan {
    let report = parse(file, source, rules);
    FileScan {
        evidence: report
            .cases
            .iter()
            .filter(|case| !case.ids.is_empty())
            .map(|case| DeclaredEvidence {
                ids: case.ids.clone(),
                test: case.test.clone(),
                file: file.to_owned(),
                line: case.line,
                end_line: case.line,
                kind: EvidenceKind::Junit,
            })
            .collect(),
        diagnostics: report.diagnostics,
        ..FileScan::default()
    }
}

/// The records of the report's runs: one per test case that names a requirement and was not
/// skipped.
pub(crate) fn records(file: &str, report: &Report) -> Vec<EvidenceRecord> {
    report
        .cases
        .iter()
        .filter(|case| !case.ids.is_empty())
        .filter_map(|case| {
            let (outcome, message) = match &case.outcome {
                CaseOutcome::Passed => (Outcome::Passed, None),
                CaseOutcome::Failed(message) => (Outcome::Failed, Some(message.clone())),
                CaseOutcome::Skipped => return None,
            };
            Some(EvidenceRecord {
                ids: case.ids.clone(),
                test: case.test.clone(),
                file: file.to_owned(),
                line: case.line,
                kind: EvidenceKind::Junit,
                outcome,
                message,
                shard: None,
            })
        })
        .collect()
}

/// An open element that matters.
#[derive(Debug)]
enum Open {
    /// A `<testsuite>` and the IDs its properties name.
    Suite { ids: Vec<String> },
    /// A `<testcase>` being read.
    Case(CaseBuilder),
    /// A `<property>` whose value is its text, and the line it starts on.
    Property {
        name: String,
        line: u32,
        text: String,
    },
    /// A `<failure>`, `<error>`, `<flakyFailure>`, `<flakyError>` or `<skipped>` whose text
    /// may become the message.
    Result { text: String },
    /// Anything else.
    Other,
}

#[derive(Debug)]
struct CaseBuilder {
    test: String,
    name: String,
    line: u32,
    ids: Vec<String>,
    failure: Option<Failure>,
    flaky: usize,
    skipped: bool,
}

#[derive(Debug)]
struct Failure {
    /// The `message` attribute, when it has one.
    message: Option<String>,
    /// The `type` attribute, when it has one.
    kind: Option<String>,
    /// Its text, once read.
    text: String,
}

/// Parses one report; `file` names it in diagnostics.
pub(crate) fn parse(file: &str, source: &str, rules: &IdRules<'_>) -> Report {
    let mut parser = Parser {
        file,
        rules,
        lines: LineIndex::new(source),
        report: Report::default(),
        open: Vec::new(),
    };
    if let Err(error) = parser.run(source) {
        parser.report.diagnostics.push(error);
        parser.report.cases.clear();
    }
    parser.report
}

struct Parser<'a, 'r> {
    file: &'a str,
    rules: &'a IdRules<'r>,
    lines: LineIndex,
    report: Report,
    open: Vec<(String, Open)>,
}

impl Parser<'_, '_> {
    fn run(&mut self, source: &str) -> Result<(), Diagnostic> {
        let mut reader = Reader::from_str(source);
        reader.config_mut().check_end_names = true;
        loop {
            let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            let event = reader.read_event().map_err(|e| {
                let at = usize::try_from(reader.error_position()).unwrap_or(start);
                self.error(at, format!("malformed XML: {e}"))
            })?;
            match event {
                Event::Start(tag) => {
                    let line = self.line_at(source, start);
                    let element = self.open_element(&tag, line)?;
                    self.open.push((name_of(&tag), element));
                }
                Event::Empty(tag) => {
                    let line = self.line_at(source, start);
                    let element = self.open_element(&tag, line)?;
                    self.close(element);
                }
                Event::End(_) => {
                    if let Some((_, element)) = self.open.pop() {
                        self.close(element);
                    }
                }
                Event::Text(text) => {
                    let text = text
                        .xml_content()
                        .map_err(|e| self.error(start, format!("malformed XML: {e}")))?;
                    self.text(&text);
                }
                Event::CData(data) => {
                    let text = data
                        .xml_content()
                        .map_err(|e| self.error(start, format!("malformed XML: {e}")))?;
                    self.text(&text);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = reference
                                .decode()
                                .map_err(|e| self.error(start, format!("malformed XML: {e}")))?;
                            resolve_predefined_entity(&name)
                                .ok_or_else(|| {
                                    self.error(
                                        start,
                                        format!("malformed XML: unknown entity `&{name};`"),
                                    )
                                })?
                                .to_owned()
                        }
                        Err(e) => return Err(self.error(start, format!("malformed XML: {e}"))),
                    };
                    self.text(&resolved);
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if let Some((name, _)) = self.open.last() {
            return Err(self.error(
                source.len(),
                format!("malformed XML: the file ends inside <{name}>"),
            ));
        }
        Ok(())
    }

    fn line_at(&self, source: &str, offset: usize) -> u32 {
        // `buffer_position` before an event can sit on whitespace before its `<`.
        let skipped = source
            .get(offset..)
            .map_or(0, |rest| rest.len() - rest.trim_start().len());
        self.lines.line_u32(offset + skipped)
    }

    fn error(&self, offset: usize, message: String) -> Diagnostic {
        Diagnostic::error(self.file, Some(self.lines.line(offset)), message)
    }

    fn attribute(&self, tag: &BytesStart<'_>, name: &str) -> Result<Option<String>, Diagnostic> {
        match tag.try_get_attribute(name) {
            Ok(Some(attribute)) => attribute
                .unescape_value()
                .map(|v| Some(v.into_owned()))
                .map_err(|e| Diagnostic::error(self.file, None, format!("malformed XML: {e}"))),
            Ok(None) => Ok(None),
            Err(e) => Err(Diagnostic::error(
                self.file,
                None,
                format!("malformed XML: {e}"),
            )),
        }
    }

    fn open_element(&mut self, tag: &BytesStart<'_>, line: u32) -> Result<Open, Diagnostic> {
        let located = |e: Diagnostic| Diagnostic::error(e.file, Some(line as usize), e.message);
        Ok(match name_of(tag).as_str() {
            "testsuite" => Open::Suite {
                ids: self.inherited_ids(),
            },
            "testcase" => {
                let name = self.attribute(tag, "name").map_err(located)?;
                let classname = self.attribute(tag, "classname").map_err(located)?;
                let name = name.unwrap_or_default();
                // jest-junit writes the test's full title as both.
                let test = match classname.filter(|c| !c.is_empty() && *c != name) {
                    Some(class) => format!("{class}: {name}"),
                    None => name.clone(),
                };
                let mut ids = self.inherited_ids();
                ids.extend(self.bracketed_ids(&name, line));
                Open::Case(CaseBuilder {
                    test,
                    name,
                    line,
                    ids,
                    failure: None,
                    flaky: 0,
                    skipped: false,
                })
            }
            "property" => {
                let name = self.attribute(tag, "name").map_err(located)?;
                let value = self.attribute(tag, "value").map_err(located)?;
                let name = name.unwrap_or_default();
                match value {
                    Some(value) => {
                        self.property(&name, &value, line);
                        Open::Other
                    }
                    None => Open::Property {
                        name,
                        line,
                        text: String::new(),
                    },
                }
            }
            "failure" | "error" => {
                let message = self.attribute(tag, "message").map_err(located)?;
                let kind = self.attribute(tag, "type").map_err(located)?;
                if let Some(case) = self.case_mut() {
                    case.failure.get_or_insert(Failure {
                        message: message.filter(|m| !m.trim().is_empty()),
                        kind: kind.filter(|k| !k.trim().is_empty()),
                        text: String::new(),
                    });
                }
                Open::Result {
                    text: String::new(),
                }
            }
            "flakyFailure" | "flakyError" => {
                if let Some(case) = self.case_mut() {
                    case.flaky += 1;
                }
                Open::Result {
                    text: String::new(),
                }
            }
            "skipped" => {
                if let Some(case) = self.case_mut() {
                    case.skipped = true;
                }
                Open::Result {
                    text: String::new(),
                }
            }
            _ => Open::Other,
        })
    }

    fn case_mut(&mut self) -> Option<&mut CaseBuilder> {
        self.open.iter_mut().rev().find_map(|(_, open)| match open {
            Open::Case(case) => Some(case),
            _ => None,
        })
    }

    /// The IDs of the innermost enclosing `<testsuite>` (each suite starts from its parent's).
    fn inherited_ids(&self) -> Vec<String> {
        self.open
            .iter()
            .rev()
            .find_map(|(_, open)| match open {
                Open::Suite { ids } => Some(ids.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn text(&mut self, text: &str) {
        if let Some((_, Open::Property { text: value, .. } | Open::Result { text: value })) =
            self.open.last_mut()
        {
            value.push_str(text);
        }
    }

    /// A `<property>` of the enclosing case or suite.
    fn property(&mut self, name: &str, value: &str, line: u32) {
        if !matches!(name, "requirement" | "requirements") {
            return;
        }
        let mut ids = Vec::new();
        for id in value.split(',').map(str::trim).filter(|id| !id.is_empty()) {
            if let Some(error) = self.rules.check(id, self.file, line) {
                self.report.diagnostics.push(error);
            } else {
                ids.push(id.to_owned());
            }
        }
        if value.split(',').all(|id| id.trim().is_empty()) {
            self.report.diagnostics.push(Diagnostic::error(
                self.file,
                Some(line as usize),
                format!("property `{name}` names no requirement ID"),
            ));
        }
        // A property belongs to the nearest case or suite that encloses it.
        let owner = self
            .open
            .iter_mut()
            .rev()
            .find(|(_, open)| matches!(open, Open::Case(_) | Open::Suite { .. }));
        match owner {
            Some((_, Open::Case(case))) => case.ids.extend(ids),
            Some((_, Open::Suite { ids: suite })) => suite.extend(ids),
            _ => {}
        }
    }

    /// IDs in square brackets in a test's name.
    fn bracketed_ids(&mut self, name: &str, line: u32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut rest = name;
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            let Some(close) = after.find(']') else {
                break;
            };
            for word in after[..close]
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
            {
                match self.rules.classify_tag(word) {
                    TagClass::Id => match self.rules.check(word, self.file, line) {
                        Some(error) => self.report.diagnostics.push(error),
                        None => ids.push(word.to_owned()),
                    },
                    TagClass::Malformed => self.report.diagnostics.push(Diagnostic::error(
                        self.file,
                        Some(line as usize),
                        format!(
                            "malformed requirement ID `{word}` in the name of test `{name}`: it does not match the ID pattern `{}`",
                            self.rules.pattern()
                        ),
                    )),
                    TagClass::Other => {}
                }
            }
            rest = &after[close + 1..];
        }
        ids
    }

    fn close(&mut self, element: Open) {
        match element {
            Open::Case(case) => self.finish_case(case),
            Open::Property { name, line, text } => self.property(&name, &text, line),
            Open::Result { text } => {
                if let Some(failure) = self.case_mut().and_then(|c| c.failure.as_mut())
                    && failure.text.is_empty()
                {
                    failure.text = text;
                }
            }
            Open::Suite { .. } | Open::Other => {}
        }
    }

    fn finish_case(&mut self, case: CaseBuilder) {
        let CaseBuilder {
            test,
            name,
            line,
            mut ids,
            failure,
            flaky,
            skipped,
        } = case;
        sort_ids(&mut ids);
        let outcome = if let Some(failure) = failure {
            let message = failure
                .message
                .or_else(|| {
                    failure
                        .text
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .map(str::to_owned)
                })
                .or(failure.kind)
                .unwrap_or_else(|| format!("`{name}` failed"));
            CaseOutcome::Failed(message)
        } else if skipped {
            CaseOutcome::Skipped
        } else if flaky > 0 {
            CaseOutcome::Failed(format!(
                "flaky: passed on retry after {flaky} failure{}",
                if flaky == 1 { "" } else { "s" }
            ))
        } else {
            CaseOutcome::Passed
        };
        self.report.cases.push(Case {
            ids,
            test,
            line,
            outcome,
        });
    }
}

fn name_of(tag: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(tag.local_name().as_ref()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ids::with_fixture_rules;

    fn parsed(source: &str) -> Report {
        with_fixture_rules(|rules| parse("reports/run/junit.xml", source, rules))
    }

    fn messages(report: &Report) -> Vec<String> {
        report.diagnostics.iter().map(ToString::to_string).collect()
    }

    const REPORT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="pytest" tests="5">
    <properties>
      <property name="requirements" value="REQ-001"/>
    </properties>
    <testcase classname="tests.test_bucket" name="test_refill[REQ-002]" time="0.1"/>
    <testcase classname="tests.test_bucket" name="test_burst" time="0.1">
      <properties>
        <property name="requirement" value="REQ-003, REQ-004"/>
        <property name="owner" value="someone"/>
      </properties>
      <failure message="assert 3 == 4">tests/test_bucket.py:12: AssertionError
more &amp; more</failure>
    </testcase>
    <testcase classname="tests.test_bucket" name="test_slow"><skipped message="slow"/></testcase>
    <testcase name="test_add[1-2]"><error><![CDATA[
      Traceback: boom
    ]]></error></testcase>
    <testcase classname="x" name="retried"><flakyFailure message="first"/></testcase>
  </testsuite>
  <testsuite name="other">
    <testcase classname="y" name="plain"/>
  </testsuite>
</testsuites>
"#;

    #[test]
    fn cases_take_their_ids_outcomes_and_lines() {
        let report = parsed(REPORT);
        assert_eq!(messages(&report), Vec::<String>::new());
        let found: Vec<(u32, &str, String, &CaseOutcome)> = report
            .cases
            .iter()
            .map(|c| (c.line, c.test.as_str(), c.ids.join(" "), &c.outcome))
            .collect();
        assert_eq!(
            found,
            [
                (
                    7,
                    "tests.test_bucket: test_refill[REQ-002]",
                    "REQ-001 REQ-002".to_owned(),
                    &CaseOutcome::Passed
                ),
                (
                    8,
                    "tests.test_bucket: test_burst",
                    "REQ-001 REQ-003 REQ-004".to_owned(),
                    &CaseOutcome::Failed("assert 3 == 4".into())
                ),
                (
                    16,
                    "tests.test_bucket: test_slow",
                    "REQ-001".to_owned(),
                    &CaseOutcome::Skipped
                ),
                (
                    17,
                    "test_add[1-2]",
                    "REQ-001".to_owned(),
                    &CaseOutcome::Failed("Traceback: boom".into())
                ),
                (
                    20,
                    "x: retried",
                    "REQ-001".to_owned(),
                    &CaseOutcome::Failed("flaky: passed on retry after 1 failure".into())
                ),
                (23, "y: plain", String::new(), &CaseOutcome::Passed),
            ]
        );
        let records = records("reports/run/junit.xml", &report);
        // The skipped case did not run; the one that names no requirement is not evidence.
        assert_eq!(records.len(), 4);
        assert!(
            records
                .iter()
                .all(|r| !r.test.ends_with("test_slow") && !r.ids.is_empty())
        );
        assert_eq!(records[1].outcome, Outcome::Failed);
        assert_eq!(records[1].message.as_deref(), Some("assert 3 == 4"));
        assert!(records.iter().all(|r| r.kind == EvidenceKind::Junit));
    }

    #[test]
    fn a_failure_without_a_message_uses_its_first_line_of_text() {
        let report = parsed(
            "<testsuite><testcase name=\"t\"><failure>\n\n  first &lt;line&gt;\nsecond</failure></testcase></testsuite>",
        );
        assert_eq!(
            report.cases[0].outcome,
            CaseOutcome::Failed("first <line>".into())
        );
        let report = parsed("<testsuite><testcase name=\"t\"><failure/></testcase></testsuite>");
        assert_eq!(
            report.cases[0].outcome,
            CaseOutcome::Failed("`t` failed".into())
        );
        let report = parsed(
            "<testsuite><testcase name=\"t\" classname=\"t\"><failure type=\"exit code 101\"/></testcase></testsuite>",
        );
        assert_eq!(report.cases[0].test, "t");
        assert_eq!(
            report.cases[0].outcome,
            CaseOutcome::Failed("exit code 101".into())
        );
    }

    #[test]
    fn property_text_values_and_nested_suites_inherit() {
        let report = parsed(
            "<testsuites><testsuite><properties><property name=\"requirement\">REQ-001</property></properties>\
             <testsuite><testcase name=\"a\"/></testsuite></testsuite></testsuites>",
        );
        assert_eq!(messages(&report), Vec::<String>::new());
        assert_eq!(report.cases[0].ids, ["REQ-001"]);
    }

    #[test]
    fn unknown_and_malformed_ids_are_errors_at_their_line() {
        let report = parsed(
            "<testsuite>\n<testcase name=\"t[REQ-999]\"/>\n<testcase name=\"u[req-1]\"/>\n\
             <testcase name=\"v\"><properties>\n<property name=\"requirement\" value=\"nope\"/>\n\
             </properties></testcase>\n<testcase name=\"w\"><properties><property name=\"requirements\" value=\" , \"/></properties></testcase>\n</testsuite>",
        );
        assert_eq!(
            messages(&report),
            [
                "reports/run/junit.xml:2: error: unknown requirement ID REQ-999: no spec defines it",
                "reports/run/junit.xml:3: error: malformed requirement ID `req-1` in the name of test `u[req-1]`: it does not match the ID pattern `REQ-[0-9]{3}`",
                "reports/run/junit.xml:5: error: malformed requirement ID `nope`: it does not match the ID pattern `REQ-[0-9]{3}`",
                "reports/run/junit.xml:7: error: property `requirements` names no requirement ID",
            ]
        );
    }

    #[test]
    fn malformed_xml_is_one_error_with_a_line_and_no_cases() {
        for (source, line) in [
            ("<testsuite>\n<testcase name=\"a\">\n</testsuite>", 3),
            ("<testsuite>\n<testcase name=\"a\"/>\n", 3),
            ("<testsuite>\n<testcase name=\"a&bogus;\"/></testsuite>", 2),
            (
                "<testsuite><testcase name=\"a\">&nope;</testcase></testsuite>",
                1,
            ),
            ("not xml at all <", 1),
        ] {
            let report = parsed(source);
            assert!(report.cases.is_empty(), "{source}");
            let all = messages(&report);
            assert_eq!(all.len(), 1, "{source}: {all:?}");
            assert!(
                all[0].starts_with(&format!(
                    "reports/run/junit.xml:{line}: error: malformed XML"
                )),
                "{source}: {all:?}"
            );
        }
    }
}
