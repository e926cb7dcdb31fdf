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

/// `[specs]` and `[evidence]` of the small fixture repositories: `FIX-NNN` IDs in
/// `.specs/*.md`, `#[covers]` tests under `tests/`.
pub const FIXTURE_CONFIG: &str = r#"
[specs]
include = [".specs/*.md"]
id_pattern = "FIX-[0-9]{3}"

[evidence]
rust = ["tests/**/*.rs"]
features = []
exclude = []
"#;

/// The fixture spec: two MUSTs in section 1 (FIX-001, FIX-002), a MAY in section 2 (FIX-003).
pub const FIXTURE_SPEC: &str = "# Fixture spec\n\n## 1 Queue\n\n- The queue MUST be bounded. [FIX-001]\n- Positions MUST be honest. [FIX-002]\n\n## 2 Extras\n\n- Logs MAY be colored. [FIX-003]\n";

/// The fixture tests: line 3 holds the name of `bounded` (FIX-001), line 7 that of `honest`
/// (FIX-002, an end-to-end test).
pub const FIXTURE_TESTS: &str = "#[spectrace::covers(\"FIX-001\")]\n#[test]\nfn bounded() {}\n\n#[spectrace::covers(\"FIX-002\", kind = \"e2e\")]\n#[test]\nfn honest() {}\n";

/// One evidence record of the test named on `line` of `tests/a.rs`, as `#[covers]` writes it;
/// a failed one carries a message.
pub fn record(id: &str, line: u32, outcome: &str) -> String {
    let message = if outcome == "failed" {
        "\"assertion failed: positions\""
    } else {
        "null"
    };
    format!(
        "{{\"ids\":[\"{id}\"],\"test\":\"a::t{line}\",\"file\":\"tests/a.rs\",\"line\":{line},\"kind\":\"test\",\"outcome\":\"{outcome}\",\"message\":{message}}}\n"
    )
}

/// A temporary repository with `spectrace.toml`, `.specs/spec.md` and `tests/a.rs`.
pub fn fixture_repo(config: &str, spec: &str, tests: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "spectrace.toml", config);
    write(dir.path(), ".specs/spec.md", spec);
    write(dir.path(), "tests/a.rs", tests);
    dir
}
