//! Configuration of the reference orchestrator (`orchestratord --config FILE`).
//!
//! These types are the source of `contracts/schemas/config.schema.json`
//! (`cargo xtask regen-schema` generates it with schemars). Loading a configuration always
//! validates the document against that committed schema first, so every violation is reported
//! with its JSON pointer (ORCH-3030), and only then deserializes it into [`Config`].
//!
//! Every struct rejects unknown fields; every field that has a default documents it. Secrets are
//! never inline: API keys are named by reference to an environment variable or a file
//! ([`KeyRef`], ORCH-3042).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The committed JSON Schema of the configuration.
pub const CONFIG_SCHEMA: &str = include_str!("../../../contracts/schemas/config.schema.json");

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "orchestratord configuration")]
pub struct Config {
    /// Where the HTTP server listens.
    #[serde(default)]
    pub server: ServerConfig,
    /// The pools; at least one. Pool ids must be unique.
    #[schemars(length(min = 1))]
    pub pools: Vec<PoolConfig>,
    /// Per-task time limits.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Session lifetime and budgets.
    #[serde(default)]
    pub sessions: Sessions,
    /// Server-Sent Events settings.
    #[serde(default)]
    pub sse: Sse,
    /// Graceful shutdown.
    #[serde(default)]
    pub shutdown: Shutdown,
    /// API keys of the control and data planes.
    #[serde(default)]
    pub auth: Auth,
    /// What is kept of ended tasks.
    #[serde(default)]
    pub tasks: Tasks,
}

/// `server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address, `HOST:PORT`.
    #[schemars(length(min = 1))]
    pub addr: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".to_owned(),
        }
    }
}

/// One pool: identical replicas of one engine serving one model, with its own queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Pool id: lower-case letters, digits and `-`, at most 63 characters.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub id: String,
    /// The engine of every replica.
    pub engine: EngineConfig,
    /// The model every replica serves.
    pub model: ModelConfig,
    /// Number of replicas.
    #[serde(default = "defaults::replicas")]
    #[schemars(range(min = 1, max = 64))]
    pub replicas: u32,
    /// Tasks one replica runs at the same time (ORCH-3020).
    #[serde(default = "defaults::slots")]
    #[schemars(range(min = 1, max = 256))]
    pub slots: u32,
    /// Length limits (ORCH-3009).
    #[serde(default)]
    pub limits: Limits,
    /// Queues and the full policy (ORCH-3004, ORCH-3005).
    #[serde(default)]
    pub queue: QueueConfig,
}

/// The engine behind a pool, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum EngineConfig {
    /// The built-in deterministic engine (ORCH-3060).
    Sim {
        /// Delay before each token, in milliseconds.
        #[serde(default)]
        token_delay_ms: u64,
        /// Fault injection: fail the task after this many tokens.
        #[serde(default)]
        fail_after_tokens: Option<u64>,
        /// Fault injection: stop producing tokens (hang) after this many.
        #[serde(default)]
        hang_after_tokens: Option<u64>,
        /// Fault injection: every health check fails, so the replica never turns ready.
        #[serde(default)]
        fail_health_checks: bool,
        /// Fault injection: after this many health checks of a replica's engine, every further
        /// one never answers.
        #[serde(default)]
        hang_health_checks_after: Option<u64>,
        /// Interval of engine health checks, in milliseconds (ORCH-3016).
        #[serde(default = "defaults::health_interval_ms")]
        #[schemars(range(min = 10))]
        health_interval_ms: u64,
    },
    /// A llama.cpp server reached over HTTP (ORCH-3061).
    Llamacpp {
        /// Base URL of the llama.cpp server, e.g. `http://127.0.0.1:8081`.
        #[schemars(regex(pattern = r"^https?://"))]
        url: String,
        /// Interval of engine health checks, in milliseconds (ORCH-3016).
        #[serde(default = "defaults::health_interval_ms")]
        #[schemars(range(min = 10))]
        health_interval_ms: u64,
    },
}

/// The model of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Model name, reported in capabilities and `end` events.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Model file; required by `llamacpp`, optional for `sim`.
    #[serde(default)]
    pub path: Option<String>,
    /// Expected SHA-256 of the model file, checked before load (ORCH-3050).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

/// `limits` of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest prompt tokens plus `max_tokens` of one task.
    #[schemars(range(min = 1))]
    pub ctx_max: u32,
    /// Largest `max_tokens` of one task.
    #[schemars(range(min = 1))]
    pub max_tokens: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ctx_max: 4096,
            max_tokens: 1024,
        }
    }
}

/// `queue` of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Capacity of each priority class's FIFO.
    pub capacity: QueueCapacity,
    /// What happens to a task that arrives for a full queue.
    pub full_policy: FullPolicy,
    /// After this many consecutive interactive dispatches while batch work waits, dispatch one
    /// batch task (ORCH-3007).
    #[schemars(range(min = 1))]
    pub batch_every: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: QueueCapacity::default(),
            full_policy: FullPolicy::Reject,
            batch_every: 4,
        }
    }
}

/// Capacity per priority class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QueueCapacity {
    /// Most queued `interactive` tasks.
    pub interactive: u32,
    /// Most queued `batch` tasks.
    pub batch: u32,
}

impl Default for QueueCapacity {
    fn default() -> Self {
        Self {
            interactive: 64,
            batch: 256,
        }
    }
}

