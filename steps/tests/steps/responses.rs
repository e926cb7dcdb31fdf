//! `Then` steps about the last answer: status, headers, body fields, the error envelope
//! (ORCH-2006) and its retry hints, and how long the answer took.

use api_types::ErrorEnvelope;
use cucumber::then;
use serde_json::{Value, json};

use super::params::{Body, Json, Names, at_path};
use super::world::{Answer, Orch};

/// A UUID v4 in its canonical text form.
fn is_uuid_v4(text: &str) -> bool {
    let Ok(pattern) =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    else {
        return false;
    };
    pattern.is_match(text)
}

fn header<'a>(answer: &'a Answer, name: &str) -> &'a str {
    answer
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header; headers: {:?}", answer.headers))
}

/// The error envelope of the last answer, read strictly with the contract's types: every field
/// present (`null` where it does not apply), no other field, `code` one of the contract's codes.
fn envelope(answer: &Answer) -> ErrorEnvelope {
    serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "the body is not the error envelope ({e}): {}",
            answer.text()
        )
    })
}

fn retry_after_ms(answer: &Answer) -> u64 {
    envelope(answer)
        .error
        .retry_after_ms
        .map(std::num::NonZeroU64::get)
        .unwrap_or_else(|| panic!("retry_after_ms is null: {}", answer.text()))
}

#[then(expr = "the response status is {int}")]
fn status_is(w: &mut Orch, status: u16) {
    let answer = w.answer();
    assert_eq!(answer.status, status, "body: {}", answer.text());
}

#[then(expr = "the response header {string} is {string}")]
fn header_is(w: &mut Orch, name: String, value: String) {
    assert_eq!(header(w.answer(), &name), value);
}

#[then(expr = "the response header {string} lists {string}")]
fn header_lists(w: &mut Orch, name: String, item: String) {
    let value = header(w.answer(), &name);
    assert!(
        value.split(',').any(|v| v.trim() == item),
        "{name}: {value}"
    );
}

#[then(expr = "the response header {string} is a new UUID v4")]
fn header_is_uuid(w: &mut Orch, name: String) {
    let value = header(w.answer(), &name);
    assert!(is_uuid_v4(value), "{name}: {value:?} is not a UUID v4");
    assert_ne!(
        Some(value),
        w.sent_correlation_id.as_deref(),
        "the value sent was echoed"
    );
}

#[then(expr = "the response header {string} is the one I sent")]
fn header_is_sent(w: &mut Orch, name: String) {
    let sent = w.sent_correlation_id.clone().unwrap_or_default();
    assert_eq!(header(w.answer(), &name), sent);
}

#[then(expr = "the response header {string} is the event stream of task {string}")]
fn header_is_stream(w: &mut Orch, name: String, task: String) {
    let expected = format!("/v1/tasks/{}/events", w.task(&task).id);
    assert_eq!(header(w.answer(), &name), expected);
}

#[then(expr = "the response content type starts with {string}")]
fn content_type(w: &mut Orch, prefix: String) {
    let value = header(w.answer(), "content-type");
    assert!(value.starts_with(&prefix), "content type {value:?}");
}

#[then(expr = "the response body has the fields {names}")]
fn body_fields(w: &mut Orch, fields: Names) {
    let body = w.answer().json();
    for field in &fields.0 {
        assert!(body.get(field).is_some(), "the body lacks {field}: {body}");
    }
}

fn field(w: &Orch, path: &str) -> Value {
    let body = w.answer().json();
    at_path(&body, path)
        .cloned()
        .unwrap_or_else(|| panic!("the body has no field {path}: {body}"))
}

#[then(expr = "the response field {string} is {json}")]
fn field_is(w: &mut Orch, path: String, expected: Json) {
    assert_eq!(field(w, &path), expected.0, "field {path}");
}

#[then(expr = "the response field {string} is between {int} and {int}")]
fn field_between(w: &mut Orch, path: String, low: u64, high: u64) {
    let value = field(w, &path);
    let n = value
        .as_u64()
        .unwrap_or_else(|| panic!("field {path} is not a whole number: {value}"));
    assert!((low..=high).contains(&n), "field {path} is {n}");
}

#[then(expr = "the response field {string} is the id of task {string}")]
fn field_is_task_id(w: &mut Orch, path: String, task: String) {
    assert_eq!(field(w, &path), json!(w.task(&task).id));
}

