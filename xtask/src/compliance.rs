//! `cargo xtask compliance`: the main job. Builds the workspace in the test gate's mode, then
//! runs `spectrace verify`, which runs the suites of `[verify]` in spectrace.toml (the
//! workspace tests against the reference server with its built-in engine, and the real-engine
//! suites) with evidence recording on and writes COMPLIANCE.md, reports/compliance.json and
//! reports/junit.xml; then applies the gate (`spectrace check`) and says where the report is.

use std::process::ExitCode;

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// Builds, verifies, checks. Exit 0 when the gate passes.
pub fn run(workspace: &Workspace) -> ExitCode {
    let mut build = workspace.cargo(["test", "--workspace", "--no-run"]);
    println!("==> build: {}", workspace.display(&build));
    if let Err(reason) = run_streaming(&mut build) {
        eprintln!("xtask compliance: build failed: {reason}");
        return ExitCode::FAILURE;
    }
    let spectrace = workspace.binary("debug", "spectrace");
    let mut verify = workspace.command(&spectrace, ["verify"]);
    println!("==> verify: {}", workspace.display(&verify));
    let verified = run_streaming(&mut verify);
    let mut check = workspace.command(&spectrace, ["check"]);
    println!("==> gate: {}", workspace.display(&check));
    let gate = run_streaming(&mut check);
    println!(
        "report: {}  (also reports/compliance.json, reports/junit.xml)",
        workspace.root.join("COMPLIANCE.md").display()
    );
    match (verified, gate) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(reason), _) => {
            eprintln!("xtask compliance: a suite failed ({reason}); the report shows what");
            ExitCode::FAILURE
        }
        (_, Err(reason)) => {
            eprintln!("xtask compliance: the gate failed ({reason})");
            ExitCode::FAILURE
        }
    }
}
