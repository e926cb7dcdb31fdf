//! orchestratord end to end, data plane and control plane: a real server on a loopback port,
//! driven over HTTP with the generated clients and, where the exact bytes matter, with raw
//! requests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeSet;
use std::time::Duration;

use api_types::{ErrorCode, FullPolicy};
use futures::StreamExt;
use orchestrator_client::sse::{TaskEvent, events};
use serde_json::{Value, json};

mod support;
use support::*;

async fn default_server() -> Server {
    start(&pool_yaml("slots: 4", "token_delay_ms: 0", "")).await
}

/// One pool `default` with the given pool-level, engine-level and top-level YAML lines.
fn pool_yaml(pool: &str, engine: &str, top: &str) -> String {
    format!(
        "pools:\n  - id: default\n    engine:\n      kind: sim\n      {engine}\n    model:\n      name: sim-small\n    {pool}\n{top}\n"
    )
}

async fn error_body(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

/// Reads a whole event stream as raw text.
async fn raw_stream(server: &Server, task_id: &str) -> String {
    open_stream(server, task_id).await.text().await.unwrap()
}

/// The code of the stream's terminal `error` event (panics when the stream did not end in one).
fn error_code(events: &[TaskEvent]) -> ErrorCode {
    let TaskEvent::Error(error) = terminal(events) else {
        panic!("{events:?}")
    };
    error.code
}

#[spectrace::covers("ORCH-2001", "ORCH-2009", kind = "e2e")]
#[tokio::test]
async fn enqueue_answers_202_with_position_and_location_and_echoes_correlation_ids() {
    let server = default_server().await;
    let response = http()
        .post(format!("{}/v1/tasks", server.base))
        .header("x-correlation-id", "req-42:a.b_c")
        .json(&json!({"pool": "default", "prompt": "a haiku", "max_tokens": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-correlation-id"], "req-42:a.b_c");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/tasks/{}/events", body["task_id"].as_str().unwrap())
    );
    assert_eq!(body["pool"], "default");
    assert_eq!(body["priority"], "interactive");
    assert_eq!(body["queue_position"], 0);
    assert_eq!(body["predicted_start_ms"], 0);

    // An invalid correlation id is replaced by a fresh UUID, also on errors.
    let response = http()
        .post(format!("{}/v1/tasks", server.base))
        .header("x-correlation-id", "has spaces")
        .json(&json!({"pool": "nope", "prompt": "x", "max_tokens": 1}))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let body = error_body(response, 422, "UNKNOWN_POOL").await;
    assert_eq!(body["error"]["correlation_id"], id);
}

#[spectrace::covers("ORCH-2002", "ORCH-3029", kind = "e2e")]
#[tokio::test]
async fn the_event_stream_is_framed_exactly_and_ends_once() {
    let server = default_server().await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "a haiku", "max_tokens": 20, "seed": 1}),
    )
    .await;
    let text = raw_stream(&server, task["task_id"].as_str().unwrap()).await;
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    let mut names = Vec::new();
    for frame in &frames {
        let lines: Vec<&str> = frame.split('\n').collect();
        assert_eq!(
            lines.len(),
            2,
            "one event line and one data line: {frame:?}"
        );
        let name = lines[0].strip_prefix("event: ").unwrap();
        let data: Value = serde_json::from_str(lines[1].strip_prefix("data: ").unwrap()).unwrap();
        assert!(data.is_object());
        names.push(name.to_owned());
    }
    assert_eq!(names.first().map(String::as_str), Some("started"));
    assert_eq!(names.iter().filter(|n| *n == "token").count(), 20);
    assert_eq!(
        names.iter().filter(|n| *n == "metrics").count(),
        1,
        "one metrics event per 16 tokens"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| *n == "end" || *n == "error")
            .count(),
        1
    );
    assert_eq!(names.last().map(String::as_str), Some("end"));
    let allowed: BTreeSet<&str> = ["started", "token", "metrics", "end", "error"].into();
    assert!(names.iter().all(|n| allowed.contains(n.as_str())));
    let end: Value =
        serde_json::from_str(frames.last().unwrap().split("data: ").nth(1).unwrap()).unwrap();
    for field in [
        "tokens_in",
        "tokens_out",
        "finish_reason",
        "queue_wait_ms",
        "ttft_ms",
        "decode_ms",
        "seed",
        "model",
        "replica_id",
    ] {
        assert!(end.get(field).is_some(), "end lacks {field}: {end}");
    }
    assert_eq!(end["tokens_out"], 20);
    assert_eq!(end["seed"], 1);
    assert_eq!(end["model"], "sim-small");
}

/// A pool with one slot whose tasks take long enough to keep the queue occupied.
fn busy_pool(policy: &str, capacity: u32) -> String {
    pool_yaml(
        &format!(
            "slots: 1\n    queue:\n      full_policy: {policy}\n      capacity:\n        interactive: {capacity}\n        batch: {capacity}"
        ),
        "token_delay_ms: 20",
        "",
    )
}

#[spectrace::covers("ORCH-2007", "ORCH-3005", "ORCH-3048", kind = "e2e")]
#[tokio::test]
async fn a_full_queue_under_reject_answers_429_with_backoff_headers() {
    let server = start(&busy_pool("reject", 1)).await;
    let body = json!({"pool": "default", "prompt": "p", "max_tokens": 50});
    let running = enqueue_ok(&server, body.clone()).await;
    wait_running(&server, &running).await;
    enqueue_ok(&server, body.clone()).await; // queued
    let response = enqueue(&server, body).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let backoff: u64 = response.headers()["x-backoff-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = error_body(response, 429, "QUEUE_FULL").await;
    assert_eq!(body["error"]["policy"], "reject");
    assert_eq!(body["error"]["retriable"], true);
    assert_eq!(body["error"]["retry_after_ms"], backoff);
    assert!((1..=60_000).contains(&backoff));
    assert_eq!(retry_after, backoff.div_ceil(1000).max(1));
}

#[spectrace::covers("ORCH-3005", kind = "e2e")]
#[tokio::test]
async fn drop_lru_evicts_the_oldest_queued_task() {
    let server = start(&busy_pool("drop-lru", 1)).await;
    let body = json!({"pool": "default", "prompt": "p", "max_tokens": 50});
    let running = enqueue_ok(&server, body.clone()).await;
    wait_running(&server, &running).await;
    let victim = enqueue_ok(&server, body.clone()).await;
    let newer = enqueue_ok(&server, body).await;
    assert_eq!(newer["queue_position"], 0);
    let events = typed_stream(&server, victim["task_id"].as_str().unwrap()).await;
    assert_eq!(error_code(&events), ErrorCode::QueueEvicted);
    assert!(tokens(&events).is_empty());
}

#[spectrace::covers("ORCH-3005", kind = "e2e")]
#[tokio::test]
async fn shed_low_priority_sheds_batch_work_under_interactive_pressure() {
    let server = start(&busy_pool("shed-low-priority", 2)).await;
    let running = json!({"pool": "default", "prompt": "p", "max_tokens": 50});
    let running = enqueue_ok(&server, running).await;
    wait_running(&server, &running).await;
    let batch = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5, "priority": "batch"}),
    )
    .await;
    // One interactive task fills the interactive queue (capacity 2) to half: the batch task goes.
    enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let events = typed_stream(&server, batch["task_id"].as_str().unwrap()).await;
    assert_eq!(error_code(&events), ErrorCode::ShedLowPriority);
    // A full interactive queue refuses under this policy.
    enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let refused = enqueue(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let body = error_body(refused, 429, "QUEUE_FULL").await;
    assert_eq!(body["error"]["policy"], "shed-low-priority");
}

