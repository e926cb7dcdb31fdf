//! The reports of one run, rendered from the compliance model: `COMPLIANCE.md`
//! (minijinja, template `templates/compliance.md.j2` compiled in), `compliance.json` and
//! `junit.xml` (one test case per requirement). Pure: text in, text out; every output is
//! deterministic (no timestamps, durations or absolute paths).

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::compliance::{ComplianceModel, RequirementStatus, RunOutcome, Status};
use crate::config::GateConfig;
use crate::evidence::EvidenceKind;
use crate::gate::{ShortReason, demand_for, reasons};
use crate::level::Level;
use crate::model::RequirementIndex;

/// The `COMPLIANCE.md` template.
pub const COMPLIANCE_TEMPLATE: &str = include_str!("../templates/compliance.md.j2");

/// Makes text safe inside one Markdown table cell: one line, pipes escaped.
pub fn table_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_cell(&mut out, text);
    out
}

/// Appends [`table_cell`] of `text` to `out`: words joined by one space, `\` and `|` escaped.
fn push_cell(out: &mut String, text: &str) {
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut rest = word;
        while let Some(at) = rest.find(['\\', '|']) {
            out.push_str(&rest[..at]);
            out.push('\\');
            out.push_str(&rest[at..=at]);
            rest = &rest[at + 1..];
        }
        out.push_str(rest);
    }
}

#[derive(Serialize)]
struct TotalRow {
    level: &'static str,
    /// One count per status, in the order of [`Status::ALL`].
    counts: Vec<usize>,
    total: usize,
}

#[derive(Serialize)]
struct StatusHeader {
    name: &'static str,
    icon: &'static str,
}

#[derive(Serialize)]
struct SpecView<'a> {
    path: &'a str,
    title: &'a str,
    count: usize,
    sections: Vec<SectionView<'a>>,
}

#[derive(Serialize)]
struct SectionView<'a> {
    title: &'a str,
    /// The section's table rows, one line each ([`push_row`]): thousands of rows are written
    /// by one Rust loop instead of one template loop iteration (and one filter call per cell)
    /// each; the template lays out everything around them.
    rows: String,
}

/// Totals per level (levels without requirements left out) and a last row over all levels.
fn total_rows(model: &ComplianceModel) -> Vec<TotalRow> {
    let count = |level: Option<Level>, status: Status| {
        model
            .totals
            .iter()
            .filter(|t| level.is_none_or(|l| t.level == l) && t.status == status)
            .map(|t| t.count)
            .sum::<usize>()
    };
    let row = |label: &'static str, level: Option<Level>| TotalRow {
        level: label,
        counts: Status::ALL.iter().map(|&s| count(level, s)).collect(),
        total: Status::ALL.iter().map(|&s| count(level, s)).sum(),
    };
    let mut rows: Vec<TotalRow> = Level::ALL
        .iter()
        .map(|&level| row(level.label(), Some(level)))
        .filter(|r| r.total > 0)
        .collect();
    rows.push(row("all", None));
    rows
}

/// A short name for an evidence item: a test function's name, a scenario's name without its
/// feature's, a JUnit test case's name without its class (the link names the file).
fn evidence_name(test: &str, kind: EvidenceKind) -> &str {
    let short = match kind {
        EvidenceKind::Bdd | EvidenceKind::Junit => test.split_once(": ").map(|(_, name)| name),
        _ => test.rsplit_once("::").map(|(_, name)| name),
    };
    short.unwrap_or(test)
}

/// A requirement's strength as the reports write it: `7/9`, `stale` once its code or evidence
/// changed since the measurement, `0/0 waived` when a waiver says why none of its mutants can
/// be judged, `—` when never measured.
pub fn strength_label(strength: Option<&crate::compliance::Strength>) -> String {
    let mut label = String::new();
    push_strength(&mut label, strength);
    label
}

/// Appends [`strength_label`] to `out`.
fn push_strength(out: &mut String, strength: Option<&crate::compliance::Strength>) {
    use std::fmt::Write as _;
    match strength {
        None => out.push('—'),
        Some(s) if s.stale => out.push_str("stale"),
        Some(s) => {
            // Writing into a `String` cannot fail.
            let _ = write!(out, "{}/{}", s.caught, s.judged());
            if s.unjudged_waiver.is_some() {
                out.push_str(" waived");
            }
        }
    }
}

