//! A synthetic, deterministic spec corpus for benchmarks: [`FILES`] Markdown specs under
//! `.specs/`, each defining [`REQUIREMENTS_PER_FILE`] requirements, IDs `ORCH-0000` upwards,
//! each defined exactly once.
//!
//! The text looks like a real spec: an H1 title, numbered `##` sections every ten
//! requirements, `###` subsections with punctuation, requirements as list items (sometimes
//! paragraphs) ending in their `[ORCH-NNNN]` token, with RFC 2119 keywords, inline code, bold,
//! links, references to other IDs, and now and then a paragraph, a note, a table or a fenced
//! code block without any definition. A fixed-seed LCG picks the words, so every run (and
//! every machine) gets the same bytes.

use std::io;
use std::path::Path;

/// Spec files in the corpus.
pub const FILES: usize = 100;
/// Requirements each spec defines.
pub const REQUIREMENTS_PER_FILE: usize = 100;
/// Requirements per `##` section.
const PER_SECTION: usize = 10;
/// Every ID in the corpus is below this.
const TOTAL: usize = FILES * REQUIREMENTS_PER_FILE;
/// The LCG seed: any constant will do, this one is fixed forever.
const SEED: u64 = 0x5EC7_2ACE_0000_2119;

/// One generated file: a spec here, any file of a benchmark's tree elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the corpus root, such as `.specs/spec-007.md`.
    pub path: String,
    /// Markdown text.
    pub text: String,
}

/// The whole corpus, in file order.
pub fn generate() -> Vec<GeneratedFile> {
    let mut rng = Lcg(SEED);
    (0..FILES)
        .map(|file| GeneratedFile {
            path: format!(".specs/spec-{file:03}.md"),
            text: spec_text(file, &mut rng),
        })
        .collect()
}

/// Writes `files` under `root` and returns the number of bytes written.
pub fn write(root: &Path, files: &[GeneratedFile]) -> io::Result<u64> {
    let mut bytes = 0;
    for file in files {
        let path = root.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &file.text)?;
        bytes += file.text.len() as u64;
    }
    Ok(bytes)
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants); the high bits are used.
/// Shared by the benchmarks' generators, each with its own fixed seed.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    /// The next 32 random bits.
    pub(crate) fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The top 32 bits: the low bits of an LCG cycle with short periods.
        (self.0 >> 32) as u32
    }

    /// Uniform-enough in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }

    /// True with probability `percent` / 100.
    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (not empty).
    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TOPICS: &[&str] = &[
    "Task orchestration",
    "Worker pools & queues",
    "Scheduling (priorities and fairness)",
    "Retry & backoff",
    "Leases and distributed locks",
    "Persistence: the journal",
    "Cluster membership",
    "Admission control",
    "Observability & metrics",
    "Configuration",
    "Cancellation and timeouts",
    "Upgrades (v1 → v2)",
];

const SECTIONS: &[&str] = &[
    "Overview",
    "Terminology & conventions",
    "Task lifecycle",
    "Queues",
    "Failure handling",
    "Limits and quotas",
    "Security considerations",
    "Compatibility",
    "Metrics & tracing",
    "Shutdown",
    "Recovery",
    "Operational requirements",
];

const SUBSECTIONS: &[&str] = &[
    "Timeouts & cancellation",
    "Back-pressure (bounded queues)",
    "Ordering (FIFO vs. priority)",
    "Errors & retries",
    "Idempotency keys",
    "Heartbeats",
    "State transitions",
    "Draining (graceful shutdown)",
    "Clock skew & leases",
    "Defaults",
    "Edge cases",
    "Authentication & authorization",
];

const TITLES: &[&str] = &[
    "Bounded queue",
    "Graceful drain",
    "Lease renewal",
    "At-most-once start",
    "Idempotent submit",
    "Ordered delivery",
    "Heartbeat interval",
    "Backoff ceiling",
    "Journal before ack",
    "Cancellation propagates",
    "Quota check",
    "Stable task IDs",
    "No silent drops",
    "Clock source",
    "Structured errors",
];

const SUBJECTS: &[&str] = &[
    "Each pool",
    "The scheduler",
    "A worker",
    "The coordinator",
    "Every task",
    "The journal",
    "A client",
    "The admission controller",
    "The lease manager",
    "An operator command",
];

