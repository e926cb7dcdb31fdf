//! Diagnostics: errors and warnings that name the `file:line` they are about.

use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The input is wrong; the command exits 2.
    Error,
    /// The input is suspicious; an error under `--strict`.
    Warning,
}

/// One problem found in the input, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Path relative to the root, or an absolute/config path when there is no better one.
    pub file: String,
    /// 1-based line, when the problem is on a line.
    pub line: Option<usize>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence; further locations are named inside it.
    pub message: String,
}

impl Diagnostic {
    /// An error at `file:line`.
    pub fn error(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    /// A YAML parse error of `file` as `cannot parse {what}: {reason}`, at the error's line
    /// when serde-saphyr knows it; the reason is the first line of its message, without the
    /// source snippet.
    pub fn yaml(file: impl Into<String>, what: &str, e: &serde_saphyr::Error) -> Self {
        let line = e.location().map(|l| l.line() as usize).filter(|l| *l > 0);
        let message = e.without_snippet().to_string();
        let reason = message.lines().next().unwrap_or_default().trim();
        Self::error(file, line, format!("cannot parse {what}: {reason}"))
    }

    /// A warning at `file:line`.
    pub fn warning(
        file: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line,
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    /// `file:line` (or `file` when there is no line).
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {severity}: {}", self.location(), self.message)
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_line() {
        let d = Diagnostic::error(".specs/a.md", Some(12), "duplicate ID");
        assert_eq!(d.to_string(), ".specs/a.md:12: error: duplicate ID");
        let w = Diagnostic::warning("spectrace.toml", None, "odd");
        assert_eq!(w.to_string(), "spectrace.toml: warning: odd");
    }
}
