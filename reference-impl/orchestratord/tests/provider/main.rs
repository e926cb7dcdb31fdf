//! Provider verification: the contract evidence that orchestratord answers as its published
//! contracts say (ORCH-3055 and the contract requirements around it).
//!
//! Real servers on loopback are driven through every operation of every OpenAPI document and
//! every status each operation declares; the list of (operation, status) pairs comes from the
//! documents, and each plane's suite fails when a declared pair was not produced, so a status
//! added to the contract needs a scenario that provokes it. Every response is checked by the
//! verifier of `support::contract` (status, headers, content type, body schema, SSE events,
//! metric contract) through [`driver::Provider`]. The configuration examples are checked
//! against the configuration schema here too, and `selftest` shows that the verifier reports
//! each kind of violation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../support/mod.rs"]
mod support;

mod config_examples;
mod driver;
mod openai;
mod selftest;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use driver::{Checked, Provider};
use support::contract::{contract, repo_root};
use support::{CONTROL_KEY, Server, start, start_app, wait_running};

/// A sim pool with the given id and extra pool-level YAML (indented for a pool entry).
fn sim_pool(id: &str, engine: &str, pool: &str) -> String {
    format!(
        "  - id: {id}\n    engine:\n      kind: sim\n{engine}    model:\n      name: sim-small\n{pool}"
    )
}

/// A body larger than the 1 MiB limit (ORCH-2013).
fn oversize_body() -> String {
    format!(
        "{{\"pool\":\"default\",\"prompt\":\"{}\",\"max_tokens\":1}}",
        "x".repeat(1024 * 1024 + 1)
    )
}

/// Every operation of `plane` that declares 401 and 403, called without a key and with a
/// wrong one. The operations come from the contract, so a new secured operation is covered
/// without a new scenario.
async fn unauthorized(provider: &Provider, server: &Server, plane: &str) {
    for operation in contract().operations.iter().filter(|op| op.plane == plane) {
        let method = Method::from_bytes(operation.method.as_bytes()).unwrap();
        let path = operation.path_with("provider-x");
        for (status, code, key) in [
            (401, "UNAUTHENTICATED", None),
            (403, "FORBIDDEN", Some("not-a-configured-key")),
        ] {
            if !operation.responses.contains_key(&status) {
                continue;
            }
            let mut request = provider.request(server, method.clone(), &path);
            if let Some(body) = &operation.request_example {
                request = request.json(body);
            }
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            provider.send(request).await.expect_error(status, code);
        }
    }
}

/// Reads a whole event stream and returns the names of its events.
async fn stream(provider: &Provider, server: &Server, task_id: &str) -> Vec<String> {
    let checked = provider
        .send(provider.get(server, &format!("/v1/tasks/{task_id}/events")))
        .await
        .expect(200);
    checked.events.iter().map(|e| e.name.clone()).collect()
}

