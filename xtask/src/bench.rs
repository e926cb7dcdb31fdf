//! `cargo xtask bench`: performance benchmarks, each a submodule.

pub mod corpus;
pub mod engine;
pub mod evidence_corpus;
pub mod extract;
pub mod gate;
mod harness;
pub mod report;
mod ripgrep;
pub mod runtime;
pub mod scale;
pub mod scale_corpus;
pub mod server;
pub mod site;
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
  report     `spectrace report` (release build) on a generated repository: the
             {total} requirements of `extract`, {tests} annotated tests in {test_files}
             Rust files, {scenarios} scenarios in {features} feature files and one run's
             evidence records, against `rg -c` over the same files;
             targets: median wall <= 1 s, peak RSS <= 200 MB.
  site       `spectrace site` (release build) on the tree of `report`, after one
             `spectrace report`: build time and the site's size on disk (allocated
             blocks, apparent bytes, files); targets: median wall <= 2 s, <= 30 MB on disk.
  server     orchestratord (release, zero-delay sim pool) against a minimal axum SSE
             server, in alternated 5 s rounds of each scenario: tasks/s, admission latency
             at 1,000 tasks/s, 429 latency at 10x overload (p50/p99/p99.9, HDR histograms,
             corrected for coordinated omission and not), RSS after warm-up and at the end;
             targets, within the run: throughput >= 60 % of the baseline's, admission
             p99 <= baseline + 0.3 ms and p99.9 <= baseline + 1 ms, 429 p99 <= baseline
             + 0.3 ms, RSS growth <= 16 MiB.
  soak       the throughput scenario against both servers in alternated 10 s rounds,
             orchestratord's RSS sampled twice a second; targets: peak of the last half
             <= 110 % of the first half's, peak < 200 MB; throughput ratio reported.
  streams    10,000 concurrent event streams from one sim pool (RLIMIT_NOFILE raised),
             each on its own connection: RSS per open stream, time to drain, every token
             checked; a second round cancels half after their first token; targets:
             <= 20 KiB RSS per open stream, no lost, repeated or late token.

  runtime    the clean debug build of a one-test crate that uses #[spectrace::covers],
             with `spectrace` alone and with `spectrace` + `spectrace-core` (what a test
             suite compiled when the recorder lived in the library), alternated; medians
             and the ratio, no target.

  engine     the real engine (llama.cpp, Gemma 3 270M from PyPI) streamed directly and
             through orchestratord with a llamacpp pool, alternated: time to first
             token and decode tokens/s per path and their ratio (no target: the
             orchestrator's overhead on real inference).

Options of `extract`, `report` and `site`:
  --runs N      timed runs per tool, alternated (default {default}, at least {min})
  --keep DIR    generate the corpus in DIR and keep it (default: a temporary directory,
                removed at the end)

Options of `server` and `soak`:
  --seconds N   seconds of each scenario per server (default {server_seconds} for `server`,
                {soak_seconds} for `soak`)

Options of `streams`:
  --streams N   streams open at once (default {streams})

Options of `engine`:
  --runs N      completions per path (default {default}, at least {min})

Options of `runtime`:
  --runs N      clean builds per crate (default and least {runtime_runs})
",
        files = corpus::FILES,
        total = corpus::FILES * corpus::REQUIREMENTS_PER_FILE,
        tests = evidence_corpus::TEST_FILES * evidence_corpus::TESTS_PER_FILE,
        test_files = evidence_corpus::TEST_FILES,
        scenarios = evidence_corpus::FEATURE_FILES * evidence_corpus::SCENARIOS_PER_FEATURE,
        features = evidence_corpus::FEATURE_FILES,
        default = crate::cli::DEFAULT_RUNS,
        min = crate::cli::MIN_RUNS,
        runtime_runs = crate::cli::RUNTIME_RUNS,
        server_seconds = crate::cli::SERVER_SECONDS,
        soak_seconds = crate::cli::SOAK_SECONDS,
        streams = crate::cli::STREAMS,
    )
}
