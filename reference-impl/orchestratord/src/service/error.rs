//! The service's own error: why an operation was refused, in the domain's terms. It knows
//! nothing of HTTP; `crate::error` maps each variant to the contract's error envelope.

use api_types::ErrorCode;
use orchestrator_config::FullPolicy;
use orchestrator_core::Priority;
use orchestrator_core::sessions::BudgetExhausted;

use super::telemetry::priority_name;

/// Why the service refused an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// An enqueue named a pool that does not exist.
    UnknownPool {
        /// The pool asked for.
        pool: String,
    },
    /// A control-plane operation named a pool that does not exist.
    NoSuchPool {
        /// The pool asked for.
        pool: String,
    },
    /// The client expects another model than the pool serves.
    UnknownModel {
        /// The pool.
        pool: String,
        /// The model it serves.
        serves: String,
        /// The model the client asked for.
        asked: String,
    },
    /// `max_tokens` is above the pool's limit.
    MaxTokensTooLarge {
        /// Asked.
        max_tokens: u64,
        /// The pool's limit.
        limit: u32,
    },
    /// Prompt plus `max_tokens` exceed the pool's context.
    ContextTooLong {
        /// Prompt tokens.
        prompt_tokens: u64,
        /// Asked.
        max_tokens: u64,
        /// The pool's context.
        ctx_max: u32,
    },
    /// The pool has no replica at all.
    NoReplica,
    /// No replica of the pool is ready.
    NoReadyReplica,
    /// The server is shutting down.
    ShuttingDown,
    /// The pool is draining.
    Draining {
        /// The pool.
        pool: String,
        /// Time left until the drain deadline.
        remaining_ms: u64,
    },
    /// The session's budget would be exceeded.
    BudgetExhausted(BudgetExhausted),
    /// The priority's queue is full.
    QueueFull {
        /// The pool.
        pool: String,
        /// The queue.
        priority: Priority,
        /// When a retry may succeed.
        retry_after_ms: u64,
        /// The pool's full policy.
        policy: FullPolicy,
    },
    /// The task would start after its deadline.
    DeadlineInfeasible {
        /// Predicted start.
        predicted_start_ms: u64,
        /// The task's deadline.
        deadline_ms: u64,
    },
    /// A reload failed; the old model keeps serving.
    ReloadFailed {
        /// Why.
        reason: String,
    },
}

impl ServiceError {
    /// The contract's error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownPool { .. } => ErrorCode::UnknownPool,
            Self::NoSuchPool { .. } => ErrorCode::NotFound,
            Self::UnknownModel { .. } => ErrorCode::UnknownModel,
            Self::MaxTokensTooLarge { .. } => ErrorCode::MaxTokensTooLarge,
            Self::ContextTooLong { .. } => ErrorCode::ContextTooLong,
            Self::NoReplica | Self::NoReadyReplica => ErrorCode::PoolUnavailable,
            Self::ShuttingDown => ErrorCode::ShuttingDown,
            Self::Draining { .. } => ErrorCode::PoolDraining,
            Self::BudgetExhausted(_) => ErrorCode::SessionBudgetExhausted,
            Self::QueueFull { .. } => ErrorCode::QueueFull,
            Self::DeadlineInfeasible { .. } => ErrorCode::DeadlineInfeasible,
            Self::ReloadFailed { .. } => ErrorCode::ReloadFailed,
        }
    }

    /// When a retry may succeed, if the refusal is temporary.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::NoReplica | Self::NoReadyReplica | Self::ShuttingDown => Some(1000),
            Self::Draining { remaining_ms, .. } => Some((*remaining_ms).max(1000)),
            Self::QueueFull { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }

    /// The pool's full policy, for a full queue.
    pub fn policy(&self) -> Option<FullPolicy> {
        match self {
            Self::QueueFull { policy, .. } => Some(*policy),
            _ => None,
        }
    }

    /// The `reason` label of `orchd_tasks_rejected_total`.
    pub fn rejection_reason(&self) -> &'static str {
        match self {
            Self::QueueFull { .. } => "queue_full",
            Self::NoReplica | Self::NoReadyReplica => "unavailable",
            Self::Draining { .. } | Self::ShuttingDown => "draining",
            Self::BudgetExhausted(_) => "budget",
            _ => "invalid",
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownPool { pool } => write!(f, "no pool named `{pool}`"),
            Self::NoSuchPool { pool } => write!(f, "no pool `{pool}`"),
            Self::UnknownModel {
                pool,
                serves,
                asked,
            } => write!(f, "pool `{pool}` serves `{serves}`, not `{asked}`"),
            Self::MaxTokensTooLarge { max_tokens, limit } => write!(
                f,
                "max_tokens {max_tokens} exceeds the pool's limit of {limit}"
            ),
            Self::ContextTooLong {
                prompt_tokens,
                max_tokens,
                ctx_max,
            } => write!(
                f,
                "{prompt_tokens} prompt tokens plus max_tokens {max_tokens} exceed the pool's context of {ctx_max}"
            ),
            Self::NoReplica => f.write_str("the pool has no replica"),
            Self::NoReadyReplica => f.write_str("no replica of the pool is ready"),
            Self::ShuttingDown => f.write_str("orchestratord is shutting down"),
            Self::Draining { pool, .. } => {
                write!(f, "pool `{pool}` is draining and takes no new tasks")
            }
            Self::BudgetExhausted(BudgetExhausted::Turns) => {
                f.write_str("the session has no turn left")
            }
            Self::BudgetExhausted(BudgetExhausted::Tokens) => {
                f.write_str("the session has too few tokens left for this task")
            }
            Self::QueueFull { pool, priority, .. } => write!(
                f,
                "the {} queue of pool `{pool}` is full",
                priority_name(*priority)
            ),
            Self::DeadlineInfeasible {
                predicted_start_ms,
                deadline_ms,
            } => write!(
                f,
                "the task would start in about {predicted_start_ms} ms, after its deadline of {deadline_ms} ms"
            ),
            Self::ReloadFailed { reason } => write!(f, "the old model keeps serving: {reason}"),
        }
    }
}

impl std::error::Error for ServiceError {}
