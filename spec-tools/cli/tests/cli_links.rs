//! `spectrace links` as a user runs it: on this repository's real spec (the GitHub anchor of
//! `3.16 API contracts & determinism` keeps its double hyphen), and on fixture trees for missing
//! files, HTML ids, repeated headings, code blocks, external URLs, line anchors, `file:line`
//! accuracy, the `[links]` selection, JSON output and exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// Runs `spectrace links` with `args` in `root`: (exit code, stdout, stderr).
fn links(root: &Path, args: &[&str]) -> (i32, String, String) {
    // `--online` fetches from a loopback server: no proxy may stand in between.
    let output = spectrace(root)
        .arg("links")
        .args(args)
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        stdout(&output),
        stderr(&output),
    )
}

/// The `file:line → target: reason` lines of a run's stderr.
fn broken(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(" → ")).collect()
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn collapsed_hyphens_in_an_anchor_into_the_real_spec_are_broken() {
    let root = repository_root();
    let fixture = "spec-tools/cli/tests/fixtures/links/spec-anchors.md";
    let spec = std::fs::read_to_string(root.join(".specs/orchestrator-spec.md")).unwrap();
    assert!(spec.contains("\n### 3.16 API contracts & determinism\n"));
    let (code, _, err) = links(&root, &[fixture]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        broken(&err),
        [format!(
            "{fixture}:4 → ../../../../../.specs/orchestrator-spec.md#316-api-contracts-determinism: \
             no heading anchor `#316-api-contracts-determinism`"
        )]
    );
    assert!(
        err.contains("1 file, 2 local links checked"),
        "the good anchor was checked too: {err}"
    );
}

#[test]
fn a_missing_relative_file_is_broken_and_an_existing_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/guide.md", "# Guide\n");
    write(
        dir.path(),
        "README.md",
        "# Readme\n\nSee [the guide](docs/guide.md) and [old notes](docs/notes.md).\n\n![logo](img/logo.png)\n",
    );
    let (code, out, err) = links(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        broken(&err),
        [
            "README.md:3 → docs/notes.md: no such file `docs/notes.md`",
            "README.md:5 → img/logo.png: no such file `img/logo.png`",
        ]
    );
    assert_eq!(out, "");
    assert!(err.contains("2 files, 3 local links checked"), "{err}");
    assert!(err.contains(": 2 broken"), "{err}");
}

#[test]
fn html_fragments_must_name_an_element_id() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "site/out/index.html",
        "<!doctype html>\n<html><body>\n<h1 id=\"top-title\">Dashboard</h1>\n\
         <a href=\"req/orch-3004.html#orch-3004\">good</a>\n\
         <a href=\"req/orch-3004.html#orch-9999\">missing id</a>\n\
         <a href=\"#top-title\">self</a>\n<a href=\"#nowhere\">self, missing</a>\n\
         <pre><a href=\"gone.html\">in pre: verbatim, not checked</a></pre>\n\
         </body></html>\n",
    );
    write(
        dir.path(),
        "site/out/req/orch-3004.html",
        "<html><body><section id=\"orch-3004\">x</section>\
         <a href=\"../index.html\">back</a></body></html>\n",
    );
    write(
        dir.path(),
        "README.md",
        "[site](site/out/req/orch-3004.html#orch-3004) [bad](site/out/req/orch-3004.html#ORCH-3004)\n",
    );
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        broken(&err),
        [
            "README.md:1 → site/out/req/orch-3004.html#ORCH-3004: no element with id `ORCH-3004`",
            "site/out/index.html:5 → req/orch-3004.html#orch-9999: no element with id `orch-9999`",
            "site/out/index.html:7 → #nowhere: no element with id `nowhere`",
        ]
    );
    assert!(err.contains("3 files, 7 local links checked"), "{err}");
}

#[test]
fn repeated_headings_get_numbered_anchors() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "README.md",
        "# Notes\n\n## Example\n\n## Example\n\n## Example\n\n\
         [1](#example) [2](#example-1) [3](#example-2) [4](#example-3)\n",
    );
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        broken(&err),
        ["README.md:9 → #example-3: no heading anchor `#example-3`"]
    );
}

#[test]
fn links_in_code_are_not_links() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "README.md",
        "# Code\n\n```markdown\n[not a link](missing.md)\nhttps://example.invalid/in-fence\n```\n\n\
         Inline `[no](missing-too.md)` code.\n\n    [indented](missing-three.md)\n",
    );
    let (code, out, err) = links(dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("1 file, 0 local links checked, 0 external URLs listed"),
        "{err}"
    );
}

#[test]
fn external_urls_are_listed_not_fetched() {
    let dir = tempfile::tempdir().unwrap();
    // `.invalid` never resolves: a fetch would fail the run.
    write(
        dir.path(),
        "README.md",
        "# Links\n\n[site](https://spectrace.invalid/docs#intro)\n\nMail <maintainers@spectrace.invalid>, \
         or see http://spectrace.invalid/plain in text.\n\n[call](tel:+100)\n",
    );
    let (code, out, err) = links(dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "README.md:3 → https://spectrace.invalid/docs#intro\n\
         README.md:5 → http://spectrace.invalid/plain\n\
         README.md:5 → maintainers@spectrace.invalid\n"
    );
    assert!(
        err.contains("3 external URLs listed (not fetched; --online fetches them): no broken link"),
        "{err}"
    );
}

