//! Dispatch: each pool's dispatcher loop (expire queued tasks past their deadline, hand
//! queued tasks to free slots) and the run of one task on its replica: tokens into the task's
//! event log, periodic `metrics` events, idle and wall timeouts, and the one terminal event.

use std::sync::Arc;
use std::time::Duration;

use api_types::{ErrorCode, FinishReason};
use futures::StreamExt;
use futures::stream::BoxStream;
use orchestrator_core::lifecycle::TaskState;
use orchestrator_core::pool::EndReason;
use tokio::time::Instant;

use super::pool::Pool;
use super::tasks::{Task, error_event};
use super::telemetry::priority_name;
use super::{METRICS_EVERY, Service, lock};
use crate::channel::{EventLog, StreamEvent};
use crate::engine::EngineEvent;
use crate::metrics;

impl Service {
    pub(super) async fn dispatch_loop(self: Arc<Self>, pool: Arc<Pool>) {
        loop {
            let notified = pool.wake.notified();
            let dispatched = {
                let mut scheduler = pool.scheduler();
                let now = self.now_ms();
                for ended in scheduler.expire(now) {
                    self.close_ended(&mut scheduler, &pool.config.id, ended);
                }
                scheduler.dispatch(now)
            };
            for dispatch in dispatched {
                let task = lock(&self.tasks).by_key.get(&dispatch.key).cloned();
                if let Some(task) = task {
                    let service = Arc::clone(&self);
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move {
                        service
                            .run(pool, task, dispatch.replica, dispatch.queue_wait_ms)
                            .await;
                    });
                }
            }
            // Wake for new work, freed slots, or the next deadline check.
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Runs one dispatched task on its replica to its end. The run itself never dispatches its
    /// task again: an engine failure ends the task with `ENGINE_ERROR` (ORCH-3045).
    #[spectrace::implements("ORCH-3045")]
    async fn run(
        self: Arc<Self>,
        pool: Arc<Pool>,
        task: Arc<Task>,
        replica: usize,
        queue_wait_ms: u64,
    ) {
        // The model and engine this task runs on, whatever a reload does meanwhile.
        let loaded = pool.loaded();
        let Some(engine) = loaded.engines.get(replica).cloned() else {
            return;
        };
        let limits = Limits::start(&self.config.timeouts);
        let pool_id = pool.config.id.clone();
        self.metrics
            .tokens_in
            .get_or_create(&metrics::pool(&pool_id))
            .inc_by(task.tokens_in);
        self.observe_queue_wait(&pool_id, &task, queue_wait_ms);
        let tokens_out = self
            .metrics
            .tokens_out
            .get_or_create(&metrics::pool(&pool_id))
            .clone();
        let mut fields = self.task_fields(&task, &pool);
        fields.replica_id = Some(format!("{pool_id}-{replica}"));
        self.logger.task("task dispatched", &fields);
        let Some(request) = lock(&task.request).take() else {
            // The task ended (a cancel) between its dispatch and this run; its slot is free.
            pool.wake.notify_one();
            return;
        };
        let mut stream = engine.generate(request);
        let mut progress = Progress::default();
        let mut stops = StopSequences::new(&task.stop);
        let outcome = loop {
            let next = match next_event(&task.log, &mut stream, &limits).await {
                Wait::Closed => break Outcome::Stopped,
                Wait::Expired => break limits.expired(),
                Wait::Event(next) => next,
            };
            let token = match next {
                None => break Outcome::Finished(FinishReason::Length),
                Some(EngineEvent::Stopped) => break Outcome::Finished(FinishReason::Stop),
                Some(EngineEvent::Failed(message)) => break Outcome::EngineFailed(message),
                Some(EngineEvent::Token(token)) => token,
            };
            if !send_token(&task.log, progress.produced, &token) {
                break Outcome::Stopped;
            }
            tokens_out.inc();
            if let Some(first_token) = progress.count_token(limits.elapsed()) {
                self.metrics
                    .time_to_first_token
                    .get_or_create(&metrics::pool(&pool_id))
                    .observe(first_token.as_secs_f64());
            }
            if stops.reached(&token) {
                break Outcome::Finished(FinishReason::Stop);
            }
            if progress.produced.is_multiple_of(METRICS_EVERY) {
                let data = serde_json::json!({
                    "tokens_out": progress.produced,
                    "queue_wait_ms": queue_wait_ms,
                    "elapsed_ms": limits.elapsed().as_millis() as u64,
                })
                .to_string();
                task.log.push(StreamEvent {
                    name: "metrics",
                    data,
                });
            }
        };
        drop(stream);
        let ending = match &outcome {
            Outcome::Stopped => None,
            Outcome::Finished(finish_reason) => Some(Ending {
                reason: EndReason::Completed,
                terminal: end_event(&EndFacts {
                    task: &task,
                    progress: &progress,
                    finish_reason: *finish_reason,
                    queue_wait_ms,
                    decode: limits.elapsed(),
                    model: &loaded.model.name,
                    replica_id: format!("{pool_id}-{replica}"),
                }),
                state: TaskState::Completed,
            }),
            Outcome::EngineFailed(message) => Some(Ending {
                reason: EndReason::Failed,
                terminal: error_event(ErrorCode::EngineError, message, true),
                state: TaskState::Failed,
            }),
            Outcome::Timeout { code, message } => Some(Ending {
                reason: EndReason::Failed,
                terminal: error_event(*code, message, true),
                state: TaskState::Failed,
            }),
        };
        if let Some(ending) = ending {
            self.end_run(&pool, &task, replica, ending);
        }
        if let Outcome::EngineFailed(message) = &outcome {
            self.replica_failed(&pool, replica, message);
        }
        pool.wake.notify_one();
    }

    /// Observes the queue wait of a task that starts running, in seconds (ORCH-3049).
    #[spectrace::implements("ORCH-3049")]
    pub(super) fn observe_queue_wait(&self, pool_id: &str, task: &Task, queue_wait_ms: u64) {
        self.metrics
            .queue_wait
            .get_or_create(&metrics::priority(pool_id, priority_name(task.priority)))
            .observe(queue_wait_ms as f64 / 1000.0);
    }

    /// Ends a run's task with its terminal event and frees its slot, unless something else
    /// (a cancel, an expiry) ended it first: a timed-out task ends with its timeout's `error`
    /// event (ORCH-3017, ORCH-3018), a finished one with its `end` event (ORCH-3029).
    #[spectrace::implements("ORCH-3017", "ORCH-3018", "ORCH-3029")]
    fn end_run(&self, pool: &Pool, task: &Arc<Task>, replica: usize, ending: Ending) {
        let now = self.now_ms();
        let mut scheduler = pool.scheduler();
        if scheduler.finish(task.key, ending.reason, now).is_ok() {
            self.seal(
                &mut scheduler,
                task,
                ending.terminal,
                ending.state,
                Some(replica),
            );
        }
    }
}

/// The two time limits of a running task, measured on tokio's clock from its dispatch.
struct Limits {
    started: Instant,
    idle: Duration,
    wall: Duration,
}

impl Limits {
    fn start(timeouts: &orchestrator_config::Timeouts) -> Self {
        Self {
            started: Instant::now(),
            idle: Duration::from_millis(timeouts.token_idle_ms),
            wall: Duration::from_millis(timeouts.task_wall_ms),
        }
    }

