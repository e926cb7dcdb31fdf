//! The mutants cargo-mutants generates (`cargo mutants --list --json`), and applying one to a
//! source file.
//!
//! cargo-mutants is used only to *generate* mutants: its list gives, for each, the file, the
//! span it replaces (1-based lines and 1-based character columns, the end exclusive), the
//! replacement text and a name such as `src/queue.rs:89:32: replace + with - in
//! AdmissionQueue::len`. spectrace applies the replacement itself ([`apply`]), builds, and runs
//! only the evidence of the requirement whose code the mutant sits in.

use serde::{Deserialize, Serialize};

/// Appended after a replacement, as cargo-mutants marks its own edits, so that a mutated file
/// left behind by a killed run is recognizable.
pub const MARKER: &str = "/* ~ changed by spectrace strength ~ */";

/// A position in a file: 1-based line, 1-based character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

/// What a mutant replaces: from `start` up to, not including, `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// First character.
    pub start: Position,
    /// Just past the last character.
    pub end: Position,
}

/// The function a mutant is in, as cargo-mutants names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// `Type::method` or `function`.
    pub function_name: String,
}

/// One mutant of cargo-mutants' list (fields spectrace does not use are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutant {
    /// cargo-mutants' name: `file:line:column: replace … with …`.
    pub name: String,
    /// File, relative to the workspace root.
    pub file: String,
    /// The package the file belongs to.
    pub package: String,
    /// `FnValue`, `BinaryOperator`, `UnaryOperator`, `MatchArm`, …
    pub genre: String,
    /// The text that replaces the span.
    pub replacement: String,
    /// What is replaced.
    pub span: Span,
    /// The function it is in, when it is in one.
    #[serde(default)]
    pub function: Option<Function>,
}

/// Parses the output of `cargo mutants --list --json`.
pub fn parse_list(json: &str) -> Result<Vec<Mutant>, String> {
    serde_json::from_str(json).map_err(|e| format!("cannot read cargo-mutants' list: {e}"))
}

/// The byte offset of `position` in `source`, when it is inside it (the end of a line and the
/// end of the text count).
fn offset(source: &str, position: Position) -> Option<usize> {
    let line_start = if position.line == 1 {
        0
    } else {
        source
            .match_indices('\n')
            .nth(usize::try_from(position.line).ok()?.checked_sub(2)?)?
            .0
            + 1
    };
    let line = &source[line_start..];
    let line_end = line.find('\n').unwrap_or(line.len());
    let column = usize::try_from(position.column).ok()?.checked_sub(1)?;
    let within = line[..line_end]
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(line_end))
        .nth(column)?;
    Some(line_start + within)
}

/// `source` with the mutant's span replaced by its replacement and [`MARKER`], or why the span
/// is not in `source` (the file changed since the list was made).
pub fn apply(source: &str, mutant: &Mutant) -> Result<String, String> {
    let start = offset(source, mutant.span.start);
    let end = offset(source, mutant.span.end);
    match (start, end) {
        (Some(start), Some(end)) if start <= end => {
            let mut mutated = String::with_capacity(source.len() + mutant.replacement.len() + 40);
            mutated.push_str(&source[..start]);
            mutated.push_str(&mutant.replacement);
            mutated.push(' ');
            mutated.push_str(MARKER);
            mutated.push_str(&source[end..]);
            Ok(mutated)
        }
        _ => Err(format!(
            "{}: the span {}:{}–{}:{} is not in the file; list the mutants again",
            mutant.file,
            mutant.span.start.line,
            mutant.span.start.column,
            mutant.span.end.line,
            mutant.span.end.column
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"[
      {"diff": "…", "file": "src/queue.rs",
       "function": {"function_name": "AdmissionQueue::len", "return_type": "-> usize",
                    "span": {"start": {"line": 3, "column": 5}, "end": {"line": 5, "column": 6}}},
       "genre": "BinaryOperator",
       "name": "src/queue.rs:4:32: replace + with - in AdmissionQueue::len",
       "package": "orchestrator-core", "replacement": "-",
       "span": {"start": {"line": 4, "column": 32}, "end": {"line": 4, "column": 33}}},
      {"file": "src/queue.rs", "genre": "FnValue",
       "name": "src/queue.rs:4:9: replace AdmissionQueue::len -> usize with 0",
       "package": "orchestrator-core", "replacement": "0",
       "span": {"start": {"line": 4, "column": 9}, "end": {"line": 4, "column": 50}}}
    ]"#;

    const SOURCE: &str = "impl AdmissionQueue {\n    /// Queued tasks of both classes — «all».\n    pub fn len(&self) -> usize {\n        self.interactive.len() + self.batch.len()\n    }\n}\n";

    #[test]
    fn the_list_parses_and_mutants_apply_at_their_character_columns() {
        let mutants = parse_list(LIST).unwrap();
        assert_eq!(mutants.len(), 2);
        assert_eq!(
            mutants[0]
                .function
                .as_ref()
                .map(|f| f.function_name.as_str()),
            Some("AdmissionQueue::len")
        );
        let minus = apply(SOURCE, &mutants[0]).unwrap();
        assert!(minus.contains(&format!(
            "self.interactive.len() - {MARKER} self.batch.len()"
        )));
        let zero = apply(SOURCE, &mutants[1]).unwrap();
        assert!(
            zero.contains(&format!("        0 {MARKER}\n    }}")),
            "{zero}"
        );
        // Everything else is untouched.
        assert!(
            zero.starts_with(
                "impl AdmissionQueue {\n    /// Queued tasks of both classes — «all».\n"
            )
        );
    }

    #[test]
    fn a_span_outside_the_file_is_an_error_not_a_panic() {
        let mut mutants = parse_list(LIST).unwrap();
        mutants[0].span.start.line = 40;
        assert!(
            apply(SOURCE, &mutants[0])
                .unwrap_err()
                .contains("list the mutants again")
        );
        mutants[1].span.end.column = 500;
        assert!(apply(SOURCE, &mutants[1]).is_err());
        assert!(parse_list("{").is_err());
    }
}
