//! `spectrace scan` as a user runs it: fixture trees with Rust, Gherkin and OpenAPI sources,
//! exit codes, messages naming `file:line`, determinism, and a scan of this repository.
//! Fixtures use their own ID pattern (`REQ-[0-9]{3}`) in their own `spectrace.toml`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
use common::*;

use std::fs;
use std::path::Path;

use spectrace_core::evidence::EvidenceKind;
use spectrace_core::scan::{ContractLink, DeclaredEvidence, ImplementationLink, Scan};

/// 1-based line of the first line of `text` containing `needle`.
fn line(text: &str, needle: &str) -> u32 {
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in fixture"));
    u32::try_from(index + 1).unwrap()
}

const CONFIG: &str = r#"[specs]
include = ["specs/*.md"]
id_pattern = "REQ-[0-9]{3}"

[evidence]
rust = ["crates/**/*.rs"]
features = ["features/**/*.feature"]
openapi = ["api/*.yaml"]
exclude = ["crates/fixtures/**", "**/generated.rs"]
"#;

const SPEC: &str = "# Spec\n\n- A MUST a. [REQ-001]\n- B MUST b. [REQ-002]\n- C MUST c. [REQ-003]\n- D MUST d. [REQ-004]\n- E MUST e. [REQ-005]\n- F MUST f. [REQ-006]\n- G MUST g. [REQ-007]\n- H MUST h. [REQ-008]\n";

const LIB: &str = r#"//! A fixture crate: scanned, never compiled.

#[spectrace::implements("REQ-001")]
pub struct Queue;

#[spectrace::implements("REQ-002")]
impl Queue {
    #[spectrace::implements("REQ-003")]
    pub fn push(&self) {}
}

#[implements("REQ-004")]
pub mod policy {}

#[spectrace::implements("REQ-005", "REQ-001")]
pub const CAPACITY: usize = 8;

#[cfg(test)]
mod tests {
    #[spectrace::covers("REQ-001")]
    #[test]
    fn bounded() {}

    mod nested {
        #[covers("REQ-002", kind = "contract")]
        #[tokio::test]
        async fn contract_holds() {}
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[spectrace::covers("REQ-003", kind = "property")]
        #[test]
        fn fifo_within_a_class(n in 0usize..10, seed: u64) {
            prop_assert!(n < 10);
        }
    }
}
"#;

const SERVER: &str = r#"#[spectrace::covers("REQ-004", "REQ-001", kind = "e2e")]
#[tokio::test(flavor = "multi_thread")]
async fn end_to_end() {}

#[spectrace::covers("REQ-005", kind = "compile")]
#[test]
fn malformed_ids_do_not_compile() {}
"#;

const FEATURE: &str = "\
@REQ-006 @smoke
Feature: Admission

  Scenario: Full queue
    Then 429

  @REQ-007
  Rule: Priorities

    @REQ-001
    Scenario Outline: Interactive first
      When <n> tasks
      Then interactive first

      @REQ-008
      Examples:
        | n |
        | 1 |
";

const API: &str = "\
openapi: 3.0.3
paths:
  /v1/tasks:
    post:
      x-req-id: [REQ-002, REQ-001]
      responses:
        '202':
          x-req-id: REQ-003
components:
  schemas:
    Task:
      x-req-id:
        - REQ-004
";

/// A fixture repository whose scan succeeds; `crates/fixtures/` and `generated.rs` hold IDs
/// no spec defines and are excluded.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "spectrace.toml", CONFIG);
    write(root, "specs/spec.md", SPEC);
    write(
        root,
        "crates/queue/Cargo.toml",
        "[package]\nname = \"queue-core\"\n",
    );
    write(root, "crates/queue/src/lib.rs", LIB);
    write(root, "crates/queue/src/plain.rs", "pub fn helper() {}\n");
    write(root, "crates/queue/tests/server.rs", SERVER);
    write(
        root,
        "crates/queue/src/generated.rs",
        "#[covers(\"REQ-999\")]\n#[test]\nfn x() {}\n",
    );
    write(
        root,
        "crates/fixtures/bad.rs",
        "#[covers(\"nope\")]\n#[test]\nfn x() {}\n",
    );
    write(root, "features/admission.feature", FEATURE);
    write(root, "api/data.yaml", API);
    dir
}

