use super::*;
use crate::model::Requirement;
use crate::scan::{ContractLink, DeclaredEvidence, ImplementationLink};

fn requirement(id: &str, level: Level) -> Requirement {
    Requirement {
        id: id.to_owned(),
        level,
        keyword: Some("MUST".to_owned()),
        title: format!("title of {id}"),
        text: format!("text of {id}"),
        spec: ".specs/s.md".to_owned(),
        line: 3,
        section: "1 Intro".to_owned(),
        anchor: "1-intro".to_owned(),
        fingerprint: "f".repeat(16),
        references: Vec::new(),
    }
}

fn index(ids: &[&str]) -> RequirementIndex {
    RequirementIndex {
        schema_version: 1,
        specs: Vec::new(),
        requirements: ids.iter().map(|id| requirement(id, Level::Must)).collect(),
    }
}

fn declared(ids: &[&str], file: &str, line: u32) -> DeclaredEvidence {
    DeclaredEvidence {
        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        test: format!("t::{file}:{line}"),
        file: file.to_owned(),
        line,
        end_line: line,
        kind: EvidenceKind::Test,
    }
}

fn record(ids: &[&str], file: &str, line: u32, outcome: Outcome) -> EvidenceRecord {
    EvidenceRecord {
        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        test: format!("t::{file}:{line}"),
        file: file.to_owned(),
        line,
        kind: EvidenceKind::Test,
        outcome,
        message: (outcome == Outcome::Failed).then(|| "boom".to_owned()),
        shard: None,
    }
}

fn status(model: &ComplianceModel, id: &str) -> Status {
    model
        .requirements
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.status)
        .unwrap()
}

#[test]
fn each_status_follows_from_the_evidence() {
    let index = index(&["A-1", "A-2", "A-3", "A-4"]);
    let scan = Scan {
        evidence: vec![
            declared(&["A-1"], "a.rs", 1),
            declared(&["A-2"], "a.rs", 2),
            declared(&["A-2", "A-3"], "a.rs", 3),
        ],
        ..Scan::default()
    };
    let records = [
        record(&["A-1"], "a.rs", 1, Outcome::Passed),
        record(&["A-2"], "a.rs", 2, Outcome::Failed),
    ];
    let model = build(&index, &scan, &records);
    assert_eq!(status(&model, "A-1"), Status::Verified);
    assert_eq!(status(&model, "A-2"), Status::Failing);
    assert_eq!(status(&model, "A-3"), Status::Unverified);
    assert_eq!(status(&model, "A-4"), Status::Uncovered);
    let failing = &model.requirements[1].evidence;
    assert_eq!(failing[0].message.as_deref(), Some("boom"));
    assert_eq!(failing[1].outcome, RunOutcome::NotRun);
}

#[test]
fn one_failed_run_of_an_item_fails_it_whatever_the_order() {
    let index = index(&["A-1"]);
    let scan = Scan {
        evidence: vec![declared(&["A-1"], "a.rs", 1)],
        ..Scan::default()
    };
    for records in [
        [
            record(&["A-1"], "a.rs", 1, Outcome::Passed),
            record(&["A-1"], "a.rs", 1, Outcome::Failed),
        ],
        [
            record(&["A-1"], "a.rs", 1, Outcome::Failed),
            record(&["A-1"], "a.rs", 1, Outcome::Passed),
        ],
    ] {
        let model = build(&index, &scan, &records);
        assert_eq!(status(&model, "A-1"), Status::Failing);
        assert_eq!(model.requirements[0].evidence.len(), 1);
    }
}

#[test]
fn a_record_without_declaration_still_counts() {
    let model = build(
        &index(&["A-1"]),
        &Scan::default(),
        &[record(&["A-1"], "elsewhere.rs", 9, Outcome::Passed)],
    );
    assert_eq!(status(&model, "A-1"), Status::Verified);
}

#[test]
fn totals_count_every_level_and_status_pair() {
    let model = build(&index(&["A-1", "A-2"]), &Scan::default(), &[]);
    assert_eq!(model.totals.len(), Level::ALL.len() * Status::ALL.len());
    let uncovered_must = model
        .totals
        .iter()
        .find(|t| t.level == Level::Must && t.status == Status::Uncovered)
        .unwrap();
    assert_eq!(uncovered_must.count, 2);
    assert_eq!(model.totals.iter().map(|t| t.count).sum::<usize>(), 2);
}

