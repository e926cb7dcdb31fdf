//! The operator's control plane, always with the configured control key: drain, reload, pool
//! health, replica sets and metrics scrapes, and the replica facts they report.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::{Value, json};
use sha2::Digest;

use super::params::{Json, split_list};
use super::world::{Background, Orch, POLL, fetch};

/// `sha256:` and the hex digest of `bytes`, as orchestratord reports model digests.
pub fn digest_of(bytes: &[u8]) -> String {
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The digest of a model file of the scenario.
fn file_digest(w: &Orch, name: &str) -> String {
    let bytes = std::fs::read(w.scratch.path().join(name))
        .unwrap_or_else(|e| panic!("cannot read the model file {name}: {e}"));
    digest_of(&bytes)
}

async fn operator(w: &mut Orch, method: reqwest::Method, path: &str, body: Option<Value>) {
    let mut request = w.operator_request(method, path).await;
    if let Some(body) = body {
        request = request.json(&body);
    }
    w.send(request).await;
}

#[when(expr = "the operator drains pool {string} with a deadline of {int} ms")]
async fn drain(w: &mut Orch, pool: String, deadline_ms: u64) {
    let path = format!("/v1/pools/{pool}/drain");
    operator(
        w,
        reqwest::Method::POST,
        &path,
        Some(json!({"deadline_ms": deadline_ms})),
    )
    .await;
}

#[when(expr = "the operator reloads pool {string} with the model {string}")]
async fn reload_named(w: &mut Orch, pool: String, name: String) {
    let path = format!("/v1/pools/{pool}/reload");
    operator(
        w,
        reqwest::Method::POST,
        &path,
        Some(json!({"model": {"name": name}})),
    )
    .await;
}

/// Rows: `name`; `file` (a model file of the scenario) or `path` (any path); `sha256` (a
/// digest, or `of the file` for the file's own digest).
#[when(expr = "the operator reloads pool {string} with the model:")]
async fn reload_table(w: &mut Orch, pool: String, step: &Step) {
    let table = step
        .table
        .as_ref()
        .unwrap_or_else(|| panic!("the step needs a table"));
    let mut model = json!({});
    let mut file = None;
    for row in &table.rows {
        let [key, value] = row.as_slice() else {
            panic!("each row is `| key | value |`: {row:?}")
        };
        match key.as_str() {
            "name" | "path" => model[key.as_str()] = json!(value),
            "file" => {
                model["path"] = json!(w.scratch.path().join(value).to_string_lossy());
                file = Some(value.clone());
            }
            "sha256" if value == "of the file" => {
                let file = file
                    .as_deref()
                    .unwrap_or_else(|| panic!("`sha256 | of the file` needs a `file` row first"));
                let digest = file_digest(w, file);
                model["sha256"] = json!(digest.trim_start_matches("sha256:"));
            }
            "sha256" => model["sha256"] = json!(value),
            other => panic!("unknown model key {other}"),
        }
    }
    let path = format!("/v1/pools/{pool}/reload");
    operator(
        w,
        reqwest::Method::POST,
        &path,
        Some(json!({ "model": model })),
    )
    .await;
}

#[when(expr = "the operator reads the health of pool {string}")]
async fn health(w: &mut Orch, pool: String) {
    let path = format!("/v1/pools/{pool}/health");
    operator(w, reqwest::Method::GET, &path, None).await;
}

#[when(expr = "the operator lists the replica sets")]
async fn replica_sets(w: &mut Orch) {
    operator(w, reqwest::Method::GET, "/v1/replicasets", None).await;
}

#[when(expr = "the operator scrapes the metrics")]
async fn scrape(w: &mut Orch) {
    operator(w, reqwest::Method::GET, "/metrics", None).await;
}

/// Polls the pool's health in the background and keeps every `replicas_ready` it sees, so that
/// a short unready spell is not missed whatever the next steps do.
#[when(expr = "I start watching the ready replicas of pool {string}")]
async fn watch(w: &mut Orch, pool: String) {
    let request = w
        .operator_request(reqwest::Method::GET, &format!("/v1/pools/{pool}/health"))
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let watcher = tokio::spawn(async move {
        loop {
            let Some(request) = request.try_clone() else {
                return;
            };
            if let Ok(response) = request.send().await
                && let Ok(health) = response.json::<Value>().await
                && let Some(ready) = health["replicas_ready"].as_u64()
            {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(ready);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    w.background.push(Background(watcher));
    w.watched.insert(pool, seen);
}

#[then(expr = "the pool {string} was seen with {int} ready replica(s) within {int} ms")]
async fn was_seen(w: &mut Orch, pool: String, ready: u64, ms: u64) {
    let seen = Arc::clone(
        w.watched
            .get(&pool)
            .unwrap_or_else(|| panic!("pool {pool} is not watched")),
    );
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        let values = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if values.contains(&ready) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pool {pool} never had {ready} ready replicas; seen {values:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[then(expr = "the pool {string} has {int} ready replica(s) within {int} ms")]
async fn has_ready(w: &mut Orch, pool: String, ready: u64, ms: u64) {
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        let request = w
            .operator_request(reqwest::Method::GET, &format!("/v1/pools/{pool}/health"))
            .await;
        let health = fetch(request).await.json();
        if health["replicas_ready"] == ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pool {pool} did not have {ready} ready replicas in time: {health}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The entry of `pool` in the last answer, a replica-set list.
fn replica_set(w: &Orch, pool: &str) -> Value {
    let body = w.answer().json();
    body["replica_sets"]
        .as_array()
        .and_then(|sets| sets.iter().find(|s| s["pool_id"] == pool))
        .cloned()
        .unwrap_or_else(|| panic!("no replica set for pool {pool}: {body}"))
}

fn replica(w: &Orch, pool: &str, id: &str) -> Value {
    let set = replica_set(w, pool);
    set["replicas"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["replica_id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("pool {pool} has no replica {id}: {set}"))
}

#[then(expr = "the replica sets list the pools {string} in that order")]
fn sets_in_order(w: &mut Orch, pools: String) {
    let body = w.answer().json();
    let got: Vec<String> = body["replica_sets"]
        .as_array()
        .unwrap_or_else(|| panic!("no replica_sets: {body}"))
        .iter()
        .map(|s| s["pool_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, split_list(&pools));
}

#[then(expr = "the replica set of pool {string} reports {string} as {json}")]
fn set_reports(w: &mut Orch, pool: String, field: String, expected: Json) {
    assert_eq!(replica_set(w, &pool)[field.as_str()], expected.0);
}

#[then(
    expr = "the replica set of pool {string} reports {string} as the digest of the model file {string}"
)]
fn set_reports_file_digest(w: &mut Orch, pool: String, field: String, file: String) {
    assert_eq!(
        replica_set(w, &pool)[field.as_str()],
        json!(file_digest(w, &file))
    );
}

#[then(
    expr = "the replica set of pool {string} reports {string} as the digest of the name {string}"
)]
fn set_reports_name_digest(w: &mut Orch, pool: String, field: String, name: String) {
    assert_eq!(
        replica_set(w, &pool)[field.as_str()],
        json!(digest_of(name.as_bytes()))
    );
}

#[then(expr = "the replica set of pool {string} reports {string} as the version of orchestratord")]
fn set_reports_version(w: &mut Orch, pool: String, field: String) {
    assert_eq!(
        replica_set(w, &pool)[field.as_str()],
        json!(super::ORCHESTRATORD_VERSION)
    );
}

#[then(expr = "the replica set of pool {string} has the replicas {string}")]
fn set_replicas(w: &mut Orch, pool: String, ids: String) {
    let set = replica_set(w, &pool);
    let got: Vec<String> = set["replicas"]
        .as_array()
        .unwrap_or_else(|| panic!("no replicas: {set}"))
        .iter()
        .map(|r| r["replica_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, split_list(&ids));
}

#[then(expr = "the replica {string} of pool {string} has {int} of {int} slots busy")]
fn replica_slots(w: &mut Orch, id: String, pool: String, busy: u64, total: u64) {
    let replica = replica(w, &pool, &id);
    assert_eq!(
        (&replica["slots_busy"], &replica["slots_total"]),
        (&json!(busy), &json!(total)),
        "{replica}"
    );
}

#[then(expr = "the replica {string} of pool {string} is ready")]
fn replica_ready(w: &mut Orch, id: String, pool: String) {
    let replica = replica(w, &pool, &id);
    assert_eq!(replica["ready"], true, "{replica}");
}

#[then(expr = "the response field {string} is the digest of the model file {string}")]
fn field_is_file_digest(w: &mut Orch, field: String, file: String) {
    let body = w.answer().json();
    assert_eq!(body[field.as_str()], json!(file_digest(w, &file)), "{body}");
}

#[then(expr = "the error message mentions the digest of the model file {string}")]
fn message_has_file_digest(w: &mut Orch, file: String) {
    let digest = file_digest(w, &file);
    let hex = digest.trim_start_matches("sha256:");
    let message = w.answer().json()["error"]["message"].clone();
    let message = message.as_str().unwrap_or_default();
    assert!(
        message.contains(hex),
        "{message:?} lacks the actual digest {hex}"
    );
}
