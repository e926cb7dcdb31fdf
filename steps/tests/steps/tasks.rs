//! Steps about tasks: enqueue (`POST /v1/tasks`), read (`GET /v1/tasks/{id}`), cancel, and
//! waiting for a task's state.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::{Value, json};

use super::params::{Priority, cell_value};
use super::world::{DEFAULT_PROMPT, Orch, WAIT};

/// The longest task of the default prompt the pool allows, up to 1000 tokens: long enough to
/// hold a slot for the whole scenario when the engine is slowed down.
fn long_task(w: &Orch, pool: &str) -> u64 {
    let limits = w.pool_config(pool).map(|p| p["limits"].clone());
    let limit = |name: &str, default: u64| {
        limits
            .as_ref()
            .and_then(|l| l[name].as_u64())
            .unwrap_or(default)
    };
    let prompt_tokens = DEFAULT_PROMPT.split_whitespace().count() as u64;
    let room = limit("ctx_max", 4096).saturating_sub(prompt_tokens);
    limit("max_tokens", 1024).min(room).min(1000)
}

fn body(pool: &str, max_tokens: u64, priority: Option<Priority>) -> Value {
    let mut body = json!({"pool": pool, "prompt": DEFAULT_PROMPT, "max_tokens": max_tokens});
    if let Some(priority) = priority {
        body["priority"] = json!(priority.name());
    }
    body
}

#[when(expr = "I enqueue task {string} on pool {string} with max_tokens {int}")]
async fn enqueue(w: &mut Orch, name: String, pool: String, max_tokens: u64) {
    w.enqueue(&name, body(&pool, max_tokens, None)).await;
}

#[when(expr = "I enqueue a(n) {priority} task {string} on pool {string} with max_tokens {int}")]
async fn enqueue_with_priority(
    w: &mut Orch,
    priority: Priority,
    name: String,
    pool: String,
    max_tokens: u64,
) {
    w.enqueue(&name, body(&pool, max_tokens, Some(priority)))
        .await;
}

/// The table gives the body's fields, one per row (`| max_tokens | 4 |`); `prompt` defaults to
/// a short fixed prompt.
#[when(expr = "I enqueue task {string} with:")]
async fn enqueue_table(w: &mut Orch, name: String, step: &Step) {
    let table = step
        .table
        .as_ref()
        .unwrap_or_else(|| panic!("the step needs a table of fields"));
    let mut body = json!({"prompt": DEFAULT_PROMPT});
    for row in &table.rows {
        let [field, value] = row.as_slice() else {
            panic!("each row is `| field | value |`: {row:?}")
        };
        body[field.as_str()] = cell_value(value);
    }
    w.enqueue(&name, body).await;
}

#[given(expr = "task {string} is running on pool {string}")]
async fn running(w: &mut Orch, name: String, pool: String) {
    let max_tokens = long_task(w, &pool);
    w.enqueue_admitted(&name, body(&pool, max_tokens, None))
        .await;
    w.wait_for_state(&name, "running", WAIT).await;
}

#[given(expr = "task {string} is running with max_tokens {int} on pool {string}")]
async fn running_with(w: &mut Orch, name: String, max_tokens: u64, pool: String) {
    w.enqueue_admitted(&name, body(&pool, max_tokens, None))
        .await;
    w.wait_for_state(&name, "running", WAIT).await;
}

/// A queued task asks for 5 tokens.
#[given(expr = "a(n) {priority} task {string} is queued on pool {string}")]
async fn queued(w: &mut Orch, priority: Priority, name: String, pool: String) {
    w.enqueue_admitted(&name, body(&pool, 5, Some(priority)))
        .await;
    let status = w.status_of(&name).await;
    assert_eq!(status["state"], "queued", "task {name}: {status}");
}

#[given(expr = "task {string} has completed on pool {string}")]
async fn completed(w: &mut Orch, name: String, pool: String) {
    w.enqueue_admitted(&name, body(&pool, 3, None)).await;
    let reader = w.finished_stream(&name, WAIT).await;
    assert!(
        matches!(
            reader.last(),
            Some(orchestrator_client::sse::TaskEvent::End(_))
        ),
        "task {name} did not complete: {:?}",
        reader.events
    );
}

#[when(expr = "I read task {string}")]
async fn read_task(w: &mut Orch, name: String) {
    let path = format!("/v1/tasks/{}", w.task(&name).id);
    let request = w.request(reqwest::Method::GET, &path).await;
    w.send(request).await;
}

/// Cancels, then notes how many tokens the task had produced once the cancel was answered.
#[when(expr = "I cancel task {string}")]
async fn cancel(w: &mut Orch, name: String) {
    let path = format!("/v1/tasks/{}/cancel", w.task(&name).id);
    let request = w.request(reqwest::Method::POST, &path).await;
    let answer = w.send(request).await.clone();
    if answer.status == 200 {
        let tokens = w.status_of(&name).await["tokens_out"]
            .as_u64()
            .unwrap_or_default();
        w.tokens_at_cancel.insert(name, tokens);
    }
}

#[when(expr = "task {string} has reached the state {string}")]
async fn has_reached(w: &mut Orch, name: String, state: String) {
    w.wait_for_state(&name, &state, WAIT).await;
}

#[then(expr = "task {string} reaches the state {string} within {int} ms")]
async fn reaches(w: &mut Orch, name: String, state: String, ms: u64) {
    w.wait_for_state(&name, &state, Duration::from_millis(ms))
        .await;
}

#[then(expr = "task {string} is in the state {string}")]
async fn is_in_state(w: &mut Orch, name: String, state: String) {
    let status = w.status_of(&name).await;
    assert_eq!(status["state"], json!(state), "task {name}: {status}");
}

#[then(expr = "task {string} has produced {int} token(s)")]
async fn produced(w: &mut Orch, name: String, tokens: u64) {
    let status = w.status_of(&name).await;
    assert_eq!(status["tokens_out"], json!(tokens), "task {name}: {status}");
}

#[then(expr = "task {string} was admitted at queue position {int}")]
fn admitted_at(w: &mut Orch, name: String, position: u64) {
    let body = &w.task(&name).body;
    assert_eq!(
        body["queue_position"],
        json!(position),
        "task {name}: {body}"
    );
}

#[then(expr = "task {string} was predicted to start no earlier than task {string}")]
fn predicted_no_earlier(w: &mut Orch, later: String, earlier: String) {
    let predicted = |name: &str| {
        w.task(name).body["predicted_start_ms"]
            .as_u64()
            .unwrap_or_else(|| panic!("task {name} has no predicted_start_ms"))
    };
    let (l, e) = (predicted(&later), predicted(&earlier));
    assert!(
        l >= e,
        "task {later} predicted at {l} ms, before task {earlier} at {e} ms"
    );
}
