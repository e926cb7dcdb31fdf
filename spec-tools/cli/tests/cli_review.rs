//! Suspect links as a user meets them: `spectrace report` keeps `reports/reviewed.yaml` (new
//! requirements start reviewed, removed ones are dropped), a reworded requirement turns
//! `suspect` in the reports and fails `spectrace check`, and `spectrace review` records the new
//! wording.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::fs;
use std::path::Path;

fn fixture() -> tempfile::TempDir {
    let dir = fixture_repo(FIXTURE_CONFIG, FIXTURE_SPEC, FIXTURE_TESTS);
    let records = [
        record("FIX-001", 3, "passed"),
        record("FIX-002", 7, "passed"),
    ];
    write(
        dir.path(),
        "reports/run/evidence-1.jsonl",
        &records.concat(),
    );
    dir
}

fn read(root: &Path, rel: &str) -> String {
    fs::read_to_string(root.join(rel)).unwrap()
}

/// The fingerprint `reviewed.yaml` holds for `id`.
fn reviewed_fingerprint(root: &Path, id: &str) -> Option<String> {
    let text = read(root, "reports/reviewed.yaml");
    let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    value["reviewed"][id].as_str().map(str::to_owned)
}

fn current_fingerprint(root: &Path, id: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(&read(root, "reports/compliance.json")).unwrap();
    let r = json["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    r["fingerprint"].as_str().unwrap().to_owned()
}

#[test]
fn a_reworded_must_is_suspect_fails_the_gate_until_reviewed() {
    let dir = fixture();
    let root = dir.path();
    spectrace(root).arg("extract").assert().success();
    // No reviewed.yaml yet: everything is new, so everything starts reviewed.
    spectrace(root).arg("report").assert().success();
    let text = read(root, "reports/reviewed.yaml");
    assert!(text.starts_with("# Fingerprint of the wording"), "{text}");
    let before = reviewed_fingerprint(root, "FIX-001").unwrap();
    assert_eq!(before, current_fingerprint(root, "FIX-001"));
    let pass = spectrace(root).arg("check").output().unwrap();
    assert!(pass.status.success(), "{}", stderr(&pass));

    // Reword FIX-001: its passing evidence no longer counts as verified.
    write(
        root,
        ".specs/spec.md",
        &FIXTURE_SPEC.replace(
            "The queue MUST be bounded.",
            "The queue MUST be bounded by 10.",
        ),
    );
    spectrace(root).arg("extract").assert().success();
    let report = spectrace(root).arg("report").output().unwrap();
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(
        stderr(&report).contains("1 verified, 0 unverified, 1 suspect"),
        "{}",
        stderr(&report)
    );
    let md = read(root, "COMPLIANCE.md");
    assert!(
        md.contains("| The queue MUST be bounded by 10 | 🔶 suspect |"),
        "{md}"
    );
    let after = current_fingerprint(root, "FIX-001");
    assert_ne!(after, before);
    // report never moves an existing entry.
    assert_eq!(reviewed_fingerprint(root, "FIX-001").unwrap(), before);
    let json = read(root, "reports/compliance.json");
    assert!(
        json.contains(&format!("\"reviewed_fingerprint\": \"{before}\"")),
        "{json}"
    );
    assert!(read(root, "reports/junit.xml").contains("MUST FIX-001 is suspect"));

    let fail = spectrace(root).arg("check").output().unwrap();
    assert_eq!(fail.status.code(), Some(1));
    let text = stderr(&fail);
    assert!(
        text.contains(".specs/spec.md:5: MUST FIX-001 is suspect (the gate demands verified)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("fingerprint {before} → {after}")),
        "{text}"
    );
    assert!(text.contains("spectrace review FIX-001"), "{text}");

    // Review it: reviewed.yaml moves, and the next report is verified again.
    let review = spectrace(root)
        .args(["review", "FIX-001"])
        .output()
        .unwrap();
    assert!(review.status.success(), "{}", stderr(&review));
    assert!(
        stderr(&review).contains(&format!("FIX-001: {before} → {after}")),
        "{}",
        stderr(&review)
    );
    assert!(stderr(&review).contains("run `spectrace report`"));
    assert_eq!(reviewed_fingerprint(root, "FIX-001").unwrap(), after);
    spectrace(root).arg("report").assert().success();
    assert!(
        read(root, "COMPLIANCE.md").contains("| The queue MUST be bounded by 10 | ✅ verified |")
    );
    assert!(!read(root, "reports/compliance.json").contains("reviewed_fingerprint"));
    let pass = spectrace(root).arg("check").output().unwrap();
    assert!(pass.status.success(), "{}", stderr(&pass));

    // Reviewing again changes nothing.
    let again = spectrace(root).args(["review", "--all"]).output().unwrap();
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("0 recorded, 3 already current"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn new_requirements_are_added_and_removed_ones_dropped_by_report() {
    let dir = fixture();
    let root = dir.path();
    spectrace(root).arg("report").assert().success();
    let spec = FIXTURE_SPEC.replace(
        "- Logs MAY be colored. [FIX-003]\n",
        "- Logs MAY be compressed. [FIX-004]\n",
    );
    write(root, ".specs/spec.md", &spec);
    let stale = spectrace(root)
        .args(["report", "--check"])
        .output()
        .unwrap();
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("reports/reviewed.yaml is stale"),
        "{}",
        stderr(&stale)
    );
    spectrace(root).arg("report").assert().success();
    assert!(reviewed_fingerprint(root, "FIX-003").is_none());
    assert_eq!(
        reviewed_fingerprint(root, "FIX-004").unwrap(),
        current_fingerprint(root, "FIX-004")
    );
    let json: serde_json::Value =
        serde_json::from_str(&read(root, "reports/compliance.json")).unwrap();
    let statuses: Vec<&str> = json["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["verified", "verified", "uncovered"]);
    spectrace(root)
        .args(["report", "--check"])
        .assert()
        .success();
}

#[test]
fn unknown_ids_and_malformed_files_are_bad_input() {
    let dir = fixture();
    let root = dir.path();
    spectrace(root).arg("report").assert().success();
    let before = read(root, "reports/reviewed.yaml");
    let unknown = spectrace(root)
        .args(["review", "FIX-001", "FIX-404"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("FIX-404: no spec defines this requirement"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(
        read(root, "reports/reviewed.yaml"),
        before,
        "nothing written"
    );
    let usage = spectrace(root).arg("review").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));

    write(
        root,
        "reports/reviewed.yaml",
        "schema_version: 1\nreviewed:\n  FIX-001: 0123456789abcdef\n  FIX-002: not-a-fingerprint\n",
    );
    for args in [&["report"][..], &["check"], &["review", "--all"]] {
        let out = spectrace(root).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("reports/reviewed.yaml:4: error: FIX-002"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
