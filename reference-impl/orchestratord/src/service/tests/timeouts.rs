//! A running task's limits and its `end` event, under a paused tokio clock: the wall-clock limit
//! (ORCH-3017) and the idle limit (ORCH-3018) end a run at the instant they run out, with their
//! own `error` code, abort the engine's request and free the slot; a finished run's `end` event
//! reports what the run did (ORCH-3029).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use api_types::{EndEvent, ErrorCode, ErrorEvent, FinishReason};
use orchestrator_config::{Config, EngineConfig};
use tokio::time::Instant;

use super::cancel::Starter;
use super::{all_events, config, ready_service, ready_service_with, request};
use crate::channel::StreamEvent;
use crate::service::Service;

/// `config()` with these limits and a sim engine taking `token_delay_ms` per token.
pub(super) fn limited(task_wall_ms: u64, token_idle_ms: u64, token_delay_ms: u64) -> Config {
    let mut config = config();
    config.pools[0].slots = 1;
    config.timeouts.task_wall_ms = task_wall_ms;
    config.timeouts.token_idle_ms = token_idle_ms;
    let EngineConfig::Sim {
        token_delay_ms: delay,
        ..
    } = &mut config.pools[0].engine
    else {
        panic!("the default pool runs the sim engine");
    };
    *delay = token_delay_ms;
    config
}

/// Runs one task of `max_tokens` to its end: its events, and the time from its admission (its
/// dispatch, with a free slot and a started dispatcher) to its terminal event.
pub(super) async fn run_one(
    service: &Arc<Service>,
    max_tokens: u64,
) -> (Vec<StreamEvent>, Duration) {
    let admitted = Instant::now();
    let task = service
        .task(&service.enqueue(request(max_tokens)).unwrap().task_id)
        .unwrap();
    assert!(service.open_stream(&task));
    let events = all_events(&task).await;
    (events, admitted.elapsed())
}

fn error_of(events: &[StreamEvent]) -> ErrorEvent {
    let terminal = events.last().expect("a terminal event");
    assert_eq!(terminal.name, "error", "{events:?}");
    serde_json::from_str(&terminal.data).unwrap()
}

fn tokens(events: &[StreamEvent]) -> usize {
    events.iter().filter(|e| e.name == "token").count()
}

/// The slot of an ended run is free: the next task runs to its `end` event.
async fn next_task_completes(service: &Arc<Service>) {
    let (events, _) = run_one(service, 2).await;
    assert_eq!(events.last().map(|e| e.name), Some("end"), "{events:?}");
}

#[spectrace::covers("ORCH-3017")]
#[tokio::test(start_paused = true)]
async fn a_task_still_running_at_task_wall_ms_ends_with_timeout_wall_then_and_frees_its_slot() {
    // A token every 300 ms keeps the idle limit (30 s) far away; the wall limit is 1 s.
    let service = ready_service(limited(1_000, 30_000, 300)).await;
    service.start();
    let (events, took) = run_one(&service, 60).await;
    let error = error_of(&events);
    assert_eq!(error.code, ErrorCode::TimeoutWall);
    assert!(error.retriable);
    assert!(error.message.contains("task_wall_ms"), "{}", error.message);
    assert_eq!(tokens(&events), 3, "tokens at 300, 600 and 900 ms");
    assert!(
        took >= Duration::from_millis(1_000) && took < Duration::from_millis(1_100),
        "ended {took:?} after its dispatch"
    );
    next_task_completes(&service).await;
}

#[spectrace::covers("ORCH-3017", "ORCH-3018")]
#[tokio::test(start_paused = true)]
async fn the_wall_clock_limit_cuts_a_wait_for_a_token_short() {
    // The engine hangs after one token; the wall limit (1 s) comes before the idle one (30 s).
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut config = limited(1_000, 30_000, 0);
    config.pools[0].slots = 1;
    let service = ready_service_with(config, Arc::new(Starter(Arc::clone(&dropped)))).await;
    let before = dropped.load(Ordering::SeqCst);
    service.start();
    let (events, took) = run_one(&service, 10).await;
    assert_eq!(error_of(&events).code, ErrorCode::TimeoutWall);
    assert_eq!(tokens(&events), 1);
    assert!(
        took >= Duration::from_millis(1_000) && took < Duration::from_millis(1_100),
        "ended {took:?} after its dispatch, not at the idle limit"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        before + 1,
        "engine request dropped"
    );
}

#[spectrace::covers("ORCH-3018")]
#[tokio::test(start_paused = true)]
async fn a_task_without_a_token_for_token_idle_ms_ends_with_timeout_idle_and_aborts_its_engine() {
    // The engine hangs after one token; the idle limit (1 s) comes long before the wall (300 s).
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut config = limited(300_000, 1_000, 0);
    config.pools[0].slots = 1;
    let service = ready_service_with(config, Arc::new(Starter(Arc::clone(&dropped)))).await;
    let before = dropped.load(Ordering::SeqCst);
    service.start();
    let (events, took) = run_one(&service, 10).await;
    let error = error_of(&events);
    assert_eq!(error.code, ErrorCode::TimeoutIdle);
    assert!(error.retriable);
    assert!(error.message.contains("token_idle_ms"), "{}", error.message);
    assert_eq!(tokens(&events), 1);
    assert!(
        took >= Duration::from_millis(1_000) && took < Duration::from_millis(1_100),
        "ended {took:?} after its dispatch"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        before + 1,
        "the engine request was aborted"
    );
}

#[spectrace::covers("ORCH-3017", "ORCH-3018")]
#[tokio::test(start_paused = true)]
async fn a_steady_task_shorter_than_both_limits_completes() {
    // 5 tokens 400 ms apart: each wait stays under the idle limit (500 ms), and the whole run
    // (2 s) under the wall limit (2.5 s).
    let service = ready_service(limited(2_500, 500, 400)).await;
    service.start();
    let (events, took) = run_one(&service, 5).await;
    assert_eq!(events.last().map(|e| e.name), Some("end"), "{events:?}");
    assert_eq!(tokens(&events), 5);
    assert!(took >= Duration::from_millis(2_000), "{took:?}");
}

#[spectrace::covers("ORCH-3029")]
#[tokio::test(start_paused = true)]
async fn the_end_event_reports_what_the_run_did() {
    let service = ready_service(limited(300_000, 30_000, 100)).await;
    service.start();
    let task = service
        .task(&service.enqueue(request(3)).unwrap().task_id)
        .unwrap();
    assert!(service.open_stream(&task));
    let events = all_events(&task).await;
    assert_eq!(tokens(&events), 3);
    let terminal = events.last().unwrap();
    assert_eq!(terminal.name, "end", "{events:?}");
    let end: EndEvent = serde_json::from_str(&terminal.data).unwrap();
    assert!(end.tokens_in > 0);
    assert_eq!(end.tokens_in, task.tokens_in);
    assert_eq!(end.tokens_out, 3);
    assert_eq!(end.finish_reason, FinishReason::Length);
    // queue_wait_ms is measured on the service's clock, which the paused tokio clock does not
    // drive: its value is not asserted here.
    assert_eq!(
        end.ttft_ms, 100,
        "the first token came 100 ms after the dispatch"
    );
    assert_eq!(end.decode_ms, 300, "the last of 3 tokens 100 ms apart");
    assert_eq!(end.seed, 7);
    assert_eq!(end.model, config().pools[0].model.name);
    assert_eq!(end.replica_id, "default-0");
}
