//! The site's pages: one minijinja [`Environment`] holding the templates of `templates/site/`
//! (compiled in), the view of each page, and the stylesheet with one rule per status.
//!
//! Every template is HTML-escaped: the environment's auto-escape callback answers
//! [`AutoEscape::Html`] for every name, so escaping does not depend on how a template is named.
//! Markup built in Rust (the rendered spec, a requirement's block) is passed as
//! [`Value::from_safe_string`] and is escaped where it is built.

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use super::dashboard::Dashboard;
use super::markdown::escape_html;
use crate::compliance::{Link, RequirementStatus, Status, Strength};

/// The templates, by name.
pub const TEMPLATES: [(&str, &str); 4] = [
    (
        "base.html.j2",
        include_str!("../../templates/site/base.html.j2"),
    ),
    (
        "index.html.j2",
        include_str!("../../templates/site/index.html.j2"),
    ),
    (
        "spec.html.j2",
        include_str!("../../templates/site/spec.html.j2"),
    ),
    (
        "req-detail.html.j2",
        include_str!("../../templates/site/req-detail.html.j2"),
    ),
];

/// `assets/style.css` without the per-status rules.
pub const STYLE_CSS: &str = include_str!("../../assets/style.css");

/// `assets/app.js`: theme toggle, search and filters.
pub const APP_JS: &str = include_str!("../../assets/app.js");

/// The environment every page is rendered with.
pub(crate) fn environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // minijinja's HTML escaping also writes `/` as `&#x2f;`, which is valid but makes every
    // path in every page longer; escape the five characters that matter instead.
    env.set_formatter(|out, state, value| {
        if value.is_safe() || !matches!(state.auto_escape(), AutoEscape::Html) {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = match value.as_str() {
            Some(text) => std::borrow::Cow::Borrowed(text),
            None => std::borrow::Cow::Owned(value.to_string()),
        };
        out.write_str(&escape_html(&text))
            .map_err(minijinja::Error::from)
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("the site template {name} is invalid: {e}"))?;
    }
    Ok(env)
}

fn render(env: &Environment<'_>, name: &str, ctx: Value) -> Result<String, String> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("cannot render {name}: {e}"))
}

/// The stylesheet: the static part, then a rule per status (`.status-verified` …) for every
/// [`Status::ALL`], so a new status is styled (with `--c-other` until it has a colour).
pub(crate) fn stylesheet() -> String {
    let mut css = String::from(STYLE_CSS);
    css.push_str("/* One rule per status (generated from Status::ALL). */\n");
    for status in Status::ALL {
        let s = status.as_str();
        css.push_str(&format!(
            ".status-{s}{{--st:var(--c-{s},var(--c-other))}}\n"
        ));
    }
    css
}

/// A spec in the dashboard's list.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SpecLink {
    pub path: String,
    pub title: String,
    pub href: String,
    pub count: usize,
}

/// Counts per status, in [`Status::ALL`] order, for headers and bars.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusCount {
    pub status: &'static str,
    pub count: usize,
}

pub(crate) fn status_counts<'a>(
    requirements: impl IntoIterator<Item = &'a RequirementStatus>,
) -> Vec<StatusCount> {
    let mut counts = [0usize; Status::ALL.len()];
    for r in requirements {
        if let Some(i) = Status::ALL.iter().position(|&s| s == r.status) {
            counts[i] += 1;
        }
    }
    Status::ALL
        .iter()
        .zip(counts)
        .map(|(s, count)| StatusCount {
            status: s.as_str(),
            count,
        })
        .collect()
}

/// `spec/NAME.html`.
pub(crate) fn spec_page(
    env: &Environment<'_>,
    path: &str,
    title: &str,
    html: &str,
    requirements: &[&RequirementStatus],
) -> Result<String, String> {
    render(
        env,
        "spec.html.j2",
        context! {
            up => "../",
            path => path,
            title => title,
            count => requirements.len(),
            counts => Value::from(Serde(status_counts(requirements.iter().copied()))),
            body => Value::from_safe_string(html.to_owned()),
        },
    )
}

#[derive(Serialize)]
struct LinkView<'a> {
    file: &'a str,
    line: u32,
    target: &'a str,
    href: Option<String>,
}

#[derive(Serialize)]
struct EvidenceView<'a> {
    test: &'a str,
    file: &'a str,
    line: u32,
    kind: String,
    outcome: &'static str,
    message: Option<&'a str>,
    href: Option<String>,
}

/// A requirement's strength on its spec page.
#[derive(Serialize)]
struct StrengthView<'a> {
    /// As the reports write it: `7/9`, `stale`.
    label: String,
    /// `7/9` even when stale: what was measured.
    fraction: String,
    stale: bool,
    waived: usize,
    unviable: usize,
    survivors: Vec<SurvivorView<'a>>,
    /// Why none of its mutants can be judged (a waiver without a mutant).
    unjudged_waiver: Option<&'a str>,
}

