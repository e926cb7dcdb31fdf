//! Which `#fragment`s a link target accepts, decided exactly as GitHub decides it (pure logic).
//!
//! - Markdown: the GitHub anchors of its headings ([`spectrace_core::markdown::headings`], the
//!   same anchors the extract stage and the site give them), and the `id`/`name` attributes of
//!   HTML written in the file (GitHub serves both
//!   with a `user-content-` prefix that its script resolves, so a link may carry the prefix or
//!   not). lychee-lib's own Markdown slugs differ from GitHub's (see `check.rs`), so they are
//!   not used.
//! - Files that are neither Markdown nor HTML: GitHub's line anchors `#L12`, `#L12-L20` (also
//!   with `C` columns), with every line inside the file.
//!
//! HTML targets are checked by lychee-lib (element ids), not here.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Event, Parser};
use regex::Regex;
use spectrace_core::markdown;

/// `id="…"` or `name="…"` in HTML written inside Markdown.
static HTML_ID: LazyLock<Regex> = LazyLock::new(|| {
    // A literal known to compile; every test that reads inline HTML would catch a typo.
    #[allow(clippy::expect_used)]
    Regex::new(r#"(?i)(?:^|[\s<])(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
        .expect("valid HTML id regex")
});

/// `L12`, `L12C3`, `L12-L20`, `L12C3-L20C1`: a GitHub line anchor on a file.
static LINE_ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(r"^L([0-9]+)(?:C[0-9]+)?(?:-L([0-9]+)(?:C[0-9]+)?)?$").expect("valid line regex")
});

/// Every fragment a link into this Markdown text may name.
pub fn markdown_anchors(source: &str) -> HashSet<String> {
    let mut anchors: HashSet<String> = markdown::headings(source)
        .into_iter()
        .map(|heading| heading.anchor)
        .collect();
    for event in Parser::new_ext(source, markdown::options()) {
        if let Event::Html(html) | Event::InlineHtml(html) = event {
            for caps in HTML_ID.captures_iter(&html) {
                if let Some(id) = caps.get(1).or(caps.get(2)).or(caps.get(3)) {
                    anchors.insert(id.as_str().to_owned());
                }
            }
        }
    }
    anchors
}

/// Why `fragment` (percent-decoded) does not name a place in a Markdown file with these
/// anchors, or `None` when it does.
pub fn check_markdown_fragment(anchors: &HashSet<String>, fragment: &str) -> Option<String> {
    if fragment.is_empty() || fragment.eq_ignore_ascii_case("top") {
        return None;
    }
    let bare = fragment.strip_prefix("user-content-").unwrap_or(fragment);
    if anchors.contains(bare) {
        return None;
    }
    let lower = bare.to_lowercase();
    if lower != bare && anchors.contains(&lower) {
        return Some(format!(
            "no heading anchor `#{fragment}` (anchors are lower-case: `#{lower}`)"
        ));
    }
    Some(format!("no heading anchor `#{fragment}`"))
}

/// Why `fragment` is not a GitHub line anchor inside a file of `lines` lines, or `None` when
/// it is one.
pub fn check_line_fragment(fragment: &str, lines: usize) -> Option<String> {
    if fragment.is_empty() {
        return None;
    }
    let Some(caps) = LINE_ANCHOR.captures(fragment) else {
        return Some(format!(
            "`#{fragment}` is not a line anchor (`#L12`, `#L12-L20`) and the file is neither \
             Markdown nor HTML"
        ));
    };
    let numbers = [caps.get(1), caps.get(2)];
    for number in numbers.into_iter().flatten() {
        let line: usize = number.as_str().parse().unwrap_or(usize::MAX);
        if line == 0 || line > lines {
            return Some(format!(
                "line {} is outside the file ({lines} line{})",
                number.as_str(),
                if lines == 1 { "" } else { "s" }
            ));
        }
    }
    None
}