    /// Time since the dispatch.
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// How long to wait for the engine's next event: the idle limit (ORCH-3018), cut short by
    /// what is left of the wall-clock limit (ORCH-3017).
    #[spectrace::implements("ORCH-3017", "ORCH-3018")]
    fn patience(&self) -> Duration {
        self.idle.min(self.wall.saturating_sub(self.elapsed()))
    }

    /// The timeout that ends a run whose wait for the engine ran out: `TIMEOUT_WALL` once the
    /// task has run `task_wall_ms` (ORCH-3017), else `TIMEOUT_IDLE` (ORCH-3018).
    #[spectrace::implements("ORCH-3017", "ORCH-3018")]
    fn expired(&self) -> Outcome {
        if self.elapsed() >= self.wall {
            Outcome::Timeout {
                code: ErrorCode::TimeoutWall,
                message: "the task ran longer than timeouts.task_wall_ms",
            }
        } else {
            Outcome::Timeout {
                code: ErrorCode::TimeoutIdle,
                message: "no token arrived within timeouts.token_idle_ms",
            }
        }
    }
}

/// What waiting for the engine's next event gave.
enum Wait {
    /// The task's log was closed by someone else (a cancel).
    Closed,
    /// The wait ran out ([`Limits::patience`]).
    Expired,
    /// The engine's next event, `None` at the end of its stream.
    Event(Option<EngineEvent>),
}

/// Waits for the engine's next event, at most [`Limits::patience`]. A cancel (or any other end)
/// closes the log: the wait stops at once, so the run drops the engine's stream, which ends the
/// upstream request (ORCH-3062), instead of noticing only when the engine's next token is
/// refused (ORCH-3025).
#[spectrace::implements("ORCH-3025", "ORCH-3062")]
async fn next_event(
    log: &EventLog,
    stream: &mut BoxStream<'static, EngineEvent>,
    limits: &Limits,
) -> Wait {
    tokio::select! {
        biased;
        () = log.closed() => Wait::Closed,
        next = tokio::time::timeout(limits.patience(), stream.next()) => match next {
            Ok(next) => Wait::Event(next),
            Err(_) => Wait::Expired,
        },
    }
}

/// Appends the token `index` to the task's log; false when the log is closed (a cancel won the
/// race), so that the run stops without any further token (ORCH-3025).
#[spectrace::implements("ORCH-3025")]
fn send_token(log: &EventLog, index: u64, text: &str) -> bool {
    let data = serde_json::json!({ "index": index, "text": text }).to_string();
    log.push(StreamEvent {
        name: "token",
        data,
    })
}

/// What a run has produced so far.
#[derive(Default)]
struct Progress {
    /// Tokens sent.
    produced: u64,
    /// Time from the dispatch to the first token sent.
    first_token: Option<Duration>,
}

impl Progress {
    /// Counts one token sent `elapsed` after the dispatch, for `tokens_out` (ORCH-3029); returns
    /// the time to first token when it was the first ([`Progress::first_token_at`]).
    #[spectrace::implements("ORCH-3029")]
    fn count_token(&mut self, elapsed: Duration) -> Option<Duration> {
        self.produced += 1;
        self.first_token_at(elapsed)
    }

