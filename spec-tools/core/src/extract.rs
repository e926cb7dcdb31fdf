//! Extraction: one Markdown spec in, the requirements it defines out. The grammar is the
//! one CONTRIBUTING.md states under "Writing a requirement".
//!
//! The spec is parsed with pulldown-cmark; nothing here looks at raw lines except to turn byte
//! offsets into line numbers. A requirement is defined by one block — a paragraph (also inside
//! a blockquote), a list item, or a heading — whose text holds a bracketed ID token `[ID]`.
//! An ID in inline code, in a code block, in HTML or as link text defines nothing; a bare ID is
//! a reference.
//!
//! Block rules, decided here:
//! - A list item's text is all its content, including nested items that define no ID of their
//!   own; a nested item with its own ID is a requirement of its own.
//! - A heading's requirement text is the heading plus the first paragraph right under it, unless
//!   that paragraph defines an ID itself.
//! - Table cells never define requirements; a bracketed ID in one is a warning.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::diag::Diagnostic;
use crate::fingerprint::{collapse_whitespace, fingerprint};
use crate::id::IdPattern;
use crate::level::{Level, strongest_keyword};
use crate::lines::LineIndex;
use crate::markdown::slug::Slugger;
use crate::markdown::{self, HeadingText};
use crate::model::Requirement;

/// Stands in for inline code, link text and other spans that must not join the text around
/// them into an ID token (`[` + `` `ORCH-1` `` + `]` is not a definition).
const OPAQUE: char = '\u{FFFC}';

/// Longest title taken from a first sentence, in characters.
const MAX_TITLE_CHARS: usize = 100;

/// What one spec file yields.
#[derive(Debug, Default)]
pub struct ParsedSpec {
    /// Text of the first level-1 heading.
    pub title: Option<String>,
    /// Requirements in document order.
    pub requirements: Vec<Requirement>,
    /// Every ID mentioned anywhere in prose, with the line of its block, for dangling checks.
    pub mentions: Vec<(String, usize)>,
    /// Problems found in this file.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one spec. `path` is how the file is named in the output (relative to the root).
pub fn parse_spec(path: &str, source: &str, ids: &IdPattern) -> ParsedSpec {
    let mut walker = Walker::new(path, source, ids);
    for (event, range) in Parser::new_ext(source, markdown::options()).into_offset_iter() {
        walker.event(event, range.start);
    }
    walker.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Heading,
    Paragraph,
    Item,
    Cell,
}

/// Text collected for one block while it is open.
#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    line: usize,
    /// Rendered plain text (inline code and link text included; soft breaks kept as `\n`).
    plain: String,
    /// Text searched for `[ID]` definitions: code and link text replaced by [`OPAQUE`].
    scan: String,
    /// Text searched for RFC 2119 keywords: inline code replaced by [`OPAQUE`].
    prose: String,
    /// Where a leading bold phrase starts in `plain`, while it is open.
    strong_start: Option<usize>,
    /// The leading bold phrase, once closed.
    strong_lead: Option<String>,
    /// Whether this paragraph follows a heading that defines an ID.
    under_heading_requirement: bool,
}

impl Frame {
    fn new(kind: FrameKind, line: usize) -> Self {
        Self {
            kind,
            line,
            plain: String::new(),
            scan: String::new(),
            prose: String::new(),
            strong_start: None,
            strong_lead: None,
            under_heading_requirement: false,
        }
    }

    fn push_separator(&mut self) {
        for buffer in [&mut self.plain, &mut self.scan, &mut self.prose] {
            buffer.push(' ');
        }
    }

    /// Appends a nested block's text (a nested list item without an ID of its own).
    fn absorb(&mut self, child: &Frame) {
        self.push_separator();
        self.plain.push_str(&child.plain);
        self.scan.push_str(&child.scan);
        self.prose.push_str(&child.prose);
    }
}

/// A heading that defines an ID, waiting to see whether a paragraph follows it.
#[derive(Debug)]
struct PendingHeading {
    id: String,
    frame: Frame,
    section: String,
    anchor: String,
}

