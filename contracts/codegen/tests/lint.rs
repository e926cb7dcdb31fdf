//! Contract lint: the rules every contract document must follow, checked on the committed
//! files. A rule broken here is a contract that would drift from the spec or mislead clients.
//!
//! These tests check documents, not the server, so they carry no `#[covers]`: a document that
//! declares a header proves nothing about whether the server sends it. Provider verification
//! against the running server is the evidence.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use contracts_codegen::{Document, load_documents, schema_with_defs};
use serde_json::Value;
use spectrace_core::model::RequirementIndex;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn documents() -> Vec<Document> {
    load_documents(&root()).unwrap()
}

fn requirement_ids() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("requirements/index.yaml")).unwrap();
    let index: RequirementIndex = serde_saphyr::from_str(&text).unwrap();
    index.requirements.into_iter().map(|r| r.id).collect()
}

/// Follows a local `$ref` (`#/components/...`) to its target.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let pointer = target.trim_start_matches('#');
            let found = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {target}"));
            resolve(document, found)
        }
        None => value,
    }
}

/// (method, path, operation) of every operation.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method.to_owned(), path.clone(), operation));
            }
        }
    }
    out
}

fn validate(document: &Value, schema: &Value, instance: &Value) -> Result<(), String> {
    let schema = schema_with_defs(document, schema);
    let validator = jsonschema::validator_for(&schema).map_err(|e| format!("bad schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

#[test]
fn documents_parse_and_shared_schemas_agree() {
    let docs = documents();
    assert_eq!(docs.len(), 3);
    for doc in &docs {
        assert_eq!(doc.spec.openapi, "3.0.3", "{}", doc.path);
        assert!(!doc.spec.paths.paths.is_empty(), "{}", doc.path);
    }
}

#[test]
fn every_operation_has_an_operation_id_and_known_requirement_ids() {
    let known = requirement_ids();
    let mut operation_ids = BTreeSet::new();
    for doc in documents() {
        for (method, path, operation) in operations(&doc.json) {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: {method} {path} has no operationId", doc.path));
            assert!(
                operation_ids.insert(id.to_owned()),
                "operationId {id} is used twice"
            );
            let reqs = operation["x-req-id"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: {id} has no x-req-id", doc.path));
            assert!(!reqs.is_empty(), "{}: {id} has an empty x-req-id", doc.path);
        }
        // Every x-req-id anywhere in the document names a requirement that exists.
        let mut stack = vec![("".to_owned(), &doc.json)];
        while let Some((at, value)) = stack.pop() {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        if key == "x-req-id" {
                            for id in child.as_array().unwrap() {
                                let id = id.as_str().unwrap();
                                assert!(
                                    known.contains(id),
                                    "{}: {at}/x-req-id names {id}, which no spec defines",
                                    doc.path
                                );
                            }
                        } else {
                            stack.push((format!("{at}/{key}"), child));
                        }
                    }
                }
                Value::Array(items) => stack.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (format!("{at}/{i}"), v)),
                ),
                _ => {}
            }
        }
    }
}

#[test]
fn every_error_response_has_the_envelope_and_every_response_the_correlation_id() {
    for doc in documents() {
        for (method, path, operation) in operations(&doc.json) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&doc.json, response);
                let at = format!("{}: {method} {path} {status}", doc.path);
                assert!(
                    response["headers"].get("X-Correlation-Id").is_some(),
                    "{at} does not declare X-Correlation-Id"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"];
                    // The OpenAI-compatible surface answers in OpenAI's error shape (ORCH-2208).
                    let envelope = if doc.name == "openai" {
                        "#/components/schemas/OpenAiErrorEnvelope"
                    } else {
                        "#/components/schemas/ErrorEnvelope"
                    };
                    assert_eq!(
                        schema["$ref"], envelope,
                        "{at} must have the error envelope body"
                    );
                }
            }
        }
    }
}

