//! `[evidence] junit`: JUnit XML reports of real runners (pytest, jest with jest-junit,
//! cargo-nextest; Surefire and go-junit-report in their documented shape, see
//! `fixtures/junit/README.md`) become evidence with the right status per requirement, and bad
//! reports are exit-2 errors that name the file and write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{spectrace, stderr, write};

/// REQ-0001 … REQ-0006, all MUST.
const SPEC: &str = "# Bucket\n\n## 1 Limits\n\n\
- The bucket MUST refill at its rate. [REQ-0001]\n\
- A burst MUST be allowed up to the capacity. [REQ-0002]\n\
- The bucket MUST never hold more than its capacity. [REQ-0003]\n\
- A full bucket MUST refuse. [REQ-0004]\n\
- Waiting MUST follow the clock. [REQ-0005]\n\
- Construction MUST reject a negative rate. [REQ-0006]\n";

/// A project whose only evidence is the fixture report `report` (relative to
/// `fixtures/junit/`), copied to `reports/junit/<file name>`.
fn project(report: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/junit")
        .join(report);
    let name = source.file_name().unwrap().to_str().unwrap();
    std::fs::create_dir_all(dir.path().join("reports/junit")).unwrap();
    std::fs::copy(&source, dir.path().join("reports/junit").join(name)).unwrap();
    write(dir.path(), ".specs/bucket.md", SPEC);
    write(
        dir.path(),
        "spectrace.toml",
        "[specs]\nid_pattern = \"REQ-[0-9]{4}\"\n\n[evidence]\nrust = []\nfeatures = []\n\
         junit = [\"reports/junit/*.xml\"]\n",
    );
    dir
}

