//! The provider verifier: checks one real response against the published contract
//! (ORCH-3055), independently of the server's own types.
//!
//! [`Contract::load`] reads every OpenAPI document with `contracts_codegen::load_documents`,
//! finds every operation and every response it declares, and compiles one JSON Schema
//! validator per declared header, media type and SSE event. Schemas are converted from
//! OpenAPI 3.0 with `contracts_codegen::schema_with_defs` (so `nullable` and references to
//! component schemas work) and then made strict by [`strict`]: an object schema that does not
//! say otherwise rejects unknown fields.
//!
//! [`Contract::check`] takes an [`Exchange`] (request method, path and headers; response
//! status, headers and body) and reports every [`Violation`], each naming the operation, the
//! status and where (`status`, `header X`, `content-type`, `body /json/pointer`,
//! `event N name /pointer`, `metric name`):
//!
//! - the status is declared for the operation;
//! - each declared header is present when the contract requires it, sent once, and valid
//!   against its schema; no other header appears except [`TRANSPORT_HEADERS`] (and, for
//!   `text/event-stream`, [`SSE_TRANSPORT_HEADERS`]);
//! - the content type is one the status declares (none, and an empty body, when it declares
//!   no content), and the body is valid for it: JSON against the schema, an event stream
//!   parsed with eventsource-stream whose every event, read as `{event, data}` (the name,
//!   `message` when there is none, and the data's text), is valid against the content's
//!   schema, is declared in `x-sse-events` and has `data` valid against that event's schema,
//!   YAML whose document is valid against the schema, OpenMetrics text that matches
//!   `contracts/metrics/metrics.yaml` exactly ([`MetricContract::check`]);
//! - what the documents state in prose about the shared parameters and the error envelope:
//!   the correlation id is echoed when valid and a UUID v4 otherwise (parameter
//!   `X-Correlation-Id`, ORCH-2009) and repeated in the envelope; `policy` is set only for
//!   `QUEUE_FULL`; `X-Backoff-Ms` equals `retry_after_ms`; `Retry-After` is sent exactly when
//!   `retry_after_ms` is, rounded up to whole seconds.
//!
//! The verifier checks responses only; which requests provoke which status is the suites'
//! business (`tests/provider/`, `tests/robustness.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use contracts_codegen::{load_documents, schema_with_defs};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Response headers that HTTP itself adds and the contract does not list.
pub const TRANSPORT_HEADERS: [&str; 6] = [
    "content-type",
    "content-length",
    "date",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// Response headers an event stream may carry in addition (axum sets `Cache-Control:
/// no-cache` so that no proxy buffers the stream).
pub const SSE_TRANSPORT_HEADERS: [&str; 1] = ["cache-control"];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The committed contract, loaded and compiled once per test process.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract::load(&repo_root()))
}

/// Both OpenAPI documents and the metric contract, compiled for checking.
pub struct Contract {
    /// Every operation of every document, in document order.
    pub operations: Vec<Operation>,
    /// `contracts/metrics/metrics.yaml`.
    pub metrics: MetricContract,
}

/// One operation of one document.
pub struct Operation {
    /// `data` or `control`.
    pub plane: &'static str,
    /// Its `operationId`.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The path template, e.g. `/v1/tasks/{task_id}`.
    pub path: String,
    /// The request body example, when the operation takes a body.
    pub request_example: Option<Value>,
    /// Every declared response by status.
    pub responses: BTreeMap<u16, ResponseSpec>,
}

/// What the contract declares for one status of one operation.
pub struct ResponseSpec {
    headers: Vec<HeaderSpec>,
    content: BTreeMap<String, Validator>,
    events: Option<BTreeMap<String, Validator>>,
}

struct HeaderSpec {
    name: String,
    required: bool,
    /// The schema's `type`, which says how to read the header's text.
    kind: Option<String>,
    schema: Validator,
}

/// A compiled schema and where it came from (for messages).
struct Validator {
    at: String,
    compiled: jsonschema::Validator,
}

impl Validator {
    fn compile(document: &Value, schema: &Value, at: String) -> Self {
        let root = strict(&schema_with_defs(document, schema));
        let compiled = jsonschema::validator_for(&root)
            .unwrap_or_else(|e| panic!("{at}: the schema does not compile: {e}"));
        Self { at, compiled }
    }