#[then(expr = "the response field {string} is the version of orchestratord")]
fn field_is_version(w: &mut Orch, path: String) {
    assert_eq!(field(w, &path), json!(super::ORCHESTRATORD_VERSION));
}

#[then(expr = "the response body is the JSON {body}")]
fn body_is_json(w: &mut Orch, expected: Body) {
    let expected: Value = serde_json::from_str(&expected.0)
        .unwrap_or_else(|e| panic!("the expected body is not JSON: {e}"));
    assert_eq!(w.answer().json(), expected);
}

#[then(expr = "the response body is empty")]
fn body_empty(w: &mut Orch) {
    assert!(w.answer().body.is_empty(), "body: {:?}", w.answer().text());
}

#[then(expr = "the response body does not contain {string}")]
fn body_lacks(w: &mut Orch, text: String) {
    let body = w.answer().text();
    assert!(!body.contains(&text), "the body contains {text:?}: {body}");
}

#[then(expr = "the response body is byte for byte the file {string}")]
fn body_is_file(w: &mut Orch, path: String) {
    let file = std::fs::read(::steps::workspace_root().join(&path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    assert!(w.answer().body == file, "the body differs from {path}");
}

/// The envelope of ORCH-2006: strict shape, a sentence for a message, and the correlation id
/// of the response (ORCH-2009).
#[then(expr = "the response is an error with code {string}")]
fn is_error(w: &mut Orch, code: String) {
    let answer = w.answer();
    assert!(answer.status >= 400, "status {}", answer.status);
    let error = envelope(answer).error;
    assert_eq!(json!(error.code), json!(code), "{}", answer.text());
    assert!(
        error.message.trim().len() > 3,
        "not a sentence: {:?}",
        error.message
    );
    assert_eq!(
        Some(error.correlation_id.as_str()),
        answer.header("x-correlation-id"),
        "correlation_id of the body and the header"
    );
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

#[then(expr = "the error message mentions {string}")]
fn message_mentions(w: &mut Orch, text: String) {
    let message = envelope(w.answer()).error.message;
    assert!(
        message.contains(&text),
        "message {message:?} lacks {text:?}"
    );
}

#[then(expr = "the error message does not mention {string}")]
fn message_lacks(w: &mut Orch, text: String) {
    let message = envelope(w.answer()).error.message;
    assert!(!message.contains(&text), "message {message:?} has {text:?}");
}

#[then(regex = r"^the error is (not )?retriable$")]
fn retriable(w: &mut Orch, not: String) {
    let error = envelope(w.answer()).error;
    assert_eq!(error.retriable, not.is_empty(), "{error:?}");
}

#[then(expr = "the error field {string} is {json}")]
fn error_field(w: &mut Orch, name: String, expected: Json) {
    let answer = w.answer();
    envelope(answer);
    let body = answer.json();
    let value = body["error"]
        .get(&name)
        .unwrap_or_else(|| panic!("the error has no field {name}: {body}"));
    assert_eq!(value, &expected.0, "error field {name}");
}

#[then(expr = "the error's retry_after_ms is between {int} and {int}")]
fn retry_after_between(w: &mut Orch, low: u64, high: u64) {
    let ms = retry_after_ms(w.answer());
    assert!((low..=high).contains(&ms), "retry_after_ms {ms}");
}

#[then(expr = "the response header {string} equals the error's retry_after_ms")]
fn header_equals_retry(w: &mut Orch, name: String) {
    let answer = w.answer();
    let value: u64 = header(answer, &name)
        .parse()
        .unwrap_or_else(|e| panic!("{name} is not a whole number: {e}"));
    assert_eq!(value, retry_after_ms(answer));
}

#[then(
    expr = "the response header {string} is the error's retry_after_ms in whole seconds, rounded up"
)]
fn header_is_rounded_seconds(w: &mut Orch, name: String) {
    let answer = w.answer();
    let seconds: u64 = header(answer, &name)
        .parse()
        .unwrap_or_else(|e| panic!("{name} is not a whole number of seconds: {e}"));
    let ms = retry_after_ms(answer);
    assert!(seconds >= 1, "{name} is {seconds}");
    assert_eq!(seconds, ms.div_ceil(1000), "{name} for retry_after_ms {ms}");
}

#[then(expr = "the error's correlation_id is the response header {string}")]
fn correlation_matches(w: &mut Orch, name: String) {
    let answer = w.answer();
    assert_eq!(envelope(answer).error.correlation_id, header(answer, &name));
}
