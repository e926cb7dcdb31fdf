//! `cargo xtask ci:package`, the `package` gate: the spectrace crates are fit to publish.
//!
//! 1. **Dependency graphs** (`cargo tree`, nothing built): the normal graph of `spectrace`,
//!    the crate a test suite depends on, holds at most [`MAX_SPECTRACE_CRATES`] distinct
//!    crates, itself included; and the graph of `orchestrator-core`, normal and dev
//!    dependencies, contains none of the crates that belong to spectrace's stages
//!    ([`STAGE_ONLY`]).
//! 2. **Packages**: `cargo package` of the five crates in one invocation, which packages them
//!    in dependency order and verifies each — builds it from its `.crate` alone — against the
//!    ones packaged before it (cargo's temporary local registry), so no `--no-verify` is
//!    needed. `--allow-dirty` lets it run on a working tree with uncommitted changes; CI's
//!    clone has none.
//! 3. **Contents**: every file under `spectrace-core`'s `templates/` and `assets/`, which it
//!    compiles in, is in its `.crate`.
//!
//! The verification builds into a target directory of its own, `<target>/package-verify`, and
//! before each run the fingerprints of the five crates there are removed ([`forget_built`]),
//! as are the copies cargo unpacked from earlier runs' temporary registries
//! ([`forget_unpacked`]). Cargo treats a registry crate as immutable for its version: it
//! unpacks it once into `$CARGO_HOME/registry/src/<registry>/NAME-VERSION`, with the fixed
//! file times of a `.crate`, and never rebuilds a build of it that exists. So after a change
//! to `spectrace-core`, the verification of `spectrace-cli` would build against the
//! `spectrace-core` of an earlier run and fail on a machine that ran the gate before, while
//! passing on a fresh one. A directory of its own keeps the workspace's own builds of the five
//! crates, which everything after this gate uses, warm.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitCode};

use crate::workspace::Workspace;

/// The packaged crates, in dependency order.
pub const CRATES: [&str; 5] = [
    "spectrace-macros",
    "spectrace",
    "spectrace-core",
    "spectrace-cucumber",
    "spectrace-cli",
];

/// Most distinct crates in `cargo tree -p spectrace -e normal`, `spectrace` included.
pub const MAX_SPECTRACE_CRATES: usize = 16;

/// Crates of spectrace's stages that a test suite must not compile.
pub const STAGE_ONLY: [&str; 5] = ["gherkin", "pulldown-cmark", "minijinja", "schemars", "clap"];

/// Directories of `spectrace-core` compiled into it, which its package must hold.
const COMPILED_IN: [&str; 2] = ["templates", "assets"];

