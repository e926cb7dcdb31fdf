//! The dashboard's data: totals by level × status, one stacked bar per section, the worst gaps
//! first (with their status and strength), and the choices of the search filters. Computed once from the model; the template
//! `templates/site/index.html.j2` only lays it out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::pages::{SpecLink, StatusCount, status_counts};
use super::{Located, gap_rank};
use crate::compliance::{ComplianceModel, Status};
use crate::id::natural_cmp;
use crate::level::Level;

/// How many gaps the dashboard lists; the search lists the rest.
pub(crate) const GAPS_SHOWN: usize = 100;

/// Everything `index.html` shows.
#[derive(Debug, Serialize)]
pub(crate) struct Dashboard {
    pub statuses: Vec<&'static str>,
    pub totals: Vec<TotalRow>,
    pub total: usize,
    pub specs: Vec<SpecSections>,
    pub gaps: Vec<Gap>,
    pub gap_count: usize,
    pub levels: Vec<Choice>,
    pub sections: Vec<Choice>,
    pub kinds: Vec<Choice>,
}

/// One row of the totals table.
#[derive(Debug, Serialize)]
pub(crate) struct TotalRow {
    pub level: &'static str,
    pub label: &'static str,
    pub counts: Vec<StatusCount>,
    pub total: usize,
}

/// The sections of one spec, each with its bar.
#[derive(Debug, Serialize)]
pub(crate) struct SpecSections {
    pub spec: SpecLink,
    pub sections: Vec<SectionBar>,
}

/// One section's bar: segments in [`Status::ALL`] order, empty ones left out.
#[derive(Debug, Serialize)]
pub(crate) struct SectionBar {
    pub title: String,
    pub href: String,
    pub total: usize,
    pub segments: Vec<Segment>,
    pub label: String,
}

/// One status's part of a bar.
#[derive(Debug, Serialize)]
pub(crate) struct Segment {
    pub status: &'static str,
    pub x: usize,
    pub width: usize,
}

/// One requirement in the worst-gaps list.
#[derive(Debug, Serialize)]
pub(crate) struct Gap {
    pub id: String,
    pub page: String,
    pub level: &'static str,
    pub status: &'static str,
    /// `7/9`, `stale`, or `None` when never measured.
    pub strength: Option<String>,
    pub title: String,
}

/// An option of a filter.
#[derive(Debug, Serialize)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
}

/// The key of a section in the search index and the section filter.
pub(crate) fn section_key(spec_page: &str, anchor: &str) -> String {
    format!("{spec_page}#{anchor}")
}

pub(crate) fn dashboard(
    model: &ComplianceModel,
    located: &[Located<'_>],
    specs: &[SpecLink],
) -> Dashboard {
    let statuses: Vec<&'static str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let mut totals: Vec<TotalRow> = Level::ALL
        .iter()
        .map(|&level| {
            let counts = status_counts(model.requirements.iter().filter(|r| r.level == level));
            TotalRow {
                level: level.as_str(),
                label: level.label(),
                total: counts.iter().map(|c| c.count).sum(),
                counts,
            }
        })
        .filter(|row| row.total > 0)
        .collect();
    let all = status_counts(&model.requirements);
    totals.push(TotalRow {
        level: "all",
        label: "all",
        total: model.requirements.len(),
        counts: all,
    });

    // Sections per spec, in the order of their first requirement in the spec.
    let mut per_spec: BTreeMap<&str, Vec<&Located<'_>>> = BTreeMap::new();
    for l in located {
        per_spec.entry(l.req.spec.as_str()).or_default().push(l);
    }
    let mut section_choices = Vec::new();
    let spec_sections = specs
        .iter()
        .map(|spec| {
            let mut list = per_spec.remove(spec.path.as_str()).unwrap_or_default();
            list.sort_by_key(|l| l.req.line);
            let mut order: Vec<&str> = Vec::new();
            let mut members: BTreeMap<&str, Vec<&Located<'_>>> = BTreeMap::new();
            for l in list {
                let anchor = l.req.anchor.as_str();
                if !members.contains_key(anchor) {
                    order.push(anchor);
                }
                members.entry(anchor).or_default().push(l);
            }
            let sections = order
                .into_iter()
                .map(|anchor| {
                    let list = members.remove(anchor).unwrap_or_default();
                    let title = list
                        .first()
                        .map(|l| l.req.section.clone())
                        .unwrap_or_default();
                    let counts = status_counts(list.iter().map(|l| l.req));
                    let mut x = 0;
                    let segments: Vec<Segment> = counts
                        .iter()
                        .filter(|c| c.count > 0)
                        .map(|c| {
                            let segment = Segment {
                                status: c.status,
                                x,
                                width: c.count,
                            };
                            x += c.count;
                            segment
                        })
                        .collect();
                    let label = counts
                        .iter()
                        .filter(|c| c.count > 0)
                        .map(|c| format!("{} {}", c.count, c.status))
                        .collect::<Vec<_>>()
                        .join(", ");
                    section_choices.push(Choice {
                        value: section_key(&spec.href, anchor),
                        label: format!("{} › {title}", spec.title),
                    });
                    SectionBar {
                        href: format!("{}#{anchor}", spec.href),
                        title,
                        total: list.len(),
                        segments,
                        label,
                    }
                })
                .collect();
            SpecSections {
                spec: spec.clone(),
                sections,
            }
        })
        .collect();

    let mut gaps: Vec<&Located<'_>> = located
        .iter()
        .filter(|l| gap_rank(l.req.status).is_some())
        .collect();
    gaps.sort_by(|a, b| {
        (a.req.level, gap_rank(a.req.status))
            .cmp(&(b.req.level, gap_rank(b.req.status)))
            .then_with(|| natural_cmp(&a.req.id, &b.req.id))
    });
    let gap_count = gaps.len();
    let gaps = gaps
        .into_iter()
        .take(GAPS_SHOWN)
        .map(|l| Gap {
            id: l.req.id.clone(),
            page: l.page.clone(),
            level: l.req.level.label(),
            status: l.req.status.as_str(),
            strength: super::strength_label(l.req),
            title: l.req.title.clone(),
        })
        .collect();

    let levels = Level::ALL
        .iter()
        .filter(|&&level| model.requirements.iter().any(|r| r.level == level))
        .map(|&level| Choice {
            value: level.as_str().to_owned(),
            label: level.label().to_owned(),
        })
        .collect();
    let kinds: BTreeSet<String> = model
        .requirements
        .iter()
        .flat_map(|r| r.evidence.iter().map(|e| e.kind.as_str().to_owned()))
        .collect();
    Dashboard {
        statuses,
        totals,
        total: model.requirements.len(),
        specs: spec_sections,
        gaps,
        gap_count,
        levels,
        sections: section_choices,
        kinds: kinds
            .into_iter()
            .map(|k| Choice {
                label: k.clone(),
                value: k,
            })
            .collect(),
    }
}
