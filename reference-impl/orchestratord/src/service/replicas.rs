//! A pool's replicas: starting their engines (through an [`EngineStarter`]), health checks and
//! the self-test that turns a replica ready, the restart of a failed replica with backoff, and
//! the reload of a pool to another model.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::StreamExt;
use futures::future::BoxFuture;
use orchestrator_config::{EngineConfig, ModelConfig, PoolConfig};
use orchestrator_core::pool::EndReason;

use super::pool::{Loaded, Pool};
use super::{Service, ServiceError, lock};
use crate::engine::{self, Engine, EngineEvent, Generate, ModelArtifact};

/// Prompt of the replica self-test (ORCH-3064).
pub const SELF_TEST_PROMPT: &str = "orchestratord self-test";
/// How long a self-test may take.
pub const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(5);
/// First and last delay between restarts of a failed replica (ORCH-3044).
#[spectrace::implements("ORCH-3044")]
pub const RESTART_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(10));

/// The wait before the next try after one that failed: twice the last, at most the cap.
#[spectrace::implements("ORCH-3044")]
fn next_backoff(last: Duration) -> Duration {
    (last * 2).min(RESTART_BACKOFF.1)
}

/// Puts a reload's engines, started and checked, into the pool at once, as the next
/// generation, so that a replica restart that began before it cannot undo it.
#[spectrace::implements("ORCH-2102", "ORCH-3035")]
fn install(pool: &Pool, fresh: Loaded) -> Option<Arc<Loaded>> {
    let mut installed = None;
    pool.replace_loaded(|current| {
        let next = Arc::new(Loaded {
            generation: current.generation + 1,
            ..fresh
        });
        installed = Some(Arc::clone(&next));
        Some(next)
    });
    installed
}

/// Starts one replica's engine for a checked model. The server uses [`ConfiguredEngines`];
/// tests use starters they can hold or make fail.
pub trait EngineStarter: Send + Sync {
    /// Starts an engine for `pool` serving `artifact`; errors name the pool.
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>>;
}

/// Starts the engine the pool's configuration names ([`engine::start`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguredEngines;

impl EngineStarter for ConfiguredEngines {
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        let (pool, artifact) = (pool.clone(), artifact.clone());
        async move { engine::start(&pool, &artifact).await }.boxed()
    }
}

/// Generates one token with seed 0 from a fixed prompt; `Err` says why it failed.
#[spectrace::implements("ORCH-3064")]
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

/// Checks the model file once (ORCH-3050 – ORCH-3052), then starts every replica's engine.
pub(super) async fn load_all(
    starter: &dyn EngineStarter,
    pool: &PoolConfig,
    model: &ModelConfig,
) -> Result<Loaded, String> {
    let artifact = ModelArtifact::check(model)
        .await
        .map_err(|e| format!("pool {}: {e}", pool.id))?;
    let mut engines = Vec::new();
    for _ in 0..pool.replicas {
        engines.push(starter.start(pool, &artifact).await?);
    }
    Ok(Loaded {
        generation: 0,
        model: model.clone(),
        artifact,
        engines,
    })
}

impl Service {
    /// Loads `model` on every replica of the pool, then switches the whole pool at once
    /// (ORCH-2102, ORCH-3035); on any failure nothing changes and the reason is returned
    /// (ORCH-3036). A successful reload ends a drain (ORCH-3037).
    #[spectrace::implements("ORCH-2102", "ORCH-3035", "ORCH-3036", "ORCH-3037")]
    pub async fn reload(
        &self,
        pool_id: &str,
        model: ModelConfig,
    ) -> Result<Arc<Loaded>, ServiceError> {
        let pool = self.pool(pool_id)?;
        let fresh = match load_all(self.starter.as_ref(), &pool.config, &model).await {
            Ok(fresh) => fresh,
            Err(reason) => {
                self.logger.log(
                    "warn",
                    "reload failed",
                    serde_json::Map::from_iter([
                        ("pool".to_owned(), serde_json::json!(pool_id)),
                        ("reason".to_owned(), serde_json::json!(reason)),
                    ]),
                );
                return Err(ServiceError::ReloadFailed { reason });
            }
        };
        let Some(loaded) = install(pool, fresh) else {
            return Err(ServiceError::ReloadFailed {
                reason: "the new model could not be installed".to_owned(),
            });
        };
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
        Ok(loaded)
    }

