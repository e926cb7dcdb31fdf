//! The `contracts-codegen` command end to end: usage errors, and write-then-check of the
//! configuration schema in a scratch root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::process::Command;

fn codegen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_contracts-codegen"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(codegen(&[]).status.code(), Some(2));
    let unknown = codegen(&["nonsense"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown command `nonsense`"));
    assert_eq!(codegen(&["schema", "--bogus"]).status.code(), Some(2));
    assert_eq!(codegen(&["--help"]).status.code(), Some(0));
}

#[test]
fn check_fails_on_a_missing_file_and_passes_once_it_is_written() {
    let root = tempfile::tempdir().unwrap();
    let root_arg = root.path().to_str().unwrap();
    let missing = codegen(&["schema", "--root", root_arg, "--check"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    assert!(
        !root
            .path()
            .join("contracts/schemas/config.schema.json")
            .exists()
    );

    assert_eq!(
        codegen(&["schema", "--root", root_arg]).status.code(),
        Some(0)
    );
    let written =
        std::fs::read_to_string(root.path().join("contracts/schemas/config.schema.json")).unwrap();
    assert!(written.contains("\"$schema\""), "{written}");
    assert_eq!(
        codegen(&["schema", "--root", root_arg, "--check"])
            .status
            .code(),
        Some(0)
    );

    std::fs::write(
        root.path().join("contracts/schemas/config.schema.json"),
        "{}\n",
    )
    .unwrap();
    let stale = codegen(&["schema", "--root", root_arg, "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stdout).contains("-{}"));
}
