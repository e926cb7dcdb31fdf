//! Cancel ends the engine's work at once: the run drops the engine's stream as soon as the
//! task is cancelled, even when the engine sends nothing more.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use orchestrator_config::PoolConfig;
use orchestrator_core::lifecycle::TaskState;

use super::{config, ready_service_with, request};
use crate::engine::{Engine, EngineEvent, Generate, ModelArtifact, SimEngine, SimSettings};
use crate::service::EngineStarter;

/// Counts the generation streams that were dropped.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A sim engine that sends one token and then nothing, ever, and counts dropped streams.
struct SilentAfterOneToken {
    inner: SimEngine,
    dropped: Arc<AtomicUsize>,
}

impl Engine for SilentAfterOneToken {
    fn kind(&self) -> api_types::EngineKind {
        self.inner.kind()
    }
    fn version(&self) -> String {
        self.inner.version()
    }
    fn model_digest(&self) -> String {
        self.inner.model_digest()
    }
    fn count_tokens(&self, prompt: &str) -> u64 {
        self.inner.count_tokens(prompt)
    }
    fn generate(&self, request: Generate) -> BoxStream<'static, EngineEvent> {
        let guard = DropCounter(Arc::clone(&self.dropped));
        self.inner
            .generate(request)
            .map(move |event| {
                let _alive = &guard;
                event
            })
            .boxed()
    }
    fn health(&self) -> BoxFuture<'static, bool> {
        self.inner.health()
    }
}

/// Starts [`SilentAfterOneToken`] engines counting into the one counter.
pub(super) struct Starter(pub(super) Arc<AtomicUsize>);

impl EngineStarter for Starter {
    fn start(
        &self,
        _pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        let engine: Arc<dyn Engine> = Arc::new(SilentAfterOneToken {
            inner: SimEngine::new(
                artifact,
                SimSettings {
                    hang_after_tokens: Some(1),
                    ..SimSettings::default()
                },
            ),
            dropped: Arc::clone(&self.0),
        });
        futures::future::ready(Ok(engine)).boxed()
    }
}

#[spectrace::covers("ORCH-3025", "ORCH-3062")]
#[tokio::test(start_paused = true)]
async fn a_cancel_drops_the_engine_stream_without_waiting_for_another_token() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let service = ready_service_with(config(), Arc::new(Starter(Arc::clone(&dropped)))).await;
    // The self-test's stream (one token) has been dropped already.
    let before = dropped.load(Ordering::SeqCst);
    service.start();
    let admitted = service.enqueue(request(10)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(service.open_stream(&task));
    assert_eq!(task.log.next(0).await.map(|e| e.name), Some("token"));
    // The engine now sends nothing more; its stream is still held by the run.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(dropped.load(Ordering::SeqCst), before);

    assert_eq!(service.cancel_task(&task), TaskState::Cancelled);
    // Well before token_idle_ms (30 s) could end the run.
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        before + 1,
        "the run dropped the engine stream at the cancel"
    );
}
