//! The `spectrace` command line. Thin: it parses arguments, calls the library, prints
//! diagnostics on stderr and maps outcomes to exit codes (0 ok, 1 check failed, 2 bad input).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use spectrace_core::config::Config;
use spectrace_core::diag::Diagnostic;
use spectrace_core::generated::{Emitted, emit};
use spectrace_core::id::IdPattern;
use spectrace_core::level::Level;
use spectrace_core::render::{Format, index_yaml, to_text, to_text_sized};
use spectrace_core::requirements::{ExtractOptions, extract};
use spectrace_core::scan::{ScanOptions, scan};

/// Spec traceability: requirements from Markdown specs, linked to executed evidence.
#[derive(Debug, Parser)]
#[command(name = "spectrace", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Set up a project: a commented spectrace.toml naming what is there (Cargo, features/,
    /// OpenAPI documents, JUnit reports) and a first spec, .specs/requirements.md.
    ///
    /// Never overwrites a file that exists with other content (exit 2, naming it, nothing
    /// written) unless --force; a file that already holds what would be written is left alone,
    /// so running it twice changes nothing. Prints the next steps.
    Init(init::InitArgs),
    /// Extract the requirement set from the specs into requirements/index.yaml.
    Extract(ExtractArgs),
    /// List declared evidence and links: #[covers] tests, #[implements] items, Gherkin
    /// scenarios, and x-req-id in OpenAPI documents.
    ///
    /// Reads the files selected by `[evidence]` in spectrace.toml (`rust`, `features`,
    /// `openapi`, minus `exclude`) without compiling or running anything. Every ID must match
    /// `[specs] id_pattern` and be defined by a spec (the specs are read as `spectrace extract`
    /// reads them). Text output lists one line per test or link on stdout and a summary on
    /// stderr; `--format json` prints the scan (sorted lists `evidence`, `contracts`,
    /// `implementations`). Paths are relative to the root.
    ///
    /// Exit codes: 0 ok, 2 bad input (unknown or malformed IDs, unreadable or unparsable
    /// files, bad configuration), each error as `file:line: error: ...`.
    Scan(ScanArgs),
    /// Run the suites of `[verify]` with evidence recording on, then write the reports.
    ///
    /// Each suite runs from the root with SPECTRACE_EVIDENCE_DIR set to the run directory
    /// (`outputs.run_dir`, emptied of evidence files and of the JUnit reports `[evidence]
    /// junit` selects inside it first). With no suites configured, a Cargo project runs
    /// `cargo test --workspace --no-fail-fast`; any other project must list its suites (exit
    /// 2). Exit codes: 0 every suite passed and the reports were written, 1 a suite failed
    /// (the reports are written anyway and show what failed), 2 bad input.
    Verify(VerifyArgs),
    /// Write COMPLIANCE.md, reports/compliance.json and reports/junit.xml from the requirements,
    /// the declared evidence and the records of the last run.
    Report(ReportArgs),
    /// The gate: exit 1 when a requirement falls short of the `[gate]` policy or a generated
    /// file is stale.
    Check(CommonArgs),
    /// Print (or write, or check) the JSON Schema of compliance.json (or, with --of strength,
    /// of strength.json).
    Schema(SchemaArgs),
    /// Build the static compliance site (default `site/out/`) from reports/compliance.json
    /// and the specs it names.
    ///
    /// Reads only the compliance model (`outputs.compliance_json`, written by `spectrace
    /// report`) and the spec files it names. The output directory is replaced as a whole: the
    /// new site is written beside it and swapped in, so no file of an earlier build survives.
    /// Exit codes: 0 ok, 2 bad input (missing or unparsable compliance.json, a missing spec,
    /// an output directory that was not built by spectrace).
    Site(site::SiteArgs),
    /// Check links offline: relative files and #fragments (GitHub heading anchors in Markdown,
    /// element ids in HTML, line anchors elsewhere) in the files `[links]` selects.
    ///
    /// External URLs are listed on stdout, not fetched, unless --online. Each broken link is a
    /// line `file:line → target: reason` on stderr. Exit codes: 0 no broken link, 1 broken
    /// links, 2 bad input (unreadable files, bad configuration).
    Links(links::LinksArgs),
    /// Mutation testing per requirement: how much of its implementation its own evidence
    /// notices when it breaks.
    ///
    /// For each requirement with `#[implements]` items (or those named by --id, --package,
    /// --in-diff), cargo-mutants generates the mutants inside those items; each is applied, its
    /// evidence built (a failure: unviable) and run — its #[covers] tests by exact name (those
    /// in a `test = false` target only when --include-target names it), its scenarios by tag
    /// (`[strength] bdd`) — and counted caught (a run failed or timed out) or missed. Strength = caught / (caught + missed); surviving mutants waived in
    /// `outputs.strength_waivers` are left out. Writes `outputs.strength`; --check writes nothing
    /// and exits 1 when an outcome or a fingerprint differs from it. Exit codes: 0 ok, 1 a
    /// requirement could not be measured or --check found a difference, 2 bad input.
    Strength(strength::StrengthArgs),
    /// Record that the evidence of reworded requirements was reviewed against their new text.
    ///
    /// A requirement whose fingerprint differs from the one in `outputs.reviewed`
    /// (reports/reviewed.yaml) is `suspect` and fails the gate. After checking its evidence
    /// against the new wording, `spectrace review ORCH-3004` (or `--all`) records the current
    /// fingerprint and prints each change (`ORCH-3004: 1a2b… → 3c4d…`). Then run
    /// `spectrace report`. Exit codes: 0 ok, 2 an unknown ID or bad input.
    Review(ReviewArgs),
    /// What changed since a git revision: requirements added, removed, reworded (with a word
    /// diff), level and status changes.
    ///
    /// The base is the committed `outputs.index` and `outputs.compliance_json` at REV (read with
    /// `git show`; a file missing there is taken as empty, with a note); the head is what
    /// `spectrace report` would build now. Markdown for a pull-request comment on stdout, or
    /// `--format json`. Exit codes: 0 ok, 1 with `--fail-on regress` when a status got worse,
    /// 2 a bad revision or bad input.
    Diff(DiffArgs),
}

