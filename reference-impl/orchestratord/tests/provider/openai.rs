//! Provider verification of `contracts/openapi/openai.yaml`: every declared response of the
//! OpenAI-compatible surface is provoked on a real server and checked against the document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::driver::Provider;
use crate::support::{Server, start};
use crate::unauthorized;

/// `sim-small` on `default` takes anything; `sim-busy` on `busy` has one slot and a queue of one,
/// so it fills; `sim-broken` on `broken` never turns ready; the engines of `sim-fail-chat` and
/// `sim-fail-text` fail after two tokens (one pool per route, each asked once, so that neither
/// meets the other's restarting replica).
fn config() -> String {
    let pool = |id: &str, model: &str, engine: &str, pool: &str| {
        format!(
            "  - id: {id}\n    engine:\n      kind: sim\n{engine}    model:\n      name: {model}\n{pool}"
        )
    };
    [
        "pools:\n".to_owned(),
        pool("default", "sim-small", "", ""),
        pool(
            "busy",
            "sim-busy",
            "      token_delay_ms: 50\n",
            "    slots: 1\n    queue:\n      capacity:\n        interactive: 1\n        batch: 1\n",
        ),
        pool(
            "broken",
            "sim-broken",
            "      fail_health_checks: true\n",
            "",
        ),
        pool(
            "fail-chat",
            "sim-fail-chat",
            "      fail_after_tokens: 2\n",
            "",
        ),
        pool(
            "fail-text",
            "sim-fail-text",
            "      fail_after_tokens: 2\n",
            "",
        ),
    ]
    .concat()
}

/// The two completion routes.
const COMPLETIONS: [&str; 2] = ["/v1/chat/completions", "/v1/completions"];

/// A request to `path` (one of [`COMPLETIONS`]) for `model`, with `extra` fields.
fn ask_on(path: &str, model: &str, extra: Value) -> Value {
    if path == "/v1/completions" {
        let mut body = json!({"model": model, "prompt": "a haiku"});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        return body;
    }
    ask(model, extra)
}

fn ask(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "a haiku"}]});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

/// Whole and streamed completions of both kinds (200, JSON and event stream), with the
/// admission headers, and the model list.
async fn answers(provider: &Provider, server: &Server) {
    for path in COMPLETIONS {
        let whole = provider
            .send(
                provider
                    .post(
                        server,
                        path,
                        &ask_on(path, "sim-small", json!({"max_tokens": 3, "seed": 1})),
                    )
                    .header("x-priority", "batch")
                    .header("x-deadline-ms", "60000"),
            )
            .await
            .expect(200);
        assert!(whole.json()["choices"][0]["finish_reason"] == "length");
        let streamed = provider
            .send(provider.post(
                server,
                path,
                &ask_on(
                    path,
                    "sim-small",
                    json!({"max_tokens": 3, "stream": true, "stream_options": {"include_usage": true}, "stop": ["zzz"]}),
                ),
            ))
            .await
            .expect(200);
        assert_eq!(
            streamed.events.last().map(|e| e.data.clone()),
            Some(json!("[DONE]"))
        );
    }
    let models = provider
        .send(provider.get(server, "/v1/models"))
        .await
        .expect(200);
    assert_eq!(models.json()["data"].as_array().unwrap().len(), 5);
}

/// Refused bodies and headers (400, 413, 415) and requests that cannot be admitted (422).
async fn refusals(provider: &Provider, server: &Server) {
    for path in COMPLETIONS {
        let post_raw = |content_type: &str, body: String| {
            provider
                .request(server, Method::POST, path)
                .header("content-type", content_type)
                .body(body)
        };
        for body in [
            ask_on(path, "sim-small", json!({"logit_bias": {}})),
            ask_on(path, "sim-small", json!({"temperature": 9})),
            json!({"model": "sim-small"}),
        ] {
            provider
                .send(provider.post(server, path, &body))
                .await
                .expect_error(400, "INVALID_REQUEST");
        }
        for (header, value) in [("x-priority", "urgent"), ("x-deadline-ms", "0")] {
            provider
                .send(
                    provider
                        .post(server, path, &ask_on(path, "sim-small", json!({})))
                        .header(header, value),
                )
                .await
                .expect_error(400, "INVALID_REQUEST");
        }
        provider
            .send(post_raw(
                "application/json",
                format!("{{\"model\":\"{}\"}}", "x".repeat(1024 * 1024 + 1)),
            ))
            .await
            .expect_error(413, "PAYLOAD_TOO_LARGE");
        provider
            .send(post_raw("text/plain", "{}".to_owned()))
            .await
            .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
        for (body, code) in [
            (ask_on(path, "no-such-model", json!({})), "UNKNOWN_MODEL"),
            (
                ask_on(path, "sim-small", json!({"max_tokens": 100000})),
                "MAX_TOKENS_TOO_LARGE",
            ),
        ] {
            provider
                .send(provider.post(server, path, &body))
                .await
                .expect_error(422, code);
        }
    }
}

/// A full queue (429), a pool with no ready replica (503) and a task that fails (500), on
/// both routes.
async fn backpressure(provider: &Provider, server: &Server) {
    for path in COMPLETIONS {
        let running = provider
            .start(provider.post(
                server,
                path,
                &ask_on(path, "sim-busy", json!({"max_tokens": 100, "stream": true})),
            ))
            .await;
        let mut full = None;
        let mut waiting = Vec::new();
        for _ in 0..3 {
            let pending = provider
                .start(provider.post(
                    server,
                    path,
                    &ask_on(path, "sim-busy", json!({"max_tokens": 1, "stream": true})),
                ))
                .await;
            if pending.status() == 429 {
                full = Some(pending.finish().await.expect_error(429, "QUEUE_FULL"));
                break;
            }
            waiting.push(pending);
        }
        full.expect("the busy pool's queue never filled");
        drop(waiting);
        drop(running);
        provider
            .send(provider.post(
                server,
                path,
                &ask_on(path, "sim-broken", json!({"max_tokens": 1})),
            ))
            .await
            .expect_error(503, "POOL_UNAVAILABLE");
        let failing = if path == "/v1/completions" {
            "sim-fail-text"
        } else {
            "sim-fail-chat"
        };
        provider
            .send(provider.post(
                server,
                path,
                &ask_on(path, failing, json!({"max_tokens": 10})),
            ))
            .await
            .expect_error(500, "ENGINE_ERROR");
    }
}

#[spectrace::covers(
    "ORCH-2201",
    "ORCH-2202",
    "ORCH-2203",
    "ORCH-2208",
    "ORCH-2213",
    "ORCH-2214",
    kind = "contract"
)]
#[tokio::test]
async fn every_declared_openai_response_is_exercised_and_conforms() {
    let provider = Provider::new();
    let key_file =
        std::env::temp_dir().join(format!("orchd-provider-openai-key-{}", std::process::id()));
    std::fs::write(&key_file, "provider-openai-key\n").unwrap();
    let open = start(&config()).await;
    let keyed = start(&format!(
        "pools:\n  - id: default\n    engine:\n      kind: sim\n    model:\n      name: sim-small\nauth:\n  data_keys:\n    - file: {}\n",
        key_file.display()
    ))
    .await;
    std::fs::remove_file(&key_file).unwrap();
    tokio::join!(
        answers(&provider, &open),
        refusals(&provider, &open),
        backpressure(&provider, &open),
        unauthorized(&provider, &keyed, "openai"),
    );
    provider.assert_all_exercised("openai");
    assert_eq!(
        provider.events_seen(),
        crate::support::contract::contract().declared_events("openai")
    );
}
