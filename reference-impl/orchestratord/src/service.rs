//! The orchestrator service, independent of HTTP: pools with their schedulers and engines, the
//! task registry, sessions, and the operations the API exposes (admit, cancel, read, stream).
//!
//! Lock order, everywhere: a pool's scheduler, then a task's event log. Whoever moves a task to
//! a terminal state in the scheduler appends its terminal event while still holding the
//! scheduler lock, so each task gets exactly one terminal event.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use api_types::{ErrorCode, FinishReason, FullPolicy as ApiFullPolicy, Priority as ApiPriority};
use futures::StreamExt;
use orchestrator_config::{Config, EngineConfig, FullPolicy, PoolConfig};
use orchestrator_core::lifecycle::TaskState;
use orchestrator_core::pool::{CancelOutcome, EndReason, Ended, Offer, PoolScheduler};
use orchestrator_core::queue::QueueSettings;
use orchestrator_core::sampler::default_seed;
use orchestrator_core::sessions::{BudgetExhausted, SessionLimits, SessionView, Sessions};
use orchestrator_core::{Priority, TaskKey};
use tokio::sync::Notify;

use crate::auth::Keys;
use crate::channel::{EventLog, StreamEvent};
use crate::engine::{self, Engine, EngineEvent, Generate, ModelArtifact};
use crate::error::ApiError;
use crate::log::{Logger, TaskFields};
use crate::metrics::{self, Metrics};

/// API version reported in capabilities (ORCH-3053).
pub const API_VERSION: &str = "1.0.0";
/// How long an ended task stays readable (ORCH-2011).
pub const RETENTION: Duration = Duration::from_secs(300);
/// How often ended tasks and expired sessions are swept.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// A `metrics` event follows every this many tokens.
pub const METRICS_EVERY: u64 = 16;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One pool at run time.
pub struct Pool {
    /// The pool's configuration.
    pub config: PoolConfig,
    loaded: std::sync::RwLock<Arc<Loaded>>,
    scheduler: Mutex<PoolScheduler>,
    wake: Notify,
    /// When draining, the drain's deadline.
    drain: Mutex<Option<Instant>>,
    /// Replicas being restarted after a failure.
    restarting: Mutex<std::collections::BTreeSet<usize>>,
}

/// The model a pool serves now and one engine per replica serving it. A reload replaces the
/// whole value at once (ORCH-2102); a running task keeps the `Arc` it started with (ORCH-3035).
pub struct Loaded {
    /// The model.
    pub model: orchestrator_config::ModelConfig,
    /// The model's checked file and digest.
    pub artifact: ModelArtifact,
    /// One engine per replica.
    pub engines: Vec<Arc<dyn Engine>>,
}

impl Pool {
    /// The model and engines in force.
    pub fn loaded(&self) -> Arc<Loaded> {
        Arc::clone(&self.loaded.read().unwrap_or_else(PoisonError::into_inner))
    }
}

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
    /// What to generate.
    pub request: Generate,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// The event log.
    pub log: EventLog,
    /// Correlation id of the enqueue request.
    pub correlation_id: String,
    stream_opened: Mutex<bool>,
    ended_at: Mutex<Option<Instant>>,
}

impl Task {
    /// True when the task ended at least `retention` ago.
    fn ended_longer_ago_than(&self, retention: Duration) -> bool {
        lock(&self.ended_at).is_some_and(|at| at.elapsed() >= retention)
    }
}

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
}

/// Every task not yet forgotten, by public id and by scheduler key (keys are unique across
/// pools).
#[derive(Default)]
struct Registry {
    by_id: HashMap<String, Arc<Task>>,
    by_key: HashMap<TaskKey, Arc<Task>>,
}

/// The whole service.
pub struct Service {
    config: Config,
    pools: BTreeMap<String, Arc<Pool>>,
    tasks: Mutex<Registry>,
    sessions: Mutex<Sessions>,
    next_key: Mutex<u64>,
    started: Instant,
    /// The metrics of the contract.
    pub metrics: Metrics,
    /// Keys of the control plane.
    pub control_keys: Keys,
    /// Keys of the data plane; none means open.
    pub data_keys: Keys,
    shutting_down: std::sync::atomic::AtomicBool,
    logger: Logger,
}

fn policy(p: FullPolicy) -> orchestrator_core::FullPolicy {
    match p {
        FullPolicy::Reject => orchestrator_core::FullPolicy::Reject,
        FullPolicy::DropLru => orchestrator_core::FullPolicy::DropLru,
        FullPolicy::ShedLowPriority => orchestrator_core::FullPolicy::ShedLowPriority,
    }
}

/// The API name of a full policy.
pub fn api_policy(p: FullPolicy) -> ApiFullPolicy {
    match p {
        FullPolicy::Reject => ApiFullPolicy::Reject,
        FullPolicy::DropLru => ApiFullPolicy::DropLru,
        FullPolicy::ShedLowPriority => ApiFullPolicy::ShedLowPriority,
    }
}

