//! `cargo xtask ci:example`, the `example` gate: spectrace used the way another project uses it.
//!
//! 1. **Install**: `cargo install --path spec-tools/cli --locked` (a release build, what a
//!    user of `cargo install` gets) into `target/spectrace-install`, then `spectrace
//!    --version` from there. The `crash` gate then kills this binary: a debug
//!    `spectrace report` on its 10,000 requirements takes about seven times as long, which
//!    over 200 kills and reruns costs far more than the release build.
//! 2. **Init**: the installed `spectrace init` in an empty directory writes `spectrace.toml`
//!    and `.specs/requirements.md`, and `spectrace scan` accepts them.
//! 3. **The example project** (`examples/token-bucket`): its tracked files are copied to a
//!    clean directory, its path dependency on `spectrace` pointed at this checkout, and the
//!    installed `spectrace verify` runs its suites — `cargo test` and the pytest client suite
//!    (pytest pinned in `python/requirements.txt`, installed into a venv under the target
//!    directory) — then `spectrace check` must pass. The reports it wrote must equal the ones
//!    committed in `examples/token-bucket`, so those stay current.
//!
//! Everything it writes is under the target directory: the install (`spectrace-install/`), the
//! venv (`example-venv/`), the example's own build (`example-target/`) and the copies.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// The example, relative to the workspace root.
pub const EXAMPLE: &str = "examples/token-bucket";

/// The example's path dependency on spectrace, as its manifest writes it.
const SPECTRACE_PATH: &str = "path = \"../../spec-tools/spectrace\"";

/// The files `spectrace verify` writes, which the example commits.
pub const GENERATED: [&str; 5] = [
    "requirements/index.yaml",
    "COMPLIANCE.md",
    "reports/compliance.json",
    "reports/junit.xml",
    "reports/reviewed.yaml",
];

/// `cargo xtask ci:example`.
pub fn run(workspace: &Workspace) -> ExitCode {
    match steps(workspace) {
        Ok(()) => {
            println!("ci:example: installed, init and the example's gate passed");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("ci:example: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// Where step 1 installs spectrace (`cargo install --root`).
fn install_root(workspace: &Workspace) -> PathBuf {
    workspace.target.join("spectrace-install")
}

/// The `spectrace` binary step 1 installs (the `crash` gate kills it).
pub fn installed(workspace: &Workspace) -> PathBuf {
    install_root(workspace).join("bin").join("spectrace")
}

fn step(workspace: &Workspace, mut command: Command) -> Result<(), String> {
    println!("$ {}", workspace.display(&command));
    run_streaming(&mut command).map_err(|e| format!("`{}`: {e}", workspace.display(&command)))
}

fn steps(workspace: &Workspace) -> Result<(), String> {
    let scratch = workspace.target.join("example-ci");
    remove_dir(&scratch)?;
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;

    // 1. Install.
    let install_root = install_root(workspace);
    step(
        workspace,
        workspace.cargo([
            "install".as_ref(),
            "--path".as_ref(),
            "spec-tools/cli".as_ref(),
            "--locked".as_ref(),
            "--force".as_ref(),
            "--root".as_ref(),
            install_root.as_os_str(),
        ]),
    )?;
    let spectrace = installed(workspace);
    step(workspace, workspace.command(&spectrace, ["--version"]))?;

    // 2. Init in an empty directory.
    let fresh = scratch.join("fresh");
    std::fs::create_dir_all(&fresh).map_err(|e| e.to_string())?;
    let mut init = Command::new(&spectrace);
    init.args(["init", "--prefix", "APP"]).current_dir(&fresh);
    step(workspace, init)?;
    for file in ["spectrace.toml", ".specs/requirements.md"] {
        if !fresh.join(file).is_file() {
            return Err(format!("spectrace init wrote no {file}"));
        }
    }
    let mut scan = Command::new(&spectrace);
    scan.arg("scan").current_dir(&fresh);
    step(workspace, scan)?;

    // 3. The example, from a clean copy.
    let venv = workspace.target.join("example-venv");
    let python = venv.join("bin");
    if !python.join("python3").is_file() {
        step(
            workspace,
            workspace.command(
                "python3",
                ["-m".as_ref(), "venv".as_ref(), venv.as_os_str()],
            ),
        )?;
    }
    step(
        workspace,
        workspace.command(
            python.join("pip"),
            [
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                &format!("{EXAMPLE}/python/requirements.txt"),
            ],
        ),
    )?;
    let copy = scratch.join("token-bucket");
    clean_copy(workspace, &copy)?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![python];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    for args in [["verify"], ["check"]] {
        let mut command = Command::new(&spectrace);
        command
            .args(args)
            .current_dir(&copy)
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", workspace.target.join("example-target"));
        step(workspace, command)?;
    }
    let stale: Vec<&str> = GENERATED
        .iter()
        .copied()
        .filter(|file| {
            let committed = std::fs::read(workspace.root.join(EXAMPLE).join(file)).ok();
            let generated = std::fs::read(copy.join(file)).ok();
            committed.is_none() || committed != generated
        })
        .collect();
    if !stale.is_empty() {
        return Err(format!(
            "the committed reports of {EXAMPLE} differ from what its run wrote: {} (copy them \
             from {} and commit)",
            stale.join(", "),
            copy.display()
        ));
    }
    println!("{EXAMPLE}: its committed reports equal this run's");
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}

/// Copies the example's tracked files (`git ls-files`, as in a fresh clone) to `to`, and points
/// its path dependency on spectrace at this checkout.
fn clean_copy(workspace: &Workspace, to: &Path) -> Result<(), String> {
    let listed = workspace
        .command("git", ["ls-files", "-z", "--", EXAMPLE])
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !listed.status.success() {
        return Err(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&listed.stderr).trim()
        ));
    }
    let files: Vec<PathBuf> = listed
        .stdout
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| PathBuf::from(String::from_utf8_lossy(f).into_owned()))
        .collect();
    if files.is_empty() {
        return Err(format!("{EXAMPLE} has no tracked files"));
    }
    for file in &files {
        let relative = file
            .strip_prefix(EXAMPLE)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::copy(workspace.root.join(file), &target)
            .map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
    }
    let manifest = to.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    let here = workspace.root.join("spec-tools/spectrace");
    let pointed = point_at(&text, &here)?;
    std::fs::write(&manifest, pointed).map_err(|e| e.to_string())?;
    Ok(())
}

/// `manifest` with the example's relative path dependency on spectrace replaced by `path`.
pub fn point_at(manifest: &str, path: &Path) -> Result<String, String> {
    if !manifest.contains(SPECTRACE_PATH) {
        return Err(format!(
            "{EXAMPLE}/Cargo.toml no longer says `{SPECTRACE_PATH}`; update xtask/src/example.rs"
        ));
    }
    let absolute = path.to_string_lossy().replace('\\', "/");
    Ok(manifest.replace(SPECTRACE_PATH, &format!("path = \"{absolute}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_names_spectrace_by_a_path_that_the_copy_rewrites() {
        let workspace = Workspace::locate().unwrap_or_else(|e| panic!("{e}"));
        let manifest = std::fs::read_to_string(workspace.root.join(EXAMPLE).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let pointed = point_at(&manifest, Path::new("/checkout/spec-tools/spectrace"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(pointed.contains("path = \"/checkout/spec-tools/spectrace\""));
        assert!(point_at("[package]\n", Path::new("/x")).is_err());
        for file in GENERATED {
            assert!(
                workspace.root.join(EXAMPLE).join(file).is_file(),
                "{EXAMPLE} commits {file}"
            );
        }
    }
}
