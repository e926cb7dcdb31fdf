//! Reload × restart × drain: every order of the three operations' steps, each engine start an
//! await point the test opens, under a paused tokio clock. After all have completed the pool
//! serves the reload's model and artifact on every replica, a drain still in force admits
//! nothing, and every task admitted along the way has ended exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use orchestrator_config::{EngineConfig, ModelConfig, PoolConfig};

use super::{all_events, config, ready_service_with, request};
use crate::engine::{self, Engine, ModelArtifact, digest_of};
use crate::service::{EngineStarter, ServiceError};

/// Starts sim engines; a start for a model whose digest is closed waits until it is opened.
struct GatedStarter {
    closed: tokio::sync::watch::Sender<BTreeSet<String>>,
}

impl EngineStarter for Arc<GatedStarter> {
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        let mut closed = self.closed.subscribe();
        let (pool, artifact) = (pool.clone(), artifact.clone());
        async move {
            closed
                .wait_for(|closed| !closed.contains(&artifact.digest))
                .await
                .map_err(|e| e.to_string())?;
            engine::start(&pool, &artifact).await
        }
        .boxed()
    }
}

/// One step of one of the three operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The reload to `sim-large` begins; its engine starts wait until [`Step::ReloadStarts`].
    Reload,
    /// The reload's engine starts go on.
    ReloadStarts,
    /// Replica 1 fails; its restart's engine start for `sim-small` waits until
    /// [`Step::RestartStarts`] (a start for `sim-large` waits for [`Step::ReloadStarts`]).
    Fail,
    /// Engine starts for `sim-small` go on.
    RestartStarts,
    /// The pool is drained, with a deadline far beyond the test.
    Drain,
}

const STEPS: [Step; 5] = [
    Step::Reload,
    Step::ReloadStarts,
    Step::Fail,
    Step::RestartStarts,
    Step::Drain,
];

/// Every order of `steps`.
fn orders(steps: &[Step]) -> Vec<Vec<Step>> {
    if steps.is_empty() {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, first) in steps.iter().enumerate() {
        let mut rest = steps.to_vec();
        rest.remove(i);
        for mut tail in orders(&rest) {
            tail.insert(0, *first);
            out.push(tail);
        }
    }
    out
}

/// Time for whatever a step set going to settle (restart backoff, sim tokens).
const SETTLE: Duration = Duration::from_millis(500);

/// Runs one order; returns the broken invariant, if any.
async fn run(order: &[Step]) -> Result<(), String> {
    let mut config = config();
    config.pools[0].replicas = 3;
    if let EngineConfig::Sim { token_delay_ms, .. } = &mut config.pools[0].engine {
        *token_delay_ms = 20;
    }
    let starter = Arc::new(GatedStarter {
        closed: tokio::sync::watch::Sender::new(BTreeSet::new()),
    });
    let service = ready_service_with(config, Arc::new(Arc::clone(&starter))).await;
    service.start();
    let pool = Arc::clone(&service.pools()["default"]);
    let (small, large) = (digest_of(b"sim-small"), digest_of(b"sim-large"));
    starter
        .closed
        .send_replace(BTreeSet::from([small.clone(), large.clone()]));

    // Tasks in flight while the operations run.
    let mut admitted: Vec<String> = (0..2)
        .map(|_| service.enqueue(request(10)).map(|a| a.task_id))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("enqueue before the operations: {e:?}"))?;
    let mut reload = None;
    let mut drain_in_force = false;
    let mut installed = false;
    for step in order {
        match step {
            Step::Reload => {
                let service = Arc::clone(&service);
                let model = ModelConfig {
                    name: "sim-large".to_owned(),
                    path: None,
                    sha256: None,
                };
                reload = Some(tokio::spawn(async move {
                    service.reload("default", model).await.map(|_| ())
                }));
            }
            Step::ReloadStarts => {
                starter.closed.send_modify(|closed| {
                    closed.remove(&large);
                });
            }
            Step::Fail => service.replica_failed(&pool, 1, "the test failed it"),
            Step::RestartStarts => {
                starter.closed.send_modify(|closed| {
                    closed.remove(&small);
                });
            }
            Step::Drain => {
                service
                    .drain("default", 3_600_000)
                    .map_err(|e| format!("drain: {e:?}"))?;
                drain_in_force = true;
            }
        }
        tokio::time::sleep(SETTLE).await;
        // A reload that completes ends a drain begun before it (ORCH-3037).
        if !installed && pool.loaded().model.name == "sim-large" {
            installed = true;
            drain_in_force = false;
        }
        match (service.enqueue(request(4)), drain_in_force) {
            (Err(ServiceError::Draining { .. }), true) => {}
            (Ok(a), true) => {
                return Err(format!(
                    "after {step:?}: a drained pool admitted {}",
                    a.task_id
                ));
            }
            (Err(e), true) => return Err(format!("after {step:?}: a drained pool answered {e:?}")),
            (Ok(a), false) => admitted.push(a.task_id),
            (Err(e), false) => return Err(format!("after {step:?}: refused {e:?}")),
        }
    }
    let reload = reload.ok_or("no reload step")?;
    reload
        .await
        .map_err(|e| format!("the reload panicked: {e}"))?
        .map_err(|e| format!("the reload failed: {e:?}"))?;
    for _ in 0..100 {
        if pool.scheduler().replicas().iter().all(|r| r.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let loaded = pool.loaded();
    if loaded.model.name != "sim-large" || loaded.artifact.digest != large {
        return Err(format!(
            "the pool serves {} after the reload",
            loaded.model.name
        ));
    }
    for (replica, engine) in loaded.engines.iter().enumerate() {
        if engine.model_digest() != large {
            return Err(format!("replica {replica} runs the old artifact"));
        }
    }
    if !pool.scheduler().replicas().iter().all(|r| r.0) {
        return Err("a replica never turned ready again".to_owned());
    }
    match (service.enqueue(request(4)), drain_in_force) {
        (Err(ServiceError::Draining { .. }), true) => {}
        (other, true) => return Err(format!("a drained pool answered {other:?}")),
        (Ok(a), false) => admitted.push(a.task_id),
        (Err(e), false) => return Err(format!("refused at the end: {e:?}")),
    }
    for id in admitted {
        let task = service.task(&id).ok_or(format!("task {id} is gone"))?;
        let events = all_events(&task).await;
        let terminals = events
            .iter()
            .filter(|e| matches!(e.name, "end" | "error"))
            .count();
        if terminals != 1 || !matches!(events.last().map(|e| e.name), Some("end" | "error")) {
            return Err(format!("task {id} ended {terminals} times"));
        }
    }
    Ok(())
}

/// Every one of the 120 orders of the five steps keeps the invariants.
#[spectrace::covers("ORCH-3035", "ORCH-3037")]
#[tokio::test(start_paused = true)]
async fn reload_restart_and_drain_keep_their_invariants_in_every_order() {
    let orders = orders(&STEPS);
    assert_eq!(orders.len(), 120);
    let mut broken = Vec::new();
    for order in &orders {
        if let Err(reason) = run(order).await {
            broken.push(format!("{order:?}: {reason}"));
        }
    }
    assert!(
        broken.is_empty(),
        "{} orders broke an invariant:\n{}",
        broken.len(),
        broken.join("\n")
    );
}
