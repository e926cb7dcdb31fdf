//! `cargo xtask bench server|soak|streams`: builds `orchestratord` and `orchestrator-bench` in
//! release mode and runs the load generator, which starts orchestratord (`sim` pools) and, for
//! `server` and `soak`, a minimal axum SSE baseline as child processes and drives both in the
//! same run, interleaved. See `reference-impl/orchestrator-bench` for the scenarios and targets.

use std::process::ExitCode;

use super::harness::release_build;
use crate::process::run_streaming;
use crate::workspace::Workspace;

/// Which benchmark of `orchestrator-bench` to run, with its option.
pub enum Bench {
    /// Every scenario against the baseline, `seconds` per scenario per server.
    Server {
        /// Seconds per scenario per server.
        seconds: u64,
    },
    /// The throughput scenario for `seconds` per server, watching orchestratord's RSS.
    Soak {
        /// Seconds of load per server.
        seconds: u64,
    },
    /// `streams` concurrent event streams from one pool.
    Streams {
        /// Streams open at once.
        streams: u64,
    },
}

impl Bench {
    /// `orchestrator-bench`'s arguments after `--orchestratord PATH`.
    fn args(&self) -> [String; 4] {
        let (name, flag, value) = match self {
            Self::Server { seconds } => ("server", "--seconds", seconds),
            Self::Soak { seconds } => ("soak", "--seconds", seconds),
            Self::Streams { streams } => ("streams", "--streams", streams),
        };
        [
            "--bench".into(),
            name.into(),
            flag.into(),
            value.to_string(),
        ]
    }
}

/// Builds, runs, and exits 0 when every target passed.
pub fn run(workspace: &Workspace, bench: &Bench) -> ExitCode {
    if let Err(reason) = release_build(workspace, &["orchestratord", "orchestrator-bench"]) {
        eprintln!("xtask bench: {reason}");
        return ExitCode::FAILURE;
    }
    let orchestratord = workspace.binary("release", "orchestratord");
    let bench_binary = workspace.binary("release", "orchestrator-bench");
    let bench_args = bench.args();
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["--orchestratord".as_ref(), orchestratord.as_os_str()];
    args.extend(bench_args.iter().map(std::ffi::OsStr::new));
    // The load generator runs on CPU 1 and the servers on CPU 0 (the generator pins them), so
    // neither's scheduling shows up in the other's latencies. Children inherit the generator's
    // affinity, so it must be told the servers' CPU rather than look for one.
    let mut bench = if can_pin() {
        let mut command = workspace.command(
            "taskset",
            ["-c".as_ref(), "1".as_ref(), bench_binary.as_os_str()],
        );
        command.args(&args).args(["--server-cpu", "0"]);
        command
    } else {
        workspace.command(&bench_binary, args)
    };
    println!("==> run: {}", workspace.display(&bench));
    match run_streaming(&mut bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("xtask bench: {reason}");
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
