//! `reports/strength.json`: per requirement, the mutants of its implementing items and whether
//! its evidence caught them. Pure: building, merging a partial run into the committed report,
//! waivers, and the strength figure. Deterministic: sorted, no times or paths of the machine.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::id::natural_cmp;

/// Version of the `strength.json` format.
pub const STRENGTH_SCHEMA_VERSION: u32 = 1;

/// How one mutant fared against one requirement's evidence.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MutantOutcome {
    /// An evidence item failed.
    Caught,
    /// An evidence item ran past the timeout (counted as caught).
    Timeout,
    /// Every evidence item passed: the mutant survived.
    Missed,
    /// The mutated code does not build (left out of the strength).
    Unviable,
}

impl MutantOutcome {
    /// Whether two runs agree on this mutant as far as its strength goes: a failure and a
    /// timeout both catch it, and which of the two happens can depend on how busy the machine
    /// is (a mutant that makes a test loop may fail it first or run past the timeout).
    pub fn agrees_with(self, other: Self) -> bool {
        let class = |o: Self| match o {
            Self::Caught | Self::Timeout => Self::Caught,
            other => other,
        };
        class(self) == class(other)
    }
}

/// One mutant and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MutantResult {
    /// cargo-mutants' name, which identifies the mutant (`file:line:column: replace … with …`).
    pub name: String,
    /// File, relative to the root.
    pub file: String,
    /// Line of the replaced text.
    pub line: u32,
    /// The replacement, as cargo-mutants names it.
    pub replacement: String,
    /// What happened.
    pub outcome: MutantOutcome,
    /// The evidence items that failed (`file:line`), for caught mutants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// The unified diff of the mutation, for survivors (the site shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The reason it is waived, when a waiver names it (only survivors are waived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
}

/// One requirement's mutants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementStrength {
    /// Requirement ID.
    pub id: String,
    /// Fingerprint of the source of its implementing items and of its evidence when this was
    /// measured; when the code no longer gives it, the strength is stale.
    pub fingerprint: String,
    /// Mutants caught (failed or timed out).
    pub caught: usize,
    /// Mutants every evidence item passed, not waived.
    pub missed: usize,
    /// Surviving mutants waived as equivalent.
    pub waived: usize,
    /// Mutants that do not build.
    pub unviable: usize,
    /// Every mutant, by file, line and name.
    pub mutants: Vec<MutantResult>,
}

impl RequirementStrength {
    /// Builds the counts from `mutants`, sorted.
    pub fn new(id: &str, fingerprint: &str, mut mutants: Vec<MutantResult>) -> Self {
        mutants.sort_by(|a, b| (&a.file, a.line, &a.name).cmp(&(&b.file, b.line, &b.name)));
        let count = |f: &dyn Fn(&MutantResult) -> bool| mutants.iter().filter(|m| f(m)).count();
        Self {
            id: id.to_owned(),
            fingerprint: fingerprint.to_owned(),
            caught: count(&|m| matches!(m.outcome, MutantOutcome::Caught | MutantOutcome::Timeout)),
            missed: count(&|m| m.outcome == MutantOutcome::Missed && m.waived.is_none()),
            waived: count(&|m| m.outcome == MutantOutcome::Missed && m.waived.is_some()),
            unviable: count(&|m| m.outcome == MutantOutcome::Unviable),
            mutants,
        }
    }

    /// caught / (caught + missed), or `None` when no viable mutant was left to judge.
    pub fn strength(&self) -> Option<f64> {
        let judged = self.caught + self.missed;
        // Counts of mutants stay far below 2^53.
        (judged > 0).then(|| self.caught as f64 / judged as f64)
    }

    /// `7/9`, as the reports show it.
    pub fn fraction(&self) -> String {
        format!("{}/{}", self.caught, self.caught + self.missed)
    }
}

/// Tool versions the report was measured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    /// spectrace's version.
    pub spectrace: String,
    /// cargo-mutants' version (it generates the mutants).
    pub cargo_mutants: String,
    /// rustc's version (`rustc --version`).
    pub rustc: String,
}

/// The whole of `strength.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrengthReport {
    /// [`STRENGTH_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tools of the last run that wrote it.
    pub tools: Tools,
    /// Every requirement measured, by ID (natural order).
    pub requirements: Vec<RequirementStrength>,
}

impl StrengthReport {
    /// An empty report.
    pub fn new(tools: Tools) -> Self {
        Self {
            schema_version: STRENGTH_SCHEMA_VERSION,
            tools,
            requirements: Vec::new(),
        }
    }

