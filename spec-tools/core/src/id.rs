//! Requirement ID patterns: what an ID looks like, where it defines a requirement
//! (`[ORCH-3004]`) and where it only refers to one (a bare `ORCH-3004`).

use std::cmp::Ordering;

use regex::Regex;

/// The default ID pattern, used when neither the command line nor `spectrace.toml` sets one.
pub const DEFAULT_ID_PATTERN: &str = "ORCH-[0-9]{4}";

/// A compiled ID pattern.
#[derive(Debug, Clone)]
pub struct IdPattern {
    source: String,
    whole: Regex,
    definition: Regex,
    reference: Regex,
}

impl IdPattern {
    /// Compiles `pattern` (a regular expression for one whole ID, such as `ORCH-[0-9]{4}` or
    /// `(ORCH|OC-[A-Z]+)-[0-9]{4}`). Rejects patterns that do not compile or that match the
    /// empty string.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let compile = |re: String| {
            Regex::new(&re).map_err(|e| format!("invalid ID pattern `{pattern}`: {e}"))
        };
        let whole = compile(format!("^(?:{pattern})$"))?;
        if whole.is_match("") {
            return Err(format!(
                "invalid ID pattern `{pattern}`: it matches the empty string"
            ));
        }
        Ok(Self {
            source: pattern.to_owned(),
            whole,
            definition: compile(format!(r"\[((?:{pattern}))\]"))?,
            // ASCII word boundaries: fast on non-ASCII text, and IDs are ASCII.
            reference: compile(format!(r"(?-u:\b)(?:{pattern})(?-u:\b)"))?,
        })
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when `candidate` is exactly one ID.
    pub fn is_id(&self, candidate: &str) -> bool {
        self.whole.is_match(candidate)
    }

    /// Every bracketed ID token `[ID]` in `text`, in order, as the IDs (without brackets).
    pub fn definitions<'s, 't>(
        &'s self,
        text: &'t str,
    ) -> impl Iterator<Item = &'t str> + use<'s, 't> {
        // The match is `[ID]`: the ID is the match without its two one-byte brackets, so no
        // capture groups need resolving (slower than finding the match).
        self.definition
            .find_iter(text)
            .filter_map(|m| m.as_str().get(1..m.as_str().len() - 1))
    }

    /// Every ID mentioned in `text` as a whole word, bracketed or not, in order.
    pub fn mentions<'s, 't>(
        &'s self,
        text: &'t str,
    ) -> impl Iterator<Item = &'t str> + use<'s, 't> {
        self.reference.find_iter(text).map(|m| m.as_str())
    }

    /// `text` without its first bracketed `[id]` token.
    pub fn strip_definition(&self, text: &str, id: &str) -> String {
        text.replacen(&format!("[{id}]"), " ", 1)
    }
}

/// Orders IDs naturally: runs of digits compare by value, so `ORCH-999` < `ORCH-1000`;
/// equal-valued IDs fall back to plain string order, so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.chars().next(), y.chars().next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let xe = x.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(x.len());
                let ye = y.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(y.len());
                let (xn, yn) = (
                    x[..xe].trim_start_matches('0'),
                    y[..ye].trim_start_matches('0'),
                );
                let by_value = xn.len().cmp(&yn.len()).then_with(|| xn.cmp(yn));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                x = &x[xe..];
                y = &y[ye..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x = &x[c.len_utf8()..];
                y = &y[d.len_utf8()..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pattern_matches_whole_ids_only() {
        let p = IdPattern::new(DEFAULT_ID_PATTERN).unwrap();
        assert!(p.is_id("ORCH-3004"));
        assert!(!p.is_id("ORCH-304"));
        assert!(!p.is_id("ORCH-30045"));
        assert!(!p.is_id("orch-3004"));
    }

    #[test]
    fn alternation_patterns_are_grouped() {
        let p = IdPattern::new("(ORCH|OC-[A-Z]+)-[0-9]{4}").unwrap();
        assert!(p.is_id("OC-ADAPT-5001"));
        assert!(p.is_id("ORCH-1001"));
        assert!(!p.is_id("OC-1001"));
        let defs: Vec<_> = p.definitions("a [OC-CORE-1001] b [ORCH-1002]").collect();
        assert_eq!(defs, ["OC-CORE-1001", "ORCH-1002"]);
    }

    #[test]
    fn definitions_need_brackets_and_mentions_need_word_boundaries() {
        let p = IdPattern::new(DEFAULT_ID_PATTERN).unwrap();
        assert_eq!(p.definitions("see ORCH-3004").count(), 0);
        assert_eq!(
            p.definitions("[ORCH-3004]").collect::<Vec<_>>(),
            ["ORCH-3004"]
        );
        assert_eq!(p.definitions("[ORCH-30041]").count(), 0);
        let mentions: Vec<_> = p
            .mentions("ORCH-3004, XORCH-3005, ORCH-30061 and [ORCH-3007]")
            .collect();
        assert_eq!(mentions, ["ORCH-3004", "ORCH-3007"]);
    }

    #[test]
    fn bad_patterns_are_rejected_with_a_reason() {
        assert!(
            IdPattern::new("ORCH-[0-9")
                .unwrap_err()
                .contains("invalid ID pattern")
        );
        assert!(
            IdPattern::new("[A-Z]*")
                .unwrap_err()
                .contains("empty string")
        );
    }

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut ids = vec![
            "ORCH-1000",
            "ORCH-999",
            "ORCH-2001",
            "OC-A-0002",
            "ORCH-0999",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            [
                "OC-A-0002",
                "ORCH-0999",
                "ORCH-999",
                "ORCH-1000",
                "ORCH-2001"
            ]
        );
    }
}
