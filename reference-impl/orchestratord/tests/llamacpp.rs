//! The `llamacpp` engine against a real llama.cpp server: the adapter contract suite, model
//! and slot checks, a haiku streamed end to end through orchestratord, upstream cancel and
//! same-seed determinism.
//!
//! This target needs a running engine, so plain `cargo test` does not build it
//! (`test = false`). `cargo xtask ci:haiku:cpu` and `cargo xtask ci:determinism` start the
//! engine (installing it under `target/llamacpp` when missing) and run it with:
//! - `ORCHD_LLAMACPP_URL`: the server, e.g. `http://127.0.0.1:41234`;
//! - `ORCHD_LLAMACPP_MODEL`: the model file it serves;
//! - `ORCHD_LLAMACPP_SHA256`: that file's SHA-256.
//!
//! By hand: `cargo xtask engine run -- cargo test -p orchestratord --test llamacpp`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::time::Duration;

use futures::StreamExt;

use orchestrator_client::sse::TaskEvent;
use orchestratord::engine::{self, Engine};
use serde_json::{Value, json};

mod support;
use support::engine_contract as contract;
use support::*;

/// Parallel slots of the engine `cargo xtask` starts.
const ENGINE_SLOTS: usize = 2;

struct Real {
    url: String,
    model: String,
    sha256: String,
}

fn real() -> Real {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: this suite needs a running llama.cpp server; run it with \
                 `cargo xtask engine run -- cargo test -p orchestratord --test llamacpp`"
            )
        })
    };
    Real {
        url: var("ORCHD_LLAMACPP_URL"),
        model: var("ORCHD_LLAMACPP_MODEL"),
        sha256: var("ORCHD_LLAMACPP_SHA256"),
    }
}

/// A config with one `llamacpp` pool `gemma` on the real engine; `model` is the YAML of the
/// model's `path` and `sha256` lines.
fn config_yaml(real: &Real, slots: usize, model: &str) -> String {
    format!(
        "pools:\n  - id: gemma\n    engine:\n      kind: llamacpp\n      url: {url}\n    model:\n      name: gemma3-270m\n      {model}\n    slots: {slots}\n    limits:\n      ctx_max: 2048\n      max_tokens: 1600\n",
        url = real.url
    )
}

fn model_lines(path: &str, sha256: &str) -> String {
    format!("path: \"{path}\"\n      sha256: \"{sha256}\"")
}

async fn load(yaml: &str) -> Result<Vec<std::sync::Arc<dyn Engine>>, String> {
    let config = orchestrator_config::load_yaml(yaml).unwrap();
    let pool = &config.pools[0];
    engine::load(pool, &pool.model)
        .await
        .map(|(_, engines)| engines)
}

async fn real_engine(real: &Real) -> std::sync::Arc<dyn Engine> {
    let yaml = config_yaml(real, ENGINE_SLOTS, &model_lines(&real.model, &real.sha256));
    load(&yaml).await.unwrap().remove(0)
}

#[spectrace::covers("ORCH-3059", "ORCH-3061", "ORCH-3062", "ORCH-3063", kind = "test")]
#[tokio::test]
async fn contract_llamacpp_passes_the_adapter_contract() {
    let real = real();
    let engine = real_engine(&real).await;
    assert_eq!(engine.kind(), api_types::EngineKind::Llamacpp);
    assert!(
        engine.version().starts_with("llama.cpp "),
        "{}",
        engine.version()
    );
    assert_eq!(engine.model_digest(), format!("sha256:{}", real.sha256));
    contract::health_and_identity(engine.as_ref())
        .await
        .unwrap();
    contract::counts_prompt_tokens(engine.as_ref())
        .await
        .unwrap();
    contract::streams_up_to_max_tokens(engine.as_ref())
        .await
        .unwrap();
    contract::same_seed_same_tokens(engine.as_ref(), 42)
        .await
        .unwrap();
    contract::cancel_frees_the_slot(engine.as_ref(), ENGINE_SLOTS, Duration::from_secs(15))
        .await
        .unwrap();
}