#[test]
fn contract_and_implementation_links_are_attached_sorted() {
    let scan = Scan {
        contracts: vec![
            ContractLink {
                id: "A-1".into(),
                file: "b.yaml".into(),
                line: 9,
                pointer: "/paths/x".into(),
            },
            ContractLink {
                id: "A-1".into(),
                file: "a.yaml".into(),
                line: 4,
                pointer: "/paths/y".into(),
            },
        ],
        implementations: vec![ImplementationLink {
            id: "A-1".into(),
            item: "Queue".into(),
            file: "q.rs".into(),
            line: 2,
            end_line: 2,
        }],
        ..Scan::default()
    };
    let model = build(&index(&["A-1"]), &scan, &[]);
    let r = &model.requirements[0];
    assert_eq!(r.contracts[0].file, "a.yaml");
    assert_eq!(r.implementations[0].target, "Queue");
    // Links are not evidence.
    assert_eq!(r.status, Status::Uncovered);
}

#[test]
fn records_naming_unknown_ids_are_found() {
    let index = index(&["A-1"]);
    let records = [record(&["A-1", "A-9"], "a.rs", 1, Outcome::Passed)];
    let unknown = unknown_record_ids(&index, &records);
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].1, "A-9");
}

#[test]
fn review_turns_verified_and_unverified_suspect_and_leaves_failing_and_uncovered() {
    for (status, reworded, expected) in [
        (Status::Verified, false, Status::Verified),
        (Status::Verified, true, Status::Suspect),
        (Status::Unverified, false, Status::Unverified),
        (Status::Unverified, true, Status::Suspect),
        (Status::Failing, false, Status::Failing),
        (Status::Failing, true, Status::Failing),
        (Status::Uncovered, false, Status::Uncovered),
        (Status::Uncovered, true, Status::Uncovered),
    ] {
        assert_eq!(
            with_review(status, reworded),
            expected,
            "{status} {reworded}"
        );
    }
}

#[test]
fn a_reworded_requirement_is_suspect_and_records_its_reviewed_fingerprint() {
    // A-1 verified, A-2 unverified, A-3 failing, A-4 uncovered: all reworded since review.
    let index = index(&["A-1", "A-2", "A-3", "A-4", "A-5", "A-6"]);
    let scan = Scan {
        evidence: vec![
            declared(&["A-1"], "a.rs", 1),
            declared(&["A-2"], "a.rs", 2),
            declared(&["A-3"], "a.rs", 3),
            declared(&["A-5"], "a.rs", 5),
            declared(&["A-6"], "a.rs", 6),
        ],
        ..Scan::default()
    };
    let records = [
        record(&["A-1"], "a.rs", 1, Outcome::Passed),
        record(&["A-3"], "a.rs", 3, Outcome::Failed),
        record(&["A-5"], "a.rs", 5, Outcome::Passed),
        record(&["A-6"], "a.rs", 6, Outcome::Passed),
    ];
    let old = "0".repeat(16);
    let current = "f".repeat(16);
    // A-5 is reviewed at its current wording; A-6 is new (not in the map).
    let reviewed: BTreeMap<String, String> = ["A-1", "A-2", "A-3", "A-4"]
        .iter()
        .map(|id| ((*id).to_owned(), old.clone()))
        .chain([("A-5".to_owned(), current.clone())])
        .collect();
    let model = build_with(
        &index,
        &scan,
        &records,
        &BuildOptions {
            reviewed,
            ..BuildOptions::default()
        },
    );
    assert_eq!(status(&model, "A-1"), Status::Suspect);
    assert_eq!(status(&model, "A-2"), Status::Suspect);
    assert_eq!(status(&model, "A-3"), Status::Failing);
    assert_eq!(status(&model, "A-4"), Status::Uncovered);
    assert_eq!(status(&model, "A-5"), Status::Verified);
    assert_eq!(status(&model, "A-6"), Status::Verified);
    let by_id = |id: &str| model.requirements.iter().find(|r| r.id == id).unwrap();
    assert_eq!(by_id("A-1").reviewed_fingerprint.as_deref(), Some(&*old));
    assert_eq!(by_id("A-4").reviewed_fingerprint.as_deref(), Some(&*old));
    assert_eq!(by_id("A-5").reviewed_fingerprint, None);
    assert_eq!(by_id("A-6").reviewed_fingerprint, None);
    let suspect_must = model
        .totals
        .iter()
        .find(|t| t.level == Level::Must && t.status == Status::Suspect)
        .unwrap();
    assert_eq!(suspect_must.count, 2);
    // Without a review map nothing is suspect.
    let plain = build(&index, &scan, &records);
    assert!(
        plain
            .requirements
            .iter()
            .all(|r| r.status != Status::Suspect)
    );
}