#[test]
fn every_429_declares_both_backoff_headers() {
    let mut seen = 0;
    for doc in documents() {
        for (method, path, operation) in operations(&doc.json) {
            if let Some(response) = operation["responses"].get("429") {
                let headers = &resolve(&doc.json, response)["headers"];
                for header in ["Retry-After", "X-Backoff-Ms"] {
                    assert!(
                        headers.get(header).is_some(),
                        "{}: {method} {path} 429 lacks {header}",
                        doc.path
                    );
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 1, "enqueue declares 429");
}

#[test]
fn secured_operations_declare_401_and_403_and_only_probes_are_public() {
    for doc in documents() {
        let global = &doc.json["security"];
        for (method, path, operation) in operations(&doc.json) {
            let security = operation.get("security").unwrap_or(global);
            let requires_key = security
                .as_array()
                .unwrap()
                .iter()
                .any(|req| req.get("bearerAuth").is_some());
            let public = security.as_array().unwrap().is_empty();
            if public {
                assert!(
                    ["/livez", "/readyz"].contains(&path.as_str()),
                    "{}: {method} {path} is public",
                    doc.path
                );
                continue;
            }
            assert!(
                requires_key,
                "{}: {method} {path} names no bearerAuth",
                doc.path
            );
            for status in ["401", "403"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{}: {method} {path} lacks {status}",
                    doc.path
                );
            }
            let unauthenticated = resolve(&doc.json, &operation["responses"]["401"]);
            assert!(unauthenticated["headers"].get("WWW-Authenticate").is_some());
        }
        let control = doc.name == "control";
        let requires_only_key = global
            .as_array()
            .unwrap()
            .iter()
            .all(|req| req.get("bearerAuth").is_some());
        assert_eq!(
            requires_only_key, control,
            "{}: the control plane always needs a key; the data plane may be open",
            doc.path
        );
    }
}

#[test]
fn operations_with_bodies_declare_400_413_and_415() {
    for doc in documents() {
        for (method, path, operation) in operations(&doc.json) {
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{}: {method} {path} lacks {status}",
                        doc.path
                    );
                }
            }
        }
    }
}

#[test]
fn every_example_validates_against_its_schema() {
    let mut checked = 0;
    for doc in documents() {
        // Component schemas with examples.
        for (name, schema) in doc.json["components"]["schemas"].as_object().unwrap() {
            if let Some(example) = schema.get("example") {
                validate(&doc.json, schema, example)
                    .unwrap_or_else(|e| panic!("{}: schema {name} example: {e}", doc.path));
                checked += 1;
            }
        }
        for (method, path, operation) in operations(&doc.json) {
            let at = format!("{}: {method} {path}", doc.path);
            if let Some(body) = operation.get("requestBody") {
                let media = &resolve(&doc.json, body)["content"]["application/json"];
                let example = media
                    .get("example")
                    .unwrap_or_else(|| panic!("{at}: request body has no example"));
                validate(&doc.json, &media["schema"], example)
                    .unwrap_or_else(|e| panic!("{at} request example: {e}"));
                checked += 1;
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&doc.json, response);
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    continue;
                };
                for (media_type, media) in content {
                    let example = media.get("example");
                    if status.starts_with('2') {
                        assert!(
                            example.is_some(),
                            "{at} {status} {media_type} has no example"
                        );
                    }
                    match example {
                        // The schema describes one event; the example is a whole stream.
                        Some(Value::String(stream)) if media_type == "text/event-stream" => {
                            for event in sse_events(stream) {
                                validate(&doc.json, &media["schema"], &event).unwrap_or_else(|e| {
                                    panic!("{at} {status} example event {event}: {e}")
                                });
                            }
                            checked += 1;
                        }
                        Some(example) => {
                            validate(&doc.json, &media["schema"], example)
                                .unwrap_or_else(|e| panic!("{at} {status} example: {e}"));
                            checked += 1;
                        }
                        None => {}
                    }
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} examples checked");
}

/// The events of an example stream as tools read them: `{event, data}`, the name `message`
/// when a frame has none. Frames are separated by a blank line; each has at most one `event:`
/// line and one `data:` line (what the contracts' streams send).
fn sse_events(stream: &str) -> Vec<Value> {
    stream
        .split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut event = "message";
            let mut data = None;
            for line in frame.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name;
                } else if let Some(text) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "two data lines in {frame:?}");
                    data = Some(text);
                } else {
                    panic!("unexpected line {line:?} in an example stream");
                }
            }
            serde_json::json!({"event": event, "data": data.expect("a data line")})
        })
        .collect()
}

/// The event names a `text/event-stream` schema allows: the `event` enum of the schema or of
/// each `oneOf` branch.
fn schema_event_names(document: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(document, schema);
    let branches: Vec<&Value> = match schema.get("oneOf").and_then(Value::as_array) {
        Some(branches) => branches.iter().map(|b| resolve(document, b)).collect(),
        None => vec![schema],
    };
    let mut names = BTreeSet::new();
    for branch in branches {
        let values = branch["properties"]["event"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("an event schema without an `event` enum: {branch}"));
        names.extend(values.iter().map(|v| v.as_str().unwrap().to_owned()));
    }
    names
}

