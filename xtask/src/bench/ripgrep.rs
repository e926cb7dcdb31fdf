//! Finding ripgrep (`rg`), the benchmarks' I/O floor, and installing it when missing: with
//! apt-get ([`crate::apt`]), else `cargo install`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::apt;
use crate::process::run_streaming;
use crate::workspace::Workspace;

/// A working `rg`, installed if need be; `None` when every way failed.
pub fn locate_or_install(workspace: &Workspace) -> Option<PathBuf> {
    if let Some(rg) = find() {
        return Some(rg);
    }
    println!("ripgrep (rg) is not on the PATH; installing it");
    match apt::install("ripgrep") {
        Ok(()) => {
            if let Some(rg) = find() {
                return Some(rg);
            }
        }
        Err(reason) => println!("apt-get: {reason}"),
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
