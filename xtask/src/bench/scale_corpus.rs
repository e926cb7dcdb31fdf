//! A synthetic, deterministic repository of any size for `bench gate` and `bench report
//! --scale`: `requirements` requirements in specs of [`PER_SPEC`] each, annotated Rust tests
//! (one file per spec) for some of them, and one run's evidence records, optionally spread
//! over several shard directories the way a CI matrix leaves them.
//!
//! IDs are `SC-000000` upwards (six digits, so 100,000 requirements fit), defined as list
//! items under numbered `##` sections, each with an RFC 2119 keyword, inline code and a
//! reference to its neighbour. Tests are `#[spectrace::covers]` functions; every record names
//! the `file:line` of its function's name, as `#[covers]` does, and a few records fail.

use super::corpus::GeneratedFile;

/// Requirements per spec file (`100` specs at 10,000 requirements).
pub const PER_SPEC: usize = 100;
/// Requirements per `##` section.
const PER_SECTION: usize = 10;
/// One record in this many fails, with a message.
const FAIL_EVERY: usize = 97;

/// How big the repository is and how its tests are spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Requirements, `SC-000000` up to this, excluded.
    pub requirements: usize,
    /// Tests per covered requirement.
    pub tests_per_requirement: usize,
    /// Cover every `cover_every`-th requirement (1: all of them, 2: every second one).
    pub cover_every: usize,
    /// Run directories the records are spread over: 1 writes `reports/run/`, more write
    /// `shards/NN/`.
    pub shards: usize,
}

impl Shape {
    /// Annotated tests in the tree.
    pub fn tests(&self) -> usize {
        self.requirements.div_ceil(self.cover_every) * self.tests_per_requirement
    }