/// Options of `spectrace review`.
#[derive(Debug, Args)]
struct ReviewArgs {
    /// Repository root: every configured path is relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Record every requirement.
    #[arg(long, conflicts_with = "ids")]
    all: bool,
    /// The requirements to record.
    #[arg(value_name = "ID", required_unless_present = "all")]
    ids: Vec<String>,
}

/// Options of `spectrace diff`.
#[derive(Debug, Args)]
struct DiffArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The git revision to compare with (a commit, branch, tag, `HEAD~3`, …).
    #[arg(value_name = "REV")]
    rev: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: changes::DiffFormat,
    /// Exit 1 when this happens.
    #[arg(long, value_enum, value_name = "WHAT")]
    fail_on: Option<changes::FailOn>,
}

/// Options shared by the commands that judge a run.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Repository root: every configured path is relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the run's evidence records [default: `outputs.run_dir` of the config].
    /// Repeat it, or give a glob (`--run 'shards/*'`), to merge the shards of one run: each
    /// directory is a shard.
    #[arg(long, value_name = "DIR")]
    run: Vec<PathBuf>,
}

/// Options of `spectrace report`.
#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Do not write: exit 1 with a diff when a committed report differs from what would be
    /// generated.
    #[arg(long)]
    check: bool,
}

/// Options of `spectrace verify`.
#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Run only the suites with these names (repeatable) [default: every suite].
    #[arg(long = "suite", value_name = "NAME")]
    suites: Vec<String>,
}

/// Options of `spectrace schema`.
#[derive(Debug, Args)]
struct SchemaArgs {
    /// Which file's schema.
    #[arg(long, value_enum, default_value = "compliance")]
    of: SchemaOf,
    /// Write the schema here instead of printing it.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// With --out: do not write, exit 1 with a diff when the file differs.
    #[arg(long, requires = "out")]
    check: bool,
}

/// The files whose JSON Schema `spectrace schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SchemaOf {
    /// reports/compliance.json.
    Compliance,
    /// reports/strength.json.
    Strength,
}

