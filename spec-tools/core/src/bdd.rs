//! The Gherkin rules that the scanner (scenarios as declared) and a cucumber recorder
//! (`spectrace-cucumber`, scenarios as they ran) must apply alike, so that a scenario's record
//! meets its declaration:
//!
//! - **Tags inherit downward**: Feature → Rule → Scenario → Examples. A scenario carries its
//!   Feature's, its Rule's and its own tags, plus those of its Examples blocks: an outline as
//!   written carries the union of all its blocks' tags, an outline row expanded by cucumber the
//!   tags of its own block.
//! - **A scenario's label** is `<Feature name>: <Scenario name>`.
//!
//! Parsing is the `gherkin` crate's (the parser cucumber uses); nothing here reads text.

use gherkin::{Feature, Rule, Scenario};

/// Every tag `scenario` carries, inherited ones first, without the leading `@`, in the order
/// Feature, Rule, Scenario, Examples blocks (repeats are kept; callers sort and deduplicate).
pub fn effective_tags<'a>(
    feature: &'a Feature,
    rule: Option<&'a Rule>,
    scenario: &'a Scenario,
) -> impl Iterator<Item = &'a str> {
    feature
        .tags
        .iter()
        .chain(rule.into_iter().flat_map(|r| &r.tags))
        .chain(&scenario.tags)
        .chain(scenario.examples.iter().flat_map(|e| &e.tags))
        .map(|tag| tag.strip_prefix('@').unwrap_or(tag))
}

/// `<Feature name>: <Scenario name>`, the `test` of a scenario's evidence.
pub fn scenario_label(feature: &Feature, scenario: &Scenario) -> String {
    format!("{}: {}", feature.name, scenario.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gherkin::GherkinEnv;

    const FEATURE: &str = "\
@F
Feature: Queues
  @S1
  Scenario: Plain
    Then x

  @R
  Rule: Policies
    @O
    Scenario Outline: Each <n>
      Then <n>

      @E1
      Examples: one
        | n |
        | 1 |

      @E2
      Examples: two
        | n |
        | 2 |
";

    #[test]
    fn tags_inherit_from_feature_rule_scenario_and_every_examples_block() {
        let feature = Feature::parse(FEATURE, GherkinEnv::default()).unwrap();
        let plain = &feature.scenarios[0];
        assert_eq!(
            effective_tags(&feature, None, plain).collect::<Vec<_>>(),
            ["F", "S1"]
        );
        assert_eq!(scenario_label(&feature, plain), "Queues: Plain");
        let rule = &feature.rules[0];
        let outline = &rule.scenarios[0];
        assert_eq!(
            effective_tags(&feature, Some(rule), outline).collect::<Vec<_>>(),
            ["F", "R", "O", "E1", "E2"]
        );
    }
}
