//! `spectrace strength` on a small crate (`fixtures/strength`): its strong test catches every
//! mutant but the equivalent one, which a waiver leaves out (8/8); weakened in a helper outside
//! its lines, `--check` names each mutant that survives now; weakened itself, the test lets six
//! mutants survive, and strength, `--check`, the report, the site and the gate all say so,
//! naming the survivors. The mutants are cargo-mutants' own list of the fixture (`mutants.json`); the
//! builds and test runs are real.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};

use common::{spectrace, stderr, write};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/strength")
}

fn copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "target" {
                continue;
            }
            std::fs::create_dir_all(&target).unwrap();
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the fixture depending on this checkout's spectrace, and a `cargo-mutants` that
/// answers with the fixture's list.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("counter");
    std::fs::create_dir_all(&root).unwrap();
    copy(&fixture(), &root);
    let spectrace_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../spectrace")
        .canonicalize()
        .unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .replace(
            "\"../../../../spectrace\"",
            &format!("\"{}\"", spectrace_dir.display()),
        );
    std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
    let tool = fake_cargo_mutants(
        dir.path(),
        "cargo-mutants",
        &format!("cat '{}'", root.join("mutants.json").display()),
    );
    write(
        &root,
        "reports/strength-waivers.yaml",
        "- id: REQ-0001\n  mutant: \"src/lib.rs: replace > with >= in bounded_add\"\n  reason: \"equivalent: at count + n == limit both branches give limit\"\n",
    );
    (dir, tool)
}

/// An executable `dir/name` that answers `cargo mutants --version` as the pinned release and
/// runs `list` (a shell command printing cargo-mutants' JSON list) for anything else.
fn fake_cargo_mutants(dir: &Path, name: &str, list: &str) -> PathBuf {
    write(
        dir,
        name,
        &format!(
            "#!/bin/sh\nif [ \"$2\" = --version ]; then echo 'cargo-mutants 27.1.0'; exit 0; fi\n{list}\n"
        ),
    );
    let tool = dir.join(name);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    tool
}

/// `name` under this checkout's target directory: where the fixture's builds go.
fn fixture_target(name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join(name)
}

/// `spectrace strength` in `root` with extra `args`.
fn strength(root: &Path, tool: &Path, args: &[&str]) -> std::process::Output {
    let target = fixture_target("strength-fixture");
    spectrace(root)
        .arg("strength")
        .args(["--in-place", "--cargo-mutants"])
        .arg(tool)
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap()
}

/// [`strength`], started and not waited for, building into a target directory of its own so
/// that no other test's cargo shares it.
fn start_strength(root: &Path, tool: &Path) -> std::process::Child {
    let target = fixture_target("strength-fixture-interrupted");
    std::process::Command::new(env!("CARGO_BIN_EXE_spectrace"))
        .current_dir(root)
        .arg("strength")
        .args(["--in-place", "--cargo-mutants"])
        .arg(tool)
        .env("CARGO_TARGET_DIR", target)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(root: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("reports/strength.json")).unwrap())
        .unwrap()
}