    /// The entry of `id`.
    pub fn get(&self, id: &str) -> Option<&RequirementStrength> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// This report with `measured` replacing the entries of the same IDs (a run over some
    /// requirements keeps what earlier runs measured of the others), entries of IDs no longer
    /// in `known` dropped, and the tools of the new run.
    pub fn merge(
        mut self,
        measured: Vec<RequirementStrength>,
        tools: Tools,
        known: &dyn Fn(&str) -> bool,
    ) -> Self {
        let mut by_id: BTreeMap<String, RequirementStrength> = self
            .requirements
            .drain(..)
            .map(|r| (r.id.clone(), r))
            .collect();
        for r in measured {
            by_id.insert(r.id.clone(), r);
        }
        let mut requirements: Vec<RequirementStrength> =
            by_id.into_values().filter(|r| known(&r.id)).collect();
        requirements.sort_by(|a, b| natural_cmp(&a.id, &b.id));
        Self {
            schema_version: STRENGTH_SCHEMA_VERSION,
            tools,
            requirements,
        }
    }

    /// The report as written: pretty JSON and a final newline.
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self)
            .map(|text| format!("{text}\n"))
            .map_err(|e| format!("cannot serialize the strength report: {e}"))
    }

    /// Parses a report; `name` names the file in errors.
    pub fn parse(name: &str, text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("{name}:{}: {e}", e.line()))
    }
}

/// The JSON Schema of `strength.json`.
pub fn schema() -> Result<String, String> {
    let schema = schemars::schema_for!(StrengthReport);
    serde_json::to_string_pretty(&schema)
        .map(|text| format!("{text}\n"))
        .map_err(|e| format!("cannot serialize the schema: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_and_a_timeout_agree_and_nothing_else_does() {
        use MutantOutcome::*;
        let all = [Caught, Timeout, Missed, Unviable];
        for a in all {
            for b in all {
                let same = a == b || matches!((a, b), (Caught, Timeout) | (Timeout, Caught));
                assert_eq!(a.agrees_with(b), same, "{a:?} {b:?}");
            }
        }
    }

    fn result(name: &str, line: u32, outcome: MutantOutcome) -> MutantResult {
        MutantResult {
            name: name.to_owned(),
            file: "src/queue.rs".to_owned(),
            line,
            replacement: "-".to_owned(),
            outcome,
            failed: Vec::new(),
            diff: None,
            waived: None,
        }
    }

    fn tools(version: &str) -> Tools {
        Tools {
            spectrace: "0.1.0".to_owned(),
            cargo_mutants: version.to_owned(),
            rustc: "rustc 1.95.0".to_owned(),
        }
    }

    #[test]
    fn counts_and_strength_leave_out_unviable_and_waived_mutants() {
        let mut waived = result("c", 3, MutantOutcome::Missed);
        waived.waived = Some("equivalent: the sum is the same".to_owned());
        let r = RequirementStrength::new(
            "REQ-0001",
            "ab",
            vec![
                result("b", 9, MutantOutcome::Missed),
                result("a", 2, MutantOutcome::Caught),
                result("d", 4, MutantOutcome::Timeout),
                result("e", 1, MutantOutcome::Unviable),
                waived,
            ],
        );
        assert_eq!((r.caught, r.missed, r.waived, r.unviable), (2, 1, 1, 1));
        assert_eq!(r.fraction(), "2/3");
        assert!((r.strength().unwrap() - 2.0 / 3.0).abs() < 1e-9);
        let lines: Vec<u32> = r.mutants.iter().map(|m| m.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 9]);
        assert_eq!(
            RequirementStrength::new("R", "f", Vec::new()).strength(),
            None
        );
    }

    #[test]
    fn a_run_replaces_its_requirements_keeps_the_others_and_drops_removed_ones() {
        let old = StrengthReport::new(tools("26")).merge(
            vec![
                RequirementStrength::new(
                    "REQ-10",
                    "x",
                    vec![result("a", 1, MutantOutcome::Missed)],
                ),
                RequirementStrength::new("REQ-9", "y", Vec::new()),
                RequirementStrength::new("REQ-11", "z", Vec::new()),
            ],
            tools("26"),
            &|_| true,
        );
        let ids: Vec<&str> = old.requirements.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["REQ-9", "REQ-10", "REQ-11"]);
        let new = old.merge(
            vec![RequirementStrength::new(
                "REQ-10",
                "x2",
                vec![result("a", 1, MutantOutcome::Caught)],
            )],
            tools("27"),
            &|id| id != "REQ-11",
        );
        assert_eq!(new.requirements.len(), 2);
        assert_eq!(new.get("REQ-10").unwrap().caught, 1);
        assert_eq!(new.get("REQ-9").unwrap().fingerprint, "y");
        assert_eq!(new.tools.cargo_mutants, "27");
        let text = new.to_json().unwrap();
        assert_eq!(StrengthReport::parse("s.json", &text).unwrap(), new);
        assert!(
            StrengthReport::parse("s.json", "{\n\"x\": 1}")
                .unwrap_err()
                .starts_with("s.json:2:")
        );
        assert!(schema().unwrap().contains("MutantOutcome"));
    }
}
