//! One spec file rendered to HTML for the site: pulldown-cmark's HTML writer over the parser's
//! events, after four changes to the event stream:
//!
//! - raw HTML (`Event::Html`, `Event::InlineHtml`) becomes text, so it is escaped and shown,
//!   never run; an HTML block becomes a code block;
//! - headings get `id` = their GitHub slug, de-duplicated with `-1`, `-2` exactly as the
//!   extract stage computes section anchors (same parser options, same heading text);
//! - the block that defines a requirement (found by the requirement's `line`) carries
//!   `id="<lower-cased id>"`, class `req`, a status badge linking to that anchor and, when
//!   measured, its strength; its details (links, strength, evidence) follow it: inside a list
//!   item, else right after the block;
//! - link and image targets are checked and rewritten (see [`rewrite_url`]).
//!
//! Each requirement block's HTML and plain text are kept for the search index.

use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::lines::LineIndex;
use crate::markdown::slug::Slugger;
use crate::markdown::{self, HeadingText};

/// A requirement to mark in a spec: it is defined by the block starting on its line.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    /// The requirement ID as written (`ORCH-3004`).
    pub id: String,
    /// Its anchor on the spec page (`orch-3004`).
    pub anchor: String,
    /// Its status, as `Status::as_str()`.
    pub status: &'static str,
    /// Its strength as the reports write it (`7/9`, `stale`), when measured.
    pub strength: Option<String>,
    /// Its details as HTML, placed after its block.
    pub detail: String,
}

/// Where links in a spec point once it is a page of the site.
#[derive(Debug)]
pub(crate) struct LinkContext<'a> {
    /// The spec's path relative to the repository root (`.specs/orchestrator-spec.md`).
    pub spec_path: &'a str,
    /// The spec's page name (`orchestrator-spec`).
    pub page_name: &'a str,
    /// Page names of every spec, by path.
    pub spec_pages: &'a HashMap<String, String>,
    /// The repository root as seen from the site root (`../../`), when the site lies inside
    /// the repository; links to other repository files use it.
    pub repo_root: Option<&'a str>,
}

/// A requirement's defining block, as found in the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Block {
    /// The block's plain text, whitespace collapsed.
    pub text: String,
}

/// A rendered spec.
#[derive(Debug, Default)]
pub(crate) struct RenderedSpec {
    /// The spec as HTML.
    pub html: String,
    /// Each marked requirement's block, by ID.
    pub blocks: HashMap<String, Block>,
    /// Text of the first level-1 heading.
    pub title: Option<String>,
}

/// A requirement block while the events are rewritten: ranges into the output events.
struct OpenBlock {
    id: String,
    /// Nesting depth of the block's start event.
    depth: usize,
    /// Content events (between the start and the end event, without the badge).
    inner_start: usize,
    inner: Option<Range<usize>>,
    /// Where its details go in the output events, once the block is closed.
    detail_at: usize,
    /// The paragraph under a heading requirement (start and end events included).
    extra: Option<Range<usize>>,
    text: String,
}

impl OpenBlock {
    /// A requirement block whose content starts at `inner_start` in the output events.
    fn new(id: &str, depth: usize, inner_start: usize) -> Self {
        OpenBlock {
            id: id.to_owned(),
            depth,
            inner_start,
            inner: None,
            detail_at: inner_start,
            extra: None,
            text: String::new(),
        }
    }
}

/// Escapes text for HTML content and double-quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The badge of a requirement on a spec page: a link to the requirement's own anchor, the
/// stable URL of the requirement; then its strength, when measured.
fn badge(mark: &Mark) -> String {
    let strength = mark.strength.as_deref().map_or_else(String::new, |s| {
        format!(
            "<span class=\"strength\" title=\"{id}: evidence strength {s}\">{s}</span> ",
            s = escape_html(s),
            id = escape_html(&mark.id),
        )
    });
    format!(
        "<a class=\"badge status-{s}\" href=\"#{anchor}\" title=\"{id}: {s}\">{s}</a> {strength}",
        s = mark.status,
        anchor = escape_html(&mark.anchor),
        id = escape_html(&mark.id),
    )
}

