//! Engines behind one adapter interface (ORCH-3059): submit a task and receive its token
//! stream, cancel (by dropping the stream), health and version.
//!
//! The built-in [`SimEngine`] generates tokens from `(seed, prompt, temperature)` alone with the
//! core sampler, with a configurable per-token delay and fault injection (ORCH-3060).

use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use orchestrator_core::sampler::{SimSampler, count_prompt_tokens};
use sha2::{Digest, Sha256};

/// What an engine is asked to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Generate {
    /// The prompt.
    pub prompt: String,
    /// Tokens to generate at most.
    pub max_tokens: u64,
    /// Sampling seed.
    pub seed: u64,
    /// Sampling temperature.
    pub temperature: f64,
}

/// One item of an engine's token stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// A generated token.
    Token(String),
    /// The engine ended the text before `max_tokens` (finish reason `stop`).
    Stopped,
    /// The engine failed; the message says why.
    Failed(String),
}

/// The adapter interface every engine implements.
pub trait Engine: Send + Sync {
    /// `sim` or `llamacpp`.
    fn kind(&self) -> api_types::EngineKind;
    /// The engine's version.
    fn version(&self) -> String;
    /// `sha256:` and 64 hex digits identifying the model.
    fn model_digest(&self) -> String;
    /// Prompt length in tokens as this engine counts it.
    fn count_tokens(&self, prompt: &str) -> u64;
    /// Starts generating. The stream ends after `max_tokens` tokens, a `Stopped` or a `Failed`
    /// item; dropping it cancels the generation.
    fn generate(&self, request: Generate) -> BoxStream<'static, EngineEvent>;
    /// True when the engine can take work.
    fn health(&self) -> BoxFuture<'static, bool>;
}

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
}

/// The built-in deterministic engine.
#[derive(Debug, Clone)]
pub struct SimEngine {
    digest: String,
    settings: SimSettings,
}

impl SimEngine {
    /// A sim engine serving a model without a file; its digest is that of the name.
    pub fn new(model: impl Into<String>, settings: SimSettings) -> Self {
        Self {
            digest: digest_of(model.into().as_bytes()),
            settings,
        }
    }

    /// Loads `model`: when it names a file, the file must be readable (ORCH-3052) and, when a
    /// checksum is configured, match it (ORCH-3050); the digest is then the file's.
    pub fn load(
        model: &orchestrator_config::ModelConfig,
        settings: SimSettings,
    ) -> Result<Self, String> {
        let Some(path) = &model.path else {
            if model.sha256.is_some() {
                return Err(format!(
                    "model `{}` has a sha256 but no path to check it against",
                    model.name
                ));
            }
            return Ok(Self::new(model.name.clone(), settings));
        };
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read model file `{path}`: {e}"))?;
        let digest = digest_of(&bytes);
        if let Some(expected) = &model.sha256
            && digest != format!("sha256:{expected}")
        {
            return Err(format!(
                "model file `{path}` has SHA-256 {}, expected {expected}",
                digest.trim_start_matches("sha256:")
            ));
        }
        Ok(Self { digest, settings })
    }
}

/// `sha256:` and the hex SHA-256 of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
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
        let engine = SimEngine::new("sim-small", SimSettings::default());
        let a: Vec<_> = engine.generate(request(5)).collect().await;
        let b: Vec<_> = engine.generate(request(5)).collect().await;
        assert_eq!(a.len(), 5);
        assert_eq!(a, b);
        assert!(a.iter().all(|e| matches!(e, EngineEvent::Token(_))));
    }

    #[tokio::test]
    async fn fault_injection_fails_after_n_tokens() {
        let engine = SimEngine::new(
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

    #[tokio::test]
    async fn hang_after_n_tokens_never_ends() {
        let engine = SimEngine::new(
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

    #[test]
    fn model_digest_is_sha256_of_the_name() {
        let engine = SimEngine::new("abc", SimSettings::default());
        assert_eq!(
            engine.model_digest(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
