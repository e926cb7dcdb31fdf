//! Properties of the pool scheduler under random interleavings of admission, dispatch,
//! completion, cancellation, expiry and readiness changes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::{HashMap, HashSet};

use orchestrator_core::lifecycle::TaskState;
use orchestrator_core::pool::{CancelOutcome, EndReason, Ended, Offer, PoolScheduler};
use orchestrator_core::queue::QueueSettings;
use orchestrator_core::{FullPolicy, Priority, TaskKey};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Admit { batch: bool, deadline: Option<u64> },
    Dispatch,
    Complete(usize),
    Fail(usize),
    Cancel(usize),
    Tick(u64),
    Ready(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), prop::option::of(1u64..400)).prop_map(|(batch, deadline)| Op::Admit { batch, deadline }),
        3 => Just(Op::Dispatch),
        2 => any::<usize>().prop_map(Op::Complete),
        1 => any::<usize>().prop_map(Op::Fail),
        2 => any::<usize>().prop_map(Op::Cancel),
        2 => (1u64..200).prop_map(Op::Tick),
        1 => (0usize..2, any::<bool>()).prop_map(|(r, ready)| Op::Ready(r, ready)),
    ]
}

fn policy() -> impl Strategy<Value = FullPolicy> {
    prop_oneof![
        Just(FullPolicy::Reject),
        Just(FullPolicy::DropLru),
        Just(FullPolicy::ShedLowPriority)
    ]
}

