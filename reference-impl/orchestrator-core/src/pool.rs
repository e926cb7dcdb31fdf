//! One pool's scheduler: its queue, its replicas' slots and the life of every task it admitted.
//!
//! Every operation that ends tasks returns them as [`Ended`] records; the server turns each into
//! the task's one terminal event. The scheduler guarantees that every admitted task appears in
//! exactly one `Ended` record over its life — never none, never two (property-tested).

use std::collections::HashMap;

use crate::lifecycle::{IllegalTransition, Lifecycle, TaskState};
use crate::placement::{ReplicaLoad, place};
use crate::predict::{MeanDuration, predicted_start_ms};
use crate::queue::{Admission, AdmissionQueue, EvictionReason, QueueSettings};
use crate::{Priority, TaskKey};

/// Longest retry hint of a 429, in milliseconds (ORCH-3048).
pub const MAX_RETRY_AFTER_MS: u64 = 60_000;

/// Why a task ended (the server maps this to the terminal event and its error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// All tokens produced.
    Completed,
    /// Evicted by `drop-lru`.
    Evicted,
    /// Shed by `shed-low-priority`.
    Shed,
    /// Deadline passed while queued.
    DeadlineExceeded,
    /// Cancelled (request, disconnect, unclaimed stream).
    Cancelled,
    /// Failed after dispatch; the server knows the precise code (engine error, timeout, …).
    Failed,
    /// Still open when its pool's drain deadline passed.
    Drained,
    /// Still open when the process's shutdown drain ended.
    Shutdown,
}

impl EndReason {
    /// The terminal state this reason leads to.
    pub fn state(self) -> TaskState {
        match self {
            EndReason::Completed => TaskState::Completed,
            EndReason::Evicted | EndReason::Shed => TaskState::Dropped,
            EndReason::DeadlineExceeded => TaskState::Expired,
            EndReason::Cancelled => TaskState::Cancelled,
            EndReason::Failed | EndReason::Drained | EndReason::Shutdown => TaskState::Failed,
        }
    }
}

/// A task that just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// The task.
    pub key: TaskKey,
    /// Why.
    pub reason: EndReason,
    /// The replica whose slot it freed, if it was running.
    pub replica: Option<usize>,
}

/// The answer to an offered task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// Queued.
    Admitted {
        /// Tasks the pool will dispatch before it.
        position: usize,
        /// Estimated wait before dispatch.
        predicted_start_ms: u64,
        /// A task evicted or shed to make room; it has ended.
        ended: Option<Ended>,
    },
    /// The queue is full (HTTP 429).
    QueueFull {
        /// Retry hint, 1 ..= 60000 ms.
        retry_after_ms: u64,
    },
    /// The task could not start before its deadline (HTTP 422); nothing changed.
    DeadlineInfeasible {
        /// The start it would have had.
        predicted_start_ms: u64,
    },
}

/// A task the scheduler just gave a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatch {
    /// The task.
    pub key: TaskKey,
    /// Its replica.
    pub replica: usize,
    /// How long it waited in the queue.
    pub queue_wait_ms: u64,
}

/// Why a task could not be ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishError {
    /// The pool never admitted it, or forgot it.
    Unknown,
    /// It already ended, or the reason does not fit its state.
    Illegal(IllegalTransition),
}

/// What a cancel request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The task was queued or running and is now cancelled.
    Cancelled(Ended),
    /// The task had already ended; nothing changed.
    AlreadyEnded(TaskState),
    /// No such task.
    Unknown,
}

#[derive(Debug, Clone)]
struct Task {
    life: Lifecycle,
    priority: Priority,
    replica: Option<usize>,
    admitted_at_ms: u64,
    expires_at_ms: Option<u64>,
    dispatched_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Replica {
    ready: bool,
    slots_total: usize,
    slots_busy: usize,
}

/// One pool.
#[derive(Debug, Clone)]
pub struct PoolScheduler {
    queue: AdmissionQueue,
    tasks: HashMap<TaskKey, Task>,
    replicas: Vec<Replica>,
    mean: MeanDuration,
}

impl PoolScheduler {
    /// A pool of `replicas` replicas with `slots` slots each, all unready until
    /// [`set_ready`](Self::set_ready). `prior_task_ms` seeds the run-time estimate.
    pub fn new(settings: QueueSettings, replicas: usize, slots: usize, prior_task_ms: u64) -> Self {
        Self {
            queue: AdmissionQueue::new(settings),
            tasks: HashMap::new(),
            replicas: vec![
                Replica {
                    ready: false,
                    slots_total: slots,
                    slots_busy: 0,
                };
                replicas
            ],
            mean: MeanDuration::new(prior_task_ms),
        }
    }

