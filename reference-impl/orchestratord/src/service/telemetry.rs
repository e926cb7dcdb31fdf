//! Telemetry: the structured log lines of tasks and replicas, the metrics counted when a task
//! ends, the gauges refreshed on every scrape, and the API and label names of priorities and
//! full policies.

use api_types::{FullPolicy as ApiFullPolicy, Priority as ApiPriority};
use orchestrator_config::FullPolicy;
use orchestrator_core::Priority;
use orchestrator_core::lifecycle::TaskState;

use super::Service;
use super::pool::Pool;
use super::tasks::Task;
use crate::log::TaskFields;
use crate::metrics;

/// The scheduler's name of a full policy.
pub(super) fn core_policy(p: FullPolicy) -> orchestrator_core::FullPolicy {
    match p {
        FullPolicy::Reject => orchestrator_core::FullPolicy::Reject,
        FullPolicy::DropLru => orchestrator_core::FullPolicy::DropLru,
        FullPolicy::ShedLowPriority => orchestrator_core::FullPolicy::ShedLowPriority,
    }
}

/// The API name of a full policy.
pub fn api_policy(p: FullPolicy) -> ApiFullPolicy {
    match p {
        FullPolicy::Reject => ApiFullPolicy::Reject,
        FullPolicy::DropLru => ApiFullPolicy::DropLru,
        FullPolicy::ShedLowPriority => ApiFullPolicy::ShedLowPriority,
    }
}

/// The API name of a priority.
pub fn api_priority(p: Priority) -> ApiPriority {
    match p {
        Priority::Interactive => ApiPriority::Interactive,
        Priority::Batch => ApiPriority::Batch,
    }
}

impl Service {
    #[spectrace::implements("ORCH-3027")]
    pub(super) fn task_fields(&self, task: &Task, pool: &Pool) -> TaskFields {
        let loaded = pool.loaded();
        let engine = loaded.engines.first();
        TaskFields {
            task_id: task.id.clone(),
            correlation_id: task.correlation_id.clone(),
            pool: task.pool.clone(),
            priority: priority_name(task.priority).to_owned(),
            session_id: task.session.clone(),
            tokens_in: Some(task.tokens_in),
            engine: engine.map(|e| format!("{:?}", e.kind()).to_lowercase()),
            engine_version: engine.map(|e| e.version()),
            ..TaskFields::default()
        }
    }

    pub(super) fn log_end(&self, task: &Task, state: TaskState, replica: Option<usize>) {
        let Some(pool) = self.pools.get(&task.pool) else {
            return;
        };
        let mut fields = self.task_fields(task, pool);
        fields.replica_id = replica.map(|r| format!("{}-{r}", task.pool));
        fields.tokens_out = Some(task.log.tokens());
        fields.outcome = Some(state.as_str().to_owned());
        self.logger.task("task ended", &fields);
    }

    /// Logs the effective configuration (ORCH-3034); keys appear only as references.
    #[spectrace::implements("ORCH-3034")]
    pub fn log_config(&self) {
        let mut fields = serde_json::Map::new();
        fields.insert(
            "config".into(),
            serde_json::to_value(&self.config).unwrap_or_default(),
        );
        self.logger.log("info", "config", fields);
    }

    pub(super) fn count_finished(&self, pool: &str, state: TaskState) {
        let labels = metrics::OutcomeLabels {
            pool: pool.to_owned(),
            outcome: state.as_str().to_owned(),
        };
        self.metrics.tasks_finished.get_or_create(&labels).inc();
    }

    /// Sets the gauges from the schedulers (called when `/metrics` is scraped).
    #[spectrace::implements("ORCH-3016", "ORCH-3028")]
    pub fn refresh_gauges(&self) {
        for (id, pool) in &self.pools {
            let scheduler = pool.scheduler();
            for p in [Priority::Interactive, Priority::Batch] {
                let depth = scheduler.queue_depth(p) as i64;
                self.metrics
                    .queue_depth
                    .get_or_create(&metrics::priority(id, priority_name(p)))
                    .set(depth);
            }
            self.metrics
                .tasks_running
                .get_or_create(&metrics::pool(id))
                .set(scheduler.running() as i64);
            for (index, (ready, total, busy)) in scheduler.replicas().into_iter().enumerate() {
                let labels = metrics::ReplicaLabels {
                    pool: id.clone(),
                    replica: format!("{id}-{index}"),
                };
                self.metrics
                    .replica_ready
                    .get_or_create(&labels)
                    .set(i64::from(ready));
                self.metrics
                    .slots_busy
                    .get_or_create(&labels)
                    .set(busy as i64);
                self.metrics
                    .slots_capacity
                    .get_or_create(&labels)
                    .set(total as i64);
            }
        }
    }

    pub(super) fn log_replica(&self, pool: &Pool, replica: usize, msg: &str, reason: &str) {
        self.logger.log(
            "warn",
            msg,
            serde_json::Map::from_iter([
                ("pool".to_owned(), serde_json::json!(pool.config.id)),
                (
                    "replica_id".to_owned(),
                    serde_json::json!(format!("{}-{replica}", pool.config.id)),
                ),
                ("reason".to_owned(), serde_json::json!(reason)),
            ]),
        );
    }
}

/// The metric label and log name of a priority.
pub(super) fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Interactive => "interactive",
        Priority::Batch => "batch",
    }
}
