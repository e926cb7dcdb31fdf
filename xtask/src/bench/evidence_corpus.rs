//! A synthetic, deterministic tree of declared and executed evidence for `bench report`, to go
//! with the spec [`corpus`](super::corpus) (whose IDs, `ORCH-0000` to `ORCH-9999`, it covers):
//!
//! - [`TEST_FILES`] Rust files `tests/t-NNN.rs`, each with [`TESTS_PER_FILE`] tests annotated
//!   `#[spectrace::covers("ORCH-…", …)]`: `#[test]`s and `#[tokio::test]`s (some multi-thread),
//!   of every kind (`property`, `e2e`, `contract`, `compile`, the default), some returning
//!   `Result`, some `#[should_panic]`, spread over nested `mod` blocks between helpers,
//!   doc comments and comments that mention IDs without being evidence. Every requirement is
//!   covered by at least one test.
//! - [`FEATURE_FILES`] Gherkin files `features/f-NNN.feature`, each with
//!   [`SCENARIOS_PER_FEATURE`] scenarios tagged `@ORCH-…` on the Feature, on `Rule`s, on the
//!   scenarios and on `Examples`, with a Background, step tables, doc strings and a few
//!   `Scenario Outline`s.
//! - The evidence of one run, written as the runners write it: one JSON line
//!   (`spectrace::evidence::EvidenceRecord`) per test outcome, in several
//!   `reports/run/evidence-<pid>.jsonl` files ([`TEST_PROCESSES`] for the tests, one for the
//!   BDD runner), each in a shuffled (completion) order. Every test and every scenario ran
//!   once — a Scenario Outline once per Examples row, as the runner expands it, all rows under
//!   the outline's line — and a handful failed, with messages. Each record names the `file`
//!   and `line` the scanner declares: the line of the test function's name, or of the
//!   `Scenario`/`Scenario Outline` keyword.
//! - `spectrace.toml`, pointing `[specs]` and `[evidence]` at the above.
//!
//! A fixed-seed LCG picks the variations, so every run (and every machine) gets the same bytes.

use super::corpus::{self, GeneratedFile, Lcg};

/// Rust test files.
pub const TEST_FILES: usize = 1_000;
/// Annotated tests in each Rust test file.
pub const TESTS_PER_FILE: usize = 20;
/// Gherkin feature files.
pub const FEATURE_FILES: usize = 100;
/// Scenarios (plain or outlines) in each feature file.
pub const SCENARIOS_PER_FEATURE: usize = 20;
/// Test processes whose evidence files hold the Rust tests' records; the BDD runner writes one
/// more file.
pub const TEST_PROCESSES: usize = 7;
/// Requirement IDs of the spec corpus: `ORCH-0000` up to this, excluded.
const REQUIREMENTS: usize = corpus::FILES * corpus::REQUIREMENTS_PER_FILE;
/// The LCG seed: any constant will do, this one is fixed forever.
const SEED: u64 = 0xE71D_E2CE_0000_2002;
/// The run directory, as `spectrace.toml` configures it.
pub const RUN_DIR: &str = "reports/run";

/// The tree's configuration.
const CONFIG: &str = "\
# Written by `cargo xtask bench report`.

