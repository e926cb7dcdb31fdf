use super::*;
use crate::compliance::{EvidenceItem, Total, build};
use crate::evidence::EvidenceKind;
use crate::model::{Requirement, SpecSummary};
use crate::scan::Scan;

fn requirement(id: &str, level: Level, line: usize, section: &str) -> Requirement {
    Requirement {
        id: id.to_owned(),
        level,
        keyword: None,
        title: format!("Title | of {id}"),
        text: String::new(),
        spec: ".specs/s.md".to_owned(),
        line,
        section: section.to_owned(),
        anchor: section.to_lowercase().replace(' ', "-"),
        fingerprint: "0".repeat(16),
        references: Vec::new(),
    }
}

fn index() -> RequirementIndex {
    RequirementIndex {
        schema_version: 1,
        specs: vec![SpecSummary {
            path: ".specs/s.md".to_owned(),
            title: "The spec".to_owned(),
            requirements: 3,
        }],
        requirements: vec![
            requirement("A-1", Level::Must, 5, "1 One"),
            requirement("A-2", Level::Must, 9, "2 Two"),
            requirement("A-3", Level::May, 12, "2 Two"),
        ],
    }
}

fn model() -> ComplianceModel {
    let mut model = build(&index(), &Scan::default(), &[]);
    model.requirements[0].evidence.push(EvidenceItem {
        test: "server::it_works".into(),
        file: "tests/server.rs".into(),
        line: 40,
        kind: EvidenceKind::E2e,
        outcome: RunOutcome::Passed,
        message: None,
    });
    model.requirements[0].status = Status::Verified;
    model.requirements[1].evidence.push(EvidenceItem {
        test: "Backpressure: a full queue".into(),
        file: "features/b.feature".into(),
        line: 7,
        kind: EvidenceKind::Bdd,
        outcome: RunOutcome::Failed,
        message: Some("expected <429> & got 202".into()),
    });
    model.requirements[1].status = Status::Failing;
    model.totals = vec![
        Total {
            level: Level::Must,
            status: Status::Verified,
            count: 1,
        },
        Total {
            level: Level::Must,
            status: Status::Failing,
            count: 1,
        },
        Total {
            level: Level::May,
            status: Status::Uncovered,
            count: 1,
        },
    ];
    model
}

#[test]
fn markdown_has_totals_then_a_table_per_section() {
    let text = compliance_markdown(&index(), &model(), "").unwrap();
    assert!(
        text.contains(
            "| level | ✅ verified | ⚠️ unverified | 🔶 suspect | ⬜ uncovered | ❌ failing | total |\n|---|---:|---:|---:|---:|---:|---:|\n"
        ),
        "{text}"
    );
    assert!(text.contains("| MUST | 1 | 0 | 0 | 0 | 1 | 2 |"), "{text}");
    assert!(text.contains("| MAY | 0 | 0 | 0 | 1 | 0 | 1 |"), "{text}");
    assert!(text.contains("| all | 1 | 0 | 0 | 1 | 1 | 3 |"), "{text}");
    assert!(
        !text.contains("| info |"),
        "levels without requirements are left out"
    );
    assert!(text.contains("## The spec"));
    let one = text.find("### 1 One").unwrap();
    let two = text.find("### 2 Two").unwrap();
    assert!(one < two);
    assert!(text.contains(
        "| [A-1](.specs/s.md#1-one) | MUST | Title \\| of A-1 | ✅ verified | — | [it_works](tests/server.rs#L40) e2e | — |"
    ), "{text}");
    assert!(
        text.contains("❌ [a full queue](features/b.feature#L7) bdd"),
        "{text}"
    );
    assert!(text.contains("| ⬜ uncovered | — | — | — |"), "{text}");
    assert!(text.ends_with("|\n") && !text.ends_with("\n\n"));
}

#[test]
fn markdown_links_take_the_prefix_of_the_report_location() {
    let text = compliance_markdown(&index(), &model(), "../").unwrap();
    assert!(text.contains("[A-1](../.specs/s.md#1-one)"));
    assert!(text.contains("(../tests/server.rs#L40)"));
}

#[test]
fn rendering_is_deterministic() {
    let a = compliance_markdown(&index(), &model(), "").unwrap();
    let b = compliance_markdown(&index(), &model(), "").unwrap();
    assert_eq!(a, b);
    assert_eq!(
        junit_xml(&model(), &GateConfig::default()),
        junit_xml(&model(), &GateConfig::default())
    );
}

