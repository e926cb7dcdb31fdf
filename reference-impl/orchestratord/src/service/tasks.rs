//! Tasks after admission: the registry of every task not yet forgotten, reading a task's
//! state and position, cancelling it, claiming and releasing its one stream, ending it exactly
//! once (terminal event, metrics, log line, session refund), sessions, and the sweep that
//! forgets ended tasks and expired sessions.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_types::ErrorCode;
use orchestrator_core::lifecycle::TaskState;
use orchestrator_core::pool::{CancelOutcome, EndReason, Ended, PoolScheduler};
use orchestrator_core::sessions::SessionView;
use orchestrator_core::{Priority, TaskKey};

use super::telemetry::priority_name;
use super::{RETENTION, Service, lock};
use crate::channel::{EventLog, StreamEvent};
use crate::engine::Generate;
use crate::metrics;

/// One admitted task.
pub struct Task {
    /// Public id.
    pub id: String,
    /// Pool id.
    pub pool: String,
    /// Key inside the pool's scheduler.
    pub key: TaskKey,
    /// Priority class.
    pub priority: Priority,
    /// Session, if any.
    pub session: Option<String>,
    /// Most tokens to generate.
    pub max_tokens: u64,
    /// Sampling seed.
    pub seed: u64,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// The event log.
    pub log: EventLog,
    /// Correlation id of the enqueue request.
    pub correlation_id: String,
    /// Stop sequences; the run ends as finished once the generated text contains one.
    pub stop: Vec<String>,
    /// What to generate; taken by the run that dispatches the task, or dropped when it ends
    /// before that, so an ended task does not keep its prompt (ORCH-3066).
    pub(super) request: Mutex<Option<Generate>>,
    pub(super) stream_opened: Mutex<bool>,
    /// Its terminal state and when it was reached, once it ended.
    pub(super) ended: Mutex<Option<(TaskState, Instant)>>,
}

impl Task {
    /// The terminal state, once the task ended.
    pub fn ended_state(&self) -> Option<TaskState> {
        lock(&self.ended).map(|(state, _)| state)
    }

    /// True when the task ended at least `retention` ago.
    fn ended_longer_ago_than(&self, retention: Duration) -> bool {
        lock(&self.ended).is_some_and(|(_, at)| at.elapsed() >= retention)
    }

    /// True while the task still holds its prompt (it was neither dispatched nor ended).
    pub fn holds_prompt(&self) -> bool {
        lock(&self.request).is_some()
    }
}

/// Every task not yet forgotten: open tasks by public id and by scheduler key (keys are unique
/// across pools), ended ones by public id and in the order they ended, at most
/// `tasks.retained_max` of them (ORCH-3067).
#[derive(Default)]
#[spectrace::implements("ORCH-3067")]
pub(super) struct Registry {
    pub(super) by_id: HashMap<String, Arc<Task>>,
    pub(super) by_key: HashMap<TaskKey, Arc<Task>>,
    ended: VecDeque<(Instant, Arc<Task>)>,
}

impl Registry {
    /// Moves an ended task from the open tasks to the ended ones, then forgets the tasks that
    /// ended first while more than `retained_max` are kept; returns the forgotten ones.
    fn retire(&mut self, task: &Arc<Task>, at: Instant, retained_max: usize) -> Vec<Arc<Task>> {
        self.by_key.remove(&task.key);
        self.ended.push_back((at, Arc::clone(task)));
        let mut forgotten = Vec::new();
        while self.ended.len() > retained_max {
            let Some((_, oldest)) = self.ended.pop_front() else {
                break;
            };
            self.by_id.remove(&oldest.id);
            forgotten.push(oldest);
        }
        forgotten
    }

    /// Forgets the tasks that ended at least `retention` ago.
    fn forget_older_than(&mut self, retention: Duration) {
        while let Some((at, _)) = self.ended.front()
            && at.elapsed() >= retention
        {
            if let Some((_, oldest)) = self.ended.pop_front() {
                self.by_id.remove(&oldest.id);
            }
        }
    }
}

