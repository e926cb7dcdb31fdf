//! The gate: which requirements fall short of what `[gate]` in `spectrace.toml`
//! demands of their level. Pure; `spectrace check` adds the input checks (IDs, evidence naming
//! unknown requirements, stale generated files) and the exit code.

use crate::compliance::{ComplianceModel, Status};
use crate::config::{Demand, GateConfig};
use crate::level::Level;

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

/// Every requirement of `model` that falls short, in ID order.
pub fn shortfalls(model: &ComplianceModel, policy: &GateConfig) -> Vec<Shortfall> {
    model
        .requirements
        .iter()
        .filter_map(|r| {
            let demand = demand_for(policy, r.level);
            (!meets(r.status, demand)).then(|| Shortfall {
                id: r.id.clone(),
                level: r.level,
                status: r.status,
                demand,
                spec: r.spec.clone(),
                line: r.line,
                title: r.title.clone(),
            })
        })
        .collect()
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
}
