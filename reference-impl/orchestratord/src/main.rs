//! `orchestratord [--config FILE] [--addr HOST:PORT] [--check-config FILE]`.
//! Exit codes: 0 ok, 1 the server failed while running, 2 bad configuration or usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// The reference LLM orchestrator.
#[derive(Debug, Parser)]
#[command(name = "orchestratord", version, about)]
struct Cli {
    /// YAML configuration file (validated against contracts/schemas/config.schema.json).
    /// Without it: one `sim` pool named `default` and an open data plane.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen address [default: `server.addr` of the config, else 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// Validate a configuration file and exit: 0 valid, 2 invalid. Starts nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "addr"])]
    check_config: Option<PathBuf>,
    /// Load every pool, run the self-test on every replica, print one line per replica and
    /// exit: 0 when all pass, 1 otherwise. Binds no port.
    #[arg(long, conflicts_with_all = ["addr", "check_config"])]
    self_test: bool,
}

const BAD_CONFIG: u8 = 2;

/// Every task allocates many small values (events, strings, headers); glibc's allocator was a
/// quarter of orchestratord's CPU profile under `cargo xtask bench server`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[spectrace::implements("ORCH-3030", "ORCH-3033")]
fn load(path: &PathBuf) -> Result<orchestrator_config::Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    orchestrator_config::load_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[spectrace::implements("ORCH-3003", "ORCH-3030", "ORCH-3031", "ORCH-3032", "ORCH-3033")]
fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.check_config {
        return match load(path) {
            Ok(_) => {
                eprintln!("orchestratord: {} is valid", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("orchestratord: {e}");
                ExitCode::from(BAD_CONFIG)
            }
        };
    }
    let config = match &cli.config {
        Some(path) => match load(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("orchestratord: {e}");
                return ExitCode::from(BAD_CONFIG);
            }
        },
        None => orchestratord::default_config(),
    };
    if cli.self_test {
        return self_test(config);
    }
    let keys = if cli.config.is_some() {
        match orchestratord::auth::Keys::resolve(&config.auth.control_keys) {
            Ok(keys) => keys,
            Err(e) => {
                eprintln!("orchestratord: {e}");
                return ExitCode::from(BAD_CONFIG);
            }
        }
    } else {
        orchestratord::auth::Keys::from_environment()
    };
    let addr_text = cli
        .addr
        .clone()
        .unwrap_or_else(|| config.server.addr.clone());
    let addr = match orchestratord::parse_addr(&addr_text) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("orchestratord: {e}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let (service, router) = match orchestratord::app(config, keys).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("orchestratord: {e}");
                return ExitCode::from(BAD_CONFIG);
            }
        };
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("orchestratord: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        // The bound address, so that `--addr 127.0.0.1:0` tells its caller the port it got.
        let bound = listener.local_addr().unwrap_or(addr);
        eprintln!("orchestratord: listening on http://{bound}");
        let drain = std::time::Duration::from_millis(service.config().shutdown.drain_ms);
        let shutdown = async move {
            wait_for_signal().await;
            service.shut_down(drain).await;
        };
        match orchestratord::serve(listener, router, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("orchestratord: server error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// SIGTERM or SIGINT (ORCH-3032).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--self-test` (ORCH-3065).
#[spectrace::implements("ORCH-3065")]
fn self_test(config: orchestrator_config::Config) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let quiet = orchestratord::log::Logger::discard();
        let service = match orchestratord::service::Service::new(
            config,
            orchestratord::auth::Keys::default(),
            quiet,
        )
        .await
        {
            Ok(service) => service,
            Err(e) => {
                eprintln!("orchestratord: {e}");
                return ExitCode::from(BAD_CONFIG);
            }
        };
        let mut all_passed = true;
        for (replica, result) in service.self_test_all().await {
            match result {
                Ok(()) => eprintln!("self-test {replica}: ok"),
                Err(reason) => {
                    all_passed = false;
                    eprintln!("self-test {replica}: FAILED: {reason}");
                }
            }
        }
        if all_passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

/// The async runtime, or the exit code when it cannot start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("orchestratord: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}
