//! The `orchestratord` command line: configuration checking and refusal to serve a bad config.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::PathBuf;
use std::process::{Command, Output};

fn orchestratord(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestratord"))
        .args(args)
        .output()
        .unwrap()
}

fn example(kind: &str, name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../contracts/config-examples",
        kind,
        name,
    ]
    .iter()
    .collect();
    path.to_string_lossy().into_owned()
}

#[spectrace::covers("ORCH-3033", kind = "e2e")]
#[test]
fn check_config_accepts_valid_files() {
    for name in ["minimal.yaml", "full.yaml", "llamacpp.yaml"] {
        let out = orchestratord(&["--check-config", &example("valid", name)]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[spectrace::covers("ORCH-3030", "ORCH-3033", kind = "e2e")]
#[test]
fn check_config_rejects_invalid_files_naming_every_pointer() {
    let out = orchestratord(&["--check-config", &example("invalid", "bad-policy.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/pools/0/queue/full_policy"), "{stderr}");
    let out = orchestratord(&["--check-config", &example("invalid", "unknown-field.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/pools/0/queue/capacity/interactve: unknown field")
    );
}

#[spectrace::covers("ORCH-3030", kind = "e2e")]
#[test]
fn an_invalid_config_never_serves() {
    // Port 9 would be refused anyway; the point is that orchestratord exits 2 before binding.
    let out = orchestratord(&[
        "--config",
        &example("invalid", "zero-replicas.yaml"),
        "--addr",
        "127.0.0.1:9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/pools/0/replicas"), "{stderr}");
    assert!(!stderr.contains("listening"));
    let missing = orchestratord(&["--config", "/nonexistent/orchestratord.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}