    /// Marks a replica ready or not. Running tasks keep their slots; the caller ends them when
    /// their engine failed.
    pub fn set_ready(&mut self, replica: usize, ready: bool) {
        if let Some(r) = self.replicas.get_mut(replica) {
            r.ready = ready;
        }
    }

    /// True when some replica is ready.
    pub fn any_ready(&self) -> bool {
        self.replicas.iter().any(|r| r.ready)
    }

    fn loads(&self) -> Vec<ReplicaLoad> {
        self.replicas
            .iter()
            .enumerate()
            .map(|(index, r)| ReplicaLoad {
                index,
                ready: r.ready,
                slots_total: r.slots_total,
                slots_busy: r.slots_busy,
            })
            .collect()
    }

    fn free_ready_slots(&self) -> usize {
        self.replicas
            .iter()
            .filter(|r| r.ready)
            .map(|r| r.slots_total.saturating_sub(r.slots_busy))
            .sum()
    }

    fn ready_slots(&self) -> usize {
        self.replicas
            .iter()
            .filter(|r| r.ready)
            .map(|r| r.slots_total)
            .sum()
    }

    fn predict(&self, position: usize) -> u64 {
        predicted_start_ms(
            position,
            self.free_ready_slots(),
            self.ready_slots(),
            self.mean.mean_ms(),
        )
    }

    /// The `retry_after_ms` of a `429` from the full queue of `priority`: the predicted start
    /// of a task behind every queued one once a slot frees up, between 1 ms and
    /// [`MAX_RETRY_AFTER_MS`].
    #[spectrace::implements("ORCH-3048")]
    fn retry_after_ms(&self, priority: Priority) -> u64 {
        let behind = self.queue.depth(priority);
        predicted_start_ms(behind, 0, self.ready_slots(), self.mean.mean_ms())
            .clamp(1, MAX_RETRY_AFTER_MS)
    }

    /// Offers a task. `deadline_ms` is relative to `now_ms`.
    #[spectrace::implements("ORCH-2007", "ORCH-3010", "ORCH-3011")]
    pub fn admit(
        &mut self,
        key: TaskKey,
        priority: Priority,
        now_ms: u64,
        deadline_ms: Option<u64>,
    ) -> Offer {
        // Only a deadline needs a trial admission (to refuse without changing anything);
        // otherwise admit in place.
        let mut trial = if deadline_ms.is_some() {
            Some(self.queue.clone())
        } else {
            None
        };
        let queue = trial.as_mut().unwrap_or(&mut self.queue);
        match queue.admit(key, priority) {
            Admission::Rejected => Offer::QueueFull {
                retry_after_ms: self.retry_after_ms(priority),
            },
            Admission::Admitted { position, evicted } => {
                let predicted = self.predict(position);
                if deadline_infeasible(deadline_ms, predicted) {
                    return Offer::DeadlineInfeasible {
                        predicted_start_ms: predicted,
                    };
                }
                if let Some(trial) = trial {
                    self.queue = trial;
                }
                self.tasks.insert(
                    key,
                    Task {
                        life: Lifecycle::new(),
                        priority,
                        replica: None,
                        admitted_at_ms: now_ms,
                        expires_at_ms: deadline_ms.map(|d| now_ms.saturating_add(d)),
                        dispatched_at_ms: None,
                    },
                );
                let ended = evicted.and_then(|(victim, why)| {
                    let reason = match why {
                        EvictionReason::Evicted => EndReason::Evicted,
                        EvictionReason::Shed => EndReason::Shed,
                    };
                    self.end_queued(victim, reason)
                });
                Offer::Admitted {
                    position,
                    predicted_start_ms: predicted,
                    ended,
                }
            }
        }
    }

    fn end_queued(&mut self, key: TaskKey, reason: EndReason) -> Option<Ended> {
        let task = self.tasks.get_mut(&key)?;
        task.life.advance(reason.state()).ok()?;
        self.queue.remove(key);
        Some(Ended {
            key,
            reason,
            replica: None,
        })
    }

