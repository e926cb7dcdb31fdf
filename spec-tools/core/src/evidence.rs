//! The evidence record format, owned by the `spectrace` crate that test suites depend on
//! (`spectrace::evidence`), re-exported here so that every stage names the one type; the key
//! that joins a declaration with its runs; and the JSON Schema of an evidence kind, which the
//! record crate stays too small to derive.

use schemars::JsonSchema;

pub use spectrace::evidence::{
    EVIDENCE_DIR_ENV, EvidenceKind, EvidenceRecord, Outcome, SHARD_ENV, append_record,
    current_shard, evidence_dir,
};

/// What joins a declared evidence item with the records of its runs: the file and the line of
/// a test function's name or of a scenario's keyword — for a JUnit test case, the report and
/// the line of its `<testcase>`, plus its label, since one line of a report can hold many
/// cases (pytest writes its whole report on one line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvidenceKey {
    /// File, relative to the root.
    pub file: String,
    /// Line.
    pub line: u32,
    /// The test label, for JUnit test cases only.
    pub case: Option<String>,
}

impl EvidenceKey {
    /// The key of an item of `kind` named `test` at `file:line`.
    pub fn new(file: &str, line: u32, kind: EvidenceKind, test: &str) -> Self {
        Self {
            file: file.to_owned(),
            line,
            case: (kind == EvidenceKind::Junit).then(|| test.to_owned()),
        }
    }
}

// The JSON Schema of [`EvidenceKind`], for `#[schemars(with = "KindSchema")]` on model fields:
// the same names, checked against `EvidenceKind::ALL` by a unit test. Its doc comment is the
// schema's description.
/// What kind of evidence a record is.
#[derive(JsonSchema)]
#[schemars(rename = "EvidenceKind")]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // only its schema is used
pub enum KindSchema {
    /// An example-based test (the default).
    Test,
    /// A property test.
    Property,
    /// A contract check (OpenAPI, JSON Schema, metrics).
    Contract,
    /// A compile-fail test.
    Compile,
    /// An end-to-end test against a running server.
    E2e,
    /// A BDD scenario (Gherkin).
    Bdd,
    /// A test case of a JUnit XML report.
    Junit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_kind_exactly() {
        let schema = serde_json::to_value(schemars::schema_for!(KindSchema)).unwrap();
        let mut names: Vec<String> = schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|variant| variant["const"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        let mut expected: Vec<String> = EvidenceKind::ALL
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        expected.sort();
        assert_eq!(names, expected);
        for kind in EvidenceKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