/// Appends one row of a section's requirement table, with its final newline: ID (linked to
/// its section), level, title, status, strength, evidence and implementing items (each linked
/// to its `file#Lline`, `—` when there are none). `prefix` leads every repository path.
fn push_row(out: &mut String, r: &RequirementStatus, prefix: &str) {
    use std::fmt::Write as _;
    // Writing into a `String` cannot fail.
    let _ = write!(
        out,
        "| [{}]({prefix}{}#{}) | {} | ",
        r.id,
        r.spec,
        r.anchor,
        r.level.label()
    );
    push_cell(out, &r.title);
    let _ = write!(out, " | {} {} | ", r.status.icon(), r.status.as_str());
    push_strength(out, r.strength.as_ref());
    out.push_str(" | ");
    if r.evidence.is_empty() {
        out.push('—');
    }
    for (i, e) in r.evidence.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(match e.outcome {
            RunOutcome::Passed => "",
            RunOutcome::Failed => "❌ ",
            RunOutcome::NotRun => "⚠️ ",
        });
        out.push('[');
        push_cell(out, evidence_name(&e.test, e.kind));
        let _ = write!(out, "]({prefix}{}#L{}) {}", e.file, e.line, e.kind.as_str());
    }
    out.push_str(" | ");
    if r.implementations.is_empty() {
        out.push('—');
    }
    for (i, l) in r.implementations.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('[');
        push_cell(out, &l.target);
        let _ = write!(out, "]({prefix}{}#L{})", l.file, l.line);
    }
    out.push_str(" |\n");
}

/// Specs in index order, each with its sections in the order they appear.
fn spec_views<'a>(
    index: &'a RequirementIndex,
    model: &'a ComplianceModel,
    prefix: &str,
) -> Vec<SpecView<'a>> {
    let mut by_spec: BTreeMap<&str, Vec<&RequirementStatus>> = BTreeMap::new();
    for r in &model.requirements {
        by_spec.entry(r.spec.as_str()).or_default().push(r);
    }
    index
        .specs
        .iter()
        .map(|spec| {
            let mut requirements = by_spec.remove(spec.path.as_str()).unwrap_or_default();
            requirements.sort_by(|a, b| (a.line, &a.id).cmp(&(b.line, &b.id)));
            let mut sections: Vec<SectionView<'a>> = Vec::new();
            for r in &requirements {
                if sections.last().is_none_or(|last| last.title != r.section) {
                    sections.push(SectionView {
                        title: &r.section,
                        rows: String::new(),
                    });
                }
                if let Some(section) = sections.last_mut() {
                    push_row(&mut section.rows, r, prefix);
                }
            }
            SpecView {
                path: &spec.path,
                title: &spec.title,
                count: requirements.len(),
                sections,
            }
        })
        .collect()
}

/// `COMPLIANCE.md`. `prefix` is prepended to every repository path in links: `""` when the
/// file sits at the root, `"../"` one directory down, and so on.
pub fn compliance_markdown(
    index: &RequirementIndex,
    model: &ComplianceModel,
    prefix: &str,
) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("cell", |text: String| table_cell(&text));
    env.add_template("compliance.md", COMPLIANCE_TEMPLATE)
        .map_err(|e| format!("the COMPLIANCE.md template is invalid: {e}"))?;
    let template = env
        .get_template("compliance.md")
        .map_err(|e| e.to_string())?;
    let mut text = template
        .render(context! {
            statuses => Value::from(Serde(
                Status::ALL
                    .iter()
                    .map(|&s| StatusHeader { name: s.as_str(), icon: s.icon() })
                    .collect::<Vec<_>>()
            )),
            totals => Value::from(Serde(total_rows(model))),
            specs => Value::from(Serde(spec_views(index, model, prefix))),
            prefix => prefix,
        })
        .map_err(|e| format!("cannot render COMPLIANCE.md: {e}"))?;
    text.truncate(text.trim_end().len());
    text.push('\n');
    Ok(text)
}

/// `compliance.json`: the model, pretty-printed, with a final newline.
pub fn compliance_json(model: &ComplianceModel) -> Result<String, String> {
    // Written into one buffer sized for the model (about 500 bytes per requirement), so that
    // megabytes are not copied again each time a growing buffer doubles.
    let mut bytes = Vec::with_capacity(4096 + 768 * model.requirements.len());
    serde_json::to_writer_pretty(&mut bytes, model)
        .map_err(|e| format!("cannot serialize the compliance model: {e}"))?;
    bytes.push(b'\n');
    String::from_utf8(bytes).map_err(|e| format!("cannot serialize the compliance model: {e}"))
}

/// The JSON Schema of `compliance.json`.
pub fn compliance_schema() -> Result<String, String> {
    let schema = schemars::schema_for!(ComplianceModel);
    serde_json::to_string_pretty(&schema)
        .map(|text| format!("{text}\n"))
        .map_err(|e| format!("cannot serialize the schema: {e}"))
}

