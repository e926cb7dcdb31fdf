//! Evidence strength in this repository: `cargo xtask strength` (everything) and
//! `cargo xtask ci:strength` (the `strength` gate of `cargo xtask ci`).
//!
//! Both use cargo-mutants, pinned to [`CARGO_MUTANTS_VERSION`], which they install from
//! crates.io into `target/tools/` when it is missing or another version.
//!
//! - `strength` runs `spectrace strength` over every requirement with implementation links, in
//!   a copy of the tree (one job), and writes `reports/strength.json`: commit it.
//! - `ci:strength` checks the committed report without writing it: the requirements
//!   implemented in `orchestrator-core`, on a fixed sample of their mutants
//!   ([`CI_SAMPLE`] mutants, seed [`CI_SEED`]; all of them take hours on two cores), and, when
//!   the branch has a merge base with `main` other than itself, the requirements whose
//!   implementing items or evidence changed since it. It mutates the checkout in place: CI's
//!   clone is disposable, and in place the build of the `test` gate stays warm.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// The cargo-mutants release that generates the mutants.
pub const CARGO_MUTANTS_VERSION: &str = "27.1.0";
/// Mutants of the `orchestrator-core` requirements that CI runs.
pub const CI_SAMPLE: usize = 16;
/// The seed that fixes CI's sample.
pub const CI_SEED: u64 = 2026;

/// `target/tools/bin/cargo-mutants`, installed when it is missing or not the pinned version.
pub fn cargo_mutants(workspace: &Workspace) -> Result<PathBuf, String> {
    let root = workspace.target.join("tools");
    let binary = root.join("bin").join("cargo-mutants");
    let installed = Command::new(&binary)
        .args(["mutants", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if installed.as_deref() == Some(&format!("cargo-mutants {CARGO_MUTANTS_VERSION}")) {
        return Ok(binary);
    }
    let mut install = workspace.cargo([
        "install".as_ref(),
        "cargo-mutants".as_ref(),
        "--version".as_ref(),
        CARGO_MUTANTS_VERSION.as_ref(),
        "--locked".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    println!("$ {}", workspace.display(&install));
    run_streaming(&mut install).map_err(|e| format!("cannot install cargo-mutants: {e}"))?;
    Ok(binary)
}

/// `spectrace strength` with the pinned cargo-mutants and `args`.
fn spectrace_strength(workspace: &Workspace, mutants: &PathBuf, args: &[&str]) -> Command {
    let mut command = workspace.command(workspace.binary("debug", "spectrace"), ["strength"]);
    command.args(args).arg("--cargo-mutants").arg(mutants);
    command
}

fn step(workspace: &Workspace, mut command: Command) -> Result<(), String> {
    println!("$ {}", workspace.display(&command));
    run_streaming(&mut command).map_err(|e| format!("`{}`: {e}", workspace.display(&command)))
}

/// `cargo xtask strength`.
pub fn run(workspace: &Workspace) -> ExitCode {
    let result = cargo_mutants(workspace).and_then(|mutants| {
        step(
            workspace,
            workspace.cargo(["test", "--workspace", "--no-run"]),
        )?;
        step(workspace, spectrace_strength(workspace, &mutants, &[]))
    });
    finish("strength", result)
}

/// The merge base of `HEAD` and `main` (or `origin/main`), when it is not `HEAD` itself.
fn merge_base(workspace: &Workspace) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let output = workspace.command("git", args).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "HEAD"])?;
    ["origin/main", "main"].iter().find_map(|branch| {
        let base = git(&["merge-base", "HEAD", branch])?;
        (base != head).then_some(base)
    })
}

/// `cargo xtask ci:strength`.
pub fn ci(workspace: &Workspace) -> ExitCode {
    let result = cargo_mutants(workspace).and_then(|mutants| {
        let seed = CI_SEED.to_string();
        let sample = CI_SAMPLE.to_string();
        step(
            workspace,
            spectrace_strength(
                workspace,
                &mutants,
                &[
                    "--check",
                    "--in-place",
                    "--package",
                    "orchestrator-core",
                    "--sample",
                    &sample,
                    "--seed",
                    &seed,
                ],
            ),
        )?;
        match merge_base(workspace) {
            Some(base) => step(
                workspace,
                spectrace_strength(
                    workspace,
                    &mutants,
                    &[
                        "--check",
                        "--in-place",
                        "--in-diff",
                        &base,
                        "--sample",
                        &sample,
                        "--seed",
                        &seed,
                    ],
                ),
            ),
            None => {
                println!(
                    "ci:strength: no merge base with main other than HEAD; nothing changed to check"
                );
                Ok(())
            }
        }
    });
    finish("ci:strength", result)
}

fn finish(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("{name}: {problem}");
            ExitCode::FAILURE
        }
    }
}
