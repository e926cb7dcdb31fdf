//! The module path a Rust file compiles to, as `module_path!()` names it at run time.
//!
//! Owns the best-effort guess behind [`super::DeclaredEvidence::test`]: find the package that
//! holds the file (the nearest `Cargo.toml` with a `[package]`), then apply Cargo's target
//! layout: `src/lib.rs` and `src/main.rs` are the crate root (the library name, or the package
//! name for `main.rs`, with `-` → `_`); `src/bin/NAME.rs`, `tests/NAME.rs`, `benches/NAME.rs`
//! and `examples/NAME.rs` (or `.../NAME/main.rs`) are crates of their own named `NAME`; any
//! other file is a module named after its path (`src/a/b.rs`, `src/a/b/mod.rs` → `a::b`).
//! Targets with an explicit `path` in the manifest use their configured name. `#[path]`
//! attributes and `include!` are not followed. The evidence key is `(file, line)`, never this
//! path, so a wrong guess only changes a label.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

/// Resolves module paths, reading each `Cargo.toml` at most once.
#[derive(Debug)]
pub(crate) struct CratePaths {
    root: PathBuf,
    /// Directory (relative to the root, `/`-separated, `""` for the root) → the package that
    /// holds it, when there is one.
    packages: HashMap<String, Option<Arc<Package>>>,
}

