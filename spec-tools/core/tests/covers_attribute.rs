//! `#[spectrace::covers]` end to end: annotated tests run under the real test harness in a
//! child process with `SPECTRACE_EVIDENCE_DIR` set, and the records they leave are checked.
//!
//! The `fixture_*` tests are ordinary passing tests in a normal run. The driver re-runs them in
//! a child process with `SPECTRACE_FIXTURE_FAIL=1`, which makes the ones that read it fail, so
//! both outcomes are recorded. Their IDs (`SPECTRACE-*`) belong to no spec: this file tests the
//! tool, it is not evidence for the orchestrator spec.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use spectrace_core::config::EvidenceConfig;
use spectrace_core::evidence::{EVIDENCE_DIR_ENV, EvidenceKind, EvidenceRecord, Outcome};
use spectrace_core::id::IdPattern;
use spectrace_core::scan::{DeclaredEvidence, ScanOptions, scan};

const FAIL_ENV: &str = "SPECTRACE_FIXTURE_FAIL";

fn asked_to_fail() -> bool {
    std::env::var_os(FAIL_ENV).is_some()
}

#[spectrace::covers("SPECTRACE-0001", "SPECTRACE-0002")]
#[test]
fn fixture_passes() {
    assert_eq!(
        spectrace_core::markdown::slug::slug("2.1 Data plane"),
        "21-data-plane"
    );
}

#[spectrace::covers("SPECTRACE-0003")]
#[test]
fn fixture_fails_on_request() {
    assert!(!asked_to_fail(), "failing on request");
}

#[spectrace::covers("SPECTRACE-0004")]
#[test]
#[should_panic(expected = "bounded")]
fn fixture_should_panic() {
    panic!("queue must stay bounded");
}

#[spectrace::covers("SPECTRACE-0005", kind = "contract")]
#[test]
fn fixture_result_err_on_request() -> Result<(), String> {
    if asked_to_fail() {
        return Err("contract violated on request".to_owned());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[spectrace::covers("SPECTRACE-0006", kind = "property")]
    #[test]
    fn fixture_property(n in 0u32..1000) {
        prop_assert!(!asked_to_fail() || n < 1, "n = {} is too big on request", n);
    }
}

/// `#[implements]` leaves the items it marks as they are.
#[spectrace::implements("SPECTRACE-0007")]
struct Marker(u8);

#[spectrace::implements("SPECTRACE-0007")]
impl Marker {
    #[spectrace::implements("SPECTRACE-0008")]
    fn get(&self) -> u8 {
        self.0
    }
}

#[test]
fn implements_leaves_items_unchanged() {
    assert_eq!(Marker(3).get(), 3);
}

fn run_fixtures(
    extra_env: &[(&str, &str)],
) -> (std::process::Output, BTreeMap<String, EvidenceRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("fixture_")
        .env(EVIDENCE_DIR_ENV, dir.path())
        .env_remove(FAIL_ENV);
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    let output = cmd.output().unwrap();
    let mut records = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("evidence-")
        );
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let record: EvidenceRecord = serde_json::from_str(line).unwrap();
            let name = record.test.rsplit("::").next().unwrap().to_owned();
            assert!(
                records.insert(name, record).is_none(),
                "one record per test run"
            );
        }
    }
    (output, records)
}

#[test]
fn passing_run_records_every_test_with_its_location() {
    let (output, records) = run_fixtures(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let names: Vec<_> = records.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "fixture_fails_on_request",
            "fixture_passes",
            "fixture_property",
            "fixture_result_err_on_request",
            "fixture_should_panic"
        ]
    );
    let passes = &records["fixture_passes"];
    assert_eq!(passes.ids, ["SPECTRACE-0001", "SPECTRACE-0002"]);
    assert_eq!(passes.test, "covers_attribute::fixture_passes");
    assert_eq!(passes.file, "spec-tools/core/tests/covers_attribute.rs");
    let name_line = include_str!("covers_attribute.rs")
        .lines()
        .position(|l| l.starts_with("fn fixture_passes()"))
        .unwrap()
        + 1;
    assert_eq!(
        passes.line as usize, name_line,
        "the line of the test's name"
    );
    assert_eq!(passes.kind, EvidenceKind::Test);
    assert!(
        records
            .values()
            .all(|r| r.outcome == Outcome::Passed && r.message.is_none())
    );
    assert_eq!(records["fixture_property"].kind, EvidenceKind::Property);
    assert_eq!(
        records["fixture_result_err_on_request"].kind,
        EvidenceKind::Contract
    );
}

#[test]
fn failing_run_records_failures_with_their_messages() {
    let (output, records) = run_fixtures(&[(FAIL_ENV, "1")]);
    assert!(!output.status.success(), "the child run has failing tests");
    let failed = |name: &str| {
        let r = &records[name];
        assert_eq!(r.outcome, Outcome::Failed, "{name}");
        r.message.clone().unwrap()
    };
    assert_eq!(failed("fixture_fails_on_request"), "failing on request");
    assert_eq!(
        failed("fixture_result_err_on_request"),
        "Error: \"contract violated on request\""
    );
    assert!(failed("fixture_property").contains("is too big on request"));
    assert_eq!(records["fixture_passes"].outcome, Outcome::Passed);
    assert_eq!(records["fixture_should_panic"].outcome, Outcome::Passed);
}

/// `spectrace scan` must declare each fixture under exactly the key (`file`, `line`) and label
/// (`test`) that its run records carry, or runs could not be matched with declarations. This
/// covers a plain test, `#[should_panic]`, a `Result` test and a test inside `proptest!`.
/// (This test's name must not contain `fixture_`: `run_fixtures` runs every test whose name
/// does, and it would run itself.)
#[test]
fn scan_declares_each_annotated_test_under_the_key_its_records_carry() {
    let (output, records) = run_fixtures(&[]);
    assert!(output.status.success());
    let workspace = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scanned = scan(&ScanOptions {
        root: workspace.to_path_buf(),
        evidence: EvidenceConfig {
            rust: vec!["spec-tools/core/tests/covers_attribute.rs".to_owned()],
            features: Vec::new(),
            openapi: Vec::new(),
            junit: Vec::new(),
            exclude: Vec::new(),
        },
        ids: IdPattern::new("SPECTRACE-[0-9]{4}").unwrap(),
        known: (1..=8).map(|n| format!("SPECTRACE-{n:04}")).collect(),
    })
    .unwrap();
    // What a record carries is the declaration's key and label; the declaration also knows
    // where the test ends.
    let key = |ids: &[String], test: &str, file: &str, line: u32, kind: EvidenceKind| {
        let mut ids = ids.to_vec();
        ids.sort();
        (ids, test.to_owned(), file.to_owned(), line, kind)
    };
    let mut expected: Vec<_> = records
        .values()
        .map(|r| key(&r.ids, &r.test, &r.file, r.line, r.kind))
        .collect();
    expected.sort_by_key(|e| e.3);
    assert_eq!(expected.len(), 5);
    let declared: Vec<_> = scanned
        .scan
        .evidence
        .iter()
        .map(|d: &DeclaredEvidence| key(&d.ids, &d.test, &d.file, d.line, d.kind))
        .collect();
    assert_eq!(declared, expected);
    assert!(scanned.scan.evidence.iter().all(|d| d.end_line > d.line));
    let links: Vec<_> = scanned
        .scan
        .implementations
        .iter()
        .map(|l| (l.id.as_str(), l.item.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("SPECTRACE-0007", "Marker"),
            ("SPECTRACE-0007", "impl Marker"),
            ("SPECTRACE-0008", "Marker::get")
        ]
    );
}
