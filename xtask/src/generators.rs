//! The table of generators: every program that writes a checked-in file. `ci` runs each in
//! check mode, `regen` for real. A new generator is one more line in [`generators`].

use std::process::Command;

use crate::workspace::Workspace;

/// One generator: a binary of this workspace and its arguments.
#[derive(Debug, Clone, Copy)]
pub struct Generator {
    /// Name shown in headers, such as `spectrace extract`.
    pub name: &'static str,
    /// Binary name in the target directory.
    pub binary: &'static str,
    /// Arguments for a real run; check mode appends `--check`.
    pub args: &'static [&'static str],
}

/// Whether a generator writes or only compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the generated files.
    Write,
    /// Exit non-zero, writing nothing, when a generated file is stale.
    Check,
}

/// Every generator, in the order they run.
pub fn generators() -> Vec<Generator> {
    vec![
        Generator {
            name: "spectrace extract",
            binary: "spectrace",
            args: &["extract", "--strict"],
        },
        Generator {
            name: "compliance schema",
            binary: "spectrace",
            args: &[
                "schema",
                "--out",
                "contracts/schemas/compliance.schema.json",
            ],
        },
        Generator {
            name: "strength schema",
            binary: "spectrace",
            args: &[
                "schema",
                "--of",
                "strength",
                "--out",
                "contracts/schemas/strength.schema.json",
            ],
        },
        Generator {
            name: "regen-schema",
            binary: "contracts-codegen",
            args: &["schema"],
        },
        Generator {
            name: "regen-openapi",
            binary: "contracts-codegen",
            args: &["openapi"],
        },
    ]
}

impl Generator {
    /// The command line, run from the workspace root with the debug binary straight from the
    /// target directory: `cargo run -p` would resolve features differently and rebuild.
    pub fn command(&self, workspace: &Workspace, mode: Mode) -> Command {
        let mut command = workspace.command(workspace.binary("debug", self.binary), self.args);
        if mode == Mode::Check {
            command.arg("--check");
        }
        command
    }
}
