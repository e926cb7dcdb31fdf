//! The search index: one object per requirement, written as `assets/search-index.js`
//! (`window.SPECTRACE_INDEX = [...]`, since `fetch()` is blocked on `file://`). The JSON in it
//! writes every `<` as `\u003c`, so no text can close a `<script>` element or open a comment.
//! There is no separate `.json` copy: machines read `reports/compliance.json`, and a second copy
//! would be an eighth of the site's size on the 10,000-requirement benchmark tree.

use std::collections::BTreeSet;

use serde::Serialize;

use super::Located;
use super::dashboard::section_key;

/// One requirement in the index.
#[derive(Debug, Serialize)]
pub(crate) struct Entry<'a> {
    /// `ORCH-3004`.
    pub id: &'a str,
    /// `must`, `should`, `may`, `info`.
    pub level: &'static str,
    /// `Status::as_str()`.
    pub status: &'static str,
    /// The strength as the reports write it (`7/9`, `stale`); absent when never measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<String>,
    pub title: &'a str,
    /// The section's heading.
    pub section: &'a str,
    /// The section filter's key: `spec/NAME.html#section-anchor`.
    pub sec: String,
    /// The requirement in its spec: `spec/NAME.html#orch-3004`.
    pub spec: String,
    /// The requirement's URL (its anchor on its spec page): `spec/NAME.html#orch-3004`.
    pub page: &'a str,
    /// Evidence kinds, sorted, without repeats.
    pub kinds: Vec<String>,
    /// Plain text of the defining block.
    pub text: &'a str,
}

pub(crate) fn entries<'a>(located: &'a [Located<'a>]) -> Vec<Entry<'a>> {
    located
        .iter()
        .map(|l| Entry {
            id: &l.req.id,
            level: l.req.level.as_str(),
            status: l.req.status.as_str(),
            strength: super::strength_label(l.req),
            title: &l.req.title,
            section: &l.req.section,
            sec: section_key(&l.spec_page, &l.req.anchor),
            spec: format!("{}#{}", l.spec_page, l.anchor),
            page: &l.page,
            kinds: l
                .req
                .evidence
                .iter()
                .map(|e| e.kind.as_str().to_owned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            text: &l.text,
        })
        .collect()
}

/// The index as JSON, one entry per line, `<` escaped.
pub(crate) fn to_json(entries: &[Entry<'_>]) -> Result<String, String> {
    let mut out = String::from("[\n");
    for (i, entry) in entries.iter().enumerate() {
        let line = serde_json::to_string(entry)
            .map_err(|e| format!("cannot serialize the search index: {e}"))?;
        out.push_str(&line.replace('<', "\\u003c"));
        out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
    }
    out.push(']');
    Ok(out)
}
