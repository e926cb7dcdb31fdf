//! Admission: a validated enqueue request is checked against the pool (model, limits, context,
//! shutdown, drain, readiness, session budget), offered to the pool's scheduler, and registered
//! as a task, or refused with a [`ServiceError`] that says why.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orchestrator_core::pool::Offer;
use orchestrator_core::sampler::default_seed;
use orchestrator_core::sessions::SessionView;
use orchestrator_core::{Priority, TaskKey};

use super::pool::Pool;
use super::tasks::Task;
use super::telemetry::priority_name;
use super::{Service, ServiceError, lock};
use crate::channel::EventLog;
use crate::engine::Generate;
use crate::metrics;

/// An admitted task, as the enqueue response reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// Public id.
    pub task_id: String,
    /// Places in the dispatch order ahead of it.
    pub queue_position: u64,
    /// Estimated wait.
    pub predicted_start_ms: u64,
    /// Budgets left, when the task belongs to a session.
    pub session: Option<SessionView>,
}

/// A validated enqueue request.
#[derive(Debug, Clone, PartialEq)]
pub struct EnqueueRequest {
    /// Pool id.
    pub pool: String,
    /// Prompt.
    pub prompt: String,
    /// Most tokens to generate.
    pub max_tokens: u64,
    /// Priority class.
    pub priority: Priority,
    /// The model the client expects, if it said.
    pub model: Option<String>,
    /// Seed, if the client chose one.
    pub seed: Option<u64>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Session id.
    pub session_id: Option<String>,
    /// Relative deadline.
    pub deadline_ms: Option<u64>,
    /// Correlation id of the request, for the logs.
    pub correlation_id: String,
    /// Stop sequences: generation ends, as finished, once the text generated so far contains
    /// one of them (the OpenAI-compatible surface sets them; the task API does not).
    pub stop: Vec<String>,
}

impl Service {
    /// Admits a task or says why not (ORCH-2001, ORCH-2007, ORCH-3002, ORCH-3008 – ORCH-3011,
    /// ORCH-3023).
    #[spectrace::implements("ORCH-2001", "ORCH-3047")]
    pub fn enqueue(self: &Arc<Self>, request: EnqueueRequest) -> Result<Admitted, ServiceError> {
        let pool =
            self.pools
                .get(&request.pool)
                .cloned()
                .ok_or_else(|| ServiceError::UnknownPool {
                    pool: request.pool.clone(),
                })?;
        let (pool_id, priority) = (pool.config.id.clone(), priority_name(request.priority));
        let result = self.enqueue_in(&pool, request);
        match &result {
            Ok(_) => self
                .metrics
                .tasks_enqueued
                .get_or_create(&metrics::priority(&pool_id, priority))
                .inc(),
            Err(error) => self
                .metrics
                .tasks_rejected
                .get_or_create(&metrics::reason(
                    &pool_id,
                    priority,
                    error.rejection_reason(),
                ))
                .inc(),
        };
        result
    }

    /// A key no other task of this server has had.
    fn new_task_key(&self) -> TaskKey {
        let mut next = lock(&self.next_key);
        *next += 1;
        TaskKey(*next)
    }