#[test]
fn statuses_are_ranked_best_to_worst() {
    assert_eq!(
        Status::ALL.map(Status::as_str),
        ["verified", "unverified", "suspect", "uncovered", "failing"]
    );
    for pair in Status::ALL.windows(2) {
        assert!(pair[1].is_worse_than(pair[0]), "{} vs {}", pair[1], pair[0]);
        assert!(!pair[0].is_worse_than(pair[1]));
    }
    assert!(!Status::Suspect.is_worse_than(Status::Suspect));
}

#[test]
fn names_in_reports_are_the_serialized_names() {
    for status in Status::ALL {
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
    }
    for outcome in [RunOutcome::Passed, RunOutcome::Failed, RunOutcome::NotRun] {
        assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
    }
    for level in Level::ALL {
        assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
        assert_eq!(level.label().to_lowercase(), level.as_str());
    }
}

#[test]
fn verified_needs_every_declared_item_unless_the_rule_is_any() {
    let index = index(&["A-1", "A-2"]);
    let scan = Scan {
        evidence: vec![
            declared(&["A-1"], "a.rs", 1),
            declared(&["A-1"], "a.rs", 2),
            declared(&["A-2"], "a.rs", 3),
        ],
        ..Scan::default()
    };
    // A-1's second item did not run; A-2's one item ran.
    let records = [
        record(&["A-1"], "a.rs", 1, Outcome::Passed),
        record(&["A-2"], "a.rs", 3, Outcome::Passed),
    ];
    let all = build(&index, &scan, &records);
    assert_eq!(status(&all, "A-1"), Status::Unverified);
    assert_eq!(status(&all, "A-2"), Status::Verified);
    let any = build_with(
        &index,
        &scan,
        &records,
        &BuildOptions {
            rule: EvidenceRule::Any,
            ..BuildOptions::default()
        },
    );
    assert_eq!(status(&any, "A-1"), Status::Verified);
}

#[test]
fn strength_is_attached_to_its_requirement() {
    let index = index(&["A-1", "A-2"]);
    let strength = Strength {
        caught: 7,
        missed: 2,
        waived: 1,
        unviable: 0,
        stale: false,
        survivors: Vec::new(),
        unjudged_waiver: None,
    };
    let model = build_with(
        &index,
        &Scan::default(),
        &[],
        &BuildOptions {
            strength: [("A-2".to_owned(), strength.clone())].into(),
            ..BuildOptions::default()
        },
    );
    let by_id = |id: &str| model.requirements.iter().find(|r| r.id == id).unwrap();
    assert_eq!(by_id("A-1").strength, None);
    assert_eq!(by_id("A-2").strength.as_ref().unwrap().fraction(), "7/9");
    assert_eq!(model.schema_version, 5);
}

fn in_shard(mut record: EvidenceRecord, shard: &str) -> EvidenceRecord {
    record.shard = Some(shard.to_owned());
    record
}

#[test]
fn merged_shards_give_the_model_of_one_run_and_list_the_shards() {
    let index = index(&["A-1", "A-2"]);
    let scan = Scan {
        evidence: vec![declared(&["A-1"], "a.rs", 1), declared(&["A-2"], "b.rs", 2)],
        ..Scan::default()
    };
    let one = [
        record(&["A-1"], "a.rs", 1, Outcome::Passed),
        record(&["A-2"], "b.rs", 2, Outcome::Failed),
    ];
    let sharded = [
        in_shard(one[0].clone(), "s/2"),
        in_shard(one[1].clone(), "s/1"),
    ];
    let (whole, merged) = (build(&index, &scan, &one), build(&index, &scan, &sharded));
    assert_eq!(merged.shards, ["s/1", "s/2"]);
    assert!(whole.shards.is_empty());
    assert_eq!(merged.requirements, whole.requirements);
    assert_eq!(merged.totals, whole.totals);
    assert!(duplicates(&sharded).is_empty());
}

#[test]
fn an_item_that_ran_in_two_shards_is_a_duplicate_naming_both() {
    let passed = record(&["A-1"], "a.rs", 1, Outcome::Passed);
    let records = [
        in_shard(passed.clone(), "shards/2"),
        in_shard(passed.clone(), "shards/1"),
        // Two runs in one shard (outline rows, a retry) are not duplicates.
        in_shard(record(&["A-2"], "b.rs", 2, Outcome::Passed), "shards/1"),
        in_shard(record(&["A-2"], "b.rs", 2, Outcome::Passed), "shards/1"),
        // Records without a shard (JUnit reports) count for none.
        passed,
    ];
    assert_eq!(
        duplicates(&records),
        [Duplicate {
            file: "a.rs".into(),
            line: 1,
            test: "t::a.rs:1".into(),
            shards: vec!["shards/1".into(), "shards/2".into()],
        }]
    );
}