#[test]
fn a_weakened_test_turns_the_strength_down_naming_the_survivors() {
    let (dir, tool) = project();
    let root = dir.path().join("counter");

    let strong = strength(&root, &tool, &[]);
    assert_eq!(strong.status.code(), Some(0), "{}", stderr(&strong));
    assert!(
        stderr(&strong).contains("REQ-0001: 8/8 caught (0 missed, 1 waived, 0 unviable)"),
        "{}",
        stderr(&strong)
    );
    let r = &report(&root)["requirements"][0];
    assert_eq!(
        (
            r["caught"].as_u64(),
            r["missed"].as_u64(),
            r["waived"].as_u64()
        ),
        (Some(8), Some(0), Some(1))
    );
    assert_eq!(r["mutants"].as_array().unwrap().len(), 9);
    let committed = std::fs::read_to_string(root.join("reports/strength.json")).unwrap();
    assert!(
        std::fs::read_to_string(root.join("src/lib.rs"))
            .unwrap()
            .lines()
            .all(|l| !l.contains("changed by spectrace strength")),
        "every mutant is undone"
    );

    // The helper the test calls, outside its lines, keeps one loose assertion: the fingerprint
    // holds, the outcomes do not, and --check names each new survivor (no waiver names them).
    let counter = std::fs::read_to_string(root.join("tests/counter.rs")).unwrap();
    let helper = "    assert_eq!(strength_fixture::bounded_add(count, n, limit), want);";
    assert!(counter.contains(helper), "{counter}");
    write(
        &root,
        "tests/counter.rs",
        &counter.replace(
            helper,
            "    let _ = want;\n    assert!(strength_fixture::bounded_add(count, n, limit) <= limit);",
        ),
    );
    let survivors = strength(&root, &tool, &["--check"]);
    assert_eq!(survivors.status.code(), Some(1), "{}", stderr(&survivors));
    let err = stderr(&survivors);
    assert!(
        err.contains("reports/strength.json: REQ-0001: src/lib.rs:6:5: replace bounded_add -> u32 with 0 was Missed in this run, Caught in the report"),
        "{err}"
    );
    assert!(!err.contains("fingerprint"), "{err}");
    assert!(err.contains("spectrace strength --check: FAILED"), "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join("reports/strength.json")).unwrap(),
        committed,
        "--check writes nothing"
    );

    // The test itself keeps one loose assertion.
    write(
        &root,
        "tests/counter.rs",
        "#[spectrace::covers(\"REQ-0001\")]\n#[test]\nfn adds_within_the_limit_and_stops_at_it() {\n    assert!(strength_fixture::bounded_add(2, 3, 10) <= 10);\n}\n",
    );
    let check = strength(&root, &tool, &["--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(
        stderr(&check).contains("REQ-0001: its implementing items or evidence changed"),
        "{}",
        stderr(&check)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("reports/strength.json")).unwrap(),
        committed,
        "--check writes nothing"
    );

    let weak = strength(&root, &tool, &[]);
    assert_eq!(weak.status.code(), Some(0), "{}", stderr(&weak));
    let err = stderr(&weak);
    assert!(
        err.contains("REQ-0001: 2/8 caught (6 missed, 1 waived, 0 unviable)"),
        "{err}"
    );
    assert!(
        err.contains("survived: src/lib.rs:6:5: replace bounded_add -> u32 with 0"),
        "{err}"
    );
    assert!(
        err.contains("survived: src/lib.rs:6:14: replace + with * in bounded_add"),
        "{err}"
    );
    let r = &report(&root)["requirements"][0];
    assert_eq!(r["missed"].as_u64(), Some(6));
    let survivor = r["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "src/lib.rs:6:5: replace bounded_add -> u32 with 0")
        .unwrap();
    assert_eq!(survivor["outcome"], "missed");
    assert!(
        survivor["diff"]
            .as_str()
            .unwrap()
            .contains("+    0 /* ~ changed by spectrace strength ~ */"),
        "{survivor}"
    );

    // The report and the gate see it.
    write(
        &root,
        "spectrace.toml",
        "[specs]\nid_pattern = \"REQ-[0-9]{4}\"\n\n[evidence]\nrust = [\"src/**/*.rs\", \"tests/**/*.rs\"]\nfeatures = []\n\n[gate]\nimplemented = \"must\"\nmust_strength = 0.8\n",
    );
    let verify = spectrace(&root)
        .arg("verify")
        .env("CARGO_TARGET_DIR", fixture_target("strength-fixture"))
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    let md = std::fs::read_to_string(root.join("COMPLIANCE.md")).unwrap();
    assert!(md.contains("| ✅ verified | 2/8 |"), "{md}");
    assert!(md.contains("[bounded_add](src/lib.rs#L5)"), "{md}");
    // The site shows it beside the status, and the survivors with their diffs.
    let site = spectrace(&root).arg("site").output().unwrap();
    assert_eq!(site.status.code(), Some(0), "{}", stderr(&site));
    let page = std::fs::read_to_string(root.join("site/out/spec/spec.html")).unwrap();
    assert!(
        page.contains("title=\"REQ-0001: verified\">verified</a> <span class=\"strength\" title=\"REQ-0001: evidence strength 2/8\">2/8</span>"),
        "{page}"
    );
    assert!(
        page.contains("src/lib.rs#L5\">src/lib.rs:5</a> <code>bounded_add</code>"),
        "{page}"
    );
    assert_eq!(page.matches("<li class=\"survivor\">").count(), 6, "{page}");
    assert!(
        page.contains("src/lib.rs#L6\">src/lib.rs:6</a> <code>replace bounded_add -&gt; u32 with 0</code><pre class=\"diff\">"),
        "{page}"
    );
    assert!(
        page.contains(
            "<span class=\"diff-add\">+    0 /* ~ changed by spectrace strength ~ */</span>"
        ),
        "{page}"
    );
    let gate = spectrace(&root).arg("check").output().unwrap();
    assert_eq!(gate.status.code(), Some(1), "{}", stderr(&gate));
    assert!(
        stderr(&gate).contains(
            ".specs/spec.md:3: MUST REQ-0001 has strength 2/8 (the gate demands at least 0.800)"
        ),
        "{}",
        stderr(&gate)
    );
    // Changing the code makes the measured strength stale.
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        lib.replace("{ limit }", "{ limit.min(u32::MAX) }"),
    )
    .unwrap();
    let report = spectrace(&root).arg("report").output().unwrap();
    assert!(report.status.success(), "{}", stderr(&report));
    let md = std::fs::read_to_string(root.join("COMPLIANCE.md")).unwrap();
    assert!(md.contains("| ✅ verified | stale |"), "{md}");
}

