//! Part of the `spectrace` binary (not the library): the commands that judge a run —
//! `verify`, `report`, `check` — and `schema`. Each loads the pipeline
//! ([`spectrace_core::pipeline`]), prints on stderr, and maps the outcome to an exit code.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use spectrace_core::compliance::{ComplianceModel, RequirementStatus, RunOutcome, Status};
use spectrace_core::config::{Config, Suite, VerifyConfig};
use spectrace_core::diag::Diagnostic;
use spectrace_core::evidence::EVIDENCE_DIR_ENV;
use spectrace_core::gate::shortfalls;
use spectrace_core::generated::{Emitted, emit, file_matches};
use spectrace_core::paths::{GlobKey, Selector, relative_to};
use spectrace_core::pipeline::{Loaded, load, load_for_report, report_files};

use super::{BAD_INPUT, CHECK_FAILED, CommonArgs, fail, print_diagnostics, print_stdout};

/// `requirements: N verified, …` for the summary lines.
fn totals(model: &ComplianceModel) -> String {
    let count = |status: Status| {
        model
            .requirements
            .iter()
            .filter(|r| r.status == status)
            .count()
    };
    let parts: Vec<String> = Status::ALL
        .iter()
        .map(|&s| format!("{} {s}", count(s)))
        .collect();
    format!(
        "{} requirements: {}",
        model.requirements.len(),
        parts.join(", ")
    )
}

/// The run directories of `--run`, globs expanded (sorted); a glob that matches no directory
/// is an error.
fn run_dirs(runs: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut dirs = Vec::new();
    for run in runs {
        let text = run.to_string_lossy();
        if !text.contains(['*', '?', '[']) {
            dirs.push(run.clone());
            continue;
        }
        let matched = glob::glob(&text)
            .map_err(|e| Diagnostic::error(text.as_ref(), None, format!("not a glob: {e}")))?;
        let mut found: Vec<PathBuf> = matched
            .filter_map(Result::ok)
            .filter(|path| path.is_dir())
            .collect();
        if found.is_empty() {
            return Err(Diagnostic::error(
                text.as_ref(),
                None,
                "--run: the glob matches no directory",
            ));
        }
        found.sort();
        dirs.extend(found);
    }
    Ok(dirs)
}

pub(crate) fn load_or_fail(common: &CommonArgs) -> Result<Loaded, ExitCode> {
    load_or_fail_with(common, load)
}

/// [`load_or_fail`] for `report` and `check`, which render the report files.
fn load_for_report_or_fail(common: &CommonArgs) -> Result<Loaded, ExitCode> {
    load_or_fail_with(common, load_for_report)
}

type LoadFn = fn(&Path, Option<&Path>, &[PathBuf]) -> Result<Loaded, Vec<Diagnostic>>;

fn load_or_fail_with(common: &CommonArgs, load: LoadFn) -> Result<Loaded, ExitCode> {
    let dirs = run_dirs(&common.run).map_err(|d| fail(&[d]))?;
    match load(&common.root, common.config.as_deref(), &dirs) {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings);
            Ok(loaded)
        }
        Err(diagnostics) => Err(fail(&diagnostics)),
    }
}