#[test]
fn junit_fails_what_the_gate_fails_and_skips_the_rest() {
    let text = junit_xml(&model(), &GateConfig::default());
    assert!(
        text.contains("tests=\"3\" failures=\"1\" skipped=\"1\""),
        "{text}"
    );
    assert!(text.contains("name=\"A-1 Title | of A-1\" file=\".specs/s.md\" line=\"5\"/>"));
    assert!(
        text.contains("<failure message=\"MUST A-2 is failing (the gate demands verified)\">"),
        "{text}"
    );
    assert!(
        text.contains("expected &lt;429&gt; &amp; got 202"),
        "{text}"
    );
    assert!(text.contains("<skipped message=\"uncovered: no evidence links to it\"/>"));
}

#[test]
fn json_matches_its_schema_and_round_trips() {
    let json = compliance_json(&model()).unwrap();
    let back: ComplianceModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model());
    let schema: serde_json::Value = serde_json::from_str(&compliance_schema().unwrap()).unwrap();
    let instance: serde_json::Value = serde_json::from_str(&json).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&instance));
    let mut broken = instance.clone();
    broken["requirements"][0]["status"] = serde_json::json!("great");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn table_cells_are_one_line_with_pipes_escaped() {
    assert_eq!(table_cell("a |\n b"), "a \\| b");
}

/// The model with A-1 reworded since its (passing) evidence was reviewed.
fn suspect_model() -> ComplianceModel {
    let mut model = model();
    model.requirements[0].status = Status::Suspect;
    model.requirements[0].reviewed_fingerprint = Some("1".repeat(16));
    model.totals[0].status = Status::Suspect;
    model
}

#[test]
fn suspect_shows_in_markdown_junit_and_json() {
    let model = suspect_model();
    let text = compliance_markdown(&index(), &model, "").unwrap();
    assert!(text.contains("| MUST | 0 | 0 | 1 | 0 | 1 | 2 |"), "{text}");
    assert!(
        text.contains(
            "| Title \\| of A-1 | 🔶 suspect | — | [it_works](tests/server.rs#L40) e2e |"
        ),
        "{text}"
    );
    let junit = junit_xml(&model, &GateConfig::default());
    assert!(
        junit.contains("<failure message=\"MUST A-1 is suspect (the gate demands verified)\">reworded since its evidence was reviewed (reviewed against fingerprint 1111111111111111, now 0000000000000000): check the evidence against the new text, then run `spectrace review A-1`</failure>"),
        "{junit}"
    );
    let json = compliance_json(&model).unwrap();
    assert!(
        json.contains("\"reviewed_fingerprint\": \"1111111111111111\""),
        "{json}"
    );
    assert!(json.contains("\"status\": \"suspect\""), "{json}");
    assert_eq!(
        json.matches("reviewed_fingerprint").count(),
        1,
        "absent when equal"
    );
    let schema: serde_json::Value = serde_json::from_str(&compliance_schema().unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&serde_json::from_str(&json).unwrap()));
    let back: ComplianceModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
}

#[test]
fn strength_and_implementing_items_show_in_markdown_and_junit() {
    let mut model = model();
    model.requirements[0].implementations = vec![crate::compliance::Link {
        file: "src/queue.rs".into(),
        line: 12,
        target: "Queue::admit".into(),
    }];
    model.requirements[0].strength = Some(crate::compliance::Strength {
        caught: 7,
        missed: 2,
        waived: 0,
        unviable: 1,
        stale: false,
        survivors: Vec::new(),
        unjudged_waiver: None,
    });
    let text = compliance_markdown(&index(), &model, "").unwrap();
    assert!(
        text.contains("| ✅ verified | 7/9 | [it_works](tests/server.rs#L40) e2e | [Queue::admit](src/queue.rs#L12) |"),
        "{text}"
    );
    let policy = GateConfig {
        must_strength: Some(crate::config::Ratio::try_from(0.8).unwrap()),
        ..GateConfig::default()
    };
    let junit = junit_xml(&model, &policy);
    assert!(
        junit.contains(
            "<failure message=\"MUST A-1 has strength 7/9 (the gate demands at least 0.800)\">"
        ),
        "{junit}"
    );
    model.requirements[0].strength.as_mut().unwrap().stale = true;
    let text = compliance_markdown(&index(), &model, "").unwrap();
    assert!(text.contains("| ✅ verified | stale |"), "{text}");
    let schema: serde_json::Value = serde_json::from_str(&compliance_schema().unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json: serde_json::Value = serde_json::from_str(&compliance_json(&model).unwrap()).unwrap();
    assert!(validator.is_valid(&json));
}
