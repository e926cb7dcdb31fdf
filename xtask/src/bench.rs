//! `cargo xtask bench`: performance benchmarks, each a submodule.

pub mod corpus;
pub mod extract;
mod ripgrep;
mod stats;

/// The benchmarks and their options, printed by `cargo xtask bench`.
pub fn list() -> String {
    format!(
        "\
Usage: cargo xtask bench <name> [options]

Benchmarks:
  extract    `spectrace extract` (release build) on {files} generated specs with
             {total} requirements, against `rg -c` (ripgrep: the I/O floor);
             targets: median wall <= 200 ms, peak RSS <= 100 MB.

Options of `extract`:
  --runs N      timed runs per tool, alternated (default {default}, at least {min})
  --keep DIR    generate the corpus in DIR and keep it (default: a temporary directory,
                removed at the end)
",
        files = corpus::FILES,
        total = corpus::FILES * corpus::REQUIREMENTS_PER_FILE,
        default = crate::cli::DEFAULT_RUNS,
        min = crate::cli::MIN_RUNS,
    )
}
