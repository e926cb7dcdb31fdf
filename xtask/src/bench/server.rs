//! `cargo xtask bench server`: builds `orchestratord` and `orchestrator-bench` in release mode
//! and runs the load generator, which starts orchestratord (zero-delay `sim` pool) and a minimal
//! axum SSE baseline as child processes and drives both in the same run. See
//! `reference-impl/orchestrator-bench` for the scenarios and targets.

use std::process::ExitCode;

use super::harness::release_build;
use crate::process::run_streaming;
use crate::workspace::Workspace;

/// Builds, runs, and exits 0 when every target passed.
pub fn run(workspace: &Workspace, seconds: u64) -> ExitCode {
    if let Err(reason) = release_build(workspace, &["orchestratord", "orchestrator-bench"]) {
        eprintln!("xtask bench server: {reason}");
        return ExitCode::FAILURE;
    }
    let orchestratord = workspace.binary("release", "orchestratord");
    let bench_binary = workspace.binary("release", "orchestrator-bench");
    let seconds = seconds.to_string();
    let args: [&std::ffi::OsStr; 4] = [
        "--orchestratord".as_ref(),
        orchestratord.as_os_str(),
        "--seconds".as_ref(),
        seconds.as_ref(),
    ];
    // The load generator runs on CPU 1 and the servers on CPU 0 (the generator pins them), so
    // neither's scheduling shows up in the other's latencies. Children inherit the generator's
    // affinity, so it must be told the servers' CPU rather than look for one.
    let mut bench = if can_pin() {
        let mut command = workspace.command(
            "taskset",
            ["-c".as_ref(), "1".as_ref(), bench_binary.as_os_str()],
        );
        command.args(args).args(["--server-cpu", "0"]);
        command
    } else {
        workspace.command(&bench_binary, args)
    };
    println!("==> run: {}", workspace.display(&bench));
    match run_streaming(&mut bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("xtask bench server: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// True when `taskset` exists and the machine has at least two CPUs.
fn can_pin() -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let taskset = std::process::Command::new("taskset")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    cpus >= 2 && taskset.is_ok_and(|status| status.success())
}