    /// Gives free slots of ready replicas to queued tasks, in dispatch order.
    #[spectrace::implements("ORCH-3014", "ORCH-3020", "ORCH-3021")]
    pub fn dispatch(&mut self, now_ms: u64) -> Vec<Dispatch> {
        let mut out = Vec::new();
        while !self.queue.is_empty() {
            let Some(replica) = place(&self.loads(), None) else {
                break;
            };
            let Some((key, _)) = self.queue.pop_next() else {
                break;
            };
            let Some(task) = self.tasks.get_mut(&key) else {
                continue;
            };
            if task.life.advance(TaskState::Running).is_err() {
                continue;
            }
            task.replica = Some(replica);
            task.dispatched_at_ms = Some(now_ms);
            self.replicas[replica].slots_busy += 1;
            out.push(Dispatch {
                key,
                replica,
                queue_wait_ms: now_ms.saturating_sub(task.admitted_at_ms),
            });
        }
        out
    }

    /// Ends a task that has not ended (a running one frees its slot; a queued one leaves its
    /// queue).
    #[spectrace::implements("ORCH-3020")]
    pub fn finish(
        &mut self,
        key: TaskKey,
        reason: EndReason,
        now_ms: u64,
    ) -> Result<Ended, FinishError> {
        let Some(task) = self.tasks.get_mut(&key) else {
            return Err(FinishError::Unknown);
        };
        let was_running = task.life.state() == TaskState::Running;
        task.life
            .advance(reason.state())
            .map_err(FinishError::Illegal)?;
        let replica = task.replica;
        if was_running {
            if let Some(r) = replica.and_then(|i| self.replicas.get_mut(i)) {
                r.slots_busy = r.slots_busy.saturating_sub(1);
            }
            if let Some(started) = task.dispatched_at_ms {
                self.mean.observe(now_ms.saturating_sub(started));
            }
        } else {
            self.queue.remove(key);
        }
        Ok(Ended {
            key,
            reason,
            replica,
        })
    }

    /// Cancels a queued or running task; idempotent for ended tasks.
    #[spectrace::implements("ORCH-2003")]
    pub fn cancel(&mut self, key: TaskKey, now_ms: u64) -> CancelOutcome {
        match self.tasks.get(&key).map(|t| t.life.state()) {
            None => CancelOutcome::Unknown,
            // `finish` refuses an ended task (an illegal transition) and changes nothing.
            Some(state) => match self.finish(key, EndReason::Cancelled, now_ms) {
                Ok(ended) => CancelOutcome::Cancelled(ended),
                Err(_) => CancelOutcome::AlreadyEnded(state),
            },
        }
    }

    /// Ends every queued task whose deadline has passed.
    #[spectrace::implements("ORCH-3010")]
    pub fn expire(&mut self, now_ms: u64) -> Vec<Ended> {
        let due: Vec<TaskKey> = self
            .queue
            .keys()
            .filter(|k| {
                self.tasks
                    .get(k)
                    .and_then(|t| t.expires_at_ms)
                    .is_some_and(|at| at <= now_ms)
            })
            .collect();
        due.into_iter()
            .filter_map(|key| self.end_queued(key, EndReason::DeadlineExceeded))
            .collect()
    }

    /// Ends every task that has not ended, queued ones and running ones, with `reason`
    /// (drain deadline, shutdown).
    pub fn end_all(&mut self, reason: EndReason, now_ms: u64) -> Vec<Ended> {
        let mut open: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| !t.life.state().is_terminal())
            .map(|(k, _)| *k)
            .collect();
        open.sort();
        open.into_iter()
            .filter_map(|key| self.finish(key, reason, now_ms).ok())
            .collect()
    }

    /// Ends every task running on `replica` (its engine failed) and frees their slots.
    #[spectrace::implements("ORCH-3043")]
    pub fn end_replica(&mut self, replica: usize, reason: EndReason, now_ms: u64) -> Vec<Ended> {
        let mut on_replica: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.life.state() == TaskState::Running && t.replica == Some(replica))
            .map(|(k, _)| *k)
            .collect();
        on_replica.sort();
        on_replica
            .into_iter()
            .filter_map(|key| self.finish(key, reason, now_ms).ok())
            .collect()
    }

    /// The state of a task this pool admitted.
    pub fn state(&self, key: TaskKey) -> Option<TaskState> {
        self.tasks.get(&key).map(|t| t.life.state())
    }

    /// The priority of a task this pool admitted.
    pub fn priority(&self, key: TaskKey) -> Option<Priority> {
        self.tasks.get(&key).map(|t| t.priority)
    }

    /// Where a queued task stands now.
    pub fn position(&self, key: TaskKey) -> Option<(usize, u64)> {
        self.queue.position(key).map(|p| (p, self.predict(p)))
    }

    /// Forgets an ended task (after its retention period). False when it has not ended.
    pub fn forget(&mut self, key: TaskKey) -> bool {
        if self.state(key).is_some_and(TaskState::is_terminal) {
            self.tasks.remove(&key);
            true
        } else {
            false
        }
    }

    /// Queued tasks of one class.
    pub fn queue_depth(&self, priority: Priority) -> usize {
        self.queue.depth(priority)
    }

    /// Tasks holding a slot.
    pub fn running(&self) -> usize {
        self.replicas.iter().map(|r| r.slots_busy).sum()
    }

    /// `(ready, slots_total, slots_busy)` of each replica.
    pub fn replicas(&self) -> Vec<(bool, usize, usize)> {
        self.replicas
            .iter()
            .map(|r| (r.ready, r.slots_total, r.slots_busy))
            .collect()
    }

    /// The queue's settings.
    pub fn queue_settings(&self) -> QueueSettings {
        self.queue.settings()
    }
}

