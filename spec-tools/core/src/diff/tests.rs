use super::render::{escape, json, markdown, words_markdown};
use super::*;

fn req(id: &str, level: Level, text: &str, status: Option<Status>) -> SideRequirement {
    SideRequirement {
        id: id.to_owned(),
        level,
        title: format!("Title of {id}"),
        text: text.to_owned(),
        spec: ".specs/s.md".to_owned(),
        line: 10,
        fingerprint: crate::fingerprint::fingerprint(text),
        status,
    }
}

fn side(requirements: Vec<SideRequirement>) -> Side {
    Side { requirements }
}

use Status::{Failing, Suspect, Uncovered, Unverified, Verified};

#[test]
fn added_and_removed_requirements_are_found_with_their_status() {
    let base = side(vec![
        req("ORCH-1", Level::Must, "A MUST b.", Some(Verified)),
        req("ORCH-2", Level::Must, "C MUST d.", Some(Failing)),
    ]);
    let head = side(vec![
        req("ORCH-1", Level::Must, "A MUST b.", Some(Verified)),
        req("ORCH-3", Level::Should, "E SHOULD f.", Some(Uncovered)),
    ]);
    let diff = compare("main", Vec::new(), &base, &head);
    assert_eq!(diff.added.len(), 1);
    assert_eq!(diff.added[0].id, "ORCH-3");
    assert_eq!(diff.added[0].status, Some(Uncovered));
    assert_eq!(diff.removed.len(), 1);
    assert_eq!(diff.removed[0].id, "ORCH-2");
    assert_eq!(diff.removed[0].status, Some(Failing));
    assert!(diff.reworded.is_empty() && diff.level_changed.is_empty());
    assert!(diff.status_changed.is_empty());
    // Neither a new requirement nor a removed MUST is a regression.
    assert!(!diff.has_regressions());
    assert_eq!(diff.counts.added, 1);
    assert_eq!(diff.counts.removed, 1);
}

#[test]
fn a_reworded_requirement_carries_a_word_diff_and_fingerprints() {
    let base = side(vec![req(
        "ORCH-1",
        Level::Must,
        "The queue MUST be bounded.",
        None,
    )]);
    let head = side(vec![req(
        "ORCH-1",
        Level::Must,
        "The admission queue MUST be strictly bounded.",
        None,
    )]);
    let diff = compare("HEAD", Vec::new(), &base, &head);
    assert_eq!(diff.reworded.len(), 1);
    let r = &diff.reworded[0];
    assert_eq!(r.old_fingerprint, base.requirements[0].fingerprint);
    assert_eq!(r.new_fingerprint, head.requirements[0].fingerprint);
    assert_eq!(r.old_text, "The queue MUST be bounded.");
    let added: Vec<&str> = r
        .words
        .iter()
        .filter(|w| w.op == WordOp::Added)
        .map(|w| w.text.trim())
        .collect();
    assert_eq!(added, ["admission", "strictly"]);
    assert!(r.words.iter().all(|w| w.op != WordOp::Removed));
    assert_eq!(
        words_markdown(&r.words),
        "The **admission** queue MUST be **strictly** bounded."
    );
    // Statuses unknown on a side: no status change.
    assert!(diff.status_changed.is_empty());
}

#[test]
fn word_diff_marks_replacements_and_keeps_markers_next_to_words() {
    let words = word_diff(
        "Clients MUST retry after 5 s.",
        "Clients SHOULD retry after 10 s.",
    );
    assert_eq!(
        words_markdown(&words),
        "Clients ~~MUST~~ **SHOULD** retry after ~~5~~ **10** s."
    );
    let words = word_diff("a b c", "a c");
    assert_eq!(words_markdown(&words), "a ~~b~~ c");
    // Markdown in the text stays text; a list-like start is escaped.
    let words = word_diff("- x | y", "- x | *y*");
    assert_eq!(words_markdown(&words), "\\- x \\| ~~y~~ **\\*y\\***");
}

