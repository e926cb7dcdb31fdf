//! The verifier can fail: hand-made responses that break the contract in one way each, and
//! the violation it reports, naming the operation, the status and the place (a header, the
//! content type, or a JSON pointer into the body, an event or the metrics).
//!
//! These test the tool, not the server, so they carry no `#[covers]`.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::support::contract::{Exchange, Verdict, Violation, contract, strict};

const CORRELATION: &str = "self-test-1";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

/// The headers of a conforming JSON answer, plus `extra`.
fn json_headers(extra: &[(&str, &str)]) -> HeaderMap {
    let mut all = vec![
        ("x-correlation-id", CORRELATION),
        ("content-type", "application/json"),
        ("content-length", "1"),
        ("date", "Thu, 01 Jan 2026 00:00:00 GMT"),
    ];
    all.extend_from_slice(extra);
    headers(&all)
}

fn check(
    method: &str,
    path: &str,
    status: u16,
    response_headers: &HeaderMap,
    body: &[u8],
) -> Result<Verdict, Vec<Violation>> {
    let request_headers = headers(&[("x-correlation-id", CORRELATION)]);
    contract().check(&Exchange {
        method,
        path,
        request_headers: &request_headers,
        status,
        headers: response_headers,
        body,
    })
}

/// The one violation of a check that must fail, as text.
#[track_caller]
fn only_violation(result: Result<Verdict, Vec<Violation>>) -> String {
    match result {
        Ok(verdict) => panic!("the verifier accepted a broken response: {verdict:?}"),
        Err(violations) => {
            assert_eq!(violations.len(), 1, "{violations:#?}");
            violations[0].to_string()
        }
    }
}

fn task() -> Value {
    json!({"task_id": "t-1", "pool": "default", "priority": "interactive", "state": "completed", "tokens_out": 3})
}

fn get_task(
    status: u16,
    response_headers: &HeaderMap,
    body: &Value,
) -> Result<Verdict, Vec<Violation>> {
    check(
        "GET",
        "/v1/tasks/t-1",
        status,
        response_headers,
        body.to_string().as_bytes(),
    )
}

fn envelope(code: &str) -> Value {
    json!({"error": {"code": code, "message": "m", "retriable": false, "retry_after_ms": null, "policy": null, "correlation_id": CORRELATION}})
}

#[test]
fn a_conforming_response_passes() {
    let verdict = get_task(200, &json_headers(&[]), &task()).unwrap();
    assert_eq!(
        (verdict.plane, verdict.operation.as_str()),
        ("data", "getTask")
    );
    let verdict = get_task(404, &json_headers(&[]), &envelope("NOT_FOUND")).unwrap();
    assert_eq!(verdict.operation, "getTask");
}

#[test]
fn an_undeclared_status_is_reported() {
    let message = only_violation(get_task(418, &json_headers(&[]), &task()));
    assert_eq!(
        message,
        "getTask 418 status: not declared for this operation (declared: 200, 401, 403, 404)"
    );
}

#[test]
fn a_route_of_no_operation_is_reported() {
    let message = only_violation(check(
        "PUT",
        "/v1/tasks/t-1",
        200,
        &json_headers(&[]),
        b"{}",
    ));
    assert!(
        message.starts_with("PUT /v1/tasks/t-1 200 route: no operation"),
        "{message}"
    );
}

#[test]
fn a_missing_required_header_is_reported() {
    let message = only_violation(get_task(
        200,
        &headers(&[("content-type", "application/json")]),
        &task(),
    ));
    assert_eq!(
        message,
        "getTask 200 header X-Correlation-Id: missing; the contract requires it"
    );
    // The 202 of enqueue requires Location.
    let admitted = json!({"task_id": "t-1", "pool": "default", "priority": "interactive", "queue_position": 0, "predicted_start_ms": 0});
    let message = only_violation(check(
        "POST",
        "/v1/tasks",
        202,
        &json_headers(&[]),
        admitted.to_string().as_bytes(),
    ));
    assert_eq!(
        message,
        "enqueueTask 202 header Location: missing; the contract requires it"
    );
}