    /// The `--run` arguments naming the records: none for one run directory (the configured
    /// `reports/run`), else one glob over the shard directories.
    pub fn run_args(&self) -> Vec<String> {
        if self.shards > 1 {
            vec!["--run".to_owned(), "shards/*".to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// The tree's configuration.
const CONFIG: &str = "\
# Written by `cargo xtask bench`.

[specs]
include = [\".specs/**/*.md\"]
id_pattern = \"SC-[0-9]{6}\"

[evidence]
rust = [\"tests/**/*.rs\"]
features = []
openapi = []
exclude = []

[outputs]
index = \"requirements/index.yaml\"
compliance_md = \"COMPLIANCE.md\"
compliance_json = \"reports/compliance.json\"
junit = \"reports/junit.xml\"
run_dir = \"reports/run\"
site = \"site/out\"
";

/// Top-level entries of the tree: what [`generate`] creates and spectrace writes.
pub const ENTRIES: &[&str] = &[
    ".specs",
    "tests",
    "reports",
    "shards",
    "requirements",
    "site",
    "spectrace.toml",
    "COMPLIANCE.md",
];

const KEYWORDS: &[&str] = &["MUST", "MUST NOT", "SHOULD", "MAY", "SHALL"];
const VERBS: &[&str] = &[
    "reject", "accept", "retry", "record", "expire", "forward", "cancel", "report",
];
const OBJECTS: &[&str] = &[
    "a request whose body exceeds the limit",
    "the lease of a worker that stopped answering",
    "every queued task of a drained pool",
    "a session whose budget is spent",
    "the metrics of a replica that restarted",
];

/// Generates the whole tree, in file order: specs, tests, evidence files, `spectrace.toml`.
pub fn generate(shape: Shape) -> Vec<GeneratedFile> {
    let specs = shape.requirements.div_ceil(PER_SPEC);
    let mut files = Vec::with_capacity(2 * specs + shape.shards + 1);
    let mut shard_lines: Vec<String> = vec![String::new(); shape.shards.max(1)];
    let mut test_count = 0usize;
    let mut test_files = Vec::new();
    for spec in 0..specs {
        let first = spec * PER_SPEC;
        let last = (first + PER_SPEC).min(shape.requirements);
        files.push(GeneratedFile {
            path: format!(".specs/spec-{spec:04}.md"),
            text: spec_text(spec, first, last),
        });
        let path = format!("tests/t-{spec:04}.rs");
        let mut text =
            format!("//! Tests of spec {spec:04}.\n\nfn double(x: u64) -> u64 {{\n    x * 2\n}}\n");
        let mut line = text.lines().count() + 1;
        for n in (first..last).filter(|n| n.is_multiple_of(shape.cover_every)) {
            for copy in 0..shape.tests_per_requirement {
                let name = format!("covers_{n:06}_{copy}");
                text.push_str(&format!(
                    "\n#[spectrace::covers(\"SC-{n:06}\")]\n#[test]\nfn {name}() {{\n    assert_eq!(double({n}), {});\n}}\n",
                    2 * n
                ));
                // The blank line and the two attributes come before the name.
                let fn_line = line + 3;
                line += 6;
                let failed = test_count % FAIL_EVERY == FAIL_EVERY - 1;
                let message = if failed {
                    format!(
                        "\"assertion `left == right` failed\\n  left: {}\\n right: {}\"",
                        2 * n + 1,
                        2 * n
                    )
                } else {
                    "null".to_owned()
                };
                let record = format!(
                    "{{\"ids\":[\"SC-{n:06}\"],\"test\":\"t_{spec:04}::{name}\",\"file\":\"{path}\",\"line\":{fn_line},\"kind\":\"test\",\"outcome\":\"{}\",\"message\":{message}}}\n",
                    if failed { "failed" } else { "passed" }
                );
                let shard = test_count % shard_lines.len();
                shard_lines[shard].push_str(&record);
                test_count += 1;
            }
        }
        test_files.push(GeneratedFile { path, text });
    }
    files.extend(test_files);
    for (i, lines) in shard_lines.into_iter().enumerate() {
        let path = if shape.shards > 1 {
            format!("shards/{i:02}/evidence-{}.jsonl", 1000 + i)
        } else {
            "reports/run/evidence-1000.jsonl".to_owned()
        };
        files.push(GeneratedFile { path, text: lines });
    }
    files.push(GeneratedFile {
        path: "spectrace.toml".to_owned(),
        text: CONFIG.to_owned(),
    });
    files
}

/// One spec: a title, then a numbered section every [`PER_SECTION`] requirements.
fn spec_text(spec: usize, first: usize, last: usize) -> String {
    let mut text = format!(
        "# Spec {spec:04}: generated requirements\n\nThis spec is generated for benchmarks; \
         its requirements reference their neighbours.\n"
    );
    for n in first..last {
        if (n - first).is_multiple_of(PER_SECTION) {
            let section = (n - first) / PER_SECTION + 1;
            text.push_str(&format!(
                "\n## {section}. Section {section} of spec {spec:04}\n\n"
            ));
        }
        let keyword = KEYWORDS[n % KEYWORDS.len()];
        let verb = VERBS[(n / 3) % VERBS.len()];
        let object = OBJECTS[(n / 7) % OBJECTS.len()];
        let neighbour = if n == 0 { 1 } else { n - 1 };
        text.push_str(&format!(
            "- **Rule {n}.** The service {keyword} {verb} {object} within `{}` ms \
             (see SC-{neighbour:06}). [SC-{n:06}]\n",
            n % 500 + 10
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_line_of_each_test_function() {
        let shape = Shape {
            requirements: 250,
            tests_per_requirement: 2,
            cover_every: 2,
            shards: 3,
        };
        let files = generate(shape);
        let tests: Vec<&GeneratedFile> = files
            .iter()
            .filter(|f| f.path.starts_with("tests/"))
            .collect();
        let mut records = 0;
        for shard in files.iter().filter(|f| f.path.starts_with("shards/")) {
            for record in shard.text.lines() {
                let field = |name: &str| {
                    let start = record.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
                    let rest = &record[start..];
                    let end = rest.find([',', '}']).unwrap();
                    rest[..end].trim_matches('"').to_owned()
                };
                let (file, test) = (field("file"), field("test"));
                let line: usize = field("line").parse().unwrap();
                let name = test.rsplit("::").next().unwrap();
                let source = tests.iter().find(|t| t.path == file).unwrap();
                let file = &file;
                let at = source.text.lines().nth(line - 1).unwrap();
                assert_eq!(at, format!("fn {name}() {{"), "{file}:{line}");
                records += 1;
            }
        }
        assert_eq!(records, shape.tests());
        assert_eq!(records, 250);
        assert_eq!(
            files
                .iter()
                .filter(|f| f.path.starts_with(".specs/"))
                .count(),
            3
        );
    }
}
