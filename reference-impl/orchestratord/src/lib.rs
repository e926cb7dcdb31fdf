//! `orchestratord`, the reference orchestrator: bounded admission with honest backpressure,
//! Server-Sent Events token streaming, race-free cancel, sessions and a control plane, over the
//! built-in `sim` engine or a llama.cpp server.
//!
//! - [`service`]: pools, tasks, sessions and the operations of the API (no HTTP), in parts.
//! - [`http`]: the routes of `contracts/openapi/data.yaml` and `control.yaml` on axum.
//! - [`openai`]: the OpenAI-compatible routes (chat completions, models) over the same service.
//! - [`metrics`]: the metric contract.
//! - [`auth`]: control-plane keys.
//! - [`engine`]: the engine adapter interface, model checks, and the `sim` and `llamacpp`
//!   engines.
//! - [`channel`]: each task's event log.
//! - [`error`]: the error envelope.
//! - [`log`]: structured JSON logs.
//!
//! [`default_config`] is the zero-config setup (ORCH-3031); [`serve`] runs the server.

pub mod auth;
pub mod channel;
pub mod engine;
pub mod error;
pub mod http;
pub mod log;
pub mod metrics;
pub mod openai;
pub mod service;

use std::net::SocketAddr;
use std::sync::Arc;

use orchestrator_config::Config;

/// Address used without `--addr` and without `server.addr` in a config file.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The configuration used without `--config`: one pool `default` on one `sim` replica with
/// 4 slots, every other setting at its default.
#[spectrace::implements("ORCH-3031")]
pub fn default_config() -> Config {
    use orchestrator_config::{
        Auth, EngineConfig, Limits, ModelConfig, PoolConfig, QueueConfig, ServerConfig, Sessions,
        Shutdown, Sse, Tasks, Timeouts,
    };
    Config {
        server: ServerConfig::default(),
        pools: vec![PoolConfig {
            id: "default".to_owned(),
            engine: EngineConfig::Sim {
                token_delay_ms: 0,
                fail_after_tokens: None,
                hang_after_tokens: None,
                fail_health_checks: false,
                hang_health_checks_after: None,
                health_interval_ms: 1000,
            },
            model: ModelConfig {
                name: "sim-small".to_owned(),
                path: None,
                sha256: None,
            },
            replicas: 1,
            slots: 4,
            limits: Limits::default(),
            queue: QueueConfig::default(),
        }],
        timeouts: Timeouts::default(),
        sessions: Sessions::default(),
        sse: Sse::default(),
        shutdown: Shutdown::default(),
        auth: Auth::default(),
        tasks: Tasks::default(),
    }
}

/// Builds the service, checks every replica's engine (replicas start unready and turn ready
/// when their first health check passes, ORCH-3002), starts the dispatchers and health checks,
/// and returns the router; logs go to stderr.
pub async fn app(
    config: Config,
    control_keys: auth::Keys,
) -> Result<(Arc<service::Service>, axum::Router), String> {
    app_with_logger(config, control_keys, log::Logger::default()).await
}

/// [`app`] with logs going to `logger`.
#[spectrace::implements("ORCH-3001", "ORCH-3002")]
pub async fn app_with_logger(
    config: Config,
    control_keys: auth::Keys,
    logger: log::Logger,
) -> Result<(Arc<service::Service>, axum::Router), String> {
    let service = service::Service::new(config, control_keys, logger).await?;
    service.log_config();
    service.check_health().await;
    service.start();
    let router = http::router(Arc::clone(&service));
    Ok((service, router))
}

/// Serves on `listener` until the future `shutdown` completes. Connections use `TCP_NODELAY`:
/// each SSE event and each small answer goes out at once instead of waiting for Nagle's
/// algorithm and the peer's delayed acknowledgement.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Parses a listen address.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|e| format!("invalid listen address `{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_config_is_valid() {
        let config = super::default_config();
        let json = serde_json::to_value(&config).unwrap();
        assert!(orchestrator_config::validate(&json).is_empty());
        assert_eq!(config.server.addr, super::DEFAULT_ADDR);
        assert_eq!(config.pools.len(), 1);
        assert_eq!(config.pools[0].id, "default");
        assert_eq!(config.pools[0].slots, 4);
    }
}