#[spectrace::covers("ORCH-2003", "ORCH-3025", kind = "e2e")]
#[tokio::test]
async fn cancel_while_streaming_stops_tokens_and_is_idempotent() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 10", "")).await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 200}),
    )
    .await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let response = open_stream(&server, &id).await;
    let mut stream = Box::pin(events(response.bytes_stream()));
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|e| matches!(e, TaskEvent::Token(_)))
        .count()
        < 3
    {
        seen.push(stream.next().await.unwrap().unwrap());
    }
    let answer = cancel(&server, &id).await;
    assert_eq!(answer["state"], "cancelled");
    while let Some(event) = stream.next().await {
        seen.push(event.unwrap());
    }
    assert_eq!(error_code(&seen), ErrorCode::Cancelled);
    assert!(!seen[..seen.len() - 1].iter().any(TaskEvent::is_terminal));
    let tokens_before = tokens(&seen).len();
    assert!(tokens_before < 200);
    // Twice: nothing changes.
    assert_eq!(cancel(&server, &id).await["state"], "cancelled");
    let status: Value = get_json(&server, &format!("/v1/tasks/{id}")).await;
    assert_eq!(status["state"], "cancelled");
    assert_eq!(
        status["tokens_out"], tokens_before as u64,
        "no token after cancel"
    );
    // The slot is free again: a new task completes.
    let next = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 2}),
    )
    .await;
    let events = typed_stream(&server, next["task_id"].as_str().unwrap()).await;
    assert!(matches!(terminal(&events), TaskEvent::End(_)));
}

#[spectrace::covers("ORCH-2003", "ORCH-3025", kind = "e2e")]
#[tokio::test]
async fn cancel_while_queued_and_of_a_finished_task() {
    let server = start(&busy_pool("reject", 4)).await;
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 100}),
    )
    .await;
    wait_running(&server, &running).await;
    let queued = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let id = queued["task_id"].as_str().unwrap();
    assert_eq!(cancel(&server, id).await["state"], "cancelled");
    let events = typed_stream(&server, id).await;
    assert!(matches!(events.first(), Some(TaskEvent::Started(_))));
    assert_eq!(error_code(&events), ErrorCode::Cancelled);
    assert!(
        tokens(&events).is_empty(),
        "a cancelled queued task never runs"
    );
    cancel(&server, running["task_id"].as_str().unwrap()).await;
    let done = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    let done_id = done["task_id"].as_str().unwrap();
    typed_stream(&server, done_id).await;
    assert_eq!(cancel(&server, done_id).await["state"], "completed");
    let unknown = http()
        .post(format!("{}/v1/tasks/nope/cancel", server.base))
        .send()
        .await
        .unwrap();
    error_body(unknown, 404, "NOT_FOUND").await;
}

#[spectrace::covers("ORCH-3026", kind = "e2e")]
#[tokio::test]
async fn a_disconnect_while_queued_cancels_the_task() {
    let server = start(&busy_pool("reject", 4)).await;
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 100}),
    )
    .await;
    wait_running(&server, &running).await;
    let queued = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let id = queued["task_id"].as_str().unwrap().to_owned();
    let response = open_stream(&server, &id).await;
    let mut stream = Box::pin(events(response.bytes_stream()));
    assert!(matches!(
        stream.next().await,
        Some(Ok(TaskEvent::Started(_)))
    ));
    drop(stream);
    let state = wait_for_state(&server, &id, "cancelled").await["state"].clone();
    assert_eq!(state, "cancelled");
}

#[spectrace::covers("ORCH-2014", kind = "e2e")]
#[tokio::test]
async fn a_second_reader_gets_409_while_the_stream_is_open() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 50}),
    )
    .await;
    let id = task["task_id"].as_str().unwrap();
    let first = open_stream(&server, id).await;
    assert_eq!(first.status(), 200);
    let second = open_stream(&server, id).await;
    error_body(second, 409, "STREAM_CONFLICT").await;
    let unknown = http()
        .get(format!("{}/v1/no/such/route", server.base))
        .send()
        .await
        .unwrap();
    error_body(unknown, 404, "NOT_FOUND").await;
    let wrong = http()
        .delete(format!("{}/v1/capabilities", server.base))
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().contains_key("allow"));
    error_body(wrong, 405, "METHOD_NOT_ALLOWED").await;
    drop(first);
}

