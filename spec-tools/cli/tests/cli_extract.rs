//! `spectrace extract` as a user runs it: exit codes, messages, files written, determinism.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::fs;
use std::path::Path;

use assert_cmd::Command;

const SPEC: &str = "# Spec\n\n## 2.1 Data plane\n\n- Enqueue MUST answer 202. [ORCH-2001]\n- Streams SHOULD name events; see ORCH-2001. [ORCH-2002]\n";

#[test]
fn writes_the_index_and_a_second_run_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".specs/spec.md", SPEC);
    let first = spectrace(dir.path()).arg("extract").output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains(
            "2 requirements (must 1, should 1) from 1 spec → requirements/index.yaml (written)"
        ),
        "{}",
        stderr(&first)
    );
    let index = fs::read(dir.path().join("requirements/index.yaml")).unwrap();
    let second = spectrace(dir.path()).arg("extract").output().unwrap();
    assert!(stderr(&second).contains("(unchanged)"));
    assert_eq!(
        index,
        fs::read(dir.path().join("requirements/index.yaml")).unwrap()
    );
    let text = String::from_utf8(index).unwrap();
    assert!(
        text.starts_with("schema_version: 1\nspecs:\n- path: .specs/spec.md\n"),
        "{text}"
    );
    assert!(
        !text.contains(&*dir.path().to_string_lossy()),
        "no absolute paths"
    );
}

#[test]
fn check_passes_when_current_and_fails_with_a_diff_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".specs/spec.md", SPEC);
    let missing = spectrace(dir.path())
        .args(["extract", "--check"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("does not exist"));

    spectrace(dir.path()).arg("extract").assert().success();
    spectrace(dir.path())
        .args(["extract", "--check"])
        .assert()
        .code(0);

    write(
        dir.path(),
        ".specs/spec.md",
        &SPEC.replace("answer 202", "answer 202 Accepted"),
    );
    let stale = spectrace(dir.path())
        .args(["extract", "--check"])
        .output()
        .unwrap();
    assert_eq!(stale.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(
        diff.contains("--- requirements/index.yaml (committed)"),
        "{diff}"
    );
    assert!(
        diff.contains("+  text: Enqueue MUST answer 202 Accepted."),
        "{diff}"
    );
    assert!(stderr(&stale).contains("requirements/index.yaml is stale"));
}

#[test]
fn json_to_stdout_and_explicit_flags() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/a.md", "- A MUST hold. [OC-CORE-0001]\n");
    let out = spectrace(dir.path())
        .args([
            "extract",
            "--spec",
            "docs/*.md",
            "--id-pattern",
            "OC-[A-Z]+-[0-9]{4}",
            "--format",
            "json",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["requirements"][0]["id"], "OC-CORE-0001");
    assert_eq!(json["requirements"][0]["spec"], "docs/a.md");
    assert!(
        !dir.path().join("requirements").exists(),
        "stdout output writes no file"
    );
}

#[test]
fn root_flag_and_config_file_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "specs/x.md", "- A MUST hold. [REQ-0001]\n");
    write(
        dir.path(),
        "spectrace.toml",
        "[specs]\ninclude = [\"specs/*.md\"]\nid_pattern = \"REQ-[0-9]{4}\"\n[outputs]\nindex = \"out/reqs.yaml\"\n",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    spectrace(elsewhere.path())
        .args(["extract", "--root"])
        .arg(dir.path())
        .assert()
        .success();
    let text = fs::read_to_string(dir.path().join("out/reqs.yaml")).unwrap();
    assert!(text.contains("id: REQ-0001"));
    assert!(text.contains("spec: specs/x.md"));
}

#[test]
fn duplicate_ids_exit_2_naming_every_location() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".specs/a.md", "- A MUST x. [ORCH-1000]\n");
    write(dir.path(), ".specs/b.md", "\n\n- B MUST y. [ORCH-1000]\n");
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            ".specs/a.md:1: error: ORCH-1000 is defined 2 times: .specs/a.md:1, .specs/b.md:3"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was written"));
    assert!(!dir.path().join("requirements/index.yaml").exists());
}

