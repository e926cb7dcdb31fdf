//! The gate: which requirements fall short of what `[gate]` in `spectrace.toml`
//! demands of their level — a status, and where configured an implementation link
//! (`implemented`) and a strength (`must_strength`). Pure; `spectrace check` adds the input checks (IDs, evidence naming
//! unknown requirements, stale generated files) and the exit code.

use crate::compliance::{ComplianceModel, RequirementStatus, Status};
use crate::config::{Demand, GateConfig, ImplementedDemand, Ratio};
use crate::level::Level;

/// Why a requirement falls short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShortReason {
    /// Its status does not meet what its level demands.
    Status,
    /// No `#[implements]` item names it, and `[gate] implemented` asks for one.
    NoImplementation,
    /// Its strength is below `[gate] must_strength`: caught of judged.
    WeakStrength {
        /// Mutants caught.
        caught: usize,
        /// Mutants judged (caught and missed).
        judged: usize,
        /// The floor.
        floor: Ratio,
    },
    /// Its strength was measured on code that has changed since.
    StaleStrength,
    /// Its strength was never measured.
    NoStrength,
    /// No mutant of its implementing items could be judged (`0/0`), and no waiver without a
    /// mutant says why.
    NoJudgedMutant {
        /// Its mutants that did not build.
        unviable: usize,
    },
}

/// A requirement that does not meet the demand of its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// Requirement ID.
    pub id: String,
    /// Its level.
    pub level: Level,
    /// Its status in the run.
    pub status: Status,
    /// What its level demands.
    pub demand: Demand,
    /// Its spec file.
    pub spec: String,
    /// Its line in the spec.
    pub line: usize,
    /// Its title.
    pub title: String,
    /// Every reason it falls short, status first.
    pub reasons: Vec<ShortReason>,
}

/// What `policy` demands of a requirement of `level` (informative text is never gated).
pub fn demand_for(policy: &GateConfig, level: Level) -> Demand {
    match level {
        Level::Must => policy.must,
        Level::Should => policy.should,
        Level::May => policy.may,
        Level::Info => Demand::None,
    }
}

/// True when `status` meets `demand`. The demands are prefixes of the status rank
/// ([`Status::ALL`]): `verified` accepts `verified`; `covered` accepts `verified` and
/// `unverified`. A `suspect` requirement meets neither: until someone reviews its evidence
/// against the new wording (`spectrace review`), the evidence may prove something else, and
/// accepting it under `covered` would let a rewording pass the gate silently.
pub fn meets(status: Status, demand: Demand) -> bool {
    match demand {
        Demand::None => true,
        Demand::Verified => status == Status::Verified,
        Demand::Covered => matches!(status, Status::Verified | Status::Unverified),
    }
}

/// Why `r` falls short of `policy`; empty when it meets it.
pub fn reasons(r: &RequirementStatus, policy: &GateConfig) -> Vec<ShortReason> {
    let mut reasons = Vec::new();
    if !meets(r.status, demand_for(policy, r.level)) {
        reasons.push(ShortReason::Status);
    }
    let needs_link = match policy.implemented {
        ImplementedDemand::None => false,
        ImplementedDemand::Must => r.level == Level::Must,
        ImplementedDemand::Should => matches!(r.level, Level::Must | Level::Should),
    };
    if needs_link && r.implementations.is_empty() {
        reasons.push(ShortReason::NoImplementation);
    }
    if let (Some(floor), Level::Must) = (policy.must_strength, r.level) {
        match &r.strength {
            None => reasons.push(ShortReason::NoStrength),
            Some(s) if s.stale => reasons.push(ShortReason::StaleStrength),
            // A waiver without a mutant says why none can be judged.
            Some(s) if s.judged() == 0 => {
                if s.unjudged_waiver.is_none() {
                    reasons.push(ShortReason::NoJudgedMutant {
                        unviable: s.unviable,
                    });
                }
            }
            Some(s) if !floor.met_by(s.caught, s.judged()) => {
                reasons.push(ShortReason::WeakStrength {
                    caught: s.caught,
                    judged: s.judged(),
                    floor,
                });
            }
            Some(_) => {}
        }
    }
    reasons
}

/// Every requirement of `model` that falls short, in ID order.
pub fn shortfalls(model: &ComplianceModel, policy: &GateConfig) -> Vec<Shortfall> {
    model
        .requirements
        .iter()
        .filter_map(|r| {
            let reasons = reasons(r, policy);
            (!reasons.is_empty()).then(|| Shortfall {
                id: r.id.clone(),
                level: r.level,
                status: r.status,
                demand: demand_for(policy, r.level),
                spec: r.spec.clone(),
                line: r.line,
                title: r.title.clone(),
                reasons,
            })
        })
        .collect()
}