/// The API name of a priority.
pub fn api_priority(p: Priority) -> ApiPriority {
    match p {
        Priority::Interactive => ApiPriority::Interactive,
        Priority::Batch => ApiPriority::Batch,
    }
}

/// Prompt of the replica self-test (ORCH-3064).
pub const SELF_TEST_PROMPT: &str = "orchestratord self-test";
/// How long a self-test may take.
pub const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(5);
/// First and last delay between restarts of a failed replica (ORCH-3044).
pub const RESTART_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(10));

/// Generates one token with seed 0 from a fixed prompt; `Err` says why it failed.
pub async fn self_test(engine: &dyn Engine) -> Result<(), String> {
    let request = Generate {
        prompt: SELF_TEST_PROMPT.to_owned(),
        max_tokens: 1,
        seed: 0,
        temperature: 0.0,
    };
    let mut stream = engine.generate(request);
    match tokio::time::timeout(SELF_TEST_TIMEOUT, stream.next()).await {
        Ok(Some(EngineEvent::Token(_))) => Ok(()),
        Ok(Some(EngineEvent::Failed(reason))) => Err(format!("the engine failed: {reason}")),
        Ok(Some(EngineEvent::Stopped) | None) => Err("the engine produced no token".to_owned()),
        Err(_) => Err(format!("no token within {} s", SELF_TEST_TIMEOUT.as_secs())),
    }
}

async fn load_all(
    pool: &PoolConfig,
    model: &orchestrator_config::ModelConfig,
) -> Result<Loaded, String> {
    let (artifact, engines) = engine::load(pool, model).await?;
    Ok(Loaded {
        model: model.clone(),
        artifact,
        engines,
    })
}

impl Service {
    /// Builds the service from a validated configuration; every replica starts ready (the sim
    /// engine needs no preload). Errors name the pool.
    pub async fn new(
        config: Config,
        control_keys: Keys,
        logger: Logger,
    ) -> Result<Arc<Self>, String> {
        let data_keys = Keys::resolve(&config.auth.data_keys)?;
        let mut pools = BTreeMap::new();
        for pool in &config.pools {
            if pools.contains_key(&pool.id) {
                return Err(format!("pool id `{}` is used twice", pool.id));
            }
            let replicas = pool.replicas as usize;
            let loaded = load_all(pool, &pool.model).await?;
            let settings = QueueSettings {
                capacity_interactive: pool.queue.capacity.interactive as usize,
                capacity_batch: pool.queue.capacity.batch as usize,
                policy: policy(pool.queue.full_policy),
                batch_every: pool.queue.batch_every,
            };
            // Replicas start unready; `check_health` turns them ready.
            let scheduler = PoolScheduler::new(settings, replicas, pool.slots as usize, 1000);
            pools.insert(
                pool.id.clone(),
                Arc::new(Pool {
                    config: pool.clone(),
                    loaded: std::sync::RwLock::new(Arc::new(loaded)),
                    scheduler: Mutex::new(scheduler),
                    wake: Notify::new(),
                    drain: Mutex::new(None),
                    restarting: Mutex::new(std::collections::BTreeSet::new()),
                }),
            );
        }
        let sessions = Sessions::new(SessionLimits {
            ttl_ms: config.sessions.ttl_ms,
            max_turns: config.sessions.max_turns,
            max_tokens: config.sessions.max_tokens,
        });
        let metrics = Metrics::new();
        for (id, pool) in &pools {
            metrics.init_pool(id, pool.loaded().engines.len());
        }
        Ok(Arc::new(Self {
            config,
            pools,
            tasks: Mutex::new(Registry::default()),
            sessions: Mutex::new(sessions),
            next_key: Mutex::new(0),
            started: Instant::now(),
            metrics,
            control_keys,
            data_keys,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            logger,
        }))
    }