/// The heading's text as the extract stage sees it for its anchor ([`HeadingText`]).
fn heading_text(events: &[(Event<'_>, Range<usize>)]) -> String {
    let mut text = HeadingText::new();
    for (event, _) in events {
        text.event(event);
    }
    text.into_text()
}

/// Renders one spec. `marks` maps a line to the requirement whose block starts there.
pub(crate) fn render_spec(
    source: &str,
    marks: &HashMap<usize, Mark>,
    links: &LinkContext<'_>,
) -> RenderedSpec {
    let lines = LineIndex::new(source);
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(source, markdown::options())
        .into_offset_iter()
        .collect();
    let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len() + marks.len() * 2);
    let mut slugger = Slugger::new();
    let mut used: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut open: Vec<OpenBlock> = Vec::new();
    let mut done: Vec<OpenBlock> = Vec::new();
    // A heading requirement waiting for the paragraph right under it.
    let mut pending_heading: Option<OpenBlock> = None;
    let mut depth = 0usize;
    let mut heading_end: Option<usize> = None;
    let mut heading_mark: Option<Mark> = None;
    let mut title: Option<String> = None;

    for (i, (event, range)) in events.iter().enumerate() {
        if let Some(block) = pending_heading.take() {
            match event {
                Event::Start(Tag::Paragraph)
                    if depth == 0 && !marks.contains_key(&lines.line(range.start)) =>
                {
                    // Reopen it to take in this paragraph.
                    let mut block = block;
                    block.depth = depth;
                    block.extra = Some(out.len()..out.len());
                    open.push(block);
                }
                _ => {
                    let mut block = block;
                    block.detail_at = out.len();
                    done.push(block);
                }
            }
        }
        match event {
            Event::Start(tag) => {
                if !matches!(
                    tag,
                    Tag::Emphasis
                        | Tag::Strong
                        | Tag::Strikethrough
                        | Tag::Link { .. }
                        | Tag::Image { .. }
                        | Tag::Superscript
                        | Tag::Subscript
                ) {
                    push_text(&mut open, " ");
                }
                let line = lines.line(range.start);
                let mark = match tag {
                    Tag::Paragraph | Tag::Item | Tag::Heading { .. } => {
                        marks.get(&line).filter(|_| used.insert(line))
                    }
                    _ => None,
                };
                match (tag, mark) {
                    (Tag::Heading { level, .. }, mark) => {
                        let end = events[i..]
                            .iter()
                            .position(|(e, _)| matches!(e, Event::End(TagEnd::Heading(_))))
                            .map_or(events.len(), |p| i + p);
                        heading_end = Some(end);
                        let text = heading_text(&events[i + 1..end]);
                        if *level == HeadingLevel::H1 && title.is_none() {
                            title = Some(crate::fingerprint::collapse_whitespace(&text));
                        }
                        let slug = slugger.slug(&text);
                        out.push(Event::Start(Tag::Heading {
                            level: *level,
                            id: Some(CowStr::from(slug)),
                            classes: Vec::new(),
                            attrs: Vec::new(),
                        }));
                        if let Some(mark) = mark {
                            out.push(Event::Html(CowStr::from(format!(
                                "<span class=\"req\" id=\"{}\">",
                                escape_html(&mark.anchor)
                            ))));
                            heading_mark = Some(mark.clone());
                            open.push(OpenBlock::new(&mark.id, depth, out.len()));
                        }
                    }
                    (Tag::Paragraph, Some(mark)) => {
                        out.push(Event::Html(CowStr::from(format!(
                            "<p class=\"req\" id=\"{}\">{}",
                            escape_html(&mark.anchor),
                            badge(mark)
                        ))));
                        open.push(OpenBlock::new(&mark.id, depth, out.len()));
                    }
                    (Tag::Item, Some(mark)) => {
                        out.push(Event::Html(CowStr::from(format!(
                            "<li class=\"req\" id=\"{}\">{}",
                            escape_html(&mark.anchor),
                            badge(mark)
                        ))));
                        open.push(OpenBlock::new(&mark.id, depth, out.len()));
                    }
                    (Tag::HtmlBlock, _) => {
                        out.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)));
                    }
                    (
                        Tag::Link {
                            link_type,
                            dest_url,
                            title,
                            id,
                        },
                        _,
                    ) => {
                        out.push(Event::Start(Tag::Link {
                            link_type: *link_type,
                            dest_url: CowStr::from(rewrite_url(dest_url, links)),
                            title: title.clone(),
                            id: id.clone(),
                        }));
                    }
                    (
                        Tag::Image {
                            link_type,
                            dest_url,
                            title,
                            id,
                        },
                        _,
                    ) => {
                        out.push(Event::Start(Tag::Image {
                            link_type: *link_type,
                            dest_url: CowStr::from(rewrite_url(dest_url, links)),
                            title: title.clone(),
                            id: id.clone(),
                        }));
                    }
                    (tag, _) => out.push(Event::Start(tag.clone())),
                }
                depth += 1;
            }
            Event::End(tag) => {
                depth = depth.saturating_sub(1);
                if !matches!(
                    tag,
                    TagEnd::Emphasis
                        | TagEnd::Strong
                        | TagEnd::Strikethrough
                        | TagEnd::Link
                        | TagEnd::Image
                        | TagEnd::Superscript
                        | TagEnd::Subscript
                ) {
                    // Block boundaries separate words in the plain text.
                    push_text(&mut open, " ");
                }
                if heading_end == Some(i) {
                    heading_end = None;
                    if let Some(mark) = heading_mark.take() {
                        if let Some(block) = open.last_mut() {
                            block.inner = Some(block.inner_start..out.len());
                        }
                        out.push(Event::Html(CowStr::from(format!(
                            " {}</span>",
                            badge(&mark).trim_end()
                        ))));
                    }
                }
                match tag {
                    TagEnd::HtmlBlock => out.push(Event::End(TagEnd::CodeBlock)),
                    tag => out.push(Event::End(*tag)),
                }
                if open.last().is_some_and(|b| b.depth == depth)
                    && let Some(mut block) = open.pop()
                {
                    let end = out.len();
                    // Inside a list item (before its end), else after the block.
                    block.detail_at = if matches!(tag, TagEnd::Item) {
                        end - 1
                    } else {
                        end
                    };
                    if let Some(extra) = block.extra.as_mut() {
                        extra.end = end;
                        done.push(block);
                    } else {
                        if block.inner.is_none() {
                            block.inner = Some(block.inner_start..end - 1);
                        }
                        if matches!(tag, TagEnd::Heading(_)) {
                            pending_heading = Some(block);
                        } else {
                            done.push(block);
                        }
                    }
                }
            }
            Event::Html(text) | Event::InlineHtml(text) => {
                push_text(&mut open, text);
                out.push(Event::Text(text.clone()));
            }
            Event::Text(text) | Event::Code(text) => {
                push_text(&mut open, text);
                out.push(event.clone());
            }
            Event::SoftBreak | Event::HardBreak => {
                push_text(&mut open, " ");
                out.push(event.clone());
            }
            other => out.push(other.clone()),
        }
    }
    let end = out.len();
    done.extend(pending_heading.into_iter().chain(open).map(|mut block| {
        if block.detail_at == block.inner_start {
            block.detail_at = end;
        }
        block
    }));

    let blocks: HashMap<String, Block> = done
        .iter()
        .map(|block| {
            let text = crate::fingerprint::collapse_whitespace(&block.text);
            (block.id.clone(), Block { text })
        })
        .collect();
    // Each block's details go before the event at its position.
    let detail_of: HashMap<&str, &str> = marks
        .values()
        .map(|m| (m.id.as_str(), m.detail.as_str()))
        .collect();
    let mut details: Vec<(usize, &str)> = done
        .iter()
        .filter_map(|block| Some((block.detail_at, *detail_of.get(block.id.as_str())?)))
        .collect();
    details.sort_by_key(|(at, _)| *at);
    let mut details = details.into_iter().peekable();
    let mut page: Vec<Event<'_>> = Vec::with_capacity(out.len() + marks.len());
    for (i, event) in out.into_iter().enumerate() {
        while let Some((_, detail)) = details.next_if(|(at, _)| *at <= i) {
            page.push(Event::Html(CowStr::from(detail)));
        }
        page.push(event);
    }
    page.extend(details.map(|(_, detail)| Event::Html(CowStr::from(detail))));
    let mut html = String::with_capacity(source.len() * 2);
    pulldown_cmark::html::push_html(&mut html, page.into_iter());
    RenderedSpec {
        html,
        blocks,
        title,
    }
}

