//! Installing a Debian package that a gate or a benchmark needs: `apt-get install -y`, through
//! `sudo -n` when this process is not root, and once more after `apt-get update` when the first
//! try fails (a fresh machine may have no package lists yet). Output is streamed.

use std::path::PathBuf;
use std::process::Command;

use crate::process::run_streaming;

/// Installs `package` with apt-get; an error says why it could not.
pub fn install(package: &str) -> Result<(), String> {
    if find_on_path("apt-get").is_none() {
        return Err(format!(
            "there is no apt-get to install it: install the Debian package `{package}`"
        ));
    }
    let root = is_root();
    if !root && find_on_path("sudo").is_none() {
        return Err(format!(
            "installing it needs root, and sudo is not available: run \
             `apt-get install -y {package}` as root"
        ));
    }
    if apt(&command_line(root, &["install", "-y", package])).is_err() {
        apt(&command_line(root, &["update"]))?;
        apt(&command_line(root, &["install", "-y", package]))?;
    }
    Ok(())
}

/// The first `name` on the PATH that is a file.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The apt-get command line: prefixed with `sudo -n` unless we are root.
fn command_line(root: bool, args: &[&str]) -> Vec<String> {
    let mut line = Vec::new();
    if !root {
        line.extend(["sudo".to_owned(), "-n".to_owned()]);
    }
    line.push("apt-get".to_owned());
    line.extend(args.iter().map(|&a| a.to_owned()));
    line
}

fn apt(line: &[String]) -> Result<(), String> {
    let (program, args) = line.split_first().ok_or("empty command")?;
    let mut command = Command::new(program);
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    println!("$ {}", line.join(" "));
    run_streaming(&mut command).map_err(|reason| format!("`{}` failed: {reason}", line.join(" ")))
}

/// Whether this process runs as root (the owner of `/proc/self`).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_get_runs_through_sudo_only_when_not_root() {
        assert_eq!(
            command_line(true, &["install", "-y", "chromium"]),
            ["apt-get", "install", "-y", "chromium"]
        );
        assert_eq!(
            command_line(false, &["update"]),
            ["sudo", "-n", "apt-get", "update"]
        );
    }
}