/// `spectrace report [--check]`.
pub fn report(common: &CommonArgs, check: bool) -> ExitCode {
    let loaded = match load_for_report_or_fail(common) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let files = match report_files(&common.root, &loaded) {
        Ok(files) => files,
        Err(d) => return fail(&[d]),
    };
    // Each file is compared with its committed copy and, when it differs, written and synced
    // on a thread of its own: the syncs overlap instead of adding up.
    let emitted: Vec<std::io::Result<Emitted>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .iter()
            .map(|file| scope.spawn(move || emit(&file.path, &file.display, &file.content, check)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut stale = false;
    let mut written = Vec::new();
    for (file, emitted) in files.iter().zip(emitted) {
        match emitted {
            Ok(Emitted::Written) => written.push(format!("{} (written)", file.display)),
            Ok(Emitted::Unchanged) => written.push(format!("{} (unchanged)", file.display)),
            Ok(Emitted::Stale(diff)) => {
                stale = true;
                let _ = print_stdout(&diff);
                eprintln!("spectrace: {} is stale", file.display);
            }
            Ok(Emitted::Missing) => {
                stale = true;
                eprintln!("spectrace: {} does not exist", file.display);
            }
            Err(e) => {
                return fail(&[Diagnostic::error(
                    &file.display,
                    None,
                    format!("cannot write: {e}"),
                )]);
            }
        }
    }
    eprintln!("spectrace: {}", totals(&loaded.model));
    // The process exits next: freeing tens of thousands of strings one by one would only
    // delay it.
    std::mem::forget(files);
    std::mem::forget(loaded);
    if stale {
        eprintln!("spectrace: run `spectrace report` and commit the result");
        return ExitCode::from(CHECK_FAILED);
    }
    eprintln!("spectrace: {}", written.join(", "));
    ExitCode::SUCCESS
}

/// Generated files whose committed copy differs from what this run generates.
fn stale_files(common: &CommonArgs, loaded: &Loaded) -> Result<Vec<String>, Diagnostic> {
    let files = report_files(&common.root, loaded)?;
    // Each file is read and compared with its committed copy on a thread of its own.
    let stale = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .iter()
            .map(|file| {
                scope.spawn(move || {
                    // A file that cannot be read is stale too.
                    file_matches(&file.path, file.content.as_bytes()).ok() != Some(Some(true))
                })
            })
            .collect();
        files
            .iter()
            .zip(workers)
            .filter_map(|(file, worker)| {
                let differs = worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                differs.then(|| file.display.clone())
            })
            .collect()
    });
    // Megabytes of text the process is about to give back as a whole when it exits.
    std::mem::forget(files);
    Ok(stale)
}

/// `spectrace check`: every offending requirement with its level, status and `spec:line`.
pub fn check(common: &CommonArgs) -> ExitCode {
    let loaded = match load_for_report_or_fail(common) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let stale = match stale_files(common, &loaded) {
        Ok(stale) => stale,
        Err(d) => return fail(&[d]),
    };
    let short = shortfalls(&loaded.model, &loaded.config.gate);
    // One lookup per shortfall: by ID, not a scan of every requirement.
    let by_id: HashMap<&str, &RequirementStatus> = loaded
        .model
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    // Stderr is unbuffered: thousands of lines would be thousands of `write` calls.
    let mut err = BufWriter::new(std::io::stderr().lock());
    if loaded.run.records.is_empty() {
        let _ = writeln!(
            err,
            "spectrace check: no evidence records in {}: run `spectrace verify` (or the tests with \
             {EVIDENCE_DIR_ENV} set) first",
            loaded.config.outputs.run_dir
        );
    }
    for s in &short {
        for reason in &s.reasons {
            let _ = writeln!(
                err,
                "{}:{}: {} {} {}: {}",
                s.spec,
                s.line,
                s.level.label(),
                s.id,
                reason.describe(s.status, s.demand),
                s.title
            );
        }
        let requirement = by_id.get(s.id.as_str()).copied();
        if let Some(r) = requirement.filter(|r| r.status == Status::Suspect) {
            let _ = writeln!(
                err,
                "    reworded since its evidence was reviewed (fingerprint {} → {}): check the \
                 evidence against the new text, then run `spectrace review {}`",
                r.reviewed_fingerprint.as_deref().unwrap_or("?"),
                r.fingerprint,
                r.id
            );
        }
        for e in requirement.into_iter().flat_map(|r| &r.evidence) {
            let what = match e.outcome {
                RunOutcome::Passed => continue,
                RunOutcome::Failed => format!(
                    "failed: {}",
                    e.message.as_deref().unwrap_or("(no message)").trim()
                ),
                RunOutcome::NotRun => "did not run".to_owned(),
            };
            let first_line = what.lines().next().unwrap_or_default();
            let _ = writeln!(err, "    {}:{}: {} {first_line}", e.file, e.line, e.test);
        }
    }
    for file in &stale {
        let _ = writeln!(
            err,
            "{file}: stale: regenerate it (`spectrace extract` / `spectrace report`) and commit"
        );
    }
    let verdict = if short.is_empty() && stale.is_empty() {
        "passed"
    } else {
        "FAILED"
    };
    let _ = writeln!(
        err,
        "spectrace check: {verdict}: {}; {} short of the gate, {} stale file{}",
        totals(&loaded.model),
        short.len(),
        stale.len(),
        if stale.len() == 1 { "" } else { "s" }
    );
    let _ = err.flush();
    // The process exits next: freeing tens of thousands of strings one by one would only
    // delay it.
    let passed = short.is_empty() && stale.is_empty();
    std::mem::forget(short);
    std::mem::forget(by_id);
    std::mem::forget(loaded);
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHECK_FAILED)
    }
}

