//! `cargo xtask ci:schemathesis`, the `schemathesis` gate: every contract document fuzzed by a
//! third-party tool against a real orchestratord, which must find nothing.
//!
//! 1. A venv under the target directory (`schemathesis-venv/`) with the pinned package of
//!    `clients/schemathesis/requirements.txt`.
//! 2. The orchestratord binary built as the test gate builds it.
//! 3. For each document of `contracts/openapi/` (every `*.yaml` there, in name order, so an
//!    added document or operation is fuzzed without a change here): a fresh orchestratord
//!    started with `clients/schemathesis/orchestratord.yaml` (sim engine, data-plane and
//!    control-plane keys) and a key made up for the run, so what one document's run does (a
//!    drain, a reload) never reaches another's; then `schemathesis run` with the document,
//!    the server's URL, the key as `-H "Authorization: Bearer …"`, every check
//!    ([`CHECKS`]) and the configuration `clients/schemathesis/schemathesis.toml` (seed,
//!    cases per operation, every warning an error), in every phase that applies: examples,
//!    coverage, fuzzing and stateful (the links of the documents).
//! 4. Its JSON report (`<target>/schemathesis/<document>.json`) says how many cases ran; the
//!    gate fails when schemathesis fails, when an operation was not tested, or when no case
//!    ran, and prints the cases per document.
//!
//! Server logs are kept in `<target>/schemathesis/<document>.log`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::served::{self, Server, step};
use crate::workspace::Workspace;

/// The pinned tool, the server's configuration and the tool's.
pub const SUITE: &str = "clients/schemathesis";
/// The documents fuzzed: every `*.yaml` here.
const DOCUMENTS: &str = "contracts/openapi";
/// The checks run on every response: every check schemathesis has (`--checks all`), among
/// them `not_a_server_error`, `status_code_conformance`, `content_type_conformance`,
/// `response_schema_conformance`, `response_headers_conformance`, `negative_data_rejection`
/// and `positive_data_acceptance`.
pub const CHECKS: &str = "all";

/// What one document's run did, from its JSON report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Test cases generated and run.
    pub cases: u64,
    /// Operations tested.
    pub tested: u64,
    /// Operations the document has.
    pub total: u64,
}

/// `cargo xtask ci:schemathesis`.
pub fn run(workspace: &Workspace) -> ExitCode {
    match steps(workspace) {
        Ok(outcomes) => {
            println!("ci:schemathesis: nothing found");
            for (document, outcome) in &outcomes {
                println!(
                    "  {document}: {} cases over {} operations",
                    outcome.cases, outcome.tested
                );
            }
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("ci:schemathesis: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// The documents to fuzz, relative to the workspace root, in name order.
fn documents(workspace: &Workspace) -> Result<Vec<String>, String> {
    let dir = workspace.root.join(DOCUMENTS);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut documents = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            documents.push(format!("{DOCUMENTS}/{name}"));
        }
    }
    documents.sort();
    if documents.is_empty() {
        return Err(format!("no *.yaml document in {DOCUMENTS}"));
    }
    Ok(documents)
}

fn steps(workspace: &Workspace) -> Result<Vec<(String, Outcome)>, String> {
    let python = served::venv(
        workspace,
        "schemathesis-venv",
        &format!("{SUITE}/requirements.txt"),
    )?;
    let tool = python.with_file_name("schemathesis");
    served::build_orchestratord(workspace)?;
    let scratch = workspace.target.join("schemathesis");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;

    let mut outcomes = Vec::new();
    for document in documents(workspace)? {
        let stem = Path::new(&document)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let report = scratch.join(format!("{stem}.json"));
        // A report of an earlier run must not stand in for this one's.
        match std::fs::remove_file(&report) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", report.display())),
        }
        let outcome = fuzz(
            workspace,
            &tool,
            &document,
            &scratch.join(format!("{stem}.log")),
            &report,
        )?;
        println!(
            "ci:schemathesis: {document}: {} cases over {} operations",
            outcome.cases, outcome.tested
        );
        outcomes.push((document, outcome));
    }
    Ok(outcomes)
}

/// One document against a fresh server.
fn fuzz(
    workspace: &Workspace,
    tool: &Path,
    document: &str,
    log: &Path,
    report: &Path,
) -> Result<Outcome, String> {
    let key = served::run_key("schemathesis");
    let config = PathBuf::from(format!("{SUITE}/orchestratord.yaml"));
    let server = Server::start(
        workspace,
        &config,
        log,
        &[("ORCHESTRATORD_API_KEY", key.as_str())],
    )?;
    println!("orchestratord: {} (log: {})", server.url, log.display());
    let settings = format!("{SUITE}/schemathesis.toml");
    let authorization = format!("Authorization: Bearer {key}");
    let mut command = workspace.command(
        tool,
        [
            "--config-file".as_ref(),
            settings.as_ref(),
            "run".as_ref(),
            document.as_ref(),
            "--url".as_ref(),
            server.url.as_ref(),
            "-H".as_ref(),
            authorization.as_ref(),
            "--checks".as_ref(),
            CHECKS.as_ref(),
            "--report".as_ref(),
            "json".as_ref(),
            "--report-json-path".as_ref(),
            report.as_os_str(),
        ],
    );
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    let result = step(workspace, command);
    drop(server);
    result.map_err(|e| format!("{document}: {e} (server log: {})", log.display()))?;
    let text = std::fs::read_to_string(report)
        .map_err(|e| format!("cannot read {}: {e}", report.display()))?;
    let outcome = outcome(&text).map_err(|e| format!("{}: {e}", report.display()))?;
    if outcome.cases == 0 || outcome.tested != outcome.total {
        return Err(format!(
            "{document}: {} of {} operations tested with {} cases; every operation must be",
            outcome.tested, outcome.total, outcome.cases
        ));
    }
    Ok(outcome)
}

/// Reads the counts of schemathesis's JSON report: `test_cases.generated`,
/// `operations.tested` and `operations.total`.
pub fn outcome(report: &str) -> Result<Outcome, String> {
    let value: serde_json::Value =
        serde_json::from_str(report).map_err(|e| format!("not JSON: {e}"))?;
    let count = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| format!("no count at {pointer}"))
    };
    Ok(Outcome {
        cases: count("/test_cases/generated")?,
        tested: count("/operations/tested")?,
        total: count("/operations/total")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counts_of_a_report() {
        let report = r#"{"operations": {"total": 10, "selected": 10, "tested": 9},
                         "test_cases": {"generated": 1708, "with_failures": 0}}"#;
        assert_eq!(
            outcome(report),
            Ok(Outcome {
                cases: 1708,
                tested: 9,
                total: 10
            })
        );
    }

    #[test]
    fn a_report_without_its_counts_is_an_error() {
        assert!(outcome(r#"{"operations": {"total": 1}}"#).is_err());
        assert!(outcome("not json").is_err());
    }

    #[test]
    fn every_contract_document_is_fuzzed() {
        let workspace = Workspace::locate().unwrap();
        let found = documents(&workspace).unwrap();
        for document in [
            "contracts/openapi/control.yaml",
            "contracts/openapi/data.yaml",
            "contracts/openapi/openai.yaml",
        ] {
            assert!(found.iter().any(|d| d == document), "{document} is missing");
        }
    }
}