/// Options of `spectrace scan`.
#[derive(Debug, Args)]
struct ScanArgs {
    /// Repository root, normally the Cargo workspace root: globs, the config file and the paths
    /// in the output are relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format: `text`, a listing for people, or `json`, the scan for machines.
    #[arg(long, value_enum, default_value = "text")]
    format: ScanFormat,
    /// Write the output to this file instead of stdout (`-` is stdout).
    #[arg(long, value_name = "PATH|-")]
    out: Option<PathBuf>,
}

/// Output format of `spectrace extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IndexFormat {
    /// YAML 1.2, block style.
    Yaml,
    /// Pretty-printed JSON.
    Json,
}

impl From<IndexFormat> for Format {
    fn from(format: IndexFormat) -> Self {
        match format {
            IndexFormat::Yaml => Format::Yaml,
            IndexFormat::Json => Format::Json,
        }
    }
}

/// Output format of `spectrace scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ScanFormat {
    /// One line per declared test and link, `file:line` first.
    Text,
    /// Pretty-printed JSON of the whole scan.
    Json,
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
    format: IndexFormat,
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

mod changes;
mod commands;
mod init;
mod links;
mod site;
mod strength;

/// The scan and the report allocate many small values (tokens, strings); with mimalloc instead
/// of glibc's allocator `cargo xtask bench report` took about 40 % less time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Extract(args) => run_extract(&args),
        Command::Scan(args) => run_scan(&args),
        Command::Init(args) => init::run(&args),
        Command::Verify(args) => commands::verify(&args.common, &args.suites),
        Command::Report(args) => commands::report(&args.common, args.check),
        Command::Check(args) => commands::check(&args),
        Command::Schema(args) => {
            let text = match args.of {
                SchemaOf::Compliance => spectrace_core::report::compliance_schema(),
                SchemaOf::Strength => spectrace_core::strength::model::schema(),
            };
            commands::schema(text, args.out.as_deref(), args.check)
        }
        Command::Links(args) => links::run(&args),
        Command::Review(args) => {
            changes::review(&args.root, args.config.as_deref(), &args.ids, args.all)
        }
        Command::Diff(args) => changes::diff(&args.common, &args.rev, args.format, args.fail_on),
        Command::Site(args) => site::run(&args),
        Command::Strength(args) => strength::run(&args),
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    // Stderr is unbuffered: one `write` per piece of every line without the buffer.
    let mut stderr = std::io::BufWriter::new(std::io::stderr().lock());
    for d in diagnostics {
        let _ = writeln!(stderr, "{d}");
    }
    let _ = stderr.flush();
}

/// Writes `text` to stdout and flushes it; a failure (a closed pipe) is a diagnostic.
fn print_stdout(text: &str) -> Result<(), Diagnostic> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Diagnostic::error("<stdout>", None, e.to_string()))
}

