//! `cargo xtask`: repository automation for spectrace, in plain Rust so that it runs the same
//! on every machine that has cargo.
//!
//! - `cargo xtask compliance` runs the compliance pipeline (`spectrace verify`, then the gate).
//! - `cargo xtask ci` runs the CI gates in order and stops at the first failure.
//! - `cargo xtask regen` rewrites every generated file (`regen-openapi`, `regen-schema`: one).
//! - `cargo xtask bench extract` and `bench report` benchmark `spectrace extract` and
//!   `spectrace report` against ripgrep;
//!   `cargo xtask bench server` benchmarks orchestratord against a minimal SSE server.
//! - `cargo xtask ci:site` builds the site and runs its headless-Chromium test;
//!   `cargo xtask bench site` times `spectrace site` and measures its output on disk.
//! - `cargo xtask engine install|run` installs and starts the real llama.cpp engine;
//!   `ci:haiku:cpu` and `ci:determinism` run the suites that need it.
//! - `cargo xtask ci:openai-sdk` runs the official OpenAI Python SDK against orchestratord;
//!   `cargo xtask ci:schemathesis` fuzzes it with schemathesis, document by document.
//!
//! This file only dispatches; each command lives in its own module.

// A command line tool whose job is printing.
#![allow(clippy::print_stdout)]

mod apt;
mod bench;
mod ci;
mod cli;
mod compliance;
mod crash;
mod engine;
mod example;
mod gates;
mod generators;
mod openai_sdk;
mod outputs;
mod packaging;
mod process;
mod regen;
mod rss;
mod schemathesis;
mod served;
mod shards;
mod site;
mod strength;
mod term;
mod workspace;

use std::process::ExitCode;

use cli::{BenchCommand, Command, ParseError};
use workspace::Workspace;

/// Exit code for a command line the tool does not understand.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(error) => return usage_error(&error),
    };
    let workspace = match Workspace::locate() {
        Ok(workspace) => workspace,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Ci { list: true } => {
            ci::list(&workspace);
            ExitCode::SUCCESS
        }
        Command::Ci { list: false } => ci::run(&workspace),
        Command::Regen { only } => regen::run(&workspace, only),
        Command::Bench(BenchCommand::List) => {
            print!("{}", bench::list());
            ExitCode::SUCCESS
        }
        Command::Bench(BenchCommand::Extract(options)) => bench::extract::run(&workspace, &options),
        Command::Bench(BenchCommand::Report(options)) if options.scale => {
            bench::scale::run(&workspace, &options)
        }
        Command::Bench(BenchCommand::Report(options)) => bench::report::run(&workspace, &options),
        Command::Bench(BenchCommand::Gate(options)) => bench::gate::run(&workspace, &options),
        Command::Bench(BenchCommand::Site(options)) => bench::site::run(&workspace, &options),
        Command::Bench(BenchCommand::Server { seconds }) => {
            bench::server::run(&workspace, &bench::server::Bench::Server { seconds })
        }
        Command::Bench(BenchCommand::Soak { seconds }) => {
            bench::server::run(&workspace, &bench::server::Bench::Soak { seconds })
        }
        Command::Bench(BenchCommand::Streams { streams }) => {
            bench::server::run(&workspace, &bench::server::Bench::Streams { streams })
        }
        Command::Bench(BenchCommand::Engine { runs }) => bench::engine::run(&workspace, runs),
        Command::Bench(BenchCommand::Runtime { runs }) => bench::runtime::run(&workspace, runs),
        Command::Compliance => compliance::run(&workspace),
        Command::EngineInstall => engine::run_install(&workspace),
        Command::EngineRun(command) => engine::run_with(&workspace, &command),
        Command::HaikuCpu => engine::run_suites(
            &workspace,
            &engine::haiku_suites(),
            Some(openai_sdk::on_llamacpp),
        ),
        Command::Determinism => engine::run_suites(&workspace, &engine::determinism_suites(), None),
        Command::Site => site::run(&workspace),
        Command::SiteSetup => site::run_setup(&workspace),
        Command::Package => packaging::run(&workspace),
        Command::Strength => strength::run(&workspace),
        Command::CiStrength => strength::ci(&workspace),
        Command::Crash { binary } => crash::run(&workspace, binary),
        Command::Shards => shards::run(&workspace),
        Command::Example => example::run(&workspace),
        Command::OpenAiSdk => openai_sdk::run(&workspace),
        Command::Schemathesis => schemathesis::run(&workspace),
    }
}

/// Reports a command line error with the usage text that fits it.
fn usage_error(error: &ParseError) -> ExitCode {
    eprintln!("xtask: {error}");
    eprintln!();
    match error {
        ParseError::UnknownBenchmark(_) | ParseError::BadBenchArgument(_) => {
            eprint!("{}", bench::list());
        }
        ParseError::UnknownCommand(_) | ParseError::BadArgument(_) => eprint!("{}", cli::USAGE),
    }
    ExitCode::from(USAGE_ERROR)
}
