//! The adapter contract suite against the built-in `sim` engine, and proof that each check
//! fails on an engine that breaks its part of the contract. `llamacpp.rs` runs the same suite
//! against a real llama.cpp server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use orchestratord::engine::{Engine, EngineEvent, Generate, SimEngine, SimSettings};

mod support;
use support::engine_contract as contract;

fn sim(settings: SimSettings) -> SimEngine {
    SimEngine::named("sim-small", settings)
}

#[spectrace::covers("ORCH-3056", "ORCH-3059", "ORCH-3060", kind = "test")]
#[tokio::test]
async fn sim_passes_the_adapter_contract() {
    let engine = sim(SimSettings {
        token_delay_ms: 1,
        ..SimSettings::default()
    });
    contract::health_and_identity(&engine).await.unwrap();
    contract::counts_prompt_tokens(&engine).await.unwrap();
    contract::streams_up_to_max_tokens(&engine).await.unwrap();
    for seed in [0, 1, 42, u64::MAX] {
        contract::same_seed_same_tokens(&engine, seed)
            .await
            .unwrap();
    }
    contract::cancel_frees_the_slot(&engine, 4, Duration::from_secs(5))
        .await
        .unwrap();
}

#[spectrace::covers("ORCH-3059", kind = "test")]
#[tokio::test]
async fn the_suite_fails_an_unhealthy_or_failing_engine() {
    let unhealthy = sim(SimSettings {
        fail_health_checks: true,
        ..SimSettings::default()
    });
    let error = contract::health_and_identity(&unhealthy).await.unwrap_err();
    assert!(error.contains("unhealthy"), "{error}");

    let failing = sim(SimSettings {
        fail_after_tokens: Some(3),
        ..SimSettings::default()
    });
    let error = contract::streams_up_to_max_tokens(&failing)
        .await
        .unwrap_err();
    assert!(error.contains("failed"), "{error}");
}

/// Wraps the sim engine and breaks one part of the contract.
struct Broken {
    inner: SimEngine,
    /// Give each generation another seed.
    forget_seed: bool,
    /// Keep a generation's only slot busy after its stream is dropped.
    leak_slot: Option<Arc<tokio::sync::Semaphore>>,
    calls: AtomicU64,
}

impl Broken {
    fn new(forget_seed: bool, leak_slot: bool) -> Self {
        Self {
            inner: sim(SimSettings::default()),
            forget_seed,
            leak_slot: leak_slot.then(|| Arc::new(tokio::sync::Semaphore::new(1))),
            calls: AtomicU64::new(0),
        }
    }
}

impl Engine for Broken {
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
    fn generate(&self, mut request: Generate) -> BoxStream<'static, EngineEvent> {
        if self.forget_seed {
            request.seed = self.calls.fetch_add(1, Ordering::Relaxed);
        }
        let tokens = self.inner.generate(request);
        let Some(slot) = self.leak_slot.clone() else {
            return tokens;
        };
        futures::stream::once(async move {
            let permit = slot.acquire_owned().await.unwrap();
            // The slot stays taken for an hour, whatever the consumer does.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(permit);
            });
            tokens
        })
        .flatten()
        .boxed()
    }
    fn health(&self) -> BoxFuture<'static, bool> {
        futures::future::ready(true).boxed()
    }
}

#[spectrace::covers("ORCH-3059", kind = "test")]
#[tokio::test]
async fn the_suite_fails_an_engine_that_ignores_the_seed() {
    let engine = Broken::new(true, false);
    let error = contract::same_seed_same_tokens(&engine, 7)
        .await
        .unwrap_err();
    assert!(error.contains("then"), "{error}");
}

#[spectrace::covers("ORCH-3059", kind = "test")]
#[tokio::test]
async fn the_suite_fails_an_engine_whose_cancel_keeps_the_slot() {
    let engine = Broken::new(false, true);
    let error = contract::cancel_frees_the_slot(&engine, 1, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(error.contains("slots stayed busy"), "{error}");
}