/// Whether a task cannot start by its deadline: its `deadline_ms` is smaller than its
/// `predicted_start_ms`.
#[spectrace::implements("ORCH-3010")]
fn deadline_infeasible(deadline_ms: Option<u64>, predicted_start_ms: u64) -> bool {
    deadline_ms.is_some_and(|deadline| deadline < predicted_start_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FullPolicy;

    fn pool(policy: FullPolicy, cap: usize, replicas: usize, slots: usize) -> PoolScheduler {
        let mut p = PoolScheduler::new(
            QueueSettings {
                capacity_interactive: cap,
                capacity_batch: cap,
                policy,
                batch_every: 4,
            },
            replicas,
            slots,
            100,
        );
        for r in 0..replicas {
            p.set_ready(r, true);
        }
        p
    }

    #[spectrace::covers("ORCH-3011", "ORCH-3021")]
    #[test]
    fn free_slots_mean_zero_wait_and_immediate_dispatch() {
        let mut p = pool(FullPolicy::Reject, 8, 1, 2);
        let Offer::Admitted {
            predicted_start_ms, ..
        } = p.admit(TaskKey(1), Priority::Interactive, 0, None)
        else {
            panic!()
        };
        assert_eq!(predicted_start_ms, 0);
        let d = p.dispatch(5);
        assert_eq!(
            d,
            [Dispatch {
                key: TaskKey(1),
                replica: 0,
                queue_wait_ms: 5
            }]
        );
        assert_eq!(p.state(TaskKey(1)), Some(TaskState::Running));
    }

    #[spectrace::covers("ORCH-3020")]
    #[test]
    fn slots_bound_concurrency_and_are_freed_at_the_end() {
        let mut p = pool(FullPolicy::Reject, 8, 1, 2);
        for k in 1..=3 {
            p.admit(TaskKey(k), Priority::Interactive, 0, None);
        }
        assert_eq!(p.dispatch(0).len(), 2);
        assert_eq!(p.running(), 2);
        assert!(p.dispatch(0).is_empty(), "no free slot");
        p.finish(TaskKey(1), EndReason::Completed, 10).unwrap();
        assert_eq!(p.dispatch(10).len(), 1);
        assert_eq!(p.replicas(), [(true, 2, 2)]);
    }

    #[spectrace::covers("ORCH-2007", "ORCH-3048")]
    #[test]
    fn full_queue_gives_a_bounded_retry_hint() {
        let mut p = pool(FullPolicy::Reject, 1, 1, 1);
        p.admit(TaskKey(1), Priority::Interactive, 0, None);
        p.dispatch(0);
        p.admit(TaskKey(2), Priority::Interactive, 0, None);
        let Offer::QueueFull { retry_after_ms } =
            p.admit(TaskKey(3), Priority::Interactive, 0, None)
        else {
            panic!()
        };
        assert!((1..=MAX_RETRY_AFTER_MS).contains(&retry_after_ms));
        assert_eq!(p.state(TaskKey(3)), None, "a refused task leaves no trace");
        // Once a slot frees up, a task admitted to the same queue is predicted to start no later
        // than the hint said.
        p.finish(TaskKey(1), EndReason::Completed, 100).unwrap();
        p.dispatch(100);
        let Offer::Admitted {
            predicted_start_ms, ..
        } = p.admit(TaskKey(4), Priority::Interactive, 100, None)
        else {
            panic!()
        };
        assert!(predicted_start_ms > 0, "the only slot is busy");
        assert!(
            retry_after_ms >= predicted_start_ms,
            "{retry_after_ms} < {predicted_start_ms}"
        );
    }

    #[spectrace::covers("ORCH-3010")]
    #[test]
    fn infeasible_deadlines_are_refused_and_queued_ones_expire() {
        let mut p = pool(FullPolicy::Reject, 8, 1, 1);
        p.admit(TaskKey(1), Priority::Interactive, 0, None);
        p.dispatch(0);
        assert!(matches!(
            p.admit(TaskKey(2), Priority::Interactive, 0, Some(1)),
            Offer::DeadlineInfeasible { .. }
        ));
        assert_eq!(p.queue_depth(Priority::Interactive), 0);
        // Task 1 runs for a predicted 100 ms: a deadline of exactly that is feasible, one
        // millisecond less is not.
        assert!(matches!(
            p.admit(TaskKey(4), Priority::Interactive, 0, Some(99)),
            Offer::DeadlineInfeasible {
                predicted_start_ms: 100
            }
        ));
        assert!(matches!(
            p.admit(TaskKey(5), Priority::Interactive, 0, Some(100)),
            Offer::Admitted { .. }
        ));
        assert!(matches!(
            p.cancel(TaskKey(5), 0),
            CancelOutcome::Cancelled(_)
        ));
        p.admit(TaskKey(3), Priority::Interactive, 0, Some(500));
        assert!(p.expire(499).is_empty());
        let ended = p.expire(500);
        assert_eq!(
            ended,
            [Ended {
                key: TaskKey(3),
                reason: EndReason::DeadlineExceeded,
                replica: None
            }]
        );
        assert_eq!(p.state(TaskKey(3)), Some(TaskState::Expired));
    }

    #[spectrace::covers("ORCH-2003", "ORCH-3025")]
    #[test]
    fn cancel_is_idempotent_and_frees_what_it_held() {
        let mut p = pool(FullPolicy::Reject, 8, 1, 1);
        p.admit(TaskKey(1), Priority::Interactive, 0, None);
        p.admit(TaskKey(2), Priority::Interactive, 0, None);
        p.dispatch(0);
        assert!(matches!(
            p.cancel(TaskKey(1), 1),
            CancelOutcome::Cancelled(Ended {
                replica: Some(0),
                ..
            })
        ));
        assert_eq!(p.running(), 0);
        assert!(matches!(
            p.cancel(TaskKey(2), 1),
            CancelOutcome::Cancelled(Ended { replica: None, .. })
        ));
        assert_eq!(p.queue_depth(Priority::Interactive), 0);
        assert_eq!(
            p.cancel(TaskKey(2), 2),
            CancelOutcome::AlreadyEnded(TaskState::Cancelled)
        );
        assert_eq!(p.cancel(TaskKey(9), 2), CancelOutcome::Unknown);
        assert!(
            p.dispatch(3).is_empty(),
            "a cancelled queued task is never dispatched"
        );
    }

    #[spectrace::covers("ORCH-3043")]
    #[test]
    fn a_failed_replica_ends_only_its_own_running_tasks() {
        let mut p = pool(FullPolicy::Reject, 8, 2, 2);
        for k in 1..=4 {
            p.admit(TaskKey(k), Priority::Interactive, 0, None);
        }
        let placed = p.dispatch(0);
        let on_zero: Vec<TaskKey> = placed
            .iter()
            .filter(|d| d.replica == 0)
            .map(|d| d.key)
            .collect();
        let ended = p.end_replica(0, EndReason::Failed, 1);
        assert_eq!(ended.iter().map(|e| e.key).collect::<Vec<_>>(), on_zero);
        assert_eq!(p.replicas()[0].2, 0, "slots of replica 0 are free");
        assert_eq!(p.running(), 2, "replica 1 keeps its tasks");
    }

    #[spectrace::covers("ORCH-3014")]
    #[test]
    fn nothing_is_dispatched_without_a_ready_replica() {
        let mut p = pool(FullPolicy::Reject, 8, 1, 1);
        p.set_ready(0, false);
        assert!(!p.any_ready());
        p.admit(TaskKey(1), Priority::Interactive, 0, None);
        p.admit(TaskKey(2), Priority::Interactive, 0, None);
        assert!(p.dispatch(0).is_empty());
        p.set_ready(0, true);
        assert_eq!(p.dispatch(1).len(), 1);
        assert!(
            p.dispatch(2).is_empty(),
            "the replica's one slot is taken: a full replica takes no task"
        );
    }
}