/// Appends `text` to `out` escaped for XML attributes and content.
fn push_xml(out: &mut String, text: &str) {
    // Everything that needs escaping is ASCII, so the text is copied in runs between such bytes.
    let needs_escape = |b: u8| {
        matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')
            || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    };
    let mut rest = text;
    while let Some(at) = rest.bytes().position(needs_escape) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            // Characters XML 1.0 cannot carry at all.
            _ => "\u{FFFD}",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// `junit.xml`: one test suite per spec, one test case per requirement. A requirement that
/// falls short of the gate is a `<failure>`; one that meets it without being verified (the
/// gate does not ask) is `<skipped>`.
pub fn junit_xml(model: &ComplianceModel, policy: &GateConfig) -> String {
    use std::fmt::Write as _;
    // Each requirement with why it falls short (empty when it meets the gate), grouped by spec.
    let mut by_spec: BTreeMap<&str, Vec<(&RequirementStatus, Vec<ShortReason>)>> = BTreeMap::new();
    for r in &model.requirements {
        by_spec
            .entry(r.spec.as_str())
            .or_default()
            .push((r, reasons(r, policy)));
    }
    let failed = |short: &[ShortReason]| !short.is_empty();
    let skipped = |r: &RequirementStatus, short: &[ShortReason]| {
        !failed(short) && r.status != Status::Verified
    };
    let count = |rs: &[(&RequirementStatus, Vec<ShortReason>)]| {
        let failures = rs.iter().filter(|(_, short)| failed(short)).count();
        let skips = rs.iter().filter(|(r, short)| skipped(r, short)).count();
        (failures, skips)
    };
    let (failures, skips) = by_spec
        .values()
        .map(|rs| count(rs))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut out = String::with_capacity(4096 + 384 * model.requirements.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // Writing into a `String` cannot fail.
    let _ = writeln!(
        out,
        "<testsuites name=\"spectrace\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skips}\">",
        model.requirements.len(),
    );
    for (spec, requirements) in &by_spec {
        let (failures, skips) = count(requirements);
        out.push_str("  <testsuite name=\"");
        push_xml(&mut out, spec);
        let _ = writeln!(
            out,
            "\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skips}\">",
            requirements.len(),
        );
        for (r, short) in requirements {
            out.push_str("    <testcase classname=\"");
            push_xml(&mut out, spec);
            out.push_str(" § ");
            push_xml(&mut out, &r.section);
            out.push_str("\" name=\"");
            push_xml(&mut out, &r.id);
            out.push(' ');
            push_xml(&mut out, &r.title);
            out.push_str("\" file=\"");
            push_xml(&mut out, spec);
            let _ = write!(out, "\" line=\"{}\"", r.line);
            if let Some(first) = short.first() {
                let demand = demand_for(policy, r.level);
                let _ = write!(out, ">\n      <failure message=\"{} ", r.level.label());
                push_xml(&mut out, &r.id);
                out.push(' ');
                push_xml(&mut out, &first.describe(r.status, demand));
                out.push_str("\">");
                if short.len() > 1 {
                    for why in short {
                        push_xml(&mut out, &why.describe(r.status, demand));
                        out.push('\n');
                    }
                }
                push_xml(&mut out, &case_detail(r));
                out.push_str("</failure>\n    </testcase>\n");
            } else if skipped(r, short) {
                out.push_str(">\n      <skipped message=\"");
                push_xml(&mut out, r.status.as_str());
                out.push_str(": ");
                push_xml(&mut out, &case_detail(r));
                out.push_str("\"/>\n    </testcase>\n");
            } else {
                out.push_str("/>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// What a test case says about a requirement that is not verified.
fn case_detail(r: &RequirementStatus) -> String {
    if r.status == Status::Suspect {
        return format!(
            "reworded since its evidence was reviewed (reviewed against fingerprint {}, now {}): \
             check the evidence against the new text, then run `spectrace review {}`",
            r.reviewed_fingerprint.as_deref().unwrap_or("?"),
            r.fingerprint,
            r.id
        );
    }
    if r.evidence.is_empty() {
        return "no evidence links to it".to_owned();
    }
    r.evidence
        .iter()
        .filter(|e| e.outcome != RunOutcome::Passed)
        .map(|e| {
            let what = match (&e.outcome, &e.message) {
                (RunOutcome::Failed, Some(message)) => format!("failed: {message}"),
                (RunOutcome::Failed, None) => "failed".to_owned(),
                _ => "did not run".to_owned(),
            };
            format!("{} ({}:{}) {what}", e.test, e.file, e.line)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