#[spectrace::covers(
    "ORCH-2006",
    "ORCH-2012",
    "ORCH-2013",
    "ORCH-3008",
    "ORCH-3009",
    kind = "e2e"
)]
#[tokio::test]
async fn invalid_requests_get_the_error_envelope_with_the_right_code() {
    let server = start(&pool_yaml(
        "limits:\n      ctx_max: 10\n      max_tokens: 8",
        "token_delay_ms: 0",
        "",
    ))
    .await;
    let cases = [
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 1, "bogus": 1}),
            400,
            "INVALID_REQUEST",
            "bogus",
        ),
        (
            json!({"pool": "default", "prompt": "p"}),
            400,
            "INVALID_REQUEST",
            "max_tokens",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 0}),
            400,
            "INVALID_REQUEST",
            "max_tokens",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": "four"}),
            400,
            "INVALID_REQUEST",
            "max_tokens",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 1, "priority": "urgent"}),
            400,
            "INVALID_REQUEST",
            "priority",
        ),
        (
            // serde reads a struct from an array of its fields too; the contract does not.
            json!([null, 1, null, "default", null, "p", null, null, null]),
            400,
            "INVALID_REQUEST",
            "object",
        ),
        (
            // `model` is optional, but null is not a string: absent and null are not the same.
            json!({"pool": "default", "prompt": "p", "max_tokens": 1, "model": null}),
            400,
            "INVALID_REQUEST",
            "field `model`",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 1, "temperature": 3.0}),
            400,
            "INVALID_REQUEST",
            "temperature",
        ),
        (
            json!({"pool": "gpu", "prompt": "p", "max_tokens": 1}),
            422,
            "UNKNOWN_POOL",
            "gpu",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 1, "model": "other"}),
            422,
            "UNKNOWN_MODEL",
            "other",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 9}),
            422,
            "MAX_TOKENS_TOO_LARGE",
            "8",
        ),
        (
            json!({"pool": "default", "prompt": "a b c d e", "max_tokens": 8}),
            422,
            "CONTEXT_TOO_LONG",
            "10",
        ),
    ];
    for (body, status, code, mention) in cases {
        let response = enqueue(&server, body.clone()).await;
        let error = error_body(response, status, code).await;
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{body}: {error}");
        // An error of the body as a whole (a missing field) names no field path.
        assert!(!message.contains("field `.`"), "{body}: {error}");
        for field in ["retriable", "retry_after_ms", "policy", "correlation_id"] {
            assert!(error["error"].get(field).is_some(), "{error}");
        }
    }
    let not_json = http()
        .post(format!("{}/v1/tasks", server.base))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    error_body(not_json, 400, "INVALID_REQUEST").await;
    let text = http()
        .post(format!("{}/v1/tasks", server.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    error_body(text, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let big = format!(
        "{{\"pool\":\"default\",\"prompt\":\"{}\",\"max_tokens\":1}}",
        "x".repeat(1024 * 1024 + 1)
    );
    let large = http()
        .post(format!("{}/v1/tasks", server.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    error_body(large, 413, "PAYLOAD_TOO_LARGE").await;
    // Refused tasks never enter the queue: the pool still admits at position 0.
    assert_eq!(
        enqueue_ok(
            &server,
            json!({"pool": "default", "prompt": "p", "max_tokens": 1})
        )
        .await["queue_position"],
        0
    );
}

#[spectrace::covers(
    "ORCH-2004",
    "ORCH-2005",
    "ORCH-3022",
    "ORCH-3023",
    "ORCH-3024",
    kind = "e2e"
)]
#[tokio::test]
async fn sessions_track_budgets_and_can_be_deleted() {
    let server = start(&pool_yaml(
        "slots: 2",
        "token_delay_ms: 0",
        "sessions:\n  max_turns: 2\n  max_tokens: 40",
    ))
    .await;
    let body =
        json!({"pool": "default", "prompt": "one two", "max_tokens": 10, "session_id": "chat-1"});
    let response = enqueue(&server, body.clone()).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-budget-turns-remaining"], "1");
    assert_eq!(response.headers()["x-budget-tokens-remaining"], "28");
    let task: Value = response.json().await.unwrap();
    typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    let session: Value = get_json(&server, "/v1/sessions/chat-1").await;
    assert_eq!(session["turns_used"], 1);
    assert_eq!(session["turns_max"], 2);
    assert_eq!(session["tokens_used"], 12);
    assert_eq!(session["tokens_max"], 40);
    assert!(session["ttl_remaining_ms"].as_u64().unwrap() > 0);
    let too_big = enqueue(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 30, "session_id": "chat-1"}),
    )
    .await;
    error_body(too_big, 422, "SESSION_BUDGET_EXHAUSTED").await;
    enqueue_ok(&server, body.clone()).await;
    error_body(
        enqueue(&server, body.clone()).await,
        422,
        "SESSION_BUDGET_EXHAUSTED",
    )
    .await;
    let deleted = http()
        .delete(format!("{}/v1/sessions/chat-1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(deleted.text().await.unwrap(), "");
    error_body(
        http()
            .get(format!("{}/v1/sessions/chat-1", server.base))
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    error_body(
        http()
            .delete(format!("{}/v1/sessions/chat-1", server.base))
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    enqueue_ok(&server, body).await; // a new session with full budgets
}

/// `api_version` (ORCH-3053) and the published documents (ORCH-3054) are checked by the
/// provider verification in `tests/provider/`.
#[spectrace::covers("ORCH-2008", "ORCH-3051", kind = "e2e")]
#[tokio::test]
async fn capabilities_describe_every_pool() {
    let server = default_server().await;
    let client = orchestrator_client::data::Client::new(&server.base);
    let caps = client.get_capabilities(None).await.unwrap().into_inner();
    let pool = &caps.pools[0];
    assert_eq!(pool.id, "default");
    assert_eq!(pool.model, "sim-small");
    assert_eq!(pool.full_policy, FullPolicy::Reject);
    assert_eq!(
        (pool.queue_capacity.interactive, pool.queue_capacity.batch),
        (64, 256)
    );
    assert!(pool.model_digest.starts_with("sha256:") && pool.model_digest.len() == 71);
}

#[spectrace::covers("ORCH-2010", kind = "e2e")]
#[tokio::test]
async fn keep_alive_comments_flow_while_queued() {
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 50",
        "sse:\n  keepalive_ms: 20",
    ))
    .await;
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 10}),
    )
    .await;
    wait_running(&server, &running).await;
    let queued = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    let text = raw_stream(&server, queued["task_id"].as_str().unwrap()).await;
    let before_first_token = text.split("event: token").next().unwrap();
    assert!(
        before_first_token.matches(": keep-alive\n\n").count() >= 3,
        "{text}"
    );
}

