//! Replica restarts, reloads and health under engines the test controls: a start that can be
//! held, starts that fail a number of times, and engines whose health never answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use orchestrator_config::{ModelConfig, PoolConfig};
use tokio::sync::Semaphore;

use super::{config, ready_service_with};
use crate::engine::{self, Engine, ModelArtifact, digest_of};
use crate::service::EngineStarter;

/// Starts sim engines; a start for the model named in `hold` waits until the test releases it.
pub(super) struct HeldStarter {
    hold: Mutex<Option<String>>,
    gate: Arc<Semaphore>,
    waiting: AtomicUsize,
}

impl Default for HeldStarter {
    fn default() -> Self {
        Self {
            hold: Mutex::new(None),
            gate: Arc::new(Semaphore::new(0)),
            waiting: AtomicUsize::new(0),
        }
    }
}

impl HeldStarter {
    /// From now on, starts for the model whose digest is `digest` wait for [`Self::release`].
    fn hold(&self, digest: String) {
        *self.hold.lock().unwrap() = Some(digest);
    }

    /// Lets every held start go on.
    fn release(&self) {
        *self.hold.lock().unwrap() = None;
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

impl EngineStarter for Arc<HeldStarter> {
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        let held = self.hold.lock().unwrap().as_ref() == Some(&artifact.digest);
        let (pool, artifact, this) = (pool.clone(), artifact.clone(), Arc::clone(self));
        async move {
            if held {
                this.waiting.fetch_add(1, Ordering::SeqCst);
                let _permit = this.gate.acquire().await.map_err(|e| e.to_string())?;
                this.waiting.fetch_sub(1, Ordering::SeqCst);
            }
            engine::start(&pool, &artifact).await
        }
        .boxed()
    }
}

fn model(name: &str) -> ModelConfig {
    ModelConfig {
        name: name.to_owned(),
        path: None,
        sha256: None,
    }
}

/// A reload that completes while a failed replica's restart is still starting its engine
/// survives that restart: the pool keeps the new model, the new artifact and every replica's
/// new engine, and the restarted replica serves the new model too.
#[spectrace::covers("ORCH-2102", "ORCH-3035")]
#[tokio::test(start_paused = true)]
async fn a_restart_that_outlives_a_reload_does_not_undo_it() {
    let mut config = config();
    config.pools[0].replicas = 3;
    let starter = Arc::new(HeldStarter::default());
    let service = ready_service_with(config, Arc::new(Arc::clone(&starter))).await;
    let pool = Arc::clone(&service.pools()["default"]);
    let old = digest_of(b"sim-small");
    let new = digest_of(b"sim-large");
    assert_eq!(pool.loaded().artifact.digest, old);

    // Replica 1 fails; its restart waits in the engine start for the old model.
    starter.hold(old.clone());
    service.replica_failed(&pool, 1, "the test failed it");
    while starter.waiting() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Meanwhile a reload to another model completes.
    let reloaded = service.reload("default", model("sim-large")).await.unwrap();
    assert_eq!(reloaded.model.name, "sim-large");
    let installed: Vec<Arc<dyn Engine>> = pool.loaded().engines.clone();

    // The restart goes on and ends.
    starter.release();
    while !pool.scheduler().replicas()[1].0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let loaded = pool.loaded();
    assert_eq!(loaded.model.name, "sim-large", "the reload's model stays");
    assert_eq!(loaded.artifact.digest, new, "the reload's artifact stays");
    assert_eq!(loaded.engines.len(), 3);
    for (replica, engine) in loaded.engines.iter().enumerate() {
        assert_eq!(
            engine.model_digest(),
            new,
            "replica {replica} serves the new model"
        );
    }
    for replica in [0, 2] {
        assert!(
            Arc::ptr_eq(&loaded.engines[replica], &installed[replica]),
            "replica {replica} keeps the engine the reload started"
        );
    }
    assert!(pool.scheduler().replicas().iter().all(|r| r.0));
    assert_eq!(service.replica_sets().replica_sets[0].model, "sim-large");
}

/// Starts sim engines, but fails the next `fail` starts, or the `n`th start of one model;
/// records when each start began (on the tokio clock, which the tests pause).
#[derive(Default)]
struct FailingStarter {
    fail: AtomicUsize,
    fail_nth_of: Mutex<Option<(String, usize)>>,
    started_at: Mutex<Vec<tokio::time::Instant>>,
}

impl EngineStarter for Arc<FailingStarter> {
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        self.started_at
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        let mut failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if let Some((digest, nth)) = self.fail_nth_of.lock().unwrap().as_mut()
            && *digest == artifact.digest
        {
            *nth -= 1;
            failing |= *nth == 0;
        }
        let (pool, artifact) = (pool.clone(), artifact.clone());
        async move {
            if failing {
                Err(format!("pool {}: the test fails this start", pool.id))
            } else {
                engine::start(&pool, &artifact).await
            }
        }
        .boxed()
    }
}