impl ShortReason {
    /// What the gate says about it, after `LEVEL ID`.
    pub fn describe(&self, status: Status, demand: Demand) -> String {
        match self {
            ShortReason::Status => format!("is {status} (the gate demands {demand})"),
            ShortReason::NoImplementation => {
                "has no implementation link (the gate demands #[implements])".to_owned()
            }
            ShortReason::WeakStrength {
                caught,
                judged,
                floor,
            } => format!(
                "has strength {caught}/{judged} (the gate demands at least {floor})"
            ),
            ShortReason::StaleStrength => {
                "has a stale strength: its code or evidence changed since `spectrace strength` measured it"
                    .to_owned()
            }
            ShortReason::NoStrength => {
                "has no measured strength (run `spectrace strength`)".to_owned()
            }
            ShortReason::NoJudgedMutant { unviable } => format!(
                "has strength 0/0: none of the mutants of its implementing items could be judged ({unviable} unviable); link the items whose mutants its evidence can judge, or waive it without a mutant in the strength waivers, saying why"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_demands_verified_and_covered_accepts_unverified() {
        for status in Status::ALL {
            assert_eq!(meets(status, Demand::Verified), status == Status::Verified);
            assert_eq!(
                meets(status, Demand::Covered),
                matches!(status, Status::Verified | Status::Unverified)
            );
            assert!(meets(status, Demand::None));
        }
    }

    #[test]
    fn suspect_meets_only_no_demand_and_demands_follow_the_rank() {
        assert!(!meets(Status::Suspect, Demand::Verified));
        assert!(!meets(Status::Suspect, Demand::Covered));
        assert!(meets(Status::Suspect, Demand::None));
        for demand in [Demand::Verified, Demand::Covered] {
            // Once a status falls short, every worse status does too.
            let first_short = Status::ALL.iter().position(|&s| !meets(s, demand)).unwrap();
            assert!(
                Status::ALL[first_short..]
                    .iter()
                    .all(|&s| !meets(s, demand))
            );
        }
    }

    #[test]
    fn the_default_policy_gates_must_and_should_only() {
        let policy = GateConfig::default();
        assert_eq!(demand_for(&policy, Level::Must), Demand::Verified);
        assert_eq!(demand_for(&policy, Level::Should), Demand::Verified);
        assert_eq!(demand_for(&policy, Level::May), Demand::None);
        assert_eq!(demand_for(&policy, Level::Info), Demand::None);
    }

    fn requirement(level: Level, status: Status) -> RequirementStatus {
        RequirementStatus {
            id: "A-1".into(),
            level,
            title: "t".into(),
            spec: "s.md".into(),
            line: 3,
            section: "1".into(),
            anchor: "1".into(),
            fingerprint: "f".into(),
            reviewed_fingerprint: None,
            status,
            evidence: Vec::new(),
            contracts: Vec::new(),
            implementations: Vec::new(),
            strength: None,
        }
    }

    fn strength(caught: usize, missed: usize, stale: bool) -> crate::compliance::Strength {
        crate::compliance::Strength {
            caught,
            missed,
            waived: 0,
            unviable: 0,
            stale,
            survivors: Vec::new(),
            unjudged_waiver: None,
        }
    }

    #[test]
    fn implementation_links_and_strength_are_demanded_only_when_configured() {
        let mut r = requirement(Level::Must, Status::Verified);
        let mut policy = GateConfig::default();
        assert!(reasons(&r, &policy).is_empty());
        policy.implemented = ImplementedDemand::Must;
        assert_eq!(reasons(&r, &policy), [ShortReason::NoImplementation]);
        let should = requirement(Level::Should, Status::Verified);
        assert!(reasons(&should, &policy).is_empty());
        policy.implemented = ImplementedDemand::Should;
        assert_eq!(reasons(&should, &policy), [ShortReason::NoImplementation]);
        r.implementations.push(crate::compliance::Link {
            file: "src/a.rs".into(),
            line: 1,
            target: "a".into(),
        });
        assert!(reasons(&r, &policy).is_empty());

        policy.must_strength = Some(Ratio::try_from(0.8).unwrap());
        assert_eq!(reasons(&r, &policy), [ShortReason::NoStrength]);
        r.strength = Some(strength(8, 2, false));
        assert!(reasons(&r, &policy).is_empty());
        r.strength = Some(strength(7, 3, false));
        assert!(matches!(
            reasons(&r, &policy).as_slice(),
            [ShortReason::WeakStrength {
                caught: 7,
                judged: 10,
                ..
            }]
        ));
        r.strength = Some(strength(9, 0, true));
        assert_eq!(reasons(&r, &policy), [ShortReason::StaleStrength]);
        r.strength = Some(strength(0, 0, false));
        assert_eq!(
            reasons(&r, &policy),
            [ShortReason::NoJudgedMutant { unviable: 0 }]
        );
        // A waiver without a mutant says why none can be judged: the 0/0 passes the floor.
        let mut waived = strength(0, 0, false);
        waived.unjudged_waiver = Some("a struct has no mutant".into());
        r.strength = Some(waived.clone());
        assert!(reasons(&r, &policy).is_empty());
        // It does not excuse a stale measurement.
        waived.stale = true;
        r.strength = Some(waived);
        assert_eq!(reasons(&r, &policy), [ShortReason::StaleStrength]);
        // A SHOULD has no strength floor; a failing MUST lists its status first.
        assert!(
            reasons(
                &should,
                &GateConfig {
                    must_strength: policy.must_strength,
                    ..GateConfig::default()
                }
            )
            .is_empty()
        );
        let failing = requirement(Level::Must, Status::Failing);
        assert_eq!(
            reasons(&failing, &policy),
            [
                ShortReason::Status,
                ShortReason::NoImplementation,
                ShortReason::NoStrength
            ]
        );
        assert_eq!(
            ShortReason::Status.describe(Status::Failing, Demand::Verified),
            "is failing (the gate demands verified)"
        );
    }
}