#[spectrace::covers("ORCH-3056", "ORCH-3057", "ORCH-3058", kind = "e2e")]
#[tokio::test]
async fn token_events_are_byte_identical_across_replicas_and_servers() {
    // Two servers, each with two replicas of one slot; the same seed on every replica gives
    // the same bytes.
    let yaml = pool_yaml("replicas: 2\n    slots: 1", "token_delay_ms: 0", "");
    let one = start(&yaml).await;
    let two = start(&yaml).await;
    let token_frames = |text: &str| -> String {
        text.split("\n\n")
            .filter(|f| f.starts_with("event: token"))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    for seed in 0..64u64 {
        let body =
            json!({"pool": "default", "prompt": "the same prompt", "max_tokens": 8, "seed": seed});
        let mut transcripts = Vec::new();
        for server in [&one, &two] {
            // Two tasks at once: they land on different replicas.
            let a = enqueue_ok(server, body.clone()).await;
            let b = enqueue_ok(server, body.clone()).await;
            let (ta, tb) = tokio::join!(
                raw_stream(server, a["task_id"].as_str().unwrap()),
                raw_stream(server, b["task_id"].as_str().unwrap())
            );
            transcripts.push(token_frames(&ta));
            transcripts.push(token_frames(&tb));
        }
        assert!(!transcripts[0].is_empty());
        assert!(
            transcripts.iter().all(|t| t == &transcripts[0]),
            "seed {seed}"
        );
    }
    // Without a seed, the seed is derived from the task id and reported.
    let task = enqueue_ok(
        &one,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    let id = task["task_id"].as_str().unwrap();
    let events = typed_stream(&one, id).await;
    let TaskEvent::End(end) = terminal(&events) else {
        panic!()
    };
    assert_eq!(end.seed, orchestrator_core::sampler::default_seed(id));
}

#[spectrace::covers("ORCH-3038", "ORCH-3041", kind = "e2e")]
#[tokio::test]
async fn metrics_need_the_control_key() {
    let server = default_server().await;
    let missing = scrape(&server, None).await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    error_body(missing, 401, "UNAUTHENTICATED").await;
    let wrong = scrape(&server, Some("not-the-key")).await;
    let body = error_body(wrong, 403, "FORBIDDEN").await;
    assert!(!body.to_string().contains("not-the-key") && !body.to_string().contains(CONTROL_KEY));
    let right = scrape(&server, Some(CONTROL_KEY)).await;
    assert_eq!(right.status(), 200);
    assert!(
        right.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
}

#[spectrace::covers("ORCH-3039", kind = "e2e")]
#[tokio::test]
async fn without_a_control_key_the_control_plane_is_closed() {
    let (_service, server) = start_app(
        &pool_yaml("slots: 1", "token_delay_ms: 0", ""),
        orchestratord::auth::Keys::default(),
        orchestratord::log::Logger::discard(),
    )
    .await;
    let base = server.base.clone();
    for key in [None, Some("anything")] {
        let mut request = http().get(format!("{base}/metrics"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        error_body(request.send().await.unwrap(), 401, "UNAUTHENTICATED").await;
    }
    assert_eq!(
        http()
            .get(format!("{base}/livez"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[spectrace::covers("ORCH-2105", kind = "e2e")]
#[tokio::test]
async fn liveness_and_readiness_are_public() {
    let server = default_server().await;
    let live: Value = get_json(&server, "/livez").await;
    assert_eq!(live, json!({"status": "live"}));
    let ready = http()
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

#[spectrace::covers("ORCH-3027", "ORCH-3034", "ORCH-3041", kind = "e2e")]
#[tokio::test]
async fn task_events_are_logged_as_json_lines_with_the_spec_fields() {
    let (logger, captured) = orchestratord::log::Logger::captured();
    let keys = orchestratord::auth::Keys::new([CONTROL_KEY]);
    let (_service, server) = start_app(
        &pool_yaml("slots: 1", "token_delay_ms: 0", ""),
        keys,
        logger,
    )
    .await;
    let response = http()
        .post(format!("{}/v1/tasks", server.base))
        .header("x-correlation-id", "log-test-1")
        .json(&json!({"pool": "default", "prompt": "a secret prompt", "max_tokens": 3, "session_id": "s-1"}))
        .send()
        .await
        .unwrap();
    let task: Value = response.json().await.unwrap();
    let id = task["task_id"].as_str().unwrap();
    typed_stream(&server, id).await;
    let _ = scrape(&server, Some("wrong-key")).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let text = captured.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["ts"].is_string() && l["level"].is_string() && l["msg"].is_string())
    );
    assert!(
        lines
            .iter()
            .any(|l| l["msg"] == "config" && l["config"]["pools"][0]["id"] == "default")
    );
    let of_task: Vec<&Value> = lines.iter().filter(|l| l["task_id"] == id).collect();
    let msgs: Vec<&str> = of_task.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["task admitted", "task dispatched", "task ended"]);
    for line in &of_task {
        for field in orchestratord::log::TASK_FIELDS {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
        assert_eq!(line["correlation_id"], "log-test-1");
        assert_eq!(line["session_id"], "s-1");
        assert_eq!(line["engine"], "sim");
    }
    assert_eq!(of_task[0]["queue_position"], 0);
    assert_eq!(of_task[1]["replica_id"], "default-0");
    assert_eq!(of_task[2]["outcome"], "completed");
    assert_eq!(of_task[2]["tokens_out"], 3);
    assert!(!text.contains("a secret prompt"), "prompts are not logged");
    assert!(
        !text.contains(CONTROL_KEY) && !text.contains("wrong-key"),
        "keys are not logged"
    );
}

/// The stream with its unstable parts (task id, timings) replaced by fixed markers.
fn canonical(transcript: &str, task_id: &str) -> String {
    transcript
        .split("\n\n")
        .filter(|frame| !frame.is_empty() && !frame.starts_with(':'))
        .map(|frame| {
            let (event, data) = frame.split_once('\n').unwrap();
            let mut value: Value =
                serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            for field in [
                "elapsed_ms",
                "queue_wait_ms",
                "ttft_ms",
                "decode_ms",
                "predicted_start_ms",
            ] {
                if value.get(field).is_some() {
                    value[field] = json!("<ms>");
                }
            }
            if value.get("task_id").is_some() {
                value["task_id"] = json!("<task_id>");
            }
            let data = value.to_string().replace(task_id, "<task_id>");
            format!("{event}\ndata: {data}")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[spectrace::covers("ORCH-2002", "ORCH-3056", kind = "e2e")]
#[tokio::test]
async fn the_canonical_transcript_of_a_fixed_seed() {
    let server = default_server().await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "Write a haiku about queues.", "max_tokens": 17, "seed": 42}),
    )
    .await;
    let id = task["task_id"].as_str().unwrap();
    let transcript = raw_stream(&server, id).await;
    insta::assert_snapshot!(canonical(&transcript, id));
}

#[spectrace::covers("ORCH-3040", "ORCH-3042", kind = "e2e")]
#[tokio::test]
async fn configured_data_keys_close_the_data_plane() {
    let key_file = std::env::temp_dir().join(format!("orchd-data-key-{}", std::process::id()));
    std::fs::write(&key_file, "data-key-1\n").unwrap();
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 0",
        &format!("auth:\n  data_keys:\n    - file: {}", key_file.display()),
    ))
    .await;
    let body = json!({"pool": "default", "prompt": "p", "max_tokens": 1});
    let missing = enqueue(&server, body.clone()).await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    error_body(missing, 401, "UNAUTHENTICATED").await;
    let wrong = http()
        .post(format!("{}/v1/tasks", server.base))
        .bearer_auth("nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    error_body(wrong, 403, "FORBIDDEN").await;
    let right = http()
        .post(format!("{}/v1/tasks", server.base))
        .bearer_auth("data-key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 202);
    let caps = http()
        .get(format!("{}/v1/capabilities", server.base))
        .send()
        .await
        .unwrap();
    error_body(caps, 401, "UNAUTHENTICATED").await;
    // Probes stay public.
    assert_eq!(
        http()
            .get(format!("{}/livez", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    std::fs::remove_file(&key_file).unwrap();
}

#[spectrace::covers("ORCH-3010", kind = "e2e")]
#[tokio::test]
async fn an_infeasible_deadline_is_refused_and_a_passed_one_expires_the_task() {
    let server = start(&busy_pool("reject", 4)).await;
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 100}),
    )
    .await;
    wait_running(&server, &running).await;
    let refused = enqueue(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1, "deadline_ms": 1}),
    )
    .await;
    error_body(refused, 422, "DEADLINE_INFEASIBLE").await;
    // A deadline that looked feasible passes while the task waits: it expires in the queue.
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 50", "")).await;
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 40}),
    )
    .await;
    wait_running(&server, &running).await;
    let doomed = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1, "deadline_ms": 1500}),
    )
    .await;
    let events = typed_stream(&server, doomed["task_id"].as_str().unwrap()).await;
    assert_eq!(error_code(&events), ErrorCode::DeadlineExceeded);
    let path = format!("/v1/tasks/{}", doomed["task_id"].as_str().unwrap());
    let status = get_json(&server, &path).await;
    assert_eq!(status["state"], "expired");
}

