//! The OpenAI-compatible surface end to end: a real server on a loopback port, driven over HTTP
//! with the raw requests an OpenAI client sends, and compared with the task API on the same
//! server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

mod support;
use support::*;

/// One pool `default` serving `sim-small`, with the given pool-level, engine-level and
/// top-level YAML lines.
fn pool_yaml(pool: &str, engine: &str, top: &str) -> String {
    format!(
        "pools:\n  - id: default\n    engine:\n      kind: sim\n      {engine}\n    model:\n      name: sim-small\n    {pool}\n{top}\n"
    )
}

async fn default_server() -> Server {
    start(&pool_yaml("slots: 4", "token_delay_ms: 0", "")).await
}

async fn chat(server: &Server, body: Value) -> reqwest::Response {
    http()
        .post(format!("{}/v1/chat/completions", server.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn ask(content: &str, extra: Value) -> Value {
    let mut body =
        json!({"model": "sim-small", "messages": [{"role": "user", "content": content}]});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

/// The `data:` payloads of an OpenAI event stream, in order.
async fn data_lines(response: reqwest::Response) -> Vec<String> {
    let text = response.text().await.unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// The text the task API generates for this prompt, seed and length at temperature 1, the
/// default of OpenAI's API.
async fn task_text(server: &Server, prompt: &str, seed: u64, max_tokens: u64) -> String {
    let task = enqueue_ok(
        server,
        json!({"pool": "default", "prompt": prompt, "max_tokens": max_tokens, "seed": seed, "temperature": 1.0}),
    )
    .await;
    tokens(&typed_stream(server, task["task_id"].as_str().unwrap()).await).concat()
}

/// The value of a counter sample whose name and labels contain all of `parts`.
async fn counter(server: &Server, parts: &[&str]) -> f64 {
    let text = scrape(server, Some(CONTROL_KEY))
        .await
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && parts.iter().all(|p| line.contains(p)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[spectrace::covers("ORCH-2201", "ORCH-2212", kind = "e2e")]
#[tokio::test]
async fn a_chat_completion_answers_with_the_text_the_task_api_generates() {
    let server = default_server().await;
    let response = chat(
        &server,
        ask("a haiku", json!({"seed": 42, "max_tokens": 6})),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-correlation-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(body["created"].as_u64().unwrap() > 0);
    assert_eq!(body["model"], "sim-small");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 6);
    // The prompt is "user: a haiku\nassistant:", four words as the sim engine counts them.
    assert_eq!(body["usage"]["prompt_tokens"], 4);
    assert_eq!(body["usage"]["total_tokens"], 10);
    let text = choice["message"]["content"].as_str().unwrap();
    assert_eq!(
        text,
        task_text(&server, "user: a haiku\nassistant:", 42, 6).await
    );
    assert_ne!(
        text,
        task_text(&server, "user: a haiku\nassistant:", 43, 6).await,
        "another seed, another text"
    );
}

#[spectrace::covers("ORCH-2202", "ORCH-2212", kind = "e2e")]
#[tokio::test]
async fn a_streamed_completion_sends_chunks_then_usage_then_done() {
    let server = default_server().await;
    let response = chat(
        &server,
        ask(
            "a haiku",
            json!({"seed": 7, "max_completion_tokens": 5, "stream": true, "stream_options": {"include_usage": true}}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let lines = data_lines(response).await;
    assert_eq!(lines.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 5);
    let last = &chunks[chunks.len() - 2];
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        text,
        task_text(&server, "user: a haiku\nassistant:", 7, 5).await
    );

    // Without include_usage, no usage chunk.
    let response = chat(
        &server,
        ask(
            "a haiku",
            json!({"seed": 7, "max_tokens": 2, "stream": true}),
        ),
    )
    .await;
    let lines = data_lines(response).await;
    assert_eq!(lines.last().unwrap(), "[DONE]");
    assert!(lines.iter().all(|l| !l.contains("\"usage\"")));
}

#[spectrace::covers("ORCH-2202", kind = "e2e")]
#[tokio::test]
async fn a_stream_whose_task_fails_ends_with_an_error_object_and_no_done() {
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 0\n      fail_after_tokens: 2",
        "",
    ))
    .await;
    let response = chat(&server, ask("x", json!({"max_tokens": 10, "stream": true}))).await;
    let lines = data_lines(response).await;
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "ENGINE_ERROR");
    assert_eq!(last["error"]["type"], "server_error");
    assert!(!lines.iter().any(|l| l == "[DONE]"));
}

#[spectrace::covers("ORCH-2203", "ORCH-2204", kind = "e2e")]
#[tokio::test]
async fn models_lists_each_pools_model_and_model_selects_the_pool() {
    let yaml = "pools:\n  - id: a\n    engine:\n      kind: sim\n    model:\n      name: sim-a\n  - id: b\n    engine:\n      kind: sim\n    model:\n      name: sim-b\n";
    let server = start(yaml).await;
    let list = get_json(&server, "/v1/models").await;
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sim-a", "sim-b"]);
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["object"] == "model")
    );

    for (model, pool) in [("sim-a", "a"), ("sim-b", "b")] {
        let mut body = ask("hi", json!({"max_tokens": 1}));
        body["model"] = json!(model);
        let response = chat(&server, body).await;
        assert_eq!(response.status(), 200);
        let completion: Value = response.json().await.unwrap();
        assert_eq!(completion["model"], model);
        let task_id = completion["id"]
            .as_str()
            .unwrap()
            .trim_start_matches("chatcmpl-");
        let task = get_json(&server, &format!("/v1/tasks/{task_id}")).await;
        assert_eq!(task["pool"], pool);
    }
    let mut body = ask("hi", json!({}));
    body["model"] = json!("gpt-4o");
    let response = chat(&server, body).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "UNKNOWN_MODEL");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-4o")
    );
}

#[spectrace::covers("ORCH-2205", kind = "e2e")]
#[tokio::test]
async fn max_tokens_is_checked_against_the_pool_and_bad_values_name_their_field() {
    let server = start(&pool_yaml(
        "slots: 1\n    limits:\n      max_tokens: 8",
        "token_delay_ms: 0",
        "",
    ))
    .await;
    let response = chat(&server, ask("x", json!({"max_tokens": 9}))).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "MAX_TOKENS_TOO_LARGE");
    // Without a limit in the request, the pool's limit.
    let body: Value = chat(&server, ask("x", json!({})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["usage"]["completion_tokens"], 8);
    let response = chat(&server, ask("x", json!({"temperature": 3}))).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["param"], "temperature");
    assert_eq!(error["error"]["code"], "INVALID_REQUEST");
}

#[spectrace::covers("ORCH-2206", kind = "e2e")]
#[tokio::test]
async fn a_stop_sequence_ends_the_text_before_it_streamed_or_not() {
    let server = default_server().await;
    let full = task_text(&server, "user: stop here\nassistant:", 3, 12).await;
    let words: Vec<&str> = full.split(' ').collect();
    // A word that first appears after the start: the text before its first occurrence.
    let (at, stop) = words
        .iter()
        .enumerate()
        .skip(2)
        .find(|(i, w)| !words[..*i].contains(w))
        .map(|(i, w)| (i, format!(" {w}")))
        .unwrap();
    let expected = &full[..full.find(&stop).unwrap()];
    assert_eq!(expected, words[..at].join(" "));
    let body: Value = chat(
        &server,
        ask(
            "stop here",
            json!({"seed": 3, "max_tokens": 12, "stop": [stop]}),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], expected);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    // Generation stopped at the stop sequence: fewer tokens than asked.
    assert_eq!(body["usage"]["completion_tokens"], at as u64 + 1);

    let lines = data_lines(
        chat(
            &server,
            ask(
                "stop here",
                json!({"seed": 3, "max_tokens": 12, "stop": stop, "stream": true}),
            ),
        )
        .await,
    )
    .await;
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, expected);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[spectrace::covers("ORCH-2207", "ORCH-2208", kind = "e2e")]
#[tokio::test]
async fn unsupported_fields_get_400_naming_them_in_openais_error_shape() {
    let server = default_server().await;
    for (field, value) in [
        (
            "tools",
            json!([{"type": "function", "function": {"name": "f"}}]),
        ),
        ("n", json!(3)),
        ("response_format", json!({"type": "json_object"})),
        ("made_up", json!(true)),
    ] {
        let response = http()
            .post(format!("{}/v1/chat/completions", server.base))
            .header("x-correlation-id", "corr-1")
            .json(&ask("x", json!({ field: value })))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{field}");
        assert_eq!(response.headers()["x-correlation-id"], "corr-1");
        let body: Value = response.json().await.unwrap();
        let error = body["error"].as_object().unwrap();
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["code"], "INVALID_REQUEST");
        assert_eq!(error["param"], field);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`"))
        );
        assert_eq!(error["correlation_id"], "corr-1");
    }
    // A body that is not JSON: the same shape.
    let response = http()
        .post(format!("{}/v1/chat/completions", server.base))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[spectrace::covers("ORCH-2209", "ORCH-2208", kind = "e2e")]
#[tokio::test]
async fn chat_completions_wait_in_the_tasks_queues_and_get_429_with_backoff_headers() {
    let server = start(&pool_yaml(
        "slots: 1\n    queue:\n      full_policy: reject\n      capacity:\n        interactive: 1\n        batch: 1",
        "token_delay_ms: 20",
        "",
    ))
    .await;
    // A task through the task API holds the slot, a chat completion waits in the queue...
    let running = enqueue_ok(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 100}),
    )
    .await;
    wait_running(&server, &running).await;
    let queued = chat(&server, ask("x", json!({"max_tokens": 1, "stream": true}))).await;
    assert_eq!(queued.status(), 200);
    // ...so the queue is full for both surfaces.
    let response = chat(&server, ask("x", json!({"max_tokens": 1}))).await;
    assert_eq!(response.status(), 429);
    let backoff: u64 = response.headers()["x-backoff-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60_000).contains(&backoff));
    assert_eq!(retry_after, backoff.div_ceil(1000).max(1));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "QUEUE_FULL");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    let refused = enqueue(
        &server,
        json!({"pool": "default", "prompt": "p", "max_tokens": 1}),
    )
    .await;
    assert_eq!(refused.status(), 429);
    assert_eq!(
        counter(&server, &["orchd_tasks_rejected_total", "queue_full"]).await,
        2.0
    );
}

#[spectrace::covers("ORCH-2210", kind = "e2e")]
#[tokio::test]
async fn user_names_the_session_whose_budgets_apply() {
    let server = start(&pool_yaml(
        "slots: 2",
        "token_delay_ms: 0",
        "sessions:\n  max_turns: 1",
    ))
    .await;
    let response = chat(&server, ask("x", json!({"max_tokens": 3, "user": "ann"}))).await;
    assert_eq!(response.status(), 200);
    let session = get_json(&server, "/v1/sessions/ann").await;
    assert_eq!(session["turns_used"], 1);
    // Three prompt tokens ("user: x\nassistant:") and three generated.
    assert_eq!(session["tokens_used"], 6);
    let response = chat(&server, ask("x", json!({"max_tokens": 3, "user": "ann"}))).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "SESSION_BUDGET_EXHAUSTED");
    // Another user has a budget of their own.
    let response = chat(&server, ask("x", json!({"max_tokens": 3, "user": "bob"}))).await;
    assert_eq!(response.status(), 200);
}

/// Waits until `orchd_tokens_out_total` passes `at_least`.
async fn wait_for_tokens(server: &Server, at_least: f64) {
    for _ in 0..500 {
        if counter(server, &["orchd_tokens_out_total"]).await >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no token was generated");
}

#[spectrace::covers("ORCH-2211", kind = "e2e")]
#[tokio::test]
async fn a_disconnect_cancels_a_non_streaming_completion() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let base = server.base.clone();
    let request = tokio::spawn(async move {
        http()
            .post(format!("{base}/v1/chat/completions"))
            .json(&ask("x", json!({"max_tokens": 200})))
            .send()
            .await
    });
    wait_for_tokens(&server, 2.0).await;
    request.abort();
    let _ = request.await;
    let mut cancelled = 0.0;
    for _ in 0..200 {
        cancelled = counter(&server, &["orchd_tasks_finished_total", "cancelled"]).await;
        if cancelled > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(cancelled, 1.0);
    let frozen = counter(&server, &["orchd_tokens_out_total"]).await;
    assert!(frozen < 200.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        counter(&server, &["orchd_tokens_out_total"]).await,
        frozen,
        "no token after the disconnect"
    );
}

#[spectrace::covers("ORCH-2211", kind = "e2e")]
#[tokio::test]
async fn closing_the_stream_cancels_a_streamed_completion() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    let response = chat(
        &server,
        ask("x", json!({"max_tokens": 200, "stream": true})),
    )
    .await;
    let mut body = response.bytes_stream();
    let first = String::from_utf8(body.next().await.unwrap().unwrap().to_vec()).unwrap();
    let chunk: Value = serde_json::from_str(
        first
            .lines()
            .next()
            .unwrap()
            .strip_prefix("data: ")
            .unwrap(),
    )
    .unwrap();
    let task_id = chunk["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("chatcmpl-")
        .to_owned();
    wait_for_tokens(&server, 2.0).await;
    drop(body);
    let status = wait_for_state(&server, &task_id, "cancelled").await;
    assert_eq!(status["state"], "cancelled");
    let frozen = status["tokens_out"].clone();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let later = get_json(&server, &format!("/v1/tasks/{task_id}")).await;
    assert_eq!(later["tokens_out"], frozen, "no token after the disconnect");
}

#[spectrace::covers("ORCH-2208", kind = "e2e")]
#[tokio::test]
async fn data_plane_keys_guard_these_routes_with_openais_error_shape() {
    let key_file = std::env::temp_dir().join(format!("orchd-openai-key-{}", std::process::id()));
    std::fs::write(&key_file, "data-key-1\n").unwrap();
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 0",
        &format!("auth:\n  data_keys:\n    - file: {}", key_file.display()),
    ))
    .await;
    let missing = chat(&server, ask("x", json!({"max_tokens": 1}))).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let wrong = http()
        .get(format!("{}/v1/models", server.base))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["type"], "permission_error");
    let right = http()
        .post(format!("{}/v1/chat/completions", server.base))
        .bearer_auth("data-key-1")
        .json(&ask("x", json!({"max_tokens": 1})))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[spectrace::covers("ORCH-2205", "ORCH-2212", kind = "e2e")]
#[tokio::test]
async fn seed_and_temperature_reach_the_engine_as_on_the_task_api() {
    let server = default_server().await;
    let prompt = "user: one\nassistant:";
    for (seed, temperature) in [(1u64, 0.0), (1, 0.5), (2, 0.5)] {
        let body: Value = chat(
            &server,
            ask(
                "one",
                json!({"seed": seed, "temperature": temperature, "max_tokens": 5}),
            ),
        )
        .await
        .json()
        .await
        .unwrap();
        let task = enqueue_ok(
            &server,
            json!({"pool": "default", "prompt": prompt, "max_tokens": 5, "seed": seed, "temperature": temperature}),
        )
        .await;
        let expected =
            tokens(&typed_stream(&server, task["task_id"].as_str().unwrap()).await).concat();
        assert_eq!(body["choices"][0]["message"]["content"], expected.as_str());
    }
}