impl Service {
    /// Forgets tasks that ended more than `retention` ago (the server uses [`RETENTION`]) and
    /// expired sessions, so a long-running server's memory stays bounded by its recent traffic.
    pub fn sweep(&self, retention: Duration) {
        lock(&self.tasks).forget_older_than(retention);
        lock(&self.sessions).purge_expired(self.now_ms());
    }

    /// Number of tasks the registry holds (ended ones included, until forgotten).
    pub fn tasks_held(&self) -> usize {
        lock(&self.tasks).by_id.len()
    }

    /// The task with this public id, unless it ended more than [`RETENTION`] ago or was
    /// forgotten.
    #[spectrace::implements("ORCH-2011")]
    pub fn task(&self, id: &str) -> Option<Arc<Task>> {
        // A task past its retention reads as gone; the sweep removes it for good.
        let task = lock(&self.tasks).by_id.get(id).cloned()?;
        (!task.ended_longer_ago_than(RETENTION)).then_some(task)
    }

    /// A task's state.
    pub fn task_state(&self, task: &Task) -> TaskState {
        let Some(pool) = self.pools.get(&task.pool) else {
            return TaskState::Failed;
        };
        // Under the scheduler lock, so the task cannot end (and leave the scheduler) between
        // the two reads.
        let scheduler = pool.scheduler();
        task.ended_state()
            .or_else(|| scheduler.state(task.key))
            .unwrap_or(TaskState::Failed)
    }

    /// Where a task stands for its `started` event: position and predicted start, `(0, 0)`
    /// once it runs or has ended.
    pub fn task_position(&self, task: &Task) -> (u64, u64) {
        self.pools
            .get(&task.pool)
            .and_then(|pool| pool.scheduler().position(task.key))
            .map_or((0, 0), |(position, predicted)| (position as u64, predicted))
    }

    /// Cancels a task (ORCH-2003, ORCH-3025); returns its state afterwards.
    #[spectrace::implements("ORCH-3025")]
    pub fn cancel_task(&self, task: &Task) -> TaskState {
        let Some(pool) = self.pools.get(&task.pool) else {
            return TaskState::Failed;
        };
        let mut scheduler = pool.scheduler();
        if let Some(state) = task.ended_state() {
            return state;
        }
        let state = match scheduler.cancel(task.key, self.now_ms()) {
            CancelOutcome::Cancelled(ended) => {
                self.close_ended(&mut scheduler, &pool.config.id, ended);
                TaskState::Cancelled
            }
            CancelOutcome::AlreadyEnded(state) => state,
            CancelOutcome::Unknown => TaskState::Failed,
        };
        drop(scheduler);
        pool.wake.notify_one();
        state
    }

    /// Claims the task's stream for one reader (ORCH-2014).
    #[spectrace::implements("ORCH-2014")]
    pub fn open_stream(&self, task: &Task) -> bool {
        if task.log.attach_reader() {
            *lock(&task.stream_opened) = true;
            true
        } else {
            false
        }
    }

    /// The reader went away: gives the stream back, and cancels the task if it has not ended
    /// (ORCH-3026).
    #[spectrace::implements("ORCH-3026", "ORCH-3066")]
    pub fn stream_closed(&self, task: &Task) {
        task.log.detach_reader();
        if !task.log.is_closed() {
            self.cancel_task(task);
        }
        // Nobody follows the ended stream any more: keep only its terminal event (ORCH-3066).
        task.log.compact();
    }

    /// The session, unless unknown or expired (ORCH-2004).
    #[spectrace::implements("ORCH-2004")]
    pub fn session(&self, id: &str) -> Option<SessionView> {
        lock(&self.sessions).get(id, self.now_ms())
    }