#[spectrace::covers("ORCH-3050", "ORCH-3051", "ORCH-3052", kind = "test")]
#[tokio::test]
async fn contract_the_model_file_is_checked_before_use() {
    let real = real();
    let wrong = "0".repeat(64);
    let error = load(&config_yaml(&real, 1, &model_lines(&real.model, &wrong)))
        .await
        .err()
        .unwrap();
    assert!(
        error.contains(&wrong) && error.contains(&real.sha256),
        "the error gives both digests: {error}"
    );

    let missing = format!("{}.missing", real.model);
    let error = load(&config_yaml(&real, 1, &format!("path: \"{missing}\"")))
        .await
        .err()
        .unwrap();
    assert!(
        error.contains(&missing),
        "the error names the path: {error}"
    );

    // A readable file that is not the one the server serves.
    let other = env!("CARGO_MANIFEST_PATH");
    let error = load(&config_yaml(&real, 1, &format!("path: \"{other}\"")))
        .await
        .err()
        .unwrap();
    assert!(error.contains("serves"), "{error}");

    let error = load(&config_yaml(&real, 1, &format!("sha256: \"{wrong}\"")))
        .await
        .err()
        .unwrap();
    assert!(error.contains("no path"), "{error}");

    let error = load(&config_yaml(
        &real,
        ENGINE_SLOTS + 1,
        &model_lines(&real.model, &real.sha256),
    ))
    .await
    .err()
    .unwrap();
    assert!(error.contains("parallel slots"), "{error}");
}

async fn tokens_out(server: &Server) -> u64 {
    let text = scrape(server, Some(CONTROL_KEY))
        .await
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("orchd_tokens_out_total{") && l.contains("pool=\"gemma\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no orchd_tokens_out_total for gemma in:\n{text}"))
}

/// Streams one task through the server; its tokens and its terminal event.
async fn stream_task(server: &Server, body: Value) -> (Vec<String>, TaskEvent) {
    let task = enqueue_ok(server, body).await;
    let events = typed_stream(server, task["task_id"].as_str().unwrap()).await;
    assert!(
        matches!(events.first(), Some(TaskEvent::Started(_))),
        "{events:?}"
    );
    (tokens(&events), terminal(&events).clone())
}

fn haiku(seed: u64) -> Value {
    json!({
        "pool": "gemma",
        "prompt": "A haiku about autumn rain:\n",
        "max_tokens": 32,
        "seed": seed,
        "temperature": 0.7,
    })
}

#[spectrace::covers(
    "ORCH-2001",
    "ORCH-2002",
    "ORCH-3051",
    "ORCH-3061",
    "ORCH-3063",
    kind = "e2e"
)]
#[tokio::test]
async fn haiku_streams_real_tokens_end_to_end() {
    let real = real();
    let yaml = config_yaml(&real, ENGINE_SLOTS, &model_lines(&real.model, &real.sha256));
    let server = start(&yaml).await;
    // On a starved machine the replica's first self-test can time out; the health loop
    // retries it. This test is about streaming, so it waits for readiness first.
    wait_ready(&server).await;
    let before = tokens_out(&server).await;

    let (tokens, end) = stream_task(&server, haiku(42)).await;
    let text = tokens.concat();
    eprintln!("haiku: {text:?}");
    assert!(!text.trim().is_empty(), "the model wrote nothing");
    let TaskEvent::End(end) = end else {
        panic!("the task did not end: {end:?}")
    };
    assert_eq!(end.tokens_out, tokens.len() as u64);
    assert_eq!(end.seed, 42);
    assert!(end.tokens_in > 0);
    assert_eq!(tokens_out(&server).await, before + tokens.len() as u64);

    let capabilities: Value = get_json(&server, "/v1/capabilities").await;
    let pool = &capabilities["pools"][0];
    assert_eq!(pool["engine"], "llamacpp", "{capabilities}");
    assert_eq!(pool["model_digest"], format!("sha256:{}", real.sha256));
    assert!(
        pool["engine_version"]
            .as_str()
            .unwrap()
            .starts_with("llama.cpp "),
        "{capabilities}"
    );
    let sets: Value = control(&server, reqwest::Method::GET, "/v1/replicasets", None)
        .await
        .json()
        .await
        .unwrap();
    let set = &sets["replica_sets"][0];
    assert_eq!(
        set["model_digest"],
        format!("sha256:{}", real.sha256),
        "{sets}"
    );
    assert!(
        set["engine_version"]
            .as_str()
            .unwrap()
            .starts_with("llama.cpp ")
    );

    let (again, _) = stream_task(&server, haiku(42)).await;
    assert_eq!(again, tokens, "the same seed gave other tokens");
}