    /// Runs the self-test on every replica of every pool (ORCH-3065): `(replica id, result)`.
    #[spectrace::implements("ORCH-3065")]
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
    #[spectrace::implements("ORCH-3002", "ORCH-3015")]
    pub async fn check_health(&self) {
        for pool in self.pools.values() {
            self.check_pool(pool).await;
        }
    }

    #[spectrace::implements("ORCH-3015", "ORCH-3064")]
    async fn check_pool(&self, pool: &Pool) {
        for (replica, engine) in pool.loaded().engines.iter().enumerate() {
            if lock(&pool.restarting).contains(&replica) {
                continue;
            }
            let was_ready = pool
                .scheduler()
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
            pool.scheduler().set_ready(replica, ready);
        }
        pool.wake.notify_one();
    }

    /// The replica's engine failed: every task running on it ends with `ENGINE_ERROR`, the
    /// replica turns unready and is restarted with exponential backoff until a new engine is
    /// healthy and passes its self-test (ORCH-3043, ORCH-3044).
    pub(super) fn replica_failed(self: &Arc<Self>, pool: &Arc<Pool>, replica: usize, reason: &str) {
        {
            let mut scheduler = pool.scheduler();
            scheduler.set_ready(replica, false);
            for ended in scheduler.end_replica(replica, EndReason::Failed, self.now_ms()) {
                self.close_ended(&mut scheduler, &pool.config.id, ended);
            }
        }
        self.log_replica(pool, replica, "replica failed", reason);
        if !lock(&pool.restarting).insert(replica) {
            return;
        }
        let (service, pool) = (Arc::clone(self), Arc::clone(pool));
        tokio::spawn(async move { service.restart(&pool, replica).await });
    }

    /// A new engine for `artifact` that is healthy and passes its self-test; else what failed
    /// (the log's event) and why.
    #[spectrace::implements("ORCH-3035", "ORCH-3044")]
    async fn start_checked(
        &self,
        pool: &Pool,
        artifact: &ModelArtifact,
    ) -> Result<Arc<dyn Engine>, (&'static str, String)> {
        let engine = self
            .starter
            .start(&pool.config, artifact)
            .await
            .map_err(|reason| ("restart failed", reason))?;
        if !engine.health().await {
            return Err(("restart failed", "unhealthy".to_owned()));
        }
        self_test(engine.as_ref())
            .await
            .map_err(|reason| ("restart self-test failed", reason))?;
        Ok(engine)
    }

    /// Restarts a failed replica until a new engine is healthy and passes its self-test,
    /// waiting [`RESTART_BACKOFF`] between tries, doubling up to its cap. The new engine goes
    /// into the pool's current [`Loaded`] only if no reload happened while it started;
    /// otherwise it is dropped and the replica is started again for the reloaded model.
    #[spectrace::implements("ORCH-3035", "ORCH-3044")]
    async fn restart(&self, pool: &Arc<Pool>, replica: usize) {
        let mut backoff = RESTART_BACKOFF.0;
        loop {
            tokio::time::sleep(backoff).await;
            let started_from = pool.loaded();
            let engine = match self.start_checked(pool, &started_from.artifact).await {
                Ok(engine) => engine,
                Err((what, reason)) => {
                    self.log_replica(pool, replica, what, &reason);
                    backoff = next_backoff(backoff);
                    continue;
                }
            };
            let installed = pool.replace_loaded(|current| {
                if current.generation != started_from.generation {
                    return None;
                }
                let mut engines = current.engines.clone();
                *engines.get_mut(replica)? = engine;
                Some(Arc::new(Loaded {
                    generation: current.generation,
                    model: current.model.clone(),
                    artifact: current.artifact.clone(),
                    engines,
                }))
            });
            if !installed {
                // A reload replaced the model meanwhile: start again, for the new one, without
                // a failure's backoff.
                self.log_replica(pool, replica, "restart superseded", "the pool was reloaded");
                backoff = RESTART_BACKOFF.0;
                continue;
            }
            lock(&pool.restarting).remove(&replica);
            pool.scheduler().set_ready(replica, true);
            pool.wake.notify_one();
            self.log_replica(pool, replica, "replica restarted", "ready again");
            return;
        }
    }

    #[spectrace::implements("ORCH-3015", "ORCH-3046")]
    pub(super) async fn health_loop(self: Arc<Self>, pool: Arc<Pool>) {
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
}