#[spectrace::covers("ORCH-3060", "ORCH-3043", kind = "e2e")]
#[tokio::test]
async fn an_engine_failure_ends_the_task_with_engine_error() {
    let server = start(&pool_yaml("slots: 1", "fail_after_tokens: 2", "")).await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 10}),
    )
    .await;
    let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    assert_eq!(tokens(&events).len(), 2);
    let TaskEvent::Error(error) = terminal(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(error.code, ErrorCode::EngineError);
    assert!(error.retriable);
}

#[spectrace::covers("ORCH-3018", "ORCH-3060", kind = "e2e")]
#[tokio::test]
async fn a_hung_engine_times_out_idle_and_frees_the_slot() {
    let server = start(&pool_yaml(
        "slots: 1",
        "hang_after_tokens: 1",
        "timeouts:\n  token_idle_ms: 100",
    ))
    .await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 10}),
    )
    .await;
    let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    assert_eq!(tokens(&events).len(), 1);
    assert_eq!(error_code(&events), ErrorCode::TimeoutIdle);
    let next = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    assert_eq!(
        typed_stream(&server, next["task_id"].as_str().unwrap())
            .await
            .len(),
        3,
        "started, token, end"
    );
}

#[spectrace::covers("ORCH-3017", kind = "e2e")]
#[tokio::test]
async fn the_wall_clock_limit_ends_a_long_task() {
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 30",
        "timeouts:\n  task_wall_ms: 200",
    ))
    .await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 100}),
    )
    .await;
    let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    assert_eq!(error_code(&events), ErrorCode::TimeoutWall);
    assert!(tokens(&events).len() < 100);
}

#[spectrace::covers("ORCH-3026", kind = "e2e")]
#[tokio::test]
async fn a_disconnect_while_streaming_cancels_the_task() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 200}),
    )
    .await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let response = open_stream(&server, &id).await;
    let mut stream = Box::pin(events(response.bytes_stream()));
    let mut tokens_seen = 0;
    while tokens_seen < 2 {
        if let Some(Ok(TaskEvent::Token(_))) = stream.next().await {
            tokens_seen += 1;
        }
    }
    drop(stream);
    let status = wait_for_state(&server, &id, "cancelled").await;
    assert_eq!(status["state"], "cancelled");
    let frozen = status["tokens_out"].clone();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let later: Value = get_json(&server, &format!("/v1/tasks/{id}")).await;
    assert_eq!(later["tokens_out"], frozen, "no token after the disconnect");
}

#[spectrace::covers("ORCH-3002", "ORCH-3014", "ORCH-3015", "ORCH-2105", kind = "e2e")]
#[tokio::test]
async fn a_pool_without_a_ready_replica_answers_503_and_readyz_names_it() {
    let server = start(&pool_yaml("slots: 1", "fail_health_checks: true", "")).await;
    let refused = enqueue(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    let body = error_body(refused, 503, "POOL_UNAVAILABLE").await;
    assert_eq!(body["error"]["retriable"], true);
    let ready = http()
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    let body = error_body(ready, 503, "POOL_UNAVAILABLE").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("default")
    );
    let metrics = scrape(&server, Some(CONTROL_KEY))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("orchd_replica_ready{pool=\"default\",replica=\"default-0\"} 0"),
        "{metrics}"
    );
}

