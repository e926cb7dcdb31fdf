//! A pool at run time: its configuration, the model and engines it serves now ([`Loaded`]),
//! its scheduler, its drain, and the read-only views the control plane reports (pool health,
//! replica sets, readiness).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use orchestrator_config::PoolConfig;
use orchestrator_core::Priority;
use orchestrator_core::pool::{EndReason, PoolScheduler};
use tokio::sync::Notify;

use super::{Service, ServiceError, lock};
use crate::engine::{Engine, ModelArtifact};

/// One pool at run time.
pub struct Pool {
    /// The pool's configuration.
    pub config: PoolConfig,
    loaded: RwLock<Arc<Loaded>>,
    scheduler: Mutex<PoolScheduler>,
    /// Wakes the pool's dispatcher: new work, a freed slot, a replica turned ready.
    pub(super) wake: Notify,
    /// When draining, the drain's deadline.
    pub(super) drain: Mutex<Option<Instant>>,
    /// Replicas being restarted after a failure.
    pub(super) restarting: Mutex<BTreeSet<usize>>,
}

/// The model a pool serves now and one engine per replica serving it. A reload replaces the
/// whole value at once (ORCH-2102); a running task keeps the `Arc` it started with (ORCH-3035).
/// A restarted replica's engine is installed into the current value only when it was started
/// for the same generation.
#[spectrace::implements("ORCH-2102", "ORCH-3035")]
pub struct Loaded {
    /// Counts the reloads of the pool: 0 for the model it started with, one more per reload.
    pub generation: u64,
    /// The model.
    pub model: orchestrator_config::ModelConfig,
    /// The model's checked file and digest.
    pub artifact: ModelArtifact,
    /// One engine per replica.
    pub engines: Vec<Arc<dyn Engine>>,
}

impl Pool {
    pub(super) fn new(config: &PoolConfig, loaded: Loaded, scheduler: PoolScheduler) -> Self {
        Self {
            config: config.clone(),
            loaded: RwLock::new(Arc::new(loaded)),
            scheduler: Mutex::new(scheduler),
            wake: Notify::new(),
            drain: Mutex::new(None),
            restarting: Mutex::new(BTreeSet::new()),
        }
    }

    /// The model and engines in force.
    pub fn loaded(&self) -> Arc<Loaded> {
        Arc::clone(&self.loaded.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the model and engines in force with what `change` makes of the current value,
    /// in one step: nothing else can replace them in between. `change` returns `None` to keep
    /// the current value; the result says whether it was replaced.
    pub(super) fn replace_loaded(
        &self,
        change: impl FnOnce(&Arc<Loaded>) -> Option<Arc<Loaded>>,
    ) -> bool {
        let mut slot = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        match change(&slot) {
            Some(next) => {
                *slot = next;
                true
            }
            None => false,
        }
    }

    /// The pool's scheduler, locked (first in the lock order).
    pub(super) fn scheduler(&self) -> MutexGuard<'_, PoolScheduler> {
        lock(&self.scheduler)
    }
}

impl Service {
    /// Closes a pool to new tasks until `deadline_ms` from now, then ends whatever is still open
    /// with `DRAIN_DEADLINE` (ORCH-2101). A second drain keeps the first deadline. Returns the
    /// deadline in force, in milliseconds from now.
    #[spectrace::implements("ORCH-2101")]
    pub fn drain(self: &Arc<Self>, pool_id: &str, deadline_ms: u64) -> Result<u64, ServiceError> {
        let pool = self.pool(pool_id)?;
        let mut drain = lock(&pool.drain);
        if let Some(existing) = *drain {
            return Ok(existing
                .saturating_duration_since(Instant::now())
                .as_millis() as u64);
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
            let mut scheduler = pool.scheduler();
            for ended in scheduler.end_all(EndReason::Drained, service.now_ms()) {
                service.close_ended(&mut scheduler, &pool.config.id, ended);
            }
        });
        Ok(deadline_ms)
    }

    /// A pool's health (ORCH-2103). Reads only the scheduler and the loaded model: it never
    /// waits on an engine.
    #[spectrace::implements("ORCH-2103", "ORCH-3046")]
    pub fn pool_health(&self, pool_id: &str) -> Result<api_types::PoolHealth, ServiceError> {
        let pool = self.pool(pool_id)?;
        let scheduler = pool.scheduler();
        let replicas = scheduler.replicas();
        let drain = *lock(&pool.drain);
        let loaded = pool.loaded();
        let engine = loaded.engines.first();
        Ok(api_types::PoolHealth {
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
    #[spectrace::implements("ORCH-2104", "ORCH-3051", "ORCH-3063")]
    pub fn replica_sets(&self) -> api_types::ReplicaSets {
        let replica_sets = self
            .pools
            .iter()
            .map(|(id, pool)| {
                let loaded = pool.loaded();
                let engine = loaded.engines.first();
                let replicas = pool
                    .scheduler()
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

    /// Pools with no ready replica (readiness, ORCH-2105).
    #[spectrace::implements("ORCH-2105", "ORCH-3016")]
    pub fn pools_not_ready(&self) -> Vec<String> {
        self.pools
            .iter()
            .filter(|(_, pool)| !pool.scheduler().any_ready())
            .map(|(id, _)| id.clone())
            .collect()
    }
}
