//! `spectrace strength`: mutation testing per requirement.
//!
//! For each selected requirement: the mutants cargo-mutants generates inside its
//! `#[implements]` items are applied one at a time; after each, what its evidence needs is
//! built (a failure: `unviable`), then only its evidence runs — its `#[covers]` tests by exact
//! name, its scenarios by tag ([`spectrace_core::strength::plan`]). A failing or timed-out run
//! catches the mutant; when every run passes, the mutant is `missed`. The evidence records of
//! each run tell which items failed. The file is restored after every mutant, also when a run
//! fails to start.
//!
//! Before its mutants, a requirement's evidence runs once unmutated: it must pass (else the
//! requirement is reported and skipped), and its time sets the timeout (three times it, at least
//! 30 s) unless `--timeout` or `[strength] timeout` says otherwise.
//!
//! Results are merged into `outputs.strength` (requirements not measured this time keep their
//! entries) and written atomically; `--check` writes nothing and exits 1 when a mutant's
//! outcome or a requirement's fingerprint differs from what the committed report says.

mod exec;
mod interrupt;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spectrace_core::config::Config;
use spectrace_core::diag::Diagnostic;
use spectrace_core::fsio::write_atomic;
use spectrace_core::id::IdPattern;
use spectrace_core::level::Level;
use spectrace_core::model::Requirement;
use spectrace_core::requirements::{ExtractOptions, extract};
use spectrace_core::scan::{Scan, ScanOptions, scan};
use spectrace_core::strength::model::{
    MutantOutcome, MutantResult, RequirementStrength, StrengthReport, Tools,
};
use spectrace_core::strength::mutants::{self, Mutant};
use spectrace_core::strength::plan::{self, EvidencePlan, ScenarioCommands};
use spectrace_core::strength::waivers::{self, Waiver, stable_name};

use exec::{Ended, Place};

use super::{CHECK_FAILED, fail};

/// Options of `spectrace strength`.
#[derive(Debug, Args)]
pub struct StrengthArgs {
    /// Repository root: every configured path is relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Measure only these requirements (repeatable) [default: every requirement with an
    /// implementation link].
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<String>,
    /// Measure only the requirements implemented in this Cargo package (repeatable).
    #[arg(long = "package", value_name = "NAME")]
    packages: Vec<String>,
    /// Run the evidence in this `[[test]]` or `[[bin]]` target with `test = false`, which
    /// `cargo test` skips, say because it needs a server this environment provides
    /// (repeatable). Its evidence is run by exact name like any other; evidence in other
    /// `test = false` targets is listed as not run. A name that is not such a target of the
    /// workspace is an error.
    #[arg(long = "include-target", value_name = "NAME")]
    include_targets: Vec<String>,
    /// Measure only the requirements whose implementing items or evidence changed since this
    /// git revision.
    #[arg(long, value_name = "REV")]
    in_diff: Option<String>,
    /// Run this many mutants at once, each job in its own copy of the tree.
    #[arg(long, value_name = "N", default_value = "1")]
    jobs: usize,
    /// Seconds an evidence run may take before it counts as a timeout (caught) [default:
    /// `[strength] timeout`, else three times the unmutated run, at least 30 s].
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Mutate the working tree itself (one job) instead of copies under the target directory:
    /// no cold build of a copy, but do not edit the tree while it runs.
    #[arg(long)]
    in_place: bool,
    /// Run a fixed sample of this many of the selected mutants, chosen by --seed.
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// The seed of --sample.
    #[arg(long, value_name = "SEED", default_value = "0")]
    seed: u64,
    /// Write nothing: exit 1 when an outcome or a fingerprint differs from the committed report.
    #[arg(long)]
    check: bool,
    /// The cargo-mutants program that lists the mutants.
    #[arg(long, value_name = "PATH", default_value = "cargo-mutants")]
    cargo_mutants: PathBuf,
}

/// One requirement to measure.
struct Job {
    id: String,
    fingerprint: String,
    plan: EvidencePlan,
    mutants: Vec<Mutant>,
}

/// What was measured of one requirement.
struct Measured {
    strength: RequirementStrength,
    /// Mutants of the requirement the run left out (a sample).
    sampled_out: usize,
}

