//! What `spectrace strength` does for one requirement, decided without running anything:
//! which mutants lie in its implementing items, which of its evidence can run and how, and the
//! fingerprint of the source it is measured on.
//!
//! - **Mutants**: those whose whole span lies inside the lines of one of the requirement's
//!   `#[implements]` items (same file).
//! - **Evidence**: its `#[covers]` tests, each selected by exact name in the Cargo target that
//!   compiles it (`--lib`, `--bin NAME`, `--test NAME`), all in one `cargo test` run; and its
//!   BDD scenarios, selected by the requirement's tag in the command of `[strength] bdd` (built
//!   first by `[strength] bdd_build`, so that a mutant that does not compile is unviable, not
//!   caught).
//!   Evidence in a `[[test]]` or `[[bin]]` target with `test = false`, which `cargo test
//!   --workspace` skips (say, a suite that needs a server), runs like any other only when the
//!   target is named by `--include-target` ([`included_targets`] checks the names against
//!   `cargo metadata`); otherwise it is listed as not run, with a reason that names the option.
//!   Evidence in a benchmark or an example, JUnit cases (a report, not a test spectrace can
//!   run) and BDD scenarios without a configured command are listed as not run, with the
//!   reason.
//! - **Fingerprint**: SHA-256 over each implementing item's and each evidence item's file name
//!   and source lines, in a fixed order (first 16 hex digits); JUnit cases are left out, being
//!   lines of a run's reports rather than source. It changes when the code the
//!   measurement is about changes, so a strength cannot silently outlive it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::mutants::Mutant;
use crate::evidence::EvidenceKind;
use crate::scan::crate_path::{CargoTarget, CratePaths};
use crate::scan::{DeclaredEvidence, ImplementationLink, Scan};

/// One command to run, program first.
pub type Command = Vec<String>;

/// The commands that run scenarios (`[strength]` of spectrace.toml).
#[derive(Debug, Clone, Copy)]
pub struct ScenarioCommands<'a> {
    /// Builds the scenario runner.
    pub build: &'a [String],
    /// Runs scenarios; `--tags @ID` is appended. Empty: scenarios are not run.
    pub run: &'a [String],
}

/// How a requirement's evidence is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePlan {
    /// Build what the runs need; a failure makes a mutant unviable.
    pub builds: Vec<Command>,
    /// Runs the evidence; a failure or a timeout catches a mutant.
    pub runs: Vec<Command>,
    /// Evidence items run (`file:line`), sorted.
    pub run_items: Vec<String>,
    /// Evidence items that cannot be run here, with the reason, sorted.
    pub not_run: Vec<(String, String)>,
}

/// The requirement's implementing items.
pub fn items<'s>(scan: &'s Scan, id: &str) -> Vec<&'s ImplementationLink> {
    let mut items: Vec<&ImplementationLink> =
        scan.implementations.iter().filter(|i| i.id == id).collect();
    items.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    items
}

/// The requirement's declared evidence.
pub fn evidence<'s>(scan: &'s Scan, id: &str) -> Vec<&'s DeclaredEvidence> {
    let mut found: Vec<&DeclaredEvidence> = scan
        .evidence
        .iter()
        .filter(|e| e.ids.iter().any(|i| i == id))
        .collect();
    found.sort_by(|a, b| (&a.file, a.line, &a.test).cmp(&(&b.file, b.line, &b.test)));
    found
}

/// The mutants inside `items`, in the order of `mutants`.
pub fn mutants_in<'m>(items: &[&ImplementationLink], mutants: &'m [Mutant]) -> Vec<&'m Mutant> {
    mutants
        .iter()
        .filter(|m| {
            items.iter().any(|item| {
                item.file == m.file
                    && m.span.start.line >= item.line
                    && m.span.end.line <= item.end_line
            })
        })
        .collect()
}

/// `file:line` of an evidence item.
fn location(e: &DeclaredEvidence) -> String {
    format!("{}:{}", e.file, e.line)
}

/// The libtest name of a Rust test: its `module_path!()::name` without the crate.
fn libtest_name(test: &str) -> &str {
    test.split_once("::").map_or(test, |(_, rest)| rest)
}