fn task_id(checked: &Checked) -> String {
    checked.json()["task_id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Data plane

/// `default` takes anything; `busy` has one slot and a queue of one, so it fills; `closing`
/// gets drained; `broken` never turns ready.
fn data_plane_config() -> String {
    [
        "pools:\n".to_owned(),
        sim_pool("default", "", ""),
        sim_pool(
            "busy",
            "      token_delay_ms: 50\n",
            "    slots: 1\n    queue:\n      capacity:\n        interactive: 1\n        batch: 1\n",
        ),
        sim_pool("closing", "", ""),
        sim_pool("broken", "      fail_health_checks: true\n", ""),
    ]
    .concat()
}

/// Capabilities and the published documents: 200.
async fn discovery(provider: &Provider, server: &Server) {
    for path in [
        "/v1/capabilities",
        "/v1/openapi/data.yaml",
        "/v1/openapi/control.yaml",
        "/v1/openapi/openai.yaml",
    ] {
        provider.send(provider.get(server, path)).await.expect(200);
    }
}

/// A session task from admission to deletion, and every lookup of an unknown id.
async fn task_and_session_lifecycle(provider: &Provider, server: &Server) {
    let admitted = provider
        .send(provider.post(
            server,
            "/v1/tasks",
            &json!({"pool": "default", "prompt": "provider", "max_tokens": 3, "session_id": "provider-chat"}),
        ))
        .await
        .expect(202);
    assert!(admitted.header("x-budget-turns-remaining").is_some());
    let id = task_id(&admitted);
    let events = stream(provider, server, &id).await;
    assert_eq!(events.last().map(String::as_str), Some("end"));
    provider
        .send(provider.get(server, &format!("/v1/tasks/{id}")))
        .await
        .expect(200);
    // Cancelling an ended task changes nothing.
    let cancelled = provider
        .send(provider.post(server, &format!("/v1/tasks/{id}/cancel"), &json!({})))
        .await
        .expect(200);
    assert_eq!(cancelled.json()["state"], "completed");
    let session = "/v1/sessions/provider-chat";
    provider
        .send(provider.get(server, session))
        .await
        .expect(200);
    provider
        .send(provider.request(server, Method::DELETE, session))
        .await
        .expect(204);
    provider
        .send(provider.get(server, session))
        .await
        .expect_error(404, "NOT_FOUND");
    provider
        .send(provider.request(server, Method::DELETE, session))
        .await
        .expect_error(404, "NOT_FOUND");
    // Unknown tasks; one request with an invalid correlation id, which gets a fresh UUID.
    provider
        .send(
            provider
                .get(server, "/v1/tasks/no-such-task")
                .header("x-correlation-id", "not valid!"),
        )
        .await
        .expect_error(404, "NOT_FOUND");
    provider
        .send(provider.get(server, "/v1/tasks/no-such-task/events"))
        .await
        .expect_error(404, "NOT_FOUND");
    provider
        .send(provider.post(server, "/v1/tasks/no-such-task/cancel", &json!({})))
        .await
        .expect_error(404, "NOT_FOUND");
}

/// Bodies the server refuses before admission: 400, 413, 415, 422.
async fn refused_bodies(provider: &Provider, server: &Server) {
    let post_raw = |content_type: &str, body: String| {
        provider
            .request(server, Method::POST, "/v1/tasks")
            .header("content-type", content_type)
            .body(body)
    };
    provider
        .send(provider.post(
            server,
            "/v1/tasks",
            &json!({"pool": "default", "prompt": "p", "max_tokens": 1, "bogus": 1}),
        ))
        .await
        .expect_error(400, "INVALID_REQUEST");
    provider
        .send(post_raw("application/json", "{".to_owned()))
        .await
        .expect_error(400, "INVALID_REQUEST");
    provider
        .send(post_raw("application/json", oversize_body()))
        .await
        .expect_error(413, "PAYLOAD_TOO_LARGE");
    provider
        .send(post_raw("text/plain", "{}".to_owned()))
        .await
        .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    for (body, code) in [
        (
            json!({"pool": "nowhere", "prompt": "p", "max_tokens": 1}),
            "UNKNOWN_POOL",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 1, "model": "other"}),
            "UNKNOWN_MODEL",
        ),
        (
            json!({"pool": "default", "prompt": "p", "max_tokens": 100000}),
            "MAX_TOKENS_TOO_LARGE",
        ),
    ] {
        provider
            .send(provider.post(server, "/v1/tasks", &body))
            .await
            .expect_error(422, code);
    }
}