struct Walker<'a> {
    path: &'a str,
    ids: &'a IdPattern,
    lines: LineIndex,
    slugger: Slugger,
    frames: Vec<Frame>,
    pending: Option<PendingHeading>,
    section: String,
    anchor: String,
    heading_level: Option<HeadingLevel>,
    /// The text of the heading being read, for its anchor and section title.
    heading_text: Option<HeadingText>,
    code_block_depth: usize,
    link_depth: usize,
    image_depth: usize,
    html_block_depth: usize,
    out: ParsedSpec,
}

impl<'a> Walker<'a> {
    fn new(path: &'a str, source: &str, ids: &'a IdPattern) -> Self {
        Self {
            path,
            ids,
            lines: LineIndex::new(source),
            slugger: Slugger::new(),
            frames: Vec::new(),
            pending: None,
            section: String::new(),
            anchor: String::new(),
            heading_level: None,
            heading_text: None,
            code_block_depth: 0,
            link_depth: 0,
            image_depth: 0,
            html_block_depth: 0,
            out: ParsedSpec::default(),
        }
    }

    fn event(&mut self, event: Event<'_>, offset: usize) {
        if let Some(heading) = self.heading_text.as_mut() {
            heading.event(&event);
        }
        match event {
            Event::Start(tag) => self.start(tag, offset),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => {
                if self.code_block_depth == 0 && self.html_block_depth == 0 {
                    self.text(&text);
                }
            }
            Event::Code(code) => self.opaque_text(&code, true),
            Event::InlineMath(math) | Event::DisplayMath(math) => self.opaque_text(&math, true),
            Event::SoftBreak => self.raw_text("\n"),
            Event::HardBreak => self.raw_text("\n"),
            Event::Rule => self.flush_pending(),
            Event::Html(_)
            | Event::InlineHtml(_)
            | Event::FootnoteReference(_)
            | Event::TaskListMarker(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>, offset: usize) {
        let line = self.lines.line(offset);
        let top_level = self.frames.is_empty();
        match tag {
            Tag::Paragraph => {
                if self.innermost_item_or_cell().is_some() {
                    if let Some(frame) = self.frames.last_mut() {
                        frame.push_separator();
                    }
                } else {
                    let mut frame = Frame::new(FrameKind::Paragraph, line);
                    frame.under_heading_requirement = top_level && self.pending.is_some();
                    if !frame.under_heading_requirement {
                        self.flush_pending();
                    }
                    self.frames.push(frame);
                }
            }
            Tag::Heading { level, .. } => {
                self.flush_pending();
                self.heading_level = Some(level);
                self.heading_text = Some(HeadingText::new());
                self.frames.push(Frame::new(FrameKind::Heading, line));
            }
            Tag::Item => {
                self.flush_pending();
                self.frames.push(Frame::new(FrameKind::Item, line));
            }
            Tag::TableCell => {
                self.flush_pending();
                self.frames.push(Frame::new(FrameKind::Cell, line));
            }
            Tag::CodeBlock(_) => {
                self.flush_pending();
                self.code_block_depth += 1;
            }
            Tag::HtmlBlock => {
                self.flush_pending();
                self.html_block_depth += 1;
            }
            Tag::Link { .. } => {
                self.link_depth += 1;
            }
            Tag::Image { .. } => {
                self.image_depth += 1;
            }
            Tag::Strong => {
                if let Some(frame) = self.frames.last_mut()
                    && frame.strong_lead.is_none()
                    && frame.strong_start.is_none()
                {
                    let so_far = frame.plain.trim();
                    let only_id = so_far
                        .strip_prefix('[')
                        .and_then(|rest| rest.strip_suffix(']'))
                        .is_some_and(|inner| self.ids.is_id(inner));
                    if so_far.is_empty() || only_id {
                        frame.strong_start = Some(frame.plain.len());
                    }
                }
            }
            Tag::List(_)
            | Tag::BlockQuote(_)
            | Tag::Table(_)
            | Tag::TableHead
            | Tag::TableRow
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => {
                if top_level {
                    self.flush_pending();
                }
            }
            Tag::Emphasis | Tag::Strikethrough | Tag::Superscript | Tag::Subscript => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph
                if self
                    .frames
                    .last()
                    .is_some_and(|f| f.kind == FrameKind::Paragraph) =>
            {
                self.close_frame();
            }
            TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell => self.close_frame(),
            TagEnd::CodeBlock => self.code_block_depth = self.code_block_depth.saturating_sub(1),
            TagEnd::HtmlBlock => self.html_block_depth = self.html_block_depth.saturating_sub(1),
            TagEnd::Link => self.link_depth = self.link_depth.saturating_sub(1),
            TagEnd::Image => self.image_depth = self.image_depth.saturating_sub(1),
            TagEnd::Strong => {
                if let Some(frame) = self.frames.last_mut()
                    && let Some(start) = frame.strong_start.take()
                {
                    frame.strong_lead = Some(frame.plain[start..].to_owned());
                }
            }
            _ => {}
        }
    }

    fn innermost_item_or_cell(&self) -> Option<&Frame> {
        self.frames
            .iter()
            .rev()
            .find(|f| matches!(f.kind, FrameKind::Item | FrameKind::Cell))
    }

    /// Ordinary text: visible everywhere unless it is link text or image alt text.
    fn text(&mut self, text: &str) {
        if self.image_depth > 0 {
            return;
        }
        if self.link_depth > 0 {
            self.opaque_text(text, false);
            return;
        }
        if let Some(frame) = self.frames.last_mut() {
            frame.plain.push_str(text);
            frame.scan.push_str(text);
            frame.prose.push_str(text);
        }
    }

    /// Text that is shown but can neither define an ID nor, when `is_code`, carry a keyword.
    fn opaque_text(&mut self, text: &str, is_code: bool) {
        if self.image_depth > 0 {
            return;
        }
        if let Some(frame) = self.frames.last_mut() {
            frame.plain.push_str(text);
            frame.scan.push(OPAQUE);
            if is_code {
                frame.prose.push(OPAQUE);
            } else {
                frame.prose.push_str(text);
            }
        }
    }

    /// Layout text such as line breaks.
    fn raw_text(&mut self, text: &str) {
        if let Some(frame) = self.frames.last_mut() {
            frame.plain.push_str(text);
            frame.scan.push_str(text);
            frame.prose.push_str(text);
        }
    }

    fn close_frame(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        let mentioned: Vec<&str> = self.ids.mentions(&frame.plain).collect();
        for id in &mentioned {
            self.out.mentions.push(((*id).to_owned(), frame.line));
        }
        let definitions: Vec<String> = self
            .ids
            .definitions(&frame.scan)
            .map(str::to_owned)
            .collect();

        if frame.kind == FrameKind::Heading {
            self.close_heading(frame, definitions);
            return;
        }
        if frame.kind == FrameKind::Cell {
            if !definitions.is_empty() {
                self.warn(
                    frame.line,
                    format!(
                        "[{}] in a table cell does not define a requirement; define it in a list item, paragraph or heading",
                        definitions.join("], [")
                    ),
                );
            }
            return;
        }
        if frame.under_heading_requirement
            && let Some(pending) = self.pending.take()
        {
            {
                if definitions.is_empty() {
                    let PendingHeading {
                        id,
                        frame: mut merged,
                        section,
                        anchor,
                    } = pending;
                    merged.absorb(&frame);
                    let title = heading_title(&section, &id);
                    self.push_requirement(&id, &merged, Some(title), section, anchor, None);
                    return;
                }
                self.pending = Some(pending);
                self.flush_pending();
            }
        }
        match definitions.as_slice() {
            [] => {
                if frame.kind == FrameKind::Item
                    && let Some(parent) = self.frames.last_mut()
                    && parent.kind == FrameKind::Item
                {
                    parent.absorb(&frame);
                }
            }
            [id] => {
                let (section, anchor) = (self.section.clone(), self.anchor.clone());
                self.push_requirement(id, &frame, None, section, anchor, Some(&mentioned));
            }
            many => self.too_many_ids(frame.line, many),
        }
    }

    fn close_heading(&mut self, frame: Frame, definitions: Vec<String>) {
        let heading_text = self
            .heading_text
            .take()
            .map_or_else(|| frame.plain.clone(), HeadingText::into_text);
        self.section = collapse_whitespace(&heading_text);
        self.anchor = self.slugger.slug(&heading_text);
        if self.heading_level == Some(HeadingLevel::H1) && self.out.title.is_none() {
            self.out.title = Some(self.section.clone());
        }
        self.heading_level = None;
        match definitions.as_slice() {
            [] => {}
            [id] => {
                self.pending = Some(PendingHeading {
                    id: id.clone(),
                    frame,
                    section: self.section.clone(),
                    anchor: self.anchor.clone(),
                });
            }
            many => self.too_many_ids(frame.line, many),
        }
    }

    fn flush_pending(&mut self) {
        if let Some(pending) = self.pending.take() {
            let title = heading_title(&pending.section, &pending.id);
            self.push_requirement(
                &pending.id,
                &pending.frame,
                Some(title),
                pending.section,
                pending.anchor,
                None,
            );
        }
    }

    fn push_requirement(
        &mut self,
        id: &str,
        frame: &Frame,
        heading_title: Option<String>,
        section: String,
        anchor: String,
        mentioned: Option<&[&str]>,
    ) {
        let text = strip_token(&frame.plain, id);
        let title = heading_title.unwrap_or_else(|| block_title(frame, id, &text));
        let prose = strip_token(&frame.prose, id);
        let (level, keyword) = match strongest_keyword(&prose) {
            Some((level, keyword)) => (level, Some(keyword.to_owned())),
            None => (Level::Info, None),
        };
        // The IDs mentioned in the frame's text, when the caller has them already.
        let mentioned: Vec<&str> =
            mentioned.map_or_else(|| self.ids.mentions(&frame.plain).collect(), <[_]>::to_vec);
        let mut references: Vec<String> = mentioned
            .into_iter()
            .filter(|mention| *mention != id)
            .map(str::to_owned)
            .collect();
        references.sort_by(|a, b| crate::id::natural_cmp(a, b));
        references.dedup();
        if level == Level::Info {
            self.warn(
                frame.line,
                format!("{id} has no upper-case RFC 2119 keyword (MUST, SHOULD, MAY, …); its level is `info`"),
            );
        }
        if text.is_empty() {
            self.out.diagnostics.push(Diagnostic::error(
                self.path,
                Some(frame.line),
                format!("{id} has no text besides its ID"),
            ));
        }
        self.out.requirements.push(Requirement {
            id: id.to_owned(),
            level,
            keyword,
            title,
            fingerprint: fingerprint(&text),
            text,
            spec: self.path.to_owned(),
            line: frame.line,
            section,
            anchor,
            references,
        });
    }

    fn too_many_ids(&mut self, line: usize, ids: &[String]) {
        self.out.diagnostics.push(Diagnostic::error(
            self.path,
            Some(line),
            format!(
                "one block defines {} IDs ([{}]); a block defines at most one requirement",
                ids.len(),
                ids.join("], [")
            ),
        ));
    }

    fn warn(&mut self, line: usize, message: String) {
        self.out
            .diagnostics
            .push(Diagnostic::warning(self.path, Some(line), message));
    }

    fn finish(mut self) -> ParsedSpec {
        while !self.frames.is_empty() {
            self.close_frame();
        }
        self.flush_pending();
        self.out
    }
}

/// `text` without the `[id]` token and the space that separated it from its neighbours,
/// whitespace collapsed.
fn strip_token(text: &str, id: &str) -> String {
    let token_at = text
        .match_indices(id)
        .find(|&(at, _)| {
            at > 0
                && text.as_bytes()[at - 1] == b'['
                && text.as_bytes().get(at + id.len()) == Some(&b']')
        })
        .map(|(at, _)| at - 1);
    let Some(at) = token_at else {
        return collapse_whitespace(text);
    };
    let mut out = collapse_whitespace(&text[..at]);
    let after = collapse_whitespace(&text[at + id.len() + 2..]);
    let glue = !out.is_empty() && after.chars().next().is_some_and(|c| !".,;:!?)".contains(c));
    if glue {
        out.push(' ');
    }
    out.push_str(&after);
    out
}

/// The title of a heading-form requirement: the heading without its ID token.
fn heading_title(heading: &str, id: &str) -> String {
    clean_title(&strip_token(heading, id))
}

/// The title of a paragraph or list item: its leading bold phrase, else the first sentence of
/// its `text`.
fn block_title(frame: &Frame, id: &str, text: &str) -> String {
    if let Some(lead) = &frame.strong_lead {
        let lead = clean_title(&strip_token(lead, id));
        if !lead.is_empty() {
            return lead;
        }
    }
    clean_title(first_sentence(text))
}

fn first_sentence(text: &str) -> &str {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?') && chars.peek().is_some_and(|&(_, next)| next == ' ') {
            return &text[..=i];
        }
    }
    text
}