[specs]
include = [\".specs/**/*.md\"]
id_pattern = \"ORCH-[0-9]{4}\"

[evidence]
rust = [\"tests/**/*.rs\"]
features = [\"features/**/*.feature\"]
openapi = []
exclude = []

[outputs]
index = \"requirements/index.yaml\"
compliance_md = \"COMPLIANCE.md\"
compliance_json = \"reports/compliance.json\"
junit = \"reports/junit.xml\"
run_dir = \"reports/run\"
";

/// One evidence record, as `spectrace::evidence::EvidenceRecord` serializes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Requirement IDs.
    pub ids: Vec<String>,
    /// Test path (`t_007::admission::name`) or `Feature: Scenario`.
    pub test: String,
    /// File, relative to the tree's root.
    pub file: String,
    /// Line of the test function's name or of the scenario's keyword.
    pub line: u32,
    /// `test`, `property`, `contract`, `compile`, `e2e` or `bdd`.
    pub kind: &'static str,
    /// The failure message of a failed outcome; `None` when it passed.
    pub failure: Option<String>,
}

impl Record {
    /// The record's JSON line (without the newline), fields in `EvidenceRecord`'s order.
    pub fn to_json(&self) -> String {
        let ids: Vec<String> = self.ids.iter().map(|id| json_string(id)).collect();
        let (outcome, message) = match &self.failure {
            None => ("passed", "null".to_owned()),
            Some(message) => ("failed", json_string(message)),
        };
        format!(
            "{{\"ids\":[{}],\"test\":{},\"file\":{},\"line\":{},\"kind\":\"{}\",\"outcome\":\"{outcome}\",\"message\":{message}}}",
            ids.join(","),
            json_string(&self.test),
            json_string(&self.file),
            self.line,
            self.kind,
        )
    }
}

/// The generated tree (without the specs, which are the [`corpus`]'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// Test files, feature files, evidence files and `spectrace.toml`, in that order.
    pub files: Vec<GeneratedFile>,
    /// Every record, in source order (tests, then scenarios); the evidence files hold them
    /// shuffled.
    pub records: Vec<Record>,
    /// Scenario Outlines among the scenarios.
    pub outlines: usize,
}

/// Generates the whole tree.
pub fn generate() -> Tree {
    let mut rng = Lcg(SEED);
    let mut files = Vec::with_capacity(TEST_FILES + FEATURE_FILES + TEST_PROCESSES + 2);
    let mut records =
        Vec::with_capacity(TEST_FILES * TESTS_PER_FILE + 2 * FEATURE_FILES * SCENARIOS_PER_FEATURE);
    // The JSON lines of each writing process: the test binaries', then the BDD runner's.
    let mut processes: Vec<Vec<String>> = vec![Vec::new(); TEST_PROCESSES + 1];
    let mut log = |process: usize, records: &[Record]| {
        if let Some(lines) = processes.get_mut(process) {
            lines.extend(records.iter().map(Record::to_json));
        }
    };
    for file in 0..TEST_FILES {
        let first = records.len();
        files.push(rust_file(file, &mut rng, &mut records));
        log(
            file % TEST_PROCESSES,
            records.get(first..).unwrap_or_default(),
        );
    }
    let mut outlines = 0;
    for file in 0..FEATURE_FILES {
        let first = records.len();
        files.push(feature_file(file, &mut rng, &mut records, &mut outlines));
        log(TEST_PROCESSES, records.get(first..).unwrap_or_default());
    }
    for (p, lines) in processes.iter_mut().enumerate() {
        shuffle(lines, &mut rng);
        let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines.iter() {
            text.push_str(line);
            text.push('\n');
        }
        files.push(GeneratedFile {
            path: format!("{RUN_DIR}/evidence-{}.jsonl", 30_011 + 1_237 * p),
            text,
        });
    }
    files.push(GeneratedFile {
        path: "spectrace.toml".to_owned(),
        text: CONFIG.to_owned(),
    });
    Tree {
        files,
        records,
        outlines,
    }
}

/// `value` as a JSON string literal, escaped as serde_json escapes it.
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Fisher–Yates with the LCG: the order in which parallel tests finish.
fn shuffle<T>(items: &mut [T], rng: &mut Lcg) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

fn id(n: usize) -> String {
    format!("ORCH-{n:04}")
}

/// Text built line by line, so that every line's number is known when it is written.
struct Lines {
    text: String,
    lines: u32,
    /// One level of indentation.
    unit: &'static str,
}

impl Lines {
    fn new(unit: &'static str, capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
            lines: 0,
            unit,
        }
    }

    /// Appends `line` (no newline in it) at `indent` levels; returns its number, from 1.
    fn line(&mut self, indent: usize, line: &str) -> u32 {
        if !line.is_empty() {
            for _ in 0..indent {
                self.text.push_str(self.unit);
            }
            self.text.push_str(line);
        }
        self.text.push('\n');
        self.lines += 1;
        self.lines
    }

    fn blank(&mut self) {
        self.line(0, "");
    }

    /// Appends lines given with an indentation relative to `indent`.
    fn block(&mut self, indent: usize, lines: &[(usize, String)]) {
        for (extra, line) in lines {
            self.line(indent + extra, line);
        }
    }
}

const TOPICS: &[&str] = &[
    "Admission queue",
    "Task lifecycle",
    "Sessions and budgets",
    "Placement over replicas",
    "Streaming (SSE)",
    "Cancellation",
    "Drain and reload",
    "Health and readiness",
    "Metrics",
    "API keys",
    "Configuration",
    "Deterministic sampling",
];

const MODULES: &[&str] = &[
    "admission",
    "lifecycle",
    "sessions",
    "placement",
    "streaming",
    "cancel",
    "drain",
    "reload",
    "health",
    "metrics",
    "auth",
    "config",
    "priorities",
    "backoff",
    "overload",
    "errors",
];

const TEST_NAMES: &[&str] = &[
    "rejects_when_full",
    "dispatches_interactive_first",
    "keeps_fifo_within_a_class",
    "cancel_ends_the_task_once",
    "no_token_after_cancel",
    "drain_finishes_running_tasks",
    "reload_keeps_running_tasks",
    "budget_is_charged_at_admission",
    "unused_tokens_are_refunded",
    "unknown_fields_are_rejected",
    "error_envelope_has_correlation_id",
    "retry_after_on_429",
    "same_seed_same_tokens",
    "ready_only_after_self_test",
    "metrics_start_at_zero",
    "wrong_key_is_403",
    "missing_key_is_401",
    "sse_ends_with_one_terminal_event",
    "placement_prefers_free_slots",
    "batch_runs_under_anti_starvation",
];

const DOCS: &[&str] = &[
    "A full queue refuses new work instead of growing.",
    "Cancelling twice is harmless and ends the task once.",
    "The terminal event is the last event of every stream.",
    "Budgets are charged before the engine sees the prompt.",
    "Every error response carries the one envelope.",
    "A reload never interrupts a running task.",
];