/// What the scan needs from a manifest.
#[derive(Debug)]
struct Package {
    /// The package's directory relative to the root (`""` for the root).
    dir: String,
    /// `[package] name` with `-` → `_`: the crate name of `src/main.rs`.
    bin_crate: String,
    /// `[lib] name`, else the package name, with `-` → `_`.
    lib_crate: String,
    /// Explicit target paths (relative to the package) → crate names.
    targets: HashMap<String, String>,
    /// Targets with `test = false`: crate name → name in the manifest, and whether it is a
    /// `[[bin]]` (else a `[[test]]`).
    not_tested: HashMap<String, (String, bool)>,
    /// `[package] name`.
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawManifest {
    package: Option<RawPackage>,
    lib: Option<RawTarget>,
    #[serde(default)]
    bin: Vec<RawTarget>,
    #[serde(default)]
    test: Vec<RawTarget>,
    #[serde(default)]
    bench: Vec<RawTarget>,
    #[serde(default)]
    example: Vec<RawTarget>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawTarget {
    name: Option<String>,
    path: Option<String>,
    /// `test = false`: `cargo test` does not build or run it unless asked by name.
    test: Option<bool>,
}

/// The Cargo target that compiles a test, as `cargo test --workspace` selects it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CargoTarget {
    /// The package's library (`--lib`).
    Lib,
    /// A binary (`--bin NAME`).
    Bin(String),
    /// An integration test (`--test NAME`).
    Test(String),
    /// A `[[bin]]` or `[[test]]` with `test = false`: `cargo test --workspace` skips it, but
    /// `--bin NAME` or `--test NAME` runs it where it can run (`spectrace strength
    /// --include-target NAME`). `name` is the target's name in the manifest.
    TestFalse {
        /// The target's name.
        name: String,
        /// A `[[bin]]`; else a `[[test]]`.
        bin: bool,
    },
    /// Not run by `cargo test --workspace` and not selectable: an example, a benchmark, a file
    /// in no package. The reason.
    NotRun(String),
}

impl CratePaths {
    /// A resolver for files under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            packages: HashMap::new(),
        }
    }

    /// The module path of the file at `relative` (`/`-separated, relative to the root): the
    /// crate name first, then the modules. Never empty.
    pub(crate) fn module_path(&mut self, relative: &str) -> Vec<String> {
        let dir = relative.rsplit_once('/').map_or("", |(dir, _)| dir);
        let Some(package) = self.package_of(dir) else {
            return vec![stem(file_name(relative)).to_owned()];
        };
        let inside = if package.dir.is_empty() {
            relative
        } else {
            relative
                .strip_prefix(package.dir.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(relative)
        };
        package.module_path(inside)
    }

    /// The package (its name) and Cargo target that compile the test file at `relative`.
    pub(crate) fn target(&mut self, relative: &str) -> (Option<String>, CargoTarget) {
        let dir = relative.rsplit_once('/').map_or("", |(dir, _)| dir);
        let Some(package) = self.package_of(dir) else {
            return (
                None,
                CargoTarget::NotRun(format!("{relative} is in no Cargo package")),
            );
        };
        let inside = if package.dir.is_empty() {
            relative
        } else {
            relative
                .strip_prefix(package.dir.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(relative)
        };
        let crate_name = package
            .module_path(inside)
            .into_iter()
            .next()
            .unwrap_or_default();
        let parts: Vec<&str> = inside.split('/').collect();
        let target = if let Some((name, bin)) = package.not_tested.get(&crate_name) {
            CargoTarget::TestFalse {
                name: name.clone(),
                bin: *bin,
            }
        } else {
            match parts.as_slice() {
                ["tests", ..] => CargoTarget::Test(crate_name),
                ["benches" | "examples", ..] => {
                    CargoTarget::NotRun(format!("{relative} is a benchmark or an example"))
                }
                ["src", "main.rs"] | ["src", "bin", ..] => CargoTarget::Bin(crate_name),
                _ if crate_name == package.lib_crate => CargoTarget::Lib,
                _ => match package.targets.get(inside) {
                    Some(name) => CargoTarget::Test(name.clone()),
                    None => CargoTarget::Lib,
                },
            }
        };
        (Some(package.name.clone()), target)
    }

    /// The nearest package at or above `dir`.
    fn package_of(&mut self, dir: &str) -> Option<Arc<Package>> {
        if let Some(known) = self.packages.get(dir) {
            return known.clone();
        }
        let here = read_manifest(&self.root, dir);
        let found = match here {
            Some(package) => Some(Arc::new(package)),
            None if dir.is_empty() => None,
            None => {
                let parent = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
                self.package_of(parent)
            }
        };
        self.packages.insert(dir.to_owned(), found.clone());
        found
    }
}

impl Package {
    fn module_path(&self, inside: &str) -> Vec<String> {
        if let Some(name) = self.targets.get(inside) {
            return vec![name.clone()];
        }
        let parts: Vec<&str> = inside.split('/').collect();
        match parts.as_slice() {
            ["src", "lib.rs"] => vec![self.lib_crate.clone()],
            ["src", "main.rs"] => vec![self.bin_crate.clone()],
            ["src", "bin", rest @ ..] => own_crate(rest),
            ["tests" | "benches" | "examples", rest @ ..] => own_crate(rest),
            ["src", rest @ ..] => {
                let mut path = vec![self.lib_crate.clone()];
                path.extend(modules(rest));
                path
            }
            rest => {
                let mut path = vec![self.lib_crate.clone()];
                path.extend(modules(rest));
                path
            }
        }
    }
}

/// `NAME.rs` or `NAME/main.rs` is crate `NAME`; `NAME/x.rs` is its module `x`.
fn own_crate(parts: &[&str]) -> Vec<String> {
    match parts {
        [] => Vec::new(),
        [file] => vec![crate_name(stem(file))],
        [name, rest @ ..] => {
            let mut path = vec![crate_name(name)];
            if rest != ["main.rs"] {
                path.extend(modules(rest));
            }
            path
        }
    }
}

/// Directories are modules; the file is one too unless it is `mod.rs`.
fn modules(parts: &[&str]) -> Vec<String> {
    let mut path = Vec::new();
    if let [dirs @ .., file] = parts {
        path.extend(dirs.iter().map(|d| (*d).to_owned()));
        if *file != "mod.rs" {
            path.push(stem(file).to_owned());
        }
    }
    path
}

fn read_manifest(root: &Path, dir: &str) -> Option<Package> {
    let path = root.join(dir).join("Cargo.toml");
    let text = std::fs::read_to_string(path).ok()?;
    // Best effort: a manifest that does not parse names no package, and the file gets a
    // label from its own name.
    let raw: RawManifest = toml::from_str(&text).ok()?;
    let package = raw.package?;
    let bin_crate = crate_name(&package.name);
    let lib_crate = raw
        .lib
        .as_ref()
        .and_then(|lib| lib.name.as_deref())
        .map_or_else(|| bin_crate.clone(), crate_name);
    let mut targets = HashMap::new();
    if let Some(path) = raw.lib.as_ref().and_then(|lib| lib.path.as_deref()) {
        targets.insert(normalize(path), lib_crate.clone());
    }
    let bins = raw.bin.iter().map(|t| (t, true));
    let not_tested = bins
        .chain(raw.test.iter().map(|t| (t, false)))
        .filter(|(t, _)| t.test == Some(false))
        .filter_map(|(t, bin)| {
            t.name
                .as_deref()
                .map(|name| (crate_name(name), (name.to_owned(), bin)))
        })
        .collect();
    for target in raw
        .bin
        .iter()
        .chain(&raw.test)
        .chain(&raw.bench)
        .chain(&raw.example)
    {
        if let (Some(name), Some(path)) = (&target.name, &target.path) {
            targets.insert(normalize(path), crate_name(name));
        }
    }
    Some(Package {
        dir: dir.to_owned(),
        bin_crate,
        lib_crate,
        targets,
        not_tested,
        name: package.name,
    })
}

fn normalize(path: &str) -> String {
    path.trim_start_matches("./").replace('\\', "/")
}

fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

fn file_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}

