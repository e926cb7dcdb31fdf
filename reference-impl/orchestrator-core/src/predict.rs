//! Predicted start times (ORCH-3011): how long until a queued task is likely dispatched.
//!
//! The estimate is deliberately simple and monotone: with `free` slots now, the first `free`
//! tasks in dispatch order start at once; after that, one task starts every
//! `mean_task_ms / slots` milliseconds on average.

/// Milliseconds until the task at `position` (0-based, in dispatch order) is likely to start,
/// given the pool's free and total slots and the mean run time of recent tasks.
/// 0 when a slot is free for it now; never decreasing in `position`.
#[spectrace::implements("ORCH-3011")]
pub fn predicted_start_ms(
    position: usize,
    free_slots: usize,
    total_slots: usize,
    mean_task_ms: u64,
) -> u64 {
    if position < free_slots {
        return 0;
    }
    let waiting_ahead = (position - free_slots + 1) as u64;
    let slots = total_slots.max(1) as u64;
    (waiting_ahead * mean_task_ms.max(1)).div_ceil(slots)
}

/// A running mean of task durations, seeded with a prior so that a new pool predicts
/// something sensible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanDuration {
    mean_ms: f64,
}

impl MeanDuration {
    /// Weight of the newest observation.
    const ALPHA: f64 = 0.2;

    /// Starts from `prior_ms`.
    pub fn new(prior_ms: u64) -> Self {
        Self {
            mean_ms: prior_ms as f64,
        }
    }

    /// Folds in one finished task's run time.
    pub fn observe(&mut self, duration_ms: u64) {
        self.mean_ms += Self::ALPHA * (duration_ms as f64 - self.mean_ms);
    }

    /// The current mean, in whole milliseconds (at least 1).
    pub fn mean_ms(&self) -> u64 {
        (self.mean_ms.round() as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[spectrace::covers("ORCH-3011")]
    #[test]
    fn zero_while_a_slot_is_free() {
        assert_eq!(predicted_start_ms(0, 1, 4, 100), 0);
        assert_eq!(predicted_start_ms(3, 4, 4, 100), 0);
        assert_eq!(predicted_start_ms(4, 4, 4, 100), 25);
        assert_eq!(predicted_start_ms(0, 0, 4, 100), 25);
    }

    proptest! {
        #[spectrace::covers("ORCH-3011", kind = "property")]
        #[test]
        fn never_decreasing_in_position(position in 0usize..10_000, free in 0usize..64, total in 1usize..64, mean in 0u64..100_000) {
            let free = free.min(total);
            prop_assert!(predicted_start_ms(position, free, total, mean) <= predicted_start_ms(position + 1, free, total, mean));
        }
    }

    #[test]
    fn mean_duration_moves_toward_observations() {
        let mut mean = MeanDuration::new(1000);
        for _ in 0..50 {
            mean.observe(100);
        }
        assert!((100..=110).contains(&mean.mean_ms()), "{}", mean.mean_ms());
        assert_eq!(MeanDuration::new(0).mean_ms(), 1);
    }
}
