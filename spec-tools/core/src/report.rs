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
use crate::gate::{demand_for, reasons};
use crate::level::Level;
use crate::model::RequirementIndex;

/// The `COMPLIANCE.md` template.
pub const COMPLIANCE_TEMPLATE: &str = include_str!("../templates/compliance.md.j2");

/// Makes text safe inside one Markdown table cell: one line, pipes escaped.
pub fn table_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\\', "\\\\")
        .replace('|', "\\|")
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
struct SpecView {
    path: String,
    title: String,
    count: usize,
    sections: Vec<SectionView>,
}

#[derive(Serialize)]
struct SectionView {
    title: String,
    requirements: Vec<RequirementView>,
}

#[derive(Serialize)]
struct RequirementView {
    id: String,
    spec: String,
    anchor: String,
    level: &'static str,
    title: String,
    status: Status,
    status_icon: &'static str,
    /// `7/9`, `stale`, or `—` when not measured.
    strength: String,
    evidence: Vec<EvidenceView>,
    implementations: Vec<ImplementationView>,
}

#[derive(Serialize)]
struct ImplementationView {
    item: String,
    file: String,
    line: u32,
}

#[derive(Serialize)]
struct EvidenceView {
    icon: &'static str,
    name: String,
    file: String,
    line: u32,
    kind: String,
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
fn evidence_name(test: &str, kind: EvidenceKind) -> String {
    let short = match kind {
        EvidenceKind::Bdd | EvidenceKind::Junit => test.split_once(": ").map(|(_, name)| name),
        _ => test.rsplit_once("::").map(|(_, name)| name),
    };
    short.unwrap_or(test).to_owned()
}

/// A requirement's strength as the reports write it: `7/9`, `stale` once its code or evidence
/// changed since the measurement, `0/0 waived` when a waiver says why none of its mutants can
/// be judged, `—` when never measured.
pub fn strength_label(strength: Option<&crate::compliance::Strength>) -> String {
    match strength {
        None => "—".to_owned(),
        Some(s) if s.stale => "stale".to_owned(),
        Some(s) if s.unjudged_waiver.is_some() => format!("{} waived", s.fraction()),
        Some(s) => s.fraction(),
    }
}

fn requirement_view(r: &RequirementStatus) -> RequirementView {
    RequirementView {
        id: r.id.clone(),
        spec: r.spec.clone(),
        anchor: r.anchor.clone(),
        level: r.level.label(),
        title: r.title.clone(),
        status: r.status,
        status_icon: r.status.icon(),
        strength: strength_label(r.strength.as_ref()),
        implementations: r
            .implementations
            .iter()
            .map(|l| ImplementationView {
                item: l.target.clone(),
                file: l.file.clone(),
                line: l.line,
            })
            .collect(),
        evidence: r
            .evidence
            .iter()
            .map(|e| EvidenceView {
                icon: match e.outcome {
                    RunOutcome::Passed => "",
                    RunOutcome::Failed => "❌ ",
                    RunOutcome::NotRun => "⚠️ ",
                },
                name: evidence_name(&e.test, e.kind),
                file: e.file.clone(),
                line: e.line,
                kind: e.kind.as_str().to_owned(),
            })
            .collect(),
    }
}

/// Specs in index order, each with its sections in the order they appear.
fn spec_views(index: &RequirementIndex, model: &ComplianceModel) -> Vec<SpecView> {
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
            let mut sections: Vec<SectionView> = Vec::new();
            for r in &requirements {
                match sections.last_mut() {
                    Some(last) if last.title == r.section => {
                        last.requirements.push(requirement_view(r));
                    }
                    _ => sections.push(SectionView {
                        title: r.section.clone(),
                        requirements: vec![requirement_view(r)],
                    }),
                }
            }
            SpecView {
                path: spec.path.clone(),
                title: spec.title.clone(),
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
    let text = template
        .render(context! {
            statuses => Value::from(Serde(
                Status::ALL
                    .iter()
                    .map(|&s| StatusHeader { name: s.as_str(), icon: s.icon() })
                    .collect::<Vec<_>>()
            )),
            totals => Value::from(Serde(total_rows(model))),
            specs => Value::from(Serde(spec_views(index, model))),
            prefix => prefix,
        })
        .map_err(|e| format!("cannot render COMPLIANCE.md: {e}"))?;
    Ok(format!("{}\n", text.trim_end()))
}

/// `compliance.json`: the model, pretty-printed, with a final newline.
pub fn compliance_json(model: &ComplianceModel) -> Result<String, String> {
    serde_json::to_string_pretty(model)
        .map(|text| format!("{text}\n"))
        .map_err(|e| format!("cannot serialize the compliance model: {e}"))
}

/// The JSON Schema of `compliance.json`.
pub fn compliance_schema() -> Result<String, String> {
    let schema = schemars::schema_for!(ComplianceModel);
    serde_json::to_string_pretty(&schema)
        .map(|text| format!("{text}\n"))
        .map_err(|e| format!("cannot serialize the schema: {e}"))
}

/// Escapes text for XML attributes and content.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `junit.xml`: one test suite per spec, one test case per requirement. A requirement that
/// falls short of the gate is a `<failure>`; one that meets it without being verified (the
/// gate does not ask) is `<skipped>`.
pub fn junit_xml(model: &ComplianceModel, policy: &GateConfig) -> String {
    let mut by_spec: BTreeMap<&str, Vec<&RequirementStatus>> = BTreeMap::new();
    for r in &model.requirements {
        by_spec.entry(r.spec.as_str()).or_default().push(r);
    }
    let failed = |r: &RequirementStatus| !reasons(r, policy).is_empty();
    let skipped = |r: &RequirementStatus| !failed(r) && r.status != Status::Verified;
    let count = |rs: &[&RequirementStatus], f: &dyn Fn(&RequirementStatus) -> bool| {
        rs.iter().filter(|r| f(r)).count()
    };
    let all: Vec<&RequirementStatus> = model.requirements.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"spectrace\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
        all.len(),
        count(&all, &failed),
        count(&all, &skipped)
    ));
    for (spec, requirements) in &by_spec {
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
            xml(spec),
            requirements.len(),
            count(requirements, &failed),
            count(requirements, &skipped)
        ));
        for r in requirements {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{} {}\" file=\"{}\" line=\"{}\"",
                xml(&format!("{spec} § {}", r.section)),
                xml(&r.id),
                xml(&r.title),
                xml(spec),
                r.line
            ));
            let detail = case_detail(r);
            let short = reasons(r, policy);
            if let Some(first) = short.first() {
                let demand = demand_for(policy, r.level);
                let why: Vec<String> = short.iter().map(|w| w.describe(r.status, demand)).collect();
                out.push_str(&format!(
                    ">\n      <failure message=\"{} {} {}\">{}</failure>\n    </testcase>\n",
                    r.level.label(),
                    xml(&r.id),
                    xml(&first.describe(r.status, demand)),
                    xml(&if why.len() > 1 {
                        format!("{}\n{detail}", why.join("\n"))
                    } else {
                        detail
                    })
                ));
            } else if skipped(r) {
                out.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml(&format!("{}: {detail}", r.status))
                ));
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