/// A second reader of an open stream (409) and a full queue (429), then cancels of a running
/// and a queued task (200) and the cancelled stream's end.
async fn conflicts_and_backpressure(provider: &Provider, server: &Server) {
    let long = json!({"pool": "busy", "prompt": "p", "max_tokens": 200});
    let running = provider
        .send(provider.post(server, "/v1/tasks", &long))
        .await
        .expect(202);
    let running_id = task_id(&running);
    let events_path = format!("/v1/tasks/{running_id}/events");
    let open = provider.start(provider.get(server, &events_path)).await;
    provider
        .send(provider.get(server, &events_path))
        .await
        .expect_error(409, "STREAM_CONFLICT");
    // One slot and a queue of one: at most two tasks are admitted before the queue is full.
    let mut queued = Vec::new();
    let mut full = None;
    for _ in 0..3 {
        let answer = provider
            .send(provider.post(
                server,
                "/v1/tasks",
                &json!({"pool": "busy", "prompt": "p", "max_tokens": 1}),
            ))
            .await;
        match answer.status {
            202 => queued.push(task_id(&answer)),
            _ => {
                full = Some(answer.expect_error(429, "QUEUE_FULL"));
                break;
            }
        }
    }
    let full = full.expect("the busy pool's queue never filled");
    assert_eq!(full.json()["error"]["policy"], "reject");
    for id in std::iter::once(&running_id).chain(&queued) {
        provider
            .send(provider.post(server, &format!("/v1/tasks/{id}/cancel"), &json!({})))
            .await
            .expect(200);
    }
    let cancelled = open.finish().await.expect(200);
    let names: Vec<&str> = cancelled.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"started"));
    assert_eq!(names.last(), Some(&"error"));
}

/// A draining pool and a pool with no ready replica: 503 with `Retry-After`.
async fn unavailable_pools(provider: &Provider, server: &Server) {
    // The longest drain the contract allows: the retry hint still stays within its bounds.
    provider
        .send(
            provider
                .post(
                    server,
                    "/v1/pools/closing/drain",
                    &json!({"deadline_ms": 3_600_000}),
                )
                .bearer_auth(CONTROL_KEY),
        )
        .await
        .expect(202);
    provider
        .send(provider.post(
            server,
            "/v1/tasks",
            &json!({"pool": "closing", "prompt": "p", "max_tokens": 1}),
        ))
        .await
        .expect_error(503, "POOL_DRAINING");
    provider
        .send(provider.post(
            server,
            "/v1/tasks",
            &json!({"pool": "broken", "prompt": "p", "max_tokens": 1}),
        ))
        .await
        .expect_error(503, "POOL_UNAVAILABLE");
}

#[spectrace::covers("ORCH-3055", "ORCH-2006", "ORCH-2009", kind = "contract")]
#[tokio::test]
async fn every_declared_data_plane_response_is_exercised_and_conforms() {
    let provider = Provider::new();
    let key_file =
        std::env::temp_dir().join(format!("orchd-provider-data-key-{}", std::process::id()));
    std::fs::write(&key_file, "provider-data-key\n").unwrap();
    let open = start(&data_plane_config()).await;
    let keyed = start(&format!(
        "pools:\n{}auth:\n  data_keys:\n    - file: {}\n",
        sim_pool("default", "", ""),
        key_file.display()
    ))
    .await;
    std::fs::remove_file(&key_file).unwrap();
    tokio::join!(
        discovery(&provider, &open),
        task_and_session_lifecycle(&provider, &open),
        refused_bodies(&provider, &open),
        conflicts_and_backpressure(&provider, &open),
        unavailable_pools(&provider, &open),
        unauthorized(&provider, &keyed, "data"),
    );
    provider.assert_all_exercised("data");
}

// ---------------------------------------------------------------------------------------------
// Control plane

/// Health, replica sets, metrics and the probes of a ready server.
async fn observation(provider: &Provider, server: &Server) {
    let keyed = |path: &str| provider.get(server, path).bearer_auth(CONTROL_KEY);
    provider
        .send(provider.get(server, "/livez"))
        .await
        .expect(200);
    provider
        .send(provider.get(server, "/readyz"))
        .await
        .expect(200);
    provider.send(keyed("/metrics")).await.expect(200);
    provider.send(keyed("/v1/replicasets")).await.expect(200);
    provider
        .send(keyed("/v1/pools/default/health"))
        .await
        .expect(200);
    provider
        .send(keyed("/v1/pools/nowhere/health"))
        .await
        .expect_error(404, "NOT_FOUND");
}

