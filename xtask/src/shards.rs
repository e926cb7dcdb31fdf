//! `cargo xtask ci:shards`: sharded evidence gives the model of one run.
//!
//! 1. The single run: `cargo test --workspace` recording into `target/shards/single/`.
//! 2. The sharded run: the workspace tests as four nextest partitions (`--partition
//!    hash:k/4`, cargo-nextest pinned to [`NEXTEST_VERSION`] and installed into
//!    `target/tools/` when missing), each recording into `target/shards/nextest-k/`, and the
//!    BDD suite split into two shards by feature file (`--input`), each into
//!    `target/shards/bdd-k/`. nextest runs one process per test, so the partitions also show
//!    that `#[covers]` records under nextest as under `cargo test`; nextest does not run the
//!    cucumber runner (`harness = false`, it lists no tests), which is why the BDD suite runs
//!    through `cargo test --test bdd`.
//! 3. **nextest ≡ cargo test**: `cargo nextest run --workspace` unpartitioned, recording into
//!    `target/shards/nextest-all/`, merged with the two BDD shards (the cucumber runner, which
//!    nextest cannot run).
//! 4. `spectrace report` of each, with a configuration whose `[outputs]` point under
//!    `target/shards/` (nothing tracked is written): `compliance.json` of the sharded run and
//!    that of the nextest run must each equal the single run's byte for byte apart from the
//!    `shards` list.
//! 5. A deliberately duplicated shard (a copy of `nextest-1`): a warning naming both shards,
//!    and under `[gate] shards = "exactly-once"` an error (exit 2).
//!
//! The test binaries are those of the `test` gate: `cargo test` and nextest share the build.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// The cargo-nextest release the shards run with.
pub const NEXTEST_VERSION: &str = "0.9.151";
/// nextest partitions.
const PARTITIONS: usize = 4;
/// The BDD suite's shards: feature files by their first letter.
const BDD_SHARDS: [&str; 2] = ["[a-h]*.feature", "[i-z]*.feature"];

