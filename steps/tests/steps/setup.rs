//! `Given` steps that build orchestratord's configuration: pools, engines and their faults,
//! queues, limits, top-level settings and keys. The server starts from it at the first step
//! that talks to it.

use cucumber::given;
use serde_json::{Value, json};

use super::world::{Orch, Setup};

#[given(expr = "a sim pool {string} with {int} replica(s) of {int} slot(s)")]
fn sim_pool(w: &mut Orch, id: String, replicas: u32, slots: u32) {
    let pool = json!({
        "id": id,
        "engine": {"kind": "sim"},
        "model": {"name": "sim-small"},
        "replicas": replicas,
        "slots": slots,
    });
    let pools = w.document()["pools"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("the configuration has no pool list"));
    assert!(
        pools.iter().all(|p| p["id"] != pool["id"]),
        "pool {id} is already configured"
    );
    pools.push(pool);
}

#[given(expr = "the pool {string} serves the model {string}")]
fn model(w: &mut Orch, pool: String, name: String) {
    w.pool(&pool)["model"]["name"] = json!(name);
}

#[given(expr = "the engine of pool {string} takes {int} ms per token")]
fn token_delay(w: &mut Orch, pool: String, ms: u64) {
    w.pool(&pool)["engine"]["token_delay_ms"] = json!(ms);
}

#[given(expr = "the engine of pool {string} hangs after {int} token(s)")]
fn hang_after(w: &mut Orch, pool: String, tokens: u64) {
    w.pool(&pool)["engine"]["hang_after_tokens"] = json!(tokens);
}

#[given(expr = "the engine of pool {string} never answers a health check after the first {int}")]
fn hang_health(w: &mut Orch, pool: String, checks: u64) {
    w.pool(&pool)["engine"]["hang_health_checks_after"] = json!(checks);
}

#[given(expr = "the engine of pool {string} fails after {int} token(s)")]
fn fail_after(w: &mut Orch, pool: String, tokens: u64) {
    w.pool(&pool)["engine"]["fail_after_tokens"] = json!(tokens);
}

#[given(expr = "the engine of pool {string} fails every health check")]
fn fail_health(w: &mut Orch, pool: String) {
    w.pool(&pool)["engine"]["fail_health_checks"] = json!(true);
}

#[given(expr = "the pool {string} has the full policy {string}")]
fn full_policy(w: &mut Orch, pool: String, policy: String) {
    w.pool(&pool)["queue"]["full_policy"] = json!(policy);
}

#[given(expr = "the pool {string} queues at most {int} interactive and {int} batch task(s)")]
fn capacity(w: &mut Orch, pool: String, interactive: u32, batch: u32) {
    w.pool(&pool)["queue"]["capacity"] = json!({"interactive": interactive, "batch": batch});
}

#[given(
    expr = "the pool {string} dispatches a waiting batch task after every {int} interactive dispatch(es)"
)]
fn batch_every(w: &mut Orch, pool: String, every: u32) {
    w.pool(&pool)["queue"]["batch_every"] = json!(every);
}

#[given(expr = "the pool {string} allows at most {int} max_tokens and a context of {int} tokens")]
fn limits(w: &mut Orch, pool: String, max_tokens: u32, ctx_max: u32) {
    w.pool(&pool)["limits"] = json!({"max_tokens": max_tokens, "ctx_max": ctx_max});
}

/// A top-level setting by its dotted path, such as `timeouts.stream_open_ms`.
#[given(expr = "the setting {string} is {int}")]
fn setting(w: &mut Orch, path: String, value: u64) {
    let (section, key) = path
        .split_once('.')
        .unwrap_or_else(|| panic!("a setting is `section.key`, not `{path}`"));
    let doc = w.document();
    if doc.get(section).is_none() {
        doc[section] = json!({});
    }
    doc[section][key] = json!(value);
}

/// Adds a key reference to `auth.<list>`.
fn add_key_ref(w: &mut Orch, list: &str, reference: Value) {
    let doc = w.document();
    if doc.get("auth").is_none() {
        doc["auth"] = json!({});
    }
    if doc["auth"].get(list).is_none() {
        doc["auth"][list] = json!([]);
    }
    if let Some(keys) = doc["auth"][list].as_array_mut() {
        keys.push(reference);
    }
}

/// The key goes into a file of the scenario, named in the configuration by reference.
#[given(expr = "the control plane key is {string}")]
fn control_key(w: &mut Orch, key: String) {
    let path = w.scratch_file(
        &format!("control-key-{}", w.control_keys.len()),
        key.as_bytes(),
    );
    add_key_ref(w, "control_keys", json!({ "file": path }));
    w.control_keys.push(key);
}

#[given(expr = "no control plane key is configured")]
fn no_control_key(w: &mut Orch) {
    if let Some(auth) = w.document().get_mut("auth") {
        auth["control_keys"] = json!([]);
    }
    w.control_keys.clear();
}

#[given(expr = "the data plane key is {string}")]
fn data_key(w: &mut Orch, key: String) {
    let path = w.scratch_file("data-key", key.as_bytes());
    add_key_ref(w, "data_keys", json!({ "file": path }));
}

#[given(expr = "the {word} plane key is referenced by the file {string}")]
fn key_file_reference(w: &mut Orch, plane: String, path: String) {
    add_key_ref(w, &format!("{plane}_keys"), json!({ "file": path }));
}

#[given(expr = "the {word} plane key is referenced by the environment variable {string}")]
fn key_env_reference(w: &mut Orch, plane: String, name: String) {
    assert!(
        std::env::var_os(&name).is_none(),
        "the variable {name} must be unset for this scenario"
    );
    add_key_ref(w, &format!("{plane}_keys"), json!({ "env": name }));
}

#[given(expr = "orchestratord starts without a configuration file")]
fn zero_config(w: &mut Orch) {
    w.document();
    w.setup = Setup::ZeroConfig { api_key: None };
}

#[given(
    expr = "orchestratord starts without a configuration file, with {string} in ORCHESTRATORD_API_KEY"
)]
fn zero_config_with_key(w: &mut Orch, key: String) {
    w.document();
    w.setup = Setup::ZeroConfig {
        api_key: Some(key.clone()),
    };
    w.control_keys = vec![key];
}

#[given(expr = "a model file {string} containing {string}")]
fn model_file(w: &mut Orch, name: String, content: String) {
    w.scratch_file(&name, content.as_bytes());
}
