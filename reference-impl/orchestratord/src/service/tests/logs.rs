//! The task fields of the log lines a task's admission, dispatch and end write.

use std::sync::Arc;

use serde_json::Value;

use super::{all_events, config, request};
use crate::auth::Keys;
use crate::log::Logger;
use crate::service::{ConfiguredEngines, Service};

/// The admission, dispatch and end lines of a task carry its pool, priority, prompt tokens,
/// engine and engine version with their values, not `null` or empty.
#[spectrace::covers("ORCH-3027")]
#[tokio::test]
async fn a_tasks_log_lines_carry_its_pool_priority_tokens_and_engine() {
    let (logger, captured) = Logger::captured();
    let service = Service::with_starter(
        config(),
        Keys::default(),
        logger,
        Arc::new(ConfiguredEngines),
    )
    .await
    .unwrap();
    service.check_health().await;
    service.start();
    let admitted = service.enqueue(request(3)).unwrap();
    let task = service.task(&admitted.task_id).unwrap();
    assert!(service.open_stream(&task));
    let events = all_events(&task).await;
    assert_eq!(events.last().unwrap().name, "end");
    let engine = service.pools()["default"].loaded().engines[0].clone();
    let version = engine.version();
    assert!(!version.is_empty());

    let text = captured.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|line: &Value| line["task_id"] == admitted.task_id.as_str())
        .collect();
    let messages: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        ["task admitted", "task dispatched", "task ended"],
        "{text}"
    );
    for line in &lines {
        assert_eq!(line["pool"], "default", "{line}");
        assert_eq!(line["priority"], "interactive", "{line}");
        assert_eq!(line["tokens_in"].as_u64(), Some(task.tokens_in), "{line}");
        assert!(task.tokens_in > 0);
        assert_eq!(line["engine"], "sim", "{line}");
        assert_eq!(line["engine_version"], version.as_str(), "{line}");
        assert_eq!(line["correlation_id"], "unit", "{line}");
    }
}