fn scan_json(root: &Path) -> Scan {
    let output = spectrace(root)
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `lines`: the first and last line of the test or scenario.
fn evidence(
    ids: &[&str],
    test: &str,
    file: &str,
    lines: (u32, u32),
    kind: EvidenceKind,
) -> DeclaredEvidence {
    DeclaredEvidence {
        ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        test: test.to_owned(),
        file: file.to_owned(),
        line: lines.0,
        end_line: lines.1,
        kind,
    }
}

/// The line of `needle`, twice: a one-line test.
fn one(text: &str, needle: &str) -> (u32, u32) {
    (line(text, needle), line(text, needle))
}

#[test]
fn json_lists_rust_gherkin_and_openapi_declarations() {
    let dir = fixture();
    let scan = scan_json(dir.path());
    let lib = "crates/queue/src/lib.rs";
    let server = "crates/queue/tests/server.rs";
    let feature = "features/admission.feature";
    assert_eq!(
        scan.evidence,
        [
            evidence(
                &["REQ-001"],
                "queue_core::tests::bounded",
                lib,
                one(LIB, "fn bounded"),
                EvidenceKind::Test
            ),
            evidence(
                &["REQ-002"],
                "queue_core::tests::nested::contract_holds",
                lib,
                one(LIB, "fn contract_holds"),
                EvidenceKind::Contract
            ),
            evidence(
                &["REQ-003"],
                "queue_core::tests::fifo_within_a_class",
                lib,
                (
                    line(LIB, "fn fifo_within_a_class"),
                    line(LIB, "prop_assert!(n < 10);") + 1
                ),
                EvidenceKind::Property
            ),
            evidence(
                &["REQ-001", "REQ-004"],
                "server::end_to_end",
                server,
                one(SERVER, "fn end_to_end"),
                EvidenceKind::E2e
            ),
            evidence(
                &["REQ-005"],
                "server::malformed_ids_do_not_compile",
                server,
                one(SERVER, "fn malformed_ids_do_not_compile"),
                EvidenceKind::Compile
            ),
            evidence(
                &["REQ-006"],
                "Admission: Full queue",
                feature,
                (
                    line(FEATURE, "Scenario: Full queue"),
                    line(FEATURE, "Then 429")
                ),
                EvidenceKind::Bdd
            ),
            evidence(
                &["REQ-001", "REQ-006", "REQ-007", "REQ-008"],
                "Admission: Interactive first",
                feature,
                (line(FEATURE, "Scenario Outline:"), line(FEATURE, "| 1 |")),
                EvidenceKind::Bdd
            ),
        ]
    );

    let contract = |id: &str, line: u32, pointer: &str| ContractLink {
        id: id.to_owned(),
        file: "api/data.yaml".to_owned(),
        line,
        pointer: pointer.to_owned(),
    };
    assert_eq!(
        scan.contracts,
        [
            contract("REQ-001", 5, "/paths/~1v1~1tasks/post"),
            contract("REQ-002", 5, "/paths/~1v1~1tasks/post"),
            contract("REQ-003", 8, "/paths/~1v1~1tasks/post/responses/202"),
            contract("REQ-004", 12, "/components/schemas/Task"),
        ]
    );

    // `end`: the item's last line, when it is not the line of its name.
    let implementation =
        |id: &str, item: &str, needle: &str, end: Option<u32>| ImplementationLink {
            id: id.to_owned(),
            item: item.to_owned(),
            file: lib.to_owned(),
            line: line(LIB, needle),
            end_line: end.unwrap_or_else(|| line(LIB, needle)),
        };
    let impl_end = line(LIB, "pub fn push") + 1;
    assert_eq!(
        scan.implementations,
        [
            implementation("REQ-001", "Queue", "pub struct Queue", None),
            implementation("REQ-002", "impl Queue", "impl Queue", Some(impl_end)),
            implementation("REQ-003", "Queue::push", "fn push", None),
            implementation("REQ-004", "policy", "mod policy", None),
            implementation("REQ-001", "CAPACITY", "const CAPACITY", None),
            implementation("REQ-005", "CAPACITY", "const CAPACITY", None),
        ]
    );
}

#[test]
fn text_lists_on_stdout_and_summarizes_on_stderr() {
    let dir = fixture();
    let output = spectrace(dir.path()).arg("scan").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "spectrace: 7 declared tests (test 1, property 1, contract 1, compile 1, e2e 1, bdd 2), \
         4 contract links, 6 implementation links in 5 files, 3 requirements without an \
         implementation link\n"
    );
    let text = stdout(&output);
    assert!(text.starts_with("declared evidence (7):\n"), "{text}");
    assert!(
        text.contains(
            "  crates/queue/src/lib.rs:35      property  REQ-003                          queue_core::tests::fifo_within_a_class\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "contract links (4):\n  api/data.yaml:5   REQ-001  /paths/~1v1~1tasks/post\n"
        ),
        "{text}"
    );
    assert!(text.contains("implementation links (6):\n"), "{text}");
    // REQ-001 … REQ-005 are implemented; REQ-006 … REQ-008 are not.
    assert!(
        text.ends_with(
            "requirements without an implementation link (3):\n  REQ-006\n  REQ-007\n  REQ-008\n"
        ),
        "{text}"
    );
    let json = spectrace(dir.path())
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        value["unimplemented"],
        serde_json::json!(["REQ-006", "REQ-007", "REQ-008"])
    );
}

