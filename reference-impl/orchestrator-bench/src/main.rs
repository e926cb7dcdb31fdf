//! `orchestrator-bench`: the load generator behind `cargo xtask bench server|soak|streams`.
//!
//! ```text
//! orchestrator-bench --orchestratord PATH [--bench server|soak|streams] [--seconds N]
//!                    [--streams N] [--server-cpu N]
//!                                                         run a benchmark, print its report
//! orchestrator-bench --baseline-server ADDR               serve the minimal SSE baseline
//! orchestrator-bench --orchestratord PATH --engine URL --model FILE --sha256 HEX [--runs N]
//!                                                         real-engine overhead (see `engine`)
//! ```
//!
//! Both servers run as child processes of this one (so their RSS is their own) on loopback
//! ports, pinned with `taskset` to the CPU `--server-cpu` names (`cargo xtask bench server`
//! passes CPU 0 and runs the load generator itself on CPU 1, so that neither's scheduling shows
//! up in the other's latencies), stay up for the whole run and are driven by the same client
//! code, in short rounds alternated between them (see `compare`):
//!
//! 1. **Throughput**: 32 closed-loop clients enqueue a task of 256 tokens and read its event
//!    stream to the end, against orchestratord (zero-delay `sim` pool) and against the baseline,
//!    a minimal axum server that answers the same two requests and streams the same number of
//!    token events. Reports tasks/s and the ratio to the baseline.
//! 2. **Admission latency**: an open loop of 1,000 enqueue requests per second; p50/p99/p99.9
//!    from the intended send time (corrected for coordinated omission) and from the write.
//! 3. **Overload**: a pool whose queue is always full, hit at 10,000 requests per second (10× the
//!    admission scenario); the same percentiles of the 429 answers (the baseline answers 429
//!    for that pool too), and the servers' RSS after the warm-up and at the end.
//!
//! `--bench soak` runs the throughput scenario for minutes and watches orchestratord's RSS (see
//! `soak`); `--bench streams [--streams N]` holds 10,000 event streams open at once and checks
//! every token of each (see `streams`). Exit 1 when a target is missed. Timing numbers come from one run on a shared
//! machine: compare them with the baseline measured in the same run, not across runs.

// A benchmark report goes to stdout.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::process::ExitCode;

mod compare;
mod engine;
mod load;
mod servers;
mod soak;
mod stats;
mod streams;

pub(crate) use load::percentile;
pub(crate) use servers::{Server, start_orchestratord};

fn usage() -> ExitCode {
    eprintln!(
        "usage: orchestrator-bench --orchestratord PATH [--bench server|soak|streams] [--seconds N] [--streams N] [--server-cpu N]\n       \
         orchestrator-bench --baseline-server ADDR\n       \
         orchestrator-bench --orchestratord PATH --engine URL --model FILE --sha256 HEX [--runs N]"
    );
    ExitCode::from(2)
}

/// Which benchmark `--bench` names.
#[derive(Clone, Copy)]
enum Bench {
    Server,
    Soak,
    Streams,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("orchestrator-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.iter().any(|a| a == "--engine") {
        return runtime.block_on(engine_overhead(&args));
    }
    match args.as_slice() {
        [flag, addr] if flag == "--baseline-server" => match addr.parse::<SocketAddr>() {
            Ok(addr) => runtime.block_on(servers::baseline_server(addr)),
            Err(e) => {
                eprintln!("orchestrator-bench: bad address {addr}: {e}");
                ExitCode::from(2)
            }
        },
        [flag, path, rest @ ..] if flag == "--orchestratord" => {
            let mut seconds = None;
            let mut streams = 10_000;
            let mut bench = Bench::Server;
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let value = rest.next();
                let number = value
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| *n >= 1);
                match (flag.as_str(), value.map(String::as_str), number) {
                    ("--seconds", _, Some(n)) => seconds = Some(n),
                    ("--streams", _, Some(n)) if n >= 2 => streams = n,
                    ("--server-cpu", Some(cpu), _) => match cpu.parse::<usize>() {
                        Ok(cpu) => {
                            let _ = servers::SERVER_CPU.set(cpu);
                        }
                        Err(_) => return usage(),
                    },
                    ("--bench", Some("server"), _) => bench = Bench::Server,
                    ("--bench", Some("soak"), _) => bench = Bench::Soak,
                    ("--bench", Some("streams"), _) => bench = Bench::Streams,
                    _ => return usage(),
                }
            }
            let outcome = match bench {
                Bench::Server => runtime.block_on(compare::run(path, seconds.unwrap_or(30))),
                Bench::Soak => runtime.block_on(soak::run(path, seconds.unwrap_or(120))),
                Bench::Streams => runtime.block_on(streams::run(path, streams)),
            };
            match outcome {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("orchestrator-bench: {e}");
                    ExitCode::from(2)
                }
            }
        }
        _ => usage(),
    }
}

/// `--engine …`: the orchestrator's overhead on a real llama.cpp server.
async fn engine_overhead(args: &[String]) -> ExitCode {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(binary), Some(url), Some(model), Some(sha256)) = (
        value("--orchestratord"),
        value("--engine"),
        value("--model"),
        value("--sha256"),
    ) else {
        return usage();
    };
    let runs = match value("--runs").map(|n| n.parse::<usize>()) {
        None => 7,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return usage(),
    };
    let under_test = engine::EngineUnderTest { url, model, sha256 };
    match engine::run(&binary, &under_test, runs).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orchestrator-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