#[spectrace::covers("ORCH-2011", kind = "e2e")]
#[tokio::test]
async fn ended_tasks_stay_readable_until_swept() {
    let (service, server) = start_app(
        &pool_yaml("slots: 1", "token_delay_ms: 0", ""),
        orchestratord::auth::Keys::default(),
        orchestratord::log::Logger::discard(),
    )
    .await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 2}),
    )
    .await;
    let id = task["task_id"].as_str().unwrap();
    typed_stream(&server, id).await;
    // Within the retention period (300 s in service) the task stays readable.
    service.sweep(orchestratord::service::RETENTION);
    assert_eq!(service.tasks_held(), 1);
    let status = http()
        .get(format!("{}/v1/tasks/{id}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    // After it, the sweep forgets it.
    service.sweep(Duration::ZERO);
    assert_eq!(service.tasks_held(), 0);
    error_body(
        http()
            .get(format!("{}/v1/tasks/{id}", server.base))
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
}

#[spectrace::covers("ORCH-2103", "ORCH-2104", "ORCH-3063", kind = "e2e")]
#[tokio::test]
async fn pool_health_and_replica_sets() {
    let server = start(&pool_yaml(
        "replicas: 2\n    slots: 3",
        "token_delay_ms: 0",
        "",
    ))
    .await;
    let client = orchestrator_client::control::Client::new_with_client(
        &server.base,
        orchestrator_client::http_client_with_key(CONTROL_KEY).unwrap(),
    );
    let health = client
        .get_pool_health("default", None)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.pool_id, "default");
    assert!(health.live && health.ready && !health.draining);
    assert_eq!(health.drain_remaining_ms, None);
    assert_eq!((health.replicas_ready, health.replicas_total), (2, 2));
    assert_eq!(
        (health.queue_depth.interactive, health.queue_depth.batch),
        (0, 0)
    );
    assert_eq!(health.model, "sim-small");
    assert!(!health.engine_version.is_empty());
    let sets = client.list_replica_sets(None).await.unwrap().into_inner();
    let set = &sets.replica_sets[0];
    assert_eq!(set.pool_id, "default");
    assert!(set.model_digest.starts_with("sha256:"));
    let ids: Vec<&str> = set.replicas.iter().map(|r| r.replica_id.as_str()).collect();
    assert_eq!(ids, ["default-0", "default-1"]);
    assert!(
        set.replicas
            .iter()
            .all(|r| r.ready && r.slots_total.get() == 3 && r.slots_busy == 0)
    );
    error_body(
        control(&server, reqwest::Method::GET, "/v1/pools/nope/health", None).await,
        404,
        "NOT_FOUND",
    )
    .await;
    for path in ["/v1/pools/default/health", "/v1/replicasets"] {
        error_body(
            http()
                .get(format!("{}{path}", server.base))
                .send()
                .await
                .unwrap(),
            401,
            "UNAUTHENTICATED",
        )
        .await;
        error_body(
            http()
                .get(format!("{}{path}", server.base))
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap(),
            403,
            "FORBIDDEN",
        )
        .await;
    }
}

#[spectrace::covers("ORCH-2101", kind = "e2e")]
#[tokio::test]
async fn drain_closes_the_pool_and_ends_what_is_left_at_the_deadline() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 200}),
    )
    .await;
    wait_running(&server, &running).await;
    let queued = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let drained = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/drain",
        Some(json!({"deadline_ms": 300})),
    )
    .await;
    assert_eq!(drained.status(), 202);
    let body: Value = drained.json().await.unwrap();
    assert_eq!(
        body,
        json!({"pool_id": "default", "draining": true, "deadline_ms": 300})
    );
    // Closed to new tasks, with a retry hint.
    let refused = enqueue(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    error_body(refused, 503, "POOL_DRAINING").await;
    // Progress is visible in health.
    let health: Value = control(
        &server,
        reqwest::Method::GET,
        "/v1/pools/default/health",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(health["draining"], true);
    assert!(health["drain_remaining_ms"].as_u64().unwrap() <= 300);
    // A second drain keeps the first deadline.
    let again: Value = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/drain",
        Some(json!({"deadline_ms": 3_000_000})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(again["deadline_ms"].as_u64().unwrap() <= 300);
    // Both the running and the queued task end with DRAIN_DEADLINE.
    for task in [&running, &queued] {
        let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
        assert_eq!(error_code(&events), ErrorCode::DrainDeadline);
    }
    for (pool, deadline_ms, status, code) in [
        ("nope", 1, 404, "NOT_FOUND"),
        ("default", 0, 400, "INVALID_REQUEST"),
        ("default", 3_600_001, 400, "INVALID_REQUEST"),
    ] {
        let path = format!("/v1/pools/{pool}/drain");
        let body = Some(json!({ "deadline_ms": deadline_ms }));
        let response = control(&server, reqwest::Method::POST, &path, body).await;
        error_body(response, status, code).await;
    }
}

#[spectrace::covers("ORCH-2101", kind = "e2e")]
#[tokio::test]
async fn tasks_that_finish_before_the_drain_deadline_complete() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 5", "")).await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 5}),
    )
    .await;
    let drained = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/drain",
        Some(json!({"deadline_ms": 5000})),
    )
    .await;
    assert_eq!(drained.status(), 202);
    let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    assert!(matches!(terminal(&events), TaskEvent::End(_)));
}

fn model_file(name: &str, content: &[u8]) -> (std::path::PathBuf, String) {
    use sha2::Digest;
    let path = std::env::temp_dir().join(format!("orchd-model-{}-{name}", std::process::id()));
    std::fs::write(&path, content).unwrap();
    let digest: String = sha2::Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (path, digest)
}

#[spectrace::covers("ORCH-2102", "ORCH-3035", "ORCH-3050", "ORCH-3051", kind = "e2e")]
#[tokio::test]
async fn reload_switches_the_model_and_verifies_its_checksum() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 10", "")).await;
    // A task dispatched before the switch finishes on the old model.
    let before = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 20}),
    )
    .await;
    wait_running(&server, &before).await;
    let (path, digest) = model_file("v2.bin", b"model weights v2");
    let response = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/reload",
        Some(
            json!({"model": {"name": "sim-v2", "path": path.to_string_lossy(), "sha256": digest}}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["model"], "sim-v2");
    assert_eq!(body["model_digest"], format!("sha256:{digest}"));
    let events = typed_stream(&server, before["task_id"].as_str().unwrap()).await;
    let TaskEvent::End(end) = terminal(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(end.model, "sim-small");
    // Tasks after it run on the new one, and discovery shows it.
    let after = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1, "model": "sim-v2"}),
    )
    .await;
    let events = typed_stream(&server, after["task_id"].as_str().unwrap()).await;
    let TaskEvent::End(end) = terminal(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(end.model, "sim-v2");
    let sets: Value = control(&server, reqwest::Method::GET, "/v1/replicasets", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        sets["replica_sets"][0]["model_digest"],
        format!("sha256:{digest}")
    );
    std::fs::remove_file(path).unwrap();
}

