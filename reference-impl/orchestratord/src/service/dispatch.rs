//! Dispatch: each pool's dispatcher loop (expire queued tasks past their deadline, hand
//! queued tasks to free slots) and the run of one task on its replica: tokens into the task's
//! event log, periodic `metrics` events, idle and wall timeouts, and the one terminal event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::{ErrorCode, FinishReason};
use futures::StreamExt;
use orchestrator_core::lifecycle::TaskState;
use orchestrator_core::pool::EndReason;

use super::pool::Pool;
use super::tasks::{Task, error_event};
use super::telemetry::priority_name;
use super::{METRICS_EVERY, Service, lock};
use crate::channel::StreamEvent;
use crate::engine::EngineEvent;
use crate::metrics;

impl Service {
    pub(super) async fn dispatch_loop(self: Arc<Self>, pool: Arc<Pool>) {
        loop {
            let notified = pool.wake.notified();
            let dispatched = {
                let mut scheduler = pool.scheduler();
                let now = self.now_ms();
                for ended in scheduler.expire(now) {
                    self.close_ended(&mut scheduler, &pool.config.id, ended);
                }
                scheduler.dispatch(now)
            };
            for dispatch in dispatched {
                let task = lock(&self.tasks).by_key.get(&dispatch.key).cloned();
                if let Some(task) = task {
                    let service = Arc::clone(&self);
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move {
                        service
                            .run(pool, task, dispatch.replica, dispatch.queue_wait_ms)
                            .await;
                    });
                }
            }
            // Wake for new work, freed slots, or the next deadline check.
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Runs one dispatched task on its replica to its end.
    #[spectrace::implements(
        "ORCH-3017",
        "ORCH-3018",
        "ORCH-3025",
        "ORCH-3029",
        "ORCH-3045",
        "ORCH-3049",
        "ORCH-3062"
    )]
    async fn run(
        self: Arc<Self>,
        pool: Arc<Pool>,
        task: Arc<Task>,
        replica: usize,
        queue_wait_ms: u64,
    ) {
        // The model and engine this task runs on, whatever a reload does meanwhile.
        let loaded = pool.loaded();
        let Some(engine) = loaded.engines.get(replica).cloned() else {
            return;
        };
        let started = Instant::now();
        let pool_id = pool.config.id.clone();
        self.metrics
            .tokens_in
            .get_or_create(&metrics::pool(&pool_id))
            .inc_by(task.tokens_in);
        self.metrics
            .queue_wait
            .get_or_create(&metrics::priority(&pool_id, priority_name(task.priority)))
            .observe(queue_wait_ms as f64 / 1000.0);
        let tokens_out = self
            .metrics
            .tokens_out
            .get_or_create(&metrics::pool(&pool_id))
            .clone();
        let mut fields = self.task_fields(&task, &pool);
        fields.replica_id = Some(format!("{pool_id}-{replica}"));
        self.logger.task("task dispatched", &fields);
        let Some(request) = lock(&task.request).take() else {
            // The task ended (a cancel) between its dispatch and this run; its slot is free.
            pool.wake.notify_one();
            return;
        };
        let mut stream = engine.generate(request);
        let idle = Duration::from_millis(self.config.timeouts.token_idle_ms);
        let wall = Duration::from_millis(self.config.timeouts.task_wall_ms);
        let mut produced = 0u64;
        let mut first_token_ms = None;
        // The text so far, kept only when a stop sequence can end the run.
        let mut text = String::new();
        let outcome = loop {
            let remaining = wall.saturating_sub(started.elapsed());
            // A cancel (or any other end) closes the log: stop waiting for the engine at once
            // and drop its stream, which ends the upstream work (ORCH-3062), instead of
            // noticing only when the engine's next token is refused.
            let next = tokio::select! {
                biased;
                () = task.log.closed() => break Outcome::Stopped,
                next = tokio::time::timeout(idle.min(remaining), stream.next()) => next,
            };
            let next = match next {
                Ok(next) => next,
                Err(_) if started.elapsed() >= wall => {
                    break Outcome::Timeout(ErrorCode::TimeoutWall);
                }
                Err(_) => break Outcome::Timeout(ErrorCode::TimeoutIdle),
            };
            match next {
                None => break Outcome::Finished(FinishReason::Length),
                Some(EngineEvent::Stopped) => break Outcome::Finished(FinishReason::Stop),
                Some(EngineEvent::Failed(message)) => break Outcome::EngineFailed(message),
                Some(EngineEvent::Token(text_of_token)) => {
                    let data =
                        serde_json::json!({ "index": produced, "text": text_of_token }).to_string();
                    if !task.log.push(StreamEvent {
                        name: "token",
                        data,
                    }) {
                        break Outcome::Stopped;
                    }
                    produced += 1;
                    tokens_out.inc();
                    if first_token_ms.is_none() {
                        let elapsed = started.elapsed();
                        first_token_ms = Some(elapsed.as_millis() as u64);
                        self.metrics
                            .time_to_first_token
                            .get_or_create(&metrics::pool(&pool_id))
                            .observe(elapsed.as_secs_f64());
                    }
                    if !task.stop.is_empty() {
                        text.push_str(&text_of_token);
                        if task.stop.iter().any(|stop| text.contains(stop.as_str())) {
                            break Outcome::Finished(FinishReason::Stop);
                        }
                    }
                    if produced.is_multiple_of(METRICS_EVERY) {
                        let data = serde_json::json!({
                            "tokens_out": produced,
                            "queue_wait_ms": queue_wait_ms,
                            "elapsed_ms": started.elapsed().as_millis() as u64,
                        })
                        .to_string();
                        task.log.push(StreamEvent {
                            name: "metrics",
                            data,
                        });
                    }
                }
            }
        };
        drop(stream);
        let now = self.now_ms();
        let mut scheduler = pool.scheduler();
        match outcome {
            Outcome::Stopped => {}
            Outcome::Finished(finish_reason) => {
                if scheduler
                    .finish(task.key, EndReason::Completed, now)
                    .is_ok()
                {
                    let end = api_types::EndEvent {
                        tokens_in: task.tokens_in,
                        tokens_out: produced,
                        finish_reason,
                        queue_wait_ms,
                        ttft_ms: first_token_ms.unwrap_or_default(),
                        decode_ms: started.elapsed().as_millis() as u64,
                        seed: task.seed,
                        model: loaded.model.name.clone(),
                        replica_id: format!("{}-{replica}", pool.config.id),
                    };
                    let data = serde_json::to_string(&end).unwrap_or_default();
                    let terminal = StreamEvent { name: "end", data };
                    self.seal(
                        &mut scheduler,
                        &task,
                        terminal,
                        TaskState::Completed,
                        Some(replica),
                    );
                }
            }
            Outcome::EngineFailed(message) => {
                if scheduler.finish(task.key, EndReason::Failed, now).is_ok() {
                    let terminal = error_event(ErrorCode::EngineError, &message, true);
                    self.seal(
                        &mut scheduler,
                        &task,
                        terminal,
                        TaskState::Failed,
                        Some(replica),
                    );
                }
                drop(scheduler);
                self.replica_failed(&pool, replica, &message);
                scheduler = pool.scheduler();
            }
            Outcome::Timeout(code) => {
                if scheduler.finish(task.key, EndReason::Failed, now).is_ok() {
                    let message = match code {
                        ErrorCode::TimeoutWall => "the task ran longer than timeouts.task_wall_ms",
                        _ => "no token arrived within timeouts.token_idle_ms",
                    };
                    self.seal(
                        &mut scheduler,
                        &task,
                        error_event(code, message, true),
                        TaskState::Failed,
                        Some(replica),
                    );
                }
            }
        }
        drop(scheduler);
        pool.wake.notify_one();
    }
}

enum Outcome {
    Finished(FinishReason),
    EngineFailed(String),
    Timeout(ErrorCode),
    /// The log was closed by someone else (cancel): the engine stream is dropped.
    Stopped,
}