/// `target/tools/bin/cargo-nextest`, installed when it is missing or not the pinned version.
pub fn cargo_nextest(workspace: &Workspace) -> Result<PathBuf, String> {
    let root = workspace.target.join("tools");
    let binary = root.join("bin").join("cargo-nextest");
    let installed = Command::new(&binary)
        .args(["nextest", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if installed
        .as_deref()
        .is_some_and(|v| v.starts_with(&format!("cargo-nextest {NEXTEST_VERSION}")))
    {
        return Ok(binary);
    }
    let mut install = workspace.cargo([
        "install".as_ref(),
        "cargo-nextest".as_ref(),
        "--version".as_ref(),
        NEXTEST_VERSION.as_ref(),
        "--locked".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    println!("$ {}", workspace.display(&install));
    run_streaming(&mut install).map_err(|e| format!("cannot install cargo-nextest: {e}"))?;
    Ok(binary)
}

/// Runs the check; exit 0 when it held.
pub fn run(workspace: &Workspace) -> ExitCode {
    match shards(workspace) {
        Ok(()) => {
            println!("ci:shards: ok");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("xtask ci:shards: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn step(workspace: &Workspace, command: &mut Command) -> Result<(), String> {
    println!("$ {}", workspace.display(command));
    run_streaming(command).map_err(|e| format!("`{}`: {e}", workspace.display(command)))
}

/// An empty directory (created, or emptied).
fn fresh(dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn shards(workspace: &Workspace) -> Result<(), String> {
    let nextest = cargo_nextest(workspace)?;
    let base = workspace.target.join("shards");
    fresh(&base)?;

    println!("==> the single run: cargo test --workspace");
    let single = fresh(&base.join("single"))?;
    step(
        workspace,
        workspace
            .cargo(["test", "--workspace"])
            .env("SPECTRACE_EVIDENCE_DIR", &single),
    )?;

    let mut sharded = Vec::new();
    for k in 1..=PARTITIONS {
        println!("==> nextest partition hash:{k}/{PARTITIONS}");
        let dir = fresh(&base.join(format!("nextest-{k}")))?;
        let mut command = workspace.command(
            &nextest,
            [
                "nextest".to_owned(),
                "run".to_owned(),
                "--workspace".to_owned(),
                "--no-fail-fast".to_owned(),
                "--partition".to_owned(),
                format!("hash:{k}/{PARTITIONS}"),
            ],
        );
        command.env("SPECTRACE_EVIDENCE_DIR", &dir);
        step(workspace, &mut command)?;
        sharded.push(dir);
    }
    let mut bdd = Vec::new();
    for (k, glob) in BDD_SHARDS.iter().enumerate() {
        println!("==> BDD shard {}: features/{glob}", k + 1);
        let dir = fresh(&base.join(format!("bdd-{}", k + 1)))?;
        let input = workspace.root.join("features").join(glob);
        let mut command = workspace.cargo(["test", "--workspace", "--test", "bdd", "--"]);
        command
            .arg("--input")
            .arg(&input)
            .env("SPECTRACE_EVIDENCE_DIR", &dir);
        step(workspace, &mut command)?;
        bdd.push(dir);
    }
    sharded.extend(bdd.iter().cloned());
    println!("==> nextest ≡ cargo test: cargo nextest run --workspace, unpartitioned");
    let nextest_all = fresh(&base.join("nextest-all"))?;
    let mut command = workspace.command(
        &nextest,
        ["nextest", "run", "--workspace", "--no-fail-fast"],
    );
    command.env("SPECTRACE_EVIDENCE_DIR", &nextest_all);
    step(workspace, &mut command)?;
    let mut nextest_run = vec![nextest_all];
    nextest_run.extend(bdd);

    println!("==> reports");
    let spectrace = workspace.binary("debug", "spectrace");
    let single_config = config(workspace, &base, "single", false)?;
    report(
        workspace,
        &spectrace,
        &single_config,
        std::slice::from_ref(&single),
        0,
    )?;
    let one = read(&base.join("out-single/compliance.json"))?;
    let merged_config = config(workspace, &base, "merged", false)?;
    same_model(
        workspace,
        &spectrace,
        &merged_config,
        &sharded,
        &one,
        "merged shards (4 nextest partitions + 2 BDD shards)",
    )?;
    let nextest_config = config(workspace, &base, "nextest", false)?;
    same_model(
        workspace,
        &spectrace,
        &nextest_config,
        &nextest_run,
        &one,
        "nextest ≡ cargo test: `cargo nextest run --workspace` (+ the BDD shards)",
    )?;

    println!("==> a duplicated shard");
    let duplicate = base.join("nextest-1-again");
    copy_dir(&sharded[0], &fresh(&duplicate)?)?;
    let mut with_duplicate = sharded.clone();
    with_duplicate.push(duplicate);
    let warned = report(workspace, &spectrace, &merged_config, &with_duplicate, 0)?;
    let names = ["target/shards/nextest-1,", "target/shards/nextest-1-again"];
    let named = |text: &str| {
        text.lines()
            .any(|l| l.contains("ran in 2 shards:") && names.iter().all(|n| l.contains(n)))
    };
    if !named(&warned) {
        return Err(format!(
            "the duplicated shard was not reported with both names:\n{warned}"
        ));
    }
    let strict = config(workspace, &base, "strict", true)?;
    let refused = report(workspace, &spectrace, &strict, &with_duplicate, 2)?;
    if !named(&refused) || !refused.contains("error:") {
        return Err(format!(
            "under exactly-once the duplicated shard was not an error naming both shards:\n\
             {refused}"
        ));
    }
    println!("duplicate: reported with both shards, exit 2 under exactly-once");
    Ok(())
}

/// `spectrace report` of `runs` with `config`, whose `compliance.json` must equal `one` (the
/// single run's) byte for byte apart from `shards`; `what` names the runs in the output.
fn same_model(
    workspace: &Workspace,
    spectrace: &Path,
    config: &Path,
    runs: &[PathBuf],
    one: &str,
    what: &str,
) -> Result<(), String> {
    let stderr = report(workspace, spectrace, config, runs, 0)?;
    if stderr.contains("shards:") {
        return Err(format!("{what}: the shards overlap:\n{stderr}"));
    }
    let out = config
        .parent()
        .map(|base| base.join(format!("out-{}", stem(config))))
        .unwrap_or_default()
        .join("compliance.json");
    let other = read(&out)?;
    let (one_rest, one_shards) = split_shards(one)?;
    let (other_rest, other_shards) = split_shards(&other)?;
    println!("single run shards: {one_shards}");
    println!("{what} shards: {other_shards}");
    if one_rest != other_rest {
        let differing = one_rest
            .lines()
            .zip(other_rest.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("first difference at line {}: `{a}` vs `{b}`", i + 1))
            .unwrap_or_else(|| "they differ in length".to_owned());
        return Err(format!(
            "{what}: compliance.json differs from the single run's (`cargo test --workspace`) \
             apart from `shards` ({differing}); compare {} with out-single/compliance.json",
            out.display()
        ));
    }
    println!(
        "{what}: compliance.json equals the single run's byte for byte apart from `shards` ({} \
         bytes)",
        one_rest.len()
    );
    Ok(())
}

/// `NAME` of `…/NAME.toml`.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// compliance.json without its `"shards": [...]` member, and that member.
fn split_shards(text: &str) -> Result<(String, String), String> {
    let start = text
        .find("\n  \"shards\": [")
        .ok_or("compliance.json has no `shards`")?;
    let end = start
        + text[start..]
            .find("],\n")
            .ok_or("compliance.json: `shards` does not end")?
        + 3;
    let rest = format!("{}\n{}", &text[..start], &text[end..]);
    Ok((rest, text[start..end].split_whitespace().collect()))
}

/// `spectrace report --config CONFIG --run DIR…`, which must exit `expected`; its stderr.
fn report(
    workspace: &Workspace,
    spectrace: &Path,
    config: &Path,
    runs: &[PathBuf],
    expected: i32,
) -> Result<String, String> {
    let mut command = workspace.command(spectrace, ["report"]);
    command.arg("--config").arg(config);
    for run in runs {
        let shown = run.strip_prefix(&workspace.root).unwrap_or(run);
        command.arg("--run").arg(shown);
    }
    println!("$ {}", workspace.display(&command));
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", spectrace.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.code() != Some(expected) {
        return Err(format!(
            "spectrace report ended with {} (expected exit {expected}):\n{stderr}",
            output.status
        ));
    }
    Ok(stderr)
}

/// The repository's spectrace.toml with its report outputs moved to `target/shards/out-NAME/`
/// (the reviewed fingerprints copied there first), and with `[gate] shards = "exactly-once"`
/// when `strict`; written to `target/shards/NAME.toml`.
fn config(workspace: &Workspace, base: &Path, name: &str, strict: bool) -> Result<PathBuf, String> {
    let text = read(&workspace.root.join("spectrace.toml"))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("spectrace.toml: {e}"))?;
    let out = base.join(format!("out-{name}"));
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let rel = |file: &str| format!("target/shards/out-{name}/{file}");
    let outputs = table
        .entry("outputs")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let outputs = outputs
        .as_table_mut()
        .ok_or("spectrace.toml: [outputs] is not a table")?;
    let reviewed = outputs
        .get("reviewed")
        .and_then(toml::Value::as_str)
        .unwrap_or("reports/reviewed.yaml")
        .to_owned();
    if workspace.root.join(&reviewed).is_file() {
        std::fs::copy(workspace.root.join(&reviewed), out.join("reviewed.yaml"))
            .map_err(|e| format!("cannot copy {reviewed}: {e}"))?;
    }
    for (key, file) in [
        ("index", "index.yaml"),
        ("compliance_md", "COMPLIANCE.md"),
        ("compliance_json", "compliance.json"),
        ("junit", "junit.xml"),
        ("reviewed", "reviewed.yaml"),
    ] {
        outputs.insert(key.to_owned(), toml::Value::String(rel(file)));
    }
    if strict {
        let gate = table
            .entry("gate")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        gate.as_table_mut()
            .ok_or("spectrace.toml: [gate] is not a table")?
            .insert(
                "shards".to_owned(),
                toml::Value::String("exactly-once".into()),
            );
    }
    let path = base.join(format!("{name}.toml"));
    let text = toml::to_string(&table).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_type().map_err(|e| e.to_string())?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shards_member_is_split_off() {
        let text = "{\n  \"schema_version\": 4,\n  \"shards\": [\n    \"a\",\n    \"b\"\n  ],\n  \"totals\": []\n}\n";
        let (rest, shards) = split_shards(text).unwrap();
        assert_eq!(rest, "{\n  \"schema_version\": 4,\n  \"totals\": []\n}\n");
        assert_eq!(shards, "\"shards\":[\"a\",\"b\"],");
        assert!(split_shards("{}").is_err());
    }
}