#[test]
fn level_and_status_changes_and_regressions_follow_the_rank() {
    let base = side(vec![
        req("ORCH-1", Level::Should, "A SHOULD b.", Some(Verified)),
        req("ORCH-2", Level::Must, "C MUST d.", Some(Uncovered)),
        req("ORCH-3", Level::Must, "E MUST f.", Some(Verified)),
        req("ORCH-4", Level::Must, "G MUST h.", Some(Unverified)),
        req("ORCH-5", Level::Must, "I MUST j.", Some(Verified)),
    ]);
    let mut head = base.clone();
    head.requirements[0].level = Level::Must;
    head.requirements[1].status = Some(Verified);
    head.requirements[2].status = Some(Failing);
    head.requirements[3].status = Some(Suspect);
    head.requirements[4].status = None;
    let diff = compare("v1", Vec::new(), &base, &head);
    assert_eq!(diff.level_changed.len(), 1);
    assert_eq!(diff.level_changed[0].before, Level::Should);
    assert_eq!(diff.level_changed[0].after, Level::Must);
    let changes: Vec<(&str, Status, Status, bool)> = diff
        .status_changed
        .iter()
        .map(|c| (c.id.as_str(), c.before, c.after, c.regression))
        .collect();
    assert_eq!(
        changes,
        [
            ("ORCH-2", Uncovered, Verified, false),
            ("ORCH-3", Verified, Failing, true),
            ("ORCH-4", Unverified, Suspect, true),
        ]
    );
    assert_eq!(diff.counts.regressions, 2);
    assert!(diff.has_regressions());
}

#[test]
fn lists_are_in_natural_id_order() {
    let base = side(Vec::new());
    let head = Side::new(
        vec![
            req("ORCH-1000", Level::Must, "a", None),
            req("ORCH-999", Level::Must, "b", None),
        ],
        None,
    );
    let diff = compare("x", Vec::new(), &base, &head);
    let ids: Vec<&str> = diff.added.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["ORCH-999", "ORCH-1000"]);
}

#[test]
fn base_files_parse_leniently_and_errors_name_the_line() {
    let index = "schema_version: 1\nspecs: []\nrequirements:\n- id: ORCH-1\n  level: must\n  keyword: MUST\n  title: T\n  text: A MUST b.\n  spec: .specs/s.md\n  line: 3\n  section: S\n  anchor: s\n  fingerprint: 0123456789abcdef\n  references: []\n  future_field: 1\n";
    let parsed = parse_index("requirements/index.yaml", index).unwrap();
    assert_eq!(parsed[0].id, "ORCH-1");
    assert_eq!(parsed[0].status, None);
    let e = parse_index("requirements/index.yaml", "requirements:\n- id: [\n").unwrap_err();
    assert!(e.line.is_some(), "{e}");
    let statuses = parse_statuses(
        "reports/compliance.json",
        r#"{"schema_version": 1, "requirements": [{"id": "ORCH-1", "status": "failing", "x": 1}]}"#,
    )
    .unwrap();
    assert_eq!(statuses["ORCH-1"], Failing);
    let e = parse_statuses(
        "reports/compliance.json",
        "{\n\"requirements\": [\n{\"id\": 1}]}",
    )
    .unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    let side = Side::new(parsed, Some(&statuses));
    assert_eq!(side.requirements[0].status, Some(Failing));
}