/// The number of lines of a file's bytes, as GitHub numbers them (a final newline does not
/// start a line).
pub fn line_count(bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        return 0;
    }
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    if bytes.ends_with(b"\n") {
        newlines
    } else {
        newlines + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(set: &HashSet<String>) -> Vec<&str> {
        let mut v: Vec<&str> = set.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn headings_get_github_slugs_with_hyphen_runs_kept() {
        let anchors = markdown_anchors("# Spec\n\n## 3.16 API contracts & determinism\n\ntext\n");
        assert_eq!(sorted(&anchors), ["316-api-contracts--determinism", "spec"]);
        assert!(check_markdown_fragment(&anchors, "316-api-contracts--determinism").is_none());
        let reason = check_markdown_fragment(&anchors, "316-api-contracts-determinism");
        assert_eq!(
            reason.as_deref(),
            Some("no heading anchor `#316-api-contracts-determinism`")
        );
    }

    #[test]
    fn repeated_headings_are_numbered_and_setext_headings_count() {
        let anchors = markdown_anchors("## Notes\n\n## Notes\n\nNotes\n-----\n\n# Notes-1\n");
        // Document order decides: `notes-1` is taken by the second `Notes` when the heading
        // `Notes-1` comes, so that one becomes `notes-1-1`.
        assert_eq!(
            sorted(&anchors),
            ["notes", "notes-1", "notes-1-1", "notes-2"]
        );
    }

    #[test]
    fn heading_text_includes_code_and_link_text_but_not_image_alt() {
        let anchors = markdown_anchors("## The `links` [command](x.md) ![logo](l.png) *now*\n");
        assert_eq!(sorted(&anchors), ["the-links-command--now"]);
    }

    #[test]
    fn headings_in_code_blocks_are_not_anchors() {
        let anchors = markdown_anchors("```md\n# Not a heading\n```\n\n    # indented\n");
        assert!(anchors.is_empty(), "{anchors:?}");
    }

    #[test]
    fn html_ids_and_names_are_anchors_with_or_without_the_github_prefix() {
        let anchors = markdown_anchors(
            "<a name=\"legacy\"></a>\n\nText with <span id='inline'>x</span>.\n\n<div id=bare>\n</div>\n",
        );
        assert_eq!(sorted(&anchors), ["bare", "inline", "legacy"]);
        assert!(check_markdown_fragment(&anchors, "user-content-legacy").is_none());
        assert!(check_markdown_fragment(&anchors, "inline").is_none());
    }

    #[test]
    fn empty_and_top_fragments_always_resolve_and_case_matters() {
        let anchors = markdown_anchors("# Title\n");
        assert!(check_markdown_fragment(&anchors, "").is_none());
        assert!(check_markdown_fragment(&anchors, "top").is_none());
        assert_eq!(
            check_markdown_fragment(&anchors, "Title").as_deref(),
            Some("no heading anchor `#Title` (anchors are lower-case: `#title`)")
        );
    }

    #[test]
    fn unicode_headings_keep_letters_and_marks() {
        let anchors = markdown_anchors("## Über Größe\n\n## Cafe\u{301} x²\n");
        assert_eq!(sorted(&anchors), ["cafe\u{301}-x", "über-größe"]);
    }

    #[test]
    fn line_anchors_must_be_inside_the_file() {
        assert!(check_line_fragment("L3", 3).is_none());
        assert!(check_line_fragment("L1-L3", 3).is_none());
        assert!(check_line_fragment("L2C4-L3C1", 3).is_none());
        assert!(check_line_fragment("", 0).is_none());
        assert_eq!(
            check_line_fragment("L4", 3).as_deref(),
            Some("line 4 is outside the file (3 lines)")
        );
        assert_eq!(
            check_line_fragment("L1-L9", 1).as_deref(),
            Some("line 9 is outside the file (1 line)")
        );
        assert!(check_line_fragment("L0", 3).is_some());
        assert!(
            check_line_fragment("section", 3)
                .is_some_and(|r| r.contains("`#section` is not a line anchor"))
        );
    }

    #[test]
    fn line_count_ignores_a_final_newline() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a"), 1);
        assert_eq!(line_count(b"a\n"), 1);
        assert_eq!(line_count(b"a\nb"), 2);
        assert_eq!(line_count(b"a\n\n"), 2);
    }
}