#[test]
fn every_event_stream_schema_names_exactly_the_events_of_its_x_sse_events() {
    let mut checked = 0;
    for doc in documents() {
        for (method, path, operation) in operations(&doc.json) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&doc.json, response);
                let Some(media) = response["content"].get("text/event-stream") else {
                    continue;
                };
                let at = format!("{}: {method} {path} {status}", doc.path);
                let declared: BTreeSet<String> = response["x-sse-events"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: an event stream without x-sse-events"))
                    .keys()
                    .cloned()
                    .collect();
                assert_eq!(
                    schema_event_names(&doc.json, &media["schema"]),
                    declared,
                    "{at}: the text/event-stream schema and x-sse-events name different events"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "only {checked} event streams checked");
}

#[test]
fn the_sse_operation_declares_every_event_and_its_example_conforms() {
    let data = documents().into_iter().find(|d| d.name == "data").unwrap();
    let ok = &data.json["paths"]["/v1/tasks/{task_id}/events"]["get"]["responses"]["200"];
    let events = ok["x-sse-events"].as_object().unwrap();
    let names: BTreeSet<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["started", "token", "metrics", "end", "error"])
    );
    let example = ok["content"]["text/event-stream"]["example"]
        .as_str()
        .unwrap();
    let mut seen = Vec::new();
    for frame in example.split("\n\n").filter(|f| !f.trim().is_empty()) {
        let lines: Vec<&str> = frame.lines().collect();
        assert_eq!(
            lines.len(),
            2,
            "one event: line and one data: line per event: {frame:?}"
        );
        let name = lines[0].strip_prefix("event: ").unwrap();
        let payload: Value =
            serde_json::from_str(lines[1].strip_prefix("data: ").unwrap()).unwrap();
        validate(&data.json, &events[name], &payload)
            .unwrap_or_else(|e| panic!("example `{name}` event: {e}"));
        seen.push(name.to_owned());
    }
    assert_eq!(seen.first().map(String::as_str), Some("started"));
    assert!(matches!(
        seen.last().map(String::as_str),
        Some("end" | "error")
    ));
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricContract {
    schema_version: u32,
    label_budgets: BTreeMap<String, u32>,
    metrics: Vec<Metric>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Metric {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    help: String,
    unit: String,
    labels: Vec<String>,
    req_id: String,
}

fn metric_contract() -> MetricContract {
    let text = std::fs::read_to_string(root().join("contracts/metrics/metrics.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn the_metric_contract_follows_prometheus_conventions_and_names_known_requirements() {
    let contract = metric_contract();
    assert_eq!(contract.schema_version, 1);
    let known = requirement_ids();
    let mut names = BTreeSet::new();
    for m in &contract.metrics {
        assert!(names.insert(m.name.clone()), "{} twice", m.name);
        assert!(
            known.contains(&m.req_id),
            "{} serves {}, which no spec defines",
            m.name,
            m.req_id
        );
        assert!(!m.help.is_empty(), "{} has no help", m.name);
        assert!(
            m.name.starts_with("orchd_"),
            "{} lacks the orchd_ prefix",
            m.name
        );
        match m.kind.as_str() {
            "counter" => assert!(
                m.name.ends_with("_total"),
                "counter {} must end in _total",
                m.name
            ),
            "gauge" | "histogram" => {
                assert!(!m.name.ends_with("_total"), "{} is not a counter", m.name)
            }
            other => panic!("{}: unknown type {other}", m.name),
        }
        if m.unit == "seconds" {
            assert!(
                m.name.ends_with("_seconds"),
                "{} is in seconds and must say so",
                m.name
            );
        }
        for label in &m.labels {
            assert!(
                contract.label_budgets.contains_key(label),
                "{}: label {label} has no budget",
                m.name
            );
        }
    }
}

#[test]
fn the_metric_contract_and_the_spec_list_the_same_metrics() {
    let text = std::fs::read_to_string(root().join("requirements/index.yaml")).unwrap();
    let index: RequirementIndex = serde_saphyr::from_str(&text).unwrap();
    let spec = &index
        .requirements
        .iter()
        .find(|r| r.id == "ORCH-3028")
        .unwrap()
        .text;
    let in_spec: BTreeSet<String> = spec
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("orchd_"))
        .map(str::to_owned)
        .collect();
    let contract = metric_contract();
    let in_contract: BTreeSet<String> = contract.metrics.iter().map(|m| m.name.clone()).collect();
    assert_eq!(in_spec, in_contract);
    // Label names too: the spec writes `name{label,label}`.
    for m in &contract.metrics {
        let written = format!("{}{{{}}}", m.name, m.labels.join(","));
        assert!(spec.contains(&written), "ORCH-3028 should list {written}");
    }
}