/// A replica whose restarts fail 9 times waits 100, 200, 400 … ms between tries, capped at
/// 10 s, and turns ready after the first start that succeeds.
#[spectrace::covers("ORCH-3044")]
#[tokio::test(start_paused = true)]
async fn restarts_back_off_exponentially_up_to_the_cap() {
    let starter = Arc::new(FailingStarter::default());
    let service = ready_service_with(config(), Arc::new(Arc::clone(&starter))).await;
    let pool = Arc::clone(&service.pools()["default"]);
    starter.started_at.lock().unwrap().clear();
    starter.fail.store(9, Ordering::SeqCst);

    let failed_at = tokio::time::Instant::now();
    service.replica_failed(&pool, 0, "the test failed it");
    assert!(!pool.scheduler().replicas()[0].0, "unready at once");
    while !pool.scheduler().replicas()[0].0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }

    let started_at = starter.started_at.lock().unwrap().clone();
    let mut previous = failed_at;
    let waits: Vec<u128> = started_at
        .iter()
        .map(|at| {
            let wait = at.duration_since(previous).as_millis();
            previous = *at;
            wait
        })
        .collect();
    assert_eq!(
        waits,
        [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000],
        "9 failed starts, then one that succeeds"
    );
    assert!(pool.scheduler().replicas()[0].0, "ready after its restart");
}

/// A reload across three replicas in which the second replica's engine fails to start changes
/// nothing: the pool keeps the very same model and engines on every replica and keeps serving;
/// a reload in which every replica starts switches all three at once.
#[spectrace::covers("ORCH-2102", "ORCH-3035", "ORCH-3036")]
#[tokio::test]
async fn a_reload_with_one_replica_failing_to_start_changes_no_replica() {
    let mut config = config();
    config.pools[0].replicas = 3;
    let starter = Arc::new(FailingStarter::default());
    let service = ready_service_with(config, Arc::new(Arc::clone(&starter))).await;
    service.start();
    let pool = Arc::clone(&service.pools()["default"]);
    let before = pool.loaded();
    let (old, new) = (digest_of(b"sim-small"), digest_of(b"sim-large"));

    *starter.fail_nth_of.lock().unwrap() = Some((new.clone(), 2));
    let Err(failed) = service.reload("default", model("sim-large")).await else {
        panic!("a replica failed to start, so the reload fails")
    };
    assert!(
        failed.to_string().contains("the test fails this start"),
        "{failed}"
    );
    let after = pool.loaded();
    assert!(Arc::ptr_eq(&before, &after), "nothing was switched");
    assert!(after.engines.iter().all(|e| e.model_digest() == old));
    assert_eq!(service.pool_health("default").unwrap().model, "sim-small");
    // Still serving, on the old model.
    let admitted = service.enqueue(super::request(3)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(service.open_stream(&task));
    let events = super::all_events(&task).await;
    let end = events.last().unwrap();
    assert_eq!(end.name, "end");
    assert!(end.data.contains("\"model\":\"sim-small\""), "{}", end.data);

    *starter.fail_nth_of.lock().unwrap() = None;
    let reloaded = service.reload("default", model("sim-large")).await.unwrap();
    assert_eq!(reloaded.engines.len(), 3);
    assert!(reloaded.engines.iter().all(|e| e.model_digest() == new));
    for (replica, engine) in reloaded.engines.iter().enumerate() {
        assert!(
            !Arc::ptr_eq(engine, &before.engines[replica]),
            "replica {replica} got a new engine"
        );
    }
}