/// Removes what an earlier run left in `dir` — its evidence files, and the JUnit reports that
/// `[evidence] junit` selects inside it — and nothing else, creating `dir`.
fn clear_run_dir(root: &Path, dir: &Path, config: &Config) -> Result<(), Diagnostic> {
    let shown = relative_to(root, dir);
    let cannot = |e: std::io::Error| {
        Diagnostic::error(
            &shown,
            None,
            format!("cannot prepare the run directory: {e}"),
        )
    };
    std::fs::create_dir_all(dir).map_err(cannot)?;
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("evidence-") && name.ends_with(".jsonl") {
            std::fs::remove_file(entry.path()).map_err(cannot)?;
        }
    }
    let key = GlobKey {
        section: "evidence",
        key: "junit",
    };
    let reports = Selector::new(&[((), key, &config.evidence.junit)], &[])
        .and_then(|selector| selector.select(root))
        .map_err(|mut errors| errors.remove(0))?;
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    for report in reports {
        let path = std::path::absolute(&report.path).unwrap_or(report.path);
        if path.starts_with(&dir) {
            std::fs::remove_file(&path).map_err(cannot)?;
        }
    }
    Ok(())
}

/// The suites `verify` runs: the configured ones named in `only` (all when empty), or, with
/// none configured, `cargo test` in a Cargo project. `Err` is the exit code of a bad request.
fn suites_to_run(root: &Path, config: &Config, only: &[String]) -> Result<Vec<Suite>, ExitCode> {
    if config.verify.suites.is_empty() {
        if !root.join("Cargo.toml").is_file() {
            eprintln!(
                "spectrace verify: spectrace.toml lists no suites under [verify], and this is not \
                 a Cargo project. Add the commands that run your tests, for example:\n\n\
                 [verify]\n\
                 suites = [\n  {{ name = \"python\", command = [\"python3\", \"-m\", \"pytest\", \
                 \"--junitxml=reports/run/pytest.xml\"] }},\n]\n\n\
                 and name their JUnit reports under [evidence] junit."
            );
            return Err(ExitCode::from(BAD_INPUT));
        }
        eprintln!(
            "spectrace verify: no suites under [verify] in spectrace.toml; a Cargo project runs \
             `{}`",
            VerifyConfig::CARGO_DEFAULT.join(" ")
        );
        let default = Suite {
            name: "cargo test".to_owned(),
            command: VerifyConfig::CARGO_DEFAULT.map(str::to_owned).to_vec(),
        };
        if let Some(unknown) = only.iter().find(|name| **name != default.name) {
            eprintln!(
                "spectrace verify: no suite named `{unknown}` (the only one is `{}`)",
                default.name
            );
            return Err(ExitCode::from(BAD_INPUT));
        }
        return Ok(vec![default]);
    }
    if let Some(unknown) = only
        .iter()
        .find(|name| !config.verify.suites.iter().any(|s| &s.name == *name))
    {
        let names: Vec<&str> = config
            .verify
            .suites
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        eprintln!(
            "spectrace verify: no suite named `{unknown}` (configured: {})",
            names.join(", ")
        );
        return Err(ExitCode::from(BAD_INPUT));
    }
    Ok(config
        .verify
        .suites
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .cloned()
        .collect())
}

