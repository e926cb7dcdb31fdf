//! `spectrace diff <rev>` in a temporary git repository: a fixture tree with its reports is
//! committed, then changed (a requirement reworded, one added, one removed, one level changed,
//! a test failing), and the diff against `HEAD` is read as Markdown and JSON, with and without
//! `--fail-on regress`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

/// The fixture spec and a SHOULD (FIX-005) whose level the change raises.
fn spec() -> String {
    format!("{FIXTURE_SPEC}- Metrics SHOULD be cheap. [FIX-005]\n")
}

fn records(honest: &str) -> String {
    record("FIX-001", 3, "passed") + &record("FIX-002", 7, honest)
}

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A repository with one commit: specs, tests, index and reports of a passing run.
fn repo() -> tempfile::TempDir {
    let dir = fixture_repo(FIXTURE_CONFIG, &spec(), FIXTURE_TESTS);
    let root = dir.path();
    write(root, ".gitignore", "reports/run/\n");
    write(root, "reports/run/evidence-1.jsonl", &records("passed"));
    spectrace(root).arg("extract").assert().success();
    spectrace(root).arg("report").assert().success();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    dir
}

/// Rewords FIX-001, removes FIX-003, adds FIX-004, makes FIX-005 a MUST, fails FIX-002's test.
fn change(root: &Path) {
    let spec = spec()
        .replace(
            "The queue MUST be bounded.",
            "The queue MUST be bounded | capped.",
        )
        .replace(
            "- Logs MAY be colored. [FIX-003]\n",
            "- Traces MAY be sampled. [FIX-004]\n",
        )
        .replace("SHOULD be cheap", "MUST be cheap");
    write(root, ".specs/spec.md", &spec);
    write(root, "reports/run/evidence-1.jsonl", &records("failed"));
}

#[test]
fn an_unchanged_tree_has_no_requirement_changes() {
    let dir = repo();
    let out = spectrace(dir.path())
        .args(["diff", "HEAD", "--fail-on", "regress"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "## Requirement changes since `HEAD`\n\nNo requirement changes.\n"
    );
}

#[test]
fn every_kind_of_change_shows_in_markdown_and_json() {
    let dir = repo();
    let root = dir.path();
    change(root);
    let out = spectrace(root).args(["diff", "HEAD"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.contains(
            "**1 added, 1 removed, 2 reworded, 1 level change, 2 status changes (2 regressions)**"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "| FIX-004 | MAY | Traces MAY be sampled | `.specs/spec.md:10` | ⬜ uncovered |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| FIX-003 | MAY | Logs MAY be colored | `.specs/spec.md:10` | ⬜ uncovered |"),
        "{md}"
    );
    assert!(
        md.contains("  The queue MUST be ~~bounded.~~ **bounded \\| capped.**\n"),
        "{md}"
    );
    assert!(
        md.contains("| FIX-005 | Metrics MUST be cheap | `.specs/spec.md:11` | SHOULD | MUST |"),
        "{md}"
    );
    assert!(
        md.contains("| FIX-001 | MUST | The queue MUST be bounded \\| capped | `.specs/spec.md:5` | ✅ verified | 🔶 suspect (worse) |"),
        "{md}"
    );
    assert!(
        md.contains("| FIX-002 | MUST | Positions MUST be honest | `.specs/spec.md:6` | ✅ verified | ❌ failing (worse) |"),
        "{md}"
    );

    let json = spectrace(root)
        .args(["diff", "HEAD", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["base"], "HEAD");
    assert_eq!(value["counts"]["regressions"], 2);
    assert_eq!(value["removed"][0]["id"], "FIX-003");
    assert_eq!(
        value["reworded"][0]["old_text"],
        "The queue MUST be bounded."
    );
    assert_eq!(value["level_changed"][0]["after"], "must");

    let gate = spectrace(root)
        .args(["diff", "HEAD", "--fail-on", "regress"])
        .output()
        .unwrap();
    assert_eq!(gate.status.code(), Some(1));
    assert!(
        stderr(&gate).contains("--fail-on regress"),
        "{}",
        stderr(&gate)
    );
    assert_eq!(
        stdout(&gate),
        md,
        "the same report, only the exit code differs"
    );
}

#[test]
fn improvements_do_not_fail_and_missing_files_are_noted() {
    let dir = repo();
    let root = dir.path();
    // The base has no compliance model: no statuses to compare, and a note says so.
    git(root, &["rm", "-q", "reports/compliance.json"]);
    git(root, &["commit", "-q", "-m", "no model"]);
    spectrace(root).arg("report").assert().success();
    let out = spectrace(root)
        .args(["diff", "HEAD", "--fail-on", "regress"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("> Note: reports/compliance.json does not exist at HEAD: taken as empty"),
        "{}",
        stdout(&out)
    );
    // Fixing FIX-002 after a failing commit is not a regression.
    write(root, "reports/run/evidence-1.jsonl", &records("failed"));
    spectrace(root).arg("report").assert().success();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "failing"]);
    write(root, "reports/run/evidence-1.jsonl", &records("passed"));
    let out = spectrace(root)
        .args(["diff", "HEAD", "--fail-on", "regress"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("| ❌ failing | ✅ verified |"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_revision_is_bad_input_with_gits_message() {
    let dir = repo();
    let out = spectrace(dir.path())
        .args(["diff", "no-such-branch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`no-such-branch` is not a revision: fatal:"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}
