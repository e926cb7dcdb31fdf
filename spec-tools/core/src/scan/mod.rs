//! The scan stage: declared evidence, contract links and implementation links, found
//! statically.
//!
//! Input: the `[evidence]` globs of `spectrace.toml`, the ID pattern and the IDs the specs
//! define ([`ScanOptions`]). Output: a [`Scan`], sorted and free of anything that varies
//! between runs, or every error found. One module per job:
//!
//! - `files`: which files to read (include and exclude globs, one pruned walk of the root);
//! - `rust`: `#[covers]` tests and `#[implements]` items, with `syn`;
//! - `crate_path`: the `module_path!()` a Rust file compiles to (the `test` label);
//! - `gherkin`: scenarios and their inherited tags, with the `gherkin` crate;
//! - `openapi`: `x-req-id` in OpenAPI YAML, with `serde-saphyr`;
//! - `junit`: test cases of JUnit XML reports, with `quick-xml` (declared here; their runs are
//!   [`junit_runs`]);
//! - `ids`: malformed and unknown IDs, and tags that look like IDs;
//! - `text`: the human listing and summary of a [`Scan`].
//!
//! Files are read and parsed on all cores (a shared work counter over the sorted file list);
//! everything after that is linear apart from the final sorts.
//!
//! A declared test is matched with its run records by `(file, line)`: `file` is relative to
//! the root with `/` separators, which is what `file!()` records when the root is the Cargo
//! workspace root, and `line` is the line of the test function's name (of the Scenario keyword
//! for Gherkin). Two tests declared on one line would make that key ambiguous and are an error.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::config::EvidenceConfig;
use crate::diag::Diagnostic;
use crate::evidence::{EvidenceKey, EvidenceKind, EvidenceRecord};
use crate::id::{IdPattern, natural_cmp};

pub(crate) mod crate_path;
mod files;
mod gherkin;
pub(crate) mod ids;
mod junit;
mod openapi;
mod rust;
mod text;

use files::{SourceFile, SourceKind};
use ids::IdRules;

/// What the stage needs to know.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Directory that globs and reported paths are relative to (the workspace root, so that
    /// paths equal what `file!()` records).
    pub root: PathBuf,
    /// Where to look (`[evidence]` of `spectrace.toml`).
    pub evidence: EvidenceConfig,
    /// The ID pattern (`[specs] id_pattern`).
    pub ids: IdPattern,
    /// Every ID the specs define; any other ID is an error.
    pub known: BTreeSet<String>,
}

/// Everything the scan found. Each list is sorted by file, then line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Scan {
    /// Tests and scenarios that declare which requirements they verify.
    pub evidence: Vec<DeclaredEvidence>,
    /// `x-req-id` links from OpenAPI documents, one per ID.
    pub contracts: Vec<ContractLink>,
    /// `#[implements]` links from Rust items, one per ID.
    pub implementations: Vec<ImplementationLink>,
}

/// A test or scenario that, when it runs, is evidence for its requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredEvidence {
    /// The requirement IDs, in natural order without repeats (empty for a scenario without
    /// ID tags).
    pub ids: Vec<String>,
    /// Rust: `module_path!()::name`, as `#[covers]` records it. Gherkin:
    /// `<Feature name>: <Scenario name>`.
    pub test: String,
    /// Source file, relative to the root, `/`-separated.
    pub file: String,
    /// Line of the test function's name (Rust) or of the Scenario keyword (Gherkin). With
    /// `file`, the key that matches run records.
    pub line: u32,
    /// Last line of the test function or scenario (`line` for a JUnit case): with `line`, the
    /// source that a strength fingerprint hashes.
    pub end_line: u32,
    /// `test`, `property`, `contract`, `compile` or `e2e` from `#[covers(kind = ...)]`;
    /// `bdd` for scenarios.
    pub kind: EvidenceKind,
}

/// An `x-req-id` in an OpenAPI document: shown with the requirement, not evidence by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractLink {
    /// The requirement ID.
    pub id: String,
    /// The document, relative to the root, `/`-separated.
    pub file: String,
    /// Line of the `x-req-id` key.
    pub line: u32,
    /// RFC 6901 JSON pointer of the object that carries `x-req-id`, e.g.
    /// `/paths/~1v1~1tasks/post` (`""` for the document itself).
    pub pointer: String,
}