#[test]
fn markdown_of_every_kind_of_change() {
    let base = side(vec![
        req(
            "ORCH-1",
            Level::Must,
            "The queue MUST be bounded.",
            Some(Verified),
        ),
        req(
            "ORCH-2",
            Level::May,
            "Logs MAY be colored.",
            Some(Uncovered),
        ),
        req("ORCH-4", Level::Should, "X SHOULD y.", Some(Verified)),
    ]);
    let mut head = side(vec![
        req(
            "ORCH-1",
            Level::Must,
            "The queue MUST be strictly bounded.",
            Some(Suspect),
        ),
        req(
            "ORCH-3",
            Level::Must,
            "Pipes | and *stars* MUST stay text.",
            Some(Verified),
        ),
        req("ORCH-4", Level::Must, "X SHOULD y.", Some(Verified)),
    ]);
    head.requirements[1].title = "Pipes | and *stars*".to_owned();
    head.requirements[2].level = Level::Must;
    let diff = compare(
        "HEAD~1",
        vec!["reports/compliance.json does not exist at HEAD~1".to_owned()],
        &base,
        &head,
    );
    let text = markdown(&diff);
    let r1 = &head.requirements[0].fingerprint;
    let b1 = &base.requirements[0].fingerprint;
    let expected = format!(
        "## Requirement changes since `HEAD~1`\n\
         \n\
         > Note: reports/compliance.json does not exist at HEAD\\~1\n\
         \n\
         **1 added, 1 removed, 1 reworded, 1 level change, 1 status change (1 regression)**\n\
         \n\
         ### Added (1)\n\
         \n\
         | ID | level | title | spec | status |\n\
         |---|---|---|---|---|\n\
         | ORCH-3 | MUST | Pipes \\| and \\*stars\\* | `.specs/s.md:10` | ✅ verified |\n\
         \n\
         ### Removed (1)\n\
         \n\
         | ID | level | title | spec | status before |\n\
         |---|---|---|---|---|\n\
         | ORCH-2 | MAY | Title of ORCH-2 | `.specs/s.md:10` | ⬜ uncovered |\n\
         \n\
         ### Reworded (1)\n\
         \n\
         Removed words ~~struck through~~, added words **bold**.\n\
         \n\
         - **ORCH-1** Title of ORCH-1 (`.specs/s.md:10`, fingerprint `{b1}` → `{r1}`)  \n  The queue MUST be **strictly** bounded.\n\
         \n\
         ### Level changed (1)\n\
         \n\
         | ID | title | spec | before | after |\n\
         |---|---|---|---|---|\n\
         | ORCH-4 | Title of ORCH-4 | `.specs/s.md:10` | SHOULD | MUST |\n\
         \n\
         ### Status changed (1)\n\
         \n\
         | ID | level | title | spec | before | after |\n\
         |---|---|---|---|---|---|\n\
         | ORCH-1 | MUST | Title of ORCH-1 | `.specs/s.md:10` | ✅ verified | 🔶 suspect (worse) |\n"
    );
    assert_eq!(text, expected);
}

#[test]
fn an_empty_diff_says_so() {
    let s = side(vec![req("ORCH-1", Level::Must, "a", Some(Verified))]);
    let diff = compare("main", Vec::new(), &s, &s);
    assert!(diff.is_empty());
    assert_eq!(
        markdown(&diff),
        "## Requirement changes since `main`\n\nNo requirement changes.\n"
    );
}

#[test]
fn json_has_stable_field_names() {
    let base = side(vec![req("ORCH-1", Level::Must, "a b", Some(Verified))]);
    let head = side(vec![req("ORCH-1", Level::Must, "a c", Some(Failing))]);
    let text = json(&compare("main", Vec::new(), &base, &head)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["base"], "main");
    assert_eq!(value["counts"]["regressions"], 1);
    assert_eq!(value["status_changed"][0]["before"], "verified");
    assert_eq!(value["status_changed"][0]["after"], "failing");
    assert_eq!(value["status_changed"][0]["regression"], true);
    assert_eq!(value["reworded"][0]["words"][1]["op"], "removed");
    assert_eq!(value["reworded"][0]["words"][1]["text"], "b");
    assert_eq!(value["added"], serde_json::json!([]));
    assert!(text.ends_with("}\n"));
}

#[test]
fn escape_keeps_markdown_as_text() {
    assert_eq!(
        escape("a|b <script> [x](y) `c` ~~d~~ _e_ &amp; #1"),
        "a\\|b \\<script\\> \\[x\\](y) \\`c\\` \\~\\~d\\~\\~ \\_e\\_ \\&amp; \\#1"
    );
    assert_eq!(escape("two\n lines"), "two lines");
}

#[test]
fn changes_separated_only_by_whitespace_form_one_block() {
    let words = word_diff(
        "each interactive task admitted while that queue is full",
        "each admitted interactive task that leaves that queue full",
    );
    let text = words_markdown(&words);
    assert!(!text.contains("~~ ~~") && !text.contains("** **"), "{text}");
    // Reading only the old side (equal + removed) gives the old text back, and likewise new.
    let side = |skip: WordOp| -> String {
        words
            .iter()
            .filter(|w| w.op != skip)
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .concat()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        side(WordOp::Added),
        "each interactive task admitted while that queue is full"
    );
    assert_eq!(
        side(WordOp::Removed),
        "each admitted interactive task that leaves that queue full"
    );
    let words = word_diff("x a b y", "x c d y");
    assert_eq!(words_markdown(&words), "x ~~a b~~ **c d** y");
}
