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
