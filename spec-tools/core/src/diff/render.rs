//! The two renderings of a [`RequirementDiff`]: Markdown to paste into a pull-request comment
//! (a summary line, then one section per kind of change; every piece of spec text escaped so
//! that Markdown characters and `|` in table cells stay text) and pretty JSON (the struct's
//! field names, lists in ID order). Pure and deterministic.

use super::{Entry, RequirementDiff, WordChange, WordOp};
use crate::compliance::Status;

/// Escapes text for Markdown, on one line: whitespace runs collapse to one space and every
/// ASCII punctuation character that Markdown could read as syntax gets a backslash (which
/// also keeps `|` from ending a table cell).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        if needs_escape(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The characters that can start or end Markdown syntax (or HTML, or an entity) anywhere in
/// a line; [`line_start`] handles the ones that matter only at the start of a line.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '<' | '>' | '|' | '!' | '&' | '#'
    )
}

/// Escaped text made safe at the start of a line: a leading `-`, `+` or `=`, or digits and
/// `.`/`)`, would start a list or an underline.
fn line_start(text: String) -> String {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let after_digits = text[digits..].chars().next();
    if text.starts_with(['-', '+', '=']) {
        format!("\\{text}")
    } else if digits > 0 && matches!(after_digits, Some('.' | ')')) {
        format!("{}\\{}", &text[..digits], &text[digits..])
    } else {
        text
    }
}

/// Inline code that survives any backtick in `text` and, inside a table, any `|`.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

fn status_cell(status: Option<Status>) -> String {
    match status {
        Some(s) => format!("{} {s}", s.icon()),
        None => "—".to_owned(),
    }
}

fn location(spec: &str, line: usize) -> String {
    code(&format!("{spec}:{line}"))
}

/// The word diff in Markdown: removed words as `~~old~~`, added ones as `**new**`, the
/// markers kept next to the words (whitespace outside them) so that they take effect.
pub fn words_markdown(words: &[WordChange]) -> String {
    let mut out = String::new();
    for w in words {
        let trimmed = w.text.trim();
        let lead = if w.text.starts_with(char::is_whitespace) {
            " "
        } else {
            ""
        };
        let trail = if w.text.ends_with(char::is_whitespace) && !trimmed.is_empty() {
            " "
        } else {
            ""
        };
        match w.op {
            WordOp::Equal => {
                out.push_str(lead);
                out.push_str(&escape(trimmed));
                out.push_str(trail);
            }
            // Whitespace alone removed: nothing to show.
            WordOp::Removed if trimmed.is_empty() => {}
            WordOp::Added if trimmed.is_empty() => out.push(' '),
            WordOp::Removed | WordOp::Added => {
                let marker = if w.op == WordOp::Removed { "~~" } else { "**" };
                // A replacement reads `~~old~~ **new**`.
                let after_removed = w.op == WordOp::Added && out.ends_with("~~");
                out.push_str(if after_removed { " " } else { lead });
                out.push_str(marker);
                out.push_str(&escape(trimmed));
                out.push_str(marker);
                out.push_str(trail);
            }
        }
    }
    // Runs of spaces where whitespace met whitespace.
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if c == ' ' && collapsed.ends_with(' ') {
            continue;
        }
        collapsed.push(c);
    }
    line_start(collapsed.trim().to_owned())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn entry_table(out: &mut String, entries: &[Entry], status_header: &str) {
    table(
        out,
        &["ID", "level", "title", "spec", status_header],
        entries.iter().map(|e| {
            vec![
                escape(&e.id),
                e.level.label().to_owned(),
                escape(&e.title),
                location(&e.spec, e.line),
                status_cell(e.status),
            ]
        }),
    );
}

/// A Markdown table: the header row, the separator row, then one row per list of cells
/// (already escaped).
fn table(out: &mut String, headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    out.push_str(&format!("| {} |\n", headers.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
}

/// The Markdown rendering, ending with one newline.
pub fn markdown(diff: &RequirementDiff) -> String {
    let c = &diff.counts;
    let mut out = format!("## Requirement changes since {}\n\n", code(&diff.base));
    for note in &diff.notes {
        out.push_str(&format!("> Note: {}\n\n", escape(note)));
    }
    if diff.is_empty() {
        out.push_str("No requirement changes.\n");
        return out;
    }
    out.push_str(&format!(
        "**{} added, {} removed, {} reworded, {}, {} ({})**\n",
        c.added,
        c.removed,
        c.reworded,
        plural(c.level_changed, "level change", "level changes"),
        plural(c.status_changed, "status change", "status changes"),
        plural(c.regressions, "regression", "regressions"),
    ));
    if !diff.added.is_empty() {
        out.push_str(&format!("\n### Added ({})\n\n", c.added));
        entry_table(&mut out, &diff.added, "status");
    }
    if !diff.removed.is_empty() {
        out.push_str(&format!("\n### Removed ({})\n\n", c.removed));
        entry_table(&mut out, &diff.removed, "status before");
    }
    if !diff.reworded.is_empty() {
        out.push_str(&format!(
            "\n### Reworded ({})\n\nRemoved words ~~struck through~~, added words **bold**.\n\n",
            c.reworded
        ));
        for r in &diff.reworded {
            out.push_str(&format!(
                "- **{}** {} ({}, fingerprint {} → {})  \n  {}\n",
                escape(&r.id),
                escape(&r.title),
                location(&r.spec, r.line),
                code(&r.old_fingerprint),
                code(&r.new_fingerprint),
                words_markdown(&r.words)
            ));
        }
    }
    if !diff.level_changed.is_empty() {
        out.push_str(&format!("\n### Level changed ({})\n\n", c.level_changed));
        table(
            &mut out,
            &["ID", "title", "spec", "before", "after"],
            diff.level_changed.iter().map(|l| {
                vec![
                    escape(&l.id),
                    escape(&l.title),
                    location(&l.spec, l.line),
                    l.before.label().to_owned(),
                    l.after.label().to_owned(),
                ]
            }),
        );
    }
    if !diff.status_changed.is_empty() {
        out.push_str(&format!("\n### Status changed ({})\n\n", c.status_changed));
        table(
            &mut out,
            &["ID", "level", "title", "spec", "before", "after"],
            diff.status_changed.iter().map(|s| {
                let worse = if s.regression { " (worse)" } else { "" };
                vec![
                    escape(&s.id),
                    s.level.label().to_owned(),
                    escape(&s.title),
                    location(&s.spec, s.line),
                    status_cell(Some(s.before)),
                    format!("{}{worse}", status_cell(Some(s.after))),
                ]
            }),
        );
    }
    out
}

/// The JSON rendering: pretty-printed, ending with one newline.
pub fn json(diff: &RequirementDiff) -> Result<String, String> {
    serde_json::to_string_pretty(diff)
        .map(|text| format!("{text}\n"))
        .map_err(|e| format!("cannot serialize the diff: {e}"))
}