const POSITIVE: &[&str] = &[
    "keep at most `capacity` tasks queued",
    "reject a submission with `QueueFull` once `max_inflight` is reached",
    "retry a failed task with exponential backoff capped at `max_backoff`",
    "persist the state change to the journal before acknowledging it",
    "emit a `task_started` event with the task's ID and attempt number",
    "renew its lease before half of `lease_ttl` has elapsed",
    "expose the queue depth as the `orch_queue_depth` gauge",
    "stop accepting work when it receives `SIGTERM`",
    "order tasks of equal priority by submission time",
    "return the existing task when a submission repeats an idempotency key",
    "validate `config.toml` at start-up and report every error at once",
    "propagate cancellation to every child task within `cancel_grace`",
];

const NEGATIVE: &[&str] = &[
    "start a task whose lease has expired",
    "drop a queued task without recording why",
    "log secrets or bearer tokens in plain text",
    "block the scheduler thread on I/O",
    "retry a task marked `non_retryable`",
    "reuse a task ID, even after the task was purged",
    "acknowledge a submission before the journal write is durable",
];

const OPTIONAL: &[&str] = &[
    "batch journal writes of up to `batch_size` records",
    "cache the result of a completed task for `result_ttl`",
    "run more than one worker per CPU core",
    "compress journal segments older than one hour",
    "expose a `/debug/queues` endpoint",
    "coalesce heartbeats from the same host",
];

const SECOND_SENTENCES: &[&str] = &[
    "Implementations MAY make the limit configurable.",
    "This is checked by `orch doctor`.",
    "Rationale: see [design notes](#design-notes).",
    "Operators SHOULD alert on violations.",
    "The default is documented in [configuration](#configuration).",
];

const INTROS: &[&str] = &[
    "This section describes the externally visible behaviour; internal data structures are \
     out of scope.",
    "The requirements below apply to every deployment, single-node and clustered alike.",
    "Terms in *italics* are defined in [terminology](#terminology--conventions).",
    "Examples are informative; only the numbered requirements are normative.",
];

const NOTES: &[&str] = &[
    "This mirrors the behaviour of",
    "Earlier drafts relaxed this; compare",
    "Batch jobs follow the same rule as",
];

/// Builds one spec's Markdown, keeping track of whether a list is open so that blocks are
/// separated by exactly the blank lines Markdown needs.
struct Doc {
    text: String,
    in_list: bool,
}

impl Doc {
    /// A block (heading, paragraph, fence, table): ends any open list, blank line after.
    fn block(&mut self, block: &str) {
        if self.in_list {
            self.text.push('\n');
            self.in_list = false;
        }
        self.text.push_str(block);
        self.text.push_str("\n\n");
    }

    /// A list item: consecutive items form one list.
    fn item(&mut self, item: &str) {
        self.text.push_str("- ");
        self.text.push_str(item);
        self.text.push('\n');
        self.in_list = true;
    }
}

fn spec_text(file: usize, rng: &mut Lcg) -> String {
    let mut doc = Doc {
        text: String::with_capacity(24 * 1024),
        in_list: false,
    };
    let topic = TOPICS[file % TOPICS.len()];
    doc.block(&format!("# {topic} — spec {file:03}"));
    doc.block(
        "The key words MUST, MUST NOT, SHOULD, SHOULD NOT and MAY in this document are to be \
         interpreted as described in RFC 2119 and RFC 8174 when, and only when, they appear in \
         all capitals.",
    );
    for section in 0..REQUIREMENTS_PER_FILE / PER_SECTION {
        let number = section + 1;
        doc.block(&format!("## {number}. {}", rng.pick(SECTIONS)));
        if rng.chance(50) {
            doc.block(rng.pick(INTROS));
        }
        let mut subsection = 0;
        for k in 0..PER_SECTION {
            if (k == 0 && rng.chance(60)) || (k == PER_SECTION / 2 && rng.chance(50)) {
                subsection += 1;
                doc.block(&format!(
                    "### {number}.{subsection} {}",
                    rng.pick(SUBSECTIONS)
                ));
            }
            let id = file * REQUIREMENTS_PER_FILE + section * PER_SECTION + k;
            requirement(&mut doc, rng, id);
        }
        extras(&mut doc, rng);
    }
    doc.text.truncate(doc.text.trim_end().len());
    doc.text.push('\n');
    doc.text
}