    /// Forgets a session (ORCH-2005).
    #[spectrace::implements("ORCH-2005")]
    pub fn delete_session(&self, id: &str) -> bool {
        lock(&self.sessions).delete(id, self.now_ms())
    }

    /// Appends the terminal event of a task that just ended in `scheduler`, which is locked.
    pub(super) fn close_ended(&self, scheduler: &mut PoolScheduler, pool: &str, ended: Ended) {
        let Some(task) = lock(&self.tasks).by_key.get(&ended.key).cloned() else {
            return;
        };
        debug_assert_eq!(task.pool, pool);
        let (code, message, retriable) = match ended.reason {
            EndReason::Evicted => (
                ErrorCode::QueueEvicted,
                "evicted from a full queue by the drop-lru policy",
                true,
            ),
            EndReason::Shed => (
                ErrorCode::ShedLowPriority,
                "shed under interactive load by the shed-low-priority policy",
                true,
            ),
            EndReason::DeadlineExceeded => (
                ErrorCode::DeadlineExceeded,
                "the deadline passed while the task was queued",
                false,
            ),
            EndReason::Cancelled => (ErrorCode::Cancelled, "the task was cancelled", false),
            EndReason::Failed => (ErrorCode::EngineError, "the engine failed", true),
            EndReason::Shutdown => (
                ErrorCode::ShuttingDown,
                "orchestratord shut down before the task ended",
                true,
            ),
            EndReason::Drained => (
                ErrorCode::DrainDeadline,
                "the pool's drain deadline passed before the task ended",
                true,
            ),
            EndReason::Completed => return,
        };
        self.seal(
            scheduler,
            &task,
            error_event(code, message, retriable),
            ended.reason.state(),
            ended.replica,
        );
        let priority = priority_name(task.priority);
        if ended.replica.is_none() {
            let why = match ended.reason {
                EndReason::Evicted => "evicted",
                EndReason::Shed => "shed",
                EndReason::DeadlineExceeded => "expired",
                _ => "cancelled",
            };
            self.metrics
                .tasks_dropped
                .get_or_create(&metrics::reason(pool, priority, why))
                .inc();
        }
    }

    /// Everything that happens once when a task ends, whoever ended it: the terminal event, the
    /// end state and time, the finished metric, the end log line, and the refund of the session
    /// tokens it did not generate. The scheduler forgets the task and its prompt is dropped; the
    /// registry keeps it readable among the last `tasks.retained_max` ended tasks (ORCH-3066,
    /// ORCH-3067). Called by whoever moved the task to its terminal state in `scheduler`, with
    /// that scheduler locked.
    #[spectrace::implements("ORCH-3066", "ORCH-3067")]
    pub(super) fn seal(
        &self,
        scheduler: &mut PoolScheduler,
        task: &Arc<Task>,
        terminal: StreamEvent,
        state: TaskState,
        replica: Option<usize>,
    ) {
        task.log.close(terminal);
        let now = Instant::now();
        *lock(&task.ended) = Some((state, now));
        drop(lock(&task.request).take());
        scheduler.forget(task.key);
        self.count_finished(&task.pool, state);
        self.log_end(task, state, replica);
        if let Some(session) = &task.session {
            let unused = task.max_tokens.saturating_sub(task.log.tokens());
            lock(&self.sessions).refund(session, unused);
        }
        let retained_max = usize::try_from(self.config.tasks.retained_max).unwrap_or(usize::MAX);
        let forgotten = lock(&self.tasks).retire(task, now, retained_max);
        for task in forgotten {
            self.metrics
                .tasks_forgotten
                .get_or_create(&metrics::pool(&task.pool))
                .inc();
        }
    }
}

/// An `error` event.
pub fn error_event(code: ErrorCode, message: &str, retriable: bool) -> StreamEvent {
    let event = api_types::ErrorEvent {
        code,
        message: message.to_owned(),
        retriable,
    };
    StreamEvent {
        name: "error",
        data: serde_json::to_string(&event).unwrap_or_default(),
    }
}