    /// Each error as (JSON pointer, message).
    fn errors(&self, instance: &Value) -> Vec<(String, String)> {
        self.compiled
            .iter_errors(instance)
            .map(|e| (e.instance_path().to_string(), e.to_string()))
            .collect()
    }
}

/// `schema` with `additionalProperties: false` added to every object schema that has
/// `properties` and says nothing about other fields, so an unknown field is a violation.
pub fn strict(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "properties" | "$defs" | "patternProperties" => match value {
                Value::Object(children) => Value::Object(
                    children
                        .iter()
                        .map(|(name, child)| (name.clone(), strict(child)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => match value {
                Value::Array(children) => Value::Array(children.iter().map(strict).collect()),
                other => other.clone(),
            },
            "items" | "not" | "additionalProperties" => strict(value),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    if out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !out.contains_key("unevaluatedProperties")
    {
        out.insert("additionalProperties".to_owned(), Value::Bool(false));
    }
    Value::Object(out)
}

/// Follows a local `$ref` (`#/components/...`) to its target.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let found = document
                .pointer(target.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {target}"));
            resolve(document, found)
        }
        None => value,
    }
}

impl ResponseSpec {
    fn compile(document: &Value, response: &Value, at: &str) -> Self {
        let mut headers = Vec::new();
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let header = resolve(document, header);
            let schema = header
                .get("schema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            let kind = resolve(document, &schema)
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_owned);
            headers.push(HeaderSpec {
                name: name.clone(),
                required: header.get("required") == Some(&Value::Bool(true)),
                kind,
                schema: Validator::compile(document, &schema, format!("{at} header {name}")),
            });
        }
        let mut content = BTreeMap::new();
        for (media, spec) in response["content"].as_object().into_iter().flatten() {
            let schema = spec
                .get("schema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            content.insert(
                media.to_ascii_lowercase(),
                Validator::compile(document, &schema, format!("{at} {media}")),
            );
        }
        let events = response
            .get("x-sse-events")
            .and_then(Value::as_object)
            .map(|events| {
                assert!(
                    content.contains_key("text/event-stream"),
                    "{at} declares x-sse-events without text/event-stream content"
                );
                events
                    .iter()
                    .map(|(name, schema)| {
                        let validator =
                            Validator::compile(document, schema, format!("{at} event {name}"));
                        (name.clone(), validator)
                    })
                    .collect()
            });
        Self {
            headers,
            content,
            events,
        }
    }
}

impl Operation {
    /// Whether the URL path `path` (no query) is an instance of this operation's template.
    pub fn matches(&self, path: &str) -> bool {
        let template: Vec<&str> = self.path.split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        template.len() == actual.len()
            && template.iter().zip(&actual).all(|(t, a)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !a.is_empty()
                } else {
                    t == a
                }
            })
    }

    fn literal_segments(&self) -> usize {
        self.path.split('/').filter(|s| !s.starts_with('{')).count()
    }

    /// The template with every path parameter replaced by `value`.
    pub fn path_with(&self, value: &str) -> String {
        self.path
            .split('/')
            .map(|s| if s.starts_with('{') { value } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// One request and its complete response, as the verifier sees it.
pub struct Exchange<'a> {
    /// The request method.
    pub method: &'a str,
    /// The request's URL path, without query.
    pub path: &'a str,
    /// The request headers (for the correlation id).
    pub request_headers: &'a HeaderMap,
    /// The response status.
    pub status: u16,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The whole response body.
    pub body: &'a [u8],
}

/// One event of a checked event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The event name (`message` when the stream gave none).
    pub name: String,
    /// Its data, parsed.
    pub data: Value,
}

/// A response that conforms.
#[derive(Debug)]
pub struct Verdict {
    /// `data` or `control`.
    pub plane: &'static str,
    /// The operation's `operationId`.
    pub operation: String,
    /// The events of an event-stream body, in order.
    pub events: Vec<SseEvent>,
}

/// One way a response breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The `operationId`, or `METHOD /path` when no operation matches.
    pub operation: String,
    /// The response status.
    pub status: u16,
    /// Where: `status`, `header X`, `content-type`, `body /pointer`, `event N name /pointer`…
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.operation, self.status, self.at, self.message
        )
    }
}

/// Every violation on its own line.
pub fn report(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Findings<'a> {
    operation: &'a str,
    status: u16,
    found: Vec<Violation>,
}

