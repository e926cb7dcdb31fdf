//! `cargo xtask bench server`: builds `orchestratord` and `orchestrator-bench` in release mode
//! and runs the load generator, which starts orchestratord (zero-delay `sim` pool) and a minimal
//! axum SSE baseline as child processes and drives both in the same run. See
//! `reference-impl/orchestrator-bench` for the scenarios and targets.

use std::process::ExitCode;

use crate::process::run_streaming;
use crate::term;
use crate::workspace::Workspace;

/// Builds, runs, and exits 0 when every target passed.
pub fn run(workspace: &Workspace, seconds: u64) -> ExitCode {
    let color = term::color_enabled();
    let mut build = workspace.cargo([
        "build",
        "--release",
        "--bin",
        "orchestratord",
        "--bin",
        "orchestrator-bench",
    ]);
    term::pass_color(&mut build, color);
    println!("==> build: {}", workspace.display(&build));
    if let Err(reason) = run_streaming(&mut build) {
        eprintln!("xtask bench server: release build failed: {reason}");
        return ExitCode::FAILURE;
    }
    let orchestratord = workspace.binary("release", "orchestratord");
    let mut bench = workspace.command(
        workspace.binary("release", "orchestrator-bench"),
        [
            "--orchestratord".as_ref(),
            orchestratord.as_os_str(),
            "--seconds".as_ref(),
            seconds.to_string().as_ref(),
        ],
    );
    println!("==> run: {}", workspace.display(&bench));
    match run_streaming(&mut bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("xtask bench server: {reason}");
            ExitCode::FAILURE
        }
    }
}
