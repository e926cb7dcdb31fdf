//! Placement: which replica of a pool runs a dispatched task (ORCH-3012 – ORCH-3014).

/// What placement needs to know about one replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaLoad {
    /// Index of the replica in its pool (`replica_id` order).
    pub index: usize,
    /// Ready to take work (healthy, self-tested, not restarting).
    pub ready: bool,
    /// Slots of the replica.
    pub slots_total: usize,
    /// Slots running a task.
    pub slots_busy: usize,
}

impl ReplicaLoad {
    /// Free slots.
    pub fn free(&self) -> usize {
        self.slots_total.saturating_sub(self.slots_busy)
    }

    /// Whether a task may go to it: ready, with a free slot.
    #[spectrace::implements("ORCH-3014")]
    pub fn usable(&self) -> bool {
        self.ready && self.free() > 0
    }
}

/// The ready replica with the most free slots, the lowest index breaking ties; the session's
/// previous replica when it is ready and has a free slot. `None` when no ready replica has a
/// free slot.
#[spectrace::implements("ORCH-3013", "ORCH-3014")]
pub fn place(replicas: &[ReplicaLoad], session_affinity: Option<usize>) -> Option<usize> {
    if let Some(preferred) = session_affinity
        && replicas.iter().any(|r| r.index == preferred && r.usable())
    {
        return Some(preferred);
    }
    least_loaded(replicas)
}

/// The usable replica with the most free slots, the lowest index breaking ties.
#[spectrace::implements("ORCH-3012", "ORCH-3014")]
fn least_loaded(replicas: &[ReplicaLoad]) -> Option<usize> {
    replicas
        .iter()
        .filter(|r| r.usable())
        .max_by(|a, b| a.free().cmp(&b.free()).then(b.index.cmp(&a.index)))
        .map(|r| r.index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(index: usize, ready: bool, total: usize, busy: usize) -> ReplicaLoad {
        ReplicaLoad {
            index,
            ready,
            slots_total: total,
            slots_busy: busy,
        }
    }

    #[spectrace::covers("ORCH-3012")]
    #[test]
    fn most_free_slots_then_lowest_index() {
        assert_eq!(
            place(
                &[r(0, true, 4, 3), r(1, true, 4, 1), r(2, true, 4, 1)],
                None
            ),
            Some(1)
        );
        assert_eq!(place(&[r(0, true, 4, 0), r(1, true, 4, 0)], None), Some(0));
    }

    #[spectrace::covers("ORCH-3012")]
    #[test]
    fn the_most_free_slots_count_only_among_ready_replicas_with_a_free_slot() {
        assert_eq!(
            place(&[r(0, false, 8, 0), r(1, true, 4, 3)], None),
            Some(1),
            "an unready replica's free slots do not count"
        );
        assert_eq!(place(&[r(0, true, 2, 2)], None), None, "a full replica");
        assert_eq!(place(&[r(0, true, 2, 2), r(1, true, 4, 3)], None), Some(1));
    }

    #[spectrace::covers("ORCH-3014")]
    #[test]
    fn unready_and_full_replicas_are_never_chosen() {
        assert_eq!(place(&[r(0, false, 4, 0), r(1, true, 4, 3)], None), Some(1));
        assert_eq!(place(&[r(0, false, 4, 0), r(1, true, 4, 4)], None), None);
        assert_eq!(place(&[], None), None);
        assert_eq!(
            place(&[r(0, true, 4, 3), r(1, false, 4, 0)], Some(1)),
            Some(0),
            "not even for the session's previous replica"
        );
    }

    #[spectrace::covers("ORCH-3013")]
    #[test]
    fn session_affinity_wins_when_possible() {
        let replicas = [r(0, true, 4, 0), r(1, true, 4, 3)];
        assert_eq!(place(&replicas, Some(1)), Some(1));
        let busy = [r(0, true, 4, 0), r(1, true, 4, 4)];
        assert_eq!(
            place(&busy, Some(1)),
            Some(0),
            "a full preferred replica is skipped"
        );
        let unready = [r(0, true, 4, 0), r(1, false, 4, 0)];
        assert_eq!(place(&unready, Some(1)), Some(0));
    }
}
