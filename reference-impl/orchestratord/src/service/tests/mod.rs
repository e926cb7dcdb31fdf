//! Unit tests of the service without HTTP: admission and its refusals, a task's run to its one
//! terminal event, cancel, drain, reload, the sweep, and the mapping of [`ServiceError`] to the
//! error envelope.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use api_types::ErrorCode;
use orchestrator_config::{Config, ModelConfig};
use orchestrator_core::Priority;
use orchestrator_core::lifecycle::TaskState;

use super::*;
use crate::channel::StreamEvent;
use crate::error::ApiError;

mod cancel;
mod interleavings;
mod levels;
mod logs;
mod memory;
mod readiness;
mod replicas;
mod stops;
mod timeouts;

fn config() -> Config {
    let mut config = crate::default_config();
    config.pools[0].queue.capacity.interactive = 2;
    config.pools[0].limits.max_tokens = 64;
    config.pools[0].limits.ctx_max = 128;
    config
}

fn request(max_tokens: u64) -> EnqueueRequest {
    EnqueueRequest {
        pool: "default".to_owned(),
        prompt: "write a haiku".to_owned(),
        max_tokens,
        priority: Priority::Interactive,
        model: None,
        seed: Some(7),
        temperature: 0.0,
        session_id: None,
        deadline_ms: None,
        correlation_id: "unit".to_owned(),
        stop: Vec::new(),
    }
}

/// A service whose replicas passed their first health check; no dispatcher runs unless the
/// test starts one.
async fn ready_service(config: Config) -> Arc<Service> {
    ready_service_with(config, Arc::new(ConfiguredEngines)).await
}

/// [`ready_service`] with engines started by `starter`.
async fn ready_service_with(config: Config, starter: Arc<dyn EngineStarter>) -> Arc<Service> {
    let service = Service::with_starter(config, Keys::default(), Logger::discard(), starter)
        .await
        .unwrap();
    service.check_health().await;
    service
}

/// Every event of a task's log, up to and including its terminal event.
async fn all_events(task: &Task) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    while let Some(event) =
        tokio::time::timeout(Duration::from_secs(10), task.log.next(events.len()))
            .await
            .expect("the task ends")
    {
        events.push(event);
    }
    events
}

#[tokio::test]
async fn a_pool_is_not_ready_before_its_first_health_check() {
    let service = Service::new(config(), Keys::default(), Logger::discard())
        .await
        .unwrap();
    assert_eq!(service.pools_not_ready(), vec!["default".to_owned()]);
    assert_eq!(
        service.enqueue(request(4)),
        Err(ServiceError::NoReadyReplica)
    );
    service.check_health().await;
    assert!(service.pools_not_ready().is_empty());
    assert!(service.enqueue(request(4)).is_ok());
}

#[tokio::test]
async fn admission_refusals_say_why() {
    let service = ready_service(config()).await;
    let unknown_pool = EnqueueRequest {
        pool: "nope".to_owned(),
        ..request(4)
    };
    assert_eq!(
        service.enqueue(unknown_pool),
        Err(ServiceError::UnknownPool {
            pool: "nope".to_owned()
        })
    );
    let other_model = EnqueueRequest {
        model: Some("other".to_owned()),
        ..request(4)
    };
    assert_eq!(
        service.enqueue(other_model),
        Err(ServiceError::UnknownModel {
            pool: "default".to_owned(),
            serves: "sim-small".to_owned(),
            asked: "other".to_owned(),
        })
    );
    assert_eq!(
        service.enqueue(request(65)),
        Err(ServiceError::MaxTokensTooLarge {
            max_tokens: 65,
            limit: 64
        })
    );
    let long = EnqueueRequest {
        prompt: "word ".repeat(100),
        ..request(64)
    };
    assert!(matches!(
        service.enqueue(long),
        Err(ServiceError::ContextTooLong { ctx_max: 128, .. })
    ));
    // Two places in the queue (no dispatcher runs), then a full queue with its policy.
    assert!(service.enqueue(request(4)).is_ok());
    assert!(service.enqueue(request(4)).is_ok());
    let full = service.enqueue(request(4)).unwrap_err();
    assert!(matches!(full, ServiceError::QueueFull { .. }), "{full:?}");
    assert_eq!(full.rejection_reason(), "queue_full");
    assert_eq!(full.policy(), Some(orchestrator_config::FullPolicy::Reject));
}

