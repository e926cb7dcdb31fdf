//! What an ended task keeps: only its status and terminal event once no reader follows its
//! stream, and only the last `tasks.retained_max` ended tasks, the oldest forgotten first.

use std::time::Duration;

use orchestrator_config::{Config, EngineConfig};
use orchestrator_core::lifecycle::TaskState;

use super::{all_events, config, ready_service, request};

/// `config` with a sim engine that takes 10 ms a token, so a task of 20 tokens is still running
/// 100 ms after it started.
fn slow(mut config: Config) -> Config {
    if let EngineConfig::Sim { token_delay_ms, .. } = &mut config.pools[0].engine {
        *token_delay_ms = 10;
    }
    config
}

#[spectrace::covers("ORCH-3066")]
#[tokio::test]
async fn a_read_and_closed_stream_leaves_only_the_status_and_the_terminal_event() {
    let service = ready_service(config()).await;
    service.start();
    let admitted = service.enqueue(request(20)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(task.holds_prompt() || task.ended_state().is_some());
    assert!(service.open_stream(&task));
    let events = all_events(&task).await;
    assert_eq!(events.len(), 22, "20 tokens, one metrics event and the end");
    assert!(!task.holds_prompt(), "the prompt went to the engine");
    assert_eq!(
        task.log.events_held(),
        22,
        "the reader still follows the stream"
    );

    service.stream_closed(&task);
    assert_eq!(task.log.events_held(), 1);
    assert_eq!(service.task_state(&task), TaskState::Completed);
    assert_eq!(task.log.tokens(), 20);
    // A reader that comes later gets the terminal event alone.
    assert!(service.open_stream(&task));
    let again = all_events(&task).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0], events[21]);
}

#[spectrace::covers("ORCH-3066")]
#[tokio::test(start_paused = true)]
async fn a_stream_never_opened_keeps_only_the_terminal_event_after_stream_open_ms() {
    let mut config = config();
    config.timeouts.stream_open_ms = 1_000;
    let service = ready_service(config).await;
    service.start();
    let done = service.enqueue(request(5)).unwrap();
    let done = service.task(&done.task_id).unwrap();
    while done.ended_state().is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        done.log.events_held(),
        6,
        "readable in full until stream_open_ms"
    );

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(service.task_state(&done), TaskState::Completed);
    assert_eq!(done.log.events_held(), 1);
    assert_eq!(done.log.tokens(), 5);
    assert!(!done.holds_prompt());
}

/// A reader that goes away before its task ended cancels the task (ORCH-3026), which then
/// keeps only its terminal event.
#[spectrace::covers("ORCH-3066")]
#[tokio::test(start_paused = true)]
async fn a_stream_closed_before_its_task_ended_leaves_only_the_terminal_event() {
    let service = ready_service(slow(config())).await;
    service.start();
    let admitted = service.enqueue(request(20)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(service.open_stream(&task));
    assert_eq!(task.log.next(0).await.map(|e| e.name), Some("token"));
    assert!(task.ended_state().is_none(), "19 tokens to go");

    service.stream_closed(&task);
    assert_eq!(service.task_state(&task), TaskState::Cancelled);
    assert_eq!(task.log.events_held(), 1);
}

/// A task still running when `stream_open_ms` passes without a reader is cancelled
/// (ORCH-3019) and keeps only its terminal event.
#[spectrace::covers("ORCH-3066")]
#[tokio::test(start_paused = true)]
async fn a_running_task_whose_stream_was_never_opened_keeps_only_its_terminal_event() {
    let mut config = slow(config());
    config.timeouts.stream_open_ms = 100;
    let service = ready_service(config).await;
    service.start();
    let admitted = service.enqueue(request(20)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(service.task_state(&task), TaskState::Cancelled);
    assert_eq!(task.log.events_held(), 1);
}

#[spectrace::covers("ORCH-3066")]
#[tokio::test]
async fn a_task_ended_in_its_queue_drops_its_prompt() {
    let service = ready_service(config()).await;
    let admitted = service.enqueue(request(5)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(task.holds_prompt());
    service.cancel_task(&task);
    assert!(!task.holds_prompt());
    assert_eq!(service.task_state(&task), TaskState::Cancelled);
}

#[spectrace::covers("ORCH-3067")]
#[tokio::test]
async fn at_most_retained_max_ended_tasks_are_kept_and_the_oldest_goes_first() {
    let mut config = config();
    config.pools[0].queue.capacity.interactive = 8;
    config.tasks.retained_max = 2;
    let service = ready_service(config).await;
    let ids: Vec<String> = (0..4)
        .map(|_| service.enqueue(request(4)).unwrap().task_id)
        .collect();
    let tasks: Vec<_> = ids.iter().map(|id| service.task(id).unwrap()).collect();
    let forgotten = || {
        service
            .metrics
            .tasks_forgotten
            .get_or_create(&crate::metrics::pool("default"))
            .get()
    };
    // Open tasks do not count against the cap.
    service.cancel_task(&tasks[1]);
    service.cancel_task(&tasks[0]);
    assert_eq!(service.tasks_held(), 4);
    assert_eq!(forgotten(), 0);

    // A third ended task: the first to end (task 1) is forgotten.
    service.cancel_task(&tasks[3]);
    assert!(service.task(&ids[1]).is_none());
    assert!(service.task(&ids[0]).is_some());
    assert!(service.task(&ids[3]).is_some());
    assert!(
        service.task(&ids[2]).is_some(),
        "an open task is never forgotten"
    );
    assert_eq!(service.tasks_held(), 3);
    assert_eq!(forgotten(), 1);

    service.cancel_task(&tasks[2]);
    assert!(service.task(&ids[0]).is_none());
    assert_eq!(service.tasks_held(), 2);
    assert_eq!(forgotten(), 2);
}

/// A forgotten task is freed at once, though the watch for its stream's opening
/// (`stream_open_ms`) has not woken yet: nothing but the registry keeps an ended task alive.
#[spectrace::covers("ORCH-3067")]
#[tokio::test(start_paused = true)]
async fn a_forgotten_task_is_freed_before_its_stream_open_watch_wakes() {
    let mut config = config();
    config.pools[0].queue.capacity.interactive = 8;
    config.tasks.retained_max = 1;
    config.timeouts.stream_open_ms = 600_000;
    let service = ready_service(config).await;
    let first = service.enqueue(request(4)).unwrap().task_id;
    let first = std::sync::Arc::downgrade(&service.task(&first).unwrap());
    let second = service.enqueue(request(4)).unwrap().task_id;
    let second = service.task(&second).unwrap();
    service.cancel_task(&first.upgrade().unwrap());
    service.cancel_task(&second);
    assert_eq!(service.tasks_held(), 1, "the first task was forgotten");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        first.upgrade().is_none(),
        "nothing holds a forgotten task until stream_open_ms"
    );
}
