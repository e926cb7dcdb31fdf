//! The OpenAI-compatible surface end to end: a real server on a loopback port, driven over HTTP
//! with the raw requests an OpenAI client sends, and compared with the task API on the same
//! server. What holds for both kinds of completion is checked on both routes ([`Route`]).

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

/// The two kinds of completion, as a client sends them and reads them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Chat,
    Text,
}

use Route::{Chat, Text};

impl Route {
    const BOTH: [Route; 2] = [Chat, Text];

    fn path(self) -> &'static str {
        match self {
            Chat => "/v1/chat/completions",
            Text => "/v1/completions",
        }
    }

    /// A request for `content` (a user message, or the prompt itself) with `extra` fields.
    fn body(self, content: &str, extra: Value) -> Value {
        match self {
            Chat => ask(content, extra),
            Text => {
                let mut body = json!({"model": "sim-small", "prompt": content});
                for (key, value) in extra.as_object().unwrap() {
                    body[key] = value.clone();
                }
                body
            }
        }
    }

    /// The prompt the task of [`Route::body`] is given.
    fn prompt(self, content: &str) -> String {
        match self {
            Chat => format!("user: {content}\nassistant:"),
            Text => content.to_owned(),
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            Chat => "chatcmpl-",
            Text => "cmpl-",
        }
    }

    /// The generated text of a whole completion.
    fn text(self, completion: &Value) -> String {
        let choice = &completion["choices"][0];
        match self {
            Chat => &choice["message"]["content"],
            Text => &choice["text"],
        }
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// The text of one chunk, if it carries any.
    fn chunk_text(self, chunk: &Value) -> Option<String> {
        let choice = &chunk["choices"][0];
        match self {
            Chat => choice["delta"]["content"].as_str(),
            Text => choice["text"].as_str(),
        }
        .map(str::to_owned)
    }

    /// The task id behind a completion or chunk.
    fn task_id(self, object: &Value) -> String {
        object["id"]
            .as_str()
            .unwrap()
            .strip_prefix(self.id_prefix())
            .unwrap()
            .to_owned()
    }

    async fn send(self, server: &Server, body: Value) -> reqwest::Response {
        self.send_with(server, body, &[]).await
    }

    async fn send_with(
        self,
        server: &Server,
        body: Value,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = http()
            .post(format!("{}{}", server.base, self.path()))
            .json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

/// The chunks of a streamed completion (all `data:` lines but `[DONE]`, which must be last).
async fn chunks_of(response: reqwest::Response) -> Vec<Value> {
    let lines = data_lines(response).await;
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[DONE]"),
        "{lines:?}"
    );
    lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The chunks of a `200` answer that is an event stream.
async fn streamed_chunks(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    chunks_of(response).await
}

/// Checks a `400` answer naming `param`, and returns its message.
async fn expect_invalid(response: reqwest::Response, param: &str) -> String {
    let message = expect_error(
        response,
        400,
        "invalid_request_error",
        "INVALID_REQUEST",
        Some(param),
    )
    .await;
    assert!(message.contains(&format!("`{param}`")), "{message}");
    message
}

/// Checks an error answer: its status and its whole body, OpenAI's shape.
async fn expect_error(
    response: reqwest::Response,
    status: u16,
    kind: &str,
    code: &str,
    param: Option<&str>,
) -> String {
    assert_eq!(response.status(), status);
    let correlation_id = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert_eq!(
        body,
        json!({"error": {"message": message, "type": kind, "code": code, "param": param, "correlation_id": correlation_id}})
    );
    message
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
    let chunks = streamed_chunks(response).await;
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

#[spectrace::covers("ORCH-2202", "ORCH-2214", "ORCH-2219", kind = "e2e")]
#[tokio::test]
async fn a_stream_whose_task_fails_ends_with_an_error_object_and_no_done() {
    // It fails after more tokens than a `metrics` event is logged for (every 16): the event,
    // which has no chunk, is passed over on the way to the error.
    let server = start(&pool_yaml(
        "slots: 1",
        "token_delay_ms: 0\n      fail_after_tokens: 18",
        "",
    ))
    .await;
    for route in Route::BOTH {
        let response = send_when_ready(
            &server,
            route,
            route.body("x", json!({"max_tokens": 30, "stream": true})),
            &[("x-correlation-id", "fails-1")],
        )
        .await;
        let lines = data_lines(response).await;
        let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        let message = last["error"]["message"].as_str().unwrap();
        assert_eq!(
            last,
            json!({"error": {"message": message, "type": "server_error", "code": "ENGINE_ERROR", "param": null, "correlation_id": "fails-1"}}),
            "{route:?}"
        );
        assert!(!lines.iter().any(|l| l == "[DONE]"), "{route:?}");
        // Eighteen pieces of text came before the failure.
        let texts = lines[..lines.len() - 1]
            .iter()
            .filter_map(|l| route.chunk_text(&serde_json::from_str(l).unwrap()))
            .filter(|t| !t.is_empty())
            .count();
        assert_eq!(texts, 18, "{route:?}");
        // Not streamed: 500 with the task's error code (once the failed replica is back).
        let whole = send_when_ready(
            &server,
            route,
            route.body("x", json!({"max_tokens": 30})),
            &[],
        )
        .await;
        expect_error(whole, 500, "server_error", "ENGINE_ERROR", None).await;
    }
}

#[spectrace::covers("ORCH-2203", "ORCH-2204", "ORCH-2218", kind = "e2e")]
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

    for route in Route::BOTH {
        for (model, pool) in [("sim-a", "a"), ("sim-b", "b")] {
            let mut body = route.body("hi", json!({"max_tokens": 1}));
            body["model"] = json!(model);
            let response = route.send(&server, body).await;
            assert_eq!(response.status(), 200);
            let completion: Value = response.json().await.unwrap();
            assert_eq!(completion["model"], model);
            let task_id = route.task_id(&completion);
            let task = get_json(&server, &format!("/v1/tasks/{task_id}")).await;
            assert_eq!(task["pool"], pool, "{route:?}");
        }
        let mut body = route.body("hi", json!({}));
        body["model"] = json!("gpt-4o");
        let response = route.send(&server, body).await;
        let message = expect_error(
            response,
            422,
            "invalid_request_error",
            "UNKNOWN_MODEL",
            None,
        )
        .await;
        assert!(message.contains("gpt-4o"), "{message}");
    }
}

#[spectrace::covers("ORCH-2205", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn max_tokens_is_checked_against_the_pool_and_bad_values_name_their_field() {
    let server = start(&pool_yaml(
        "slots: 1\n    limits:\n      max_tokens: 8",
        "token_delay_ms: 0",
        "",
    ))
    .await;
    for route in Route::BOTH {
        let response = route
            .send(&server, route.body("x", json!({"max_tokens": 9})))
            .await;
        expect_error(
            response,
            422,
            "invalid_request_error",
            "MAX_TOKENS_TOO_LARGE",
            None,
        )
        .await;
        // Without a limit in the request, the pool's limit.
        let body: Value = route
            .send(&server, route.body("x", json!({})))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["usage"]["completion_tokens"], 8, "{route:?}");
        for (field, value) in [
            ("temperature", json!(3)),
            ("seed", json!(-1)),
            ("max_tokens", json!(0)),
        ] {
            let response = route
                .send(&server, route.body("x", json!({ field: value })))
                .await;
            expect_invalid(response, field).await;
        }
    }
    // Text completions have no `max_completion_tokens`.
    let response = Text
        .send(&server, Text.body("x", json!({"max_completion_tokens": 3})))
        .await;
    expect_invalid(response, "max_completion_tokens").await;
}

