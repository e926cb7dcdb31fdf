//! `spectrace site` as a user runs it on a small fixture repository: `spectrace report`, then
//! `spectrace site`; the files it writes, a rebuild that leaves no stale file, the exit codes
//! for a missing or broken compliance.json, a missing spec and a foreign output directory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::fs;
use std::path::Path;

/// The fixture spec with raw HTML in FIX-002's text, which the site must show as text.
fn spec() -> String {
    FIXTURE_SPEC.replace(
        "Positions MUST be honest.",
        "Positions MUST be honest. <script>alert(1)</script>",
    )
}

fn fixture() -> tempfile::TempDir {
    let dir = fixture_repo(FIXTURE_CONFIG, &spec(), FIXTURE_TESTS);
    write(
        dir.path(),
        "reports/run/evidence-1.jsonl",
        &record("FIX-001", 3, "passed"),
    );
    let report = spectrace(dir.path()).arg("report").output().unwrap();
    assert!(report.status.success(), "{}", stderr(&report));
    dir
}

/// Every file under `dir`, relative, sorted, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn names(tree: &[(String, Vec<u8>)]) -> Vec<&str> {
    tree.iter().map(|(name, _)| name.as_str()).collect()
}

#[test]
fn site_builds_from_the_report_and_a_rebuild_is_identical() {
    let dir = fixture();
    let out = spectrace(dir.path()).arg("site").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("spectrace: site: 2 pages, 5 files"), "{err}");
    assert!(err.contains("open site/out/index.html"), "{err}");
    let site = dir.path().join("site/out");
    let first = tree(&site);
    assert_eq!(
        names(&first),
        [
            ".spectrace-site",
            "assets/app.js",
            "assets/search-index.js",
            "assets/style.css",
            "index.html",
            "spec/spec.html",
        ]
        .map(|n| n.replace('/', std::path::MAIN_SEPARATOR_STR))
    );
    let read = |rel: &str| fs::read_to_string(site.join(rel)).unwrap();
    let spec = read("spec/spec.html");
    assert!(
        spec.contains(
            "<li class=\"req\" id=\"fix-001\"><a class=\"badge status-verified\" href=\"#fix-001\""
        ),
        "{spec}"
    );
    assert!(
        spec.contains("<li class=\"req\" id=\"fix-002\"><a class=\"badge status-unverified\""),
        "{spec}"
    );
    assert!(
        spec.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{spec}"
    );
    assert!(!spec.contains("<script>alert"));
    assert!(spec.contains("<li class=\"evidence-item outcome-passed\"><b>test</b> <em>passed</em> <a href=\"../../../tests/a.rs#L3\">tests/a.rs:3</a>"), "{spec}");
    let index = read("index.html");
    assert!(index.contains("<span id=\"result-count\">3</span>"));
    assert!(
        read("assets/search-index.js")
            .starts_with("window.SPECTRACE_INDEX = [\n{\"id\":\"FIX-001\"")
    );
    // Nothing is left beside the site.
    let beside: Vec<String> = fs::read_dir(dir.path().join("site"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["out"]);

    // A second build writes the same bytes; a file of an older build does not survive.
    write(&site, "spec/stale.html", "old");
    let again = spectrace(dir.path()).arg("site").output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(tree(&site), first);
}

#[test]
fn out_and_config_options_are_honoured() {
    let dir = fixture();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("public");
    let out = spectrace(dir.path())
        .args(["site", "--out"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Outside the repository, locations are not linked.
    let req = fs::read_to_string(target.join("spec/spec.html")).unwrap();
    assert!(req.contains("<code>tests/a.rs:3</code>"), "{req}");
    assert!(!dir.path().join("site").exists());

    write(
        dir.path(),
        "other.toml",
        &format!("{FIXTURE_CONFIG}\n[outputs]\nsite = \"public/site\"\n"),
    );
    let out = spectrace(dir.path())
        .args(["site", "--config", "other.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("open public/site/index.html"),
        "{}",
        stderr(&out)
    );
    assert!(dir.path().join("public/site/index.html").is_file());
}

#[test]
fn a_missing_or_broken_compliance_json_is_bad_input() {
    let dir = fixture();
    fs::remove_file(dir.path().join("reports/compliance.json")).unwrap();
    let out = spectrace(dir.path()).arg("site").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("reports/compliance.json: error: cannot read the compliance model"),
        "{err}"
    );
    assert!(err.contains("run `spectrace report`"), "{err}");
    assert!(!dir.path().join("site").exists());

    write(
        dir.path(),
        "reports/compliance.json",
        "{\n  \"schema_version\": 1,\n  \"totals\": [\n",
    );
    let out = spectrace(dir.path()).arg("site").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("reports/compliance.json:4: error: not a compliance model"),
        "{err}"
    );
    assert!(err.contains("run `spectrace report`"), "{err}");
}

#[test]
fn a_failed_build_keeps_the_old_site() {
    let dir = fixture();
    let ok = spectrace(dir.path()).arg("site").output().unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    let site = dir.path().join("site/out");
    let before = tree(&site);
    // The model names a spec that is gone.
    fs::remove_file(dir.path().join(".specs/spec.md")).unwrap();
    let out = spectrace(dir.path()).arg("site").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(
            ".specs/spec.md: error: cannot read this spec, which reports/compliance.json names"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(&site), before);
}

#[test]
fn a_directory_not_built_by_spectrace_is_not_replaced() {
    let dir = fixture();
    write(dir.path(), "docs/notes.md", "mine");
    let out = spectrace(dir.path())
        .args(["site", "--out", "docs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to replace"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("docs/notes.md")).unwrap(),
        "mine"
    );
}
