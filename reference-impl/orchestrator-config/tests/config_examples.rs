//! The configuration types and their schema: defaults, every violation reported, strictness,
//! round trips. That every example of `contracts/config-examples/` validates or fails at its
//! `# expect-error:` pointer is contract evidence, checked once, by the provider verification
//! (`reference-impl/orchestratord/tests/provider/config_examples.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use orchestrator_config::{Config, EngineConfig, FullPolicy, LoadError, load_yaml, validate};

fn examples(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/config-examples")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn defaults_are_filled_in() {
    let config =
        load_yaml("pools:\n  - id: p\n    engine:\n      kind: sim\n    model:\n      name: m\n")
            .unwrap();
    assert_eq!(config.server.addr, "127.0.0.1:8080");
    let pool = &config.pools[0];
    assert_eq!((pool.replicas, pool.slots), (1, 4));
    assert_eq!(pool.queue.full_policy, FullPolicy::Reject);
    assert_eq!(
        (pool.queue.capacity.interactive, pool.queue.capacity.batch),
        (64, 256)
    );
    assert_eq!(pool.queue.batch_every, 4);
    assert_eq!((pool.limits.ctx_max, pool.limits.max_tokens), (4096, 1024));
    assert!(matches!(
        pool.engine,
        EngineConfig::Sim {
            token_delay_ms: 0,
            health_interval_ms: 1000,
            ..
        }
    ));
    assert_eq!(config.timeouts.task_wall_ms, 300_000);
    assert_eq!(config.sse.keepalive_ms, 10_000);
    assert_eq!(config.shutdown.drain_ms, 30_000);
    assert!(config.auth.control_keys.is_empty());
}

#[test]
fn every_violation_is_reported_not_just_the_first() {
    let doc = serde_json::json!({
        "pools": [{"id": "Bad Id", "engine": {"kind": "sim"}, "model": {"name": "m"}, "slots": 0}],
        "bogus": 1
    });
    let pointers: Vec<String> = validate(&doc).into_iter().map(|v| v.pointer).collect();
    assert_eq!(pointers, ["/bogus", "/pools/0/id", "/pools/0/slots"]);
}

#[test]
fn yaml_syntax_errors_are_not_schema_errors() {
    assert!(matches!(load_yaml("pools: [\n"), Err(LoadError::Syntax(_))));
}

#[test]
fn the_committed_schema_matches_the_types() {
    assert_eq!(
        orchestrator_config::schema_json(),
        orchestrator_config::CONFIG_SCHEMA
    );
}

#[test]
fn a_loaded_config_round_trips_through_serde() {
    let text = std::fs::read_to_string(
        examples("valid")
            .into_iter()
            .find(|p| p.ends_with("full.yaml"))
            .unwrap(),
    )
    .unwrap();
    let config = load_yaml(&text).unwrap();
    let json = serde_json::to_value(&config).unwrap();
    assert!(
        validate(&json).is_empty(),
        "a serialized config is valid: {:?}",
        validate(&json)
    );
    let back: Config = serde_json::from_value(json).unwrap();
    assert_eq!(back, config);
}

#[test]
fn the_schema_is_strict_everywhere_and_documents_defaults() {
    let schema: serde_json::Value =
        serde_json::from_str(orchestrator_config::CONFIG_SCHEMA).unwrap();
    let mut objects = 0;
    let mut stack = vec![("".to_owned(), &schema)];
    while let Some((at, value)) = stack.pop() {
        if let Some(map) = value.as_object() {
            if map.contains_key("properties") {
                objects += 1;
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&serde_json::json!(false)),
                    "{at} allows unknown fields"
                );
            }
            for (key, child) in map {
                stack.push((format!("{at}/{key}"), child));
            }
        } else if let Some(items) = value.as_array() {
            stack.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{at}/{i}"), v)),
            );
        }
    }
    assert!(objects >= 10, "{objects}");
    let policy = &schema["$defs"]["FullPolicy"];
    let names: Vec<&str> = policy["oneOf"].as_array().map_or_else(
        || {
            policy["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect()
        },
        |alts| alts.iter().map(|a| a["const"].as_str().unwrap()).collect(),
    );
    assert_eq!(names, ["reject", "drop-lru", "shed-low-priority"]);
    // Defaults are documented in the schema.
    assert_eq!(
        schema["$defs"]["QueueConfig"]["properties"]["batch_every"]["default"],
        4
    );
    assert_eq!(
        schema["$defs"]["QueueConfig"]["properties"]["full_policy"]["default"],
        "reject"
    );
    assert_eq!(
        schema["$defs"]["PoolConfig"]["properties"]["replicas"]["default"],
        1
    );
    assert_eq!(
        schema["properties"]["server"]["default"]["addr"],
        "127.0.0.1:8080"
    );
}
