//! One pool's admission queue: a bounded FIFO per priority class, the full policies, and the
//! dispatch order (interactive first, with a bound on how long batch work can be passed over).
//!
//! Positions are computed by replaying the dispatch rules over the queued tasks, so a task's
//! `queue_position` is exactly the number of tasks the pool would dispatch before it if nothing
//! else arrived (ORCH-3011).

use std::collections::VecDeque;

use crate::{FullPolicy, Priority, TaskKey};

/// Settings of one pool's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Most queued `interactive` tasks.
    pub capacity_interactive: usize,
    /// Most queued `batch` tasks.
    pub capacity_batch: usize,
    /// What happens when a task arrives for a full queue.
    pub policy: FullPolicy,
    /// After this many consecutive interactive dispatches while batch work waits, the next
    /// dispatch is the oldest batch task (ORCH-3007). At least 1.
    pub batch_every: u32,
}

/// Why an admitted task left its queue without being dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionReason {
    /// `drop-lru` made room for a newer task (`QUEUE_EVICTED`).
    Evicted,
    /// `shed-low-priority` shed batch work under interactive pressure (`SHED_LOW_PRIORITY`).
    Shed,
}

/// The result of offering a task to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The task is queued.
    Admitted {
        /// Tasks the pool will dispatch before it.
        position: usize,
        /// A task that left the queue to make room or under pressure; it must end now.
        evicted: Option<(TaskKey, EvictionReason)>,
    },
    /// The queue is full and the policy refuses the task (HTTP 429).
    Rejected,
}

/// A pool's queues.
#[derive(Debug, Clone)]
pub struct AdmissionQueue {
    settings: QueueSettings,
    interactive: VecDeque<TaskKey>,
    batch: VecDeque<TaskKey>,
    /// Consecutive interactive dispatches while a batch task was waiting.
    passed_over: u32,
}

