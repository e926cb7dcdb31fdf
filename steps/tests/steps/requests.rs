//! Requests written out in the scenario: a method, a path, and where it matters the exact body,
//! content type, headers and credentials.

use cucumber::when;

use super::params::{Body, Method};
use super::world::Orch;

/// Sends `body` (none when empty) as `content_type`.
async fn send_body(w: &mut Orch, method: Method, path: &str, content_type: &str, body: String) {
    let mut request = w.request(method.0, path).await;
    if !body.is_empty() {
        request = request
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
    }
    w.send(request).await;
}

#[when(expr = "I send {method} {string}")]
async fn send(w: &mut Orch, method: Method, path: String) {
    let request = w.request(method.0, &path).await;
    w.send(request).await;
}

#[when(expr = "I send {method} {string} with the body {body}")]
async fn send_with_body(w: &mut Orch, method: Method, path: String, body: Body) {
    send_body(w, method, &path, "application/json", body.0).await;
}

#[when(expr = "I send {method} {string} with the content type {string} and the body {body}")]
async fn send_with_content_type(
    w: &mut Orch,
    method: Method,
    path: String,
    content_type: String,
    body: Body,
) {
    send_body(w, method, &path, &content_type, body.0).await;
}

/// A valid task body padded to exactly `size` bytes with a longer prompt.
#[when(expr = "I send {method} {string} with a JSON body of {int} bytes")]
async fn send_sized(w: &mut Orch, method: Method, path: String, size: usize) {
    let frame = r#"{"pool":"default","prompt":"","max_tokens":1}"#;
    let padding = size
        .checked_sub(frame.len())
        .unwrap_or_else(|| panic!("a body of {size} bytes is too small for a task"));
    let body = frame.replace(
        r#""prompt":"""#,
        &format!(r#""prompt":"{}""#, "x".repeat(padding)),
    );
    assert_eq!(body.len(), size);
    send_body(w, method, &path, "application/json", body).await;
}

#[when(expr = "I send {method} {string} with the header {string} set to {string}")]
async fn send_with_header(w: &mut Orch, method: Method, path: String, name: String, value: String) {
    if name.eq_ignore_ascii_case("x-correlation-id") {
        w.sent_correlation_id = Some(value.clone());
    }
    let request = w.request(method.0, &path).await.header(name, value);
    w.send(request).await;
}

#[when(expr = "I send {method} {string} with an X-Correlation-Id of {int} characters")]
async fn send_with_long_correlation_id(w: &mut Orch, method: Method, path: String, length: usize) {
    let value: String = "ab.:_-0123456789".chars().cycle().take(length).collect();
    w.sent_correlation_id = Some(value.clone());
    let request = w
        .request(method.0, &path)
        .await
        .header("x-correlation-id", value);
    w.send(request).await;
}

#[when(expr = "I present no credentials")]
fn no_credentials(w: &mut Orch) {
    w.credentials = None;
}

#[when(expr = "I present the bearer key {string}")]
fn bearer(w: &mut Orch, key: String) {
    w.credentials = Some(format!("Bearer {key}"));
}

#[when(expr = "I present the Authorization header {string}")]
fn authorization(w: &mut Orch, value: String) {
    w.credentials = Some(value);
}
