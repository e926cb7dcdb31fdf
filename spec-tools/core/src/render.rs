//! Serializing the requirement set: YAML (the committed `requirements/index.yaml`) or JSON.
//! Both are deterministic: same set, same bytes, with a trailing newline.
//!
//! YAML strings are written on one line (quoted when needed), never as folded blocks: a
//! reworded requirement then shows in a review as a one-line change instead of a re-wrapped
//! paragraph.

use serde::Serialize;

/// Output format of a generated data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML 1.2, block style.
    Yaml,
    /// Pretty-printed JSON.
    Json,
}

/// Serializes `value` in `format`.
pub fn to_text<T: Serialize>(value: &T, format: Format) -> Result<String, String> {
    to_text_sized(value, format, 0)
}

/// [`to_text`] into a buffer of `capacity` bytes to start with: a good guess at the size of a
/// large output saves copying megabytes each time a growing buffer doubles.
pub fn to_text_sized<T: Serialize>(
    value: &T,
    format: Format,
    capacity: usize,
) -> Result<String, String> {
    let mut text = String::with_capacity(capacity);
    match format {
        Format::Yaml => {
            let mut options = serde_saphyr::SerializerOptions::default();
            options.prefer_block_scalars = false;
            serde_saphyr::to_fmt_writer_with_options(&mut text, value, options)
                .map_err(|e| e.to_string())?;
        }
        Format::Json => {
            let mut bytes = text.into_bytes();
            serde_json::to_writer_pretty(&mut bytes, value).map_err(|e| e.to_string())?;
            text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::model::{Requirement, RequirementIndex, SpecSummary};

    fn index() -> RequirementIndex {
        RequirementIndex {
            schema_version: 1,
            specs: vec![SpecSummary {
                path: ".specs/a.md".into(),
                title: "A: spec".into(),
                requirements: 1,
            }],
            requirements: vec![Requirement {
                id: "ORCH-1000".into(),
                level: Level::Must,
                keyword: Some("MUST".into()),
                title: "Quotes ' and \" and: colons".into(),
                text: "A long text that MUST survive a round trip through YAML unchanged, even when it is longer than eighty characters and has # hashes.".into(),
                spec: ".specs/a.md".into(),
                line: 3,
                section: "3.2 Queues & admission".into(),
                anchor: "32-queues--admission".into(),
                fingerprint: "0123456789abcdef".into(),
                references: vec![],
            }],
        }
    }

    #[test]
    fn yaml_round_trips_and_is_stable() {
        let text = to_text(&index(), Format::Yaml).unwrap();
        assert!(text.starts_with("schema_version: 1\n"), "{text}");
        assert_eq!(text, to_text(&index(), Format::Yaml).unwrap());
        let back: RequirementIndex = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, index());
    }

    #[test]
    fn json_round_trips() {
        let text = to_text(&index(), Format::Json).unwrap();
        assert!(text.ends_with("}\n"));
        let back: RequirementIndex = serde_json::from_str(&text).unwrap();
        assert_eq!(back, index());
    }
}