/// How to run `evidence` under `root`; evidence in a `test = false` target runs only when the
/// target is among `included` (by its name in the manifest).
pub fn evidence_plan(
    root: &Path,
    id: &str,
    evidence: &[&DeclaredEvidence],
    bdd: ScenarioCommands<'_>,
    included: &[String],
) -> EvidencePlan {
    let mut paths = CratePaths::new(root);
    let mut targets: BTreeSet<CargoTarget> = BTreeSet::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut run_items = Vec::new();
    let mut not_run = Vec::new();
    let mut scenarios = false;
    for e in evidence {
        match e.kind {
            EvidenceKind::Bdd if bdd.run.is_empty() => not_run.push((
                location(e),
                "a BDD scenario, and `[strength] bdd` names no command that runs scenarios"
                    .to_owned(),
            )),
            EvidenceKind::Bdd => {
                scenarios = true;
                run_items.push(location(e));
            }
            EvidenceKind::Junit => not_run.push((
                location(e),
                "a JUnit test case: spectrace reads its report, it cannot run it".to_owned(),
            )),
            _ => match paths.target(&e.file) {
                (_, CargoTarget::TestFalse { name, bin }) if included.contains(&name) => {
                    targets.insert(if bin {
                        CargoTarget::Bin(name)
                    } else {
                        CargoTarget::Test(name)
                    });
                    names.insert(libtest_name(&e.test));
                    run_items.push(location(e));
                }
                (package, CargoTarget::TestFalse { name, .. }) => not_run.push((
                    location(e),
                    format!(
                        "target `{name}` of {} has `test = false`, which `cargo test` skips; \
                         pass `--include-target {name}` where it can run",
                        package.as_deref().unwrap_or("its package")
                    ),
                )),
                (_, CargoTarget::NotRun(reason)) => not_run.push((location(e), reason)),
                (_, target) => {
                    targets.insert(target);
                    names.insert(libtest_name(&e.test));
                    run_items.push(location(e));
                }
            },
        }
    }
    let mut selectors: Vec<String> = Vec::new();
    for target in &targets {
        match target {
            CargoTarget::Lib => selectors.push("--lib".to_owned()),
            CargoTarget::Bin(name) => selectors.extend(["--bin".to_owned(), name.clone()]),
            CargoTarget::Test(name) => selectors.extend(["--test".to_owned(), name.clone()]),
            CargoTarget::TestFalse { .. } | CargoTarget::NotRun(_) => {}
        }
    }
    let cargo = |extra: &[&str]| -> Command {
        let mut command: Command = ["cargo", "test", "--workspace"]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect();
        command.extend(selectors.iter().cloned());
        command
    };
    let mut builds = Vec::new();
    let mut runs = Vec::new();
    if !targets.is_empty() {
        builds.push(cargo(&["--no-run"]));
        let mut run = cargo(&["--no-fail-fast"]);
        run.push("--".to_owned());
        run.push("--exact".to_owned());
        run.extend(names.iter().map(|n| (*n).to_owned()));
        runs.push(run);
    }
    if scenarios {
        if !bdd.build.is_empty() {
            builds.push(bdd.build.to_vec());
        }
        let mut run: Command = bdd.run.to_vec();
        run.push("--tags".to_owned());
        run.push(format!("@{id}"));
        runs.push(run);
    }
    run_items.sort();
    not_run.sort();
    EvidencePlan {
        builds,
        runs,
        run_items,
        not_run,
    }
}

/// One package of `cargo metadata --no-deps --format-version 1`, what [`included_targets`]
/// reads of it.
#[derive(Debug, Deserialize)]
struct MetadataPackage {
    name: String,
    targets: Vec<MetadataTarget>,
}

#[derive(Debug, Deserialize)]
struct MetadataTarget {
    name: String,
    kind: Vec<String>,
    /// False for `test = false` (and for benchmarks and examples, by default).
    #[serde(default = "yes")]
    test: bool,
}

const fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<MetadataPackage>,
}

