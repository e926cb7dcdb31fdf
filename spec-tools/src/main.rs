//! The `spectrace` command line. Thin: it parses arguments, calls the library, prints
//! diagnostics on stderr and maps outcomes to exit codes (0 ok, 1 check failed, 2 bad input).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use spectrace::config::Config;
use spectrace::diag::Diagnostic;
use spectrace::generated::{Emitted, emit};
use spectrace::id::IdPattern;
use spectrace::level::Level;
use spectrace::render::{Format, to_text};
use spectrace::requirements::{ExtractOptions, extract};

/// Spec traceability: requirements from Markdown specs, linked to executed evidence.
#[derive(Debug, Parser)]
#[command(name = "spectrace", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Extract the requirement set from the specs into requirements/index.yaml.
    Extract(ExtractArgs),
}

/// Options of `spectrace extract`.
#[derive(Debug, Args)]
struct ExtractArgs {
    /// Repository root: spec globs, the config file and the default output are relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Spec files to read, as a glob relative to the root; repeatable
    /// [default: `specs.include` of the config, else `.specs/**/*.md`].
    #[arg(long = "spec", value_name = "GLOB")]
    specs: Vec<String>,
    /// Regular expression for one requirement ID [default: `specs.id_pattern` of the config,
    /// else `ORCH-[0-9]{4}`].
    #[arg(long, value_name = "REGEX")]
    id_pattern: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,
    /// Output file, or `-` for stdout [default: `outputs.index` of the config, else
    /// requirements/index.yaml under the root; with --format json, its .json sibling].
    #[arg(long, value_name = "PATH|-")]
    out: Option<PathBuf>,
    /// Do not write: exit 1 with a diff when the output file differs from what would be
    /// generated.
    #[arg(long)]
    check: bool,
    /// Treat warnings (requirements without a keyword, references to unknown IDs) as errors.
    #[arg(long)]
    strict: bool,
}

/// Exit code: bad input or usage.
const BAD_INPUT: u8 = 2;
/// Exit code: `--check` found a difference.
const CHECK_FAILED: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Extract(args) => run_extract(&args),
    }
}

fn report(diagnostics: &[Diagnostic]) {
    let mut stderr = std::io::stderr().lock();
    for d in diagnostics {
        let _ = writeln!(stderr, "{d}");
    }
}

fn fail(diagnostics: &[Diagnostic]) -> ExitCode {
    report(diagnostics);
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == spectrace::diag::Severity::Error)
        .count();
    eprintln!(
        "spectrace: {errors} error{} found; nothing was written",
        if errors == 1 { "" } else { "s" }
    );
    ExitCode::from(BAD_INPUT)
}

fn run_extract(args: &ExtractArgs) -> ExitCode {
    let config = match Config::load(&args.root, args.config.as_deref()) {
        Ok(config) => config,
        Err(d) => return fail(&[d]),
    };
    let pattern = args
        .id_pattern
        .as_deref()
        .unwrap_or(&config.specs.id_pattern);
    let ids = match IdPattern::new(pattern) {
        Ok(ids) => ids,
        Err(message) => return fail(&[Diagnostic::error("--id-pattern", None, message)]),
    };
    let include = if args.specs.is_empty() {
        config.specs.include.clone()
    } else {
        args.specs.clone()
    };
    let options = ExtractOptions {
        root: args.root.clone(),
        include,
        ids,
        strict: args.strict,
    };
    let extraction = match extract(&options) {
        Ok(extraction) => extraction,
        Err(diagnostics) => return fail(&diagnostics),
    };
    report(&extraction.warnings);
    let text = match to_text(&extraction.index, args.format) {
        Ok(text) => text,
        Err(e) => return fail(&[Diagnostic::error("<output>", None, e)]),
    };

    let out = output_path(args, &config);
    let summary = summary(&extraction.index);
    let Some(out) = out else {
        if args.check {
            return fail(&[Diagnostic::error(
                "--out",
                None,
                "--check needs a file, not `-`",
            )]);
        }
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            return fail(&[Diagnostic::error("<stdout>", None, e.to_string())]);
        }
        eprintln!("spectrace: {summary}");
        return ExitCode::SUCCESS;
    };
    let display = display_path(&args.root, &out);
    match emit(&out, &display, &text, args.check) {
        Ok(Emitted::Written) => eprintln!("spectrace: {summary} → {display} (written)"),
        Ok(Emitted::Unchanged) => eprintln!("spectrace: {summary} → {display} (unchanged)"),
        Ok(Emitted::Stale(diff)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(diff.as_bytes());
            eprintln!(
                "spectrace: {display} is stale; run `spectrace extract` and commit the result"
            );
            return ExitCode::from(CHECK_FAILED);
        }
        Ok(Emitted::Missing) => {
            eprintln!(
                "spectrace: {display} does not exist; run `spectrace extract` and commit the result"
            );
            return ExitCode::from(CHECK_FAILED);
        }
        Err(e) => {
            return fail(&[Diagnostic::error(
                display,
                None,
                format!("cannot write: {e}"),
            )]);
        }
    }
    ExitCode::SUCCESS
}

/// `None` means stdout.
fn output_path(args: &ExtractArgs, config: &Config) -> Option<PathBuf> {
    match &args.out {
        Some(path) if path.as_os_str() == "-" => None,
        Some(path) => Some(path.clone()),
        None => {
            let configured = args.root.join(&config.outputs.index);
            Some(match args.format {
                Format::Yaml => configured,
                Format::Json => configured.with_extension("json"),
            })
        }
    }
}

fn display_path(root: &Path, path: &Path) -> String {
    spectrace::requirements::relative_to(root, path)
}

fn summary(index: &spectrace::model::RequirementIndex) -> String {
    let count = |level: Level| {
        index
            .requirements
            .iter()
            .filter(|r| r.level == level)
            .count()
    };
    let levels: Vec<String> = Level::ALL
        .iter()
        .map(|&level| (level, count(level)))
        .filter(|&(_, n)| n > 0)
        .map(|(level, n)| format!("{level} {n}"))
        .collect();
    format!(
        "{} requirement{} ({}) from {} spec{}",
        index.requirements.len(),
        if index.requirements.len() == 1 {
            ""
        } else {
            "s"
        },
        if levels.is_empty() {
            "none".to_owned()
        } else {
            levels.join(", ")
        },
        index.specs.len(),
        if index.specs.len() == 1 { "" } else { "s" },
    )
}