#[tokio::test]
async fn an_admitted_task_runs_to_exactly_one_terminal_event() {
    let service = ready_service(config()).await;
    service.start();
    let admitted = service.enqueue(request(5)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(service.open_stream(&task));
    assert!(!service.open_stream(&task), "one reader at a time");
    let events = all_events(&task).await;
    let names: Vec<&str> = events.iter().map(|e| e.name).collect();
    assert_eq!(names, ["token", "token", "token", "token", "token", "end"]);
    assert_eq!(service.task_state(&task), TaskState::Completed);
    assert_eq!(task.log.tokens(), 5);
    // Cancelling an ended task changes nothing.
    assert_eq!(service.cancel_task(&task), TaskState::Completed);
}

#[tokio::test]
async fn cancelling_a_queued_task_ends_it_once_with_cancelled() {
    let service = ready_service(config()).await;
    let admitted = service.enqueue(request(4)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert_eq!(service.task_state(&task), TaskState::Queued);
    assert_eq!(service.cancel_task(&task), TaskState::Cancelled);
    assert_eq!(service.cancel_task(&task), TaskState::Cancelled);
    let events = all_events(&task).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, "error");
    assert!(
        events[0].data.contains("\"CANCELLED\""),
        "{}",
        events[0].data
    );
}

#[tokio::test]
async fn a_draining_pool_refuses_new_tasks_and_keeps_its_first_deadline() {
    let service = ready_service(config()).await;
    assert_eq!(service.drain("default", 60_000), Ok(60_000));
    let second = service.drain("default", 1).unwrap();
    assert!(second > 50_000, "the first deadline holds: {second}");
    let refused = service.enqueue(request(4)).unwrap_err();
    assert!(
        matches!(refused, ServiceError::Draining { remaining_ms, .. } if remaining_ms > 50_000),
        "{refused:?}"
    );
    assert!(service.pool_health("default").unwrap().draining);
    assert_eq!(
        service.drain("nope", 1),
        Err(ServiceError::NoSuchPool {
            pool: "nope".to_owned()
        })
    );
}

/// Shutdown waits for open tasks for at most its drain, ends what is left with
/// `SHUTTING_DOWN`, and does not wait at all when no task is open.
#[spectrace::covers("ORCH-3032")]
#[tokio::test(start_paused = true)]
async fn shutdown_waits_up_to_the_drain_and_no_longer() {
    let idle = ready_service(config()).await;
    let before = tokio::time::Instant::now();
    idle.shut_down(Duration::from_secs(30)).await;
    assert_eq!(before.elapsed(), Duration::ZERO, "nothing to wait for");
    assert_eq!(
        idle.enqueue(request(4)),
        Err(ServiceError::ShuttingDown),
        "no admission once shutting down"
    );

    // No dispatcher runs, so the queued task never finishes by itself.
    let busy = ready_service(config()).await;
    let admitted = busy.enqueue(request(4)).unwrap();
    let task = busy.task(&admitted.task_id).unwrap();
    let before = tokio::time::Instant::now();
    busy.shut_down(Duration::from_millis(100)).await;
    assert_eq!(
        before.elapsed(),
        Duration::from_millis(100),
        "the whole drain, not a step more"
    );
    let events = all_events(&task).await;
    match events.last().map(|e| (e.name, e.data.as_str())) {
        Some(("error", data)) => assert!(data.contains("SHUTTING_DOWN"), "{data}"),
        other => panic!("ends with an error event: {other:?}"),
    }
}

#[tokio::test]
async fn a_reload_switches_the_model_and_ends_a_drain_and_a_failed_one_changes_nothing() {
    let service = ready_service(config()).await;
    service.drain("default", 60_000).unwrap();
    let bad = ModelConfig {
        name: "broken".to_owned(),
        path: Some("/nonexistent/model.gguf".to_owned()),
        sha256: None,
    };
    let Err(failed) = service.reload("default", bad).await else {
        panic!("a reload to a missing file fails")
    };
    assert!(
        matches!(failed, ServiceError::ReloadFailed { .. }),
        "{failed:?}"
    );
    assert_eq!(service.pools()["default"].loaded().model.name, "sim-small");
    assert!(service.pool_health("default").unwrap().draining);

    let next = ModelConfig {
        name: "sim-large".to_owned(),
        path: None,
        sha256: None,
    };
    let loaded = service.reload("default", next).await.unwrap();
    assert_eq!(loaded.model.name, "sim-large");
    let health = service.pool_health("default").unwrap();
    assert_eq!(health.model, "sim-large");
    assert!(!health.draining);
    assert!(service.enqueue(request(4)).is_ok());
}

#[tokio::test]
async fn the_sweep_forgets_ended_tasks_only() {
    let service = ready_service(config()).await;
    let ended = service.enqueue(request(4)).unwrap();
    let queued = service.enqueue(request(4)).unwrap();
    service.cancel_task(&service.task(&ended.task_id).unwrap());
    service.sweep(RETENTION);
    assert_eq!(service.tasks_held(), 2);
    service.sweep(Duration::ZERO);
    assert_eq!(service.tasks_held(), 1);
    assert!(service.task(&ended.task_id).is_none());
    assert!(service.task(&queued.task_id).is_some());
}

#[test]
fn service_errors_map_to_the_envelope() {
    let full = ApiError::from(ServiceError::QueueFull {
        pool: "p".to_owned(),
        priority: Priority::Batch,
        retry_after_ms: 250,
        policy: orchestrator_config::FullPolicy::DropLru,
    });
    assert_eq!(full.code, ErrorCode::QueueFull);
    assert_eq!(full.status(), 429);
    assert_eq!(full.retry_after_ms, Some(250));
    assert_eq!(full.policy, Some(api_types::FullPolicy::DropLru));
    assert_eq!(full.message, "the batch queue of pool `p` is full");

    let draining = ApiError::from(ServiceError::Draining {
        pool: "p".to_owned(),
        remaining_ms: 10,
    });
    assert_eq!(draining.status(), 503);
    assert_eq!(draining.retry_after_ms, Some(1000), "at least a second");

    let missing = ApiError::from(ServiceError::NoSuchPool {
        pool: "p".to_owned(),
    });
    assert_eq!(
        (missing.status().as_u16(), missing.retry_after_ms),
        (404, None)
    );
    let unknown = ApiError::from(ServiceError::UnknownPool {
        pool: "p".to_owned(),
    });
    assert_eq!(unknown.status(), 422);
    let reload = ApiError::from(ServiceError::ReloadFailed {
        reason: "no file".to_owned(),
    });
    assert_eq!(
        (reload.status().as_u16(), reload.message.as_str()),
        (409, "the old model keeps serving: no file")
    );
}