/// An `#[implements]` on a Rust item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImplementationLink {
    /// The requirement ID.
    pub id: String,
    /// The item: its name (`Queue`, `admit`), `Type::member` for an item of an `impl` or
    /// `trait` block, `impl Type` or `impl Trait for Type` for an `impl` block.
    pub item: String,
    /// Source file, relative to the root, `/`-separated.
    pub file: String,
    /// Line of the item's name (of the `impl` keyword for an `impl` block).
    pub line: u32,
    /// Last line of the item: the mutants of a requirement are those inside its items' lines.
    pub end_line: u32,
}

/// A successful scan and the warnings found along the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutput {
    /// What was found.
    pub scan: Scan,
    /// Warnings (never errors), sorted.
    pub warnings: Vec<Diagnostic>,
    /// How many files the globs selected (all were read).
    pub files: usize,
}

/// Scans the configured sources, or returns every error (and warning) found, sorted.
pub fn scan(options: &ScanOptions) -> Result<ScanOutput, Vec<Diagnostic>> {
    let sources = files::find_sources(&options.root, &options.evidence)?;
    let mut crate_paths = crate_path::CratePaths::new(&options.root);
    let jobs: Vec<Job> = sources
        .into_iter()
        .map(|source| Job {
            module_path: match source.kind {
                SourceKind::Rust => crate_paths.module_path(&source.relative),
                SourceKind::Gherkin | SourceKind::OpenApi | SourceKind::Junit => Vec::new(),
            },
            source,
        })
        .collect();
    let rules = IdRules::new(&options.ids, &options.known);

    let mut scan = Scan::default();
    let mut diagnostics = Vec::new();
    for found in scan_all(&jobs, &rules) {
        scan.evidence.extend(found.evidence);
        scan.contracts.extend(found.contracts);
        scan.implementations.extend(found.implementations);
        diagnostics.extend(found.diagnostics);
    }
    sort(&mut scan);
    diagnostics.extend(ambiguous_keys(&scan.evidence));
    diagnostics.sort();
    diagnostics.dedup();
    if crate::diag::has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    Ok(ScanOutput {
        scan,
        warnings: diagnostics,
        files: jobs.len(),
    })
}

/// One file to read, with its module path when it is Rust.
struct Job {
    source: SourceFile,
    module_path: Vec<String>,
}

/// What one file declares, and what is wrong with it.
#[derive(Debug, Default)]
struct FileScan {
    evidence: Vec<DeclaredEvidence>,
    contracts: Vec<ContractLink>,
    implementations: Vec<ImplementationLink>,
    diagnostics: Vec<Diagnostic>,
}

/// Reads and scans every file on all cores; workers take the next file from a shared counter,
/// so one large file does not hold up a whole share of the list.
fn scan_all(jobs: &[Job], rules: &IdRules<'_>) -> Vec<FileScan> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else {
                            return done;
                        };
                        done.push(scan_file(job, rules));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn scan_file(job: &Job, rules: &IdRules<'_>) -> FileScan {
    let file = job.source.relative.as_str();
    let source = match read(file, &job.source.path) {
        Ok(source) => source,
        Err(diagnostic) => {
            return FileScan {
                diagnostics: vec![diagnostic],
                ..FileScan::default()
            };
        }
    };
    match job.source.kind {
        SourceKind::Rust => rust::scan_rust(file, &source, &job.module_path, rules),
        SourceKind::Gherkin => gherkin::scan_feature(file, &source, rules),
        SourceKind::OpenApi => openapi::scan_openapi(file, &source, rules),
        SourceKind::Junit => junit::scan_junit(file, &source, rules),
    }
}

/// The runs that the JUnit reports of `[evidence] junit` hold: one record per test case that
/// names a requirement and was not skipped, sorted by file and line. Errors are those the scan
/// reports for the same files.
pub fn junit_runs(options: &ScanOptions) -> Result<Vec<EvidenceRecord>, Vec<Diagnostic>> {
    let sources = files::find_sources(&options.root, &options.evidence)?;
    let rules = IdRules::new(&options.ids, &options.known);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for source in sources.iter().filter(|s| s.kind == SourceKind::Junit) {
        match read(&source.relative, &source.path) {
            Ok(text) => {
                let report = junit::parse(&source.relative, &text, &rules);
                errors.extend(report.diagnostics.iter().cloned());
                records.extend(junit::records(&source.relative, &report));
            }
            Err(e) => errors.push(e),
        }
    }
    if crate::diag::has_errors(&errors) {
        return Err(errors);
    }
    Ok(records)
}

fn read(relative: &str, path: &std::path::Path) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::error(relative, None, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Diagnostic::error(relative, Some(line), "not valid UTF-8")
    })
}