/// Runs `ops` and checks the invariants after every step; returns every `Ended` record and the
/// set of admitted keys, after ending whatever is still open.
fn run(policy: FullPolicy, cap: usize, slots: usize, ops: &[Op]) -> (Vec<Ended>, HashSet<TaskKey>) {
    let settings = QueueSettings {
        capacity_interactive: cap,
        capacity_batch: cap,
        policy,
        batch_every: 2,
    };
    let mut pool = PoolScheduler::new(settings, 2, slots, 50);
    pool.set_ready(0, true);
    let mut now = 0;
    let mut next = 0;
    let mut admitted = HashSet::new();
    let mut ended = Vec::new();
    let mut running: Vec<TaskKey> = Vec::new();
    for op in ops {
        match *op {
            Op::Admit { batch, deadline } => {
                next += 1;
                let priority = if batch {
                    Priority::Batch
                } else {
                    Priority::Interactive
                };
                if let Offer::Admitted { ended: victim, .. } =
                    pool.admit(TaskKey(next), priority, now, deadline)
                {
                    admitted.insert(TaskKey(next));
                    ended.extend(victim);
                }
            }
            Op::Dispatch => running.extend(pool.dispatch(now).into_iter().map(|d| d.key)),
            Op::Complete(i) | Op::Fail(i) if !running.is_empty() => {
                let key = running.remove(i % running.len());
                let reason = if matches!(op, Op::Complete(_)) {
                    EndReason::Completed
                } else {
                    EndReason::Failed
                };
                if let Ok(e) = pool.finish(key, reason, now) {
                    ended.push(e);
                }
            }
            Op::Cancel(i) if next > 0 => {
                let key = TaskKey(1 + (i as u64 % next));
                match pool.cancel(key, now) {
                    CancelOutcome::Cancelled(e) => {
                        running.retain(|&k| k != key);
                        ended.push(e);
                    }
                    CancelOutcome::AlreadyEnded(state) => assert!(state.is_terminal()),
                    CancelOutcome::Unknown => assert!(!admitted.contains(&key)),
                }
            }
            Op::Tick(ms) => {
                now += ms;
                ended.extend(pool.expire(now));
            }
            Op::Ready(r, ready) => pool.set_ready(r, ready),
            _ => {}
        }
        // Capacity is never exceeded; slots are never overcommitted.
        assert!(pool.queue_depth(Priority::Interactive) <= cap);
        assert!(pool.queue_depth(Priority::Batch) <= cap);
        for (_, total, busy) in pool.replicas() {
            assert!(busy <= total);
        }
        assert_eq!(pool.running(), running.len());
    }
    ended.extend(pool.end_all(EndReason::Failed, now));
    (ended, admitted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every admitted task ends exactly once: never lost, never ended twice, and nothing that
    /// was not admitted ever ends.
    #[spectrace::covers("ORCH-3004", "ORCH-3020", "ORCH-3025", kind = "property")]
    #[test]
    fn every_admitted_task_ends_exactly_once(policy in policy(), cap in 0usize..6, slots in 1usize..3, ops in prop::collection::vec(op(), 0..120)) {
        let (ended, admitted) = run(policy, cap, slots, &ops);
        let mut count: HashMap<TaskKey, usize> = HashMap::new();
        for e in &ended {
            *count.entry(e.key).or_default() += 1;
        }
        for key in &admitted {
            prop_assert_eq!(count.get(key).copied(), Some(1), "task {:?}", key);
        }
        prop_assert_eq!(count.len(), admitted.len());
    }

    /// Within a class, tasks are dispatched in admission order.
    #[spectrace::covers("ORCH-3004", "ORCH-3006", kind = "property")]
    #[test]
    fn fifo_within_each_class(classes in prop::collection::vec(any::<bool>(), 1..60)) {
        let settings = QueueSettings { capacity_interactive: 64, capacity_batch: 64, policy: FullPolicy::Reject, batch_every: 3 };
        let mut pool = PoolScheduler::new(settings, 1, 1, 10);
        pool.set_ready(0, true);
        for (i, batch) in classes.iter().enumerate() {
            let priority = if *batch { Priority::Batch } else { Priority::Interactive };
            pool.admit(TaskKey(i as u64), priority, 0, None);
        }
        let mut order = Vec::new();
        loop {
            let d = pool.dispatch(0);
            let Some(first) = d.first() else { break };
            order.push(first.key);
            pool.finish(first.key, EndReason::Completed, 0).unwrap();
        }
        for batch in [false, true] {
            let keys: Vec<u64> = order.iter().map(|k| k.0).filter(|&k| classes[k as usize] == batch).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            prop_assert_eq!(keys, sorted);
        }
    }

    /// Batch work waits at most `batch_every` interactive dispatches while it is queued.
    #[spectrace::covers("ORCH-3007", kind = "property")]
    #[test]
    fn batch_work_is_never_starved(interactive in 1usize..40, batch in 1usize..10, every in 1u32..5) {
        let settings = QueueSettings { capacity_interactive: 64, capacity_batch: 64, policy: FullPolicy::Reject, batch_every: every };
        let mut pool = PoolScheduler::new(settings, 1, 1, 10);
        pool.set_ready(0, true);
        let mut key = 0;
        for _ in 0..batch { pool.admit(TaskKey(key), Priority::Batch, 0, None); key += 1; }
        for _ in 0..interactive { pool.admit(TaskKey(key), Priority::Interactive, 0, None); key += 1; }
        let mut streak = 0;
        loop {
            let d = pool.dispatch(0);
            let Some(first) = d.first() else { break };
            let is_batch = pool.priority(first.key) == Some(Priority::Batch);
            if is_batch { streak = 0 } else if pool.queue_depth(Priority::Batch) > 0 { streak += 1 }
            prop_assert!(streak <= every, "batch passed over {} times", streak);
            pool.finish(first.key, EndReason::Completed, 0).unwrap();
        }
    }

    /// A task's reported position is the number of tasks dispatched before it.
    #[spectrace::covers("ORCH-3011", kind = "property")]
    #[test]
    fn positions_predict_the_dispatch_order(classes in prop::collection::vec(any::<bool>(), 1..40), every in 1u32..4) {
        let settings = QueueSettings { capacity_interactive: 64, capacity_batch: 64, policy: FullPolicy::Reject, batch_every: every };
        let mut pool = PoolScheduler::new(settings, 1, 1, 10);
        for (i, batch) in classes.iter().enumerate() {
            let priority = if *batch { Priority::Batch } else { Priority::Interactive };
            pool.admit(TaskKey(i as u64), priority, 0, None);
        }
        let positions: Vec<usize> = (0..classes.len()).map(|i| pool.position(TaskKey(i as u64)).unwrap().0).collect();
        pool.set_ready(0, true);
        let mut order = Vec::new();
        loop {
            let d = pool.dispatch(0);
            let Some(first) = d.first() else { break };
            order.push(first.key.0 as usize);
            pool.finish(first.key, EndReason::Completed, 0).unwrap();
        }
        for (place, key) in order.iter().enumerate() {
            prop_assert_eq!(positions[*key], place);
        }
        prop_assert_eq!(pool.state(TaskKey(0)), Some(TaskState::Completed));
    }
}
