//! Engines behind one adapter interface (ORCH-3059): submit a task and receive its token
//! stream, cancel (by dropping the stream), count prompt tokens, health and version.
//!
//! - [`sim`]: the built-in deterministic engine, with delay and fault injection (ORCH-3060).
//! - [`llamacpp`]: a real llama.cpp server over HTTP.
//! - [`artifact`]: the model file checks every engine passes before it loads (ORCH-3050 –
//!   ORCH-3052).
//!
//! [`load`] builds the engine a pool's configuration names.

pub mod artifact;
pub mod llamacpp;
pub mod sim;

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use orchestrator_config::{EngineConfig, ModelConfig, PoolConfig};

pub use artifact::{ModelArtifact, digest_of};
pub use llamacpp::LlamacppEngine;
pub use sim::{SimEngine, SimSettings};

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
#[spectrace::implements("ORCH-3059")]
pub trait Engine: Send + Sync {
    /// `sim` or `llamacpp`.
    fn kind(&self) -> api_types::EngineKind;
    /// The engine's version.
    fn version(&self) -> String;
    /// `sha256:` and 64 hex digits identifying the model.
    fn model_digest(&self) -> String;
    /// Prompt length in tokens, counted locally: admission never waits on an engine
    /// (ORCH-3047). An engine that cannot count exactly without a round trip gives an upper
    /// bound, so a prompt that passes the context check fits.
    fn count_tokens(&self, prompt: &str) -> u64;
    /// Starts generating. The stream ends after `max_tokens` tokens, a `Stopped` or a `Failed`
    /// item; dropping it cancels the generation.
    fn generate(&self, request: Generate) -> BoxStream<'static, EngineEvent>;
    /// True when the engine can take work.
    fn health(&self) -> BoxFuture<'static, bool>;
}

/// Loads the engines of `pool`'s replicas for `model`: the model file is checked once
/// (ORCH-3050 – ORCH-3052), then each replica's engine is started. Errors name the pool.
pub async fn load(
    pool: &PoolConfig,
    model: &ModelConfig,
) -> Result<(ModelArtifact, Vec<Arc<dyn Engine>>), String> {
    let artifact = ModelArtifact::check(model)
        .await
        .map_err(|e| format!("pool {}: {e}", pool.id))?;
    let mut engines = Vec::new();
    for _ in 0..pool.replicas {
        engines.push(start(pool, &artifact).await?);
    }
    Ok((artifact, engines))
}

/// Starts one replica's engine for an already checked model (a restart does not hash the
/// file again). Errors name the pool.
pub async fn start(pool: &PoolConfig, artifact: &ModelArtifact) -> Result<Arc<dyn Engine>, String> {
    match &pool.engine {
        EngineConfig::Sim {
            token_delay_ms,
            fail_after_tokens,
            hang_after_tokens,
            fail_health_checks,
            hang_health_checks_after,
            ..
        } => {
            let settings = SimSettings {
                token_delay_ms: *token_delay_ms,
                fail_after_tokens: *fail_after_tokens,
                hang_after_tokens: *hang_after_tokens,
                fail_health_checks: *fail_health_checks,
                hang_health_checks_after: *hang_health_checks_after,
            };
            Ok(Arc::new(SimEngine::new(artifact, settings)))
        }
        EngineConfig::Llamacpp { url, .. } => {
            // Every replica of a llamacpp pool talks to the same server (see `llamacpp`).
            let slots = pool.replicas.saturating_mul(pool.slots);
            let engine = LlamacppEngine::connect(url, artifact, slots)
                .await
                .map_err(|e| format!("pool {}: {e}", pool.id))?;
            Ok(Arc::new(engine))
        }
    }
}
