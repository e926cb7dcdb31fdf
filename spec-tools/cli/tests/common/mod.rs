//! What the CLI test files share: running the built `spectrace` in a fixture root, writing
//! fixture files, and reading a run's output. Each test file uses a part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// The `spectrace` binary, run from `root`.
pub fn spectrace(root: &Path) -> Command {
    let mut cmd = Command::cargo_bin("spectrace").unwrap();
    cmd.current_dir(root);
    cmd
}

/// Writes `text` to `root/rel`, creating directories.
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A run's standard output as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A run's standard error as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
