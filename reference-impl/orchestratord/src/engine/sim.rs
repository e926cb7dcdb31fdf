//! The built-in deterministic engine: tokens from `(seed, prompt, temperature)` alone with the
//! core sampler, with a configurable per-token delay and fault injection (ORCH-3060).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use orchestrator_core::sampler::{SimSampler, count_prompt_tokens};

use super::{Engine, EngineEvent, Generate, ModelArtifact};

/// Settings of the built-in engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimSettings {
    /// Delay before each token.
    pub token_delay_ms: u64,
    /// Fail the task after this many tokens.
    pub fail_after_tokens: Option<u64>,
    /// Stop producing tokens (without ending) after this many.
    pub hang_after_tokens: Option<u64>,
    /// Fail every health check.
    pub fail_health_checks: bool,
    /// After this many health checks, every further one never answers.
    pub hang_health_checks_after: Option<u64>,
}

/// The built-in deterministic engine.
#[derive(Debug, Clone)]
pub struct SimEngine {
    digest: String,
    settings: SimSettings,
    health_checks: Arc<AtomicU64>,
}

impl SimEngine {
    /// A sim engine serving a checked model (see [`ModelArtifact`]).
    pub fn new(artifact: &ModelArtifact, settings: SimSettings) -> Self {
        Self {
            digest: artifact.digest.clone(),
            settings,
            health_checks: Arc::default(),
        }
    }

    /// A sim engine serving a model without a file; its digest is that of the name.
    pub fn named(model: &str, settings: SimSettings) -> Self {
        Self {
            digest: super::digest_of(model.as_bytes()),
            settings,
            health_checks: Arc::default(),
        }
    }
}

impl Engine for SimEngine {
    fn kind(&self) -> api_types::EngineKind {
        api_types::EngineKind::Sim
    }

    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn model_digest(&self) -> String {
        self.digest.clone()
    }

    fn count_tokens(&self, prompt: &str) -> u64 {
        count_prompt_tokens(prompt)
    }

    fn generate(&self, request: Generate) -> BoxStream<'static, EngineEvent> {
        let settings = self.settings;
        let sampler = SimSampler::new(request.seed, &request.prompt, request.temperature);
        let limit = request.max_tokens;
        futures::stream::unfold((sampler, 0u64), move |(mut sampler, produced)| async move {
            if produced >= limit {
                return None;
            }
            if settings.hang_after_tokens.is_some_and(|n| produced >= n) {
                futures::future::pending::<()>().await;
            }
            if settings.fail_after_tokens.is_some_and(|n| produced >= n) {
                let message =
                    format!("sim engine failed after {produced} tokens (fault injection)");
                return Some((EngineEvent::Failed(message), (sampler, limit)));
            }
            if settings.token_delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(settings.token_delay_ms)).await;
            }
            let token = sampler.next().unwrap_or_default();
            Some((EngineEvent::Token(token), (sampler, produced + 1)))
        })
        .boxed()
    }

    fn health(&self) -> BoxFuture<'static, bool> {
        let checked = self.health_checks.fetch_add(1, Ordering::SeqCst);
        if self
            .settings
            .hang_health_checks_after
            .is_some_and(|n| checked >= n)
        {
            return futures::future::pending().boxed();
        }
        futures::future::ready(!self.settings.fail_health_checks).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(max_tokens: u64) -> Generate {
        Generate {
            prompt: "write a haiku".into(),
            max_tokens,
            seed: 7,
            temperature: 0.0,
        }
    }

    #[tokio::test]
    async fn sim_produces_exactly_max_tokens_deterministically() {
        let engine = SimEngine::named("sim-small", SimSettings::default());
        let a: Vec<_> = engine.generate(request(5)).collect().await;
        let b: Vec<_> = engine.generate(request(5)).collect().await;
        assert_eq!(a.len(), 5);
        assert_eq!(a, b);
        assert!(a.iter().all(|e| matches!(e, EngineEvent::Token(_))));
    }

    #[tokio::test]
    async fn fault_injection_fails_after_n_tokens() {
        let engine = SimEngine::named(
            "sim-small",
            SimSettings {
                fail_after_tokens: Some(2),
                ..SimSettings::default()
            },
        );
        let events: Vec<_> = engine.generate(request(5)).collect().await;
        assert_eq!(events.len(), 3);
        assert!(matches!(events[2], EngineEvent::Failed(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn health_checks_hang_after_n() {
        let engine = SimEngine::named(
            "sim-small",
            SimSettings {
                hang_health_checks_after: Some(2),
                ..SimSettings::default()
            },
        );
        assert!(engine.health().await);
        assert!(engine.health().await);
        let third = tokio::time::timeout(Duration::from_secs(3600), engine.health()).await;
        assert!(third.is_err(), "the third check never answers");
    }

    #[tokio::test]
    async fn hang_after_n_tokens_never_ends() {
        let engine = SimEngine::named(
            "sim-small",
            SimSettings {
                hang_after_tokens: Some(1),
                ..SimSettings::default()
            },
        );
        let mut stream = engine.generate(request(5));
        assert!(matches!(stream.next().await, Some(EngineEvent::Token(_))));
        let next = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(next.is_err(), "the second token never comes");
    }
}
