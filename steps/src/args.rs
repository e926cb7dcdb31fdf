//! The runner's command line. `cargo test` hands every test binary libtest's arguments
//! (`--nocapture`, `--test-threads N`, `--quiet`, name filters, …), which cucumber's parser
//! rejects. [`split`] keeps cucumber's own options (`--tags`, `--name`, `--concurrency`, …) and
//! drops everything that belongs to libtest, including positional filters: a filter selects
//! libtest test names, and the BDD suite always runs whole (use `--name` or `--tags` to select
//! scenarios).

/// Cucumber options that take a value (long and short spellings).
const CUCUMBER_VALUED: &[&str] = &[
    "--name",
    "--scenario-name",
    "-n",
    "--tags",
    "-t",
    "--input",
    "-i",
    "--concurrency",
    "-c",
    "--retry",
    "--retry-after",
    "--retry-tag-filter",
    "--color",
];

/// Cucumber options without a value.
const CUCUMBER_FLAGS: &[&str] = &["--fail-fast", "--ff", "--help", "-h"];

/// libtest options that take a value.
const LIBTEST_VALUED: &[&str] = &[
    "--test-threads",
    "--skip",
    "--format",
    "--logfile",
    "--shuffle-seed",
    "-Z",
];

/// libtest options without a value.
const LIBTEST_FLAGS: &[&str] = &[
    "--nocapture",
    "--no-capture",
    "--show-output",
    "--quiet",
    "-q",
    "--exact",
    "--ignored",
    "--include-ignored",
    "--list",
    "--test",
    "--bench",
    "--force-run-in-process",
    "--report-time",
    "--ensure-time",
    "--shuffle",
];

/// The runner's arguments, split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Args {
    /// Program name and cucumber's options, for `cucumber::cli::Opts::parse_from`.
    pub cucumber: Vec<String>,
    /// libtest's `--list` was given: list nothing and run nothing (the suite is one binary, not
    /// a set of libtest tests).
    pub list_only: bool,
    /// What was dropped, for a note on the console.
    pub dropped: Vec<String>,
}

/// The option's name without an `=value` part.
fn name_of(arg: &str) -> &str {
    if arg.starts_with("--") {
        arg.split_once('=').map_or(arg, |(name, _)| name)
    } else {
        arg
    }
}

/// True for `-v`, `-vv`, …: cucumber's verbosity counter.
fn is_verbosity(arg: &str) -> bool {
    arg.len() >= 2 && arg.starts_with('-') && arg[1..].bytes().all(|b| b == b'v')
}

/// Splits the process arguments (program name first) into cucumber's and libtest's.
pub fn split<I: IntoIterator<Item = String>>(args: I) -> Args {
    let mut args = args.into_iter();
    let mut out = Args {
        cucumber: args.next().into_iter().collect(),
        ..Args::default()
    };
    while let Some(arg) = args.next() {
        let name = name_of(&arg);
        let inline_value = name.len() != arg.len();
        if CUCUMBER_VALUED.contains(&name) {
            out.cucumber.push(arg.clone());
            if !inline_value && let Some(value) = args.next() {
                out.cucumber.push(value);
            }
        } else if CUCUMBER_FLAGS.contains(&name) || is_verbosity(&arg) {
            out.cucumber.push(arg);
        } else if LIBTEST_VALUED.contains(&name) {
            out.dropped.push(arg.clone());
            if !inline_value && let Some(value) = args.next() {
                out.dropped.push(value);
            }
        } else if LIBTEST_FLAGS.contains(&name) {
            out.list_only |= name == "--list";
            out.dropped.push(arg);
        } else if arg.starts_with('-') {
            // Unknown to both: cucumber reports it, so a typo is not silently ignored.
            out.cucumber.push(arg);
        } else {
            // A positional argument is a libtest name filter.
            out.dropped.push(arg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_str(line: &str) -> Args {
        split(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn libtest_flags_values_and_filters_are_dropped() {
        let args = split_str(
            "bdd --nocapture --test-threads 2 --quiet some_filter --format=terse -Z unstable-options --exact",
        );
        assert_eq!(args.cucumber, ["bdd"]);
        assert!(!args.list_only);
        assert_eq!(
            args.dropped,
            [
                "--nocapture",
                "--test-threads",
                "2",
                "--quiet",
                "some_filter",
                "--format=terse",
                "-Z",
                "unstable-options",
                "--exact"
            ]
        );
    }

    #[test]
    fn cucumber_options_are_kept_with_their_values() {
        let args = split_str(
            "bdd --tags @ORCH-2007 -n backpressure --concurrency=2 -vv --fail-fast --nocapture",
        );
        assert_eq!(
            args.cucumber,
            [
                "bdd",
                "--tags",
                "@ORCH-2007",
                "-n",
                "backpressure",
                "--concurrency=2",
                "-vv",
                "--fail-fast"
            ]
        );
        assert_eq!(args.dropped, ["--nocapture"]);
    }

    #[test]
    fn list_runs_nothing_and_unknown_options_reach_cucumber() {
        assert!(split_str("bdd --list --format terse").list_only);
        assert_eq!(split_str("bdd --tagz x").cucumber, ["bdd", "--tagz"]);
    }
}