/// Checks the names given to `--include-target` against the workspace's targets, as `metadata`
/// (the output of `cargo metadata --no-deps --format-version 1`) lists them: each must name a
/// `[[test]]` or `[[bin]]` with `test = false`. An error names the first that does not, and
/// what it is instead; including a target `cargo test` runs anyway, or one that does not
/// exist, is a mistake to correct, not something to run around.
pub fn included_targets(metadata: &str, included: &[String]) -> Result<(), String> {
    let metadata: Metadata = serde_json::from_str(metadata)
        .map_err(|e| format!("cannot read the output of `cargo metadata`: {e}"))?;
    for name in included {
        let found: Vec<(&str, &MetadataTarget)> = metadata
            .packages
            .iter()
            .flat_map(|p| p.targets.iter().map(move |t| (p.name.as_str(), t)))
            .filter(|(_, t)| &t.name == name)
            .collect();
        let selectable = |t: &MetadataTarget| t.kind.iter().any(|k| k == "test" || k == "bin");
        if found.iter().any(|(_, t)| selectable(t) && !t.test) {
            continue;
        }
        let Some((package, target)) = found.first() else {
            return Err(format!(
                "--include-target {name}: no target of the workspace has that name"
            ));
        };
        let kind = target.kind.join(", ");
        return Err(if selectable(target) {
            format!(
                "--include-target {name}: the {kind} target `{name}` of {package} does not have \
                 `test = false`, so its evidence runs without the option"
            )
        } else {
            format!(
                "--include-target {name}: `{name}` of {package} is a {kind} target; only a \
                 `[[test]]` or `[[bin]]` with `test = false` can be included"
            )
        });
    }
    Ok(())
}

