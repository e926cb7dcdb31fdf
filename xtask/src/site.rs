//! The site's browser test: `cargo xtask ci:site`, and the `site` gate of `cargo xtask ci`.
//!
//! The gate's commands are visible like every other gate's: `cargo xtask ci:site:setup`
//! (Debian's Chromium via apt-get when `/usr/bin/chromium` is missing; `npm ci` of
//! `site/tests/package-lock.json` into `target/site-tests/` when its `node_modules` is missing
//! or the lock changed — nothing is written into the source tree), then
//! `target/debug/spectrace site`, then `node site/tests/browser.cjs`, which loads the built
//! site from `file://` in headless Chromium (playwright-core) and saves the dashboard's
//! screenshots into `outputs.run_dir`; the site is built into `outputs.site` (both from
//! spectrace.toml).
//!
//! In `cargo xtask ci` the `test` gate has built `target/debug/spectrace`; `ci:site` alone
//! builds it first the same way (`cargo test --workspace --no-run`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::apt;
use crate::gates::{self, Gate};
use crate::process::run_streaming;
use crate::workspace::Workspace;

/// Debian's Chromium, the browser the test drives.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The browser test script, relative to the workspace root.
pub const SCRIPT: &str = "site/tests/browser.cjs";
/// The directory of the script's `package.json` and `package-lock.json`.
const PACKAGE_DIR: &str = "site/tests";
/// Where `npm ci` installs, under the target directory.
const INSTALL_DIR: &str = "site-tests";

/// The gate's commands: set-up, site build, browser test.
pub fn commands(workspace: &Workspace) -> Vec<Command> {
    let modules = workspace.target.join(INSTALL_DIR).join("node_modules");
    vec![
        workspace.cargo(["xtask", "ci:site:setup"]),
        workspace.command(workspace.binary("debug", "spectrace"), ["site"]),
        workspace.command(
            "node",
            [
                Path::new(SCRIPT).as_os_str(),
                "--modules".as_ref(),
                relative(workspace, &modules).as_os_str(),
                "--site".as_ref(),
                workspace.outputs.site.as_ref(),
                "--screenshots".as_ref(),
                workspace.outputs.run_dir.as_ref(),
            ],
        ),
    ]
}

/// The `site` gate of `cargo xtask ci`.
pub fn gate(workspace: &Workspace) -> Gate {
    Gate {
        name: "site".to_owned(),
        commands: commands(workspace),
    }
}

/// `cargo xtask ci:site`: builds the binary as the `test` gate does, then runs the gate.
pub fn run(workspace: &Workspace) -> ExitCode {
    let build = Gate::single(
        "build",
        workspace.cargo(["test", "--workspace", "--no-run"]),
    );
    if gates::run("ci:site", vec![build, gate(workspace)], workspace) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `cargo xtask ci:site:setup`: installs what the browser test needs when it is missing.
pub fn run_setup(workspace: &Workspace) -> ExitCode {
    let result = ensure_tools().and_then(|()| ensure_node_modules(workspace));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask ci:site:setup: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Chromium installed with apt-get when missing; Node.js and npm must be there.
fn ensure_tools() -> Result<(), String> {
    for tool in ["node", "npm"] {
        if apt::find_on_path(tool).is_none() {
            return Err(format!(
                "`{tool}` is not on the PATH: the browser test needs Node.js 20 or later and npm"
            ));
        }
    }
    if Path::new(CHROMIUM).exists() {
        println!("chromium: {CHROMIUM}");
        return Ok(());
    }
    println!("chromium: {CHROMIUM} is missing; installing Debian's chromium");
    apt::install("chromium").map_err(|e| format!("{CHROMIUM} is missing: {e}"))?;
    if Path::new(CHROMIUM).exists() {
        Ok(())
    } else {
        Err(format!(
            "apt-get installed chromium but {CHROMIUM} is still missing"
        ))
    }
}

/// `npm ci` into `target/site-tests/` when `node_modules` is missing or the lock changed.
fn ensure_node_modules(workspace: &Workspace) -> Result<(), String> {
    let source = workspace.root.join(PACKAGE_DIR);
    let install = workspace.target.join(INSTALL_DIR);
    let lock = read(&source.join("package-lock.json"))?;
    let manifest = read(&source.join("package.json"))?;
    let installed_lock = std::fs::read(install.join("package-lock.json")).ok();
    let installed_manifest = std::fs::read(install.join("package.json")).ok();
    let present = install
        .join("node_modules")
        .join("playwright-core")
        .join("package.json")
        .exists();
    let up_to_date = present
        && installed_lock.as_deref() == Some(lock.as_slice())
        && installed_manifest.as_deref() == Some(manifest.as_slice());
    if up_to_date {
        println!(
            "node modules: {} (up to date with {PACKAGE_DIR}/package-lock.json)",
            relative(workspace, &install.join("node_modules")).display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(&install)
        .map_err(|e| format!("cannot create {}: {e}", install.display()))?;
    for (name, bytes) in [("package.json", &manifest), ("package-lock.json", &lock)] {
        let path = install.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&install);
    println!(
        "$ (cd {} && npm ci --no-audit --no-fund)",
        relative(workspace, &install).display()
    );
    run_streaming(&mut npm).map_err(|reason| format!("npm ci failed: {reason}"))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `path` relative to the workspace root when it is under it.
fn relative(workspace: &Workspace, path: &Path) -> PathBuf {
    path.strip_prefix(&workspace.root)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_sets_up_builds_the_site_then_runs_the_browser_test() {
        let workspace = Workspace::locate().unwrap();
        let lines: Vec<String> = commands(&workspace)
            .iter()
            .map(|c| workspace.display(c))
            .collect();
        let spectrace =
            workspace.display(&workspace.command(workspace.binary("debug", "spectrace"), ["site"]));
        let modules = relative(
            &workspace,
            &workspace.target.join("site-tests/node_modules"),
        );
        assert_eq!(
            lines,
            [
                "cargo xtask ci:site:setup".to_owned(),
                spectrace,
                format!(
                    "node site/tests/browser.cjs --modules {} --site site/out --screenshots \
                     reports/run",
                    modules.display()
                ),
            ]
        );
        assert!(workspace.root.join(SCRIPT).is_file());
        assert!(
            workspace
                .root
                .join(PACKAGE_DIR)
                .join("package-lock.json")
                .is_file()
        );
    }

    #[test]
    fn the_script_is_pinned_to_an_exact_playwright_core() {
        let workspace = Workspace::locate().unwrap();
        let manifest =
            std::fs::read_to_string(workspace.root.join(PACKAGE_DIR).join("package.json")).unwrap();
        let line = manifest
            .lines()
            .find(|l| l.contains("\"playwright-core\""))
            .unwrap();
        let version = line
            .split(':')
            .nth(1)
            .unwrap()
            .trim()
            .trim_matches([',', '"']);
        assert!(
            version.split('.').all(|part| part.parse::<u32>().is_ok()),
            "playwright-core must be pinned to an exact version, not `{version}`"
        );
        let lock =
            std::fs::read_to_string(workspace.root.join(PACKAGE_DIR).join("package-lock.json"))
                .unwrap();
        assert!(lock.contains(&format!("\"version\": \"{version}\"")));
    }
}