#[test]
fn an_undeclared_header_is_reported() {
    let message = only_violation(get_task(200, &json_headers(&[("x-debug", "1")]), &task()));
    assert_eq!(
        message,
        "getTask 200 header x-debug: not declared for this status (nor a transport header)"
    );
    // Cache-Control is a transport header of event streams only.
    let message = only_violation(get_task(
        200,
        &json_headers(&[("cache-control", "no-cache")]),
        &task(),
    ));
    assert!(
        message.contains("header cache-control: not declared"),
        "{message}"
    );
}

#[test]
fn a_header_against_its_schema_is_reported() {
    let queue_full = json!({"error": {"code": "QUEUE_FULL", "message": "m", "retriable": true, "retry_after_ms": 1500, "policy": "reject", "correlation_id": CORRELATION}});
    let post = |extra: &[(&str, &str)]| {
        check(
            "POST",
            "/v1/tasks",
            429,
            &json_headers(extra),
            queue_full.to_string().as_bytes(),
        )
    };
    post(&[("retry-after", "2"), ("x-backoff-ms", "1500")]).unwrap();
    let message = only_violation(post(&[("retry-after", "2")]));
    assert_eq!(
        message,
        "enqueueTask 429 header X-Backoff-Ms: missing; the contract requires it"
    );
    let message = only_violation(post(&[("retry-after", "soon"), ("x-backoff-ms", "1500")]));
    assert_eq!(
        message,
        "enqueueTask 429 header Retry-After: `soon` is not a integer"
    );
    let violations = post(&[("retry-after", "0"), ("x-backoff-ms", "1500")]).unwrap_err();
    assert!(
        violations
            .iter()
            .any(|v| v.at == "header Retry-After" && v.message.contains("minimum")),
        "{violations:#?}"
    );
}