/// The fingerprint of the source a requirement's strength is measured on (see the module
/// documentation); `read` gives a file's text by its path relative to the root.
pub fn fingerprint(
    items: &[&ImplementationLink],
    evidence: &[&DeclaredEvidence],
    read: &mut dyn FnMut(&str) -> Option<String>,
) -> String {
    let mut texts: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut hasher = Sha256::new();
    // A JUnit case is not source: it is a line of a report that a run writes (with its
    // duration in it), present in one tree and absent in another, and strength never runs it.
    // Hashing it would make a measurement stale wherever the reports differ.
    let spans = items
        .iter()
        .map(|i| (i.file.as_str(), i.line, i.end_line))
        .chain(
            evidence
                .iter()
                .filter(|e| e.kind != EvidenceKind::Junit)
                .map(|e| (e.file.as_str(), e.line, e.end_line)),
        );
    for (file, first, last) in spans {
        let text = texts
            .entry(file.to_owned())
            .or_insert_with(|| read(file))
            .as_deref()
            .unwrap_or_default();
        hasher.update(file.as_bytes());
        hasher.update([0]);
        for line in text
            .lines()
            .skip(first.saturating_sub(1) as usize)
            .take((last.saturating_sub(first) + 1) as usize)
        {
            hasher.update(line.as_bytes());
            hasher.update([b'\n']);
        }
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The Cargo package that holds `file` (relative to `root`), by its name.
pub fn package_of(root: &Path, file: &str) -> Option<String> {
    CratePaths::new(root).target(file).0
}

/// The lines of `new` that differ from `old`, as 1-based inclusive ranges; a deletion marks
/// the line where it was.
pub fn changed_lines(old: &str, new: &str) -> Vec<(u32, u32)> {
    use similar::{DiffOp, TextDiff};
    let diff = TextDiff::from_lines(old, new);
    let to_line = |index: usize| u32::try_from(index + 1).unwrap_or(u32::MAX);
    diff.ops()
        .iter()
        .filter_map(|op| match *op {
            DiffOp::Equal { .. } => None,
            DiffOp::Delete { new_index, .. } => Some((to_line(new_index), to_line(new_index))),
            DiffOp::Insert {
                new_index, new_len, ..
            }
            | DiffOp::Replace {
                new_index, new_len, ..
            } => Some((
                to_line(new_index),
                to_line(new_index + new_len.saturating_sub(1)),
            )),
        })
        .collect()
}

/// True when the lines `first..=last` meet one of `changed`.
pub fn touches(changed: &[(u32, u32)], first: u32, last: u32) -> bool {
    changed.iter().any(|&(a, b)| a <= last && first <= b)
}

/// A fixed sample of `count` mutant names chosen by `seed`: the names ordered by SHA-256 of
/// the seed and the name, first `count`. The same names and seed give the same sample on any
/// machine.
pub fn sample<'a>(names: &[&'a str], count: usize, seed: u64) -> BTreeSet<&'a str> {
    let mut keyed: Vec<([u8; 32], &str)> = names
        .iter()
        .map(|name| {
            let mut hasher = Sha256::new();
            hasher.update(seed.to_le_bytes());
            hasher.update(name.as_bytes());
            (hasher.finalize().into(), *name)
        })
        .collect();
    keyed.sort();
    keyed
        .into_iter()
        .take(count)
        .map(|(_, name)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strength::mutants::{Position, Span};

    fn link(id: &str, file: &str, line: u32, end_line: u32) -> ImplementationLink {
        ImplementationLink {
            id: id.to_owned(),
            item: "Queue::admit".to_owned(),
            file: file.to_owned(),
            line,
            end_line,
        }
    }

    fn declared(test: &str, file: &str, line: u32, kind: EvidenceKind) -> DeclaredEvidence {
        DeclaredEvidence {
            ids: vec!["REQ-1".to_owned()],
            test: test.to_owned(),
            file: file.to_owned(),
            line,
            end_line: line + 3,
            kind,
        }
    }

    fn mutant(file: &str, start: u32, end: u32) -> Mutant {
        Mutant {
            name: format!("{file}:{start}:1: replace"),
            file: file.to_owned(),
            package: "p".to_owned(),
            genre: "FnValue".to_owned(),
            replacement: "()".to_owned(),
            span: Span {
                start: Position {
                    line: start,
                    column: 1,
                },
                end: Position {
                    line: end,
                    column: 2,
                },
            },
            function: None,
        }
    }

    #[test]
    fn mutants_inside_the_items_lines_belong_to_the_requirement() {
        let a = link("REQ-1", "src/q.rs", 10, 20);
        let b = link("REQ-1", "src/p.rs", 5, 5);
        let all = [
            mutant("src/q.rs", 10, 12),
            mutant("src/q.rs", 19, 21),
            mutant("src/q.rs", 9, 11),
            mutant("src/p.rs", 5, 5),
            mutant("src/r.rs", 12, 12),
        ];
        let found: Vec<&str> = mutants_in(&[&a, &b], &all)
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(found, ["src/q.rs:10:1: replace", "src/p.rs:5:1: replace"]);
    }

    #[test]
    fn tests_run_by_exact_name_in_their_targets_and_scenarios_by_tag() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "core/Cargo.toml",
            "[package]\nname = \"core\"\n[[test]]\nname = \"engine\"\ntest = false\n",
        );
        let lib = declared(
            "core::queue::tests::bounded",
            "core/src/queue.rs",
            40,
            EvidenceKind::Test,
        );
        let props = declared(
            "properties::fifo",
            "core/tests/properties.rs",
            7,
            EvidenceKind::Property,
        );
        let engine = declared("engine::real", "core/tests/engine.rs", 3, EvidenceKind::E2e);
        let bdd = declared("Queue: full", "features/q.feature", 4, EvidenceKind::Bdd);
        let junit = declared("py: test_x", "reports/run/py.xml", 1, EvidenceKind::Junit);
        let all = [&lib, &props, &engine, &bdd, &junit];
        let run: Vec<String> = ["cargo", "test", "--workspace", "--test", "bdd", "--"]
            .map(str::to_owned)
            .to_vec();
        let build: Vec<String> = ["cargo", "test", "--workspace", "--no-run", "--test", "bdd"]
            .map(str::to_owned)
            .to_vec();
        let commands = ScenarioCommands {
            build: &build,
            run: &run,
        };
        let plan = evidence_plan(dir.path(), "REQ-1", &all, commands, &[]);
        let words = |c: &Command| c.join(" ");
        assert_eq!(
            plan.builds.iter().map(words).collect::<Vec<_>>(),
            [
                "cargo test --workspace --no-run --lib --test properties",
                "cargo test --workspace --no-run --test bdd",
            ]
        );
        assert_eq!(
            plan.runs.iter().map(words).collect::<Vec<_>>(),
            [
                "cargo test --workspace --no-fail-fast --lib --test properties -- --exact fifo queue::tests::bounded",
                "cargo test --workspace --test bdd -- --tags @REQ-1",
            ]
        );
        assert_eq!(
            plan.run_items,
            [
                "core/src/queue.rs:40",
                "core/tests/properties.rs:7",
                "features/q.feature:4"
            ]
        );
        let reasons: Vec<&str> = plan.not_run.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(reasons, ["core/tests/engine.rs:3", "reports/run/py.xml:1"]);
        let none = ScenarioCommands {
            build: &[],
            run: &[],
        };
        let without_bdd = evidence_plan(dir.path(), "REQ-1", &[&bdd], none, &[]);
        assert!(without_bdd.runs.is_empty() && without_bdd.builds.is_empty());
        assert_eq!(without_bdd.not_run.len(), 1);
    }

    #[test]
    fn a_test_false_target_runs_only_when_included() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("srv/Cargo.toml");
        std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
        std::fs::write(
            &manifest,
            "[package]\nname = \"srv\"\n[[test]]\nname = \"llamacpp\"\ntest = false\n\
             [[test]]\nname = \"gpu\"\ntest = false\n[[bin]]\nname = \"probe\"\ntest = false\n",
        )
        .unwrap();
        let real = declared(
            "llamacpp::contract",
            "srv/tests/llamacpp.rs",
            9,
            EvidenceKind::Test,
        );
        let gpu = declared("gpu::fast", "srv/tests/gpu.rs", 5, EvidenceKind::Test);
        let probe = declared(
            "probe::tests::up",
            "srv/src/bin/probe.rs",
            30,
            EvidenceKind::Test,
        );
        let sim = declared("sim::contract", "srv/tests/sim.rs", 2, EvidenceKind::Test);
        let all = [&real, &gpu, &probe, &sim];
        let none = ScenarioCommands {
            build: &[],
            run: &[],
        };
        let words = |c: &Command| c.join(" ");

        let excluded = evidence_plan(dir.path(), "REQ-1", &all, none, &[]);
        assert_eq!(
            excluded.runs.iter().map(words).collect::<Vec<_>>(),
            ["cargo test --workspace --no-fail-fast --test sim -- --exact contract"]
        );
        assert_eq!(excluded.run_items, ["srv/tests/sim.rs:2"]);
        assert_eq!(
            excluded.not_run,
            [
                (
                    "srv/src/bin/probe.rs:30".to_owned(),
                    "target `probe` of srv has `test = false`, which `cargo test` skips; pass \
                     `--include-target probe` where it can run"
                        .to_owned()
                ),
                (
                    "srv/tests/gpu.rs:5".to_owned(),
                    "target `gpu` of srv has `test = false`, which `cargo test` skips; pass \
                     `--include-target gpu` where it can run"
                        .to_owned()
                ),
                (
                    "srv/tests/llamacpp.rs:9".to_owned(),
                    "target `llamacpp` of srv has `test = false`, which `cargo test` skips; pass \
                     `--include-target llamacpp` where it can run"
                        .to_owned()
                ),
            ]
        );

        let included = ["llamacpp".to_owned(), "probe".to_owned()];
        let plan = evidence_plan(dir.path(), "REQ-1", &all, none, &included);
        assert_eq!(
            plan.builds.iter().map(words).collect::<Vec<_>>(),
            ["cargo test --workspace --no-run --bin probe --test llamacpp --test sim"]
        );
        assert_eq!(
            plan.runs.iter().map(words).collect::<Vec<_>>(),
            [
                "cargo test --workspace --no-fail-fast --bin probe --test llamacpp --test sim \
                 -- --exact contract tests::up"
            ]
        );
        assert_eq!(
            plan.run_items,
            [
                "srv/src/bin/probe.rs:30",
                "srv/tests/llamacpp.rs:9",
                "srv/tests/sim.rs:2"
            ]
        );
        let left: Vec<&str> = plan.not_run.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(
            left,
            ["srv/tests/gpu.rs:5"],
            "only the named targets are included"
        );

        let alone = evidence_plan(dir.path(), "REQ-1", &[&real], none, &[]);
        assert!(alone.runs.is_empty() && alone.builds.is_empty());
    }

    #[test]
    fn included_targets_must_be_test_false_tests_or_bins() {
        let metadata = r#"{"packages": [
            {"name": "srv", "targets": [
                {"name": "srv", "kind": ["lib"], "test": true},
                {"name": "llamacpp", "kind": ["test"], "test": false},
                {"name": "probe", "kind": ["bin"], "test": false},
                {"name": "server", "kind": ["test"], "test": true},
                {"name": "speed", "kind": ["bench"], "test": false}
            ]},
            {"name": "old", "targets": [{"name": "legacy", "kind": ["test"]}]}
        ], "workspace_members": []}"#;
        let check = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            included_targets(metadata, &names)
        };
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&["llamacpp", "probe"]), Ok(()));
        let missing = check(&["llamacpp", "llama"]).unwrap_err();
        assert_eq!(
            missing,
            "--include-target llama: no target of the workspace has that name"
        );
        let tested = check(&["server"]).unwrap_err();
        assert!(
            tested.contains("`server` of srv does not have `test = false`"),
            "{tested}"
        );
        let without_field = check(&["legacy"]).unwrap_err();
        assert!(
            without_field.contains("does not have `test = false`"),
            "{without_field}"
        );
        let bench = check(&["speed"]).unwrap_err();
        assert!(bench.contains("is a bench target"), "{bench}");
        assert!(included_targets("not json", &[]).is_err());
    }

    #[test]
    fn the_fingerprint_follows_the_measured_lines_only() {
        let item = link("REQ-1", "src/q.rs", 2, 3);
        let test = declared("t::a", "tests/a.rs", 1, EvidenceKind::Test);
        let mut files = BTreeMap::from([
            (
                "src/q.rs".to_owned(),
                "// head\nfn admit() {\n}\n// tail\n".to_owned(),
            ),
            (
                "tests/a.rs".to_owned(),
                "fn a() {\n  assert!(x);\n}\n\n\n// after\n".to_owned(),
            ),
        ]);
        let print = |files: &BTreeMap<String, String>| {
            fingerprint(&[&item], &[&test], &mut |f| files.get(f).cloned())
        };
        let first = print(&files);
        assert_eq!(first.len(), 16);
        files.insert(
            "src/q.rs".to_owned(),
            "// HEAD\nfn admit() {\n}\n// TAIL\n".to_owned(),
        );
        assert_eq!(print(&files), first, "lines outside the items do not count");
        files.insert(
            "src/q.rs".to_owned(),
            "// head\nfn admit() { todo() \n}\n".to_owned(),
        );
        assert_ne!(print(&files), first);
    }

    /// A JUnit case is left out: with its report, with another run's report or with none, the
    /// fingerprint is the one of the other evidence alone.
    #[test]
    fn a_junit_case_is_not_part_of_the_fingerprint() {
        let item = link("REQ-1", "src/q.rs", 1, 1);
        let print = |evidence: &[&DeclaredEvidence], report: Option<&str>| {
            let mut files = BTreeMap::from([("src/q.rs".to_owned(), "fn admit() {}\n".to_owned())]);
            if let Some(report) = report {
                files.insert("reports/run/sdk.xml".to_owned(), report.to_owned());
            }
            fingerprint(&[&item], evidence, &mut |f| files.get(f).cloned())
        };
        let alone = print(&[], None);
        let case = declared(
            "sdk::test_stream",
            "reports/run/sdk.xml",
            2,
            EvidenceKind::Junit,
        );
        let report = "<testsuite>\n<testcase name=\"test_stream\" time=\"3.46\"/>\n</testsuite>\n";
        assert_eq!(print(&[&case], Some(report)), alone);
        assert_eq!(
            print(&[&case], Some(&report.replace("3.46", "11.5"))),
            alone
        );
        assert_eq!(print(&[&case], None), alone);
    }

    #[test]
    fn changed_lines_are_ranges_of_the_new_text() {
        let old = "a\nb\nc\nd\ne\n";
        assert!(changed_lines(old, old).is_empty());
        assert_eq!(changed_lines(old, "a\nB\nc\nd\ne\n"), [(2, 2)]);
        assert_eq!(changed_lines(old, "a\nb\nx\ny\nc\nd\ne\n"), [(3, 4)]);
        assert_eq!(changed_lines(old, "a\nb\nd\ne\n"), [(3, 3)]);
        let changed = changed_lines(old, "a\nb\nx\ny\nc\nd\ne\n");
        assert!(touches(&changed, 4, 9));
        assert!(!touches(&changed, 5, 9));
        assert!(!touches(&changed, 1, 2));
    }

    #[test]
    fn a_sample_is_fixed_by_its_seed() {
        let names = ["a", "b", "c", "d", "e", "f"];
        let one = sample(&names, 3, 7);
        assert_eq!(one.len(), 3);
        assert_eq!(sample(&names, 3, 7), one);
        assert_ne!(sample(&names, 3, 8), one);
        assert_eq!(sample(&names, 10, 7).len(), 6);
    }
}