/// `spectrace report` in `root`, then each requirement's status from compliance.json.
fn statuses(root: &Path) -> BTreeMap<String, String> {
    let out = spectrace(root).arg("report").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(root.join("reports/compliance.json")).unwrap();
    let model: serde_json::Value = serde_json::from_str(&text).unwrap();
    model["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(id, status)| ((*id).to_owned(), (*status).to_owned()))
        .collect()
}

#[test]
fn pytest_properties_parameters_failures_and_skips() {
    let dir = project("pytest/pytest-junit.xml");
    assert_eq!(
        statuses(dir.path()),
        expect(&[
            ("REQ-0001", "verified"), // record_property("requirement", …)
            ("REQ-0002", "verified"), // test_burst[REQ-0002]
            ("REQ-0003", "failing"),  // record_property("requirements", "…,…"), failed
            ("REQ-0004", "failing"),
            ("REQ-0005", "unverified"), // skipped: declared, did not run
            ("REQ-0006", "uncovered"),
        ])
    );
    let text = std::fs::read_to_string(dir.path().join("reports/compliance.json")).unwrap();
    assert!(
        text.contains("AssertionError: the bucket held more tokens than its capacity"),
        "the failure message is carried into the report"
    );
    assert!(text.contains("\"kind\": \"junit\""));
}

#[test]
fn jest_junit_bracketed_ids() {
    let dir = project("jest/jest-junit.xml");
    assert_eq!(
        statuses(dir.path()),
        expect(&[
            ("REQ-0001", "verified"),
            ("REQ-0002", "uncovered"),
            ("REQ-0003", "failing"),
            ("REQ-0004", "failing"),
            ("REQ-0005", "unverified"),
            ("REQ-0006", "uncovered"),
        ])
    );
    let md = std::fs::read_to_string(dir.path().join("COMPLIANCE.md")).unwrap();
    assert!(md.contains("refills at its rate [REQ-0001]"), "{md}");
}

#[test]
fn nextest_failures_reruns_and_flaky_tests() {
    let dir = project("nextest/nextest-junit.xml");
    assert_eq!(
        statuses(dir.path()),
        expect(&[
            ("REQ-0001", "verified"),
            ("REQ-0002", "uncovered"),
            ("REQ-0003", "failing"), // failed, and failed again on its retry
            ("REQ-0004", "failing"),
            ("REQ-0005", "uncovered"), // nextest leaves ignored tests out of its report
            ("REQ-0006", "failing"),   // passed only on a retry: flaky
        ])
    );
    let text = std::fs::read_to_string(dir.path().join("reports/compliance.json")).unwrap();
    assert!(
        text.contains("flaky: passed on retry after 1 failure"),
        "{text}"
    );
}

#[test]
fn surefire_and_go_junit_report_shapes() {
    let dir = project("surefire/TEST-com.example.bucket.BucketTest.xml");
    assert_eq!(
        statuses(dir.path()),
        expect(&[
            ("REQ-0001", "failing"), // a suite property: every case of the class carries it
            ("REQ-0002", "uncovered"),
            ("REQ-0003", "failing"),
            ("REQ-0004", "failing"),
            ("REQ-0005", "unverified"),
            ("REQ-0006", "failing"), // <error>
        ])
    );
    let dir = project("go/go-junit-report.xml");
    assert_eq!(
        statuses(dir.path()),
        expect(&[
            ("REQ-0001", "verified"),
            ("REQ-0002", "uncovered"),
            ("REQ-0003", "failing"),
            ("REQ-0004", "failing"),
            ("REQ-0005", "unverified"),
            ("REQ-0006", "uncovered"),
        ])
    );
}

#[test]
fn check_names_the_failing_requirement_and_its_test_case() {
    let dir = project("jest/jest-junit.xml");
    let out = spectrace(dir.path()).arg("report").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = spectrace(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(".specs/bucket.md:7: MUST REQ-0003 is failing"),
        "{err}"
    );
    assert!(
        err.contains("reports/junit/jest-junit.xml:6: token bucket never exceeds its capacity [REQ-0003, REQ-0004] failed: Error: expect(received).toBe(expected)"),
        "{err}"
    );
}

#[test]
fn scan_lists_the_cases_that_name_requirements() {
    let dir = project("pytest/pytest-junit.xml");
    let out = spectrace(dir.path()).arg("scan").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = common::stdout(&out);
    let cases: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains("reports/junit/pytest-junit.xml:"))
        .collect();
    assert_eq!(cases.len(), 4, "{listing}");
    assert!(cases.iter().all(|l| l.contains(" junit ")), "{listing}");
    assert!(!listing.contains("test_untraced"), "{listing}");
}

#[test]
fn malformed_reports_unknown_ids_and_missing_files_are_errors_and_nothing_is_written() {
    let dir = project("pytest/pytest-junit.xml");
    write(
        dir.path(),
        "reports/junit/broken.xml",
        "<testsuite>\n<testcase name=\"a[REQ-0001]\">\n</testsuite>\n",
    );
    let out = spectrace(dir.path()).arg("report").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("reports/junit/broken.xml:3: error: malformed XML"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("COMPLIANCE.md").exists());

    write(
        dir.path(),
        "reports/junit/broken.xml",
        "<testsuite>\n<testcase name=\"a[REQ-0999]\"/>\n</testsuite>\n",
    );
    let out = spectrace(dir.path()).arg("report").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "reports/junit/broken.xml:2: error: unknown requirement ID REQ-0999: no spec defines it"
        ),
        "{}",
        stderr(&out)
    );

    std::fs::remove_file(dir.path().join("reports/junit/broken.xml")).unwrap();
    write(
        dir.path(),
        "spectrace.toml",
        "[specs]\nid_pattern = \"REQ-[0-9]{4}\"\n\n[evidence]\nrust = []\nfeatures = []\n\
         junit = [\"reports/junit/pytest-junit.xml\", \"reports/python.xml\"]\n",
    );
    let out = spectrace(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("reports/python.xml: error: this JUnit report"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("COMPLIANCE.md").exists());
}
