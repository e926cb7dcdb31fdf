//! `spectrace.toml`: where the specs are, what an ID looks like, where outputs go.
//! Every key has a default, so a repository without the file works; unknown keys are errors,
//! so a typo never silently falls back to a default.

use std::path::Path;

use serde::Deserialize;

use crate::diag::Diagnostic;
use crate::id::DEFAULT_ID_PATTERN;

/// File name of the configuration, at the repository root.
pub const CONFIG_FILE: &str = "spectrace.toml";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the specs are and how IDs look.
    pub specs: SpecsConfig,
    /// Where generated files go.
    pub outputs: OutputsConfig,
}

/// `[specs]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpecsConfig {
    /// Glob patterns, relative to the root, of the spec files.
    pub include: Vec<String>,
    /// Regular expression for one whole requirement ID.
    pub id_pattern: String,
}

impl Default for SpecsConfig {
    fn default() -> Self {
        Self {
            include: vec![".specs/**/*.md".to_owned()],
            id_pattern: DEFAULT_ID_PATTERN.to_owned(),
        }
    }
}

/// `[outputs]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    /// The requirement index written by `spectrace extract`.
    pub index: String,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        Self {
            index: "requirements/index.yaml".to_owned(),
        }
    }
}

impl Config {
    /// Parses the text of a configuration file; `name` is used in errors.
    pub fn parse(name: &str, text: &str) -> Result<Self, Diagnostic> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            Diagnostic::error(name, line, e.message().trim().to_owned())
        })
    }

    /// Loads `path` when given (it must exist), else `<root>/spectrace.toml` when it exists,
    /// else the defaults.
    pub fn load(root: &Path, path: Option<&Path>) -> Result<Self, Diagnostic> {
        let (path, required) = match path {
            Some(path) => (path.to_path_buf(), true),
            None => (root.join(CONFIG_FILE), false),
        };
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&name, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Self::default()),
            Err(e) => Err(Diagnostic::error(name, None, format!("cannot read: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("spectrace.toml", "").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.specs.include, [".specs/**/*.md"]);
        assert_eq!(c.specs.id_pattern, "ORCH-[0-9]{4}");
        assert_eq!(c.outputs.index, "requirements/index.yaml");
    }

    #[test]
    fn keys_override_defaults() {
        let c = Config::parse(
            "spectrace.toml",
            "[specs]\ninclude = [\"docs/*.md\"]\nid_pattern = \"OC-[0-9]{3}\"\n",
        )
        .unwrap();
        assert_eq!(c.specs.include, ["docs/*.md"]);
        assert_eq!(c.specs.id_pattern, "OC-[0-9]{3}");
        assert_eq!(c.outputs, OutputsConfig::default());
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let e = Config::parse("spectrace.toml", "[specs]\n\ninclud = []\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("unknown field"), "{}", e.message);
        assert!(e.to_string().starts_with("spectrace.toml:3: error:"));
    }

    #[test]
    fn missing_default_file_is_fine_but_missing_explicit_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(dir.path(), None).unwrap(), Config::default());
        let missing = dir.path().join("nope.toml");
        let e = Config::load(dir.path(), Some(&missing)).unwrap_err();
        assert!(e.message.starts_with("cannot read"), "{}", e.message);
    }
}
