//! What the end-to-end suites share: a real orchestratord on an ephemeral loopback port,
//! small HTTP helpers, and the provider verifier ([`contract`]) that checks a response against
//! the published contract. Each test crate uses a part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod contract;
pub mod engine_contract;

use std::time::Duration;

use futures::StreamExt;
use orchestrator_client::sse::{TaskEvent, events};
use serde_json::Value;

/// The control-plane key of every test server.
pub const CONTROL_KEY: &str = "test-control-key";

/// A server on an ephemeral loopback port, stopped when dropped.
pub struct Server {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start(yaml: &str) -> Server {
    let keys = orchestratord::auth::Keys::new([CONTROL_KEY]);
    start_app(yaml, keys, orchestratord::log::Logger::discard())
        .await
        .1
}

/// A server with the given keys and logger, and its service for direct inspection.
pub async fn start_app(
    yaml: &str,
    keys: orchestratord::auth::Keys,
    logger: orchestratord::log::Logger,
) -> (std::sync::Arc<orchestratord::service::Service>, Server) {
    let config = orchestrator_config::load_yaml(yaml).unwrap();
    let (service, router) = orchestratord::app_with_logger(config, keys, logger)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(orchestratord::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    (
        service,
        Server {
            base,
            stop: Some(stop),
        },
    )
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn enqueue(server: &Server, body: Value) -> reqwest::Response {
    http()
        .post(format!("{}/v1/tasks", server.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn enqueue_ok(server: &Server, body: Value) -> Value {
    let response = enqueue(server, body).await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

/// Opens a task's event stream (`GET /v1/tasks/{id}/events`); the response, unread.
pub async fn open_stream(server: &Server, task_id: &str) -> reqwest::Response {
    http()
        .get(format!("{}/v1/tasks/{task_id}/events", server.base))
        .send()
        .await
        .unwrap()
}

/// Reads a whole event stream as typed events.
pub async fn typed_stream(server: &Server, task_id: &str) -> Vec<TaskEvent> {
    let response = open_stream(server, task_id).await;
    assert_eq!(response.status(), 200);
    events(response.bytes_stream())
        .map(|e| e.unwrap())
        .collect()
        .await
}

pub fn tokens(events: &[TaskEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            TaskEvent::Token(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect()
}

pub fn terminal(events: &[TaskEvent]) -> &TaskEvent {
    events.last().unwrap()
}

pub async fn scrape(server: &Server, key: Option<&str>) -> reqwest::Response {
    let mut request = http().get(format!("{}/metrics", server.base));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

pub async fn control(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = http()
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(CONTROL_KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// `GET path` on `server`, read as JSON.
pub async fn get_json(server: &Server, path: &str) -> Value {
    http()
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until the task holds a slot, so that the next task queues behind it.
pub async fn wait_running(server: &Server, task: &Value) {
    let id = task["task_id"].as_str().unwrap();
    for _ in 0..500 {
        let status: Value = get_json(server, &format!("/v1/tasks/{id}")).await;
        if status["state"] != "queued" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("task {id} was never dispatched");
}

/// Polls the task until its state is `state` (or about 2 s pass); its last status.
pub async fn wait_for_state(server: &Server, id: &str, state: &str) -> Value {
    let mut status = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = get_json(server, &format!("/v1/tasks/{id}")).await;
        if status["state"] == state {
            break;
        }
    }
    status
}

pub async fn cancel(server: &Server, task_id: &str) -> Value {
    let response = http()
        .post(format!("{}/v1/tasks/{task_id}/cancel", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