#[spectrace::covers("ORCH-2102", "ORCH-3036", "ORCH-3050", "ORCH-3052", kind = "e2e")]
#[tokio::test]
async fn a_failed_reload_keeps_the_old_model_serving() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 0", "")).await;
    let (path, _) = model_file("tampered.bin", b"tampered weights");
    let wrong = "0".repeat(64);
    let mismatch = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/reload",
        Some(json!({"model": {"name": "sim-v3", "path": path.to_string_lossy(), "sha256": wrong}})),
    )
    .await;
    let body = error_body(mismatch, 409, "RELOAD_FAILED").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&wrong) && message.contains("expected"),
        "{message}"
    );
    let missing = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/reload",
        Some(json!({"model": {"name": "sim-v3", "path": "/nonexistent/model.bin"}})),
    )
    .await;
    let body = error_body(missing, 409, "RELOAD_FAILED").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/model.bin")
    );
    // A path that exists but cannot be read as a model file (a directory, unreadable even
    // for root).
    let unreadable = std::env::temp_dir().join(format!("orchd-dir-model-{}", std::process::id()));
    std::fs::create_dir_all(&unreadable).unwrap();
    let unreadable = unreadable.to_string_lossy().into_owned();
    let response = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/reload",
        Some(json!({"model": {"name": "sim-v3", "path": unreadable}})),
    )
    .await;
    let body = error_body(response, 409, "RELOAD_FAILED").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&unreadable) && message.contains("cannot read"),
        "{message}"
    );
    // The old model still serves, and health still shows it.
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1, "model": "sim-small"}),
    )
    .await;
    let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    assert!(matches!(terminal(&events), TaskEvent::End(_)));
    let health: Value = control(
        &server,
        reqwest::Method::GET,
        "/v1/pools/default/health",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(health["model"], "sim-small");
    error_body(
        control(
            &server,
            reqwest::Method::POST,
            "/v1/pools/nope/reload",
            Some(json!({"model": {"name": "x"}})),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    std::fs::remove_file(path).unwrap();
}

#[spectrace::covers("ORCH-3037", kind = "e2e")]
#[tokio::test]
async fn a_successful_reload_ends_a_drain() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 0", "")).await;
    control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/drain",
        Some(json!({"deadline_ms": 200})),
    )
    .await;
    error_body(
        enqueue(
            &server,
            json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
        )
        .await,
        503,
        "POOL_DRAINING",
    )
    .await;
    let reloaded = control(
        &server,
        reqwest::Method::POST,
        "/v1/pools/default/reload",
        Some(json!({"model": {"name": "sim-v2"}})),
    )
    .await;
    assert_eq!(reloaded.status(), 200);
    // Open again, and the old drain deadline no longer ends anything.
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
    assert!(matches!(terminal(&events), TaskEvent::End(_)));
    let health: Value = control(
        &server,
        reqwest::Method::GET,
        "/v1/pools/default/health",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(health["draining"], false);
}

#[spectrace::covers("ORCH-3043", "ORCH-3044", "ORCH-3045", kind = "e2e")]
#[tokio::test]
async fn a_failed_engine_ends_its_tasks_and_its_replica_restarts() {
    let server = start(&pool_yaml(
        "slots: 2",
        "token_delay_ms: 30\n      fail_after_tokens: 4",
        "",
    ))
    .await;
    let first = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 50}),
    )
    .await;
    wait_running(&server, &first).await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    let second = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "q", "max_tokens": 50}),
    )
    .await;
    let (a, b) = tokio::join!(
        typed_stream(&server, first["task_id"].as_str().unwrap()),
        typed_stream(&server, second["task_id"].as_str().unwrap())
    );
    for events in [&a, &b] {
        let TaskEvent::Error(error) = terminal(events) else {
            panic!("{events:?}")
        };
        assert_eq!(error.code, ErrorCode::EngineError);
        assert!(error.retriable);
    }
    assert_eq!(
        tokens(&a).len(),
        4,
        "the failing task got exactly its tokens, no replay"
    );
    assert!(
        tokens(&b).len() < 4,
        "the other task on the replica ended with it"
    );
    // The replica turns unready, then ready again after its restart.
    let mut seen_unready = false;
    let mut ready_again = false;
    for _ in 0..200 {
        let health: Value = control(
            &server,
            reqwest::Method::GET,
            "/v1/pools/default/health",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if health["replicas_ready"] == 0 {
            seen_unready = true;
        } else if seen_unready {
            ready_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen_unready && ready_again,
        "unready {seen_unready}, ready again {ready_again}"
    );
    let next = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 2}),
    )
    .await;
    assert!(matches!(
        terminal(&typed_stream(&server, next["task_id"].as_str().unwrap()).await),
        TaskEvent::End(_)
    ));
}

#[spectrace::covers("ORCH-3064", kind = "e2e")]
#[tokio::test]
async fn a_replica_that_fails_its_self_test_never_turns_ready() {
    let server = start(&pool_yaml("slots: 1", "fail_after_tokens: 0", "")).await;
    error_body(
        enqueue(
            &server,
            json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
        )
        .await,
        503,
        "POOL_UNAVAILABLE",
    )
    .await;
    let health: Value = control(
        &server,
        reqwest::Method::GET,
        "/v1/pools/default/health",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(health["ready"], false);
}

#[spectrace::covers("ORCH-3023", kind = "e2e")]
#[tokio::test]
async fn a_cancelled_session_task_is_refunded_once() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let task = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "one two", "max_tokens": 100, "session_id": "refund"}),
    )
    .await;
    wait_running(&server, &task).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let id = task["task_id"].as_str().unwrap();
    cancel(&server, id).await;
    let status = wait_for_state(&server, id, "cancelled").await;
    // Let the runner notice the cancel and stop.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let generated = status["tokens_out"].as_u64().unwrap();
    let session: Value = get_json(&server, "/v1/sessions/refund").await;
    assert_eq!(
        session["tokens_used"],
        2 + generated,
        "prompt plus generated tokens, charged once"
    );
}

#[spectrace::covers("ORCH-3066", "ORCH-3067", kind = "e2e")]
#[tokio::test]
async fn ended_tasks_keep_their_status_and_terminal_event_and_only_the_last_are_kept() {
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 0",
        "tasks:\n  retained_max: 2",
    ))
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let task = enqueue_ok(
            &server,
            json!({"pool": "default", "prompt": "p", "max_tokens": 3}),
        )
        .await;
        let id = task["task_id"].as_str().unwrap().to_owned();
        let events = typed_stream(&server, &id).await;
        assert_eq!(tokens(&events).len(), 3);
        assert!(matches!(terminal(&events), TaskEvent::End(_)), "{events:?}");
        ids.push(id);
    }
    // The stream was read and closed: opened again, it carries `started` and the terminal
    // event alone; the status still counts every token.
    let again = typed_stream(&server, &ids[2]).await;
    assert_eq!(again.len(), 2, "{again:?}");
    assert!(matches!(again[0], TaskEvent::Started(_)), "{again:?}");
    assert!(matches!(again[1], TaskEvent::End(_)), "{again:?}");
    let status = get_json(&server, &format!("/v1/tasks/{}", ids[2])).await;
    assert_eq!(status["state"], "completed");
    assert_eq!(status["tokens_out"], 3);
    // Three ended, two kept: the first is forgotten, and counted.
    let first = http()
        .get(format!("{}/v1/tasks/{}", server.base, ids[0]))
        .send()
        .await
        .unwrap();
    error_body(first, 404, "NOT_FOUND").await;
    assert_eq!(
        get_json(&server, &format!("/v1/tasks/{}", ids[1])).await["state"],
        "completed"
    );
    let metrics = scrape(&server, Some(CONTROL_KEY))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "orchd_tasks_forgotten_total{pool=\"default\"} 1"),
        "{metrics}"
    );
}

/// How long a request may take before the test calls it hung. Generous: what it catches is an
/// answer that never comes, whatever the machine's load.
const LIVENESS: Duration = Duration::from_secs(20);

async fn answers(
    what: &str,
    request: impl std::future::Future<Output = reqwest::Response>,
) -> reqwest::Response {
    tokio::time::timeout(LIVENESS, request)
        .await
        .unwrap_or_else(|_| panic!("{what} never answered while an engine hangs"))
}