/// One requirement, as a list item or (less often) a paragraph, ending in its ID token.
fn requirement(doc: &mut Doc, rng: &mut Lcg, id: usize) {
    let subject = rng.pick(SUBJECTS);
    let (keyword, predicate) = match rng.below(100) {
        0..45 => ("MUST", rng.pick(POSITIVE)),
        45..60 => ("MUST NOT", rng.pick(NEGATIVE)),
        60..85 => ("SHOULD", rng.pick(POSITIVE)),
        _ => ("MAY", rng.pick(OPTIONAL)),
    };
    let mut sentence = format!("{subject} {keyword} {predicate}");
    match rng.below(10) {
        0 | 1 => sentence.push_str(&format!("; see ORCH-{:04}", rng.below(TOTAL))),
        2 => sentence.push_str(&format!(
            " (see [spec](#{}-{}))",
            rng.below(10) + 1,
            rng.pick(&["queues", "failure-handling", "shutdown", "recovery"])
        )),
        3 => sentence.push_str(" unless `--force` is given"),
        4 => sentence.push_str(&format!(
            " within {} ms",
            rng.pick(&["50", "100", "250", "500", "1000"])
        )),
        _ => {}
    }
    sentence.push('.');
    if rng.chance(15) {
        sentence.push(' ');
        sentence.push_str(rng.pick(SECOND_SENTENCES));
    }
    if rng.chance(85) {
        let mut item = format!("**{}.** {sentence} [ORCH-{id:04}]", rng.pick(TITLES));
        if rng.chance(5) {
            // A nested bullet without an ID of its own belongs to the requirement.
            item.push_str(&format!(
                "\n  - Rationale: without it, ORCH-{:04} cannot hold.",
                rng.below(TOTAL)
            ));
        }
        doc.item(&item);
    } else {
        doc.block(&format!("{sentence} [ORCH-{id:04}]"));
    }
}

/// Now and then, blocks that define nothing: a note, a table or a fenced code block.
fn extras(doc: &mut Doc, rng: &mut Lcg) {
    if rng.chance(15) {
        doc.block(&format!(
            "> **Note:** {} ORCH-{:04}.",
            rng.pick(NOTES),
            rng.below(TOTAL)
        ));
    }
    if rng.chance(8) {
        doc.block(
            "| key | default | meaning |\n| --- | --- | --- |\n| `capacity` | 128 | queued \
             tasks per pool |\n| `lease_ttl` | 30s | lease lifetime |",
        );
    }
    if rng.chance(12) {
        let id = rng.below(TOTAL);
        let fence = if rng.chance(50) {
            format!("```toml\n[pool]\ncapacity = 128      # ORCH-{id:04}\nmax_inflight = 16\n```")
        } else {
            format!(
                "```rust\n// ORCH-{id:04}: the lease is renewed before it expires.\n\
                 let lease = coordinator.acquire(&task_id, ttl)?;\n```"
            )
        };
        doc.block(&fence);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `[ORCH-NNNN]` definition token in `text`, as numbers.
    fn definitions(text: &str) -> Vec<usize> {
        text.match_indices("[ORCH-")
            .filter_map(|(at, _)| {
                let token = text.get(at + 6..at + 11)?;
                let (digits, close) = token.split_at(4);
                (close == "]").then(|| digits.parse().ok()).flatten()
            })
            .collect()
    }

    #[test]
    fn corpus_defines_each_of_ten_thousand_ids_exactly_once() {
        let files = generate();
        assert_eq!(files.len(), 100);
        let paths: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths.len(), 100);
        assert!(paths.contains(".specs/spec-000.md") && paths.contains(".specs/spec-099.md"));
        let mut all = Vec::new();
        for file in &files {
            let ids = definitions(&file.text);
            assert_eq!(ids.len(), 100, "{}", file.path);
            all.extend(ids);
        }
        assert_eq!(all.len(), 10_000);
        let unique: BTreeSet<usize> = all.into_iter().collect();
        assert_eq!(unique, (0..10_000).collect());
    }

    #[test]
    fn corpus_is_deterministic_and_varied() {
        let files = generate();
        assert_eq!(files, generate());
        let text: String = files.iter().map(|f| f.text.as_str()).collect();
        for needle in [
            "MUST NOT",
            "SHOULD",
            "MAY",
            "```",
            "](#",
            "; see ORCH-",
            "### ",
            "&",
            "(",
            "`",
        ] {
            assert!(text.contains(needle), "no `{needle}` in the corpus");
        }
    }

    #[test]
    fn definitions_are_never_in_code_blocks_and_always_have_a_keyword() {
        for file in generate() {
            let mut in_fence = false;
            for line in file.text.lines() {
                if line.starts_with("```") {
                    in_fence = !in_fence;
                }
                let defines = !definitions(line).is_empty();
                assert!(!(in_fence && defines), "{}: {line}", file.path);
                if defines {
                    assert!(
                        ["MUST", "SHOULD", "MAY"].iter().any(|k| line.contains(k)),
                        "{}: {line}",
                        file.path
                    );
                }
            }
            assert!(!in_fence, "{}: unclosed fence", file.path);
        }
    }
}