/// `spectrace verify`: runs the configured suites with evidence recording on, then `report`.
pub fn verify(common: &CommonArgs, only: &[String]) -> ExitCode {
    let config = match Config::load(&common.root, common.config.as_deref()) {
        Ok(config) => config,
        Err(d) => return fail(&[d]),
    };
    let suites = match suites_to_run(&common.root, &config, only) {
        Ok(suites) => suites,
        Err(code) => return code,
    };
    let run_dir = match common.run.as_slice() {
        [] => common.root.join(&config.outputs.run_dir),
        [one] => one.clone(),
        _ => {
            return fail(&[Diagnostic::error(
                "--run",
                None,
                "verify records into one run directory; give --run once",
            )]);
        }
    };
    let run_dir = std::path::absolute(&run_dir).unwrap_or(run_dir);
    if let Err(d) = clear_run_dir(&common.root, &run_dir, &config) {
        return fail(&[d]);
    }
    let mut failed = Vec::new();
    for (i, suite) in suites.iter().enumerate() {
        let Some((program, args)) = suite.command.split_first() else {
            return fail(&[Diagnostic::error(
                "spectrace.toml",
                None,
                format!("suite `{}` has an empty command", suite.name),
            )]);
        };
        eprintln!(
            "spectrace verify: [{}/{}] {}: {}",
            i + 1,
            suites.len(),
            suite.name,
            suite.command.join(" ")
        );
        let started = Instant::now();
        let status = std::process::Command::new(program)
            .args(args)
            .current_dir(&common.root)
            .env(EVIDENCE_DIR_ENV, &run_dir)
            .status();
        let took = started.elapsed().as_secs_f64();
        match status {
            Ok(status) if status.success() => {
                eprintln!("spectrace verify: {}: ok ({took:.1} s)", suite.name);
            }
            Ok(status) => {
                eprintln!(
                    "spectrace verify: {}: FAILED ({status}, {took:.1} s)",
                    suite.name
                );
                failed.push(suite.name.clone());
            }
            Err(e) => {
                eprintln!(
                    "spectrace verify: {}: cannot run `{program}`: {e}",
                    suite.name
                );
                failed.push(suite.name.clone());
            }
        }
    }
    let with_run = CommonArgs {
        root: common.root.clone(),
        config: common.config.clone(),
        run: vec![PathBuf::from(&run_dir)],
    };
    let reported = report(&with_run, false);
    if !failed.is_empty() {
        eprintln!(
            "spectrace verify: {} suite{} failed: {}; the reports show what failed",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        );
        return ExitCode::from(CHECK_FAILED);
    }
    reported
}

/// `spectrace schema [--out PATH [--check]]`.
pub fn schema(text: Result<String, String>, out: Option<&Path>, check: bool) -> ExitCode {
    let text = match text {
        Ok(text) => text,
        Err(e) => return fail(&[Diagnostic::error("<schema>", None, e)]),
    };
    let Some(out) = out else {
        return match print_stdout(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(d) => fail(&[d]),
        };
    };
    let display = out.display().to_string();
    match emit(out, &display, &text, check) {
        Ok(Emitted::Written | Emitted::Unchanged) => ExitCode::SUCCESS,
        Ok(Emitted::Stale(diff)) => {
            let _ = print_stdout(&diff);
            eprintln!("spectrace: {display} is stale; run `cargo xtask regen`");
            ExitCode::from(CHECK_FAILED)
        }
        Ok(Emitted::Missing) => {
            eprintln!("spectrace: {display} does not exist; run `cargo xtask regen`");
            ExitCode::from(CHECK_FAILED)
        }
        Err(e) => fail(&[Diagnostic::error(
            display,
            None,
            format!("cannot write: {e}"),
        )]),
    }
}
