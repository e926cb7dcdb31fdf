//! `cargo xtask bench runtime`: what `#[spectrace::covers]` costs a test suite's build.
//!
//! Two one-test crates are generated, each with one `#[spectrace::covers]` test:
//!
//! - **spectrace**: a dev-dependency on the `spectrace` crate alone, as test suites have it
//!   now;
//! - **spectrace + spectrace-core**: also a dev-dependency on `spectrace-core`, which is what
//!   a suite compiled when the recorder lived in the library with every stage (extract, scan,
//!   report, site, …) and their dependencies.
//!
//! Each timed run is a clean debug build (`cargo test --no-run` into an emptied target
//! directory) of one crate; the two alternate run by run so that a busy machine slows both
//! alike. Both crates start from a copy of the workspace's `Cargo.lock`, so they build the
//! versions the workspace builds. The table gives the median, the range and the crates each
//! graph holds; no target, only the ratio.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use super::stats::median;
use crate::workspace::Workspace;

/// The two crates: name, label, and whether they also depend on spectrace-core.
const VARIANTS: [(&str, &str, bool); 2] = [
    ("light", "spectrace", false),
    ("full", "spectrace + spectrace-core", true),
];

const TEST: &str = "//! One test that records evidence.\n\n\
#[spectrace::covers(\"REQ-0001\")]\n\
#[test]\n\
fn refills() {\n    assert_eq!(1 + 1, 2);\n}\n";

/// `cargo xtask bench runtime [--runs N]`.
pub fn run(workspace: &Workspace, runs: usize) -> ExitCode {
    match measure(workspace, runs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("bench runtime: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn manifest(name: &str, root: &Path, with_core: bool) -> String {
    let path = |dir: &str| {
        root.join("spec-tools")
            .join(dir)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let core = if with_core {
        format!("spectrace-core = {{ path = \"{}\" }}\n", path("core"))
    } else {
        String::new()
    };
    format!(
        "[package]\nname = \"bench-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [workspace]\n\n[dev-dependencies]\nspectrace = {{ path = \"{}\" }}\n{core}",
        path("spectrace")
    )
}

fn write_crate(dir: &Path, name: &str, root: &Path, with_core: bool) -> Result<(), String> {
    let write = |rel: &str, text: &str| -> Result<(), String> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("Cargo.toml", &manifest(name, root, with_core))?;
    write("src/lib.rs", "//! Nothing but a test.\n")?;
    write("tests/one.rs", TEST)?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    Ok(())
}

fn crate_count(dir: &Path) -> Result<usize, String> {
    let output = Command::new("cargo")
        .args(["tree", "-e", "normal,dev", "--prefix", "none"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(crate::packaging::distinct_crates(&String::from_utf8_lossy(&output.stdout)).len())
}

fn clean_build(dir: &Path, target: &Path) -> Result<f64, String> {
    match std::fs::remove_dir_all(target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot empty {}: {e}", target.display())),
    }
    let started = Instant::now();
    let output = Command::new("cargo")
        .args(["test", "--no-run", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "the build in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(seconds)
}

fn measure(workspace: &Workspace, runs: usize) -> Result<(), String> {
    let scratch = workspace.target.join("bench-runtime");
    let mut crates: Vec<(PathBuf, &str, usize)> = Vec::new();
    for (name, label, with_core) in VARIANTS {
        let dir = scratch.join(name);
        write_crate(&dir, name, &workspace.root, with_core)?;
        let count = crate_count(&dir)?;
        crates.push((dir, label, count));
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); crates.len()];
    for run in 1..=runs {
        for (i, (dir, label, _)) in crates.iter().enumerate() {
            let seconds = clean_build(dir, &scratch.join("target"))?;
            println!("run {run}/{runs}  {label:<28} {seconds:6.1} s");
            times[i].push(seconds);
        }
    }
    println!();
    println!(
        "clean debug build (`cargo test --no-run`) of a one-test crate using #[spectrace::covers], {runs} runs each, alternated"
    );
    println!(
        "{:<28} {:>8} {:>10} {:>18}",
        "dev-dependencies", "crates", "median", "range"
    );
    let mut medians = Vec::new();
    for ((_, label, count), samples) in crates.iter().zip(&times) {
        let mid = median(samples).unwrap_or(f64::NAN);
        let low = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let high = samples.iter().copied().fold(0.0, f64::max);
        println!(
            "{label:<28} {count:>8} {:>8.1} s {:>8.1}–{:.1} s",
            mid, low, high
        );
        medians.push(mid);
    }
    if let [light, full] = medians.as_slice() {
        println!(
            "spectrace alone builds in {:.0} % of the time",
            100.0 * light / full
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crates_depend_on_the_checkout() {
        let light = manifest("light", Path::new("/repo"), false);
        assert!(light.contains("spectrace = { path = \"/repo/spec-tools/spectrace\" }"));
        assert!(!light.contains("spectrace-core"));
        let full = manifest("full", Path::new("/repo"), true);
        assert!(full.contains("spectrace-core = { path = \"/repo/spec-tools/core\" }"));
        assert!(TEST.contains("#[spectrace::covers(\"REQ-0001\")]"));
    }
}
