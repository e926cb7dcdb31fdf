//! Finding ripgrep (`rg`), the benchmarks' I/O floor, and installing it when missing: with
//! apt-get (after `apt-get update` if the first try fails), else `cargo install`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::process::{describe_failure, run_streaming};
use crate::workspace::Workspace;

/// A working `rg`, installed if need be; `None` when every way failed.
pub fn locate_or_install(workspace: &Workspace) -> Option<PathBuf> {
    if let Some(rg) = find() {
        return Some(rg);
    }
    println!("ripgrep (rg) is not on the PATH; installing it");
    let apt = || quiet(Command::new("apt-get").args(["install", "-y", "ripgrep"]));
    if (apt() || (quiet(Command::new("apt-get").arg("update")) && apt()))
        && let Some(rg) = find()
    {
        return Some(rg);
    }
    let mut cargo = workspace.cargo(["install", "ripgrep", "--locked"]);
    println!("$ {}", workspace.display(&cargo));
    match run_streaming(&mut cargo) {
        Ok(()) => find(),
        Err(reason) => {
            println!("`cargo install ripgrep` failed: {reason}");
            None
        }
    }
}

/// `rg` on the PATH, else in cargo's bin directory (where `cargo install` puts it, which may
/// not be on the PATH).
fn find() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    std::iter::once(PathBuf::from("rg"))
        .chain(cargo_home.map(|home| home.join("bin").join("rg")))
        .find(|rg| {
            Command::new(rg)
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Runs an installer step with its (long) output captured; prints one line saying how it
/// went, with the last line of its stderr on failure. True on success.
fn quiet(command: &mut Command) -> bool {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let output = command
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => {
            println!("$ {shown}: ok");
            true
        }
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            println!(
                "$ {shown}: failed ({}) {last}",
                describe_failure(output.status)
            );
            false
        }
        Err(e) => {
            println!("$ {shown}: could not start: {e}");
            false
        }
    }
}