fn fail(diagnostics: &[Diagnostic]) -> ExitCode {
    print_diagnostics(diagnostics);
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == spectrace_core::diag::Severity::Error)
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
    print_diagnostics(&extraction.warnings);
    let format: Format = args.format.into();
    let text = match format {
        Format::Yaml => index_yaml(&extraction.index),
        Format::Json => to_text_sized(&extraction.index, format, extraction.index.text_size_hint()),
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => return fail(&[Diagnostic::error("<output>", None, e)]),
    };

    let out = output_path(args, &config);
    let summary = summary(&extraction.index);
    // The process exits soon: freeing tens of thousands of strings one by one would only
    // delay it.
    std::mem::forget(extraction);
    let Some(out) = out else {
        if args.check {
            return fail(&[Diagnostic::error(
                "--out",
                None,
                "--check needs a file, not `-`",
            )]);
        }
        if let Err(d) = print_stdout(&text) {
            return fail(&[d]);
        }
        eprintln!("spectrace: {summary}");
        return ExitCode::SUCCESS;
    };
    let display = display_path(&args.root, &out);
    match emit(&out, &display, &text, args.check) {
        Ok(Emitted::Written) => eprintln!("spectrace: {summary} → {display} (written)"),
        Ok(Emitted::Unchanged) => eprintln!("spectrace: {summary} → {display} (unchanged)"),
        Ok(Emitted::Stale(diff)) => {
            let _ = print_stdout(&diff);
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

fn run_scan(args: &ScanArgs) -> ExitCode {
    let config = match Config::load(&args.root, args.config.as_deref()) {
        Ok(config) => config,
        Err(d) => return fail(&[d]),
    };
    let ids = match IdPattern::new(&config.specs.id_pattern) {
        Ok(ids) => ids,
        Err(message) => {
            let name = args.config.as_deref().map_or_else(
                || spectrace_core::config::CONFIG_FILE.to_owned(),
                |path| path.display().to_string(),
            );
            return fail(&[Diagnostic::error(name, None, message)]);
        }
    };
    // The known IDs are the requirement set, built exactly as `spectrace extract` builds it.
    let extraction = match extract(&ExtractOptions {
        root: args.root.clone(),
        include: config.specs.include.clone(),
        ids: ids.clone(),
        strict: false,
    }) {
        Ok(extraction) => extraction,
        Err(diagnostics) => return fail(&diagnostics),
    };
    let known = extraction
        .index
        .requirements
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let output = match scan(&ScanOptions {
        root: args.root.clone(),
        evidence: config.evidence,
        ids,
        known,
    }) {
        Ok(output) => output,
        Err(diagnostics) => return fail(&diagnostics),
    };
    print_diagnostics(&output.warnings);
    // Requirements with a level that no #[implements] item names (a set: one lookup each).
    let implemented: std::collections::HashSet<&str> = output
        .scan
        .implementations
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let unimplemented: Vec<String> = extraction
        .index
        .requirements
        .iter()
        .filter(|r| r.level != Level::Info)
        .filter(|r| !implemented.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    let text = match args.format {
        ScanFormat::Text => {
            let mut text = output.scan.listing();
            text.push_str(&format!(
                "requirements without an implementation link ({}):\n",
                unimplemented.len()
            ));
            for id in &unimplemented {
                text.push_str(&format!("  {id}\n"));
            }
            text
        }
        ScanFormat::Json => {
            let listed = ScanJson {
                scan: &output.scan,
                unimplemented: &unimplemented,
            };
            match to_text(&listed, Format::Json) {
                Ok(text) => text,
                Err(e) => return fail(&[Diagnostic::error("<output>", None, e)]),
            }
        }
    };
    let summary = format!(
        "{}, {} requirement{} without an implementation link",
        output.summary(),
        unimplemented.len(),
        if unimplemented.len() == 1 { "" } else { "s" }
    );
    // The process exits soon: freeing tens of thousands of strings one by one would only
    // delay it.
    std::mem::forget(unimplemented);
    std::mem::forget(output);
    std::mem::forget(extraction);
    match args.out.as_deref().filter(|out| out.as_os_str() != "-") {
        Some(out) => {
            let display = display_path(&args.root, out);
            if let Err(e) = spectrace_core::fsio::write_atomic(out, text.as_bytes()) {
                return fail(&[Diagnostic::error(
                    display,
                    None,
                    format!("cannot write: {e}"),
                )]);
            }
            eprintln!("spectrace: {summary} → {display}");
        }
        None => {
            if let Err(d) = print_stdout(&text) {
                return fail(&[d]);
            }
            eprintln!("spectrace: {summary}");
        }
    }
    ExitCode::SUCCESS
}

/// `spectrace scan --format json`: the scan and the requirements no `#[implements]` names.
#[derive(serde::Serialize)]
struct ScanJson<'a> {
    #[serde(flatten)]
    scan: &'a spectrace_core::scan::Scan,
    /// Requirements (MUST, SHOULD, MAY) without an implementation link, in ID order.
    unimplemented: &'a [String],
}

/// `None` means stdout.
fn output_path(args: &ExtractArgs, config: &Config) -> Option<PathBuf> {
    match &args.out {
        Some(path) if path.as_os_str() == "-" => None,
        Some(path) => Some(path.clone()),
        None => {
            let configured = args.root.join(&config.outputs.index);
            Some(match args.format {
                IndexFormat::Yaml => configured,
                IndexFormat::Json => configured.with_extension("json"),
            })
        }
    }
}

fn display_path(root: &Path, path: &Path) -> String {
    spectrace_core::paths::relative_to(root, path)
}

fn summary(index: &spectrace_core::model::RequirementIndex) -> String {
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