/// `cargo xtask ci:package`.
pub fn run(workspace: &Workspace) -> ExitCode {
    match check(workspace) {
        Ok(()) => {
            println!(
                "ci:package: the five crates package, and their graphs are what they should be"
            );
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("ci:package: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn check(workspace: &Workspace) -> Result<(), String> {
    let tree = cargo_tree(workspace, "spectrace", "normal")?;
    let crates = distinct_crates(&tree);
    println!(
        "cargo tree -p spectrace -e normal: {} crates: {}",
        crates.len(),
        crates.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    if crates.len() > MAX_SPECTRACE_CRATES {
        return Err(format!(
            "`spectrace` pulls {} crates into every test suite; at most {MAX_SPECTRACE_CRATES}",
            crates.len()
        ));
    }
    let core = cargo_tree(workspace, "orchestrator-core", "normal,dev")?;
    let core_crates = distinct_crates(&core);
    println!(
        "cargo tree -p orchestrator-core -e normal,dev: {} crates",
        core_crates.len()
    );
    let leaked = stage_crates(&core_crates);
    if !leaked.is_empty() {
        return Err(format!(
            "orchestrator-core's graph contains {}, which only spectrace's stages need",
            leaked.join(", ")
        ));
    }
    let version = package_version(&workspace.root)?;
    forget_unpacked(&cargo_home()?, &version)?;
    let verify_target = workspace.target.join("package-verify");
    forget_built(&verify_target.join("debug").join(".fingerprint"))?;
    let mut package = workspace.cargo(["package", "--allow-dirty"]);
    package.env("CARGO_TARGET_DIR", &verify_target);
    for name in CRATES {
        package.args(["-p", name]);
    }
    println!("$ {}", workspace.display(&package));
    crate::process::run_streaming(&mut package).map_err(|e| format!("cargo package: {e}"))?;
    let core_dir = workspace.root.join("spec-tools/core");
    let archive = verify_target
        .join("package")
        .join(format!("spectrace-core-{version}.crate"));
    let listed = crate_files(&archive, &format!("spectrace-core-{version}/"))?;
    let missing = missing_files(&core_dir, &listed)?;
    if !missing.is_empty() {
        return Err(format!(
            "{} lacks what spectrace-core compiles in: {}",
            archive.display(),
            missing.join(", ")
        ));
    }
    println!(
        "{}: {} files, templates and assets included",
        archive.display(),
        listed.len()
    );
    Ok(())
}

/// `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Result<std::path::PathBuf, String> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(home.into());
    }
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cargo"))
        .ok_or_else(|| "neither CARGO_HOME nor HOME is set".to_owned())
}

/// Removes `registry/src/<registry>/NAME-VERSION` under `cargo_home` for each of [`CRATES`], in
/// the local registries only: their directory names start with `-` (no host), unlike
/// crates.io's `index.crates.io-…`, which is never touched.
fn forget_unpacked(cargo_home: &Path, version: &str) -> Result<(), String> {
    let src = cargo_home.join("registry").join("src");
    let registries = match std::fs::read_dir(&src) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", src.display())),
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in CRATES {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            match std::fs::remove_dir_all(&unpacked) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("cannot remove {}: {e}", unpacked.display())),
            }
        }
    }
    Ok(())
}

/// Removes the fingerprints of [`CRATES`] under `fingerprints` (`<target>/debug/.fingerprint`,
/// one directory `NAME-HASH` per build of a crate), so that cargo builds them again.
fn forget_built(fingerprints: &Path) -> Result<(), String> {
    let entries = match std::fs::read_dir(fingerprints) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", fingerprints.display())),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name
            .rsplit_once('-')
            .is_some_and(|(krate, _hash)| CRATES.contains(&krate));
        if ours {
            std::fs::remove_dir_all(entry.path())
                .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// `cargo tree -p NAME -e EDGES --prefix none` as text.
fn cargo_tree(workspace: &Workspace, name: &str, edges: &str) -> Result<String, String> {
    let output = workspace
        .cargo(["tree", "-p", name, "-e", edges, "--prefix", "none"])
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {name} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The distinct `name version` pairs of a `cargo tree --prefix none` listing: repeats
/// (`(*)`), proc-macro marks and source paths do not make a crate count twice.
pub fn distinct_crates(tree: &str) -> BTreeSet<String> {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?;
            Some(format!("{name} {version}"))
        })
        .collect()
}

/// The crates of `crates` (as `name version`) that [`STAGE_ONLY`] names.
pub fn stage_crates(crates: &BTreeSet<String>) -> Vec<String> {
    crates
        .iter()
        .filter(|c| {
            let name = c.split_whitespace().next().unwrap_or_default();
            STAGE_ONLY.contains(&name)
        })
        .cloned()
        .collect()
}

/// The workspace's package version (`[workspace.package] version`).
fn package_version(root: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("cannot read Cargo.toml: {e}"))?;
    let manifest: toml::Table =
        toml::from_str(&text).map_err(|e| format!("Cargo.toml: {}", e.message()))?;
    manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "Cargo.toml has no [workspace.package] version".to_owned())
}

/// The files of a `.crate` archive, relative to its top directory `prefix`.
fn crate_files(archive: &Path, prefix: &str) -> Result<BTreeSet<String>, String> {
    let output = Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "tar -tzf {} failed: {}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .filter(|file| !file.is_empty() && !file.ends_with('/'))
        .map(str::to_owned)
        .collect())
}

