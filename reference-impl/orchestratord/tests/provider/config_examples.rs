//! The configuration examples of `contracts/config-examples/` against the configuration
//! contract, `contracts/schemas/config.schema.json`: every valid example validates, every
//! invalid one fails at the JSON pointer its `# expect-error:` line names. Each is checked
//! twice: by the `jsonschema` crate against the committed schema file as a third party would,
//! and by `orchestrator_config::load_yaml`, the loader orchestratord runs before it binds a port.

use std::path::PathBuf;

use orchestrator_config::{LoadError, load_yaml};
use serde_json::Value;

use crate::support::contract::repo_root;

fn examples(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("contracts/config-examples").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn schema() -> jsonschema::Validator {
    let path = repo_root().join("contracts/schemas/config.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn document(file: &PathBuf) -> (String, Value) {
    let text = std::fs::read_to_string(file).unwrap();
    let value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
    (text, value)
}

/// The pointer of each schema error, the field itself for an unknown or missing field (the
/// convention of `# expect-error:` lines and of orchestratord's messages).
fn pointers(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    use jsonschema::error::ValidationErrorKind;
    let mut pointers: Vec<String> = validator
        .iter_errors(instance)
        .flat_map(|error| {
            let at = error.instance_path().to_string();
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|name| format!("{at}/{name}"))
                    .collect(),
                ValidationErrorKind::Required { property } => {
                    vec![format!("{at}/{}", property.as_str().unwrap_or_default())]
                }
                _ => vec![at],
            }
        })
        .collect();
    pointers.sort();
    pointers.dedup();
    pointers
}

#[spectrace::covers("ORCH-3030", kind = "contract")]
#[test]
fn every_valid_config_example_conforms_to_the_config_schema() {
    let validator = schema();
    let files = examples("valid");
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let (text, value) = document(&file);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        if let Err(e) = load_yaml(&text) {
            panic!("{}: orchestratord refuses it: {e}", file.display());
        }
    }
}

#[spectrace::covers("ORCH-3030", "ORCH-3042", kind = "contract")]
#[test]
fn every_invalid_config_example_fails_at_its_expected_pointer() {
    let validator = schema();
    let files = examples("invalid");
    assert!(files.len() >= 5, "{files:?}");
    // ORCH-3042: a key written inline instead of by reference is one of the refused examples.
    assert!(files.iter().any(|f| f.ends_with("inline-key.yaml")));
    for file in files {
        let (text, value) = document(&file);
        let expected = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect-error: "))
            .unwrap_or_else(|| panic!("{} has no `# expect-error:` line", file.display()));
        let (pointer, message) = expected.split_once(' ').unwrap_or((expected, ""));
        assert_eq!(
            pointers(&validator, &value),
            [pointer],
            "{}: the schema's errors",
            file.display()
        );
        match load_yaml(&text) {
            Err(LoadError::Invalid(violations)) => {
                assert_eq!(violations.len(), 1, "{}: {violations:?}", file.display());
                assert_eq!(violations[0].pointer, pointer, "{}", file.display());
                assert!(
                    violations[0].message.contains(message),
                    "{}: {:?} does not contain {message:?}",
                    file.display(),
                    violations[0].message
                );
            }
            other => panic!(
                "{}: expected a schema violation, got {other:?}",
                file.display()
            ),
        }
    }
}