fn sort(scan: &mut Scan) {
    scan.evidence.sort_by(|a, b| {
        (&a.file, a.line, &a.test, a.kind)
            .cmp(&(&b.file, b.line, &b.test, b.kind))
            .then_with(|| a.ids.cmp(&b.ids))
    });
    scan.contracts.sort_by(|a, b| {
        (&a.file, a.line, &a.pointer)
            .cmp(&(&b.file, b.line, &b.pointer))
            .then_with(|| natural_cmp(&a.id, &b.id))
    });
    scan.contracts.dedup();
    scan.implementations.sort_by(|a, b| {
        (&a.file, a.line, &a.item)
            .cmp(&(&b.file, b.line, &b.item))
            .then_with(|| natural_cmp(&a.id, &b.id))
    });
    scan.implementations.dedup();
}

/// Two declared tests with one `(file, line)` cannot be told apart in run records.
fn ambiguous_keys(evidence: &[DeclaredEvidence]) -> Vec<Diagnostic> {
    evidence
        .windows(2)
        .filter(|pair| {
            let key = |e: &DeclaredEvidence| EvidenceKey::new(&e.file, e.line, e.kind, &e.test);
            key(&pair[0]) == key(&pair[1])
        })
        .map(|pair| {
            Diagnostic::error(
                &pair[0].file,
                Some(pair[0].line as usize),
                format!(
                    "`{}` and `{}` are declared on one line; put each test on its own line so that its runs can be told apart",
                    pair[0].test, pair[1].test
                ),
            )
        })
        .collect()
}