impl Findings<'_> {
    fn add(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.found.push(Violation {
            operation: self.operation.to_owned(),
            status: self.status,
            at: at.into(),
            message: message.into(),
        });
    }
}

/// A JSON pointer for messages: the root is `/`.
fn pointer(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn valid_correlation_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Contract {
    /// Reads and compiles the contract under `root`; panics on a document the verifier cannot
    /// read, since then nothing can be verified.
    pub fn load(root: &Path) -> Self {
        let documents = load_documents(root).unwrap_or_else(|e| panic!("{e}"));
        let mut operations = Vec::new();
        for document in &documents {
            let json = &document.json;
            for (path, item) in json["paths"].as_object().into_iter().flatten() {
                for method in METHODS {
                    let Some(operation) = item.get(method) else {
                        continue;
                    };
                    let id = operation["operationId"]
                        .as_str()
                        .unwrap_or_else(|| {
                            panic!("{}: {method} {path}: no operationId", document.path)
                        })
                        .to_owned();
                    let mut responses = BTreeMap::new();
                    for (status, response) in
                        operation["responses"].as_object().into_iter().flatten()
                    {
                        let code: u16 = status.parse().unwrap_or_else(|_| {
                            panic!(
                                "{}: {id} declares response `{status}`; the provider verifier \
                                 knows numeric statuses only",
                                document.path
                            )
                        });
                        let at = format!("{}: {id} {status}", document.path);
                        responses.insert(
                            code,
                            ResponseSpec::compile(json, resolve(json, response), &at),
                        );
                    }
                    let request_example = operation.get("requestBody").map(|body| {
                        resolve(json, body)["content"]["application/json"]["example"].clone()
                    });
                    operations.push(Operation {
                        plane: document.name,
                        id,
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                        request_example,
                        responses,
                    });
                }
            }
        }
        Self {
            operations,
            metrics: MetricContract::load(root),
        }
    }

    /// The operation a request is for: same method and a matching path template, the most
    /// literal template winning.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method) && op.matches(path))
            .max_by_key(|op| op.literal_segments())
    }

    /// The operation with this `operationId`.
    pub fn by_id(&self, id: &str) -> &Operation {
        self.operations
            .iter()
            .find(|op| op.id == id)
            .unwrap_or_else(|| panic!("no operation `{id}` in the contract"))
    }

    /// Every (operationId, status) pair one document declares.
    pub fn declared(&self, plane: &str) -> BTreeSet<(String, u16)> {
        self.operations
            .iter()
            .filter(|op| op.plane == plane)
            .flat_map(|op| op.responses.keys().map(|s| (op.id.clone(), *s)))
            .collect()
    }

    /// Every SSE event name one document declares.
    pub fn declared_events(&self, plane: &str) -> BTreeSet<String> {
        self.operations
            .iter()
            .filter(|op| op.plane == plane)
            .flat_map(|op| op.responses.values())
            .filter_map(|r| r.events.as_ref())
            .flat_map(|events| events.keys().cloned())
            .collect()
    }

    /// Checks one exchange; the verdict when it conforms, every violation otherwise.
    pub fn check(&self, exchange: &Exchange<'_>) -> Result<Verdict, Vec<Violation>> {
        let Some(operation) = self.operation(exchange.method, exchange.path) else {
            return Err(vec![Violation {
                operation: format!("{} {}", exchange.method, exchange.path),
                status: exchange.status,
                at: "route".to_owned(),
                message: "no operation of the contract has this method and path".to_owned(),
            }]);
        };
        let mut findings = Findings {
            operation: &operation.id,
            status: exchange.status,
            found: Vec::new(),
        };
        let Some(spec) = operation.responses.get(&exchange.status) else {
            let declared: Vec<String> = operation.responses.keys().map(u16::to_string).collect();
            findings.add(
                "status",
                format!(
                    "not declared for this operation (declared: {})",
                    declared.join(", ")
                ),
            );
            return Err(findings.found);
        };
        let media = exchange
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        check_headers(spec, exchange.headers, media.as_deref(), &mut findings);
        let mut events = Vec::new();
        let mut json = None;
        match (&media, spec.content.is_empty()) {
            (None, true) => {
                if !exchange.body.is_empty() {
                    findings.add(
                        "body",
                        format!(
                            "the contract declares no content, but the body has {} bytes",
                            exchange.body.len()
                        ),
                    );
                }
            }
            (Some(media), true) => findings.add(
                "content-type",
                format!("`{media}` sent where the contract declares no content"),
            ),
            (None, false) => findings.add(
                "content-type",
                format!(
                    "missing; declared: {}",
                    spec.content.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ),
            (Some(media), false) => match spec.content.get(media) {
                None => findings.add(
                    "content-type",
                    format!(
                        "`{media}` is not declared (declared: {})",
                        spec.content.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ),
                Some(schema) => {
                    json = self.check_body(
                        spec,
                        media,
                        schema,
                        exchange.body,
                        &mut events,
                        &mut findings,
                    );
                }
            },
        }
        check_correlation(exchange, json.as_ref(), &mut findings);
        if findings.found.is_empty() {
            Ok(Verdict {
                plane: operation.plane,
                operation: operation.id.clone(),
                events,
            })
        } else {
            Err(findings.found)
        }
    }

    /// Checks a body of a declared media type; returns the JSON body, if it is one.
    fn check_body(
        &self,
        spec: &ResponseSpec,
        media: &str,
        schema: &Validator,
        body: &[u8],
        events: &mut Vec<SseEvent>,
        findings: &mut Findings<'_>,
    ) -> Option<Value> {
        if media == "application/json" || media.ends_with("+json") {
            let value: Value = match serde_json::from_slice(body) {
                Ok(value) => value,
                Err(e) => {
                    findings.add("body", format!("not JSON: {e}"));
                    return None;
                }
            };
            for (at, message) in schema.errors(&value) {
                findings.add(format!("body {}", pointer(&at)), message);
            }
            return Some(value);
        }
        let Ok(text) = std::str::from_utf8(body) else {
            findings.add("body", format!("`{media}` body is not UTF-8 text"));
            return None;
        };
        match media {
            // The schema describes one event, `{event, data}`, as tools read an event stream.
            "text/event-stream" => *events = check_events(spec, schema, text, findings),
            // The schema describes the document the YAML text holds.
            "application/yaml" => match serde_saphyr::from_str::<Value>(text) {
                Ok(value) => {
                    for (at, message) in schema.errors(&value) {
                        findings.add(format!("body {}", pointer(&at)), message);
                    }
                }
                Err(e) => findings.add("body", format!("not YAML: {e}")),
            },
            _ => {
                for (at, message) in schema.errors(&Value::String(text.to_owned())) {
                    findings.add(format!("body {}", pointer(&at)), message);
                }
                if media == "application/openmetrics-text" {
                    for (at, message) in self.metrics.check(text) {
                        findings.add(at, message);
                    }
                }
            }
        }
        None
    }
}

fn check_headers(
    spec: &ResponseSpec,
    headers: &HeaderMap,
    media: Option<&str>,
    findings: &mut Findings<'_>,
) {
    for declared in &spec.headers {
        let values: Vec<_> = headers.get_all(declared.name.as_str()).iter().collect();
        let at = format!("header {}", declared.name);
        match values.as_slice() {
            [] if declared.required => findings.add(at, "missing; the contract requires it"),
            [] => {}
            [value] => {
                let Ok(text) = value.to_str() else {
                    findings.add(at, "not visible ASCII text");
                    continue;
                };
                let instance = match declared.kind.as_deref() {
                    Some("integer" | "number" | "boolean") => {
                        match serde_json::from_str::<Value>(text) {
                            Ok(value) if !value.is_string() => value,
                            _ => {
                                findings.add(
                                    at,
                                    format!(
                                        "`{text}` is not a {}",
                                        declared.kind.as_deref().unwrap_or_default()
                                    ),
                                );
                                continue;
                            }
                        }
                    }
                    _ => Value::String(text.to_owned()),
                };
                for (_, message) in declared.schema.errors(&instance) {
                    findings.add(at.clone(), format!("`{text}`: {message}"));
                }
            }
            more => findings.add(at, format!("sent {} times", more.len())),
        }
    }
    let sse = media == Some("text/event-stream");
    for name in headers.keys() {
        let name = name.as_str();
        let allowed = spec
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
            || TRANSPORT_HEADERS.contains(&name)
            || (sse && SSE_TRANSPORT_HEADERS.contains(&name));
        if !allowed {
            findings.add(
                format!("header {name}"),
                "not declared for this status (nor a transport header)",
            );
        }
    }
}

/// Parses an event stream and checks each event: as `{event, data}` against the content's
/// schema (the event name and the data's text), then its data against `x-sse-events`.
fn check_events(
    spec: &ResponseSpec,
    schema: &Validator,
    text: &str,
    findings: &mut Findings<'_>,
) -> Vec<SseEvent> {
    use eventsource_stream::Eventsource;
    use futures::StreamExt;
    let chunks =
        futures::stream::iter([Ok::<_, std::convert::Infallible>(text.as_bytes().to_vec())]);
    // The body is complete and in memory, so the stream is ready at once.
    let parsed: Vec<_> = futures::executor::block_on(chunks.eventsource().collect::<Vec<_>>());
    let Some(declared) = &spec.events else {
        findings.add(
            "body",
            "an event stream without x-sse-events to check it against",
        );
        return Vec::new();
    };
    let mut events = Vec::new();
    for (index, event) in parsed.into_iter().enumerate() {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                findings.add(
                    format!("event {index}"),
                    format!("not a valid event stream: {e}"),
                );
                break;
            }
        };
        let name = if event.event.is_empty() {
            "message".to_owned()
        } else {
            event.event
        };
        let at = format!("event {index} `{name}`");
        let read = serde_json::json!({"event": name, "data": event.data});
        for (pointer_at, message) in schema.errors(&read) {
            findings.add(format!("{at} {}", pointer(&pointer_at)), message);
        }
        let Some(schema) = declared.get(&name) else {
            findings.add(
                at,
                format!(
                    "not declared in x-sse-events (declared: {})",
                    declared.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        };
        // Data that is not JSON conforms only where the declared schema takes it as a string
        // (the `[DONE]` line of an OpenAI stream).
        let data: Value = match serde_json::from_str(&event.data) {
            Ok(data) => data,
            Err(_) if schema.errors(&Value::String(event.data.clone())).is_empty() => {
                Value::String(event.data)
            }
            Err(e) => {
                findings.add(at, format!("data is not JSON: {e}"));
                continue;
            }
        };
        for (pointer_at, message) in schema.errors(&data) {
            findings.add(format!("{at} {}", pointer(&pointer_at)), message);
        }
        events.push(SseEvent { name, data });
    }
    events
}

/// The correlation id (ORCH-2009, as the `X-Correlation-Id` parameter describes it) and what
/// the envelope's fields say about each other and the headers (ORCH-2006, ORCH-2007).
fn check_correlation(exchange: &Exchange<'_>, json: Option<&Value>, findings: &mut Findings<'_>) {
    let sent = header_text(exchange.request_headers, "x-correlation-id");
    let got = header_text(exchange.headers, "x-correlation-id");
    if let Some(got) = got {
        match sent.filter(|s| valid_correlation_id(s)) {
            Some(sent) if got != sent => findings.add(
                "header X-Correlation-Id",
                format!("`{got}` does not echo the request's valid id `{sent}`"),
            ),
            Some(_) => {}
            None => {
                if uuid::Uuid::parse_str(got).map(|u| u.get_version_num()) != Ok(4) {
                    findings.add(
                        "header X-Correlation-Id",
                        format!("`{got}` is not a new UUID v4 for a request without a valid id"),
                    );
                }
            }
        }
    }
    let Some(error) = json
        .and_then(|j| j.get("error"))
        .filter(|_| exchange.status >= 400)
    else {
        return;
    };
    if let Some(got) = got
        && error["correlation_id"] != got
    {
        findings.add(
            "body /error/correlation_id",
            format!(
                "{} differs from the header `{got}`",
                error["correlation_id"]
            ),
        );
    }
    // What follows relates the task envelope's fields (ORCH-2006, ORCH-2007); OpenAI's error
    // shape (ORCH-2208) has none of them.
    if error.get("retriable").is_none() {
        return;
    }
    if (error["code"] == "QUEUE_FULL") == error["policy"].is_null() {
        findings.add(
            "body /error/policy",
            format!(
                "{} with code {}: the policy is set for QUEUE_FULL and only then",
                error["policy"], error["code"]
            ),
        );
    }
    // A header that is not a number at all was reported against its schema already.
    let malformed = |name: &str| {
        header_text(exchange.headers, name).is_some_and(|text| text.parse::<u64>().is_err())
    };
    if malformed("x-backoff-ms") || malformed("retry-after") {
        return;
    }
    let retry_after_ms = error["retry_after_ms"].as_u64();
    if let Some(backoff) = header_text(exchange.headers, "x-backoff-ms")
        && Some(backoff.to_owned()) != retry_after_ms.map(|ms| ms.to_string())
    {
        findings.add(
            "header X-Backoff-Ms",
            format!(
                "`{backoff}` differs from retry_after_ms {}",
                error["retry_after_ms"]
            ),
        );
    }
    match (header_text(exchange.headers, "retry-after"), retry_after_ms) {
        (None, None) => {}
        (Some(seconds), Some(ms)) => {
            let expected = ms.div_ceil(1000).max(1);
            if seconds != expected.to_string() {
                findings.add(
                    "header Retry-After",
                    format!("`{seconds}` is not retry_after_ms {ms} in whole seconds ({expected})"),
                );
            }
        }
        (Some(seconds), None) => findings.add(
            "body /error/retry_after_ms",
            format!("null, but Retry-After is `{seconds}`"),
        ),
        (None, Some(ms)) => findings.add(
            "body /error/retry_after_ms",
            format!("{ms}, but no Retry-After header gives the hint"),
        ),
    }
}

/// `contracts/metrics/metrics.yaml` (ORCH-3028).
#[derive(Debug, serde::Deserialize)]
pub struct MetricContract {
    /// Most distinct values per label.
    pub label_budgets: BTreeMap<String, usize>,
    /// Every metric.
    pub metrics: Vec<ContractMetric>,
}

/// One metric of the metric contract.
#[derive(Debug, serde::Deserialize)]
pub struct ContractMetric {
    /// Its name; counters end in `_total`.
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its label names.
    pub labels: Vec<String>,
}

impl MetricContract {
    /// Reads the committed metric contract.
    pub fn load(root: &Path) -> Self {
        let path = root.join("contracts/metrics/metrics.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every way an exposition differs from the contract, as (where, what): a metric missing,
    /// of another type, with other label names, or a label over its budget; a family the
    /// contract does not list.
    pub fn check(&self, text: &str) -> Vec<(String, String)> {
        use openmetrics_parser::OpenMetricsType;
        let exposition = match openmetrics_parser::openmetrics::parse_openmetrics(text) {
            Ok(exposition) => exposition,
            Err(e) => return vec![("body".to_owned(), format!("not OpenMetrics text: {e:?}"))],
        };
        let mut found = Vec::new();
        let mut expected = BTreeSet::new();
        for metric in &self.metrics {
            let at = format!("metric {}", metric.name);
            // A counter family is named without `_total`; its samples carry it.
            let family_name = match metric.kind.as_str() {
                "counter" => metric.name.strip_suffix("_total").unwrap_or(&metric.name),
                _ => &metric.name,
            };
            expected.insert(family_name.to_owned());
            let Some(family) = exposition.families.get(family_name) else {
                found.push((at, "missing from the exposition".to_owned()));
                continue;
            };
            let kind = match family.family_type {
                OpenMetricsType::Counter => "counter",
                OpenMetricsType::Gauge => "gauge",
                OpenMetricsType::Histogram => "histogram",
                _ => "another type",
            };
            if kind != metric.kind {
                found.push((
                    at.clone(),
                    format!("a {kind}, the contract says {}", metric.kind),
                ));
            }
            let labels: BTreeSet<&str> = family
                .get_label_names()
                .iter()
                .map(String::as_str)
                .filter(|l| !(kind == "histogram" && *l == "le"))
                .collect();
            let wanted: BTreeSet<&str> = metric.labels.iter().map(String::as_str).collect();
            if labels != wanted {
                found.push((
                    at.clone(),
                    format!("labels {labels:?}, the contract says {wanted:?}"),
                ));
            }
            for label in &metric.labels {
                let Some(budget) = self.label_budgets.get(label) else {
                    found.push((at.clone(), format!("label {label} has no budget")));
                    continue;
                };
                let values: BTreeSet<String> = family
                    .iter_samples()
                    .filter_map(|s| {
                        s.get_labelset()
                            .ok()?
                            .get_label_value(label)
                            .map(str::to_owned)
                    })
                    .collect();
                if values.len() > *budget {
                    found.push((
                        at.clone(),
                        format!(
                            "label {label} takes {} values, over its budget of {budget}",
                            values.len()
                        ),
                    ));
                }
            }
        }
        for family in exposition.families.keys() {
            if !expected.contains(family) {
                found.push((
                    format!("metric {family}"),
                    "not in the metric contract".to_owned(),
                ));
            }
        }
        found.sort();
        found
    }
}