#[spectrace::covers("ORCH-2206", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn a_stop_sequence_ends_the_text_before_it_streamed_or_not() {
    let server = default_server().await;
    for route in Route::BOTH {
        let full = task_text(&server, &route.prompt("stop here"), 3, 12).await;
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
        let body: Value = route
            .send(
                &server,
                route.body(
                    "stop here",
                    json!({"seed": 3, "max_tokens": 12, "stop": [stop]}),
                ),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(route.text(&body), expected, "{route:?}");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        // Generation stopped at the stop sequence: fewer tokens than asked.
        assert_eq!(body["usage"]["completion_tokens"], at as u64 + 1);

        let chunks = chunks_of(
            route
                .send(
                    &server,
                    route.body(
                        "stop here",
                        json!({"seed": 3, "max_tokens": 12, "stop": stop, "stream": true}),
                    ),
                )
                .await,
        )
        .await;
        let text: String = chunks.iter().filter_map(|c| route.chunk_text(c)).collect();
        assert_eq!(text, expected, "{route:?}");
        assert_eq!(
            chunks.last().unwrap()["choices"][0]["finish_reason"],
            "stop"
        );

        // A stop sequence the text never contains ends nothing: all of it, and `length`.
        let body: Value = route
            .send(
                &server,
                route.body(
                    "stop here",
                    json!({"seed": 3, "max_tokens": 12, "stop": ["never in it"]}),
                ),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(route.text(&body), full, "{route:?}");
        assert_eq!(body["choices"][0]["finish_reason"], "length");
    }
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

#[spectrace::covers("ORCH-2209", "ORCH-2208", "ORCH-2215", kind = "e2e")]
#[tokio::test]
async fn completions_wait_in_the_tasks_queues_and_get_429_with_backoff_headers() {
    for route in Route::BOTH {
        for priority in ["interactive", "batch"] {
            let server = start(&pool_yaml(
                "slots: 1\n    queue:\n      full_policy: reject\n      capacity:\n        interactive: 1\n        batch: 1",
                "token_delay_ms: 20",
                "",
            ))
            .await;
            // A task through the task API holds the slot, a completion waits in the queue of
            // its class...
            let running = enqueue_ok(
                &server,
                json!({"pool": "default", "prompt": "p", "max_tokens": 500}),
            )
            .await;
            wait_running(&server, &running).await;
            let header = [("x-priority", priority)];
            let queued = route
                .send_with(
                    &server,
                    route.body("x", json!({"max_tokens": 1, "stream": true})),
                    &header,
                )
                .await;
            assert_eq!(queued.status(), 200);
            let depth = format!("priority=\"{priority}\"");
            assert_eq!(
                counter(&server, &["orchd_queue_depth{", &depth]).await,
                1.0,
                "{route:?} {priority}"
            );
            // ...so that queue is full for both surfaces.
            let response = route
                .send_with(&server, route.body("x", json!({"max_tokens": 1})), &header)
                .await;
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
            expect_error(response, 429, "rate_limit_error", "QUEUE_FULL", None).await;
            let refused = enqueue(
                &server,
                json!({"pool": "default", "prompt": "p", "max_tokens": 1, "priority": priority}),
            )
            .await;
            assert_eq!(refused.status(), 429);
            assert_eq!(
                counter(
                    &server,
                    &["orchd_tasks_rejected_total", "queue_full", &depth]
                )
                .await,
                2.0
            );
            drop(queued);
        }
    }
}

#[spectrace::covers("ORCH-2210", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn user_names_the_session_whose_budgets_apply() {
    let server = start(&pool_yaml(
        "slots: 2",
        "token_delay_ms: 0",
        "sessions:\n  max_turns: 1",
    ))
    .await;
    // The chat prompt "user: x\nassistant:" is three tokens; the text prompt "a b c" too.
    for (route, content, ann, bob) in [(Chat, "x", "ann", "bob"), (Text, "a b c", "cid", "dan")] {
        let body = route.body(content, json!({"max_tokens": 3, "user": ann}));
        let response = route.send(&server, body.clone()).await;
        assert_eq!(response.status(), 200);
        let session = get_json(&server, &format!("/v1/sessions/{ann}")).await;
        assert_eq!(session["turns_used"], 1);
        // Three prompt tokens and three generated.
        assert_eq!(session["tokens_used"], 6, "{route:?}");
        let response = route.send(&server, body).await;
        expect_error(
            response,
            422,
            "invalid_request_error",
            "SESSION_BUDGET_EXHAUSTED",
            None,
        )
        .await;
        // Another user has a budget of their own.
        let response = route
            .send(
                &server,
                route.body(content, json!({"max_tokens": 3, "user": bob})),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
}

/// Sends the request once the pool has a ready replica again: after an engine failure, its
/// replica restarts, and until then completions get `503`.
async fn send_when_ready(
    server: &Server,
    route: Route,
    body: Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    for _ in 0..500 {
        let response = route.send_with(server, body.clone(), headers).await;
        if response.status() != 503 {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the pool never turned ready again");
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

#[spectrace::covers("ORCH-2211", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn a_disconnect_cancels_a_non_streaming_completion() {
    for route in Route::BOTH {
        let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
        let url = format!("{}{}", server.base, route.path());
        let body = route.body("x", json!({"max_tokens": 200}));
        let request = tokio::spawn(async move { http().post(url).json(&body).send().await });
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
        assert_eq!(cancelled, 1.0, "{route:?}");
        let frozen = counter(&server, &["orchd_tokens_out_total"]).await;
        assert!(frozen < 200.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            counter(&server, &["orchd_tokens_out_total"]).await,
            frozen,
            "no token after the disconnect"
        );
    }
}

#[spectrace::covers("ORCH-2211", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn closing_the_stream_cancels_a_streamed_completion() {
    let server = start(&pool_yaml("slots: 1", "token_delay_ms: 20", "")).await;
    for route in Route::BOTH {
        let response = route
            .send(
                &server,
                route.body("x", json!({"max_tokens": 200, "stream": true})),
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
        let task_id = route.task_id(&chunk);
        let before = counter(&server, &["orchd_tokens_out_total"]).await;
        wait_for_tokens(&server, before + 2.0).await;
        drop(body);
        let status = wait_for_state(&server, &task_id, "cancelled").await;
        assert_eq!(status["state"], "cancelled", "{route:?}");
        let frozen = status["tokens_out"].clone();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let later = get_json(&server, &format!("/v1/tasks/{task_id}")).await;
        assert_eq!(later["tokens_out"], frozen, "no token after the disconnect");
    }
}

#[spectrace::covers("ORCH-2208", "ORCH-2218", kind = "e2e")]
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
    for route in Route::BOTH {
        let missing = route
            .send(&server, route.body("x", json!({"max_tokens": 1})))
            .await;
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        expect_error(
            missing,
            401,
            "authentication_error",
            "UNAUTHENTICATED",
            None,
        )
        .await;
    }
    let wrong = http()
        .get(format!("{}/v1/models", server.base))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["type"], "permission_error");
    for route in Route::BOTH {
        let right = http()
            .post(format!("{}{}", server.base, route.path()))
            .bearer_auth("data-key-1")
            .json(&route.body("x", json!({"max_tokens": 1})))
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200, "{route:?}");
    }
}

#[spectrace::covers("ORCH-2205", "ORCH-2212", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn seed_and_temperature_reach_the_engine_as_on_the_task_api() {
    let server = default_server().await;
    for route in Route::BOTH {
        let prompt = route.prompt("one");
        let mut texts = Vec::new();
        for (seed, temperature) in [(1u64, 0.0), (1, 0.5), (2, 0.5)] {
            let body: Value = route
                .send(
                    &server,
                    route.body(
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
            assert_eq!(route.text(&body), expected, "{route:?}");
            texts.push(expected);
        }
        assert_ne!(texts[1], texts[2], "another seed, another text");
    }
}

#[spectrace::covers("ORCH-2213", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn a_text_completion_answers_with_the_text_the_task_api_generates_for_its_prompt() {
    let server = default_server().await;
    let prompt = "Once upon a time";
    for shape in [json!(prompt), json!([prompt])] {
        let response = Text
            .send_with(
                &server,
                json!({"model": "sim-small", "prompt": shape, "seed": 42, "max_tokens": 6}),
                &[("x-correlation-id", "text-1")],
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-correlation-id"], "text-1");
        let body: Value = response.json().await.unwrap();
        let task_id = Text.task_id(&body);
        assert_eq!(
            get_json(&server, &format!("/v1/tasks/{task_id}")).await["state"],
            "completed"
        );
        let created = body["created"].as_u64().unwrap();
        assert!(created > 0);
        let text = task_text(&server, prompt, 42, 6).await;
        assert_eq!(
            body,
            json!({
                "id": format!("cmpl-{task_id}"),
                "object": "text_completion",
                "created": created,
                "model": "sim-small",
                "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": "length"}],
                // The prompt is four words as the sim engine counts them.
                "usage": {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10},
            })
        );
    }
}

#[spectrace::covers("ORCH-2213", kind = "e2e")]
#[tokio::test]
async fn a_prompt_that_is_not_one_string_is_refused_naming_prompt() {
    let server = default_server().await;
    for prompt in [
        json!(["a", "b"]),
        json!([]),
        json!([[1, 2, 3]]),
        json!([1, 2, 3]),
        json!([""]),
        json!(""),
        json!(7),
    ] {
        let response = Text
            .send(&server, json!({"model": "sim-small", "prompt": prompt}))
            .await;
        expect_invalid(response, "prompt").await;
    }
    let response = Text.send(&server, json!({"model": "sim-small"})).await;
    expect_invalid(response, "prompt").await;
}

#[spectrace::covers("ORCH-2214", "ORCH-2218", kind = "e2e")]
#[tokio::test]
async fn a_streamed_text_completion_sends_text_chunks_then_usage_then_done() {
    let server = default_server().await;
    let response = Text
        .send(
            &server,
            Text.body(
                "Once upon a time",
                json!({"seed": 7, "max_tokens": 5, "stream": true, "stream_options": {"include_usage": true}}),
            ),
        )
        .await;
    let chunks = streamed_chunks(response).await;
    let task_id = Text.task_id(&chunks[0]);
    let created = chunks[0]["created"].as_u64().unwrap();
    let object = |choices: Value| json!({"id": format!("cmpl-{task_id}"), "object": "text_completion", "created": created, "model": "sim-small", "choices": choices});
    let expected = tokens(&{
        let task = enqueue_ok(
            &server,
            json!({"pool": "default", "prompt": "Once upon a time", "max_tokens": 5, "seed": 7, "temperature": 1.0}),
        )
        .await;
        typed_stream(&server, task["task_id"].as_str().unwrap()).await
    });
    let mut wanted: Vec<Value> = expected
        .iter()
        .map(|piece| {
            object(json!([{"text": piece, "index": 0, "logprobs": null, "finish_reason": null}]))
        })
        .collect();
    wanted.push(object(
        json!([{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}]),
    ));
    let mut usage = object(json!([]));
    usage["usage"] = json!({"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9});
    wanted.push(usage);
    assert_eq!(chunks, wanted);

    // Without include_usage, no usage chunk.
    let chunks = chunks_of(
        Text.send(
            &server,
            Text.body(
                "Once upon a time",
                json!({"seed": 7, "max_tokens": 2, "stream": true}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
}

#[spectrace::covers("ORCH-2217", "ORCH-2208", kind = "e2e")]
#[tokio::test]
async fn unsupported_text_completion_fields_get_400_naming_them_unless_they_ask_for_nothing() {
    let server = default_server().await;
    for (field, value) in [
        ("echo", json!(true)),
        ("suffix", json!(" the end")),
        ("best_of", json!(2)),
        ("logprobs", json!(1)),
        ("n", json!(2)),
        ("logit_bias", json!({"50256": -100})),
        ("top_p", json!(0.5)),
        ("frequency_penalty", json!(0.5)),
        ("presence_penalty", json!(0.5)),
        ("messages", json!([{"role": "user", "content": "x"}])),
        ("made_up", json!(true)),
    ] {
        let response = Text
            .send_with(
                &server,
                Text.body("x", json!({ field: value })),
                &[("x-correlation-id", "corr-2")],
            )
            .await;
        assert_eq!(response.headers()["x-correlation-id"], "corr-2");
        expect_invalid(response, field).await;
    }
    let neutral = json!({
        "echo": false, "best_of": 1, "n": 1, "top_p": 1, "frequency_penalty": 0,
        "presence_penalty": 0.0, "suffix": null, "logprobs": null, "logit_bias": null,
        "max_tokens": 1,
    });
    let response = Text.send(&server, Text.body("x", neutral)).await;
    assert_eq!(response.status(), 200);
}

#[spectrace::covers("ORCH-2215", kind = "e2e")]
#[tokio::test]
async fn x_priority_picks_the_queue_of_a_completions_task() {
    let server = default_server().await;
    for route in Route::BOTH {
        for (header, priority) in [
            (Some("batch"), "batch"),
            (Some("interactive"), "interactive"),
            (None, "interactive"),
        ] {
            let enqueued = format!("priority=\"{priority}\"");
            let before = counter(&server, &["orchd_tasks_enqueued_total", &enqueued]).await;
            let headers: Vec<(&str, &str)> =
                header.map(|h| ("x-priority", h)).into_iter().collect();
            let response = route
                .send_with(&server, route.body("x", json!({"max_tokens": 1})), &headers)
                .await;
            assert_eq!(response.status(), 200);
            let task_id = route.task_id(&response.json().await.unwrap());
            let task = get_json(&server, &format!("/v1/tasks/{task_id}")).await;
            assert_eq!(task["priority"], priority, "{route:?} {header:?}");
            assert_eq!(
                counter(&server, &["orchd_tasks_enqueued_total", &enqueued]).await,
                before + 1.0
            );
        }
        for bad in ["high", "Batch", ""] {
            let response = route
                .send_with(
                    &server,
                    route.body("x", json!({"max_tokens": 1})),
                    &[("x-priority", bad)],
                )
                .await;
            expect_invalid(response, "X-Priority").await;
        }
    }
}

#[spectrace::covers("ORCH-2216", "ORCH-2219", kind = "e2e")]
#[tokio::test]
async fn x_deadline_ms_refuses_an_infeasible_deadline_and_expires_a_passed_one() {
    for route in Route::BOTH {
        let server = start(&pool_yaml("slots: 1", "token_delay_ms: 50", "")).await;
        // 400 tokens at 50 ms: the one slot stays busy for 20 s, far longer than the two
        // 1.5 s deadlines below take to pass one after the other, however slow the machine.
        let running = enqueue_ok(
            &server,
            json!({"pool": "default", "prompt": "p", "max_tokens": 400}),
        )
        .await;
        wait_running(&server, &running).await;
        let body = route.body("x", json!({"max_tokens": 1}));
        let refused = route
            .send_with(&server, body.clone(), &[("x-deadline-ms", "1")])
            .await;
        expect_error(
            refused,
            422,
            "invalid_request_error",
            "DEADLINE_INFEASIBLE",
            None,
        )
        .await;
        for bad in ["0", "-5", "soon", "1.5"] {
            let response = route
                .send_with(&server, body.clone(), &[("x-deadline-ms", bad)])
                .await;
            expect_invalid(response, "X-Deadline-Ms").await;
        }
        // A deadline that looked feasible passes while the completion waits behind the running
        // task: its task expires in the queue, and the answer is the task's error.
        let expired = route
            .send_with(
                &server,
                body.clone(),
                &[("x-deadline-ms", "1500"), ("x-correlation-id", "late-1")],
            )
            .await;
        assert_eq!(expired.headers()["x-correlation-id"], "late-1");
        expect_error(expired, 500, "server_error", "DEADLINE_EXCEEDED", None).await;
        assert_eq!(
            counter(
                &server,
                &["orchd_tasks_finished_total", "outcome=\"expired\""]
            )
            .await,
            1.0,
            "{route:?}"
        );
        // Streamed, the stream ends with the error object.
        let mut streamed = body;
        streamed["stream"] = json!(true);
        let lines = data_lines(
            route
                .send_with(
                    &server,
                    streamed,
                    &[("x-deadline-ms", "1500"), ("x-correlation-id", "late-2")],
                )
                .await,
        )
        .await;
        let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        let message = last["error"]["message"].as_str().unwrap();
        assert_eq!(
            last,
            json!({"error": {"message": message, "type": "server_error", "code": "DEADLINE_EXCEEDED", "param": null, "correlation_id": "late-2"}})
        );
    }
}

#[spectrace::covers("ORCH-2219", kind = "e2e")]
#[tokio::test]
async fn a_completions_task_is_logged_counted_and_timed_out_as_any_task() {
    let (logger, log) = orchestratord::log::Logger::captured();
    let (_service, server) = start_app(
        &pool_yaml(
            "slots: 2",
            "token_delay_ms: 20",
            "timeouts:\n  task_wall_ms: 200",
        ),
        orchestratord::auth::Keys::new([CONTROL_KEY]),
        logger,
    )
    .await;
    for (route, correlation_id) in [(Chat, "chat-corr-1"), (Text, "text-corr-1")] {
        let finished = counter(
            &server,
            &["orchd_tasks_finished_total", "outcome=\"completed\""],
        )
        .await;
        let tokens_out = counter(&server, &["orchd_tokens_out_total"]).await;
        let response = route
            .send_with(
                &server,
                route.body("x", json!({"max_tokens": 3, "x": null})),
                &[
                    ("x-correlation-id", correlation_id),
                    ("x-priority", "batch"),
                ],
            )
            .await;
        assert_eq!(response.headers()["x-correlation-id"], correlation_id);
        let task_id = route.task_id(&response.json().await.unwrap());
        assert_eq!(
            counter(
                &server,
                &["orchd_tasks_finished_total", "outcome=\"completed\""]
            )
            .await,
            finished + 1.0
        );
        assert_eq!(
            counter(&server, &["orchd_tokens_out_total"]).await,
            tokens_out + 3.0
        );
        // Its admission, dispatch and end are logged with the request's correlation id.
        let lines: Vec<Value> = log
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|l: &Value| l["task_id"] == task_id.as_str())
            .collect();
        let messages: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
        assert_eq!(
            messages,
            ["task admitted", "task dispatched", "task ended"],
            "{route:?}"
        );
        assert!(
            lines
                .iter()
                .all(|l| l["correlation_id"] == correlation_id && l["priority"] == "batch")
        );
        assert_eq!(lines[2]["outcome"], "completed");
        // The wall-clock limit ends a completion that runs too long, with its code.
        let response = route
            .send_with(
                &server,
                route.body("x", json!({"max_tokens": 500})),
                &[("x-correlation-id", correlation_id)],
            )
            .await;
        expect_error(response, 500, "server_error", "TIMEOUT_WALL", None).await;
    }
    assert_eq!(
        counter(
            &server,
            &["orchd_tasks_enqueued_total", "priority=\"batch\""]
        )
        .await,
        2.0
    );
    // The idle limit too: an engine that stops sending tokens ends the completion's task.
    let server = start(&pool_yaml(
        "slots: 2",
        "hang_after_tokens: 1",
        "timeouts:\n  token_idle_ms: 100",
    ))
    .await;
    for route in Route::BOTH {
        let response = route
            .send(&server, route.body("x", json!({"max_tokens": 5})))
            .await;
        expect_error(response, 500, "server_error", "TIMEOUT_IDLE", None).await;
    }
    assert_eq!(
        counter(
            &server,
            &["orchd_tasks_finished_total", "outcome=\"failed\""]
        )
        .await,
        2.0
    );
}

#[spectrace::covers("ORCH-2202", "ORCH-2214", kind = "e2e")]
#[tokio::test]
async fn a_long_stream_has_one_chunk_per_piece_between_its_opening_and_its_finish() {
    let server = default_server().await;
    // Longer than the 16 tokens after which the task's log holds a `metrics` event, which no
    // chunk shows.
    let max_tokens = 40;
    for route in Route::BOTH {
        let pieces = tokens(&{
            let task = enqueue_ok(
                &server,
                json!({"pool": "default", "prompt": route.prompt("a long one"), "max_tokens": max_tokens, "seed": 11, "temperature": 1.0}),
            )
            .await;
            typed_stream(&server, task["task_id"].as_str().unwrap()).await
        });
        assert_eq!(pieces.len(), max_tokens, "{route:?}");
        let chunks = streamed_chunks(
            route
                .send(
                    &server,
                    route.body(
                        "a long one",
                        json!({"seed": 11, "max_tokens": max_tokens, "stream": true, "stream_options": {"include_usage": false}}),
                    ),
                )
                .await,
        )
        .await;
        let id = &chunks[0]["id"];
        assert!(chunks.iter().all(|c| &c["id"] == id), "{route:?}");
        let choices: Vec<&Value> = chunks.iter().map(|c| &c["choices"][0]).collect();
        let mut wanted: Vec<Value> = Vec::new();
        match route {
            Chat => {
                wanted.push(json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}));
                wanted.extend(pieces.iter().map(
                    |piece| json!({"index": 0, "delta": {"content": piece}, "finish_reason": null}),
                ));
                wanted.push(json!({"index": 0, "delta": {}, "finish_reason": "length"}));
            }
            Text => {
                wanted.extend(pieces.iter().map(|piece| {
                    json!({"text": piece, "index": 0, "logprobs": null, "finish_reason": null})
                }));
                wanted.push(
                    json!({"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}),
                );
            }
        }
        assert_eq!(choices, wanted.iter().collect::<Vec<_>>(), "{route:?}");
    }
}
