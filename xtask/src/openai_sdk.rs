//! `cargo xtask ci:openai-sdk`, the `openai-sdk` gate: orchestratord's OpenAI-compatible
//! surface driven by the official `openai` Python SDK.
//!
//! 1. A venv under the target directory (`openai-sdk-venv/`) with the pinned packages of
//!    `clients/openai-sdk/requirements.txt` (`openai`, `pytest`).
//! 2. The orchestratord binary built (`cargo build --workspace --bin orchestratord`, the test
//!    gate's feature resolution) and started with `clients/openai-sdk/orchestratord.yaml` on
//!    `127.0.0.1:0`; the port is the one its `listening on` line names. A control key made up
//!    for this run lets the suite read `/metrics`.
//! 3. pytest runs `clients/openai-sdk` with `ORCHD_OPENAI_BASE_URL` and `ORCHD_CONTROL_KEY`
//!    set and writes its JUnit report to `<run_dir>/openai-sdk.xml`, which spectrace imports
//!    (`[evidence] junit` in spectrace.toml): each test names its requirements.
//!
//! The server is killed when the suite has run, passed or not; its log is kept in
//! `<target>/openai-sdk/orchestratord.log`.
//!
//! `ci:haiku:cpu` runs the same suite once more against the real engine it started
//! ([`on_llamacpp`]): a configuration with one llama.cpp pool written to
//! `<target>/openai-sdk/llamacpp.yaml`, the tests marked `sim_only` (they need a slow engine
//! and a queue of one) left out, the report in `<run_dir>/openai-sdk-llamacpp.xml`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::served::{self, Server, step};
use crate::workspace::Workspace;

/// The suite, its pinned requirements and the server's configuration.
pub const SUITE: &str = "clients/openai-sdk";
/// The JUnit report of the sim run, in the run directory.
pub const REPORT: &str = "openai-sdk.xml";
/// The JUnit report of the llama.cpp run, in the run directory.
pub const LLAMACPP_REPORT: &str = "openai-sdk-llamacpp.xml";
/// The model name of the llama.cpp pool.
const LLAMACPP_MODEL: &str = "gemma3-270m-q4-k-m";

/// One run of the suite: which server configuration, which models, which report.
struct Setup {
    /// The orchestratord configuration, relative to the workspace root or absolute.
    config: PathBuf,
    /// The model the completion tests ask for.
    model: &'static str,
    /// Every model the configuration serves, comma-separated.
    models: &'static str,
    /// The JUnit report's file name in the run directory.
    report: &'static str,
    /// A pytest marker expression selecting the tests, if not all.
    select: Option<&'static str>,
}

/// `cargo xtask ci:openai-sdk`.
pub fn run(workspace: &Workspace) -> ExitCode {
    let setup = Setup {
        config: PathBuf::from(format!("{SUITE}/orchestratord.yaml")),
        model: "sim-fast",
        models: "sim-fast,sim-slow",
        report: REPORT,
        select: None,
    };
    match steps(workspace, &setup) {
        Ok(()) => {
            println!("ci:openai-sdk: the official SDK suite passed");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("ci:openai-sdk: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// The suite against a pool of the running llama.cpp `engine`, for `ci:haiku:cpu`.
pub fn on_llamacpp(
    workspace: &Workspace,
    engine: &crate::engine::Running,
    installed: &crate::engine::Installed,
) -> Result<(), String> {
    let scratch = workspace.target.join("openai-sdk");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let config = scratch.join("llamacpp.yaml");
    let text = llamacpp_config(&engine.url, &installed.model, &installed.sha256);
    std::fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let setup = Setup {
        config,
        model: LLAMACPP_MODEL,
        models: LLAMACPP_MODEL,
        report: LLAMACPP_REPORT,
        select: Some("not sim_only"),
    };
    steps(workspace, &setup).map_err(|e| format!("the OpenAI SDK suite on llama.cpp: {e}"))
}

/// One llama.cpp pool on `url` serving `model` (checked against `sha256`), with as many slots
/// as the engine offers.
fn llamacpp_config(url: &str, model: &Path, sha256: &str) -> String {
    format!(
        "pools:\n  - id: gemma\n    engine:\n      kind: llamacpp\n      url: \"{url}\"\n    \
         model:\n      name: {LLAMACPP_MODEL}\n      path: \"{}\"\n      sha256: \"{sha256}\"\n    \
         slots: {}\n    limits:\n      ctx_max: {}\n      max_tokens: 256\n\
         auth:\n  control_keys:\n    - env: ORCHESTRATORD_API_KEY\n",
        model.display(),
        crate::engine::SLOTS,
        crate::engine::CONTEXT_PER_SLOT,
    )
}

fn steps(workspace: &Workspace, setup: &Setup) -> Result<(), String> {
    // A report of an earlier run must not stand in for this one's.
    let report = workspace.run_dir().join(setup.report);
    match std::fs::remove_file(&report) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", report.display())),
    }
    std::fs::create_dir_all(workspace.run_dir())
        .map_err(|e| format!("cannot create {}: {e}", workspace.run_dir().display()))?;

    let python = served::venv(
        workspace,
        "openai-sdk-venv",
        &format!("{SUITE}/requirements.txt"),
    )?;
    served::build_orchestratord(workspace)?;

    let scratch = workspace.target.join("openai-sdk");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let key = served::run_key("openai-sdk");
    let log = scratch.join(format!("{}.log", setup.report.trim_end_matches(".xml")));
    let server = Server::start(
        workspace,
        &setup.config,
        &log,
        &[("ORCHESTRATORD_API_KEY", key.as_str())],
    )?;
    println!(
        "orchestratord: {} (log: {})",
        server.url,
        server.log.display()
    );

    let junit = format!("--junitxml={}", report.display());
    let mut pytest = workspace.command(
        &python,
        [
            "-m",
            "pytest",
            SUITE,
            "-p",
            "no:cacheprovider",
            "-v",
            junit.as_str(),
        ],
    );
    if let Some(select) = setup.select {
        pytest.args(["-m", select]);
    }
    pytest
        .env("ORCHD_OPENAI_MODEL", setup.model)
        .env("ORCHD_OPENAI_MODELS", setup.models)
        .env("ORCHD_OPENAI_BASE_URL", &server.url)
        .env("ORCHD_CONTROL_KEY", &key)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let result = step(workspace, pytest);
    let log = server.log.clone();
    drop(server);
    result.map_err(|e| format!("{e} (server log: {})", log.display()))
}
