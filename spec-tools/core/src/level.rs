//! RFC 2119 / RFC 8174 requirement levels.
//!
//! Only upper-case keywords are normative (RFC 8174). The level of a requirement is that of the
//! strongest keyword in its text; the keyword reported is the first occurrence, as written, of
//! that strength.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// How strongly a requirement binds an implementation.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// MUST, MUST NOT, SHALL, SHALL NOT, REQUIRED.
    Must,
    /// SHOULD, SHOULD NOT, RECOMMENDED, NOT RECOMMENDED.
    Should,
    /// MAY, OPTIONAL.
    May,
    /// No keyword: informative text that happens to carry an ID.
    Info,
}

impl Level {
    /// Every level, strongest first.
    pub const ALL: [Level; 4] = [Level::Must, Level::Should, Level::May, Level::Info];

    /// The lower-case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
            Level::Info => "info",
        }
    }

    /// How reports show the level: RFC 2119 levels in capitals, `info` as is.
    pub fn label(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Info => "info",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Upper-case RFC 2119 keywords as whole words; two-word forms first so that they win over
/// their one-word prefixes at the same position. Word boundaries are ASCII ones: the keywords
/// are ASCII, and Unicode boundaries would push the regex engine off its fast path on any
/// non-ASCII text.
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used, reason = "a literal pattern, exercised by every test")]
    Regex::new(
        r"(?-u:\b)(?:MUST NOT|SHALL NOT|SHOULD NOT|NOT RECOMMENDED|MUST|SHALL|REQUIRED|SHOULD|RECOMMENDED|MAY|OPTIONAL)(?-u:\b)",
    )
    .expect("valid keyword regex")
});

fn level_of_keyword(keyword: &str) -> Level {
    match keyword {
        "MUST" | "MUST NOT" | "SHALL" | "SHALL NOT" | "REQUIRED" => Level::Must,
        "SHOULD" | "SHOULD NOT" | "RECOMMENDED" | "NOT RECOMMENDED" => Level::Should,
        _ => Level::May,
    }
}

/// The level and the keyword (as written) of a requirement's plain text, whose whitespace has
/// already been collapsed to single spaces. `None` when the text has no keyword.
pub fn strongest_keyword(text: &str) -> Option<(Level, &str)> {
    let mut best: Option<(Level, &str)> = None;
    for found in KEYWORD.find_iter(text) {
        let keyword = found.as_str();
        let level = level_of_keyword(keyword);
        if best.is_none_or(|(strongest, _)| level < strongest) {
            best = Some((level, keyword));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_keyword_wins() {
        assert_eq!(
            strongest_keyword("It MAY retry and MUST log."),
            Some((Level::Must, "MUST"))
        );
        assert_eq!(
            strongest_keyword("It SHOULD retry; it MAY log."),
            Some((Level::Should, "SHOULD"))
        );
        assert_eq!(
            strongest_keyword("Support is OPTIONAL."),
            Some((Level::May, "OPTIONAL"))
        );
    }

    #[test]
    fn two_word_keywords_are_reported_as_written() {
        assert_eq!(
            strongest_keyword("A token MUST NOT follow cancel."),
            Some((Level::Must, "MUST NOT"))
        );
        assert_eq!(
            strongest_keyword("It is NOT RECOMMENDED to poll."),
            Some((Level::Should, "NOT RECOMMENDED"))
        );
        assert_eq!(
            strongest_keyword("Retries SHALL NOT exceed 3."),
            Some((Level::Must, "SHALL NOT"))
        );
        assert_eq!(
            strongest_keyword("It SHOULD NOT block."),
            Some((Level::Should, "SHOULD NOT"))
        );
    }

    #[test]
    fn the_first_keyword_of_the_strongest_level_is_reported() {
        assert_eq!(
            strongest_keyword("It SHALL stay; it MUST NOT leave."),
            Some((Level::Must, "SHALL"))
        );
        assert_eq!(
            strongest_keyword("A field is REQUIRED and MUST be set."),
            Some((Level::Must, "REQUIRED"))
        );
    }

    #[test]
    fn lower_case_and_embedded_words_carry_no_level() {
        assert_eq!(strongest_keyword("the server must respond"), None);
        assert_eq!(strongest_keyword("It Should work"), None);
        assert_eq!(strongest_keyword("MUSTARD and MAYBE and UNREQUIRED"), None);
        assert_eq!(strongest_keyword(""), None);
    }

    #[test]
    fn levels_order_strongest_first() {
        assert!(Level::Must < Level::Should);
        assert!(Level::Should < Level::May);
        assert!(Level::May < Level::Info);
    }
}