/// `spectrace strength`.
pub fn run(args: &StrengthArgs) -> ExitCode {
    match measure(args) {
        Ok(code) => code,
        Err(diagnostics) if interrupt::requested() => {
            let _ = fail(&diagnostics);
            ExitCode::from(interrupt::EXIT_CODE)
        }
        Err(diagnostics) => fail(&diagnostics),
    }
}

fn error(message: impl Into<String>) -> Vec<Diagnostic> {
    vec![Diagnostic::error("spectrace strength", None, message)]
}

fn measure(args: &StrengthArgs) -> Result<ExitCode, Vec<Diagnostic>> {
    if args.jobs == 0 {
        return Err(error("--jobs must be at least 1"));
    }
    if args.in_place && args.jobs > 1 {
        return Err(error(
            "--in-place mutates the one working tree, so it runs one job; drop --jobs or --in-place",
        ));
    }
    interrupt::install().map_err(error)?;
    let root = &args.root;
    let config = Config::load(root, args.config.as_deref()).map_err(|d| vec![d])?;
    let ids = IdPattern::new(&config.specs.id_pattern)
        .map_err(|message| vec![Diagnostic::error("spectrace.toml", None, message)])?;
    let extraction = extract(&ExtractOptions {
        root: root.clone(),
        include: config.specs.include.clone(),
        ids: ids.clone(),
        strict: false,
    })?;
    let index = extraction.index;
    let known: BTreeSet<String> = index.requirements.iter().map(|r| r.id.clone()).collect();
    let scanned = scan(&ScanOptions {
        root: root.clone(),
        evidence: config.evidence.clone(),
        ids,
        known: known.clone(),
    })?
    .scan;
    let selected = select(root, args, &index.requirements, &scanned)?;
    if selected.is_empty() {
        eprintln!("spectrace strength: no requirement selected; nothing to measure");
        return Ok(ExitCode::SUCCESS);
    }
    let waivers_path = root.join(&config.outputs.strength_waivers);
    let waivers = match std::fs::read_to_string(&waivers_path) {
        Ok(text) => waivers::parse(&config.outputs.strength_waivers, &text).map_err(|d| vec![d])?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(vec![Diagnostic::error(
                &config.outputs.strength_waivers,
                None,
                format!("cannot read: {e}"),
            )]);
        }
    };
    let report_path = root.join(&config.outputs.strength);
    let committed = match std::fs::read_to_string(&report_path) {
        Ok(text) => Some(
            StrengthReport::parse(&config.outputs.strength, &text)
                .map_err(|m| vec![Diagnostic::error(&config.outputs.strength, None, m)])?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(vec![Diagnostic::error(
                &config.outputs.strength,
                None,
                format!("cannot read: {e}"),
            )]);
        }
    };
    if !args.include_targets.is_empty() {
        check_included(root, &args.include_targets)?;
    }
    let tools = tools(&args.cargo_mutants)?;
    let all_mutants = list_mutants(root, &args.cargo_mutants)?;
    let scenarios = ScenarioCommands {
        build: &config.strength.bdd_build,
        run: &config.strength.bdd,
    };
    let mut jobs: Vec<Job> = Vec::new();
    for id in &selected {
        let items = plan::items(&scanned, id);
        let evidence = plan::evidence(&scanned, id);
        let mut read = |file: &str| std::fs::read_to_string(root.join(file)).ok();
        jobs.push(Job {
            id: id.clone(),
            fingerprint: plan::fingerprint(&items, &evidence, &mut read),
            plan: plan::evidence_plan(root, id, &evidence, scenarios, &args.include_targets),
            mutants: plan::mutants_in(&items, &all_mutants)
                .into_iter()
                .cloned()
                .collect(),
        });
    }
    let chosen: Option<BTreeSet<String>> = args.sample.map(|count| {
        let names: Vec<&str> = jobs
            .iter()
            .flat_map(|j| j.mutants.iter().map(|m| m.name.as_str()))
            .collect();
        plan::sample(&names, count, args.seed)
            .into_iter()
            .map(str::to_owned)
            .collect()
    });
    let mut measured: Vec<Measured> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    // The mutants to run, each once, with the requirements whose items hold it.
    let mut work: BTreeMap<(String, u32, String), (&Mutant, Vec<usize>)> = BTreeMap::new();
    let mut runnable = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        for (at, reason) in &job.plan.not_run {
            eprintln!("spectrace strength: {}: {at} is not run: {reason}", job.id);
        }
        if job.plan.runs.is_empty() {
            problems.push(format!("{}: none of its evidence can run here", job.id));
            continue;
        }
        let mutants: Vec<&Mutant> = job
            .mutants
            .iter()
            .filter(|m| chosen.as_ref().is_none_or(|c| c.contains(&m.name)))
            .collect();
        if mutants.is_empty() {
            // No mutant in its items, or every one outside the sample: nothing to run.
            measured.push(Measured {
                strength: RequirementStrength::new(&job.id, &job.fingerprint, Vec::new()),
                sampled_out: job.mutants.len(),
            });
            continue;
        }
        runnable.push(i);
        for mutant in mutants {
            let key = (
                mutant.file.clone(),
                mutant.span.start.line,
                mutant.name.clone(),
            );
            work.entry(key).or_insert((mutant, Vec::new())).1.push(i);
        }
    }
    eprintln!(
        "spectrace strength: {} requirement{}, {} mutant{} to run{}",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        work.len(),
        if work.len() == 1 { "" } else { "s" },
        chosen
            .as_ref()
            .map_or_else(String::new, |_| format!(" (a sample, seed {})", args.seed))
    );
    // Absolute: commands run in other directories and must find the evidence directories.
    let scratch = target_dir(root).join("spectrace-strength");
    let scratch = std::path::absolute(&scratch).unwrap_or(scratch);
    let places = prepare_places(root, &scratch, args)?;
    let timeouts = baselines(&jobs, &runnable, &places[0], args, &config, &mut problems)?;
    let progress = Progress::new(work.len());
    let results: std::sync::Mutex<BTreeMap<usize, Vec<MutantResult>>> =
        std::sync::Mutex::new(BTreeMap::new());
    let queue = std::sync::Mutex::new(
        work.values()
            .map(|(mutant, owners)| {
                let owners: Vec<usize> = owners
                    .iter()
                    .copied()
                    .filter(|i| timeouts.contains_key(i))
                    .collect();
                (*mutant, owners)
            })
            .filter(|(_, owners)| !owners.is_empty())
            .enumerate()
            .collect::<Vec<_>>()
            .into_iter(),
    );
    let ran = std::thread::scope(|scope| {
        let workers: Vec<_> = places
            .iter()
            .map(|place| {
                let (queue, results, jobs, timeouts, waivers, progress) =
                    (&queue, &results, &jobs, &timeouts, &waivers, &progress);
                scope.spawn(move || -> Result<(), String> {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .next();
                        let Some((k, (mutant, owners))) = next else {
                            return Ok(());
                        };
                        if interrupt::requested() {
                            return Err(interrupt::MESSAGE.to_owned());
                        }
                        let outcomes =
                            run_mutant(place, jobs, &owners, mutant, k, timeouts, waivers)?;
                        progress.step(&outcomes, jobs);
                        let mut results = results
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for (owner, result) in outcomes {
                            results.entry(owner).or_default().push(result);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a job panicked".to_owned()))
            })
            .collect::<Result<Vec<()>, String>>()
    });
    ran.map_err(error)?;
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for i in runnable {
        if !timeouts.contains_key(&i) {
            continue;
        }
        let job = &jobs[i];
        let done = results.remove(&i).unwrap_or_default();
        let sampled_out = job.mutants.len() - done.len();
        measured.push(Measured {
            strength: RequirementStrength::new(&job.id, &job.fingerprint, done),
            sampled_out,
        });
    }
    measured.sort_by(|a, b| spectrace_core::id::natural_cmp(&a.strength.id, &b.strength.id));
    progress.finish();
    report_waivers(&waivers, &jobs);
    summarize(&measured);
    for problem in &problems {
        eprintln!("spectrace strength: {problem}");
    }
    if args.check {
        let differences = compare(committed.as_ref(), &measured);
        for difference in &differences {
            eprintln!("{}: {difference}", config.outputs.strength);
        }
        if differences.is_empty() && problems.is_empty() {
            eprintln!("spectrace strength --check: the committed report holds for what ran");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "spectrace strength --check: FAILED; run `spectrace strength` for these requirements and commit {}",
            config.outputs.strength
        );
        return Ok(ExitCode::from(CHECK_FAILED));
    }
    if measured.iter().any(|m| m.sampled_out > 0) {
        eprintln!(
            "spectrace strength: a sample measures only part of a requirement's mutants; {} is \
             not written (use --check with --sample)",
            config.outputs.strength
        );
        return Ok(ExitCode::SUCCESS);
    }
    if measured.is_empty() {
        eprintln!(
            "spectrace strength: nothing was measured; {} is unchanged",
            config.outputs.strength
        );
        return Ok(ExitCode::from(CHECK_FAILED));
    }
    let known_ids = |id: &str| known.contains(id);
    let merged = committed
        .unwrap_or_else(|| StrengthReport::new(tools.clone()))
        .merge(
            measured.into_iter().map(|m| m.strength).collect(),
            tools,
            &known_ids,
        );
    let text = merged.to_json().map_err(error)?;
    write_atomic(&report_path, text.as_bytes()).map_err(|e| {
        vec![Diagnostic::error(
            &config.outputs.strength,
            None,
            format!("cannot write: {e}"),
        )]
    })?;
    eprintln!("spectrace strength: {} (written)", config.outputs.strength);
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHECK_FAILED)
    })
}