/// Pool `hung`'s engine answers its first health check, then never again, and never sends a
/// task's second token; pool `ok` is a plain sim pool. Admission, streaming, pool health,
/// replica sets, readiness and drain all still answer.
#[spectrace::covers("ORCH-3046", "ORCH-3047", kind = "e2e")]
#[tokio::test]
async fn a_hung_engine_delays_no_answer_of_the_control_plane_admission_or_other_pools() {
    let yaml = "pools:
  - id: hung
    engine:
      kind: sim
      hang_after_tokens: 1
      hang_health_checks_after: 1
      health_interval_ms: 10
    model:
      name: sim-small
    slots: 2
  - id: ok
    engine:
      kind: sim
    model:
      name: sim-small
";
    let (service, server) = start_app(
        yaml,
        orchestratord::auth::Keys::new([CONTROL_KEY]),
        orchestratord::log::Logger::discard(),
    )
    .await;
    // The engine's health really hangs now: a check of every pool never ends.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), service.check_health())
            .await
            .is_err(),
        "the hung pool's health check never answers"
    );

    // A task on the hung pool is admitted, starts, gets its one token, then hangs.
    let stuck = answers(
        "admission on the hung pool",
        enqueue(
            &server,
            json!({"pool": "hung", "prompt": "p", "max_tokens": 5}),
        ),
    )
    .await;
    assert_eq!(stuck.status(), 202);
    let stuck: Value = stuck.json().await.unwrap();
    let stuck_id = stuck["task_id"].as_str().unwrap();
    let stream = answers("the hung task's stream", open_stream(&server, stuck_id)).await;
    assert_eq!(stream.status(), 200);
    let mut stuck_events = events(stream.bytes_stream());
    for expected in ["started", "token"] {
        let event = tokio::time::timeout(LIVENESS, stuck_events.next())
            .await
            .expect("the event comes")
            .unwrap()
            .unwrap();
        let name = match event {
            TaskEvent::Started(_) => "started",
            TaskEvent::Token(_) => "token",
            other => panic!("{other:?}"),
        };
        assert_eq!(name, expected);
    }

    let health = answers(
        "pool health",
        control(&server, reqwest::Method::GET, "/v1/pools/hung/health", None),
    )
    .await;
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["tasks_running"], 1, "{health}");
    let sets = answers(
        "replica sets",
        control(&server, reqwest::Method::GET, "/v1/replicasets", None),
    )
    .await;
    assert_eq!(sets.status(), 200);
    let ready = answers("readiness", async {
        http()
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap()
    })
    .await;
    assert_eq!(ready.status(), 200);

    // Admission on the hung pool and on the other one, and streaming on the other one.
    let second = answers(
        "admission on the hung pool",
        enqueue(
            &server,
            json!({"pool": "hung", "prompt": "p", "max_tokens": 2}),
        ),
    )
    .await;
    assert_eq!(second.status(), 202);
    let other = answers(
        "admission on the other pool",
        enqueue(
            &server,
            json!({"pool": "ok", "prompt": "p", "max_tokens": 3}),
        ),
    )
    .await;
    assert_eq!(other.status(), 202);
    let other: Value = other.json().await.unwrap();
    let events = tokio::time::timeout(
        LIVENESS,
        typed_stream(&server, other["task_id"].as_str().unwrap()),
    )
    .await
    .expect("the other pool streams to its end");
    assert_eq!(tokens(&events).len(), 3);
    assert!(matches!(terminal(&events), TaskEvent::End(_)), "{events:?}");

    let drain = answers(
        "drain",
        control(
            &server,
            reqwest::Method::POST,
            "/v1/pools/hung/drain",
            Some(json!({"deadline_ms": 60000})),
        ),
    )
    .await;
    assert_eq!(drain.status(), 202);
    let refused = answers(
        "admission on the draining pool",
        enqueue(
            &server,
            json!({"pool": "hung", "prompt": "p", "max_tokens": 2}),
        ),
    )
    .await;
    error_body(refused, 503, "POOL_DRAINING").await;
}

/// The `_sum` and `_count` of the histogram `name` on the sample whose labels hold all of
/// `labels`.
fn histogram(metrics: &str, name: &str, labels: &[&str]) -> (f64, f64) {
    let sample = |suffix: &str| {
        let prefix = format!("{name}_{suffix}{{");
        let values: Vec<f64> = metrics
            .lines()
            .filter(|l| l.starts_with(&prefix) && labels.iter().all(|label| l.contains(label)))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(values.len(), 1, "{name}_{suffix} {labels:?} in:\n{metrics}");
        values[0]
    };
    (sample("sum"), sample("count"))
}

#[spectrace::covers("ORCH-3049", kind = "e2e")]
#[tokio::test]
async fn the_latency_histograms_observe_each_tasks_queue_wait_and_first_token_in_seconds() {
    // One slot: the second task waits in the queue while the first runs.
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let body = json!({"pool": "default", "prompt": "p", "max_tokens": 5});
    let first = enqueue_ok(&server, body.clone()).await;
    let second = enqueue_ok(&server, body).await;
    let mut ends = Vec::new();
    for task in [&first, &second] {
        let events = typed_stream(&server, task["task_id"].as_str().unwrap()).await;
        let TaskEvent::End(end) = terminal(&events) else {
            panic!("{events:?}");
        };
        ends.push(end.clone());
    }
    assert!(ends[1].queue_wait_ms > 0, "{ends:?}");
    let metrics = scrape(&server, Some(CONTROL_KEY))
        .await
        .text()
        .await
        .unwrap();
    // Each task's queue wait, as its end event gives it in milliseconds, observed in seconds.
    let (sum, count) = histogram(
        &metrics,
        "orchd_queue_wait_seconds",
        &["pool=\"default\"", "priority=\"interactive\""],
    );
    assert_eq!(count, 2.0);
    let waited: u64 = ends.iter().map(|e| e.queue_wait_ms).sum();
    assert!(
        (sum - waited as f64 / 1000.0).abs() < 1e-9,
        "{sum} s observed for {waited} ms"
    );
    // Each time to first token, which the end event gives in whole milliseconds (rounded down).
    let (sum, count) = histogram(
        &metrics,
        "orchd_time_to_first_token_seconds",
        &["pool=\"default\""],
    );
    assert_eq!(count, 2.0);
    let ttft: u64 = ends.iter().map(|e| e.ttft_ms).sum();
    assert!(
        sum >= ttft as f64 / 1000.0 && sum < (ttft + 2) as f64 / 1000.0,
        "{sum} s observed for {ttft} ms"
    );
}
