//! The Markdown dialect spectrace reads, in one place: the extensions GitHub renders, the text
//! of a heading and its GitHub anchor. The extract stage, the site renderer and `spectrace
//! links` all parse through here, so a section anchor in `requirements/index.yaml`, an `id` on
//! the site and a `#fragment` the link checker accepts are the same string.
//!
//! - [`options`]: tables, strikethrough, task lists and footnotes; heading attributes stay off
//!   (GitHub does not support them and they would change anchors).
//! - [`HeadingText`]: what a heading's anchor is made from — its text, inline code and math,
//!   link text included; image descriptions and raw HTML left out; line breaks as `\n`.
//! - [`slug`]: GitHub's anchor of that text, with `-1`, `-2` for repeats ([`slug::Slugger`]).
//! - [`headings`]: every heading of a document with its text, anchor and line.

pub mod slug;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::lines::LineIndex;
use slug::Slugger;

/// The Markdown extensions GitHub renders (as far as requirements and anchors are concerned).
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// Collects the text of one heading from the events between its start and end.
#[derive(Debug, Default)]
pub struct HeadingText {
    text: String,
    image_depth: usize,
}

impl HeadingText {
    /// An empty heading.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one event of the heading's content.
    pub fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Start(Tag::Image { .. }) => self.image_depth += 1,
            Event::End(TagEnd::Image) => self.image_depth = self.image_depth.saturating_sub(1),
            Event::Text(text)
            | Event::Code(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
                if self.image_depth == 0 =>
            {
                self.text.push_str(text);
            }
            Event::SoftBreak | Event::HardBreak if self.image_depth == 0 => self.text.push('\n'),
            _ => {}
        }
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text, taken.
    pub fn into_text(self) -> String {
        self.text
    }
}

/// One heading of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// `#` → 1 … `######` → 6.
    pub level: u8,
    /// Its text ([`HeadingText`]).
    pub text: String,
    /// Its GitHub anchor, unique in the document.
    pub anchor: String,
    /// The line it starts on.
    pub line: usize,
}

/// Every heading of `source`, in document order.
pub fn headings(source: &str) -> Vec<Heading> {
    let lines = LineIndex::new(source);
    let mut slugger = Slugger::new();
    let mut out = Vec::new();
    let mut open: Option<(u8, usize, HeadingText)> = None;
    for (event, range) in Parser::new_ext(source, options()).into_offset_iter() {
        match &event {
            Event::Start(Tag::Heading { level, .. }) => {
                open = Some((
                    level_number(*level),
                    lines.line(range.start),
                    HeadingText::new(),
                ));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, line, text)) = open.take() {
                    let text = text.into_text();
                    out.push(Heading {
                        level,
                        anchor: slugger.slug(&text),
                        text,
                        line,
                    });
                }
            }
            _ => {
                if let Some((_, _, text)) = open.as_mut() {
                    text.event(&event);
                }
            }
        }
    }
    out
}

/// `HeadingLevel::H2` → 2.
pub fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_have_githubs_anchors_from_their_text_without_images() {
        let source = "# Title\n\n## 3.16 API contracts & determinism\n\n\
                      ## Title\n\n### `code` and [a link](x.md) ![logo](l.png) :tada:\n\n\
                      Setext\nheading\n-------\n";
        let found: Vec<(u8, String, String, usize)> = headings(source)
            .into_iter()
            .map(|h| (h.level, h.text, h.anchor, h.line))
            .collect();
        assert_eq!(
            found,
            [
                (1, "Title".into(), "title".into(), 1),
                (
                    2,
                    "3.16 API contracts & determinism".into(),
                    "316-api-contracts--determinism".into(),
                    3
                ),
                (2, "Title".into(), "title-1".into(), 5),
                (
                    3,
                    "code and a link  :tada:".into(),
                    "code-and-a-link--tada".into(),
                    7
                ),
                (2, "Setext\nheading".into(), "setextheading".into(), 9),
            ]
        );
    }
}