/// The requirements to measure, in index order.
fn select(
    root: &Path,
    args: &StrengthArgs,
    requirements: &[Requirement],
    scanned: &Scan,
) -> Result<Vec<String>, Vec<Diagnostic>> {
    let implemented: BTreeSet<&str> = scanned
        .implementations
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    for id in &args.ids {
        if !requirements.iter().any(|r| &r.id == id) {
            return Err(error(format!("--id {id}: no spec defines it")));
        }
        if !implemented.contains(id.as_str()) {
            return Err(error(format!(
                "--id {id}: no #[implements(\"{id}\")] item, so there is nothing to mutate"
            )));
        }
    }
    let changed = match &args.in_diff {
        Some(rev) => Some(changed_since(root, rev)?),
        None => None,
    };
    let mut selected = Vec::new();
    for r in requirements {
        if !implemented.contains(r.id.as_str()) || r.level == Level::Info {
            continue;
        }
        if !args.ids.is_empty() && !args.ids.contains(&r.id) {
            continue;
        }
        let items = plan::items(scanned, &r.id);
        if !args.packages.is_empty()
            && !items.iter().any(|i| {
                plan::package_of(root, &i.file).is_some_and(|p| args.packages.contains(&p))
            })
        {
            continue;
        }
        if let Some(changed) = &changed {
            let evidence = plan::evidence(scanned, &r.id);
            let spans = items
                .iter()
                .map(|i| (i.file.as_str(), i.line, i.end_line))
                .chain(
                    evidence
                        .iter()
                        .map(|e| (e.file.as_str(), e.line, e.end_line)),
                );
            let touched = spans.into_iter().any(|(file, first, last)| {
                changed
                    .get(file)
                    .is_some_and(|ranges| plan::touches(ranges, first, last))
            });
            if !touched {
                continue;
            }
        }
        selected.push(r.id.clone());
    }
    Ok(selected)
}

