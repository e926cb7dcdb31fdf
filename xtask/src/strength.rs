//! Evidence strength in this repository: `cargo xtask strength` (everything) and
//! `cargo xtask ci:strength` (the `strength` gate of `cargo xtask ci`).
//!
//! Both use cargo-mutants, pinned to [`CARGO_MUTANTS_VERSION`], which they install from
//! crates.io into `target/tools/` when it is missing or another version.
//!
//! - `strength` runs `spectrace strength` over every requirement with implementation links, in
//!   a copy of the tree (one job), and writes `reports/strength.json`: commit it.
//! - `ci:strength` checks the committed report without writing it, mutating the checkout in
//!   place (CI's clone is disposable, and in place the debug build of the `test` and `shards`
//!   gates stays warm): first the requirements implemented in `orchestrator-core`, on a fixed
//!   sample of [`CI_SAMPLE`] of their (requirement, mutant) pairs, seed [`CI_SEED`]; then,
//!   when the branch has a merge base with `main` other than itself, the requirements whose
//!   implementing items or evidence changed since it, on a sample of [`CI_DIFF_SAMPLE`]. Every
//!   selected requirement's fingerprint is checked, sampled out or not. It fails when what ran
//!   disagrees with `reports/strength.json`: a mutant the report records as caught survives
//!   (whether or not a waiver names it: waivers explain the survivors the report holds), a
//!   recorded survivor is caught, a requirement is stale or missing from the report, or its
//!   evidence fails unmutated. Survivors the report already records pass: the reports and the
//!   site show them, and `[gate] must_strength` sets a floor.
//!
//! Both start the real engine ([`crate::engine`]: installed under `target/llamacpp` when
//! missing, as the `haiku-cpu` gate before this one does) and pass `--include-target llamacpp`,
//! with `RUST_TEST_THREADS=1` because the suite's tests share the engine's two slots (as in
//! `ci:haiku:cpu`). Without it the real-engine suite, a `test = false` target, is evidence that
//! is not run: ORCH-3061, whose only evidence it is, would have no strength, and a branch that
//! changes its items or evidence would fail the `--in-diff` step ("none of its evidence can run
//! here"). The gate includes it as well as `strength` so that it checks the report against the
//! evidence the report was measured with; otherwise a mutant that only the suite catches would
//! read as a new survivor in CI.
//!
//! What that costs the gate, measured back to back in a worktree on the 2-core machine (load
//! average 7.3 → 7.7), `CI_SAMPLE = 16`, cargo-mutants installed: `ci:strength` 5 min 31 s
//! with the engine, 3 min 1 s without (the same `spectrace strength --check` without the
//! engine and the option), so 2 min 30 s more. Starting the engine takes 1.5 s; the rest is
//! the suite's determinism test, evidence of ORCH-3056, one of whose mutants the sample holds:
//! it runs in the baseline (64 s) and for that mutant (45 s), and its test binary is relinked
//! for them. On the figures below that is 13 min 12 s in all, 1 min 48 s under the limit.
//!
//! Why a sample: all of `orchestrator-core`'s requirements are 195 (requirement, mutant) pairs,
//! 105 distinct mutants of which 90 build; at the measured 18 s a mutant that is 27 minutes on
//! two cores besides the install and the baseline, and the gate may add at most 15 minutes to a
//! cold `.ci/run`. Measured in a worktree
//! on the 2-core machine, shared with three other builds (load average 4.0 → 7.7 over the
//! runs), with `CI_SAMPLE = 16`:
//!
//! - installing cargo-mutants (`cargo install --locked` into `target/tools/`, what a cold run
//!   does first): 5 min 56 s wall (2 min 45 s user);
//! - `cargo xtask ci:strength` with it installed: 4 min 46 s wall (1 min 45 s user) — the
//!   unmutated baseline of the requirements the sample touches, with a rebuild of
//!   `orchestrator-core` and its dependents, 1 min 39 s; 16 pairs, 10 distinct mutants (2
//!   unviable), 3 min 5 s; the `--in-diff` run, with nothing changed, 1 s;
//! - together 10 min 42 s, 4 min 18 s under the limit. A branch that changes implementing
//!   items adds a second baseline and [`CI_DIFF_SAMPLE`] pairs, about 3 min at that load.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::engine::{self, Installed, Running};
use crate::process::run_streaming;
use crate::workspace::Workspace;

/// The cargo-mutants release that generates the mutants.
pub const CARGO_MUTANTS_VERSION: &str = "27.1.0";
/// (Requirement, mutant) pairs of the `orchestrator-core` requirements that CI runs (see the
/// module documentation for the time it was sized on).
pub const CI_SAMPLE: usize = 16;
/// (Requirement, mutant) pairs of the requirements changed since the merge base with `main`.
pub const CI_DIFF_SAMPLE: usize = 8;
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

/// The real engine, installed (under `target/llamacpp`, when missing) and started; dropping it
/// stops the engine.
fn start_engine(workspace: &Workspace) -> Result<(Running, Installed), String> {
    let installed = engine::install(workspace)?;
    let running = engine::start(&installed)?;
    println!(
        "engine: llama.cpp serving {} at {} for the `{}` target",
        installed.model.display(),
        running.url,
        engine::TARGET
    );
    Ok((running, installed))
}

/// `spectrace strength` with the pinned cargo-mutants and `args`, the engine's test target
/// included and pointed at `engine`.
fn spectrace_strength(
    workspace: &Workspace,
    mutants: &PathBuf,
    (running, installed): &(Running, Installed),
    args: &[&str],
) -> Command {
    let mut command = workspace.command(workspace.binary("debug", "spectrace"), ["strength"]);
    command
        .args(args)
        .args(["--include-target", engine::TARGET])
        .arg("--cargo-mutants")
        .arg(mutants);
    engine::point_at(&mut command, running, installed);
    // The target's tests share the engine's slots, so they run one at a time, as in
    // `ci:haiku:cpu`; libtest reads this for every test binary an evidence run starts.
    command.env("RUST_TEST_THREADS", "1");
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
        let engine = start_engine(workspace)?;
        step(
            workspace,
            spectrace_strength(workspace, &mutants, &engine, &[]),
        )
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
        let engine = start_engine(workspace)?;
        let seed = CI_SEED.to_string();
        let sample = CI_SAMPLE.to_string();
        let diff_sample = CI_DIFF_SAMPLE.to_string();
        step(
            workspace,
            spectrace_strength(
                workspace,
                &mutants,
                &engine,
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
                    &engine,
                    &[
                        "--check",
                        "--in-place",
                        "--in-diff",
                        &base,
                        "--sample",
                        &diff_sample,
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
