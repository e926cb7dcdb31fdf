//! What `spectrace links` prints (pure): one `file:line → target: reason` line per broken link,
//! one `file:line → url` line per external URL, and the summary.

use super::check::Outcome;

/// One line per broken link, in the outcome's (sorted) order.
pub fn broken_lines(outcome: &Outcome) -> String {
    outcome
        .broken
        .iter()
        .map(|b| format!("{}:{} → {}: {}\n", b.file, b.line, b.target, b.reason))
        .collect()
}

/// One line per external URL, in the outcome's (sorted) order.
pub fn external_lines(outcome: &Outcome) -> String {
    outcome
        .external
        .iter()
        .map(|e| format!("{}:{} → {}\n", e.file, e.line, e.url))
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `3 files, 40 local links checked, 2 external URLs listed (not fetched): 1 broken`.
pub fn summary(outcome: &Outcome) -> String {
    let external = if outcome.online {
        format!(
            "{} checked online",
            plural(outcome.external.len(), "external URL")
        )
    } else {
        format!(
            "{} listed (not fetched; --online fetches them)",
            plural(outcome.external.len(), "external URL")
        )
    };
    let verdict = if outcome.broken.is_empty() {
        "no broken link".to_owned()
    } else {
        format!("{} broken", outcome.broken.len())
    };
    format!(
        "{}, {} checked, {external}: {verdict}",
        plural(outcome.files, "file"),
        plural(outcome.local, "local link"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::check::{Broken, External};
    use super::*;

    #[test]
    fn lines_and_summary() {
        let outcome = Outcome {
            files: 2,
            local: 1,
            online: false,
            broken: vec![Broken {
                file: "README.md".to_owned(),
                line: 7,
                target: "x.md#a".to_owned(),
                reason: "no heading anchor `#a`".to_owned(),
            }],
            external: vec![External {
                file: "README.md".to_owned(),
                line: 9,
                url: "https://example.org".to_owned(),
            }],
        };
        assert_eq!(
            broken_lines(&outcome),
            "README.md:7 → x.md#a: no heading anchor `#a`\n"
        );
        assert_eq!(
            external_lines(&outcome),
            "README.md:9 → https://example.org\n"
        );
        assert_eq!(
            summary(&outcome),
            "2 files, 1 local link checked, 1 external URL listed (not fetched; --online fetches \
             them): 1 broken"
        );
        let clean = Outcome {
            files: 1,
            ..Outcome::default()
        };
        assert_eq!(
            summary(&clean),
            "1 file, 0 local links checked, 0 external URLs listed (not fetched; --online \
             fetches them): no broken link"
        );
    }
}