fn push_text(open: &mut [OpenBlock], text: &str) {
    for block in open {
        block.text.push_str(text);
    }
}

/// Where a spec's link points on the site.
///
/// - `http:`, `https:` and `mailto:` links stay; any other scheme (`javascript:`, `data:`,
///   `file:` …) becomes `#` so that nothing in a spec runs or reaches outside.
/// - `#fragment` points into the spec's own page (`../spec/NAME.html#fragment`, which also
///   works from a requirement page).
/// - A relative path to another spec of the set becomes that spec's page (fragment kept).
/// - Any other relative path is resolved against the spec's directory and points into the
///   repository through `repo_root`; without `repo_root`, or when it leaves the repository,
///   it stays as written.
pub(crate) fn rewrite_url(url: &str, links: &LinkContext<'_>) -> String {
    let split = url.find(['#', '?']).unwrap_or(url.len());
    let (path, suffix) = url.split_at(split);
    if let Some(colon) = path.find(':')
        && !path[..colon].contains('/')
    {
        let scheme = path[..colon].to_ascii_lowercase();
        return if matches!(scheme.as_str(), "http" | "https" | "mailto") {
            url.to_owned()
        } else {
            "#".to_owned()
        };
    }
    if path.starts_with("//") {
        return url.to_owned();
    }
    if path.is_empty() {
        return format!("../spec/{}.html{suffix}", links.page_name);
    }
    let resolved = if let Some(absolute) = path.strip_prefix('/') {
        normalize("", absolute)
    } else {
        let dir = links.spec_path.rsplit_once('/').map_or("", |(dir, _)| dir);
        normalize(dir, path)
    };
    let Some(resolved) = resolved else {
        return url.to_owned();
    };
    if let Some(name) = links.spec_pages.get(&resolved) {
        return format!("../spec/{name}.html{suffix}");
    }
    match links.repo_root {
        Some(root) => format!("../{root}{resolved}{suffix}"),
        None => url.to_owned(),
    }
}

/// `dir` joined with the relative `path`, `.` and `..` resolved; `None` when it leaves the root.
fn normalize(dir: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut joined = parts.join("/");
    if path.ends_with('/') {
        joined.push('/');
    }
    Some(joined)
}
