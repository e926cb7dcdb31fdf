//! The orchestrator service, independent of HTTP: pools with their schedulers and engines, the
//! task registry, sessions, and the operations the API exposes (admit, cancel, read, stream).
//! This module owns the [`Service`] value, its construction, start-up of the background loops,
//! and shutdown; each operation lives in the part that owns it:
//!
//! - [`admission`]: validating and admitting a task (enqueue).
//! - [`dispatch`]: the per-pool dispatcher and running one task on its replica.
//! - [`pool`]: a pool at run time, its loaded model, drain, health and replica sets.
//! - [`replicas`]: starting engines, health checks, self-tests, restart after a failure, reload.
//! - [`tasks`]: the task registry, reading, cancelling and streaming a task, ending it once.
//! - [`telemetry`]: log lines, metrics and API names.
//! - [`error`]: [`ServiceError`], why an operation was refused (the HTTP layer maps it).
//!
//! # Lock order
//!
//! 1. a pool's `scheduler`;
//! 2. the task registry;
//! 3. one task's own locks (its event log, its end time, its stream claim).
//!
//! A lock is only taken while holding locks that come before it in this list. The remaining
//! locks are leaves, taken alone or under the scheduler and released before any other lock is
//! taken: a pool's `drain` deadline, its `loaded` model, its `restarting` set, the sessions and
//! the key counter. Whoever moves a task to a terminal state in the scheduler appends its
//! terminal event while still holding the scheduler lock, so each task gets exactly one
//! terminal event.

pub mod admission;
pub mod dispatch;
pub mod error;
pub mod pool;
pub mod replicas;
pub mod tasks;
pub mod telemetry;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use orchestrator_config::Config;
use orchestrator_core::Priority;
use orchestrator_core::pool::{EndReason, PoolScheduler};
use orchestrator_core::queue::QueueSettings;
use orchestrator_core::sessions::{SessionLimits, Sessions};

use crate::auth::Keys;
use crate::log::Logger;
use crate::metrics::Metrics;

pub use admission::{Admitted, EnqueueRequest};
pub use error::ServiceError;
pub use pool::{Loaded, Pool};
pub use replicas::{
    ConfiguredEngines, EngineStarter, RESTART_BACKOFF, SELF_TEST_PROMPT, SELF_TEST_TIMEOUT,
    self_test,
};
pub use tasks::{Task, error_event};
pub use telemetry::{api_policy, api_priority};

/// API version reported in capabilities (ORCH-3053).
#[spectrace::implements("ORCH-3053")]
pub const API_VERSION: &str = "1.0.0";
/// How long an ended task stays readable (ORCH-2011).
pub const RETENTION: Duration = Duration::from_secs(300);
/// How often ended tasks and expired sessions are swept.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// A `metrics` event follows every this many tokens.
pub const METRICS_EVERY: u64 = 16;

/// Locks a mutex; a panic elsewhere while it was held does not make it unusable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The whole service.
pub struct Service {
    config: Config,
    pools: BTreeMap<String, Arc<Pool>>,
    tasks: Mutex<tasks::Registry>,
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
    starter: Arc<dyn EngineStarter>,
}

impl Service {
    /// Builds the service from a validated configuration, starting each replica's engine as
    /// the configuration says. Replicas start unready until their first health check passes.
    /// Errors name the pool.
    pub async fn new(
        config: Config,
        control_keys: Keys,
        logger: Logger,
    ) -> Result<Arc<Self>, String> {
        Self::with_starter(config, control_keys, logger, Arc::new(ConfiguredEngines)).await
    }

    /// [`Service::new`] with engines started by `starter` (at start-up, on reload and on every
    /// restart of a failed replica).
    #[spectrace::implements("ORCH-3001")]
    pub async fn with_starter(
        config: Config,
        control_keys: Keys,
        logger: Logger,
        starter: Arc<dyn EngineStarter>,
    ) -> Result<Arc<Self>, String> {
        let data_keys = Keys::resolve(&config.auth.data_keys)?;
        let mut pools = BTreeMap::new();
        for pool in &config.pools {
            if pools.contains_key(&pool.id) {
                return Err(format!("pool id `{}` is used twice", pool.id));
            }
            let replicas = pool.replicas as usize;
            let loaded = replicas::load_all(starter.as_ref(), pool, &pool.model).await?;
            let settings = QueueSettings {
                capacity_interactive: pool.queue.capacity.interactive as usize,
                capacity_batch: pool.queue.capacity.batch as usize,
                policy: telemetry::core_policy(pool.queue.full_policy),
                batch_every: pool.queue.batch_every,
            };
            // Replicas start unready; `check_health` turns them ready.
            let scheduler = PoolScheduler::new(settings, replicas, pool.slots as usize, 1000);
            pools.insert(
                pool.id.clone(),
                Arc::new(Pool::new(pool, loaded, scheduler)),
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
            tasks: Mutex::new(tasks::Registry::default()),
            sessions: Mutex::new(sessions),
            next_key: Mutex::new(0),
            started: Instant::now(),
            metrics,
            control_keys,
            data_keys,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            logger,
            starter,
        }))
    }

    /// True once a shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Graceful shutdown (ORCH-3032): stops admitting, lets queued and running tasks finish for
    /// up to `drain`, then ends the rest with `SHUTTING_DOWN`.
    #[spectrace::implements("ORCH-3032")]
    pub async fn shut_down(&self, drain: Duration) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.logger
            .log("info", "shutting down", serde_json::Map::new());
        // Tokio's clock, so that a test with a paused clock sees the drain it asked for.
        let deadline = tokio::time::Instant::now() + drain;
        while tokio::time::Instant::now() < deadline && self.open_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for pool in self.pools.values() {
            let mut scheduler = pool.scheduler();
            for ended in scheduler.end_all(EndReason::Shutdown, self.now_ms()) {
                self.close_ended(&mut scheduler, &pool.config.id, ended);
            }
        }
    }

    fn open_tasks(&self) -> usize {
        self.pools
            .values()
            .map(|pool| {
                let scheduler = pool.scheduler();
                scheduler.running()
                    + scheduler.queue_depth(Priority::Interactive)
                    + scheduler.queue_depth(Priority::Batch)
            })
            .sum()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every pool, by id.
    pub fn pools(&self) -> &BTreeMap<String, Arc<Pool>> {
        &self.pools
    }

    /// The pool with this id, or why not (control plane).
    fn pool(&self, pool_id: &str) -> Result<&Arc<Pool>, ServiceError> {
        self.pools
            .get(pool_id)
            .ok_or_else(|| ServiceError::NoSuchPool {
                pool: pool_id.to_owned(),
            })
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Starts one dispatcher and one health checker per pool, and the sweep of ended tasks and
    /// expired sessions; they run until the runtime stops.
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
}