/// Files under the compiled-in directories of `package_dir` that `listed` lacks.
fn missing_files(package_dir: &Path, listed: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let mut missing = Vec::new();
    let mut expected = 0;
    for dir in COMPILED_IN {
        let mut stack = vec![package_dir.join(dir)];
        while let Some(current) = stack.pop() {
            let entries = std::fs::read_dir(&current)
                .map_err(|e| format!("cannot read {}: {e}", current.display()))?;
            for entry in entries {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                expected += 1;
                let relative = path
                    .strip_prefix(package_dir)
                    .map_err(|e| e.to_string())?
                    .to_string_lossy()
                    .replace('\\', "/");
                if !listed.contains(&relative) {
                    missing.push(relative);
                }
            }
        }
    }
    if expected == 0 {
        return Err(format!(
            "{} has no templates or assets to check",
            package_dir.display()
        ));
    }
    missing.sort();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "\
spectrace v0.1.0 (/repo/spec-tools/spectrace)
serde v1.0.229
serde_derive v1.0.229 (proc-macro)
proc-macro2 v1.0.107
proc-macro2 v1.0.107 (*)
spectrace-macros v0.1.0 (proc-macro) (/repo/spec-tools/macros)
";

    #[test]
    fn repeats_and_marks_do_not_count_twice() {
        let crates = distinct_crates(TREE);
        assert_eq!(crates.len(), 5, "{crates:?}");
        assert!(crates.contains("proc-macro2 v1.0.107"));
        assert!(stage_crates(&crates).is_empty());
        let with_clap = distinct_crates("orchestrator-core v0.1.0\nclap v4.6.9\nclap_lex v1.1.2\n");
        assert_eq!(stage_crates(&with_clap), ["clap v4.6.9"]);
    }

    #[test]
    fn only_the_packaged_crates_of_local_registries_are_forgotten() {
        let home = tempfile::tempdir().unwrap();
        let src = home.path().join("registry/src");
        for dir in [
            "-1a2b/spectrace-core-0.1.0",
            "-1a2b/spectrace-core-0.2.0",
            "-1a2b/serde-1.0.0",
            "index.crates.io-1949cf8c6b5b557f/spectrace-core-0.1.0",
        ] {
            std::fs::create_dir_all(src.join(dir)).unwrap();
        }
        forget_unpacked(home.path(), "0.1.0").unwrap();
        assert!(!src.join("-1a2b/spectrace-core-0.1.0").exists());
        for kept in [
            "-1a2b/spectrace-core-0.2.0",
            "-1a2b/serde-1.0.0",
            "index.crates.io-1949cf8c6b5b557f/spectrace-core-0.1.0",
        ] {
            assert!(src.join(kept).exists(), "{kept}");
        }
        forget_unpacked(&home.path().join("none"), "0.1.0").unwrap();
    }

    #[test]
    fn only_the_fingerprints_of_the_packaged_crates_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "spectrace-core-0123abcd",
            "spectrace-0123abcd",
            "spectrace-cli-89ef",
            "serde-0123abcd",
            "spectrace-core-extra-0123abcd",
        ] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
        }
        forget_built(dir.path()).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["serde-0123abcd", "spectrace-core-extra-0123abcd"]);
        forget_built(&dir.path().join("none")).unwrap();
    }

    #[test]
    fn the_packaged_crates_are_the_workspace_members_under_spec_tools() {
        let workspace = Workspace::locate().unwrap_or_else(|e| panic!("{e}"));
        for name in CRATES {
            let dir = match name {
                "spectrace-macros" => "macros",
                "spectrace" => "spectrace",
                "spectrace-core" => "core",
                "spectrace-cucumber" => "cucumber",
                _ => "cli",
            };
            let manifest = std::fs::read_to_string(
                workspace
                    .root
                    .join("spec-tools")
                    .join(dir)
                    .join("Cargo.toml"),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}");
            for key in ["description", "readme", "keywords", "categories", "license"] {
                assert!(manifest.contains(key), "{name} has no {key}");
            }
            assert!(!manifest.contains("publish"), "{name} must be publishable");
        }
        assert_eq!(
            package_version(&workspace.root).ok().as_deref(),
            Some("0.1.0")
        );
    }
}