/// Counts of what a scan found, for summaries.
impl Scan {
    /// Declared evidence per kind, in [`EvidenceKind`] order, kinds with none left out.
    pub fn evidence_by_kind(&self) -> Vec<(EvidenceKind, usize)> {
        let kinds: BTreeSet<EvidenceKind> = self.evidence.iter().map(|e| e.kind).collect();
        kinds
            .into_iter()
            .map(|kind| {
                (
                    kind,
                    self.evidence.iter().filter(|e| e.kind == kind).count(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    /// Writes a fixture file under `root`, creating directories (shared with the other scan
    /// modules' tests).
    pub(super) fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn options(root: &Path) -> ScanOptions {
        ScanOptions {
            root: root.to_path_buf(),
            evidence: EvidenceConfig {
                rust: vec!["**/*.rs".to_owned()],
                features: vec!["features/**/*.feature".to_owned()],
                openapi: vec!["api/*.yaml".to_owned()],
                junit: Vec::new(),
                exclude: vec!["target/**".to_owned()],
            },
            ids: IdPattern::new("REQ-[0-9]{3}").unwrap(),
            known: ["REQ-001", "REQ-002"].map(str::to_owned).into(),
        }
    }

    #[test]
    fn all_three_sources_in_one_sorted_scan() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "Cargo.toml",
            "[package]\nname = \"fixture-crate\"\n",
        );
        write(
            dir.path(),
            "tests/b.rs",
            "#[covers(\"REQ-002\")]\n#[test]\nfn b() {}\n",
        );
        write(
            dir.path(),
            "src/a.rs",
            "#[implements(\"REQ-001\")]\nstruct A;\n#[cfg(test)]\nmod tests {\n    #[covers(\"REQ-001\", kind = \"property\")]\n    #[test]\n    fn a() {}\n}\n",
        );
        write(
            dir.path(),
            "features/q.feature",
            "@REQ-001\nFeature: Q\n  Scenario: S\n    Then x\n",
        );
        write(dir.path(), "api/x.yaml", "paths:\n  x-req-id: REQ-002\n");
        write(
            dir.path(),
            "target/gen.rs",
            "#[covers(\"REQ-999\")] fn x() {}",
        );
        let out = scan(&options(dir.path())).unwrap();
        assert!(out.warnings.is_empty());
        assert_eq!(out.files, 4);
        let evidence: Vec<_> = out
            .scan
            .evidence
            .iter()
            .map(|e| (e.file.as_str(), e.line, e.test.as_str()))
            .collect();
        assert_eq!(
            evidence,
            [
                ("features/q.feature", 3, "Q: S"),
                ("src/a.rs", 7, "fixture_crate::a::tests::a"),
                ("tests/b.rs", 3, "b::b"),
            ]
        );
        assert_eq!(
            out.scan.contracts,
            [ContractLink {
                id: "REQ-002".into(),
                file: "api/x.yaml".into(),
                line: 2,
                pointer: "/paths".into(),
            }]
        );
        assert_eq!(
            out.scan.implementations,
            [ImplementationLink {
                id: "REQ-001".into(),
                item: "A".into(),
                file: "src/a.rs".into(),
                line: 2,
                end_line: 2,
            }]
        );
        assert_eq!(
            out.scan.evidence_by_kind(),
            [
                (EvidenceKind::Test, 1),
                (EvidenceKind::Property, 1),
                (EvidenceKind::Bdd, 1)
            ]
        );
    }

    #[test]
    fn errors_from_every_file_are_collected_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "src/a.rs",
            "#[covers(\"REQ-404\")]\n#[test]\nfn a() {}\n",
        );
        write(dir.path(), "src/b.rs", "covers\nfn ( {");
        fs::write(dir.path().join("src/c.rs"), b"// covers\n\xff\n").unwrap();
        write(
            dir.path(),
            "features/f.feature",
            "@REQ-1\nFeature: F\n  Scenario: S\n    Then x\n",
        );
        let errors = scan(&options(dir.path())).unwrap_err();
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(
            messages[0]
                .starts_with("features/f.feature:1: error: malformed requirement ID tag `@REQ-1`"),
            "{messages:?}"
        );
        assert_eq!(
            messages[1],
            "src/a.rs:1: error: unknown requirement ID REQ-404: no spec defines it"
        );
        assert!(
            messages[2].starts_with("src/b.rs:2: error: cannot parse Rust"),
            "{messages:?}"
        );
        assert_eq!(messages[3], "src/c.rs:2: error: not valid UTF-8");
    }

    #[test]
    fn two_tests_on_one_line_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "src/lib.rs",
            "#[covers(\"REQ-001\")] #[test] fn a() {} #[covers(\"REQ-002\")] #[test] fn b() {}\n",
        );
        let errors = scan(&options(dir.path())).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains("are declared on one line"),
            "{errors:?}"
        );
    }

    mod nested {
        /// A fixture for the test below: it passes, and records evidence only when
        /// `SPECTRACE_EVIDENCE_DIR` is set. `SPECTRACE-*` IDs belong to no spec.
        #[spectrace::covers("SPECTRACE-0102", "SPECTRACE-0101", kind = "contract")]
        #[test]
        fn fixture_in_a_nested_module() {
            assert_eq!(crate::markdown::slug::slug("1 Nested"), "1-nested");
        }
    }

    /// The key and label the scan declares for a test in a `src/` module are those the
    /// attribute records when the test runs: this binary re-runs the fixture above in a child
    /// process with an evidence directory and compares.
    #[test]
    fn declared_key_equals_the_recorded_key_for_a_library_module() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["scan::tests::nested::fixture_in_a_nested_module", "--exact"])
            .env(crate::evidence::EVIDENCE_DIR_ENV, dir.path())
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        let mut records = Vec::new();
        for entry in fs::read_dir(dir.path()).unwrap() {
            let text = fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                records
                    .push(serde_json::from_str::<crate::evidence::EvidenceRecord>(line).unwrap());
            }
        }
        assert_eq!(records.len(), 1, "{records:?}");
        let record = &records[0];

        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = scan(&ScanOptions {
            root: workspace.to_path_buf(),
            evidence: EvidenceConfig {
                rust: vec!["spec-tools/core/src/scan/mod.rs".to_owned()],
                features: Vec::new(),
                openapi: Vec::new(),
                junit: Vec::new(),
                exclude: Vec::new(),
            },
            ids: IdPattern::new("SPECTRACE-[0-9]{4}").unwrap(),
            known: ["SPECTRACE-0101", "SPECTRACE-0102"]
                .map(str::to_owned)
                .into(),
        })
        .unwrap();
        let mut recorded_ids = record.ids.clone();
        recorded_ids.sort();
        assert_eq!(
            out.scan.evidence,
            [DeclaredEvidence {
                ids: recorded_ids,
                test: record.test.clone(),
                file: record.file.clone(),
                line: record.line,
                end_line: record.line + 2,
                kind: record.kind,
            }]
        );
        assert_eq!(
            record.test,
            "spectrace_core::scan::tests::nested::fixture_in_a_nested_module"
        );
    }

    #[test]
    fn nothing_to_scan_is_an_empty_scan() {
        let dir = tempfile::tempdir().unwrap();
        let out = scan(&options(dir.path())).unwrap();
        assert_eq!(out.scan, Scan::default());
        assert_eq!(out.files, 0);
    }
}