impl AdmissionQueue {
    /// An empty queue. A `batch_every` of 0 is treated as 1.
    pub fn new(settings: QueueSettings) -> Self {
        let settings = QueueSettings {
            batch_every: settings.batch_every.max(1),
            ..settings
        };
        Self {
            settings,
            interactive: VecDeque::new(),
            batch: VecDeque::new(),
            passed_over: 0,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> QueueSettings {
        self.settings
    }

    /// Queued tasks of one class.
    pub fn depth(&self, priority: Priority) -> usize {
        match priority {
            Priority::Interactive => self.interactive.len(),
            Priority::Batch => self.batch.len(),
        }
    }

    /// Queued tasks of both classes.
    pub fn len(&self) -> usize {
        self.interactive.len() + self.batch.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn capacity(&self, priority: Priority) -> usize {
        match priority {
            Priority::Interactive => self.settings.capacity_interactive,
            Priority::Batch => self.settings.capacity_batch,
        }
    }

    fn fifo(&mut self, priority: Priority) -> &mut VecDeque<TaskKey> {
        match priority {
            Priority::Interactive => &mut self.interactive,
            Priority::Batch => &mut self.batch,
        }
    }

    /// Offers a task to the queue of its class under the pool's full policy.
    #[spectrace::implements("ORCH-3004", "ORCH-3005")]
    pub fn admit(&mut self, key: TaskKey, priority: Priority) -> Admission {
        let full = self.depth(priority) >= self.capacity(priority);
        let mut evicted = None;
        if full {
            match self.settings.policy {
                FullPolicy::Reject | FullPolicy::ShedLowPriority => return Admission::Rejected,
                FullPolicy::DropLru => match self.fifo(priority).pop_front() {
                    Some(oldest) => evicted = Some((oldest, EvictionReason::Evicted)),
                    // A class with capacity 0 admits nothing, whatever the policy.
                    None => return Admission::Rejected,
                },
            }
        }
        self.fifo(priority).push_back(key);
        if let Some(newest_batch) = self.shed_for(priority) {
            evicted = Some((newest_batch, EvictionReason::Shed));
        }
        // Always found: `key` was just queued, and shedding removes only batch tasks queued
        // before it.
        let position = self.position(key).unwrap_or_default();
        Admission::Admitted { position, evicted }
    }

    /// Under `shed-low-priority`, the batch task an interactive task just admitted evicts: the
    /// most recently admitted one, once the interactive queue is at least half full.
    #[spectrace::implements("ORCH-3005")]
    fn shed_for(&mut self, admitted: Priority) -> Option<TaskKey> {
        if self.settings.policy == FullPolicy::ShedLowPriority
            && admitted == Priority::Interactive
            && self.interactive.len() * 2 >= self.settings.capacity_interactive
        {
            self.batch.pop_back()
        } else {
            None
        }
    }

    /// Takes the next task to dispatch: the oldest interactive task, unless batch work has been
    /// passed over `batch_every` times in a row, then the oldest batch task.
    #[spectrace::implements("ORCH-3006", "ORCH-3007")]
    pub fn pop_next(&mut self) -> Option<(TaskKey, Priority)> {
        let take_batch = self.batch_is_due() || self.interactive.is_empty();
        if take_batch && let Some(key) = self.batch.pop_front() {
            self.passed_over = 0;
            return Some((key, Priority::Batch));
        }
        let key = self.interactive.pop_front()?;
        if !self.batch.is_empty() {
            self.passed_over += 1;
        }
        Some((key, Priority::Interactive))
    }

    #[spectrace::implements("ORCH-3007")]
    fn batch_is_due(&self) -> bool {
        !self.batch.is_empty() && self.passed_over >= self.settings.batch_every
    }

    /// Removes a queued task (cancel, disconnect, expiry). False when it is not queued.
    pub fn remove(&mut self, key: TaskKey) -> bool {
        let removed = [&mut self.interactive, &mut self.batch]
            .into_iter()
            .any(|fifo| match fifo.iter().position(|&k| k == key) {
                Some(at) => fifo.remove(at).is_some(),
                None => false,
            });
        if self.batch.is_empty() {
            self.passed_over = 0;
        }
        removed
    }

    /// True when the task is queued.
    pub fn contains(&self, key: TaskKey) -> bool {
        self.interactive.contains(&key) || self.batch.contains(&key)
    }

    /// The dispatch order of every queued task, as [`pop_next`](Self::pop_next) would produce
    /// it if nothing else arrived.
    #[spectrace::implements("ORCH-3011")]
    pub fn dispatch_order(&self) -> Vec<TaskKey> {
        let mut replay = self.clone();
        std::iter::from_fn(|| replay.pop_next().map(|(key, _)| key)).collect()
    }

    /// How many queued tasks would be dispatched before this one; `None` when it is not queued.
    #[spectrace::implements("ORCH-3011")]
    pub fn position(&self, key: TaskKey) -> Option<usize> {
        if !self.contains(key) {
            return None;
        }
        self.dispatch_order().iter().position(|&k| k == key)
    }

    /// Every queued task, interactive first (for shutdown and drain).
    pub fn keys(&self) -> impl Iterator<Item = TaskKey> + '_ {
        self.interactive.iter().chain(self.batch.iter()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(
        policy: FullPolicy,
        interactive: usize,
        batch: usize,
        batch_every: u32,
    ) -> AdmissionQueue {
        AdmissionQueue::new(QueueSettings {
            capacity_interactive: interactive,
            capacity_batch: batch,
            policy,
            batch_every,
        })
    }

    fn admitted(a: Admission) -> (usize, Option<(TaskKey, EvictionReason)>) {
        match a {
            Admission::Admitted { position, evicted } => (position, evicted),
            Admission::Rejected => panic!("rejected"),
        }
    }

    #[spectrace::covers("ORCH-3004")]
    #[test]
    fn fifo_within_a_class_and_bounded() {
        let mut q = queue(FullPolicy::Reject, 2, 2, 4);
        assert_eq!(admitted(q.admit(TaskKey(1), Priority::Batch)).0, 0);
        assert_eq!(admitted(q.admit(TaskKey(2), Priority::Batch)).0, 1);
        assert_eq!(q.admit(TaskKey(3), Priority::Batch), Admission::Rejected);
        assert_eq!(q.pop_next(), Some((TaskKey(1), Priority::Batch)));
        assert_eq!(q.pop_next(), Some((TaskKey(2), Priority::Batch)));
        assert_eq!(q.pop_next(), None);
    }

    #[spectrace::covers("ORCH-3004")]
    #[test]
    fn below_capacity_every_task_stays_queued_in_its_class_order() {
        for policy in [FullPolicy::Reject, FullPolicy::DropLru] {
            let mut q = queue(policy, 4, 4, 4);
            q.admit(TaskKey(100), Priority::Batch);
            for k in 1..=3 {
                assert_eq!(admitted(q.admit(TaskKey(k), Priority::Interactive)).1, None);
            }
            assert_eq!(admitted(q.admit(TaskKey(101), Priority::Batch)).1, None);
            let popped: Vec<u64> = std::iter::from_fn(|| q.pop_next().map(|(k, _)| k.0)).collect();
            assert_eq!(popped, [1, 2, 3, 100, 101], "{policy:?}");
        }
    }

    #[spectrace::covers("ORCH-3004", "ORCH-3005")]
    #[test]
    fn shedding_happens_only_when_an_interactive_task_is_admitted() {
        let mut q = queue(FullPolicy::ShedLowPriority, 4, 8, 4);
        for k in 1..=2 {
            q.admit(TaskKey(k), Priority::Interactive);
        }
        // The interactive queue is half full, but a batch arrival sheds nothing.
        assert_eq!(admitted(q.admit(TaskKey(100), Priority::Batch)).1, None);
        assert_eq!(admitted(q.admit(TaskKey(101), Priority::Batch)).1, None);
        assert_eq!(
            admitted(q.admit(TaskKey(3), Priority::Interactive)).1,
            Some((TaskKey(101), EvictionReason::Shed))
        );
        assert_eq!(q.dispatch_order(), [1, 2, 3, 100].map(TaskKey));
    }

    #[spectrace::covers("ORCH-3005")]
    #[test]
    fn shedding_starts_exactly_when_the_interactive_queue_is_half_full() {
        let mut q = queue(FullPolicy::ShedLowPriority, 6, 8, 4);
        q.admit(TaskKey(1), Priority::Interactive);
        q.admit(TaskKey(100), Priority::Batch);
        q.admit(TaskKey(101), Priority::Batch);
        // 2 of 6: below half.
        assert_eq!(admitted(q.admit(TaskKey(2), Priority::Interactive)).1, None);
        // 3 of 6: half full.
        assert_eq!(
            admitted(q.admit(TaskKey(3), Priority::Interactive)).1,
            Some((TaskKey(101), EvictionReason::Shed))
        );
    }

    #[spectrace::covers("ORCH-3005")]
    #[test]
    fn drop_lru_evicts_the_oldest_of_the_same_class() {
        let mut q = queue(FullPolicy::DropLru, 2, 2, 4);
        q.admit(TaskKey(1), Priority::Interactive);
        q.admit(TaskKey(2), Priority::Interactive);
        q.admit(TaskKey(9), Priority::Batch);
        let (position, evicted) = admitted(q.admit(TaskKey(3), Priority::Interactive));
        assert_eq!(evicted, Some((TaskKey(1), EvictionReason::Evicted)));
        assert_eq!(position, 1);
        assert_eq!(q.dispatch_order(), [TaskKey(2), TaskKey(3), TaskKey(9)]);
    }

    #[spectrace::covers("ORCH-3005")]
    #[test]
    fn shed_low_priority_sheds_the_newest_batch_task_at_half_full() {
        let mut q = queue(FullPolicy::ShedLowPriority, 4, 8, 4);
        for k in 10..13 {
            q.admit(TaskKey(k), Priority::Batch);
        }
        // 1 of 4: below half, nothing shed.
        assert_eq!(admitted(q.admit(TaskKey(1), Priority::Interactive)).1, None);
        // 2 of 4: half full, the newest batch task goes.
        assert_eq!(
            admitted(q.admit(TaskKey(2), Priority::Interactive)).1,
            Some((TaskKey(12), EvictionReason::Shed))
        );
        assert_eq!(
            admitted(q.admit(TaskKey(3), Priority::Interactive)).1,
            Some((TaskKey(11), EvictionReason::Shed))
        );
        admitted(q.admit(TaskKey(4), Priority::Interactive));
        // Full interactive queue: refused, and a full batch queue refuses too.
        assert_eq!(
            q.admit(TaskKey(5), Priority::Interactive),
            Admission::Rejected
        );
        assert_eq!(q.depth(Priority::Batch), 0);
    }

    #[spectrace::covers("ORCH-3005")]
    #[test]
    fn reject_refuses_and_changes_nothing() {
        let mut q = queue(FullPolicy::Reject, 1, 1, 4);
        q.admit(TaskKey(1), Priority::Interactive);
        let before = q.dispatch_order();
        assert_eq!(
            q.admit(TaskKey(2), Priority::Interactive),
            Admission::Rejected
        );
        assert_eq!(q.dispatch_order(), before);
    }

    #[spectrace::covers("ORCH-3006", "ORCH-3007")]
    #[test]
    fn interactive_first_but_batch_every_n() {
        let mut q = queue(FullPolicy::Reject, 16, 16, 2);
        q.admit(TaskKey(100), Priority::Batch);
        for k in 1..=5 {
            q.admit(TaskKey(k), Priority::Interactive);
        }
        q.admit(TaskKey(101), Priority::Batch);
        let order: Vec<u64> = q.dispatch_order().into_iter().map(|k| k.0).collect();
        assert_eq!(order, [1, 2, 100, 3, 4, 101, 5]);
        let popped: Vec<u64> = std::iter::from_fn(|| q.pop_next().map(|(k, _)| k.0)).collect();
        assert_eq!(popped, order);
    }

    #[spectrace::covers("ORCH-3011")]
    #[test]
    fn positions_follow_the_dispatch_order() {
        let mut q = queue(FullPolicy::Reject, 16, 16, 1);
        q.admit(TaskKey(100), Priority::Batch);
        let (a, _) = admitted(q.admit(TaskKey(1), Priority::Interactive));
        let (b, _) = admitted(q.admit(TaskKey(2), Priority::Interactive));
        assert_eq!(
            (a, b),
            (0, 2),
            "the batch task is due after one interactive dispatch"
        );
        assert_eq!(q.position(TaskKey(100)), Some(1));
        assert_eq!(q.position(TaskKey(7)), None);
    }

    #[test]
    fn removing_a_task_closes_the_gap() {
        let mut q = queue(FullPolicy::Reject, 4, 4, 4);
        for k in 1..=3 {
            q.admit(TaskKey(k), Priority::Interactive);
        }
        assert!(q.remove(TaskKey(2)));
        assert!(!q.remove(TaskKey(2)));
        assert_eq!(q.dispatch_order(), [TaskKey(1), TaskKey(3)]);
        assert_eq!(q.position(TaskKey(3)), Some(1));
    }

    #[test]
    fn zero_capacity_admits_nothing_under_any_policy() {
        for policy in [
            FullPolicy::Reject,
            FullPolicy::DropLru,
            FullPolicy::ShedLowPriority,
        ] {
            let mut q = queue(policy, 0, 0, 4);
            assert_eq!(q.admit(TaskKey(1), Priority::Batch), Admission::Rejected);
            assert_eq!(
                q.admit(TaskKey(2), Priority::Interactive),
                Admission::Rejected
            );
        }
    }
}
