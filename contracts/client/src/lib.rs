//! Typed client for the orchestratord data and control planes and its OpenAI-compatible
//! surface, generated from `contracts/openapi/{data,control,openai}.yaml` by
//! `cargo xtask regen-openapi`, plus [`sse`], which
//! turns a task's event stream into parsed, typed events.

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
pub mod data;

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
pub mod control;

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
pub mod openai;

pub mod sse;

/// A `reqwest` client that sends `Authorization: Bearer <key>` on every request, for
/// `data::Client::new_with_client` and `control::Client::new_with_client`.
pub fn http_client_with_key(key: &str) -> Result<reqwest::Client, reqwest::Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(mut value) = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")) {
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    reqwest::Client::builder().default_headers(headers).build()
}
