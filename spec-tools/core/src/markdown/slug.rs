//! GitHub heading anchors ("slugs"), exactly as GitHub renders them.
//!
//! GitHub lower-cases the heading's plain text, drops every character that is not a word
//! character (a letter, a combining mark, a decimal digit, connector punctuation such as `_`),
//! a space or a hyphen, and turns each space into a hyphen. Runs of hyphens are kept as they are:
//! `3.16 API contracts & determinism` becomes `316-api-contracts--determinism`. A heading whose
//! slug was already used in the same document gets `-1`, `-2`, … appended, skipping suffixes
//! that collide with a slug already taken.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// Characters GitHub removes from a heading before slugging it.
static NOT_SLUG_CHAR: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a literal known to compile; a failure here is a programming error caught
    // by every test that slugs anything.
    #[allow(clippy::expect_used)]
    Regex::new(r"[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control} -]").expect("valid slug regex")
});

/// The slug of one heading text, without de-duplication.
pub fn slug(heading_text: &str) -> String {
    let lowered = heading_text.to_lowercase();
    NOT_SLUG_CHAR.replace_all(&lowered, "").replace(' ', "-")
}

/// Hands out unique slugs for the headings of one document, in document order.
#[derive(Debug, Default)]
pub struct Slugger {
    /// For each slug handed out or used as a base, how many times its base was repeated.
    occurrences: HashMap<String, usize>,
}

impl Slugger {
    /// A slugger for a new document.
    pub fn new() -> Self {
        Self::default()
    }

    /// The unique slug for the next heading with this text.
    pub fn slug(&mut self, heading_text: &str) -> String {
        let base = slug(heading_text);
        let mut candidate = base.clone();
        while self.occurrences.contains_key(&candidate) {
            let count = self.occurrences.entry(base.clone()).or_insert(0);
            *count += 1;
            candidate = format!("{base}-{count}");
        }
        self.occurrences.insert(candidate.clone(), 0);
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_is_dropped_and_hyphen_runs_are_kept() {
        assert_eq!(
            slug("3.16 API contracts & determinism"),
            "316-api-contracts--determinism"
        );
        assert_eq!(slug("2.1 Data plane"), "21-data-plane");
        assert_eq!(slug("0. Scope & goals"), "0-scope--goals");
        assert_eq!(slug("What's new? (v2)"), "whats-new-v2");
        assert_eq!(slug("a -- b"), "a----b");
        assert_eq!(slug("snake_case_name"), "snake_case_name");
    }

    #[test]
    fn unicode_letters_are_kept_and_lower_cased() {
        assert_eq!(slug("Über Größe"), "über-größe");
        assert_eq!(slug("Привет non-latin 你好"), "привет-non-latin-你好");
        assert_eq!(slug("ΣΊΣΥΦΟΣ"), "σίσυφος");
        // Combining marks stay (e + U+0301).
        assert_eq!(slug("Cafe\u{301}"), "cafe\u{301}");
    }

    #[test]
    fn emoji_and_symbols_are_dropped() {
        assert_eq!(slug("😄 emoji"), "-emoji");
        assert_eq!(slug("Rocket 🚀 launch"), "rocket--launch");
        assert_eq!(slug("x² ½ ©"), "x--");
    }

    #[test]
    fn repeated_headings_get_numbered_suffixes() {
        let mut s = Slugger::new();
        assert_eq!(s.slug("foo"), "foo");
        assert_eq!(s.slug("foo"), "foo-1");
        assert_eq!(s.slug("bar"), "bar");
        assert_eq!(s.slug("foo"), "foo-2");
        // A heading whose own slug is `foo-3` blocks that suffix for later repeats.
        assert_eq!(s.slug("foo-3"), "foo-3");
        assert_eq!(s.slug("foo"), "foo-4");
    }

    #[test]
    fn a_suffix_that_collides_with_an_earlier_heading_is_skipped() {
        let mut s = Slugger::new();
        assert_eq!(s.slug("foo-1"), "foo-1");
        assert_eq!(s.slug("foo"), "foo");
        assert_eq!(s.slug("foo"), "foo-2");
    }

    #[test]
    fn empty_headings_are_deduplicated_too() {
        let mut s = Slugger::new();
        assert_eq!(s.slug("🎉"), "");
        assert_eq!(s.slug("🎉"), "-1");
    }
}
