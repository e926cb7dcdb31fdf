//! Serializing the requirement set: YAML (the committed `requirements/index.yaml`) or JSON.
//! Both are deterministic: same set, same bytes, with a trailing newline.
//!
//! YAML strings are written on one line (quoted when needed), never as folded blocks: a
//! reworded requirement then shows in a review as a one-line change instead of a re-wrapped
//! paragraph.

use serde::Serialize;

use crate::model::{RequirementIndex, SpecSummary};

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

/// Below this many requirements, the index is serialized in one piece.
const PARALLEL_FROM: usize = 1024;

/// `index` as YAML, byte for byte as [`to_text`] writes it. A large set is serialized in
/// parts on threads of their own (one part per core): the spec list and each run of
/// requirements are independent block-style YAML whose text does not depend on its
/// neighbours, so the parts are joined under the `requirements:` key.
pub fn index_yaml(index: &RequirementIndex) -> Result<String, String> {
    let parts = if index.requirements.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    };
    index_yaml_in_parts(index, parts)
}

fn index_yaml_in_parts(index: &RequirementIndex, parts: usize) -> Result<String, String> {
    // An empty list is written inline (`requirements: []`): only a whole index says so.
    if parts <= 1 || index.requirements.len() < 2 {
        return to_text_sized(index, Format::Yaml, index.text_size_hint());
    }
    /// The index's fields before `requirements`, in their order.
    #[derive(Serialize)]
    struct Head<'a> {
        schema_version: u32,
        specs: &'a [SpecSummary],
    }
    let chunk = index.requirements.len().div_ceil(parts);
    let mut chunks = index.requirements.chunks(chunk);
    let first = chunks.next().unwrap_or_default();
    let per_part = index.text_size_hint() / parts + 4096;
    let head = Head {
        schema_version: index.schema_version,
        specs: &index.specs,
    };
    let parts: Vec<Result<String, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .map(|part| scope.spawn(move || yaml_lines(String::with_capacity(per_part), &part)))
            .collect();
        // The head and the first part go straight into the buffer of the whole text.
        let whole = yaml_lines(String::with_capacity(index.text_size_hint()), &head)
            .map(|mut text| {
                text.push_str("requirements:\n");
                text
            })
            .and_then(|text| yaml_lines(text, &first));
        std::iter::once(whole)
            .chain(workers.into_iter().map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }))
            .collect()
    });
    let mut parts = parts.into_iter();
    let mut text = parts.next().unwrap_or_else(|| Ok(String::new()))?;
    for part in parts {
        text.push_str(&part?);
    }
    Ok(text)
}

/// Appends `value` as block-style YAML to `text`, ending with a newline.
fn yaml_lines<T: Serialize>(mut text: String, value: &T) -> Result<String, String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    serde_saphyr::to_fmt_writer_with_options(&mut text, value, options)
        .map_err(|e| e.to_string())?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::model::Requirement;

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
    fn yaml_in_parts_is_the_yaml_of_the_whole() {
        let mut index = index();
        let first = index.requirements[0].clone();
        let texts = [
            "plain",
            "Quotes ' and \" and: colons # hash",
            "- leading dash",
            "true",
            "12",
            "",
            "multi\nline",
        ];
        index.requirements = (0..23)
            .map(|n| Requirement {
                id: format!("ORCH-{}", 1000 + n),
                text: texts[n % texts.len()].to_owned(),
                title: texts[(n + 3) % texts.len()].to_owned(),
                keyword: (n % 2 == 0).then(|| "MUST".to_owned()),
                references: (0..n % 3).map(|r| format!("ORCH-{r}")).collect(),
                ..first.clone()
            })
            .collect();
        let whole = to_text(&index, Format::Yaml).unwrap();
        for parts in 1..=5 {
            assert_eq!(
                index_yaml_in_parts(&index, parts).unwrap(),
                whole,
                "{parts} parts"
            );
        }
        index.specs.clear();
        let whole = to_text(&index, Format::Yaml).unwrap();
        assert_eq!(index_yaml_in_parts(&index, 3).unwrap(), whole);
        index.requirements.truncate(1);
        let whole = to_text(&index, Format::Yaml).unwrap();
        assert_eq!(index_yaml_in_parts(&index, 2).unwrap(), whole);
        index.requirements.clear();
        let whole = to_text(&index, Format::Yaml).unwrap();
        assert_eq!(index_yaml_in_parts(&index, 2).unwrap(), whole);
    }

    #[test]
    fn json_round_trips() {
        let text = to_text(&index(), Format::Json).unwrap();
        assert!(text.ends_with("}\n"));
        let back: RequirementIndex = serde_json::from_str(&text).unwrap();
        assert_eq!(back, index());
    }
}
