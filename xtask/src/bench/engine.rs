//! `cargo xtask bench engine`: the orchestrator's overhead on real inference. Installs and
//! starts the real engine (see [`crate::engine`]), builds `orchestratord` and
//! `orchestrator-bench` in release mode, and runs the load generator's `--engine` mode, which
//! streams the same completion directly and through orchestratord, alternated.

use std::process::ExitCode;

use super::harness::release_build;
use crate::engine;
use crate::process::run_streaming;
use crate::workspace::Workspace;

/// Builds, starts the engine, runs; exit 0 unless something failed.
pub fn run(workspace: &Workspace, runs: usize) -> ExitCode {
    if let Err(reason) = release_build(workspace, &["orchestratord", "orchestrator-bench"]) {
        eprintln!("xtask bench engine: {reason}");
        return ExitCode::FAILURE;
    }
    let started = engine::install(workspace)
        .and_then(|installed| Ok((engine::start(&installed)?, installed)));
    let (running, installed) = match started {
        Ok(pair) => pair,
        Err(error) => {
            eprintln!("xtask bench engine: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut bench = workspace.command(
        workspace.binary("release", "orchestrator-bench"),
        [
            "--orchestratord".into(),
            workspace
                .binary("release", "orchestratord")
                .into_os_string(),
            "--engine".into(),
            running.url.clone().into(),
            "--model".into(),
            installed.model.clone().into_os_string(),
            "--sha256".into(),
            installed.sha256.clone().into(),
            "--runs".into(),
            runs.to_string().into(),
        ] as [std::ffi::OsString; 10],
    );
    println!("==> run: {}", workspace.display(&bench));
    match run_streaming(&mut bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("xtask bench engine: {reason}");
            ExitCode::FAILURE
        }
    }
}
