//! The BDD suite's runner (`cargo test --test bdd`): runs every scenario of `features/` against
//! a fresh orchestratord per scenario, prints cucumber's report, records one evidence record
//! per executed scenario when `SPECTRACE_EVIDENCE_DIR` is set, and exits non-zero when any
//! scenario failed, had an undefined, ambiguous or skipped step, had no `Then` step, or a
//! feature file did not parse.
//!
//! libtest's arguments (`--nocapture`, `--test-threads N`, filters, …) are ignored; cucumber's
//! options (`--tags`, `--name`, `--concurrency`, …) work as usual after `--`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // steps fail by panicking

mod steps;

use std::process::ExitCode;

use cucumber::cli::{self, Parser as _};
use cucumber::{StatsWriter as _, World as _, WriterExt as _, writer};
use spectrace_cucumber::{EvidenceWriter, Recorder};

/// Scenarios run at the same time. Each has its own server; most of their time is spent
/// waiting on slowed-down engines, so a few at once keep the suite short on two cores.
const CONCURRENCY: usize = 8;

fn main() -> ExitCode {
    let args = ::steps::args::split(std::env::args());
    if !args.dropped.is_empty() {
        eprintln!("bdd: ignoring libtest arguments {:?}", args.dropped);
    }
    if args.list_only {
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bdd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args.cucumber))
}

fn filtered(args: &[String]) -> bool {
    std::env::var_os("CUCUMBER_FILTER_TAGS").is_some()
        || args.iter().any(|a| {
            let name = a.split('=').next().unwrap_or_default();
            ["--tags", "-t", "--name", "-n", "--scenario-name"].contains(&name)
        })
}

async fn run(args: Vec<String>) -> ExitCode {
    let root = ::steps::workspace_root();
    let recorder = match Recorder::from_config(root.clone()) {
        Ok(recorder) => recorder,
        Err(e) => {
            eprintln!("bdd: {e}");
            return ExitCode::FAILURE;
        }
    };
    let with_filter = filtered(&args);
    let opts = cli::Opts::<_, _, _, cli::Empty>::parse_from(args);
    let console = writer::Basic::stdout().summarized().fail_on_skipped();
    let writer = steps::Orch::cucumber()
        .max_concurrent_scenarios(CONCURRENCY)
        .with_writer(EvidenceWriter::new(console, recorder))
        .with_cli(opts)
        .run(root.join("features"))
        .await;

    let recorder = writer.recorder();
    let mut problems = Vec::new();
    if writer.execution_has_failed() || writer.skipped_steps() > 0 {
        problems.push(format!(
            "{} failed, {} skipped (undefined) steps, {} parsing errors, {} hook errors",
            writer.failed_steps(),
            writer.skipped_steps(),
            writer.parsing_errors(),
            writer.hook_errors()
        ));
    }
    for record in recorder.failed() {
        problems.push(format!(
            "{}:{} {}: {}",
            record.file,
            record.line,
            record.test,
            record.message.as_deref().unwrap_or_default()
        ));
    }
    problems.extend(recorder.write_errors.iter().cloned());
    if recorder.records.is_empty() && !with_filter {
        problems.push("no scenario ran".to_owned());
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("bdd: the suite failed:");
        for problem in problems {
            eprintln!("  {problem}");
        }
        ExitCode::FAILURE
    }
}