/// A cancel through orchestratord ends the upstream generation: llama.cpp's slot stops long
/// before the task's `max_tokens`. The test reads llama.cpp's own `/slots` (`n_remain`, the
/// tokens its slot still has to generate) rather than timing anything: a cancel that did not
/// reach llama.cpp would leave the slot generating until `n_remain` runs out, however long
/// that takes on a busy machine.
#[spectrace::covers("ORCH-2003", "ORCH-3062", kind = "e2e")]
#[tokio::test]
async fn contract_cancel_through_orchestratord_frees_the_llamacpp_slot() {
    const MAX_TOKENS: u64 = 1500;
    let real = real();
    let yaml = config_yaml(&real, 1, &model_lines(&real.model, &real.sha256));
    let server = start(&yaml).await;
    // On a starved machine the replica's first self-test can time out; the health loop
    // retries it. This test is about cancel, so it waits for readiness first.
    wait_ready(&server).await;
    let mut long = haiku(5);
    long["max_tokens"] = json!(MAX_TOKENS);
    long["prompt"] = json!("Tell a very long story about a lighthouse keeper.");
    let task = enqueue_ok(&server, long).await;
    let id = task["task_id"].as_str().unwrap();
    // Read the stream until the first token, so the task is generating upstream.
    let stream = open_stream(&server, id).await;
    assert_eq!(stream.status(), 200);
    let mut events = std::pin::pin!(orchestrator_client::sse::events(stream.bytes_stream()));
    loop {
        match events.next().await {
            Some(Ok(TaskEvent::Token(_))) => break,
            Some(Ok(_)) => {}
            other => panic!("the task ended before its first token: {other:?}"),
        }
    }
    let before = busy_slot(&real)
        .await
        .expect("llama.cpp generates for the task");
    assert!(before > MAX_TOKENS / 2, "n_remain {before}");

    let cancelled = cancel(&server, id).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    // Follow the slot until it is idle; the last n_remain seen while it was busy says where
    // llama.cpp stopped.
    let mut last = before;
    while let Some(remaining) = busy_slot(&real).await {
        last = remaining;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        last > MAX_TOKENS / 2,
        "llama.cpp kept generating for the cancelled task (n_remain {last} of {MAX_TOKENS})"
    );
}

/// Waits until orchestratord is ready (a liveness bound: a replica that never turns ready fails
/// the test).
async fn wait_ready(server: &Server) {
    for _ in 0..1200 {
        let ready = http()
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap();
        if ready.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("orchestratord never turned ready");
}

/// `n_remain` of the slot llama.cpp is generating in, or `None` when every slot is idle.
async fn busy_slot(real: &Real) -> Option<u64> {
    let slots: Value = http()
        .get(format!("{}/slots", real.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    slots.as_array().unwrap().iter().find_map(|slot| {
        (slot["is_processing"] == true).then(|| {
            slot["next_token"][0]["n_remain"]
                .as_i64()
                .map_or(0, |n| n.max(0) as u64)
        })
    })
}

#[spectrace::covers("ORCH-3056", kind = "test")]
#[tokio::test]
async fn determinism_same_seed_same_tokens_through_the_adapter_and_the_server() {
    let real = real();
    let engine = real_engine(&real).await;
    let mut sequences = Vec::new();
    for seed in [1, 7, 42, 1 << 40, u64::MAX] {
        sequences.push(
            contract::same_seed_same_tokens(engine.as_ref(), seed)
                .await
                .unwrap(),
        );
    }
    let distinct: std::collections::BTreeSet<_> = sequences.iter().collect();
    assert!(
        distinct.len() > 1,
        "every seed gave the same tokens: {sequences:?}"
    );

    let yaml = config_yaml(&real, ENGINE_SLOTS, &model_lines(&real.model, &real.sha256));
    let server = start(&yaml).await;
    // As above: readiness first, on a machine busy enough to fail the first self-test.
    wait_ready(&server).await;
    for seed in [3, 99] {
        let (first, _) = stream_task(&server, haiku(seed)).await;
        let (second, _) = stream_task(&server, haiku(seed)).await;
        assert_eq!(first, second, "seed {seed}");
        assert!(!first.concat().trim().is_empty());
    }
}

/// The adapter reads the server's parallel slots from `/props` and holds a pool to them: one
/// that needs fewer slots than the server has loads, one that needs more is refused with the
/// number the server reported.
#[spectrace::covers("ORCH-3061", kind = "test")]
#[tokio::test]
async fn contract_llamacpp_reads_the_servers_slots_from_props() {
    let real = real();
    let model = model_lines(&real.model, &real.sha256);
    let fewer = load(&config_yaml(&real, ENGINE_SLOTS - 1, &model)).await;
    assert!(fewer.is_ok(), "{:?}", fewer.err());
    let error = load(&config_yaml(&real, ENGINE_SLOTS + 1, &model))
        .await
        .err()
        .unwrap();
    assert!(
        error.contains(&format!("has {ENGINE_SLOTS} parallel slots")),
        "{error}"
    );
}