#[test]
fn lines_are_those_of_the_links() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs/a.md",
        "# A\n\
         \n\
         A paragraph that wraps\n\
         over lines and links [here](gone-1.md)\n\
         and [there](gone-2.md \"title\") at its end.\n\
         \n\
         - item\n\
         \x20 - nested [deep](gone-3.md)\n\
         \n\
         > quoted [ref link][r]\n\
         \n\
         <p>html <a href=\"gone-5.md\">x</a></p>\n\
         \n\
         [r]: gone-4.md\n",
    );
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = broken(&err)
        .into_iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "docs/a.md:4",
            "docs/a.md:5",
            "docs/a.md:8",
            "docs/a.md:10",
            "docs/a.md:12"
        ],
        "{err}"
    );
}

#[test]
fn line_anchors_on_other_files_need_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", "//! doc\n\npub fn f() {}\n");
    write(
        dir.path(),
        "COMPLIANCE.md",
        "| ORCH-1 | [src/lib.rs:3](src/lib.rs#L3) |\n\
         | ORCH-2 | [range](src/lib.rs#L1-L3) |\n\
         | ORCH-3 | [past the end](src/lib.rs#L4) |\n\
         | ORCH-4 | [gone](src/gone.rs#L1) |\n\
         | ORCH-5 | [word](src/lib.rs#f) |\n",
    );
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        broken(&err),
        [
            "COMPLIANCE.md:3 → src/lib.rs#L4: line 4 is outside the file (3 lines)",
            "COMPLIANCE.md:4 → src/gone.rs#L1: no such file `src/gone.rs`",
            "COMPLIANCE.md:5 → src/lib.rs#f: `#f` is not a line anchor (`#L12`, `#L12-L20`) \
             and the file is neither Markdown nor HTML",
        ]
    );
}

#[test]
fn the_links_section_selects_files_and_target_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "spectrace.toml",
        "[links]\ninclude = [\"**/*.md\"]\nexclude = [\"vendor/**\"]\n",
    );
    write(dir.path(), "a/b.md", "[x](missing.md)\n");
    write(dir.path(), "vendor/c.md", "[x](missing.md)\n");
    write(dir.path(), "target/doc/d.md", "[x](missing.md)\n");
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        broken(&err),
        ["a/b.md:1 → missing.md: no such file `a/missing.md`"]
    );
}

#[test]
fn json_output_and_a_second_run_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "README.md",
        "# R\n\n[b](b.md) [a](a.md) [r](#r) <https://spectrace.invalid/>\n",
    );
    let first = links(dir.path(), &["--format", "json"]);
    let second = links(dir.path(), &["--format", "json"]);
    assert_eq!(first, second);
    assert_eq!(first.0, 1);
    let json: serde_json::Value = serde_json::from_str(&first.1).unwrap();
    assert_eq!(json["files"], 1);
    assert_eq!(json["local"], 3);
    assert_eq!(json["online"], false);
    assert_eq!(
        json["broken"],
        serde_json::json!([
            {"file": "README.md", "line": 3, "target": "a.md", "reason": "no such file `a.md`"},
            {"file": "README.md", "line": 3, "target": "b.md", "reason": "no such file `b.md`"},
        ])
    );
    assert_eq!(
        json["external"],
        serde_json::json!([{"file": "README.md", "line": 3, "url": "https://spectrace.invalid/"}])
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "spectrace.toml", "[links]\nincude = []\n");
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("spectrace.toml:2: error:"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.md"), b"\xff\xfe not utf-8").unwrap();
    let (code, _, err) = links(dir.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.md: error: cannot read"), "{err}");

    let (code, _, err) = links(dir.path(), &["nope.md"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nope.md: error: no such file"), "{err}");
}

/// A one-thread HTTP server on loopback: `200` for `/ok`, `404` for anything else. Returns its
/// base URL; it serves until the test process ends.
fn http_server() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            // Read the headers up to the blank line.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let status = if request_line.split(' ').nth(1) == Some("/ok") {
                "200 OK"
            } else {
                "404 Not Found"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
            );
        }
    });
    base
}

#[test]
fn online_fetches_external_urls_and_reports_failures() {
    let base = http_server();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "README.md",
        &format!("# R\n\n[up]({base}/ok)\n\n[down]({base}/gone)\n"),
    );
    // Offline, nothing is fetched: both are listed and the run passes.
    let (code, out, err) = links(dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");

    let (code, out, err) = links(dir.path(), &["--online"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let broken = broken(&err);
    assert_eq!(broken.len(), 1, "{err}");
    assert!(
        broken[0].starts_with(&format!("README.md:5 → {base}/gone: ")) && broken[0].contains("404"),
        "{err}"
    );
    assert!(
        err.contains("2 external URLs checked online: 1 broken"),
        "{err}"
    );
}