    #[spectrace::implements("ORCH-3008", "ORCH-3009", "ORCH-3047")]
    fn enqueue_in(
        self: &Arc<Self>,
        pool: &Arc<Pool>,
        request: EnqueueRequest,
    ) -> Result<Admitted, ServiceError> {
        let loaded = pool.loaded();
        if let Some(model) = &request.model
            && *model != loaded.model.name
        {
            return Err(ServiceError::UnknownModel {
                pool: request.pool.clone(),
                serves: loaded.model.name.clone(),
                asked: model.clone(),
            });
        }
        check_max_tokens(&pool.config.limits, request.max_tokens)?;
        let engine = loaded
            .engines
            .first()
            .cloned()
            .ok_or(ServiceError::NoReplica)?;
        // Counted by the engine's tokenizer without I/O (ORCH-3047).
        let tokens_in = engine.count_tokens(&request.prompt);
        check_context(&pool.config.limits, tokens_in, request.max_tokens)?;

        let key = self.new_task_key();
        if self.is_shutting_down() {
            return Err(ServiceError::ShuttingDown);
        }
        if let Some(deadline) = *lock(&pool.drain) {
            return Err(ServiceError::Draining {
                pool: pool.config.id.clone(),
                remaining_ms: deadline
                    .saturating_duration_since(Instant::now())
                    .as_millis() as u64,
            });
        }
        let now = self.now_ms();
        let mut scheduler = pool.scheduler();
        if !scheduler.any_ready() {
            return Err(ServiceError::NoReadyReplica);
        }
        // Check the budget first without charging, admit, then charge: a refused task never
        // costs budget, and a budget refusal never touches the queue.
        if let Some(session) = &request.session_id {
            lock(&self.sessions)
                .check(session, now, tokens_in, request.max_tokens)
                .map_err(ServiceError::BudgetExhausted)?;
        }
        let offer = scheduler.admit(key, request.priority, now, request.deadline_ms);
        let (position, predicted, evicted) = match offer {
            Offer::Admitted {
                position,
                predicted_start_ms,
                ended,
            } => (position, predicted_start_ms, ended),
            Offer::QueueFull { retry_after_ms } => {
                return Err(ServiceError::QueueFull {
                    pool: request.pool.clone(),
                    priority: request.priority,
                    retry_after_ms,
                    policy: pool.config.queue.full_policy,
                });
            }
            Offer::DeadlineInfeasible { predicted_start_ms } => {
                return Err(ServiceError::DeadlineInfeasible {
                    predicted_start_ms,
                    deadline_ms: request.deadline_ms.unwrap_or_default(),
                });
            }
        };
        let task_id = uuid::Uuid::new_v4().to_string();
        let session = match &request.session_id {
            Some(id) => Some(
                lock(&self.sessions)
                    .admit(id, now, tokens_in, request.max_tokens)
                    .map_err(ServiceError::BudgetExhausted)?,
            ),
            None => None,
        };
        let seed = request.seed.unwrap_or_else(|| default_seed(&task_id));
        let task = Arc::new(Task {
            id: task_id.clone(),
            pool: request.pool.clone(),
            key,
            priority: request.priority,
            session: request.session_id.clone(),
            max_tokens: request.max_tokens,
            seed,
            tokens_in,
            log: EventLog::new(),
            correlation_id: request.correlation_id.clone(),
            stop: request.stop,
            request: Mutex::new(Some(Generate {
                prompt: request.prompt,
                max_tokens: request.max_tokens,
                seed,
                temperature: request.temperature,
            })),
            stream_opened: Mutex::new(false),
            ended: Mutex::new(None),
        });
        {
            let mut registry = lock(&self.tasks);
            registry.by_id.insert(task_id.clone(), Arc::clone(&task));
            registry.by_key.insert(key, Arc::clone(&task));
        }
        if let Some(ended) = evicted {
            self.close_ended(&mut scheduler, &pool.config.id, ended);
        }
        drop(scheduler);
        pool.wake.notify_one();
        self.watch_unclaimed(&task);
        let mut fields = self.task_fields(&task, pool);
        fields.queue_position = Some(position as u64);
        fields.predicted_start_ms = Some(predicted);
        self.logger.task("task admitted", &fields);
        Ok(Admitted {
            task_id,
            queue_position: position as u64,
            predicted_start_ms: predicted,
            session,
        })
    }

    /// Cancels the task when its stream is not opened in time (ORCH-3019). Past that time,
    /// an ended task that no reader follows keeps only its terminal event (ORCH-3066). The
    /// watch holds the task weakly: a task the registry forgot meanwhile (ORCH-3067) is freed
    /// at once rather than when the watch wakes, so memory stays bounded by
    /// `tasks.retained_max` however long `stream_open_ms` is.
    #[spectrace::implements("ORCH-3019", "ORCH-3066")]
    fn watch_unclaimed(self: &Arc<Self>, task: &Arc<Task>) {
        let service = Arc::clone(self);
        let task = Arc::downgrade(task);
        let wait = Duration::from_millis(self.config.timeouts.stream_open_ms);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let Some(task) = task.upgrade() else {
                return;
            };
            if !*lock(&task.stream_opened) {
                service.cancel_task(&task);
            }
            task.log.compact();
        });
    }
}

/// `MAX_TOKENS_TOO_LARGE` for a task asking more than its pool's `limits.max_tokens`
/// (ORCH-3009).
#[spectrace::implements("ORCH-3009")]
fn check_max_tokens(
    limits: &orchestrator_config::Limits,
    max_tokens: u64,
) -> Result<(), ServiceError> {
    if max_tokens > u64::from(limits.max_tokens) {
        return Err(ServiceError::MaxTokensTooLarge {
            max_tokens,
            limit: limits.max_tokens,
        });
    }
    Ok(())
}

/// `CONTEXT_TOO_LONG` for a task whose prompt tokens plus `max_tokens` exceed its pool's
/// `limits.ctx_max` (ORCH-3009).
#[spectrace::implements("ORCH-3009")]
fn check_context(
    limits: &orchestrator_config::Limits,
    prompt_tokens: u64,
    max_tokens: u64,
) -> Result<(), ServiceError> {
    if prompt_tokens.saturating_add(max_tokens) > u64::from(limits.ctx_max) {
        return Err(ServiceError::ContextTooLong {
            prompt_tokens,
            max_tokens,
            ctx_max: limits.ctx_max,
        });
    }
    Ok(())
}