#[test]
fn two_ids_in_one_block_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".specs/a.md",
        "# T\n\n- A MUST x. [ORCH-1000] [ORCH-1001]\n",
    );
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(".specs/a.md:3: error: one block defines 2 IDs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // No spec at all.
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no spec file matches .specs/**/*.md"));
    // Invalid ID pattern.
    write(dir.path(), ".specs/a.md", "- A MUST x. [ORCH-1000]\n");
    let out = spectrace(dir.path())
        .args(["extract", "--id-pattern", "ORCH-[0-9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid ID pattern"));
    // Broken config names its line.
    write(dir.path(), "spectrace.toml", "[specs]\nincludes = []\n");
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("spectrace.toml:2: error:"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(dir.path().join("spectrace.toml")).unwrap();
    // Not UTF-8.
    fs::write(dir.path().join(".specs/b.md"), b"ok\n\xfe\n").unwrap();
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(".specs/b.md:2: error: not valid UTF-8"));
    // --check with stdout is a usage error.
    fs::remove_file(dir.path().join(".specs/b.md")).unwrap();
    let out = spectrace(dir.path())
        .args(["extract", "--check", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Unknown flag: clap's usage error, also 2.
    let out = spectrace(dir.path())
        .args(["extract", "--nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("panicked"));
}

#[cfg(unix)]
#[test]
fn unreadable_spec_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".specs/a.md", "- A MUST x. [ORCH-1000]\n");
    // A directory named like a spec is not a spec and is skipped.
    fs::create_dir_all(dir.path().join(".specs/dir.md")).unwrap();
    spectrace(dir.path()).arg("extract").assert().success();
    // A spec that matches but cannot be read (here a dangling symlink) is an error.
    std::os::unix::fs::symlink("nowhere.md", dir.path().join(".specs/broken.md")).unwrap();
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(".specs/broken.md: error: cannot read:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn strict_turns_warnings_into_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".specs/a.md",
        "- A is informative. [ORCH-1000]\n",
    );
    let out = spectrace(dir.path()).arg("extract").output().unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out)
            .contains(".specs/a.md:1: warning: ORCH-1000 has no upper-case RFC 2119 keyword")
    );
    let out = spectrace(dir.path())
        .args(["extract", "--strict"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(".specs/a.md:1: error: ORCH-1000 has no upper-case RFC 2119 keyword")
    );
}

#[test]
fn help_documents_every_flag() {
    let out = Command::cargo_bin("spectrace")
        .unwrap()
        .args(["extract", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--root",
        "--spec",
        "--id-pattern",
        "--format",
        "--out",
        "--check",
        "--strict",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

/// The repository's own spec: the committed index is current and has the shape the spec
/// promises (at least 70 requirements in the fixed sections).
#[test]
fn this_repository_index_is_current() {
    let root = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    spectrace(root)
        .args(["extract", "--check", "--strict"])
        .assert()
        .success();
    let text = fs::read_to_string(root.join("requirements/index.yaml")).unwrap();
    let index: spectrace_core::model::RequirementIndex = serde_saphyr::from_str(&text).unwrap();
    assert!(
        index.requirements.len() >= 70,
        "{}",
        index.requirements.len()
    );
    let anchor_of = |id: &str| {
        index
            .requirements
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.anchor.clone())
            .unwrap_or_default()
    };
    assert_eq!(anchor_of("ORCH-2002"), "21-data-plane");
    assert_eq!(anchor_of("ORCH-2101"), "22-control-plane");
    assert_eq!(anchor_of("ORCH-3004"), "32-queues--admission-under-load");
    assert_eq!(anchor_of("ORCH-3028"), "39-observability--telemetry");
    assert_eq!(anchor_of("ORCH-3030"), "310-config--lifecycle");
    assert_eq!(anchor_of("ORCH-3056"), "316-api-contracts--determinism");
}