/// Trims trailing sentence punctuation and shortens long titles at a word boundary.
fn clean_title(title: &str) -> String {
    let title = title
        .trim()
        .trim_end_matches(['.', ':', ';', ','])
        .trim_end();
    if title.chars().count() <= MAX_TITLE_CHARS {
        return title.to_owned();
    }
    let cut: String = title.chars().take(MAX_TITLE_CHARS).collect();
    let at_word = match cut.rfind(' ') {
        Some(space) if space > MAX_TITLE_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([',', ';', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;
    use crate::id::DEFAULT_ID_PATTERN;

    fn parse(source: &str) -> ParsedSpec {
        let ids = IdPattern::new(DEFAULT_ID_PATTERN).unwrap();
        parse_spec("spec.md", source, &ids)
    }

    fn only(source: &str) -> Requirement {
        let parsed = parse(source);
        assert_eq!(parsed.requirements.len(), 1, "{:#?}", parsed.requirements);
        parsed.requirements.into_iter().next().unwrap()
    }

    fn errors(parsed: &ParsedSpec) -> Vec<String> {
        parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn trailing_list_item_form() {
        let r = only("# Spec\n\n## 3.2 Queues\n\n- The queue MUST be bounded. [ORCH-3004]\n");
        assert_eq!(r.id, "ORCH-3004");
        assert_eq!(r.level, Level::Must);
        assert_eq!(r.keyword.as_deref(), Some("MUST"));
        assert_eq!(r.text, "The queue MUST be bounded.");
        assert_eq!(r.title, "The queue MUST be bounded");
        assert_eq!(r.line, 5);
        assert_eq!(r.section, "3.2 Queues");
        assert_eq!(r.anchor, "32-queues");
        assert_eq!(r.spec, "spec.md");
        assert_eq!(r.fingerprint, fingerprint("The queue MUST be bounded."));
    }

    #[test]
    fn leading_list_item_form() {
        let r = only("- [ORCH-3004] The queue MUST NOT grow.\n");
        assert_eq!(r.text, "The queue MUST NOT grow.");
        assert_eq!(r.keyword.as_deref(), Some("MUST NOT"));
        assert_eq!(r.line, 1);
    }

    #[test]
    fn trailing_token_before_punctuation_leaves_no_gap() {
        let r = only("The queue MUST be bounded [ORCH-3004].\n");
        assert_eq!(r.text, "The queue MUST be bounded.");
    }

    #[test]
    fn heading_form_takes_the_first_paragraph() {
        let src = "## Queues\n\n### [ORCH-1001] Bounded queues\n\nEach pool MUST bound\nits queue.\n\nMore text that is not part of it.\n";
        let r = only(src);
        assert_eq!(r.id, "ORCH-1001");
        assert_eq!(r.title, "Bounded queues");
        assert_eq!(r.text, "Bounded queues Each pool MUST bound its queue.");
        assert_eq!(r.level, Level::Must);
        assert_eq!(r.line, 3);
        assert_eq!(r.section, "[ORCH-1001] Bounded queues");
        assert_eq!(r.anchor, "orch-1001-bounded-queues");
    }

    #[test]
    fn heading_form_without_paragraph_stands_alone() {
        let src = "### [ORCH-1001] Queues MUST be bounded\n\n- [ORCH-1002] Items MAY wait.\n";
        let parsed = parse(src);
        let ids: Vec<_> = parsed
            .requirements
            .iter()
            .map(|r| (r.id.as_str(), r.text.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("ORCH-1001", "Queues MUST be bounded"),
                ("ORCH-1002", "Items MAY wait.")
            ]
        );
        assert_eq!(
            parsed.requirements[1].section,
            "[ORCH-1001] Queues MUST be bounded"
        );
    }

    #[test]
    fn heading_followed_by_a_defining_paragraph_keeps_both_apart() {
        let src = "## [ORCH-1001] Queues MUST be bounded\n\nThe batch queue SHOULD be larger. [ORCH-1002]\n";
        let parsed = parse(src);
        let texts: Vec<_> = parsed
            .requirements
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "Queues MUST be bounded",
                "The batch queue SHOULD be larger."
            ]
        );
    }

    #[test]
    fn blockquote_paragraph_defines() {
        let r = only("> Clients SHOULD retry. [ORCH-2001]\n");
        assert_eq!(r.level, Level::Should);
        assert_eq!(r.text, "Clients SHOULD retry.");
    }

    #[test]
    fn inline_code_code_blocks_links_and_html_do_not_define() {
        let src = "\
Inline `[ORCH-1001]` MUST NOT count.

```
- [ORCH-1002] MUST NOT count
```

    [ORCH-1003] indented code MUST NOT count

See [ORCH-1004](#x) which MUST NOT count.

<!-- [ORCH-1005] MUST NOT count -->

[`ORCH-1006`] MUST NOT count either.
";
        let parsed = parse(src);
        assert!(parsed.requirements.is_empty(), "{:#?}", parsed.requirements);
        assert!(errors(&parsed).is_empty());
    }

    #[test]
    fn bare_ids_are_references() {
        let r = only(
            "- Cancel MUST stop tokens (see ORCH-2002, `ORCH-3004`, [ORCH-2001](#a)). [ORCH-2003]\n",
        );
        assert_eq!(r.references, ["ORCH-2001", "ORCH-2002", "ORCH-3004"]);
        let parsed = parse("Nothing here but ORCH-9999.\n");
        assert!(parsed.requirements.is_empty());
        assert_eq!(parsed.mentions, [("ORCH-9999".to_owned(), 1)]);
    }

    #[test]
    fn keywords_in_inline_code_and_lower_case_do_not_count() {
        let r = only("- The field `MUST` is documented; clients must send it. [ORCH-2001]\n");
        assert_eq!(r.level, Level::Info);
        assert_eq!(r.keyword, None);
        let parsed = parse("- The field is documented. [ORCH-2001]\n");
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].severity, Severity::Warning);
        assert!(parsed.diagnostics[0].message.contains("info"));
    }

    #[test]
    fn bold_keywords_count_and_formatting_is_stripped() {
        let r = only(
            "- **Bounded.** The queue **MUST** *stay* ~~small~~ [bounded](x.md). [ORCH-3004]\n",
        );
        assert_eq!(r.level, Level::Must);
        assert_eq!(r.title, "Bounded");
        assert_eq!(r.text, "Bounded. The queue MUST stay small bounded.");
    }

    #[test]
    fn leading_bold_after_the_id_is_the_title() {
        let r = only("- [ORCH-3004] **Queue bound:** it MUST hold.\n");
        assert_eq!(r.title, "Queue bound");
    }

    #[test]
    fn two_ids_in_one_block_is_an_error() {
        let parsed = parse("\n- A MUST hold. [ORCH-1001] [ORCH-1002]\n");
        assert!(parsed.requirements.is_empty());
        assert_eq!(
            errors(&parsed),
            [
                "spec.md:2: error: one block defines 2 IDs ([ORCH-1001], [ORCH-1002]); a block defines at most one requirement"
            ]
        );
        let twice = parse("- A MUST hold. [ORCH-1001] [ORCH-1001]\n");
        assert_eq!(errors(&twice).len(), 1);
    }

    #[test]
    fn nested_items_are_their_own_blocks_when_they_define() {
        let src = "\
- The queue MUST be bounded: [ORCH-1001]
  - per pool,
  - per priority.
- Parent SHOULD hold. [ORCH-1002]
  - Child MUST hold. [ORCH-1003]
";
        let parsed = parse(src);
        let got: Vec<_> = parsed
            .requirements
            .iter()
            .map(|r| (r.id.as_str(), r.text.as_str(), r.line))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "ORCH-1001",
                    "The queue MUST be bounded: per pool, per priority.",
                    1
                ),
                ("ORCH-1003", "Child MUST hold.", 5),
                ("ORCH-1002", "Parent SHOULD hold.", 4),
            ]
        );
        assert!(errors(&parsed).is_empty());
    }

    #[test]
    fn multi_paragraph_list_item_is_one_block() {
        let src =
            "- First paragraph MUST hold. [ORCH-1001]\n\n  Second paragraph of the same item.\n";
        let r = only(src);
        assert_eq!(
            r.text,
            "First paragraph MUST hold. Second paragraph of the same item."
        );
    }

    #[test]
    fn table_cells_do_not_define_but_warn() {
        let src = "| a | b |\n|---|---|\n| [ORCH-1001] MUST | x |\n";
        let parsed = parse(src);
        assert!(parsed.requirements.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].severity, Severity::Warning);
        assert_eq!(parsed.diagnostics[0].line, Some(3));
    }

    #[test]
    fn sections_follow_github_anchors_with_repeats_and_setext() {
        let src = "\
Spec title
==========

## 3.16 API contracts & determinism

- Streams MUST match. [ORCH-3050]

## Notes

## Notes

- Later MAY apply. [ORCH-3051]

Setext `code` [link](x) section
-------------------------------

- It MUST hold. [ORCH-3052]
";
        let parsed = parse(src);
        assert_eq!(parsed.title.as_deref(), Some("Spec title"));
        let got: Vec<_> = parsed
            .requirements
            .iter()
            .map(|r| (r.section.as_str(), r.anchor.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "3.16 API contracts & determinism",
                    "316-api-contracts--determinism"
                ),
                ("Notes", "notes-1"),
                ("Setext code link section", "setext-code-link-section"),
            ]
        );
    }

    #[test]
    fn heading_anchor_ignores_images_and_emoji() {
        let src = "## 🚀 Launch ![logo](x.png) plan\n\n- It MUST go. [ORCH-1001]\n";
        assert_eq!(only(src).anchor, "-launch--plan");
    }

    #[test]
    fn lines_are_one_based_block_starts() {
        let src = "# T\n\nIntro.\n\n- a MUST x\n  continued. [ORCH-1001]\n\n\n> quoted MAY y [ORCH-1002]\n";
        let parsed = parse(src);
        let lines: Vec<_> = parsed.requirements.iter().map(|r| r.line).collect();
        assert_eq!(lines, [5, 9]);
    }

    #[test]
    fn empty_requirement_text_is_an_error() {
        let parsed = parse("- [ORCH-1001]\n");
        assert_eq!(
            errors(&parsed),
            ["spec.md:1: error: ORCH-1001 has no text besides its ID"]
        );
    }

    #[test]
    fn long_first_sentence_titles_are_shortened_at_a_word() {
        let long = "word ".repeat(40);
        let r = only(&format!("- The {long}MUST end. [ORCH-1001]\n"));
        assert!(r.title.ends_with('…'), "{}", r.title);
        assert!(r.title.chars().count() <= MAX_TITLE_CHARS + 1);
    }

    #[test]
    fn strip_token_joins_neighbours() {
        assert_eq!(strip_token("a [X-1] b", "X-1"), "a b");
        assert_eq!(strip_token("a [X-1].", "X-1"), "a.");
        assert_eq!(strip_token("[X-1] a", "X-1"), "a");
        assert_eq!(strip_token("a [X-1]", "X-1"), "a");
    }
}
