//! The metrics of `contracts/metrics/metrics.yaml` (ORCH-3028), encoded in the OpenMetrics text
//! format by prometheus-client (which appends `_total` to counter names itself).
//!
//! Counters and histograms are updated where things happen; gauges are set from the schedulers
//! when `/metrics` is scraped. Label values come only from the configuration (pool and replica
//! ids) and from fixed sets (priority, reason, outcome), never from client input, so every label
//! stays within its budget.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `{pool}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// Pool id.
    pub pool: String,
}

/// `{pool, priority}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabels {
    /// Pool id.
    pub pool: String,
    /// `interactive` or `batch`.
    pub priority: String,
}

/// `{pool, priority, reason}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Pool id.
    pub pool: String,
    /// `interactive` or `batch`.
    pub priority: String,
    /// Why.
    pub reason: String,
}

/// `{pool, outcome}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// Pool id.
    pub pool: String,
    /// The terminal state.
    pub outcome: String,
}

/// `{pool, replica}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReplicaLabels {
    /// Pool id.
    pub pool: String,
    /// Replica id.
    pub replica: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~32 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric of the contract.
#[spectrace::implements("ORCH-3028", "ORCH-3049")]
pub struct Metrics {
    registry: Registry,
    /// `orchd_tasks_enqueued_total`.
    pub tasks_enqueued: Family<PriorityLabels, Counter>,
    /// `orchd_tasks_rejected_total`.
    pub tasks_rejected: Family<ReasonLabels, Counter>,
    /// `orchd_tasks_dropped_total`.
    pub tasks_dropped: Family<ReasonLabels, Counter>,
    /// `orchd_tasks_finished_total`.
    pub tasks_finished: Family<OutcomeLabels, Counter>,
    /// `orchd_tasks_forgotten_total` (ORCH-3067).
    pub tasks_forgotten: Family<PoolLabels, Counter>,
    /// `orchd_tokens_in_total`.
    pub tokens_in: Family<PoolLabels, Counter>,
    /// `orchd_tokens_out_total`.
    pub tokens_out: Family<PoolLabels, Counter>,
    /// `orchd_queue_depth`.
    pub queue_depth: Family<PriorityLabels, Gauge>,
    /// `orchd_tasks_running`.
    pub tasks_running: Family<PoolLabels, Gauge>,
    /// `orchd_replica_ready`.
    pub replica_ready: Family<ReplicaLabels, Gauge>,
    /// `orchd_slots_busy`.
    pub slots_busy: Family<ReplicaLabels, Gauge>,
    /// `orchd_slots_capacity`.
    pub slots_capacity: Family<ReplicaLabels, Gauge>,
    /// `orchd_queue_wait_seconds`.
    pub queue_wait: Histograms<PriorityLabels>,
    /// `orchd_time_to_first_token_seconds`.
    pub time_to_first_token: Histograms<PoolLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let tasks_enqueued = Family::default();
        let tasks_rejected = Family::default();
        let tasks_dropped = Family::default();
        let tasks_finished = Family::default();
        let tasks_forgotten = Family::default();
        let tokens_in = Family::default();
        let tokens_out = Family::default();
        let queue_depth = Family::default();
        let tasks_running = Family::default();
        let replica_ready = Family::default();
        let slots_busy = Family::default();
        let slots_capacity = Family::default();
        let queue_wait: Histograms<PriorityLabels> =
            Family::new_with_constructor(latency_histogram);
        let time_to_first_token: Histograms<PoolLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "orchd_tasks_enqueued",
            "Tasks admitted to a queue",
            tasks_enqueued.clone(),
        );
        registry.register(
            "orchd_tasks_rejected",
            "Tasks refused at admission, by reason",
            tasks_rejected.clone(),
        );
        registry.register(
            "orchd_tasks_dropped",
            "Admitted tasks removed from a queue before dispatch, by reason",
            tasks_dropped.clone(),
        );
        registry.register(
            "orchd_tasks_finished",
            "Tasks that reached a terminal state, by outcome",
            tasks_finished.clone(),
        );
        registry.register(
            "orchd_tasks_forgotten",
            "Ended tasks forgotten, the oldest first, to keep at most tasks.retained_max",
            tasks_forgotten.clone(),
        );
        registry.register(
            "orchd_tokens_in",
            "Prompt tokens of dispatched tasks",
            tokens_in.clone(),
        );
        registry.register(
            "orchd_tokens_out",
            "Tokens generated and streamed to clients",
            tokens_out.clone(),
        );
        registry.register(
            "orchd_queue_depth",
            "Tasks waiting in a queue",
            queue_depth.clone(),
        );
        registry.register(
            "orchd_tasks_running",
            "Tasks holding a slot",
            tasks_running.clone(),
        );
        registry.register(
            "orchd_replica_ready",
            "1 when the replica is ready, 0 otherwise",
            replica_ready.clone(),
        );
        registry.register(
            "orchd_slots_busy",
            "Slots of the replica running a task",
            slots_busy.clone(),
        );
        registry.register(
            "orchd_slots_capacity",
            "Slots of the replica",
            slots_capacity.clone(),
        );
        registry.register(
            "orchd_queue_wait_seconds",
            "Time from admission to dispatch of each dispatched task",
            queue_wait.clone(),
        );
        registry.register(
            "orchd_time_to_first_token_seconds",
            "Time from dispatch to the first token of each task that produced one",
            time_to_first_token.clone(),
        );
        Self {
            registry,
            tasks_enqueued,
            tasks_rejected,
            tasks_dropped,
            tasks_finished,
            tasks_forgotten,
            tokens_in,
            tokens_out,
            queue_depth,
            tasks_running,
            replica_ready,
            slots_busy,
            slots_capacity,
            queue_wait,
            time_to_first_token,
        }
    }

    /// Creates every series of a pool at zero, so each metric of the contract is exposed from
    /// the start (a family with no series would not be exposed at all).
    pub fn init_pool(&self, pool_id: &str, replicas: usize) {
        const PRIORITIES: [&str; 2] = ["interactive", "batch"];
        const REJECTED: [&str; 5] = ["queue_full", "invalid", "draining", "unavailable", "budget"];
        const DROPPED: [&str; 4] = ["evicted", "shed", "expired", "cancelled"];
        const OUTCOMES: [&str; 5] = ["completed", "failed", "cancelled", "dropped", "expired"];
        for p in PRIORITIES {
            let _ = self.tasks_enqueued.get_or_create(&priority(pool_id, p));
            let _ = self.queue_depth.get_or_create(&priority(pool_id, p));
            let _ = self.queue_wait.get_or_create(&priority(pool_id, p));
            for r in REJECTED {
                let _ = self.tasks_rejected.get_or_create(&reason(pool_id, p, r));
            }
            for r in DROPPED {
                let _ = self.tasks_dropped.get_or_create(&reason(pool_id, p, r));
            }
        }
        for outcome in OUTCOMES {
            let _ = self.tasks_finished.get_or_create(&OutcomeLabels {
                pool: pool_id.to_owned(),
                outcome: outcome.to_owned(),
            });
        }
        let _ = self.tasks_forgotten.get_or_create(&pool(pool_id));
        let _ = self.tokens_in.get_or_create(&pool(pool_id));
        let _ = self.tokens_out.get_or_create(&pool(pool_id));
        let _ = self.tasks_running.get_or_create(&pool(pool_id));
        let _ = self.time_to_first_token.get_or_create(&pool(pool_id));
        for index in 0..replicas {
            let labels = ReplicaLabels {
                pool: pool_id.to_owned(),
                replica: format!("{pool_id}-{index}"),
            };
            let _ = self.replica_ready.get_or_create(&labels);
            let _ = self.slots_busy.get_or_create(&labels);
            let _ = self.slots_capacity.get_or_create(&labels);
        }
    }

    /// The exposition text.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Label helpers.
pub fn pool(pool: &str) -> PoolLabels {
    PoolLabels {
        pool: pool.to_owned(),
    }
}

/// `{pool, priority}`.
pub fn priority(pool: &str, priority: &str) -> PriorityLabels {
    PriorityLabels {
        pool: pool.to_owned(),
        priority: priority.to_owned(),
    }
}

/// `{pool, priority, reason}`.
pub fn reason(pool: &str, priority: &str, reason: &str) -> ReasonLabels {
    ReasonLabels {
        pool: pool.to_owned(),
        priority: priority.to_owned(),
        reason: reason.to_owned(),
    }
}
