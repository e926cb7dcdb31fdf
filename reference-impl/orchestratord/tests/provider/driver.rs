//! The HTTP side of provider verification: sends each request to a real server, reads the
//! whole response, checks it with the verifier (`support::contract`) and records which
//! (operation, status) pairs and which SSE events were exercised, so a suite can fail when the
//! contract declares a response no scenario provoked.
//!
//! Every request carries a fresh valid `X-Correlation-Id` unless the scenario sets its own, so
//! the echo rule is checked on every exchange. A response outside the contract fails the test
//! at once with every violation, naming the operation, status and place.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use crate::support::Server;
use crate::support::contract::{Exchange, SseEvent, contract, report};

/// Longest wait for one whole exchange, event streams included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends requests, checks responses, remembers coverage.
pub struct Provider {
    client: reqwest::Client,
    next_id: AtomicU64,
    seen: Mutex<BTreeSet<(String, u16)>>,
    events: Mutex<BTreeSet<String>>,
}

/// A response that conforms to the contract.
#[derive(Debug)]
pub struct Checked {
    /// The operation's `operationId`.
    pub operation: String,
    /// The status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
    /// The events, for an event stream.
    pub events: Vec<SseEvent>,
}

impl Checked {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Asserts the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status,
            status,
            "{}: {}",
            self.operation,
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts the status and the envelope's error code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let checked = self.expect(status);
        assert_eq!(
            checked.json()["error"]["code"],
            code,
            "{}",
            checked.operation
        );
        checked
    }

    /// A header's text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response whose headers have arrived and whose body has not been read yet.
pub struct Pending<'p> {
    provider: &'p Provider,
    method: String,
    path: String,
    request_headers: HeaderMap,
    response: reqwest::Response,
}

impl Pending<'_> {
    /// The status, known before the body is read.
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// Reads the rest of the body and checks the whole exchange.
    pub async fn finish(self) -> Checked {
        let status = self.response.status().as_u16();
        let headers = self.response.headers().clone();
        let body = tokio::time::timeout(EXCHANGE_TIMEOUT, self.response.bytes())
            .await
            .unwrap_or_else(|_| panic!("{} {}: the body did not end", self.method, self.path))
            .unwrap()
            .to_vec();
        let exchange = Exchange {
            method: &self.method,
            path: &self.path,
            request_headers: &self.request_headers,
            status,
            headers: &headers,
            body: &body,
        };
        let verdict = contract().check(&exchange).unwrap_or_else(|violations| {
            panic!(
                "{} {} answered outside the contract:\n{}",
                self.method,
                self.path,
                report(&violations)
            )
        });
        self.provider
            .seen
            .lock()
            .unwrap()
            .insert((verdict.operation.clone(), status));
        self.provider
            .events
            .lock()
            .unwrap()
            .extend(verdict.events.iter().map(|e| e.name.clone()));
        Checked {
            operation: verdict.operation,
            status,
            headers,
            body,
            events: verdict.events,
        }
    }
}

impl Provider {
    /// A provider with nothing exercised yet.
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::new(),
            next_id: AtomicU64::new(1),
            seen: Mutex::new(BTreeSet::new()),
            events: Mutex::new(BTreeSet::new()),
        }
    }

    /// A request to `path` on `server`.
    pub fn request(&self, server: &Server, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", server.base))
    }

    /// A GET of `path`.
    pub fn get(&self, server: &Server, path: &str) -> RequestBuilder {
        self.request(server, Method::GET, path)
    }

    /// A POST of `body` as JSON to `path`.
    pub fn post(&self, server: &Server, path: &str, body: &Value) -> RequestBuilder {
        self.request(server, Method::POST, path).json(body)
    }

    /// Sends the request and waits for the response's headers.
    pub async fn start(&self, request: RequestBuilder) -> Pending<'_> {
        let mut request = request.build().unwrap();
        if !request.headers().contains_key("x-correlation-id") {
            let id = format!("provider-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
            request
                .headers_mut()
                .insert("x-correlation-id", HeaderValue::from_str(&id).unwrap());
        }
        let method = request.method().as_str().to_owned();
        let path = request.url().path().to_owned();
        let request_headers = request.headers().clone();
        let response = tokio::time::timeout(EXCHANGE_TIMEOUT, self.client.execute(request))
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer"))
            .unwrap();
        Pending {
            provider: self,
            method,
            path,
            request_headers,
            response,
        }
    }

    /// Sends the request, reads the whole response and checks it.
    pub async fn send(&self, request: RequestBuilder) -> Checked {
        self.start(request).await.finish().await
    }

    /// The declared (operation, status) pairs of `plane` that no exchange produced.
    pub fn unexercised(&self, plane: &str) -> Vec<(String, u16)> {
        let seen = self.seen.lock().unwrap();
        contract()
            .declared(plane)
            .into_iter()
            .filter(|pair| !seen.contains(pair))
            .collect()
    }

    /// Fails unless every response `plane` declares was exercised.
    #[track_caller]
    pub fn assert_all_exercised(&self, plane: &str) {
        let missing = self.unexercised(plane);
        assert!(
            missing.is_empty(),
            "the {plane} contract declares responses no scenario produced: {missing:?}; \
             add a scenario that provokes each one"
        );
    }

    /// Every SSE event name received so far.
    pub fn events_seen(&self) -> BTreeSet<String> {
        self.events.lock().unwrap().clone()
    }
}