fn stem(file: &str) -> &str {
    file.strip_suffix(".rs").unwrap_or(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::tests::write;

    #[test]
    fn cargo_layout_gives_crate_and_module_names() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\"]\n",
        );
        write(
            dir.path(),
            "crates/orchestrator-core/Cargo.toml",
            "[package]\nname = \"orchestrator-core\"\n\n[[test]]\nname = \"real-engine\"\npath = \"slow/llama.rs\"\n",
        );
        write(
            dir.path(),
            "crates/named/Cargo.toml",
            "[package]\nname = \"named-pkg\"\n[lib]\nname = \"named_lib\"\n",
        );
        let mut paths = CratePaths::new(dir.path());
        let mut check = |file: &str, expected: &str| {
            assert_eq!(paths.module_path(file).join("::"), expected, "{file}");
        };
        check("crates/orchestrator-core/src/lib.rs", "orchestrator_core");
        check("crates/orchestrator-core/src/main.rs", "orchestrator_core");
        check(
            "crates/orchestrator-core/src/pool.rs",
            "orchestrator_core::pool",
        );
        check(
            "crates/orchestrator-core/src/a/mod.rs",
            "orchestrator_core::a",
        );
        check(
            "crates/orchestrator-core/src/a/b.rs",
            "orchestrator_core::a::b",
        );
        check("crates/orchestrator-core/src/bin/tool.rs", "tool");
        check("crates/orchestrator-core/src/bin/tool/main.rs", "tool");
        check("crates/orchestrator-core/src/bin/tool/cli.rs", "tool::cli");
        check("crates/orchestrator-core/tests/server.rs", "server");
        check("crates/orchestrator-core/tests/bdd/main.rs", "bdd");
        check("crates/orchestrator-core/tests/bdd/steps.rs", "bdd::steps");
        check("crates/orchestrator-core/benches/speed.rs", "speed");
        check("crates/orchestrator-core/slow/llama.rs", "real_engine");
        check("crates/named/src/lib.rs", "named_lib");
        check("crates/named/src/main.rs", "named_pkg");
        check("crates/named/src/x.rs", "named_lib::x");
        check("loose/file.rs", "file");
    }

    #[test]
    fn a_broken_manifest_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Cargo.toml", "[package]\nname = \"outer\"\n");
        write(dir.path(), "inner/Cargo.toml", "not toml [");
        let mut paths = CratePaths::new(dir.path());
        assert_eq!(
            paths.module_path("inner/src/x.rs"),
            ["outer", "inner", "src", "x"]
        );
    }

    #[test]
    fn targets_are_what_cargo_test_selects() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pkg/Cargo.toml",
            "[package]\nname = \"my-pkg\"\n\n[[test]]\nname = \"real-engine\"\npath = \"tests/engine.rs\"\ntest = false\n\n[[bin]]\nname = \"probe\"\ntest = false\n",
        );
        let mut paths = CratePaths::new(dir.path());
        let pkg = Some("my-pkg".to_owned());
        assert_eq!(
            paths.target("pkg/src/queue.rs"),
            (pkg.clone(), CargoTarget::Lib)
        );
        assert_eq!(
            paths.target("pkg/src/lib.rs"),
            (pkg.clone(), CargoTarget::Lib)
        );
        assert_eq!(
            paths.target("pkg/tests/server.rs"),
            (pkg.clone(), CargoTarget::Test("server".into()))
        );
        assert_eq!(
            paths.target("pkg/tests/provider/main.rs"),
            (pkg.clone(), CargoTarget::Test("provider".into()))
        );
        assert_eq!(
            paths.target("pkg/tests/provider/selftest.rs"),
            (pkg.clone(), CargoTarget::Test("provider".into()))
        );
        assert_eq!(
            paths.target("pkg/src/main.rs"),
            (pkg.clone(), CargoTarget::Bin("my_pkg".into()))
        );
        assert_eq!(
            paths.target("pkg/tests/engine.rs").1,
            CargoTarget::TestFalse {
                name: "real-engine".into(),
                bin: false
            }
        );
        assert_eq!(
            paths.target("pkg/src/bin/probe.rs").1,
            CargoTarget::TestFalse {
                name: "probe".into(),
                bin: true
            }
        );
        assert!(matches!(
            paths.target("pkg/benches/b.rs").1,
            CargoTarget::NotRun(_)
        ));
        assert_eq!(paths.target("loose/x.rs").0, None);
    }
}
