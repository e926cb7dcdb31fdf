//! Properties of extraction that must hold for any input, not just the examples.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use proptest::prelude::*;
use spectrace_core::extract::parse_spec;
use spectrace_core::id::{DEFAULT_ID_PATTERN, IdPattern};
use spectrace_core::model::RequirementIndex;
use spectrace_core::render::{Format, to_text};

fn ids() -> IdPattern {
    IdPattern::new(DEFAULT_ID_PATTERN).unwrap()
}

/// Markdown-ish text built from the pieces that matter to the extractor.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[ORCH-1000]".to_owned()),
        Just("[ORCH-2000]".to_owned()),
        Just("ORCH-3000".to_owned()),
        Just(" MUST ".to_owned()),
        Just(" SHOULD NOT ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("- ".to_owned()),
        Just("  - ".to_owned()),
        Just("# ".to_owned()),
        Just("### ".to_owned()),
        Just("> ".to_owned()),
        Just("```\n".to_owned()),
        Just("`".to_owned()),
        Just("**".to_owned()),
        Just("](x)".to_owned()),
        Just("[".to_owned()),
        Just("| a | b |\n|---|---|\n".to_owned()),
        Just("<!-- ".to_owned()),
        "[a-zA-Z0-9 .,&é🚀_-]{0,12}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any input yields requirements or diagnostics, never a panic, and every requirement is
    /// well formed.
    #[test]
    fn extraction_never_panics_and_yields_well_formed_requirements(src in markdownish()) {
        let parsed = parse_spec("spec.md", &src, &ids());
        let lines = src.lines().count().max(1);
        for r in &parsed.requirements {
            prop_assert!(ids().is_id(&r.id));
            prop_assert!(r.line >= 1 && r.line <= lines, "line {} of {}", r.line, lines);
            prop_assert_eq!(r.fingerprint.len(), 16);
            prop_assert!(!r.text.contains("  ") && r.text.trim() == r.text);
            prop_assert!(!r.references.contains(&r.id));
        }
        for d in &parsed.diagnostics {
            prop_assert!(d.line.is_some_and(|l| l >= 1 && l <= lines));
        }
    }

    /// Re-wrapping a requirement over lines and adding emphasis does not change its
    /// fingerprint; changing a word does.
    #[test]
    fn fingerprint_follows_wording_not_layout(words in prop::collection::vec("[a-z]{1,8}", 2..20), wrap in 1usize..5) {
        let plain = format!("- It MUST {} [ORCH-1000]\n", words.join(" "));
        let wrapped: Vec<String> = words
            .chunks(wrap)
            .map(|c| c.join("  "))
            .collect();
        let reflowed = format!("- It **MUST** {}\n  [ORCH-1000]\n", wrapped.join("\n  "));
        let mut changed_words = words.clone();
        changed_words[0].push('x');
        let changed = format!("- It MUST {} [ORCH-1000]\n", changed_words.join(" "));
        let fp = |src: &str| parse_spec("s.md", src, &ids()).requirements[0].fingerprint.clone();
        prop_assert_eq!(fp(&plain), fp(&reflowed));
        prop_assert_ne!(fp(&plain), fp(&changed));
    }

    /// The committed YAML and the JSON form read back to exactly the same set.
    #[test]
    fn index_round_trips_through_yaml_and_json(src in markdownish()) {
        let parsed = parse_spec(".specs/s.md", &src, &ids());
        let index = RequirementIndex { schema_version: 1, specs: vec![], requirements: parsed.requirements };
        let yaml = to_text(&index, Format::Yaml).unwrap();
        let back: RequirementIndex = serde_saphyr::from_str(&yaml).unwrap();
        prop_assert_eq!(&back, &index);
        let json = to_text(&index, Format::Json).unwrap();
        let back: RequirementIndex = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &index);
    }

    /// Slugs keep only word characters and hyphens, and keep every space as a hyphen.
    #[test]
    fn slugs_contain_only_slug_characters(heading in "\\PC{0,40}") {
        let s = spectrace_core::markdown::slug::slug(&heading);
        prop_assert!(!s.contains(' '));
        prop_assert!(s.chars().all(|c| c == '-' || c == '_' || c.is_alphanumeric() || !c.is_ascii()));
        let hyphens_in = heading.chars().filter(|&c| c == ' ' || c == '-').count();
        prop_assert_eq!(s.chars().filter(|&c| c == '-').count(), hyphens_in);
    }
}

#[test]
fn requirement_anchor_is_the_lower_cased_id() {
    let parsed = parse_spec("s.md", "- It MUST hold. [ORCH-3004]\n", &ids());
    assert_eq!(parsed.requirements[0].requirement_anchor(), "orch-3004");
}