/// Full policy of a pool (ORCH-3005).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FullPolicy {
    /// The arriving task gets 429.
    Reject,
    /// The task that waited longest in the full queue is evicted.
    DropLru,
    /// Batch work is shed under interactive pressure; a full queue answers 429.
    ShedLowPriority,
}

/// `timeouts` (ORCH-3017, ORCH-3018, ORCH-3019).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Longest run of a task after dispatch.
    #[schemars(range(min = 1))]
    pub task_wall_ms: u64,
    /// Longest wait for the next token.
    #[schemars(range(min = 1))]
    pub token_idle_ms: u64,
    /// Longest wait for a client to open an admitted task's event stream.
    #[schemars(range(min = 1))]
    pub stream_open_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            task_wall_ms: 300_000,
            token_idle_ms: 30_000,
            stream_open_ms: 30_000,
        }
    }
}

/// `sessions` (ORCH-3022, ORCH-3023).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Sessions {
    /// Time to live, restarted by each admitted task of the session.
    #[schemars(range(min = 1))]
    pub ttl_ms: u64,
    /// Most tasks per session.
    pub max_turns: u64,
    /// Most prompt plus generated tokens per session.
    pub max_tokens: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            ttl_ms: 600_000,
            max_turns: 100,
            max_tokens: 100_000,
        }
    }
}

/// `sse` (ORCH-2010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Sse {
    /// Longest gap between keep-alive comments while a task is queued.
    #[schemars(range(min = 1))]
    pub keepalive_ms: u64,
}

impl Default for Sse {
    fn default() -> Self {
        Self {
            keepalive_ms: 10_000,
        }
    }
}

/// `shutdown` (ORCH-3032).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Shutdown {
    /// How long running and queued tasks may finish after SIGTERM or SIGINT.
    pub drain_ms: u64,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { drain_ms: 30_000 }
    }
}

/// `tasks` (ORCH-3067).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Tasks {
    /// Most ended tasks kept readable; when one more ends, the one that ended first is
    /// forgotten.
    #[schemars(range(min = 1))]
    pub retained_max: u64,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            retained_max: 100_000,
        }
    }
}

/// `auth` (ORCH-3038 – ORCH-3042).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Keys accepted on the control plane. With none, every control route but the probes
    /// answers 401.
    pub control_keys: Vec<KeyRef>,
    /// Keys accepted on the data plane. With none, the data plane is open.
    pub data_keys: Vec<KeyRef>,
}

/// Where an API key is read from; the key itself never appears in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum KeyRef {
    /// Name of an environment variable holding the key.
    Env(#[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))] String),
    /// Path of a file holding the key (one trailing newline is ignored).
    File(#[schemars(length(min = 1))] String),
}

mod defaults {
    pub(super) fn replicas() -> u32 {
        1
    }
    pub(super) fn slots() -> u32 {
        4
    }
    pub(super) fn health_interval_ms() -> u64 {
        1000
    }
}

/// One way a configuration document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// JSON pointer to the offending field (for an unknown or missing field, the field itself).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The text is not YAML (with the parser's line and column).
    Syntax(String),
    /// The document breaks the schema; every violation, sorted by pointer.
    Invalid(Vec<Violation>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Syntax(message) => write!(f, "not valid YAML: {message}"),
            LoadError::Invalid(violations) => {
                write!(f, "{} schema violation(s):", violations.len())?;
                for v in violations {
                    write!(f, "\n  {v}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Every schema violation of `document`, sorted; empty when it is valid.
pub fn validate(document: &serde_json::Value) -> Vec<Violation> {
    let schema: serde_json::Value = match serde_json::from_str(CONFIG_SCHEMA) {
        Ok(schema) => schema,
        Err(e) => return vec![internal(format!("the committed schema is not JSON: {e}"))],
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(validator) => validator,
        Err(e) => return vec![internal(format!("the committed schema is invalid: {e}"))],
    };
    let mut violations: Vec<Violation> = validator
        .iter_errors(document)
        .flat_map(|error| {
            let at = error.instance_path().to_string();
            match error.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    unexpected
                        .iter()
                        .map(|name| Violation {
                            pointer: format!("{at}/{}", escape_pointer(name)),
                            message: "unknown field".to_owned(),
                        })
                        .collect::<Vec<_>>()
                }
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    vec![Violation {
                        pointer: format!("{at}/{}", escape_pointer(name)),
                        message: "missing required field".to_owned(),
                    }]
                }
                _ => vec![Violation {
                    pointer: at,
                    message: error.to_string(),
                }],
            }
        })
        .collect();
    violations.sort();
    violations.dedup();
    violations
}

fn internal(message: String) -> Violation {
    Violation {
        pointer: String::new(),
        message,
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Parses a YAML configuration, validates it against the schema, then builds [`Config`].
pub fn load_yaml(text: &str) -> Result<Config, LoadError> {
    let document: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| LoadError::Syntax(e.to_string()))?;
    let violations = validate(&document);
    if !violations.is_empty() {
        return Err(LoadError::Invalid(violations));
    }
    serde_json::from_value(document).map_err(|e| {
        LoadError::Invalid(vec![Violation {
            pointer: String::new(),
            message: e.to_string(),
        }])
    })
}

/// The JSON Schema of [`Config`], as `cargo xtask regen-schema` writes it.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Config);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