#[test]
fn an_unknown_field_is_reported_at_its_object() {
    let mut body = task();
    body["extra"] = json!(1);
    let message = only_violation(get_task(200, &json_headers(&[]), &body));
    assert!(message.starts_with("getTask 200 body /: "), "{message}");
    assert!(message.contains("extra"), "{message}");
    let mut body = envelope("NOT_FOUND");
    body["error"]["detail"] = json!("x");
    let message = only_violation(get_task(404, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 404 body /error: "),
        "{message}"
    );
    assert!(message.contains("detail"), "{message}");
}

#[test]
fn a_wrong_type_or_missing_field_is_reported_at_its_pointer() {
    let mut body = task();
    body["tokens_out"] = json!("3");
    let message = only_violation(get_task(200, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 200 body /tokens_out: "),
        "{message}"
    );
    let mut body = task();
    body["state"] = json!("paused");
    let message = only_violation(get_task(200, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 200 body /state: "),
        "{message}"
    );
    let mut body = task();
    body.as_object_mut().unwrap().remove("pool");
    let message = only_violation(get_task(200, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 200 body /: ") && message.contains("pool"),
        "{message}"
    );
}

#[test]
fn nullable_fields_take_null_and_nothing_else_of_another_type() {
    let mut body = envelope("NOT_FOUND");
    body["error"]["retry_after_ms"] = json!("soon");
    let violations = get_task(404, &json_headers(&[]), &body).unwrap_err();
    assert!(
        violations
            .iter()
            .any(|v| v.at == "body /error/retry_after_ms"),
        "{violations:#?}"
    );
    let mut body = envelope("NOT_FOUND");
    body["error"]["code"] = json!("TEAPOT");
    let message = only_violation(get_task(404, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 404 body /error/code: "),
        "{message}"
    );
}

#[test]
fn a_wrong_content_type_or_unexpected_body_is_reported() {
    let message = only_violation(get_task(
        200,
        &headers(&[
            ("x-correlation-id", CORRELATION),
            ("content-type", "text/plain"),
        ]),
        &task(),
    ));
    assert_eq!(
        message,
        "getTask 200 content-type: `text/plain` is not declared (declared: application/json)"
    );
    let message = only_violation(check(
        "DELETE",
        "/v1/sessions/s-1",
        204,
        &headers(&[("x-correlation-id", CORRELATION)]),
        b"gone",
    ));
    assert_eq!(
        message,
        "deleteSession 204 body: the contract declares no content, but the body has 4 bytes"
    );
    let message = only_violation(check(
        "GET",
        "/v1/tasks/t-1",
        200,
        &json_headers(&[]),
        b"{not json",
    ));
    assert!(
        message.starts_with("getTask 200 body: not JSON"),
        "{message}"
    );
    // A published document is checked as the document its YAML holds.
    let yaml = headers(&[
        ("x-correlation-id", CORRELATION),
        ("content-type", "application/yaml"),
    ]);
    let document = b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n";
    check("GET", "/v1/openapi/openai.yaml", 200, &yaml, document).unwrap();
    let message = only_violation(check(
        "GET",
        "/v1/openapi/openai.yaml",
        200,
        &yaml,
        b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\n",
    ));
    assert!(
        message.starts_with("getOpenAiContract 200 body /: ") && message.contains("paths"),
        "{message}"
    );
}

#[test]
fn the_correlation_id_and_the_envelope_must_agree() {
    let message = only_violation(get_task(
        200,
        &headers(&[
            ("x-correlation-id", "other"),
            ("content-type", "application/json"),
        ]),
        &task(),
    ));
    assert!(
        message.starts_with("getTask 200 header X-Correlation-Id: `other` does not echo"),
        "{message}"
    );
    let mut body = envelope("NOT_FOUND");
    body["error"]["correlation_id"] = json!("someone-else");
    let message = only_violation(get_task(404, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 404 body /error/correlation_id:"),
        "{message}"
    );
    let mut body = envelope("NOT_FOUND");
    body["error"]["policy"] = json!("reject");
    let message = only_violation(get_task(404, &json_headers(&[]), &body));
    assert!(
        message.starts_with("getTask 404 body /error/policy:"),
        "{message}"
    );
}

#[test]
fn retry_hints_in_headers_and_body_must_agree() {
    let unavailable = |ms: Value| json!({"error": {"code": "POOL_DRAINING", "message": "m", "retriable": true, "retry_after_ms": ms, "policy": null, "correlation_id": CORRELATION}});
    let post = |extra: &[(&str, &str)], body: &Value| {
        check(
            "POST",
            "/v1/tasks",
            503,
            &json_headers(extra),
            body.to_string().as_bytes(),
        )
    };
    post(&[("retry-after", "2")], &unavailable(json!(1001))).unwrap();
    let message = only_violation(post(&[("retry-after", "5")], &unavailable(json!(1001))));
    assert_eq!(
        message,
        "enqueueTask 503 header Retry-After: `5` is not retry_after_ms 1001 in whole seconds (2)"
    );
    let message = only_violation(post(&[("retry-after", "1")], &unavailable(Value::Null)));
    assert_eq!(
        message,
        "enqueueTask 503 body /error/retry_after_ms: null, but Retry-After is `1`"
    );
    let violations = post(&[("retry-after", "61")], &unavailable(json!(60001))).unwrap_err();
    assert!(
        violations
            .iter()
            .any(|v| v.at == "body /error/retry_after_ms" && v.message.contains("60000")),
        "{violations:#?}"
    );
}

fn sse(body: &str) -> Result<Verdict, Vec<Violation>> {
    check(
        "GET",
        "/v1/tasks/t-1/events",
        200,
        &headers(&[
            ("x-correlation-id", CORRELATION),
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        ]),
        body.as_bytes(),
    )
}

const STARTED: &str =
    "event: started\ndata: {\"task_id\":\"t-1\",\"queue_position\":0,\"predicted_start_ms\":0}\n\n";

#[test]
fn a_conforming_event_stream_passes() {
    let body = format!(
        "{STARTED}: keep-alive\n\nevent: token\ndata: {{\"index\":0,\"text\":\"a\"}}\n\nevent: error\ndata: {{\"code\":\"CANCELLED\",\"message\":\"m\",\"retriable\":false}}\n\n"
    );
    let verdict = sse(&body).unwrap();
    let names: Vec<&str> = verdict.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["started", "token", "error"]);
}

#[test]
fn an_undeclared_event_or_bad_event_data_is_reported() {
    // An undeclared name: the content's schema (`{event, data}`) and x-sse-events both say so.
    let violations = sse(&format!("{STARTED}event: progress\ndata: {{}}\n\n")).unwrap_err();
    let messages: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].starts_with("streamTaskEvents 200 event 1 `progress` /: ")
            && messages[0].contains("oneOf"),
        "{messages:#?}"
    );
    assert!(
        messages[1].starts_with(
            "streamTaskEvents 200 event 1 `progress`: not declared in x-sse-events (declared: "
        ),
        "{messages:#?}"
    );
    let violations = sse(&format!("{STARTED}data: {{}}\n\n")).unwrap_err();
    assert!(
        violations
            .iter()
            .any(|v| v.to_string().contains("event 1 `message`: not declared")),
        "{violations:#?}"
    );
    // Data that is valid for x-sse-events but not the one JSON object, alone on its line, that
    // the content's schema asks for (a trailing space).
    let message = only_violation(sse(&format!(
        "{STARTED}event: token\ndata: {{\"index\":0,\"text\":\"a\"}} \n\n"
    )));
    assert!(
        message.starts_with("streamTaskEvents 200 event 1 `token` /: "),
        "{message}"
    );
    let message = only_violation(sse(&format!(
        "{STARTED}event: token\ndata: {{\"index\":-1,\"text\":\"a\"}}\n\n"
    )));
    assert!(
        message.starts_with("streamTaskEvents 200 event 1 `token` /index: "),
        "{message}"
    );
    // An `end` event lacking the fields of ORCH-3029: one violation per missing field.
    let violations = sse(&format!(
        "{STARTED}event: end\ndata: {{\"tokens_out\":1}}\n\n"
    ))
    .unwrap_err();
    assert_eq!(violations.len(), 8, "{violations:#?}");
    assert!(
        violations.iter().all(|v| v
            .to_string()
            .starts_with("streamTaskEvents 200 event 1 `end` /: ")),
        "{violations:#?}"
    );
    assert!(violations.iter().any(|v| v.message.contains("replica_id")));
    // Not JSON: not the object the content's schema asks for, nor data x-sse-events can check.
    let violations = sse(&format!("{STARTED}event: token\ndata: not json\n\n")).unwrap_err();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert!(
        violations
            .iter()
            .any(|v| v.to_string().contains("event 1 `token`: data is not JSON")),
        "{violations:#?}"
    );
}

/// An exposition with every contract metric, each with one sample at 0.
fn exposition(skip: &str, extra: &str) -> String {
    let mut text = String::new();
    for metric in &contract().metrics.metrics {
        if metric.name == skip {
            continue;
        }
        let labels: Vec<String> = metric.labels.iter().map(|l| format!("{l}=\"a\"")).collect();
        let labels = labels.join(",");
        match metric.kind.as_str() {
            "counter" => {
                let family = metric.name.strip_suffix("_total").unwrap();
                text += &format!("# TYPE {family} counter\n{}{{{labels}}} 0\n", metric.name);
            }
            "gauge" => text += &format!("# TYPE {0} gauge\n{0}{{{labels}}} 0\n", metric.name),
            _ => {
                text += &format!(
                    "# TYPE {0} histogram\n{0}_bucket{{{labels},le=\"+Inf\"}} 0\n{0}_sum{{{labels}}} 0\n{0}_count{{{labels}}} 0\n",
                    metric.name
                )
            }
        }
    }
    text + extra + "# EOF\n"
}

fn scrape(text: &str) -> Result<Verdict, Vec<Violation>> {
    check(
        "GET",
        "/metrics",
        200,
        &headers(&[
            ("x-correlation-id", CORRELATION),
            (
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
        ]),
        text.as_bytes(),
    )
}

#[test]
fn metrics_beyond_or_against_the_metric_contract_are_reported() {
    scrape(&exposition("", "")).unwrap();
    let message = only_violation(scrape(&exposition("orchd_tasks_running", "")));
    assert_eq!(
        message,
        "getMetrics 200 metric orchd_tasks_running: missing from the exposition"
    );
    let message = only_violation(scrape(&exposition(
        "",
        "# TYPE orchd_debug gauge\norchd_debug 1\n",
    )));
    assert_eq!(
        message,
        "getMetrics 200 metric orchd_debug: not in the metric contract"
    );
    let message = only_violation(scrape(&exposition(
        "orchd_tasks_running",
        "# TYPE orchd_tasks_running gauge\norchd_tasks_running{pool=\"a\",replica=\"r\"} 0\n",
    )));
    assert!(
        message.starts_with("getMetrics 200 metric orchd_tasks_running: labels"),
        "{message}"
    );
    let samples: String = ["interactive", "batch", "urgent"]
        .iter()
        .map(|p| format!("orchd_queue_depth{{pool=\"a\",priority=\"{p}\"}} 0\n"))
        .collect();
    let message = only_violation(scrape(&exposition(
        "orchd_queue_depth",
        &format!("# TYPE orchd_queue_depth gauge\n{samples}"),
    )));
    assert_eq!(
        message,
        "getMetrics 200 metric orchd_queue_depth: label priority takes 3 values, over its budget of 2"
    );
}

#[test]
fn strict_closes_every_object_schema_that_does_not_say_otherwise() {
    let schema = json!({
        "type": "object",
        "properties": {
            "open": {"type": "object", "properties": {"a": {"type": "string"}}},
            "map": {"type": "object", "additionalProperties": {"type": "object", "properties": {}}},
            "list": {"type": "array", "items": {"properties": {}}}
        },
        "$defs": {"D": {"properties": {}, "additionalProperties": true}}
    });
    let strict = strict(&schema);
    assert_eq!(strict["additionalProperties"], false);
    assert_eq!(strict["properties"]["open"]["additionalProperties"], false);
    assert_eq!(
        strict["properties"]["map"]["additionalProperties"]["additionalProperties"],
        false
    );
    assert_eq!(
        strict["properties"]["list"]["items"]["additionalProperties"],
        false
    );
    assert_eq!(strict["$defs"]["D"]["additionalProperties"], true);
}

#[test]
fn the_verifier_knows_every_operation_and_response_of_every_document() {
    let contract = contract();
    let ids: Vec<&str> = contract
        .operations
        .iter()
        .map(|op| op.id.as_str())
        .collect();
    assert_eq!(ids.len(), 20, "{ids:?}");
    assert_eq!(contract.declared("data").len(), 42);
    assert_eq!(contract.declared("control").len(), 28);
    assert_eq!(contract.declared("openai").len(), 23);
    assert_eq!(
        contract
            .operation("GET", "/v1/openapi/data.yaml")
            .unwrap()
            .id,
        "getDataPlaneContract"
    );
    assert_eq!(
        contract.operation("GET", "/v1/tasks/x/events").unwrap().id,
        "streamTaskEvents"
    );
    assert!(contract.operation("GET", "/v1/tasks//events").is_none());
}