    /// Keeps the time of the first token, for `ttft_ms` (ORCH-3029) and
    /// `orchd_time_to_first_token_seconds` (ORCH-3049); `Some` for the first token only.
    #[spectrace::implements("ORCH-3029", "ORCH-3049")]
    fn first_token_at(&mut self, elapsed: Duration) -> Option<Duration> {
        if self.first_token.is_some() {
            return None;
        }
        self.first_token = Some(elapsed);
        self.first_token
    }
}

/// The stop sequences of a task, with the text generated so far when there are any.
struct StopSequences<'a> {
    stop: &'a [String],
    text: String,
}

impl<'a> StopSequences<'a> {
    fn new(stop: &'a [String]) -> Self {
        Self {
            stop,
            text: String::new(),
        }
    }

    /// Adds a token's text; true as soon as the generated text contains one of the stop
    /// sequences, which ends the generation (ORCH-2206).
    #[spectrace::implements("ORCH-2206")]
    fn reached(&mut self, token: &str) -> bool {
        if self.stop.is_empty() {
            return false;
        }
        self.text.push_str(token);
        self.stop
            .iter()
            .any(|stop| self.text.contains(stop.as_str()))
    }
}

/// What the `end` event of a finished run reports.
struct EndFacts<'a> {
    task: &'a Task,
    progress: &'a Progress,
    finish_reason: FinishReason,
    queue_wait_ms: u64,
    decode: Duration,
    model: &'a str,
    replica_id: String,
}

/// The `end` event of a finished run, with every field of ORCH-3029.
#[spectrace::implements("ORCH-3029")]
fn end_event(facts: &EndFacts<'_>) -> StreamEvent {
    let end = api_types::EndEvent {
        tokens_in: facts.task.tokens_in,
        tokens_out: facts.progress.produced,
        finish_reason: facts.finish_reason,
        queue_wait_ms: facts.queue_wait_ms,
        ttft_ms: facts
            .progress
            .first_token
            .map_or(0, |first| first.as_millis() as u64),
        decode_ms: facts.decode.as_millis() as u64,
        seed: facts.task.seed,
        model: facts.model.to_owned(),
        replica_id: facts.replica_id.clone(),
    };
    StreamEvent {
        name: "end",
        data: serde_json::to_string(&end).unwrap_or_default(),
    }
}

/// How a run ends its task: the scheduler's end reason, the terminal event and the state.
struct Ending {
    reason: EndReason,
    terminal: StreamEvent,
    state: TaskState,
}

/// Why a run stopped.
enum Outcome {
    Finished(FinishReason),
    EngineFailed(String),
    Timeout {
        code: ErrorCode,
        message: &'static str,
    },
    /// The log was closed by someone else (cancel): the engine stream is dropped.
    Stopped,
}
