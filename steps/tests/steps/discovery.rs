//! Capabilities (`GET /v1/capabilities`): the API version and what each pool offers.

use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::{Value, json};

use super::control::digest_of;
use super::params::{Json, at_path, cell_value, split_list};
use super::world::Orch;

/// Reads the capabilities with the generated client, which checks the body against the
/// contract's schema, and keeps the raw answer too.
#[when(expr = "I read the capabilities")]
async fn read(w: &mut Orch) {
    let base = w.base().await;
    let client = orchestrator_client::data::Client::new_with_client(&base, w.http.clone());
    let typed = client
        .get_capabilities(None)
        .await
        .unwrap_or_else(|e| panic!("the capabilities do not match the contract: {e}"));
    assert_eq!(typed.status().as_u16(), 200);
    let request = w.request(reqwest::Method::GET, "/v1/capabilities").await;
    w.send(request).await;
}

fn pool_capabilities(w: &Orch, pool: &str) -> Value {
    let body = w.answer().json();
    body["pools"]
        .as_array()
        .and_then(|pools| pools.iter().find(|p| p["id"] == pool))
        .cloned()
        .unwrap_or_else(|| panic!("the capabilities have no pool {pool}: {body}"))
}

#[then(expr = "the capabilities report an api_version whose major part is {int}")]
fn api_version(w: &mut Orch, major: u64) {
    let body = w.answer().json();
    let version = body["api_version"].as_str().unwrap_or_default().to_owned();
    let parts: Vec<&str> = version.split('.').collect();
    assert_eq!(parts.len(), 3, "not a semantic version: {version:?}");
    assert!(
        parts.iter().all(|p| p.parse::<u64>().is_ok()),
        "not a semantic version: {version:?}"
    );
    assert_eq!(parts[0].parse::<u64>().ok(), Some(major), "{version}");
}

#[then(expr = "the capabilities list the pools {string}")]
fn lists_pools(w: &mut Orch, pools: String) {
    let body = w.answer().json();
    let mut got: Vec<String> = body["pools"]
        .as_array()
        .unwrap_or_else(|| panic!("no pools: {body}"))
        .iter()
        .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut expected = split_list(&pools);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

/// Rows: a field's dotted path and its JSON value.
#[then(expr = "the capabilities of pool {string} are:")]
fn pool_table(w: &mut Orch, pool: String, step: &Step) {
    let capabilities = pool_capabilities(w, &pool);
    let table = step
        .table
        .as_ref()
        .unwrap_or_else(|| panic!("the step needs a table"));
    for row in &table.rows {
        let [path, value] = row.as_slice() else {
            panic!("each row is `| field | value |`: {row:?}")
        };
        let got = at_path(&capabilities, path)
            .unwrap_or_else(|| panic!("pool {pool} has no {path}: {capabilities}"));
        assert_eq!(got, &cell_value(value), "{path} of pool {pool}");
    }
}

#[then(expr = "the capabilities of pool {string} report {string} as {json}")]
fn pool_field(w: &mut Orch, pool: String, field: String, expected: Json) {
    assert_eq!(pool_capabilities(w, &pool)[field.as_str()], expected.0);
}

#[then(
    expr = "the capabilities of pool {string} report {string} as the digest of the name {string}"
)]
fn pool_digest(w: &mut Orch, pool: String, field: String, name: String) {
    let value = pool_capabilities(w, &pool)[field.as_str()].clone();
    assert_eq!(value, json!(digest_of(name.as_bytes())));
}

#[then(expr = "the capabilities of pool {string} report {string} as the version of orchestratord")]
fn pool_version(w: &mut Orch, pool: String, field: String) {
    assert_eq!(
        pool_capabilities(w, &pool)[field.as_str()],
        json!(super::ORCHESTRATORD_VERSION)
    );
}