/// A requirement none of whose mutants can be judged (here cargo-mutants lists none) has
/// strength 0/0: a `must_strength` floor fails it until a waiver without a mutant says why. The
/// reports and the site show that waiver, and `report` warns once a mutant of it is judged.
#[test]
fn a_requirement_with_no_judged_mutant_passes_the_floor_only_when_waived() {
    let (dir, _) = project();
    let root = dir.path().join("counter");
    let tool = fake_cargo_mutants(dir.path(), "no-mutants", "echo '[]'");
    write(&root, "reports/strength-waivers.yaml", "# none yet\n");
    let measured = strength(&root, &tool, &[]);
    assert_eq!(measured.status.code(), Some(0), "{}", stderr(&measured));
    let r = &report(&root)["requirements"][0];
    assert_eq!(
        (r["caught"].as_u64(), r["missed"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );

    write(
        &root,
        "spectrace.toml",
        "[specs]\nid_pattern = \"REQ-[0-9]{4}\"\n\n[evidence]\nrust = [\"src/**/*.rs\", \"tests/**/*.rs\"]\nfeatures = []\n\n[gate]\nmust_strength = 1.0\n",
    );
    let verify = spectrace(&root)
        .arg("verify")
        .env("CARGO_TARGET_DIR", fixture_target("strength-fixture"))
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    let gate = spectrace(&root).arg("check").output().unwrap();
    assert_eq!(gate.status.code(), Some(1), "{}", stderr(&gate));
    assert!(
        stderr(&gate).contains(
            ".specs/spec.md:3: MUST REQ-0001 has strength 0/0: none of the mutants of its implementing items could be judged (0 unviable)"
        ),
        "{}",
        stderr(&gate)
    );

    write(
        &root,
        "reports/strength-waivers.yaml",
        "- id: REQ-0001\n  reason: \"cargo-mutants makes no mutant of bounded_add here\"\n",
    );
    let report_run = spectrace(&root).arg("report").output().unwrap();
    assert!(report_run.status.success(), "{}", stderr(&report_run));
    assert!(
        !stderr(&report_run).contains("waiver"),
        "{}",
        stderr(&report_run)
    );
    let md = std::fs::read_to_string(root.join("COMPLIANCE.md")).unwrap();
    assert!(md.contains("| ✅ verified | 0/0 waived |"), "{md}");
    let json = std::fs::read_to_string(root.join("reports/compliance.json")).unwrap();
    assert!(
        json.contains("\"unjudged_waiver\": \"cargo-mutants makes no mutant of bounded_add here\""),
        "{json}"
    );
    let gate = spectrace(&root).arg("check").output().unwrap();
    assert_eq!(gate.status.code(), Some(0), "{}", stderr(&gate));
    let site = spectrace(&root).arg("site").output().unwrap();
    assert_eq!(site.status.code(), Some(0), "{}", stderr(&site));
    let page = std::fs::read_to_string(root.join("site/out/spec/spec.html")).unwrap();
    assert!(
        page.contains("<p class=\"unjudged-waiver\">No mutant can be judged, waived: cargo-mutants makes no mutant of bounded_add here</p>"),
        "{page}"
    );

    // Once a mutant of it is judged, the waiver no longer applies: `report` says so, and the
    // floor judges the figure.
    let measured = std::fs::read_to_string(root.join("reports/strength.json")).unwrap();
    assert!(measured.contains("\"caught\": 0,"), "{measured}");
    write(
        &root,
        "reports/strength.json",
        &measured.replacen("\"caught\": 0,", "\"caught\": 1,", 1),
    );
    let report_run = spectrace(&root).arg("report").output().unwrap();
    assert!(report_run.status.success(), "{}", stderr(&report_run));
    assert!(
        stderr(&report_run).contains(
            "reports/strength-waivers.yaml: warning: the waiver of REQ-0001 without a mutant no longer applies: 1 of its mutants is judged (1 caught); remove it"
        ),
        "{}",
        stderr(&report_run)
    );
    let md = std::fs::read_to_string(root.join("COMPLIANCE.md")).unwrap();
    assert!(md.contains("| ✅ verified | 1/1 |"), "{md}");
}

/// Ctrl-C while a mutant is in the tree: the file is restored, no report is written, and the
/// exit code is 130. The signal is sent once the first of the fixture's nine mutants is seen in
/// the file, so eight more are still to run whenever it lands.
#[test]
fn an_interrupted_run_restores_the_mutated_file_and_writes_no_report() {
    let (dir, tool) = project();
    let root = dir.path().join("counter");
    let lib = root.join("src/lib.rs");
    let original = std::fs::read_to_string(&lib).unwrap();
    let mut run = start_strength(&root, &tool);
    loop {
        let now = std::fs::read_to_string(&lib).unwrap_or_default();
        if now.contains("changed by spectrace strength") {
            break;
        }
        if run.try_wait().unwrap().is_some() {
            let early = run.wait_with_output().unwrap();
            panic!(
                "the run ended before any mutant was applied: {:?}\n{}",
                early.status,
                stderr(&early)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let ended = run.wait_with_output().unwrap();
    let err = stderr(&ended);
    assert_eq!(ended.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted: the mutated file is restored"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), original);
    assert!(
        !root.join("reports/strength.json").exists(),
        "no report is written"
    );
}

#[test]
fn include_target_must_name_a_test_false_target() {
    let (dir, tool) = project();
    let root = dir.path().join("counter");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("{manifest}\n[[test]]\nname = \"remote\"\ntest = false\n"),
    )
    .unwrap();
    write(
        &root,
        "tests/remote.rs",
        "#[test]\nfn reaches_the_server() {}\n",
    );

    let unknown = strength(&root, &tool, &["--include-target", "remot"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown)
            .contains("--include-target remot: no target of the workspace has that name"),
        "{}",
        stderr(&unknown)
    );
    let tested = strength(&root, &tool, &["--include-target", "counter"]);
    assert_eq!(tested.status.code(), Some(2), "{}", stderr(&tested));
    assert!(
        stderr(&tested).contains("`counter` of strength-fixture does not have `test = false`"),
        "{}",
        stderr(&tested)
    );
    assert!(
        !root.join("reports/strength.json").exists(),
        "nothing is measured or written"
    );
}