    /// Closes a pool to new tasks until `deadline_ms` from now, then ends whatever is still open
    /// with `DRAIN_DEADLINE` (ORCH-2101). A second drain keeps the first deadline. Returns the
    /// deadline in force, in milliseconds from now.
    pub fn drain(self: &Arc<Self>, pool_id: &str, deadline_ms: u64) -> Option<u64> {
        let pool = self.pools.get(pool_id)?;
        let mut drain = lock(&pool.drain);
        if let Some(existing) = *drain {
            return Some(
                existing
                    .saturating_duration_since(Instant::now())
                    .as_millis() as u64,
            );
        }
        let deadline = Instant::now() + Duration::from_millis(deadline_ms);
        *drain = Some(deadline);
        let (service, pool) = (Arc::clone(self), Arc::clone(pool));
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline.into()).await;
            // A reload may have ended this drain meanwhile (ORCH-3037).
            if *lock(&pool.drain) != Some(deadline) {
                return;
            }
            let mut scheduler = lock(&pool.scheduler);
            for ended in scheduler.end_all(EndReason::Drained, service.now_ms()) {
                service.close_ended(&pool.config.id, ended);
            }
        });
        Some(deadline_ms)
    }

    /// Loads `model` on every replica of the pool, then switches the whole pool at once
    /// (ORCH-2102, ORCH-3035); on any failure nothing changes and the reason is returned
    /// (ORCH-3036). A successful reload ends a drain (ORCH-3037). `None` for an unknown pool.
    pub async fn reload(
        &self,
        pool_id: &str,
        model: orchestrator_config::ModelConfig,
    ) -> Option<Result<Arc<Loaded>, String>> {
        let pool = self.pools.get(pool_id)?;
        let loaded = match load_all(&pool.config, &model).await {
            Ok(loaded) => Arc::new(loaded),
            Err(reason) => {
                self.logger.log(
                    "warn",
                    "reload failed",
                    serde_json::Map::from_iter([
                        ("pool".to_owned(), serde_json::json!(pool_id)),
                        ("reason".to_owned(), serde_json::json!(reason)),
                    ]),
                );
                return Some(Err(reason));
            }
        };
        *pool.loaded.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&loaded);
        *lock(&pool.drain) = None;
        pool.wake.notify_one();
        self.logger.log(
            "info",
            "reloaded",
            serde_json::Map::from_iter([
                ("pool".to_owned(), serde_json::json!(pool_id)),
                ("model".to_owned(), serde_json::json!(loaded.model.name)),
            ]),
        );
        Some(Ok(loaded))
    }

    /// A pool's health (ORCH-2103).
    pub fn pool_health(&self, pool_id: &str) -> Option<api_types::PoolHealth> {
        let pool = self.pools.get(pool_id)?;
        let scheduler = lock(&pool.scheduler);
        let replicas = scheduler.replicas();
        let drain = *lock(&pool.drain);
        let loaded = pool.loaded();
        let engine = loaded.engines.first();
        Some(api_types::PoolHealth {
            pool_id: pool_id.to_owned(),
            live: true,
            ready: scheduler.any_ready(),
            draining: drain.is_some(),
            drain_remaining_ms: drain
                .map(|d| d.saturating_duration_since(Instant::now()).as_millis() as u64),
            replicas_ready: replicas.iter().filter(|(ready, _, _)| *ready).count() as u64,
            replicas_total: replicas.len() as u64,
            queue_depth: api_types::QueueCapacity {
                interactive: scheduler.queue_depth(Priority::Interactive) as u64,
                batch: scheduler.queue_depth(Priority::Batch) as u64,
            },
            tasks_running: scheduler.running() as u64,
            model: loaded.model.name.clone(),
            engine_version: engine.map(|e| e.version()).unwrap_or_default(),
        })
    }

    /// Every pool's replicas, sorted by pool id (ORCH-2104).
    pub fn replica_sets(&self) -> api_types::ReplicaSets {
        let replica_sets = self
            .pools
            .iter()
            .map(|(id, pool)| {
                let loaded = pool.loaded();
                let engine = loaded.engines.first();
                let replicas = lock(&pool.scheduler)
                    .replicas()
                    .into_iter()
                    .enumerate()
                    .map(|(index, (ready, total, busy))| api_types::Replica {
                        replica_id: format!("{id}-{index}"),
                        ready,
                        slots_total: std::num::NonZeroU64::new(total as u64)
                            .unwrap_or(std::num::NonZeroU64::MIN),
                        slots_busy: busy as u64,
                    })
                    .collect();
                api_types::ReplicaSet {
                    pool_id: id.clone(),
                    engine: engine.map_or(api_types::EngineKind::Sim, |e| e.kind()),
                    engine_version: engine.map(|e| e.version()).unwrap_or_default(),
                    model: loaded.model.name.clone(),
                    model_digest: engine.map(|e| e.model_digest()).unwrap_or_default(),
                    replicas,
                }
            })
            .collect();
        api_types::ReplicaSets { replica_sets }
    }

    /// True once a shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Graceful shutdown (ORCH-3032): stops admitting, lets queued and running tasks finish for
    /// up to `drain`, then ends the rest with `SHUTTING_DOWN`.
    pub async fn shut_down(&self, drain: Duration) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.logger
            .log("info", "shutting down", serde_json::Map::new());
        let deadline = Instant::now() + drain;
        while Instant::now() < deadline && self.open_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for pool in self.pools.values() {
            let mut scheduler = lock(&pool.scheduler);
            for ended in scheduler.end_all(EndReason::Shutdown, self.now_ms()) {
                self.close_ended(&pool.config.id, ended);
            }
        }
    }

    fn open_tasks(&self) -> usize {
        self.pools
            .values()
            .map(|pool| {
                let scheduler = lock(&pool.scheduler);
                scheduler.running()
                    + scheduler.queue_depth(Priority::Interactive)
                    + scheduler.queue_depth(Priority::Batch)
            })
            .sum()
    }

    /// Pools with no ready replica (readiness, ORCH-2105).
    pub fn pools_not_ready(&self) -> Vec<String> {
        self.pools
            .iter()
            .filter(|(_, pool)| !lock(&pool.scheduler).any_ready())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every pool, by id.
    pub fn pools(&self) -> &BTreeMap<String, Arc<Pool>> {
        &self.pools
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Starts one dispatcher and one health checker per pool; they run until the runtime
    /// stops.
    pub fn start(self: &Arc<Self>) {
        for pool in self.pools.values() {
            let service = Arc::clone(self);
            let dispatched = Arc::clone(pool);
            tokio::spawn(async move { service.dispatch_loop(dispatched).await });
            let service = Arc::clone(self);
            let checked = Arc::clone(pool);
            tokio::spawn(async move { service.health_loop(checked).await });
        }
        let service = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                service.sweep(RETENTION);
            }
        });
    }

    /// Forgets tasks that ended more than `retention` ago (the server uses [`RETENTION`]) and
    /// expired sessions, so a long-running server's memory stays bounded by its recent traffic.
    pub fn sweep(&self, retention: Duration) {
        let forgotten: Vec<Arc<Task>> = {
            let mut registry = lock(&self.tasks);
            let old: Vec<Arc<Task>> = registry
                .by_id
                .values()
                .filter(|t| t.ended_longer_ago_than(retention))
                .cloned()
                .collect();
            for task in &old {
                registry.by_id.remove(&task.id);
                registry.by_key.remove(&task.key);
            }
            old
        };
        // The registry lock is released before the schedulers' (lock order: scheduler first).
        for task in forgotten {
            if let Some(pool) = self.pools.get(&task.pool) {
                lock(&pool.scheduler).forget(task.key);
            }
        }
        lock(&self.sessions).purge_expired(self.now_ms());
    }

    /// Number of tasks the registry holds (ended ones included, until swept).
    pub fn tasks_held(&self) -> usize {
        lock(&self.tasks).by_id.len()
    }

    /// Runs the self-test on every replica of every pool (ORCH-3065): `(replica id, result)`.
    pub async fn self_test_all(&self) -> Vec<(String, Result<(), String>)> {
        let mut results = Vec::new();
        for (id, pool) in &self.pools {
            for (replica, engine) in pool.loaded().engines.iter().enumerate() {
                results.push((format!("{id}-{replica}"), self_test(engine.as_ref()).await));
            }
        }
        results
    }

    /// Checks every replica's engine once and sets its readiness (ORCH-3015).
    pub async fn check_health(&self) {
        for pool in self.pools.values() {
            self.check_pool(pool).await;
        }
    }

    async fn check_pool(&self, pool: &Pool) {
        for (replica, engine) in pool.loaded().engines.iter().enumerate() {
            if lock(&pool.restarting).contains(&replica) {
                continue;
            }
            let was_ready = lock(&pool.scheduler)
                .replicas()
                .get(replica)
                .is_some_and(|r| r.0);
            let mut ready = engine.health().await;
            // A replica turns ready only after passing its self-test (ORCH-3064).
            if ready
                && !was_ready
                && let Err(reason) = self_test(engine.as_ref()).await
            {
                self.log_replica(pool, replica, "self-test failed", &reason);
                ready = false;
            }
            lock(&pool.scheduler).set_ready(replica, ready);
        }
        pool.wake.notify_one();
    }

    fn log_replica(&self, pool: &Pool, replica: usize, msg: &str, reason: &str) {
        self.logger.log(
            "warn",
            msg,
            serde_json::Map::from_iter([
                ("pool".to_owned(), serde_json::json!(pool.config.id)),
                (
                    "replica_id".to_owned(),
                    serde_json::json!(format!("{}-{replica}", pool.config.id)),
                ),
                ("reason".to_owned(), serde_json::json!(reason)),
            ]),
        );
    }

    /// The replica's engine failed: every task running on it ends with `ENGINE_ERROR`, the
    /// replica turns unready and is restarted with exponential backoff until a new engine is
    /// healthy and passes its self-test (ORCH-3043, ORCH-3044).
    fn replica_failed(self: &Arc<Self>, pool: &Arc<Pool>, replica: usize, reason: &str) {
        {
            let mut scheduler = lock(&pool.scheduler);
            scheduler.set_ready(replica, false);
            for ended in scheduler.end_replica(replica, EndReason::Failed, self.now_ms()) {
                self.close_ended(&pool.config.id, ended);
            }
        }
        self.log_replica(pool, replica, "replica failed", reason);
        if !lock(&pool.restarting).insert(replica) {
            return;
        }
        let (service, pool) = (Arc::clone(self), Arc::clone(pool));
        tokio::spawn(async move {
            let mut backoff = RESTART_BACKOFF.0;
            loop {
                tokio::time::sleep(backoff).await;
                let loaded = pool.loaded();
                match engine::start(&pool.config, &loaded.artifact).await {
                    Ok(engine) if engine.health().await => match self_test(engine.as_ref()).await {
                        Ok(()) => {
                            let mut engines = loaded.engines.clone();
                            if let Some(slot) = engines.get_mut(replica) {
                                *slot = engine;
                            }
                            *pool.loaded.write().unwrap_or_else(PoisonError::into_inner) =
                                Arc::new(Loaded {
                                    model: loaded.model.clone(),
                                    artifact: loaded.artifact.clone(),
                                    engines,
                                });
                            lock(&pool.restarting).remove(&replica);
                            lock(&pool.scheduler).set_ready(replica, true);
                            pool.wake.notify_one();
                            service.log_replica(&pool, replica, "replica restarted", "ready again");
                            return;
                        }
                        Err(reason) => {
                            service.log_replica(&pool, replica, "restart self-test failed", &reason)
                        }
                    },
                    Ok(_) => service.log_replica(&pool, replica, "restart failed", "unhealthy"),
                    Err(reason) => service.log_replica(&pool, replica, "restart failed", &reason),
                }
                backoff = (backoff * 2).min(RESTART_BACKOFF.1);
            }
        });
    }

    async fn health_loop(self: Arc<Self>, pool: Arc<Pool>) {
        let interval = match pool.config.engine {
            EngineConfig::Sim {
                health_interval_ms, ..
            }
            | EngineConfig::Llamacpp {
                health_interval_ms, ..
            } => Duration::from_millis(health_interval_ms),
        };
        loop {
            tokio::time::sleep(interval).await;
            self.check_pool(&pool).await;
        }
    }

    /// Admits a task or says why not (ORCH-2001, ORCH-2007, ORCH-3002, ORCH-3008 – ORCH-3011,
    /// ORCH-3023).
    pub fn enqueue(self: &Arc<Self>, request: EnqueueRequest) -> Result<Admitted, ApiError> {
        let pool = self.pools.get(&request.pool).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownPool,
                format!("no pool named `{}`", request.pool),
            )
        })?;
        let (pool_id, priority) = (pool.config.id.clone(), priority_name(request.priority));
        let result = self.enqueue_in(&pool, request);
        match &result {
            Ok(_) => self
                .metrics
                .tasks_enqueued
                .get_or_create(&metrics::priority(&pool_id, priority))
                .inc(),
            Err(error) => {
                let reason = match error.code {
                    ErrorCode::QueueFull => "queue_full",
                    ErrorCode::PoolUnavailable => "unavailable",
                    ErrorCode::PoolDraining | ErrorCode::ShuttingDown => "draining",
                    ErrorCode::SessionBudgetExhausted => "budget",
                    _ => "invalid",
                };
                self.metrics
                    .tasks_rejected
                    .get_or_create(&metrics::reason(&pool_id, priority, reason))
                    .inc()
            }
        };
        result
    }

    fn enqueue_in(
        self: &Arc<Self>,
        pool: &Arc<Pool>,
        request: EnqueueRequest,
    ) -> Result<Admitted, ApiError> {
        let loaded = pool.loaded();
        if let Some(model) = &request.model
            && *model != loaded.model.name
        {
            return Err(ApiError::new(
                ErrorCode::UnknownModel,
                format!(
                    "pool `{}` serves `{}`, not `{model}`",
                    request.pool, loaded.model.name
                ),
            ));
        }
        if request.max_tokens > u64::from(pool.config.limits.max_tokens) {
            return Err(ApiError::new(
                ErrorCode::MaxTokensTooLarge,
                format!(
                    "max_tokens {} exceeds the pool's limit of {}",
                    request.max_tokens, pool.config.limits.max_tokens
                ),
            ));
        }
        let engine = loaded.engines.first().cloned().ok_or_else(|| {
            ApiError::new(ErrorCode::PoolUnavailable, "the pool has no replica").retry_after(1000)
        })?;
        let tokens_in = engine.count_tokens(&request.prompt);
        if tokens_in.saturating_add(request.max_tokens) > u64::from(pool.config.limits.ctx_max) {
            return Err(ApiError::new(
                ErrorCode::ContextTooLong,
                format!(
                    "{tokens_in} prompt tokens plus max_tokens {} exceed the pool's context of {}",
                    request.max_tokens, pool.config.limits.ctx_max
                ),
            ));
        }

        let key = {
            let mut next = lock(&self.next_key);
            *next += 1;
            TaskKey(*next)
        };
        if self.is_shutting_down() {
            return Err(
                ApiError::new(ErrorCode::ShuttingDown, "orchestratord is shutting down")
                    .retry_after(1000),
            );
        }
        if let Some(deadline) = *lock(&pool.drain) {
            let remaining = deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u64;
            return Err(ApiError::new(
                ErrorCode::PoolDraining,
                format!(
                    "pool `{}` is draining and takes no new tasks",
                    pool.config.id
                ),
            )
            .retry_after(remaining.max(1000)));
        }
        let now = self.now_ms();
        let mut scheduler = lock(&pool.scheduler);
        if !scheduler.any_ready() {
            return Err(ApiError::new(
                ErrorCode::PoolUnavailable,
                "no replica of the pool is ready",
            )
            .retry_after(1000));
        }
        // Check the budget first without charging, admit, then charge: a refused task never
        // costs budget, and a budget refusal never touches the queue.
        if let Some(session) = &request.session_id {
            lock(&self.sessions)
                .check(session, now, tokens_in, request.max_tokens)
                .map_err(budget_error)?;
        }
        let offer = scheduler.admit(key, request.priority, now, request.deadline_ms);
        let (position, predicted, evicted) = match offer {
            Offer::Admitted {
                position,
                predicted_start_ms,
                ended,
            } => (position, predicted_start_ms, ended),
            Offer::QueueFull { retry_after_ms } => {
                return Err(ApiError::new(
                    ErrorCode::QueueFull,
                    format!(
                        "the {} queue of pool `{}` is full",
                        priority_name(request.priority),
                        request.pool
                    ),
                )
                .retry_after(retry_after_ms)
                .policy(api_policy(pool.config.queue.full_policy)));
            }
            Offer::DeadlineInfeasible { predicted_start_ms } => {
                return Err(ApiError::new(
                    ErrorCode::DeadlineInfeasible,
                    format!(
                        "the task would start in about {predicted_start_ms} ms, after its deadline of {} ms",
                        request.deadline_ms.unwrap_or_default()
                    ),
                ));
            }
        };
        let task_id = uuid::Uuid::new_v4().to_string();
        let session = match &request.session_id {
            Some(id) => Some(
                lock(&self.sessions)
                    .admit(id, now, tokens_in, request.max_tokens)
                    .map_err(budget_error)?,
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
            request: Generate {
                prompt: request.prompt,
                max_tokens: request.max_tokens,
                seed,
                temperature: request.temperature,
            },
            tokens_in,
            log: EventLog::new(),
            correlation_id: request.correlation_id.clone(),
            stream_opened: Mutex::new(false),
            ended_at: Mutex::new(None),
        });
        {
            let mut registry = lock(&self.tasks);
            registry.by_id.insert(task_id.clone(), Arc::clone(&task));
            registry.by_key.insert(key, Arc::clone(&task));
        }
        if let Some(ended) = evicted {
            self.close_ended(&pool.config.id, ended);
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

    /// Cancels the task when its stream is not opened in time (ORCH-3019).
    fn watch_unclaimed(self: &Arc<Self>, task: &Arc<Task>) {
        let service = Arc::clone(self);
        let task = Arc::clone(task);
        let wait = Duration::from_millis(self.config.timeouts.stream_open_ms);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if !*lock(&task.stream_opened) {
                service.cancel_task(&task);
            }
        });
    }

    /// The task with this public id, unless it ended more than [`RETENTION`] ago.
    pub fn task(&self, id: &str) -> Option<Arc<Task>> {
        // A task past its retention reads as gone; the sweep removes it for good.
        let task = lock(&self.tasks).by_id.get(id).cloned()?;
        (!task.ended_longer_ago_than(RETENTION)).then_some(task)
    }

    /// A task's state and tokens so far.
    pub fn task_state(&self, task: &Task) -> TaskState {
        self.pools
            .get(&task.pool)
            .and_then(|pool| lock(&pool.scheduler).state(task.key))
            .unwrap_or(TaskState::Failed)
    }

    /// Where a task stands for its `started` event: position and predicted start, `(0, 0)`
    /// once it runs or has ended.
    pub fn task_position(&self, task: &Task) -> (u64, u64) {
        self.pools
            .get(&task.pool)
            .and_then(|pool| lock(&pool.scheduler).position(task.key))
            .map_or((0, 0), |(position, predicted)| (position as u64, predicted))
    }

    /// Cancels a task (ORCH-2003, ORCH-3025); returns its state afterwards.
    pub fn cancel_task(&self, task: &Task) -> TaskState {
        let Some(pool) = self.pools.get(&task.pool) else {
            return TaskState::Failed;
        };
        let mut scheduler = lock(&pool.scheduler);
        let state = match scheduler.cancel(task.key, self.now_ms()) {
            CancelOutcome::Cancelled(ended) => {
                self.close_ended(&pool.config.id, ended);
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
    pub fn stream_closed(&self, task: &Task) {
        task.log.detach_reader();
        if !task.log.is_closed() {
            self.cancel_task(task);
        }
    }

    /// The session, unless unknown or expired (ORCH-2004).
    pub fn session(&self, id: &str) -> Option<SessionView> {
        lock(&self.sessions).get(id, self.now_ms())
    }

    /// Forgets a session (ORCH-2005).
    pub fn delete_session(&self, id: &str) -> bool {
        lock(&self.sessions).delete(id, self.now_ms())
    }

    /// Appends the terminal event of a task that just ended in the scheduler. Called with the
    /// pool's scheduler locked.
    fn close_ended(&self, pool: &str, ended: Ended) {
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
    /// end time, the finished metric, the end log line, and the refund of the session tokens it
    /// did not generate. Called by whoever moved the task to its terminal state in the scheduler,
    /// with that scheduler locked.
    fn seal(&self, task: &Task, terminal: StreamEvent, state: TaskState, replica: Option<usize>) {
        task.log.close(terminal);
        *lock(&task.ended_at) = Some(Instant::now());
        self.count_finished(&task.pool, state);
        self.log_end(task, state, replica);
        if let Some(session) = &task.session {
            let unused = task.request.max_tokens.saturating_sub(task.log.tokens());
            lock(&self.sessions).refund(session, unused);
        }
    }

    fn task_fields(&self, task: &Task, pool: &Pool) -> TaskFields {
        let loaded = pool.loaded();
        let engine = loaded.engines.first();
        TaskFields {
            task_id: task.id.clone(),
            correlation_id: task.correlation_id.clone(),
            pool: task.pool.clone(),
            priority: priority_name(task.priority).to_owned(),
            session_id: task.session.clone(),
            tokens_in: Some(task.tokens_in),
            engine: engine.map(|e| format!("{:?}", e.kind()).to_lowercase()),
            engine_version: engine.map(|e| e.version()),
            ..TaskFields::default()
        }
    }

    fn log_end(&self, task: &Task, state: TaskState, replica: Option<usize>) {
        let Some(pool) = self.pools.get(&task.pool) else {
            return;
        };
        let mut fields = self.task_fields(task, pool);
        fields.replica_id = replica.map(|r| format!("{}-{r}", task.pool));
        fields.tokens_out = Some(task.log.tokens());
        fields.outcome = Some(state.as_str().to_owned());
        self.logger.task("task ended", &fields);
    }

    /// Logs the effective configuration (ORCH-3034); keys appear only as references.
    pub fn log_config(&self) {
        let mut fields = serde_json::Map::new();
        fields.insert(
            "config".into(),
            serde_json::to_value(&self.config).unwrap_or_default(),
        );
        self.logger.log("info", "config", fields);
    }

    fn count_finished(&self, pool: &str, state: TaskState) {
        let labels = metrics::OutcomeLabels {
            pool: pool.to_owned(),
            outcome: state.as_str().to_owned(),
        };
        self.metrics.tasks_finished.get_or_create(&labels).inc();
    }

    /// Sets the gauges from the schedulers (called when `/metrics` is scraped).
    pub fn refresh_gauges(&self) {
        for (id, pool) in &self.pools {
            let scheduler = lock(&pool.scheduler);
            for p in [Priority::Interactive, Priority::Batch] {
                let depth = scheduler.queue_depth(p) as i64;
                self.metrics
                    .queue_depth
                    .get_or_create(&metrics::priority(id, priority_name(p)))
                    .set(depth);
            }
            self.metrics
                .tasks_running
                .get_or_create(&metrics::pool(id))
                .set(scheduler.running() as i64);
            for (index, (ready, total, busy)) in scheduler.replicas().into_iter().enumerate() {
                let labels = metrics::ReplicaLabels {
                    pool: id.clone(),
                    replica: format!("{id}-{index}"),
                };
                self.metrics
                    .replica_ready
                    .get_or_create(&labels)
                    .set(i64::from(ready));
                self.metrics
                    .slots_busy
                    .get_or_create(&labels)
                    .set(busy as i64);
                self.metrics
                    .slots_capacity
                    .get_or_create(&labels)
                    .set(total as i64);
            }
        }
    }

    async fn dispatch_loop(self: Arc<Self>, pool: Arc<Pool>) {
        loop {
            let notified = pool.wake.notified();
            let dispatched = {
                let mut scheduler = lock(&pool.scheduler);
                let now = self.now_ms();
                for ended in scheduler.expire(now) {
                    self.close_ended(&pool.config.id, ended);
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

    /// Runs one dispatched task on its replica to its end.
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
        let started = Instant::now();
        let pool_id = pool.config.id.clone();
        self.metrics
            .tokens_in
            .get_or_create(&metrics::pool(&pool_id))
            .inc_by(task.tokens_in);
        self.metrics
            .queue_wait
            .get_or_create(&metrics::priority(&pool_id, priority_name(task.priority)))
            .observe(queue_wait_ms as f64 / 1000.0);
        let tokens_out = self
            .metrics
            .tokens_out
            .get_or_create(&metrics::pool(&pool_id))
            .clone();
        let mut fields = self.task_fields(&task, &pool);
        fields.replica_id = Some(format!("{pool_id}-{replica}"));
        self.logger.task("task dispatched", &fields);
        let mut stream = engine.generate(task.request.clone());
        let idle = Duration::from_millis(self.config.timeouts.token_idle_ms);
        let wall = Duration::from_millis(self.config.timeouts.task_wall_ms);
        let mut produced = 0u64;
        let mut first_token_ms = None;
        let outcome = loop {
            let remaining = wall.saturating_sub(started.elapsed());
            let next = match tokio::time::timeout(idle.min(remaining), stream.next()).await {
                Ok(next) => next,
                Err(_) if started.elapsed() >= wall => {
                    break Outcome::Timeout(ErrorCode::TimeoutWall);
                }
                Err(_) => break Outcome::Timeout(ErrorCode::TimeoutIdle),
            };
            match next {
                None => break Outcome::Finished(FinishReason::Length),
                Some(EngineEvent::Stopped) => break Outcome::Finished(FinishReason::Stop),
                Some(EngineEvent::Failed(message)) => break Outcome::EngineFailed(message),
                Some(EngineEvent::Token(text)) => {
                    let data = serde_json::json!({ "index": produced, "text": text }).to_string();
                    if !task.log.push(StreamEvent {
                        name: "token",
                        data,
                    }) {
                        break Outcome::Stopped;
                    }
                    produced += 1;
                    tokens_out.inc();
                    if first_token_ms.is_none() {
                        let elapsed = started.elapsed();
                        first_token_ms = Some(elapsed.as_millis() as u64);
                        self.metrics
                            .time_to_first_token
                            .get_or_create(&metrics::pool(&pool_id))
                            .observe(elapsed.as_secs_f64());
                    }
                    if produced.is_multiple_of(METRICS_EVERY) {
                        let data = serde_json::json!({
                            "tokens_out": produced,
                            "queue_wait_ms": queue_wait_ms,
                            "elapsed_ms": started.elapsed().as_millis() as u64,
                        })
                        .to_string();
                        task.log.push(StreamEvent {
                            name: "metrics",
                            data,
                        });
                    }
                }
            }
        };
        drop(stream);
        let now = self.now_ms();
        let mut scheduler = lock(&pool.scheduler);
        match outcome {
            Outcome::Stopped => {}
            Outcome::Finished(finish_reason) => {
                if scheduler
                    .finish(task.key, EndReason::Completed, now)
                    .is_ok()
                {
                    let end = api_types::EndEvent {
                        tokens_in: task.tokens_in,
                        tokens_out: produced,
                        finish_reason,
                        queue_wait_ms,
                        ttft_ms: first_token_ms.unwrap_or_default(),
                        decode_ms: started.elapsed().as_millis() as u64,
                        seed: task.request.seed,
                        model: loaded.model.name.clone(),
                        replica_id: format!("{}-{replica}", pool.config.id),
                    };
                    let data = serde_json::to_string(&end).unwrap_or_default();
                    let terminal = StreamEvent { name: "end", data };
                    self.seal(&task, terminal, TaskState::Completed, Some(replica));
                }
            }
            Outcome::EngineFailed(message) => {
                if scheduler.finish(task.key, EndReason::Failed, now).is_ok() {
                    let terminal = error_event(ErrorCode::EngineError, &message, true);
                    self.seal(&task, terminal, TaskState::Failed, Some(replica));
                }
                drop(scheduler);
                self.replica_failed(&pool, replica, &message);
                scheduler = lock(&pool.scheduler);
            }
            Outcome::Timeout(code) => {
                if scheduler.finish(task.key, EndReason::Failed, now).is_ok() {
                    let message = match code {
                        ErrorCode::TimeoutWall => "the task ran longer than timeouts.task_wall_ms",
                        _ => "no token arrived within timeouts.token_idle_ms",
                    };
                    self.seal(
                        &task,
                        error_event(code, message, true),
                        TaskState::Failed,
                        Some(replica),
                    );
                }
            }
        }
        drop(scheduler);
        pool.wake.notify_one();
    }
}

enum Outcome {
    Finished(FinishReason),
    EngineFailed(String),
    Timeout(ErrorCode),
    /// The log was closed by someone else (cancel): the engine stream is dropped.
    Stopped,
}

fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Interactive => "interactive",
        Priority::Batch => "batch",
    }
}

fn budget_error(which: BudgetExhausted) -> ApiError {
    let what = match which {
        BudgetExhausted::Turns => "the session has no turn left",
        BudgetExhausted::Tokens => "the session has too few tokens left for this task",
    };
    ApiError::new(ErrorCode::SessionBudgetExhausted, what)
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
