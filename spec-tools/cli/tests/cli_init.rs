//! `spectrace init` on an empty directory, on a Cargo workspace with features, OpenAPI and JUnit
//! reports, twice in a row, against files it must not overwrite; and `spectrace verify` with no
//! suites configured, inside and outside a Cargo project.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use std::path::Path;

use common::{spectrace, stderr, write};

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

#[test]
fn an_empty_directory_gets_a_config_and_a_spec_that_extract_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = spectrace(dir.path()).arg("init").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("found no tests"), "{err}");
    assert!(
        err.contains("spectrace.toml (written), .specs/requirements.md (written)"),
        "{err}"
    );
    assert!(err.contains("Next steps:"), "{err}");
    assert!(
        err.contains("In CI: spectrace verify && spectrace check"),
        "{err}"
    );
    let config = read(dir.path(), "spectrace.toml");
    assert!(config.contains("id_pattern = \"REQ-[0-9]{4}\""), "{config}");
    assert!(config.contains("rust = []"), "{config}");
    // What init wrote is what extract and scan accept.
    let out = spectrace(dir.path())
        .args(["extract", "--strict", "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(common::stdout(&out).contains("id: REQ-0001"));
    let out = spectrace(dir.path()).arg("scan").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The gate fails until a test proves the example requirement.
    let out = spectrace(dir.path()).arg("report").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = spectrace(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(".specs/requirements.md:9: MUST REQ-0001 is uncovered"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cargo_workspace_with_features_openapi_and_junit_reports_gets_globs_for_each() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\n",
    );
    write(root, "crates/limiter/src/lib.rs", "pub fn f() {}\n");
    write(root, "features/limits.feature", "Feature: Limits\n");
    write(
        root,
        "api/openapi.yaml",
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n",
    );
    write(root, "test-results/junit.xml", "<testsuites/>\n");
    write(root, "target/debug/x.xml", "<testsuites/>\n");
    let out = spectrace(root)
        .args(["init", "--prefix", "LIM"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "found a Cargo project, Gherkin features, OpenAPI (api/openapi.yaml), JUnit reports in test-results"
        ),
        "{err}"
    );
    assert!(err.contains("#[spectrace::covers(\"LIM-0001\")]"), "{err}");
    let config = read(root, "spectrace.toml");
    for line in [
        "id_pattern = \"LIM-[0-9]{4}\"",
        "rust = [\"**/*.rs\"]",
        "features = [\"features/**/*.feature\"]",
        "openapi = [\"api/openapi.yaml\"]",
        "junit = [\"test-results/*.xml\"]",
    ] {
        assert!(config.contains(line), "{line} in\n{config}");
    }
    assert!(read(root, ".specs/requirements.md").contains("[LIM-0001]"));
    let out = spectrace(root).arg("scan").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn running_it_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        spectrace(dir.path())
            .arg("init")
            .output()
            .unwrap()
            .status
            .success()
    );
    let config = read(dir.path(), "spectrace.toml");
    let spec = read(dir.path(), ".specs/requirements.md");
    let out = spectrace(dir.path()).arg("init").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("spectrace.toml (unchanged), .specs/requirements.md (unchanged)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(dir.path(), "spectrace.toml"), config);
    assert_eq!(read(dir.path(), ".specs/requirements.md"), spec);
}

#[test]
fn an_existing_file_is_refused_by_name_and_nothing_is_written_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "spectrace.toml", "# mine\n");
    let out = spectrace(dir.path()).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("spectrace.toml: error: exists with other content"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(read(dir.path(), "spectrace.toml"), "# mine\n");
    assert!(!dir.path().join(".specs").exists(), "all or nothing");

    let out = spectrace(dir.path())
        .args(["init", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("spectrace.toml (overwritten)"));
    assert!(read(dir.path(), "spectrace.toml").contains("[specs]"));
}

#[test]
fn a_prefix_that_cannot_start_an_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = spectrace(dir.path())
        .args(["init", "--prefix", "req"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`req` cannot start a requirement ID"));
    assert!(!dir.path().join("spectrace.toml").exists());
}

#[test]
fn verify_without_suites_outside_a_cargo_project_says_how_to_configure_one() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        spectrace(dir.path())
            .arg("init")
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = spectrace(dir.path()).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("lists no suites under [verify]"), "{err}");
    assert!(err.contains("suites = ["), "{err}");
}

#[test]
fn verify_without_suites_in_a_cargo_project_runs_cargo_test_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    );
    write(
        root,
        "src/lib.rs",
        "#[test]\nfn passes() {\n    assert_eq!(1 + 1, 2);\n}\n",
    );
    assert!(
        spectrace(root)
            .arg("init")
            .output()
            .unwrap()
            .status
            .success()
    );
    let target = tempfile::tempdir().unwrap();
    let out = spectrace(root)
        .arg("verify")
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("no suites under [verify] in spectrace.toml; a Cargo project runs `cargo test --workspace --no-fail-fast`"),
        "{err}"
    );
    assert!(
        err.contains("[1/1] cargo test: cargo test --workspace --no-fail-fast"),
        "{err}"
    );
    assert!(err.contains("cargo test: ok"), "{err}");
    // The tests ran and the reports were written; the example requirement has no evidence yet.
    assert!(root.join("COMPLIANCE.md").is_file());
    assert_eq!(out.status.code(), Some(0), "{err}");
}