/// Per file, the changed lines of its current text (1-based inclusive ranges).
type ChangedLines = BTreeMap<String, Vec<(u32, u32)>>;

/// The files changed since `rev` (committed or not) and their changed lines.
fn changed_since(root: &Path, rev: &str) -> Result<ChangedLines, Vec<Diagnostic>> {
    let git = |args: &[&str]| -> Result<Vec<u8>, Vec<Diagnostic>> {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .map_err(|e| error(format!("cannot run git: {e}")))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(error(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    };
    git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])?;
    let names = git(&["diff", "--name-only", "-z", rev, "--", "."])?;
    let mut changed = BTreeMap::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        let new = std::fs::read_to_string(root.join(&name)).unwrap_or_default();
        let old = git(&["show", &format!("{rev}:./{name}")])
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        changed.insert(name, plan::changed_lines(&old, &new));
    }
    Ok(changed)
}

/// The versions the report records.
fn tools(cargo_mutants: &Path) -> Result<Tools, Vec<Diagnostic>> {
    let version = |program: &Path, args: &[&str]| -> Result<String, Vec<Diagnostic>> {
        let output = std::process::Command::new(program)
            .args(args)
            .output()
            .map_err(|e| {
                error(format!(
                    "cannot run `{}`: {e} (cargo xtask strength installs cargo-mutants into the target directory; or `cargo install cargo-mutants --locked`)",
                    program.display()
                ))
            })?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let mutants = version(cargo_mutants, &["mutants", "--version"])?;
    Ok(Tools {
        spectrace: env!("CARGO_PKG_VERSION").to_owned(),
        cargo_mutants: mutants
            .strip_prefix("cargo-mutants ")
            .unwrap_or(&mutants)
            .to_owned(),
        rustc: version(Path::new("rustc"), &["--version"])?,
    })
}

/// Checks `--include-target` against the targets `cargo metadata` lists for the workspace at
/// `root` (see [`plan::included_targets`]).
fn check_included(root: &Path, included: &[String]) -> Result<(), Vec<Diagnostic>> {
    let output = std::process::Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .map_err(|e| {
            error(format!(
                "--include-target: cannot run `cargo metadata`: {e}"
            ))
        })?;
    if !output.status.success() {
        return Err(error(format!(
            "--include-target names Cargo targets, but `cargo metadata` failed in {}: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    plan::included_targets(&String::from_utf8_lossy(&output.stdout), included).map_err(error)
}

/// Every mutant cargo-mutants generates in the workspace at `root`.
fn list_mutants(root: &Path, cargo_mutants: &Path) -> Result<Vec<Mutant>, Vec<Diagnostic>> {
    let output = std::process::Command::new(cargo_mutants)
        .args(["mutants", "--list", "--json", "--workspace"])
        .current_dir(root)
        .output()
        .map_err(|e| error(format!("cannot run `{}`: {e}", cargo_mutants.display())))?;
    if !output.status.success() {
        return Err(error(format!(
            "cargo-mutants could not list the mutants: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    mutants::parse_list(&String::from_utf8_lossy(&output.stdout)).map_err(error)
}

/// The Cargo target directory: `CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target"), PathBuf::from)
}

/// The places the jobs run in: the root itself, or fresh-or-synced copies.
fn prepare_places(
    root: &Path,
    scratch: &Path,
    args: &StrengthArgs,
) -> Result<Vec<Place>, Vec<Diagnostic>> {
    let make = |path: &Path| {
        std::fs::create_dir_all(path)
            .map_err(|e| error(format!("cannot create {}: {e}", path.display())))
    };
    if args.in_place {
        let place = Place {
            tree: root.to_path_buf(),
            target: None,
            scratch: scratch.join("in-place"),
        };
        make(&place.scratch)?;
        return Ok(vec![place]);
    }
    // The copy is of the whole repository, so that path dependencies inside it (`../../x`)
    // resolve in the copy too; the jobs run in the root's place within it.
    let git = |args: &[&str]| -> Result<Vec<u8>, Vec<Diagnostic>> {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .map_err(|e| error(format!("cannot run git: {e}")))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(error(
                "copies of the tree are made from `git ls-files`; outside a git repository use --in-place",
            ))
        }
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).trim().to_owned();
    let toplevel = PathBuf::from(text(git(&["rev-parse", "--show-toplevel"])?));
    let prefix = text(git(&["rev-parse", "--show-prefix"])?);
    let listed = git(&[
        "-C",
        &toplevel.to_string_lossy(),
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ])?;
    let files: Vec<String> = listed
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let mut places = Vec::new();
    for job in 0..args.jobs {
        let copy = scratch.join(format!("tree-{job}"));
        let place = Place {
            tree: copy.join(&prefix),
            target: Some(scratch.join(format!("target-{job}"))),
            scratch: scratch.join(format!("job-{job}")),
        };
        make(&place.tree)?;
        make(&place.scratch)?;
        exec::sync_tree(&toplevel, &copy, &files).map_err(error)?;
        places.push(place);
    }
    Ok(places)
}

/// Restores a mutated file when dropped, whatever happened in between.
struct Restore {
    path: PathBuf,
    original: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = write_atomic(&self.path, self.original.as_bytes()) {
            eprintln!(
                "spectrace strength: cannot restore {}: {e}; restore it by hand (it holds `{}`)",
                self.path.display(),
                mutants::MARKER
            );
        }
    }
}

/// Runs `commands` in order until one does not pass.
fn run_all(
    place: &Place,
    commands: &[Vec<String>],
    timeout: Option<Duration>,
    log: &Path,
) -> Result<(Ended, Duration, Vec<String>), String> {
    let mut took = Duration::ZERO;
    let mut failed = Vec::new();
    for command in commands {
        let (ended, time, records) = exec::run(place, command, timeout, log)?;
        took += time;
        failed.extend(exec::failed_items(&records));
        if ended != Ended::Passed {
            return Ok((ended, took, failed));
        }
    }
    Ok((Ended::Passed, took, failed))
}

/// Builds what the `runnable` jobs need once, unmutated, and runs each job's evidence: a job
/// whose evidence fails unmutated is reported and left out. Returns each remaining job's
/// timeout.
fn baselines(
    jobs: &[Job],
    runnable: &[usize],
    place: &Place,
    args: &StrengthArgs,
    config: &Config,
    problems: &mut Vec<String>,
) -> Result<BTreeMap<usize, Duration>, Vec<Diagnostic>> {
    let logs = place.scratch.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| error(format!("cannot create {}: {e}", logs.display())))?;
    let log = logs.join("baseline.log");
    let _ = std::fs::remove_file(&log);
    let builds = union_of_builds(jobs, runnable);
    let (built, _, _) = run_all(place, &builds, None, &log).map_err(error)?;
    if built != Ended::Passed {
        return Err(error(format!(
            "the evidence does not build without any mutant (see {})",
            log.display()
        )));
    }
    let mut timeouts = BTreeMap::new();
    for &i in runnable {
        let job = &jobs[i];
        let (ran, took, failed) = run_all(place, &job.plan.runs, None, &log).map_err(error)?;
        if ran != Ended::Passed {
            problems.push(format!(
                "{}: its evidence fails without any mutant ({}; see {})",
                job.id,
                if failed.is_empty() {
                    "a run failed".to_owned()
                } else {
                    failed.join(", ")
                },
                log.display()
            ));
            continue;
        }
        let seconds = args
            .timeout
            .or(config.strength.timeout)
            .unwrap_or_else(|| (took.as_secs() * 3).max(30));
        timeouts.insert(i, Duration::from_secs(seconds));
    }
    Ok(timeouts)
}

/// The build commands of `owners`, each once, in first-seen order.
fn union_of_builds(jobs: &[Job], owners: &[usize]) -> Vec<Vec<String>> {
    let mut builds: Vec<Vec<String>> = Vec::new();
    for &i in owners {
        for build in &jobs[i].plan.builds {
            if !builds.contains(build) {
                builds.push(build.clone());
            }
        }
    }
    builds
}

/// Applies `mutant`, builds what its owners' evidence needs, runs each owner's evidence and
/// restores the file; the result for each owner.
fn run_mutant(
    place: &Place,
    jobs: &[Job],
    owners: &[usize],
    mutant: &Mutant,
    k: usize,
    timeouts: &BTreeMap<usize, Duration>,
    waivers: &[Waiver],
) -> Result<Vec<(usize, MutantResult)>, String> {
    let path = place.tree.join(&mutant.file);
    let original = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mutated = mutants::apply(&original, mutant)?;
    let logs = place.scratch.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log = logs.join(format!("mutant-{k}.log"));
    let _ = std::fs::remove_file(&log);
    let mut outcomes: Vec<(usize, MutantOutcome, Vec<String>)> = Vec::new();
    {
        let _restore = Restore {
            path: path.clone(),
            original: original.clone(),
        };
        write_atomic(&path, mutated.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let (built, _, _) = run_all(place, &union_of_builds(jobs, owners), None, &log)?;
        for &i in owners {
            let job = &jobs[i];
            if built != Ended::Passed {
                outcomes.push((i, MutantOutcome::Unviable, Vec::new()));
                continue;
            }
            let timeout = timeouts.get(&i).copied();
            let (ran, _, items) = run_all(place, &job.plan.runs, timeout, &log)?;
            let failed = items
                .into_iter()
                .filter(|item| job.plan.run_items.contains(item))
                .collect();
            let outcome = match ran {
                Ended::Passed => MutantOutcome::Missed,
                Ended::Failed => MutantOutcome::Caught,
                Ended::TimedOut => MutantOutcome::Timeout,
            };
            outcomes.push((i, outcome, failed));
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|(i, outcome, failed)| {
            let missed = outcome == MutantOutcome::Missed;
            let result = MutantResult {
                name: mutant.name.clone(),
                file: mutant.file.clone(),
                line: mutant.span.start.line,
                replacement: mutant.replacement.clone(),
                outcome,
                failed,
                diff: missed.then(|| unified_diff(mutant, &original, &mutated)),
                waived: missed
                    .then(|| waivers::reason(waivers, &jobs[i].id, &mutant.name).map(str::to_owned))
                    .flatten(),
            };
            (i, result)
        })
        .collect())
}

/// The mutation as a unified diff with three lines of context.
fn unified_diff(mutant: &Mutant, original: &str, mutated: &str) -> String {
    similar::TextDiff::from_lines(original, mutated)
        .unified_diff()
        .context_radius(3)
        .header(&mutant.file, &mutant.file)
        .to_string()
}

/// Waivers whose mutant is not among the mutants of their requirement (measured this time).
/// Waivers without a mutant are checked by `spectrace report` and `check`, against the strength
/// the report holds.
fn report_waivers(waivers: &[Waiver], jobs: &[Job]) {
    for waiver in waivers {
        let Some(mutant) = &waiver.mutant else {
            continue;
        };
        let Some(job) = jobs.iter().find(|j| j.id == waiver.id) else {
            continue;
        };
        if !job.mutants.iter().any(|m| &stable_name(&m.name) == mutant) {
            eprintln!(
                "spectrace strength: the waiver of {} names a mutant that no longer exists: {mutant}",
                waiver.id
            );
        }
    }
}

fn summarize(measured: &[Measured]) {
    let mut err = std::io::stderr().lock();
    for m in measured {
        let s = &m.strength;
        let _ = writeln!(
            err,
            "{}: {} caught ({} missed, {} waived, {} unviable){}",
            s.id,
            s.fraction(),
            s.missed,
            s.waived,
            s.unviable,
            if m.sampled_out > 0 {
                format!(", {} left out of the sample", m.sampled_out)
            } else {
                String::new()
            }
        );
        for mutant in s
            .mutants
            .iter()
            .filter(|x| x.outcome == MutantOutcome::Missed && x.waived.is_none())
        {
            let _ = writeln!(err, "    survived: {}", mutant.name);
        }
    }
}

/// How what ran differs from the committed report.
fn compare(committed: Option<&StrengthReport>, measured: &[Measured]) -> Vec<String> {
    let mut differences = Vec::new();
    for m in measured {
        let now = &m.strength;
        let Some(before) = committed.and_then(|c| c.get(&now.id)) else {
            differences.push(format!("{} is not in the report", now.id));
            continue;
        };
        if before.fingerprint != now.fingerprint {
            differences.push(format!(
                "{}: its implementing items or evidence changed (fingerprint {} → {}): the strength is stale",
                now.id, before.fingerprint, now.fingerprint
            ));
            continue;
        }
        for mutant in &now.mutants {
            let key = stable_name(&mutant.name);
            let recorded = before
                .mutants
                .iter()
                .find(|b| stable_name(&b.name) == key)
                .map(|b| b.outcome);
            if !recorded.is_some_and(|r| r.agrees_with(mutant.outcome)) {
                differences.push(format!(
                    "{}: {} was {:?} in this run, {} in the report",
                    now.id,
                    mutant.name,
                    mutant.outcome,
                    recorded.map_or_else(|| "absent".to_owned(), |o| format!("{o:?}"))
                ));
            }
        }
    }
    differences
}

/// Progress on stderr: a bar on a terminal, one line per mutant elsewhere (CI logs).
struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    started: Instant,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(total).unwrap_or(u64::MAX)),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] mutant {pos}/{len} ETA {eta} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self {
            bar,
            total,
            done: std::sync::atomic::AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    /// One mutant done: its outcome for each requirement that holds it.
    fn step(&self, outcomes: &[(usize, MutantResult)], jobs: &[Job]) {
        let k = self.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let Some((_, first)) = outcomes.first() else {
            return;
        };
        let verdicts = outcomes
            .iter()
            .map(|(i, r)| {
                let outcome = format!("{:?}", r.outcome).to_lowercase();
                format!("{} {outcome}", jobs[*i].id)
            })
            .collect::<Vec<_>>()
            .join(", ");
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{verdicts}: {}", first.name));
                bar.inc(1);
            }
            None => {
                let elapsed = self.started.elapsed().as_secs();
                let left = u64::try_from(self.total.saturating_sub(k)).unwrap_or(0);
                let eta = elapsed * left / u64::try_from(k).unwrap_or(1).max(1);
                eprintln!(
                    "spectrace strength: mutant {k}/{} {verdicts} ({}m{:02}s, ETA {}m{:02}s): {}",
                    self.total,
                    elapsed / 60,
                    elapsed % 60,
                    eta / 60,
                    eta % 60,
                    first.name
                );
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