/// A mutant that survived the requirement's evidence.
#[derive(Serialize)]
struct SurvivorView<'a> {
    file: &'a str,
    line: u32,
    href: Option<String>,
    /// The mutation as cargo-mutants names it: `replace == with != in place`.
    mutation: &'a str,
    /// The diff's lines, each with its kind (`file`, `hunk`, `add`, `del`, `ctx`).
    diff: Vec<DiffLine<'a>>,
}

#[derive(Serialize)]
struct DiffLine<'a> {
    kind: &'static str,
    text: &'a str,
}

/// Where a repository file is, seen from a page one directory below the site root.
fn file_href(repo_root: Option<&str>, file: &str) -> Option<String> {
    repo_root.map(|root| format!("../{root}{file}"))
}

/// A line of a repository file (`file#L12`, the anchor GitHub and `spectrace links` read), seen
/// from a page one directory below the site root; the file alone when the line is unknown (0).
fn line_href(repo_root: Option<&str>, file: &str, line: u32) -> Option<String> {
    file_href(repo_root, file).map(|href| {
        if line > 0 {
            format!("{href}#L{line}")
        } else {
            href
        }
    })
}

fn links<'a>(list: &'a [Link], repo_root: Option<&str>) -> Vec<LinkView<'a>> {
    list.iter()
        .map(|l| LinkView {
            file: &l.file,
            line: l.line,
            target: &l.target,
            href: line_href(repo_root, &l.file, l.line),
        })
        .collect()
}

/// The mutation of a cargo-mutants name: `src/a.rs:30:59: replace == with != in place` →
/// `replace == with != in place` (the whole name when it has no location).
pub(crate) fn mutation_of(name: &str) -> &str {
    name.split_once(": ").map_or(name, |(_, mutation)| mutation)
}

/// A unified diff's lines, each with its kind for the stylesheet.
fn diff_lines(diff: &str) -> Vec<DiffLine<'_>> {
    diff.lines()
        .map(|text| {
            let kind = if text.starts_with("+++") || text.starts_with("---") {
                "file"
            } else if text.starts_with("@@") {
                "hunk"
            } else if text.starts_with('+') {
                "add"
            } else if text.starts_with('-') {
                "del"
            } else {
                "ctx"
            };
            DiffLine { kind, text }
        })
        .collect()
}

fn strength_view<'a>(s: &'a Strength, repo_root: Option<&str>) -> StrengthView<'a> {
    StrengthView {
        label: crate::report::strength_label(Some(s)),
        fraction: s.fraction(),
        stale: s.stale,
        waived: s.waived,
        unviable: s.unviable,
        unjudged_waiver: s.unjudged_waiver.as_deref(),
        survivors: s
            .survivors
            .iter()
            .map(|m| SurvivorView {
                file: &m.file,
                line: m.line,
                href: line_href(repo_root, &m.file, m.line),
                mutation: mutation_of(&m.name),
                diff: m.diff.as_deref().map(diff_lines).unwrap_or_default(),
            })
            .collect(),
    }
}

/// A requirement's details on its spec page, right after its block: level, fingerprint,
/// contract and implementation links (to their lines), its strength with every surviving
/// mutant and its diff, and every evidence item.
pub(crate) fn requirement_detail(
    env: &Environment<'_>,
    r: &RequirementStatus,
    anchor: &str,
    repo_root: Option<&str>,
) -> Result<String, String> {
    let evidence: Vec<EvidenceView<'_>> = r
        .evidence
        .iter()
        .map(|e| EvidenceView {
            test: &e.test,
            file: &e.file,
            line: e.line,
            kind: e.kind.as_str().to_owned(),
            outcome: e.outcome.as_str(),
            message: e.message.as_deref(),
            href: line_href(repo_root, &e.file, e.line),
        })
        .collect();
    render(
        env,
        "req-detail.html.j2",
        context! {
            id => &r.id,
            level => r.level.as_str(),
            level_label => r.level.label(),
            anchor => anchor,
            fingerprint => &r.fingerprint,
            contracts => Value::from(Serde(links(&r.contracts, repo_root))),
            implementations => Value::from(Serde(links(&r.implementations, repo_root))),
            strength => Value::from(Serde(r.strength.as_ref().map(|s| strength_view(s, repo_root)))),
            evidence => Value::from(Serde(evidence)),
        },
    )
}

/// `index.html`.
pub(crate) fn index_page(env: &Environment<'_>, dash: &Dashboard) -> Result<String, String> {
    render(
        env,
        "index.html.j2",
        context! { up => "", d => Value::from(Serde(dash)) },
    )
}