/// Every answer of drain and reload: refused bodies, unknown pools, a failing reload, and
/// the successful calls.
async fn pool_operations(provider: &Provider, server: &Server) {
    let raw = |path: &str, content_type: &str, body: String| {
        provider
            .request(server, Method::POST, path)
            .bearer_auth(CONTROL_KEY)
            .header("content-type", content_type)
            .body(body)
    };
    let post =
        |path: &str, body: Value| provider.post(server, path, &body).bearer_auth(CONTROL_KEY);
    for path in ["/v1/pools/spare/drain", "/v1/pools/default/reload"] {
        provider
            .send(raw(path, "application/json", oversize_body()))
            .await
            .expect_error(413, "PAYLOAD_TOO_LARGE");
        provider
            .send(raw(path, "text/plain", "{}".to_owned()))
            .await
            .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    provider
        .send(post("/v1/pools/spare/drain", json!({"deadline_ms": 0})))
        .await
        .expect_error(400, "INVALID_REQUEST");
    provider
        .send(post(
            "/v1/pools/nowhere/drain",
            json!({"deadline_ms": 1000}),
        ))
        .await
        .expect_error(404, "NOT_FOUND");
    provider
        .send(post("/v1/pools/spare/drain", json!({"deadline_ms": 1000})))
        .await
        .expect(202);
    provider
        .send(post(
            "/v1/pools/default/reload",
            json!({"model": {"name": "sim-v2", "bogus": 1}}),
        ))
        .await
        .expect_error(400, "INVALID_REQUEST");
    provider
        .send(post(
            "/v1/pools/nowhere/reload",
            json!({"model": {"name": "sim-v2"}}),
        ))
        .await
        .expect_error(404, "NOT_FOUND");
    provider
        .send(post(
            "/v1/pools/default/reload",
            json!({"model": {"name": "sim-v2", "path": "/nonexistent/provider-model.bin"}}),
        ))
        .await
        .expect_error(409, "RELOAD_FAILED");
    provider
        .send(post(
            "/v1/pools/default/reload",
            json!({"model": {"name": "sim-v2"}}),
        ))
        .await
        .expect(200);
}

#[spectrace::covers("ORCH-3055", "ORCH-2006", "ORCH-2009", kind = "contract")]
#[tokio::test]
async fn every_declared_control_plane_response_is_exercised_and_conforms() {
    let provider = Provider::new();
    let config = format!(
        "pools:\n{}{}",
        sim_pool("default", "", ""),
        sim_pool("spare", "", "")
    );
    let (service, server) = start_app(
        &config,
        orchestratord::auth::Keys::new([CONTROL_KEY]),
        orchestratord::log::Logger::discard(),
    )
    .await;
    let unready = start(&format!(
        "pools:\n{}",
        sim_pool("broken", "      fail_health_checks: true\n", "")
    ))
    .await;
    tokio::join!(
        observation(&provider, &server),
        pool_operations(&provider, &server),
        unauthorized(&provider, &server, "control"),
    );
    provider
        .send(provider.get(&unready, "/readyz"))
        .await
        .expect_error(503, "POOL_UNAVAILABLE");
    service.shut_down(Duration::ZERO).await;
    provider
        .send(provider.get(&server, "/readyz"))
        .await
        .expect_error(503, "SHUTTING_DOWN");
    provider.assert_all_exercised("control");
}

// ---------------------------------------------------------------------------------------------
// Event streams

#[spectrace::covers("ORCH-3055", "ORCH-3029", kind = "contract")]
#[tokio::test]
async fn every_declared_sse_event_is_exercised_and_conforms_to_its_schema() {
    let provider = Provider::new();
    let server = start(&format!(
        "pools:\n{}{}",
        sim_pool("default", "", ""),
        sim_pool("failing", "      fail_after_tokens: 2\n", "")
    ))
    .await;
    // Long enough for a `metrics` event, then `end`.
    let max_tokens = orchestratord::service::METRICS_EVERY + 1;
    let completed = provider
        .send(provider.post(
            &server,
            "/v1/tasks",
            &json!({"pool": "default", "prompt": "p", "max_tokens": max_tokens}),
        ))
        .await
        .expect(202);
    let failed = provider
        .send(provider.post(
            &server,
            "/v1/tasks",
            &json!({"pool": "failing", "prompt": "p", "max_tokens": 10}),
        ))
        .await
        .expect(202);
    for (task, last) in [(&completed, "end"), (&failed, "error")] {
        let names = stream(&provider, &server, &task_id(task)).await;
        assert_eq!(names.first().map(String::as_str), Some("started"));
        assert_eq!(names.last().map(String::as_str), Some(last), "{names:?}");
    }
    assert_eq!(provider.events_seen(), contract().declared_events("data"));
}

// ---------------------------------------------------------------------------------------------
// Versions and published documents

#[spectrace::covers("ORCH-3053", kind = "contract")]
#[tokio::test]
async fn api_version_is_a_semantic_version_whose_major_is_the_path_version() {
    let path_versions: BTreeSet<u64> = contract()
        .operations
        .iter()
        .filter_map(|op| op.path.strip_prefix("/v")?.split('/').next()?.parse().ok())
        .collect();
    assert_eq!(
        path_versions.len(),
        1,
        "one path version: {path_versions:?}"
    );
    let provider = Provider::new();
    let server = start(&format!("pools:\n{}", sim_pool("default", "", ""))).await;
    let capabilities = provider
        .send(provider.get(&server, "/v1/capabilities"))
        .await
        .expect(200)
        .json();
    let text = capabilities["api_version"].as_str().unwrap();
    let version = semver::Version::parse(text)
        .unwrap_or_else(|e| panic!("api_version `{text}` is not a semantic version: {e}"));
    assert_eq!(Some(&version.major), path_versions.first());
}

#[spectrace::covers("ORCH-3054", kind = "contract")]
#[tokio::test]
async fn the_published_contracts_are_the_committed_documents_byte_for_byte() {
    let provider = Provider::new();
    let server = start(&format!("pools:\n{}", sim_pool("default", "", ""))).await;
    let published = [
        ("getDataPlaneContract", "contracts/openapi/data.yaml"),
        ("getControlPlaneContract", "contracts/openapi/control.yaml"),
        ("getOpenAiContract", "contracts/openapi/openai.yaml"),
    ];
    let every: Vec<&str> = contracts_codegen::DOCUMENTS.iter().map(|d| d.1).collect();
    let files: Vec<&str> = published.iter().map(|p| p.1).collect();
    assert_eq!(files, every, "every contract document is published");
    for (operation, file) in published {
        let path = &contract().by_id(operation).path;
        let served = provider.send(provider.get(&server, path)).await.expect(200);
        assert_eq!(served.header("content-type"), Some("application/yaml"));
        let committed = std::fs::read(repo_root().join(file)).unwrap();
        assert!(served.body == committed, "{path} differs from {file}");
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// The value of the sample of `family` with `labels` (0 when there is none): counters and
/// gauges by value, histograms by count.
fn sample(text: &str, family: &str, labels: &[(&str, &str)]) -> f64 {
    use openmetrics_parser::OpenMetricsValue;
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(text).unwrap();
    exposition.families[family]
        .iter_samples()
        .find(|s| {
            let set = s.get_labelset().unwrap();
            labels
                .iter()
                .all(|(name, value)| set.get_label_value(name) == Some(*value))
        })
        .map_or(0.0, |s| match &s.value {
            OpenMetricsValue::Counter(c) => c.value.as_f64(),
            OpenMetricsValue::Gauge(g) => g.as_f64(),
            OpenMetricsValue::Histogram(h) => h.count.unwrap_or_default() as f64,
            other => panic!("{family}: {other:?}"),
        })
}

async fn scrape(provider: &Provider, server: &Server) -> String {
    let checked = provider
        .send(provider.get(server, "/metrics").bearer_auth(CONTROL_KEY))
        .await
        .expect(200);
    String::from_utf8(checked.body).unwrap()
}

/// Runs failing tasks on `flaky` until a scrape shows its replica unready and a later one
/// ready again; the restart takes at least 100 ms (ORCH-3044), which a scrape right after the
/// failure nearly always falls into, and a missed window is simply tried again.
async fn replica_readiness_flips(provider: &Provider, server: &Server) -> bool {
    let ready = |text: &str| sample(text, "orchd_replica_ready", &[("pool", "flaky")]);
    for _ in 0..5 {
        let task = provider
            .send(provider.post(
                server,
                "/v1/tasks",
                &json!({"pool": "flaky", "prompt": "p", "max_tokens": 10}),
            ))
            .await
            .expect(202);
        stream(provider, server, &task_id(&task)).await;
        if ready(&scrape(provider, server).await) != 0.0 {
            continue;
        }
        for _ in 0..500 {
            if ready(&scrape(provider, server).await) == 1.0 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        return false;
    }
    false
}

#[spectrace::covers("ORCH-3028", "ORCH-3049", "ORCH-3016", kind = "contract")]
#[tokio::test]
async fn the_metrics_match_the_contract_exactly() {
    // Every scrape is checked against contracts/metrics/metrics.yaml by the verifier: names,
    // types, label names and label budgets, nothing beyond the contract.
    let provider = Provider::new();
    let server = start(&format!(
        "pools:\n{}{}",
        sim_pool(
            "default",
            "      token_delay_ms: 20\n",
            "    slots: 1\n    queue:\n      capacity:\n        interactive: 1\n        batch: 1\n",
        ),
        sim_pool("flaky", "      fail_after_tokens: 2\n", "    slots: 1\n")
    ))
    .await;
    let body = json!({"pool": "default", "prompt": "one two three", "max_tokens": 3});
    let enqueue = || provider.send(provider.post(&server, "/v1/tasks", &body));
    let first = enqueue().await.expect(202);
    wait_running(&server, &first.json()).await;
    let second = enqueue().await.expect(202);
    enqueue().await.expect_error(429, "QUEUE_FULL");
    for task in [&first, &second] {
        stream(&provider, &server, &task_id(task)).await;
    }
    let text = scrape(&provider, &server).await;
    let pool = ("pool", "default");
    let interactive = ("priority", "interactive");
    let replica = ("replica", "default-0");
    assert_eq!(sample(&text, "orchd_tokens_out", &[pool]), 6.0);
    assert_eq!(sample(&text, "orchd_tokens_in", &[pool]), 6.0);
    assert_eq!(
        sample(&text, "orchd_tasks_enqueued", &[pool, interactive]),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "orchd_tasks_rejected",
            &[pool, interactive, ("reason", "queue_full")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "orchd_tasks_finished",
            &[pool, ("outcome", "completed")]
        ),
        2.0
    );
    assert_eq!(sample(&text, "orchd_replica_ready", &[pool, replica]), 1.0);
    assert_eq!(sample(&text, "orchd_slots_capacity", &[pool, replica]), 1.0);
    assert_eq!(
        sample(&text, "orchd_queue_depth", &[pool, interactive]),
        0.0
    );
    // Each finished task's queue wait and time to first token are observed (ORCH-3049).
    assert_eq!(
        sample(&text, "orchd_queue_wait_seconds", &[pool, interactive]),
        2.0
    );
    assert_eq!(
        sample(&text, "orchd_time_to_first_token_seconds", &[pool]),
        2.0
    );
    // A replica's readiness change shows in orchd_replica_ready (ORCH-3016).
    assert!(
        replica_readiness_flips(&provider, &server).await,
        "orchd_replica_ready never showed the flaky replica unready and then ready again"
    );
}
