//! The example project (`examples/token-bucket`) as a user would break it: a copy whose
//! `take` drains the bucket even when it refuses fails `spectrace check`, which names the
//! requirement that broke (TB-0002) and the test that caught it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};

use common::{spectrace, stderr};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies the example without what a build or a run leaves in it.
fn copy_example(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_str().unwrap();
        if matches!(name, "target" | ".venv" | "__pycache__" | "run") {
            continue;
        }
        let target = to.join(name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_example(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn breaking_take_fails_the_gate_naming_tb_0002() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path();
    copy_example(&root.join("examples/token-bucket"), copy);

    // The copy depends on this checkout's spectrace, wherever the copy is.
    let manifest = std::fs::read_to_string(copy.join("Cargo.toml")).unwrap();
    let spectrace_dir = root.join("spec-tools/spectrace").canonicalize().unwrap();
    let manifest = manifest.replace(
        "path = \"../../spec-tools/spectrace\"",
        &format!("path = \"{}\"", spectrace_dir.display()),
    );
    std::fs::write(copy.join("Cargo.toml"), manifest).unwrap();

    // The break: a refused `take` empties the bucket.
    let lib = std::fs::read_to_string(copy.join("src/lib.rs")).unwrap();
    let broken = lib.replace(
        "        let missing = wanted - self.millitokens;",
        "        let missing = wanted - self.millitokens;\n        self.millitokens = 0;",
    );
    assert_ne!(lib, broken, "the line to break is in src/lib.rs");
    std::fs::write(copy.join("src/lib.rs"), broken).unwrap();

    // The example's own build directory, shared with `cargo xtask ci:example`.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("example-target");
    let verify = spectrace(copy)
        .args(["verify", "--suite", "rust"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(1), "{}", stderr(&verify));
    assert!(
        stderr(&verify).contains("1 suite failed: rust"),
        "{}",
        stderr(&verify)
    );

    let check = spectrace(copy).arg("check").output().unwrap();
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let err = stderr(&check);
    assert!(
        err.contains(".specs/token-bucket.md:10: MUST TB-0002 is failing (the gate demands verified): Take or refuse"),
        "{err}"
    );
    assert!(
        err.contains(
            "tests/bucket.rs:15: bucket::take_removes_tokens_or_refuses_removing_none failed"
        ),
        "{err}"
    );
    assert!(err.contains("a refused take removes nothing"), "{err}");
    // What the break does not touch stays verified.
    assert!(!err.contains("TB-0001"), "{err}");
    assert!(!err.contains("TB-0003"), "{err}");
}