#[test]
fn two_runs_are_byte_identical_and_out_writes_the_same_bytes() {
    let dir = fixture();
    let run = || {
        spectrace(dir.path())
            .args(["scan", "--format", "json"])
            .output()
            .unwrap()
            .stdout
    };
    let first = run();
    assert_eq!(first, run());
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(
        !text.contains(&*dir.path().to_string_lossy()),
        "no absolute paths"
    );
    assert!(text.ends_with("}\n"));

    let output = spectrace(dir.path())
        .args(["scan", "--format", "json", "--out", "out/scan.json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    assert!(
        stderr(&output).ends_with(" → out/scan.json\n"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read(dir.path().join("out/scan.json")).unwrap(), first);

    // The root can be given instead of the working directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = spectrace(elsewhere.path())
        .args(["scan", "--format", "json", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.stdout, first, "{}", stderr(&output));
}

#[test]
fn unknown_ids_fail_with_file_and_line() {
    let dir = fixture();
    let source = "#[spectrace::covers(\"REQ-001\",\n    \"REQ-404\")]\n#[test]\nfn t() {}\n";
    write(dir.path(), "crates/queue/tests/extra.rs", source);
    write(
        dir.path(),
        "api/control.yaml",
        "paths:\n  /x:\n    get:\n      x-req-id: REQ-405\n",
    );
    write(
        dir.path(),
        "features/more.feature",
        "Feature: More\n\n  @REQ-406\n  Scenario: S\n    Then x\n",
    );
    let output = spectrace(dir.path()).arg("scan").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert_eq!(
        stderr(&output),
        "api/control.yaml:4: error: unknown requirement ID REQ-405: no spec defines it\n\
         crates/queue/tests/extra.rs:2: error: unknown requirement ID REQ-404: no spec defines it\n\
         features/more.feature:3: error: unknown requirement ID REQ-406: no spec defines it\n\
         spectrace: 3 errors found; nothing was written\n"
    );
}

#[test]
fn malformed_ids_and_tags_fail() {
    let dir = fixture();
    write(
        dir.path(),
        "features/bad.feature",
        "@REQ-6\nFeature: Bad\n  @wip @req-001\n  Scenario: S\n    Then x\n",
    );
    write(
        dir.path(),
        "crates/queue/tests/bad.rs",
        "#[spectrace::covers(\"REQ-1\")]\n#[test]\nfn t() {}\n",
    );
    let output = spectrace(dir.path()).arg("scan").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("crates/queue/tests/bad.rs:1: error: malformed requirement ID `REQ-1`: it does not match the ID pattern `REQ-[0-9]{3}`\n"),
        "{err}"
    );
    assert!(
        err.contains("features/bad.feature:1: error: malformed requirement ID tag `@REQ-6`"),
        "{err}"
    );
    assert!(
        err.contains("features/bad.feature:3: error: malformed requirement ID tag `@req-001`"),
        "{err}"
    );
    assert!(
        err.ends_with("spectrace: 3 errors found; nothing was written\n"),
        "{err}"
    );
}

#[test]
fn unreadable_and_unparsable_files_are_errors_naming_the_file() {
    let dir = fixture();
    write(
        dir.path(),
        "crates/queue/tests/broken.rs",
        "#[spectrace::covers(\"REQ-001\")]\n#[test]\nfn t( {}\n",
    );
    write(
        dir.path(),
        "api/broken.yaml",
        "paths:\n  a: [1, 2\n  b: 3\n",
    );
    write(dir.path(), "api/dup.yaml", "a: 1\nb: 2\na: 3\n");
    write(
        dir.path(),
        "features/broken.feature",
        "Scenario: no feature\n  Then x\n",
    );
    fs::write(
        dir.path().join("crates/queue/tests/latin1.rs"),
        b"// covers \xe9\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        dir.path().join("missing.rs"),
        dir.path().join("crates/queue/tests/dangling.rs"),
    )
    .unwrap();
    let output = spectrace(dir.path()).arg("scan").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    for expected in [
        "api/broken.yaml:",
        "api/dup.yaml:3: error: cannot parse YAML: ",
        "crates/queue/tests/broken.rs:3: error: cannot parse Rust: ",
        "crates/queue/tests/latin1.rs:1: error: not valid UTF-8",
        "features/broken.feature:1: error: cannot parse Gherkin at column 14: unknown keyword",
    ] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
    #[cfg(unix)]
    assert!(
        err.contains("crates/queue/tests/dangling.rs: error: cannot read: "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn excluded_files_are_not_read_and_matter_once_included() {
    let dir = fixture();
    assert!(!scan_json(dir.path()).evidence.is_empty());
    write(
        dir.path(),
        "spectrace.toml",
        &CONFIG.replace(
            "exclude = [\"crates/fixtures/**\", \"**/generated.rs\"]",
            "exclude = []",
        ),
    );
    let output = spectrace(dir.path()).arg("scan").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("crates/fixtures/bad.rs:1: error: malformed requirement ID `nope`"),
        "{err}"
    );
    assert!(
        err.contains("crates/queue/src/generated.rs:1: error: unknown requirement ID REQ-999"),
        "{err}"
    );
}

#[test]
fn globs_that_match_nothing_give_an_empty_scan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "specs/spec.md", SPEC);
    write(dir.path(), "spectrace.toml", CONFIG);
    let scan = scan_json(dir.path());
    assert_eq!(scan, Scan::default());
}

#[test]
fn bad_configuration_and_missing_specs_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "specs/spec.md", SPEC);
    write(
        dir.path(),
        "spectrace.toml",
        &CONFIG.replace(
            "openapi = [\"api/*.yaml\"]",
            "openapi = [\"api/**x/*.yaml\"]",
        ),
    );
    let output = spectrace(dir.path()).arg("scan").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error: invalid glob `api/**x/*.yaml` in [evidence] openapi"),
        "{}",
        stderr(&output)
    );

    let empty = tempfile::tempdir().unwrap();
    write(empty.path(), "spectrace.toml", CONFIG);
    let output = spectrace(empty.path()).arg("scan").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no spec file matches specs/*.md"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_explains_the_command() {
    let output = spectrace(Path::new("."))
        .args(["scan", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = stdout(&output);
    for needed in [
        "#[covers]",
        "x-req-id",
        "--format",
        "--out",
        "--root",
        "Exit codes",
    ] {
        assert!(help.contains(needed), "{needed} in {help}");
    }
}

/// This repository's own configuration: the reference implementation's tests and the OpenAPI
/// contracts are found, spec-tools' fixtures are excluded.
#[test]
fn this_repository_scans_cleanly() {
    let workspace = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scan = scan_json(workspace);
    assert!(
        scan.evidence
            .iter()
            .all(|e| !e.file.starts_with("spec-tools/")),
        "spec-tools is excluded"
    );
    let properties = scan
        .evidence
        .iter()
        .find(|e| e.test == "properties::every_admitted_task_ends_exactly_once")
        .expect("the proptest of orchestrator-core");
    assert_eq!(
        properties.file,
        "reference-impl/orchestrator-core/tests/properties.rs"
    );
    assert_eq!(properties.kind, EvidenceKind::Property);
    let text = fs::read_to_string(workspace.join(&properties.file)).unwrap();
    assert!(
        text.lines()
            .nth(properties.line as usize - 1)
            .unwrap()
            .contains("fn every_admitted_task_ends_exactly_once"),
        "line of the test's name"
    );
    assert!(scan.evidence.iter().any(
        |e| e.file.starts_with("reference-impl/orchestratord/tests/")
            && e.kind == EvidenceKind::E2e
    ));
    assert!(
        scan.evidence
            .iter()
            .any(|e| e.test.starts_with("orchestrator_core::queue::tests::"))
    );
    for document in [
        "contracts/openapi/data.yaml",
        "contracts/openapi/control.yaml",
    ] {
        assert!(
            scan.contracts.iter().any(|c| c.file == document),
            "{document}"
        );
    }
    let enqueue = scan
        .contracts
        .iter()
        .find(|c| c.pointer == "/paths/~1v1~1tasks/post" && c.id == "ORCH-2001")
        .expect("x-req-id of the enqueue operation");
    assert_eq!(enqueue.file, "contracts/openapi/data.yaml");
}
