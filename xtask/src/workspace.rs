//! Where things are: the workspace root, the cargo target directory and the binaries built
//! there, and how a command line reads when printed.

use std::env::consts::EXE_SUFFIX;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::outputs::{self, Outputs};

/// The workspace this xtask belongs to.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root (the parent of the xtask package).
    pub root: PathBuf,
    /// The cargo target directory: `$CARGO_TARGET_DIR` if set, else `<root>/target`.
    pub target: PathBuf,
    /// The output paths of `spectrace.toml` that xtask shares with spectrace.
    pub outputs: Outputs,
    /// The cargo that runs us (`$CARGO`, set by `cargo run`), else `cargo` from the PATH.
    cargo: OsString,
}

impl Workspace {
    /// Finds the workspace from where this package was compiled, so the tool works from any
    /// current directory, and reads its `spectrace.toml`.
    pub fn locate() -> Result<Self, String> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf);
        let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
            // Cargo reads a relative CARGO_TARGET_DIR against the current directory.
            Some(dir) => std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir)),
            None => root.join("target"),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let outputs = outputs::read(&root)?;
        Ok(Self {
            root,
            target,
            outputs,
            cargo,
        })
    }

    /// `outputs.run_dir` under the root.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join(&self.outputs.run_dir)
    }

    /// `cargo <args>`, run from the workspace root.
    pub fn cargo<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.cargo);
        command.args(args).current_dir(&self.root);
        command
    }

    /// A program run from the workspace root.
    pub fn command<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.root);
        command
    }

    /// The path of binary `name` built with `profile` (`debug`, `release`).
    pub fn binary(&self, profile: &str, name: &str) -> PathBuf {
        self.target
            .join(profile)
            .join(format!("{name}{EXE_SUFFIX}"))
    }

    /// `command` as a shell line: cargo as `cargo`, paths under the root relative to it,
    /// arguments quoted where a shell would need it.
    pub fn display(&self, command: &Command) -> String {
        let program = command.get_program();
        let program = if program == self.cargo.as_os_str() {
            "cargo".to_owned()
        } else {
            let path = Path::new(program);
            path.strip_prefix(&self.root)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned()
        };
        std::iter::once(program)
            .chain(command.get_args().map(|a| quote(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes `arg` for a POSIX shell when it holds anything but plain characters.
fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shortens_cargo_and_paths_under_the_root() {
        let ws = Workspace {
            root: PathBuf::from("/repo"),
            target: PathBuf::from("/repo/target"),
            outputs: Outputs {
                run_dir: "reports/run".into(),
                site: "site/out".into(),
            },
            cargo: OsString::from("/home/me/.cargo/bin/cargo"),
        };
        let cargo = ws.cargo(["fmt", "--all", "--", "--check"]);
        assert_eq!(ws.display(&cargo), "cargo fmt --all -- --check");
        let bin = ws.command(ws.binary("debug", "spectrace"), ["extract", "--check"]);
        let expected = format!("target/debug/spectrace{EXE_SUFFIX} extract --check");
        assert_eq!(ws.display(&bin), expected);
        let rg = ws.command("rg", ["-c", "ORCH-[0-9]{4}", "it's"]);
        assert_eq!(ws.display(&rg), r"rg -c 'ORCH-[0-9]{4}' 'it'\''s'");
    }
}
