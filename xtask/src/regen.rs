//! `cargo xtask regen`: rewrites every generated file.
//!
//! Builds with `cargo test --workspace --no-run`, the same feature set as the `test` gate of
//! `ci`, so that `regen` followed by `ci` does not rebuild; then runs every generator for
//! real, straight from the target directory.

use std::process::ExitCode;

use crate::gates::{self, Gate};
use crate::generators::{Mode, generators};
use crate::workspace::Workspace;

/// The build, then one gate per generator (or only the one named `only`).
fn gates(workspace: &Workspace, only: Option<&str>) -> Vec<Gate> {
    let build = Gate::single(
        "build",
        workspace.cargo(["test", "--workspace", "--no-run"]),
    );
    std::iter::once(build)
        .chain(
            generators()
                .iter()
                .filter(|g| only.is_none_or(|name| g.name == name))
                .map(|g| Gate::single(g.name, g.command(workspace, Mode::Write))),
        )
        .collect()
}

/// `cargo xtask regen[-openapi|-schema]`: exit 0 when every generator run succeeded, else 1.
pub fn run(workspace: &Workspace, only: Option<&str>) -> ExitCode {
    if gates::run("regen", gates(workspace, only), workspace) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
