//! `spectrace report`, `check` and `verify` as a user runs them, on a small fixture repository
//! with its own ID pattern (`FIX-NNN`): statuses from declared evidence and run records, the
//! written reports, `--check`, the gate's exit codes and messages, and the suites of `verify`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::fs;
use std::path::Path;

/// The `[verify]` suite of the fixture: it copies `evidence.jsonl` into the run directory.
const VERIFY: &str = r#"
[verify]
suites = [
  { name = "record", command = ["sh", "-c", "cp evidence.jsonl \"$SPECTRACE_EVIDENCE_DIR/evidence-9.jsonl\""] },
]
"#;

fn config() -> String {
    format!("{FIXTURE_CONFIG}{VERIFY}")
}

fn fixture() -> tempfile::TempDir {
    fixture_repo(&config(), FIXTURE_SPEC, FIXTURE_TESTS)
}

fn run_records(root: &Path, records: &[String]) {
    write(root, "reports/run/evidence-1.jsonl", &records.concat());
}

#[test]
fn report_writes_three_files_and_a_second_run_is_byte_identical() {
    let dir = fixture();
    run_records(dir.path(), &[record("FIX-001", 3, "passed")]);
    let first = spectrace(dir.path()).arg("report").output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains(
            "3 requirements: 1 verified, 1 unverified, 0 suspect, 1 uncovered, 0 failing"
        ),
        "{}",
        stderr(&first)
    );
    let read = |rel: &str| fs::read_to_string(dir.path().join(rel)).unwrap();
    let (md, json, junit) = (
        read("COMPLIANCE.md"),
        read("reports/compliance.json"),
        read("reports/junit.xml"),
    );
    assert!(md.contains("| [FIX-001](.specs/spec.md#1-queue) | MUST | The queue MUST be bounded | ✅ verified | — | [bounded](tests/a.rs#L3) test | — |"), "{md}");
    assert!(
        md.contains("| ⚠️ unverified | — | ⚠️ [honest](tests/a.rs#L7) e2e | — |"),
        "{md}"
    );
    assert!(json.contains("\"status\": \"unverified\""));
    assert!(
        junit.contains(
            "<failure message=\"MUST FIX-002 is unverified (the gate demands verified)\">"
        ),
        "{junit}"
    );
    for text in [&md, &json, &junit] {
        assert!(
            !text.contains(&*dir.path().to_string_lossy()),
            "no absolute paths"
        );
    }
    let second = spectrace(dir.path()).arg("report").output().unwrap();
    assert!(stderr(&second).contains("COMPLIANCE.md (unchanged)"));
    assert_eq!(md, read("COMPLIANCE.md"));
    assert_eq!(json, read("reports/compliance.json"));
    assert_eq!(junit, read("reports/junit.xml"));

    let check = spectrace(dir.path())
        .args(["report", "--check"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    run_records(
        dir.path(),
        &[
            record("FIX-001", 3, "passed"),
            record("FIX-002", 7, "passed"),
        ],
    );
    let stale = spectrace(dir.path())
        .args(["report", "--check"])
        .output()
        .unwrap();
    assert_eq!(stale.status.code(), Some(1));
    assert!(stderr(&stale).contains("COMPLIANCE.md is stale"));
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(diff.contains("+| [FIX-002]"), "{diff}");
    assert_eq!(md, read("COMPLIANCE.md"), "--check writes nothing");
}

#[test]
fn check_passes_only_when_every_must_is_verified_and_reports_are_current() {
    let dir = fixture();
    spectrace(dir.path()).arg("extract").assert().success();
    run_records(
        dir.path(),
        &[
            record("FIX-001", 3, "passed"),
            record("FIX-002", 7, "passed"),
        ],
    );
    spectrace(dir.path()).arg("report").assert().success();
    let pass = spectrace(dir.path()).arg("check").output().unwrap();
    assert!(pass.status.success(), "{}", stderr(&pass));
    assert!(
        stderr(&pass).contains("spectrace check: passed"),
        "{}",
        stderr(&pass)
    );

    // The same test now fails in the run: FIX-002 turns failing and the gate fails, naming
    // the requirement's level, status and spec line, and the failing evidence.
    run_records(
        dir.path(),
        &[
            record("FIX-001", 3, "passed"),
            record("FIX-002", 7, "failed"),
        ],
    );
    let fail = spectrace(dir.path()).arg("check").output().unwrap();
    assert_eq!(fail.status.code(), Some(1));
    let text = stderr(&fail);
    assert!(
        text.contains(".specs/spec.md:6: MUST FIX-002 is failing (the gate demands verified)"),
        "{text}"
    );
    assert!(
        text.contains("tests/a.rs:7: a::honest failed: assertion failed: positions"),
        "{text}"
    );
    assert!(text.contains("COMPLIANCE.md: stale"), "{text}");
    assert!(!text.contains("FIX-003"), "MAY is not gated by default");
}

#[test]
fn check_without_a_run_says_how_to_get_one() {
    let dir = fixture();
    let out = spectrace(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no evidence records in reports/run"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("MUST FIX-001 is unverified"));
}

#[test]
fn evidence_naming_an_unknown_requirement_is_bad_input() {
    let dir = fixture();
    run_records(dir.path(), &[record("FIX-999", 3, "passed")]);
    for command in ["report", "check"] {
        let out = spectrace(dir.path()).arg(command).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(
            stderr(&out).contains("tests/a.rs:3: error: evidence of `a::t3` names FIX-999"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn records_of_excluded_files_are_not_evidence() {
    let dir = fixture();
    let config = config().replace("exclude = []", "exclude = [\"fixtures/**\"]");
    write(dir.path(), "spectrace.toml", &config);
    let foreign = record("OTHER-1", 3, "failed").replace("tests/a.rs", "fixtures/x.rs");
    run_records(dir.path(), &[foreign, record("FIX-001", 3, "passed")]);
    let out = spectrace(dir.path()).arg("report").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 failing"), "{}", stderr(&out));
}

#[test]
fn a_corrupt_record_names_its_file_and_line() {
    let dir = fixture();
    write(dir.path(), "reports/run/evidence-1.jsonl", "{\"ids\": 3}\n");
    let out = spectrace(dir.path()).arg("report").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("reports/run/evidence-1.jsonl:1: error: not an evidence record"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_runs_the_suites_with_evidence_recording_then_reports() {
    let dir = fixture();
    write(
        dir.path(),
        "evidence.jsonl",
        &[
            record("FIX-001", 3, "passed"),
            record("FIX-002", 7, "passed"),
        ]
        .concat(),
    );
    // Left over from an earlier run: verify must not count it.
    run_records(dir.path(), &[record("FIX-001", 3, "failed")]);
    let out = spectrace(dir.path()).arg("verify").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("[1/1] record:"), "{text}");
    assert!(text.contains("2 verified, 0 unverified"), "{text}");
    assert!(!dir.path().join("reports/run/evidence-1.jsonl").exists());
    assert!(dir.path().join("COMPLIANCE.md").exists());
}

#[test]
fn verify_reports_even_when_a_suite_fails_and_exits_1() {
    let dir = fixture();
    let broken = config().replace(
        "{ name = \"record\", command = [\"sh\", \"-c\", \"cp evidence.jsonl \\\"$SPECTRACE_EVIDENCE_DIR/evidence-9.jsonl\\\"\"] },",
        "{ name = \"broken\", command = [\"sh\", \"-c\", \"exit 3\"] },",
    );
    assert_ne!(broken, config());
    write(dir.path(), "spectrace.toml", &broken);
    let out = spectrace(dir.path()).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broken: FAILED"), "{}", stderr(&out));
    assert!(dir.path().join("COMPLIANCE.md").exists());
    let unknown = spectrace(dir.path())
        .args(["verify", "--suite", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no suite named `nope` (configured: broken)"));
}

#[test]
fn schema_prints_and_checks_the_compliance_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = spectrace(dir.path()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"title\": \"ComplianceModel\""));
    let path = dir.path().join("schema.json");
    let missing = spectrace(dir.path())
        .args(["schema", "--check", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    spectrace(dir.path())
        .args(["schema", "--out"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn shards_merge_into_the_model_of_one_run_and_duplicates_are_named() {
    let dir = fixture();
    let root = dir.path();
    // One run directory, as `cargo test` leaves it.
    run_records(
        root,
        &[
            record("FIX-001", 3, "passed"),
            record("FIX-002", 7, "passed"),
        ],
    );
    let single = spectrace(root).arg("report").output().unwrap();
    assert!(single.status.success(), "{}", stderr(&single));
    let one = fs::read_to_string(root.join("reports/compliance.json")).unwrap();
    assert!(
        one.contains("\"shards\": [\n    \"reports/run\"\n  ],"),
        "{one}"
    );

    // The same tests split over two shards, read with a glob.
    write(
        root,
        "shards/a/evidence-1.jsonl",
        &record("FIX-001", 3, "passed"),
    );
    write(
        root,
        "shards/b/evidence-2.jsonl",
        &record("FIX-002", 7, "passed"),
    );
    let merged = spectrace(root)
        .args(["report", "--run", "shards/*"])
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert!(!stderr(&merged).contains("shards:"), "{}", stderr(&merged));
    let two = fs::read_to_string(root.join("reports/compliance.json")).unwrap();
    assert!(
        two.contains("\"shards\": [\n    \"shards/a\",\n    \"shards/b\"\n  ],"),
        "{two}"
    );
    let without_shards = |text: &str| {
        let start = text.find("  \"shards\"").unwrap();
        let end = start + text[start..].find("],\n").unwrap() + 3;
        format!("{}{}", &text[..start], &text[end..])
    };
    assert_eq!(without_shards(&one), without_shards(&two));

    // A test that ran in both shards: a warning naming both, by default.
    write(
        root,
        "shards/b/evidence-3.jsonl",
        &record("FIX-001", 3, "passed"),
    );
    let repeated = ["check", "--run", "shards/a", "--run", "shards/b"];
    let warned = spectrace(root).args(repeated).output().unwrap();
    let err = stderr(&warned);
    assert!(
        err.contains("tests/a.rs:3: warning: `a::t3` ran in 2 shards: shards/a, shards/b"),
        "{err}"
    );
    // An error under exactly-once: nothing is judged.
    write(
        root,
        "spectrace.toml",
        &format!("{}\n[gate]\nshards = \"exactly-once\"\n", config()),
    );
    let refused = spectrace(root).args(repeated).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(
            "tests/a.rs:3: error: `a::t3` ran in 2 shards: shards/a, shards/b ([gate] shards = \"exactly-once\")"
        ),
        "{}",
        stderr(&refused)
    );
    // A glob that matches nothing is an error.
    let none = spectrace(root)
        .args(["report", "--run", "nowhere/*"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("the glob matches no directory"));
}