const COMMENT_NOTES: &[&str] = &[
    "see also",
    "the end-to-end side of this is",
    "compare the property test of",
    "regression test for the bug behind",
];

/// How a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Sync,
    Tokio,
    TokioMultiThread,
}

/// One Rust test file; pushes one record per test.
fn rust_file(file: usize, rng: &mut Lcg, records: &mut Vec<Record>) -> GeneratedFile {
    let path = format!("tests/t-{file:03}.rs");
    let crate_name = format!("t_{file:03}");
    let mut out = Lines::new("    ", 24 * 1024);
    let topic = TOPICS.get(file % TOPICS.len()).copied().unwrap_or("Tests");
    out.line(
        0,
        &format!("//! {topic}: integration tests of `orchestrator-core` and `orchestratord`."),
    );
    out.line(0, "//!");
    out.line(
        0,
        "//! Written by `cargo xtask bench report`. IDs in comments are references, not evidence.",
    );
    out.blank();
    for line in [
        "use std::collections::VecDeque;",
        "use std::time::Duration;",
        "",
        "use orchestrator_core::lifecycle::{Lifecycle, State};",
        "use orchestrator_core::pool::{PoolConfig, PoolScheduler};",
        "use orchestrator_core::queue::{Priority, Queue, QueueError};",
        "use orchestrator_core::sampler::SplitMix64;",
        "use orchestratord::testing::{TaskEvent, TestServer, config_with_capacity, task};",
        "",
    ] {
        out.line(0, line);
    }
    out.line(
        0,
        &format!("const CAPACITY: usize = {};", 4 + rng.below(60)),
    );
    out.blank();
    out.block(
        0,
        &[
            (0, "/// A queue holding `tasks` batch tasks.".to_owned()),
            (0, "fn queue_with(tasks: usize) -> Queue<u64> {".to_owned()),
            (1, "let mut queue = Queue::new(CAPACITY);".to_owned()),
            (1, "for id in 0..tasks as u64 {".to_owned()),
            (
                2,
                "queue.push(id, Priority::Batch).expect(\"room\");".to_owned(),
            ),
            (1, "}".to_owned()),
            (1, "queue".to_owned()),
            (0, "}".to_owned()),
        ],
    );
    out.blank();
    out.block(
        0,
        &[
            (
                0,
                "fn pool_config(replicas: usize, slots: usize) -> PoolConfig {".to_owned(),
            ),
            (1, "PoolConfig {".to_owned()),
            (2, "replicas,".to_owned()),
            (2, "slots,".to_owned()),
            (2, "..PoolConfig::default()".to_owned()),
            (1, "}".to_owned()),
            (0, "}".to_owned()),
        ],
    );

    let mut modules: Vec<String> = Vec::new();
    let mut used_modules: Vec<&str> = Vec::new();
    for k in 0..TESTS_PER_FILE {
        if !modules.is_empty() && rng.chance(20) {
            modules.pop();
            out.line(modules.len(), "}");
        }
        if modules.len() < 2 && rng.chance(18) {
            let name = fresh_module(rng, &mut used_modules);
            out.blank();
            out.line(modules.len(), &format!("mod {name} {{"));
            out.line(modules.len() + 1, "use super::*;");
            modules.push(name);
            if rng.chance(30) {
                out.blank();
                out.line(
                    modules.len(),
                    &format!(
                        "// {}: {} ORCH-{:04}.",
                        TOPICS
                            .get(rng.below(TOPICS.len()))
                            .copied()
                            .unwrap_or_default(),
                        rng.pick(COMMENT_NOTES),
                        rng.below(REQUIREMENTS)
                    ),
                );
            }
        }
        out.blank();
        let global = file * TESTS_PER_FILE + k;
        let module_path: String = std::iter::once(crate_name.as_str())
            .chain(modules.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("::");
        records.push(rust_test(
            &mut out,
            rng,
            modules.len(),
            global,
            k,
            &module_path,
            &path,
        ));
    }
    while modules.pop().is_some() {
        out.line(modules.len(), "}");
    }
    GeneratedFile {
        path,
        text: out.text,
    }
}

/// A module name not used yet in this file.
fn fresh_module(rng: &mut Lcg, used: &mut Vec<&'static str>) -> String {
    let start = rng.below(MODULES.len());
    let name = (0..MODULES.len())
        .filter_map(|i| MODULES.get((start + i) % MODULES.len()).copied())
        .find(|name| !used.contains(name));
    match name {
        Some(name) => {
            used.push(name);
            name.to_owned()
        }
        None => format!("more_{}", used.len()),
    }
}

/// One annotated test at `indent`; returns its record.
fn rust_test(
    out: &mut Lines,
    rng: &mut Lcg,
    indent: usize,
    global: usize,
    k: usize,
    module_path: &str,
    path: &str,
) -> Record {
    let mut ids = vec![id(global % REQUIREMENTS)];
    for percent in [30, 10] {
        if rng.chance(percent) {
            let extra = id(rng.below(REQUIREMENTS));
            if !ids.contains(&extra) {
                ids.push(extra);
            }
        }
    }
    let (kind, explicit) = match rng.below(100) {
        0..3 => ("test", true),
        3..62 => ("test", false),
        62..77 => ("property", true),
        77..87 => ("e2e", true),
        87..95 => ("contract", true),
        _ => ("compile", true),
    };
    let async_percent = match kind {
        "e2e" => 70,
        "property" | "compile" => 0,
        _ => 15,
    };
    let flavor = if rng.chance(async_percent) {
        if rng.chance(30) {
            Flavor::TokioMultiThread
        } else {
            Flavor::Tokio
        }
    } else {
        Flavor::Sync
    };
    let should_panic = flavor == Flavor::Sync && kind == "test" && rng.chance(4);
    let returns_result = !should_panic && kind != "property" && rng.chance(25);

    if rng.chance(35) {
        out.line(indent, &format!("/// {}", rng.pick(DOCS)));
    }
    let mut arguments: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    if explicit {
        arguments.push(format!("kind = \"{kind}\""));
    }
    if arguments.len() > 2 {
        // As rustfmt leaves a long attribute: one argument per line.
        out.line(indent, "#[spectrace::covers(");
        let last = arguments.len() - 1;
        for (i, argument) in arguments.iter().enumerate() {
            let comma = if i < last { "," } else { "" };
            out.line(indent + 1, &format!("{argument}{comma}"));
        }
        out.line(indent, ")]");
    } else {
        out.line(
            indent,
            &format!("#[spectrace::covers({})]", arguments.join(", ")),
        );
    }
    match flavor {
        Flavor::Sync => out.line(indent, "#[test]"),
        Flavor::Tokio => out.line(indent, "#[tokio::test]"),
        Flavor::TokioMultiThread => out.line(
            indent,
            "#[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]",
        ),
    };
    if should_panic {
        out.line(indent, "#[should_panic(expected = \"queue is full\")]");
    }
    let name = format!("{}_{k:02}", rng.pick(TEST_NAMES));
    let asyncness = if flavor == Flavor::Sync { "" } else { "async " };
    let output = if returns_result {
        " -> Result<(), Box<dyn std::error::Error>>"
    } else {
        ""
    };
    let line = out.line(indent, &format!("{asyncness}fn {name}(){output} {{"));
    let body = test_body(rng, kind, flavor, should_panic, returns_result);
    out.block(indent + 1, &body);
    out.line(indent, "}");

    // About one test in a thousand fails.
    let failure = (global % 1_009 == 617).then(|| failure_message(flavor, returns_result));
    Record {
        ids,
        test: format!("{module_path}::{name}"),
        file: path.to_owned(),
        line,
        kind,
        failure,
    }
}

fn failure_message(flavor: Flavor, returns_result: bool) -> String {
    match (flavor, returns_result) {
        (_, true) => "Error: Full { capacity: 4 }".to_owned(),
        (Flavor::Sync, false) => {
            "assertion `left == right` failed\n  left: 3\n right: 4".to_owned()
        }
        (_, false) => "assertion failed: matches!(events.last(), Some(TaskEvent::End { .. }))\n\
             events: [Started, Token(\"a\"), Token(\"b\")]"
            .to_owned(),
    }
}

/// A body that looks like a real test of its kind; lines with their relative indentation.
fn test_body(
    rng: &mut Lcg,
    kind: &str,
    flavor: Flavor,
    should_panic: bool,
    returns_result: bool,
) -> Vec<(usize, String)> {
    let n = 1 + rng.below(16);
    let task = rng.below(100_000);
    let mut body: Vec<(usize, String)> =
        if should_panic {
            vec![
                (0, "let mut queue = queue_with(CAPACITY);".to_owned()),
                (
                    0,
                    format!("queue.push({task}, Priority::Interactive).expect(\"queue is full\");"),
                ),
            ]
        } else if kind == "property" {
            vec![
                (
                    0,
                    format!("let mut rng = SplitMix64::new({:#x});", rng.next()),
                ),
                (0, format!("for case in 0..{} {{", 64 * (1 + rng.below(8)))),
                (
                    1,
                    "let tasks = rng.below(CAPACITY as u64) as usize;".to_owned(),
                ),
                (1, "let queue = queue_with(tasks);".to_owned()),
                (
                    1,
                    "let order: Vec<u64> = queue.dispatch_order().collect();".to_owned(),
                ),
                (
                    1,
                    "assert_eq!(order.len(), tasks, \"case {case}\");".to_owned(),
                ),
                (
                    1,
                    "assert!(order.windows(2).all(|w| w[0] < w[1]), \"case {case}: {order:?}\");"
                        .to_owned(),
                ),
                (0, "}".to_owned()),
            ]
        } else if flavor != Flavor::Sync && returns_result {
            vec![
                (
                    0,
                    format!("let server = TestServer::start(config_with_capacity({n})).await;"),
                ),
                (0, "let response = tokio::time::timeout(".to_owned()),
                (
                    1,
                    format!("Duration::from_millis({}),", 50 * (1 + rng.below(20))),
                ),
                (1, format!("server.client().cancel({task}.into()),")),
                (0, ")".to_owned()),
                (0, ".await??;".to_owned()),
                (0, "assert_eq!(response.status(), 404);".to_owned()),
            ]
        } else if flavor != Flavor::Sync {
            vec![
            (0, format!("let server = TestServer::start(config_with_capacity({n})).await;")),
            (0, "let client = server.client();".to_owned()),
            (0, format!("let accepted = client.enqueue(&task({task})).await.expect(\"enqueue\");")),
            (0, "assert_eq!(accepted.status(), 202);".to_owned()),
            (0, "let events: Vec<TaskEvent> = client".to_owned()),
            (1, ".events(accepted.task_id())".to_owned()),
            (1, format!(".take({})", 2 + rng.below(30))),
            (1, ".collect()".to_owned()),
            (1, ".await;".to_owned()),
            (
                0,
                "assert!(matches!(events.last(), Some(TaskEvent::End { .. })), \"{events:?}\");"
                    .to_owned(),
            ),
        ]
        } else if returns_result {
            vec![
                (0, format!("let mut queue = queue_with({n});")),
                (0, format!("queue.push({task}, Priority::Interactive)?;")),
                (
                    0,
                    "let first = queue.pop().ok_or(\"empty queue\")?;".to_owned(),
                ),
                (
                    0,
                    format!("assert_eq!(first, {task}, \"interactive before batch\");"),
                ),
            ]
        } else {
            match rng.below(3) {
                0 => vec![
                (0, format!("let mut queue = queue_with({n});")),
                (0, format!("assert_eq!(queue.len(), {n});")),
                (0, "let rejected = queue.push(u64::MAX, Priority::Batch);".to_owned()),
                (
                    0,
                    "assert!(matches!(rejected, Err(QueueError::Full { .. })), \"{rejected:?}\");"
                        .to_owned(),
                ),
            ],
                1 => vec![
                    (
                        0,
                        format!(
                            "let mut pool = PoolScheduler::new(pool_config({}, {}));",
                            1 + rng.below(4),
                            1 + rng.below(8)
                        ),
                    ),
                    (0, "let admitted: Vec<_> = (0..3)".to_owned()),
                    (
                        1,
                        ".map(|i| pool.admit(task(i)).expect(\"admitted\"))".to_owned(),
                    ),
                    (1, ".collect();".to_owned()),
                    (0, "let ended = pool.cancel(admitted[0]);".to_owned()),
                    (0, "assert_eq!(ended.len(), 1, \"{ended:?}\");".to_owned()),
                    (
                        0,
                        "assert_eq!(ended[0].state, State::Cancelled);".to_owned(),
                    ),
                ],
                _ => vec![
                    (
                        0,
                        format!("let mut lifecycle = Lifecycle::new({task}.into());"),
                    ),
                    (
                        0,
                        "for state in [State::Queued, State::Running, State::Succeeded] {"
                            .to_owned(),
                    ),
                    (
                        1,
                        "lifecycle.advance(state).expect(\"legal transition\");".to_owned(),
                    ),
                    (0, "}".to_owned()),
                    (0, "assert!(lifecycle.is_terminal());".to_owned()),
                    (
                        0,
                        "assert!(lifecycle.advance(State::Running).is_err());".to_owned(),
                    ),
                    (
                        0,
                        "let history: VecDeque<State> = lifecycle.history().collect();".to_owned(),
                    ),
                    (0, "assert_eq!(history.len(), 3);".to_owned()),
                ],
            }
        };
    if returns_result {
        body.push((0, "Ok(())".to_owned()));
    }
    body
}

const WANTS: &[&str] = &[
    "bounded queues",
    "tasks to end exactly once",
    "streams I can cancel",
    "budgets that cannot be overdrawn",
    "errors I can act on",
];

const RULES: &[&str] = &[
    "Interactive work goes first",
    "A full queue refuses work",
    "Cancelled tasks produce no more tokens",
    "Every stream ends with one terminal event",
    "Unready replicas get no work",
];

const SCENARIOS: &[&str] = &[
    "a task is admitted while there is room",
    "a submission to a full queue is refused",
    "a running task is cancelled",
    "a client disconnects mid-stream",
    "the pool drains while tasks run",
    "a reload swaps the model",
    "a session runs out of budget",
    "a request without an API key",
    "the metrics endpoint lists every series",
    "two tasks with the same seed",
];

/// Steps of a plain scenario, indentation relative to the steps.
fn scenario_steps(rng: &mut Lcg) -> Vec<(usize, String)> {
    let n = 1 + rng.below(8);
    let mut steps = vec![(
        0,
        format!("Given a pool \"default\" with queue capacity {n}"),
    )];
    match rng.below(4) {
        0 => {
            steps.push((0, "And these queued tasks:".to_owned()));
            steps.push((1, "| id | priority    |".to_owned()));
            for i in 0..1 + rng.below(3) {
                let priority = if rng.chance(50) {
                    "batch      "
                } else {
                    "interactive"
                };
                steps.push((1, format!("| t{i} | {priority} |")));
            }
            steps.push((0, "When a slot frees".to_owned()));
            steps.push((0, "Then the interactive task starts first".to_owned()));
        }
        1 => {
            steps.push((0, format!("And {n} queued batch tasks")));
            steps.push((0, "When a client enqueues a task".to_owned()));
            steps.push((0, "Then the response status is 429".to_owned()));
            steps.push((0, "And the response body is:".to_owned()));
            steps.push((1, "\"\"\"json".to_owned()));
            steps.push((
                1,
                "{\"error\": {\"code\": \"QUEUE_FULL\", \"retriable\": true}}".to_owned(),
            ));
            steps.push((1, "\"\"\"".to_owned()));
            steps.push((0, "And the response has a Retry-After header".to_owned()));
        }
        2 => {
            steps.push((
                0,
                format!("And a task streaming {} tokens", 10 + rng.below(90)),
            ));
            steps.push((0, "When the client cancels the task".to_owned()));
            steps.push((
                0,
                "Then the stream ends with a \"cancelled\" event".to_owned(),
            ));
            steps.push((0, "But no token arrives after it".to_owned()));
        }
        _ => {
            steps.push((0, "When a client enqueues a task".to_owned()));
            steps.push((0, "Then the response status is 202".to_owned()));
            steps.push((
                0,
                "And the task ends with finish reason \"length\"".to_owned(),
            ));
        }
    }
    steps
}

/// `@ORCH-…` tags and, now and then, a tag that is not an ID.
fn tag_line(ids: &[String], rng: &mut Lcg) -> String {
    let mut tags: Vec<String> = ids.iter().map(|id| format!("@{id}")).collect();
    if rng.chance(20) {
        tags.push(
            rng.pick(&["@smoke", "@slow", "@wip-free", "@regression"])
                .to_owned(),
        );
    }
    tags.join(" ")
}

/// Random IDs, one for each of `percents` that comes up (each with that chance), no repeats.
fn some_ids(rng: &mut Lcg, percents: &[usize]) -> Vec<String> {
    let mut ids = Vec::new();
    for &percent in percents {
        if rng.chance(percent) {
            let new = id(rng.below(REQUIREMENTS));
            if !ids.contains(&new) {
                ids.push(new);
            }
        }
    }
    ids
}

/// `inherited` followed by those of `own` it lacks.
fn joined(inherited: &[String], own: &[String]) -> Vec<String> {
    let mut ids = inherited.to_vec();
    for id in own {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// One feature file; pushes one record per scenario (per Examples row for an outline).
fn feature_file(
    file: usize,
    rng: &mut Lcg,
    records: &mut Vec<Record>,
    outlines: &mut usize,
) -> GeneratedFile {
    let path = format!("features/f-{file:03}.feature");
    let mut out = Lines::new("  ", 8 * 1024);
    let topic = TOPICS
        .get(file % TOPICS.len())
        .copied()
        .unwrap_or("Feature");
    let feature_name = format!("{topic} {file:03}");
    let feature_ids = joined(&[id(rng.below(REQUIREMENTS))], &some_ids(rng, &[30]));
    out.line(0, "# Written by `cargo xtask bench report`.");
    out.line(0, &tag_line(&feature_ids, rng));
    out.line(0, &format!("Feature: {feature_name}"));
    out.line(1, "As an operator of the orchestrator");
    out.line(1, &format!("I want {}", rng.pick(WANTS)));
    out.line(1, "So that overload is visible and nothing is lost");
    out.blank();
    out.line(1, "Background:");
    out.line(
        2,
        &format!(
            "Given orchestratord runs with {} replicas",
            1 + rng.below(4)
        ),
    );
    out.line(2, &format!("And the API key \"bench-{file:03}\""));

    // Scenarios from these indexes on are in a Rule.
    let rules: &[usize] = match rng.below(3) {
        0 => &[],
        1 => &[8],
        _ => &[8, 14],
    };
    let mut rule_ids: Vec<String> = Vec::new();
    let mut indent = 1;
    for s in 0..SCENARIOS_PER_FEATURE {
        if rules.contains(&s) {
            rule_ids = some_ids(rng, &[50]);
            out.blank();
            if !rule_ids.is_empty() {
                out.line(1, &tag_line(&rule_ids, rng));
            }
            out.line(1, &format!("Rule: {}", rng.pick(RULES)));
            if rng.chance(30) {
                out.line(2, "The rule holds for every pool and every priority.");
            }
            indent = 2;
        }
        let inherited = joined(&feature_ids, &rule_ids);
        let own = some_ids(rng, &[90, 15]);
        out.blank();
        if !own.is_empty() {
            out.line(indent, &tag_line(&own, rng));
        }
        let scenario_ids = joined(&inherited, &own);
        let name = format!("{} ({s:02})", rng.pick(SCENARIOS));
        let test = format!("{feature_name}: {name}");
        let executed = file * SCENARIOS_PER_FEATURE + s;
        if rng.chance(5) {
            *outlines += 1;
            let line = out.line(indent, &format!("Scenario Outline: {name}"));
            out.line(indent + 1, "Given a queued <first> task");
            out.line(indent + 1, "And a queued <second> task");
            out.line(indent + 1, "When a slot frees");
            out.line(indent + 1, "Then the <expected> task starts");
            for block in 0..1 + usize::from(rng.chance(40)) {
                let example_ids = some_ids(rng, &[30]);
                out.blank();
                if !example_ids.is_empty() {
                    out.line(indent + 1, &tag_line(&example_ids, rng));
                }
                let title = if block == 0 {
                    "Examples:"
                } else {
                    "Examples: under load"
                };
                out.line(indent + 1, title);
                out.line(indent + 2, "| first       | second      | expected    |");
                let ids = joined(&scenario_ids, &example_ids);
                for _ in 0..2 + rng.below(3) {
                    let row = rng.pick(&[
                        "| batch       | interactive | interactive |",
                        "| interactive | batch       | interactive |",
                        "| batch       | batch       | batch       |",
                        "| interactive | interactive | interactive |",
                    ]);
                    out.line(indent + 2, row);
                    records.push(Record {
                        ids: ids.clone(),
                        test: test.clone(),
                        file: path.clone(),
                        line,
                        kind: "bdd",
                        failure: None,
                    });
                }
            }
        } else {
            let line = out.line(indent, &format!("Scenario: {name}"));
            let steps = scenario_steps(rng);
            out.block(indent + 1, &steps);
            // About one scenario in four hundred fails.
            let failure = (executed % 397 == 100).then(|| {
                "Step failed: Then the response status is 429\n  expected: 429\n  actual: 503"
                    .to_owned()
            });
            records.push(Record {
                ids: scenario_ids,
                test,
                file: path.clone(),
                line,
                kind: "bdd",
                failure,
            });
        }
    }
    GeneratedFile {
        path,
        text: out.text,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn by_path(tree: &Tree) -> BTreeMap<&str, &str> {
        tree.files
            .iter()
            .map(|f| (f.path.as_str(), f.text.as_str()))
            .collect()
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(generate(), generate());
    }

    #[test]
    fn counts_of_files_tests_scenarios_and_records() {
        let tree = generate();
        let files = by_path(&tree);
        let tests: Vec<&str> = files
            .iter()
            .filter(|(p, _)| p.starts_with("tests/"))
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(tests.len(), 1_000);
        assert!(files.contains_key("tests/t-000.rs") && files.contains_key("tests/t-999.rs"));
        for text in &tests {
            let attributes = text
                .lines()
                .filter(|l| {
                    l.trim_start().starts_with("#[test]")
                        || l.trim_start().starts_with("#[tokio::test")
                })
                .count();
            assert_eq!(attributes, 20);
            assert_eq!(text.matches("#[spectrace::covers(").count(), 20);
            assert_eq!(text.matches('{').count(), text.matches('}').count());
        }
        let features: Vec<&str> = files
            .iter()
            .filter(|(p, _)| p.starts_with("features/") && p.ends_with(".feature"))
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(features.len(), 100);
        let scenarios: usize = features
            .iter()
            .flat_map(|t| t.lines())
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("Scenario:") || l.starts_with("Scenario Outline:")
            })
            .count();
        assert_eq!(scenarios, 2_000);
        assert!(
            (20..=200).contains(&tree.outlines),
            "{} outlines",
            tree.outlines
        );

        // One record per test, one per plain scenario, one per Examples row of an outline.
        let rust: Vec<&Record> = tree.records.iter().filter(|r| r.kind != "bdd").collect();
        assert_eq!(rust.len(), 20_000);
        let keys: BTreeSet<(&str, u32)> = rust.iter().map(|r| (r.file.as_str(), r.line)).collect();
        assert_eq!(keys.len(), 20_000);
        let bdd: Vec<&Record> = tree.records.iter().filter(|r| r.kind == "bdd").collect();
        let scenario_keys: BTreeSet<(&str, u32)> =
            bdd.iter().map(|r| (r.file.as_str(), r.line)).collect();
        assert_eq!(scenario_keys.len(), 2_000);
        let rows = features
            .iter()
            .flat_map(|t| t.lines())
            .filter(|l| {
                l.trim_start().starts_with("| batch") || l.trim_start().starts_with("| interactive")
            })
            .count();
        assert_eq!(bdd.len(), 2_000 - tree.outlines + rows);

        // The evidence files hold exactly the records, spread over several processes.
        let evidence: Vec<(&str, &str)> = files
            .iter()
            .filter(|(p, _)| p.starts_with("reports/run/"))
            .map(|(p, t)| (*p, *t))
            .collect();
        assert_eq!(evidence.len(), TEST_PROCESSES + 1);
        let mut lines: Vec<String> = Vec::new();
        for (path, text) in &evidence {
            let pid = path
                .strip_prefix("reports/run/evidence-")
                .and_then(|p| p.strip_suffix(".jsonl"))
                .unwrap();
            assert!(pid.parse::<u32>().is_ok(), "{path}");
            assert!(text.ends_with('\n'));
            lines.extend(text.lines().map(str::to_owned));
        }
        let mut expected: Vec<String> = tree.records.iter().map(Record::to_json).collect();
        lines.sort();
        expected.sort();
        assert_eq!(lines, expected);
        assert!(files.contains_key("spectrace.toml"));
    }

    #[test]
    fn every_record_points_at_a_fn_name_or_a_scenario_keyword() {
        let tree = generate();
        let files = by_path(&tree);
        for record in &tree.records {
            let text = files[record.file.as_str()];
            let lines: Vec<&str> = text.lines().collect();
            let at = record.line as usize - 1;
            let line = lines[at].trim_start();
            if record.kind == "bdd" {
                let (_, name) = record.test.split_once(": ").unwrap();
                assert!(
                    line == format!("Scenario: {name}")
                        || line == format!("Scenario Outline: {name}"),
                    "{}:{}: {line}",
                    record.file,
                    record.line
                );
                for id in &record.ids {
                    assert!(text.contains(&format!("@{id}")), "{}: {id}", record.file);
                }
            } else {
                let name = record.test.rsplit("::").next().unwrap();
                assert!(
                    line.starts_with(&format!("fn {name}("))
                        || line.starts_with(&format!("async fn {name}(")),
                    "{}:{}: {line}",
                    record.file,
                    record.line
                );
                // The attribute above the fn names exactly the record's IDs.
                let start = lines[..at]
                    .iter()
                    .rposition(|l| l.contains("#[spectrace::covers("))
                    .unwrap();
                let attribute: String = lines[start..at].concat();
                let named: Vec<&str> = attribute
                    .match_indices("\"ORCH-")
                    .map(|(i, _)| &attribute[i + 1..i + 10])
                    .collect();
                assert_eq!(named, record.ids, "{}:{}", record.file, record.line);
                let kind = format!("kind = \"{}\"", record.kind);
                assert!(
                    attribute.contains(&kind)
                        || (record.kind == "test" && !attribute.contains("kind"))
                );
                assert!(
                    record
                        .test
                        .starts_with(&record.file.replace("tests/t-", "t_").replace(".rs", "::"))
                );
            }
        }
    }

    #[test]
    fn every_requirement_is_covered_and_every_id_exists() {
        let tree = generate();
        let covered: BTreeSet<&str> = tree
            .records
            .iter()
            .filter(|r| r.kind != "bdd")
            .flat_map(|r| r.ids.iter().map(String::as_str))
            .collect();
        let all: BTreeSet<String> = (0..10_000).map(id).collect();
        assert_eq!(covered, all.iter().map(String::as_str).collect());
        for record in &tree.records {
            assert!(!record.ids.is_empty());
            assert!(record.ids.iter().all(|id| all.contains(id)), "{record:?}");
        }
    }

    #[test]
    fn a_handful_fail_and_the_tree_is_varied() {
        let tree = generate();
        let failed = tree.records.iter().filter(|r| r.failure.is_some()).count();
        assert!((10..=40).contains(&failed), "{failed} failed");
        assert!(
            tree.records
                .iter()
                .any(|r| r.kind == "bdd" && r.failure.is_some())
        );
        let text: String = tree.files.iter().map(|f| f.text.as_str()).collect();
        for needle in [
            "kind = \"property\"",
            "kind = \"e2e\"",
            "kind = \"contract\"",
            "kind = \"compile\"",
            "kind = \"test\"",
            "#[tokio::test]\n",
            "#[tokio::test(flavor = \"multi_thread\"",
            "#[should_panic(",
            "-> Result<(), Box<dyn std::error::Error>>",
            "\nmod ",
            "\n    mod ",
            "#[spectrace::covers(\n",
            "Rule:",
            "Scenario Outline:",
            "Examples:",
            "\"\"\"json",
            "| id | priority",
            "\"outcome\":\"failed\"",
        ] {
            assert!(text.contains(needle), "no `{needle}` in the tree");
        }
    }

    #[test]
    fn json_strings_are_escaped_like_serde_json() {
        assert_eq!(
            json_string("a\"b\\c\nd\te\u{1}é"),
            "\"a\\\"b\\\\c\\nd\\te\\u0001é\""
        );
        let record = Record {
            ids: vec!["ORCH-0001".to_owned(), "ORCH-0002".to_owned()],
            test: "t_000::a".to_owned(),
            file: "tests/t-000.rs".to_owned(),
            line: 7,
            kind: "e2e",
            failure: Some("boom\n".to_owned()),
        };
        assert_eq!(
            record.to_json(),
            r#"{"ids":["ORCH-0001","ORCH-0002"],"test":"t_000::a","file":"tests/t-000.rs","line":7,"kind":"e2e","outcome":"failed","message":"boom\n"}"#
        );
    }
}
