//! The service-level histograms (ORCH-3049): each run observes its task's queue wait and time
//! to first token, in seconds, read back from the exposition text as a scrape sees it.

use orchestrator_core::Priority;

use super::timeouts::{limited, run_one};
use super::{config, ready_service, request};
use crate::service::Service;

/// The `_sum` and `_count` of the histogram `name` whose labels include every one of `labels`.
fn histogram(service: &Service, name: &str, labels: &[&str]) -> (f64, u64) {
    let text = service.metrics.encode().unwrap();
    let value = |suffix: &str| -> String {
        let prefix = format!("{name}_{suffix}{{");
        let line = text
            .lines()
            .find(|line| line.starts_with(&prefix) && labels.iter().all(|l| line.contains(l)))
            .unwrap_or_else(|| panic!("no {prefix} line with {labels:?} in\n{text}"));
        line.rsplit(' ').next().unwrap().to_owned()
    };
    (
        value("sum").parse().unwrap(),
        value("count").parse().unwrap(),
    )
}

#[spectrace::covers("ORCH-3049")]
#[tokio::test]
async fn a_queue_wait_is_observed_in_seconds_under_its_pool_and_priority() {
    let service = ready_service(config()).await;
    let task = service
        .task(&service.enqueue(request(4)).unwrap().task_id)
        .unwrap();
    assert_eq!(task.priority, Priority::Interactive);
    let labels = ["pool=\"default\"", "priority=\"interactive\""];
    assert_eq!(
        histogram(&service, "orchd_queue_wait_seconds", &labels),
        (0.0, 0)
    );
    service.observe_queue_wait("default", &task, 1_500);
    assert_eq!(
        histogram(&service, "orchd_queue_wait_seconds", &labels),
        (1.5, 1),
        "1500 ms observed as 1.5 s"
    );
}

#[spectrace::covers("ORCH-3049")]
#[tokio::test(start_paused = true)]
async fn each_run_observes_its_queue_wait_and_its_time_to_first_token_once() {
    // Tokens 250 ms apart: each run's first token comes 250 ms after its dispatch.
    let service = ready_service(limited(300_000, 30_000, 250)).await;
    service.start();
    for _ in 0..2 {
        let (events, _) = run_one(&service, 3).await;
        assert_eq!(events.last().map(|e| e.name), Some("end"), "{events:?}");
    }
    assert_eq!(
        histogram(
            &service,
            "orchd_time_to_first_token_seconds",
            &["pool=\"default\""]
        ),
        (0.5, 2),
        "two first tokens, 0.25 s each"
    );
    let (_, waits) = histogram(
        &service,
        "orchd_queue_wait_seconds",
        &["pool=\"default\"", "priority=\"interactive\""],
    );
    assert_eq!(waits, 2, "one queue wait per run");
}
