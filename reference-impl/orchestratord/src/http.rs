//! The HTTP surface: routes, status codes, headers and bodies exactly as
//! `contracts/openapi/data.yaml` says. Thin: each handler parses, calls [`Service`], and maps
//! the result to the contract's types.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use api_types::{
    CancelResponse, Capabilities, EnqueueResponse, ErrorCode, PoolCapability, QueueCapacity,
    Session, StartedEvent, TaskStatus,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use orchestrator_core::Priority;
use orchestrator_core::lifecycle::TaskState;
use orchestrator_core::sessions::SessionView;

use crate::error::{ApiError, CORRELATION_HEADER};
use crate::service::{API_VERSION, EnqueueRequest, Service, Task, api_policy, api_priority};

/// Largest accepted request body (ORCH-2013).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The committed contract documents, served byte for byte (ORCH-3054).
#[spectrace::implements("ORCH-3054")]
const DATA_CONTRACT: &str = include_str!("../../../contracts/openapi/data.yaml");
const CONTROL_CONTRACT: &str = include_str!("../../../contracts/openapi/control.yaml");
const OPENAI_CONTRACT: &str = include_str!("../../../contracts/openapi/openai.yaml");

/// The request's correlation id, set by [`correlation`].
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// The data-plane router.
#[spectrace::implements("ORCH-3055")]
pub fn router(service: Arc<Service>) -> Router {
    let data_plane = Router::new()
        .route("/v1/tasks", post(enqueue))
        .route("/v1/tasks/{task_id}", get(read_task))
        .route("/v1/tasks/{task_id}/events", get(events))
        .route("/v1/tasks/{task_id}/cancel", post(cancel))
        .route(
            "/v1/sessions/{session_id}",
            get(read_session).delete(delete_session),
        )
        .route("/v1/capabilities", get(capabilities))
        .route(
            "/v1/openapi/data.yaml",
            get(|| async { yaml(DATA_CONTRACT) }),
        )
        .route(
            "/v1/openapi/control.yaml",
            get(|| async { yaml(CONTROL_CONTRACT) }),
        )
        .route(
            "/v1/openapi/openai.yaml",
            get(|| async { yaml(OPENAI_CONTRACT) }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&service),
            data_plane_auth,
        ));
    let control_plane = Router::new()
        .route("/metrics", get(metrics))
        .route("/v1/pools/{pool_id}/drain", post(drain))
        .route("/v1/pools/{pool_id}/reload", post(reload))
        .route("/v1/pools/{pool_id}/health", get(pool_health))
        .route("/v1/replicasets", get(replica_sets))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&service),
            control_plane_auth,
        ));
    Router::new()
        .merge(data_plane)
        .merge(crate::openai::routes(Arc::clone(&service)))
        .merge(control_plane)
        .route("/livez", get(liveness))
        .route("/readyz", get(readiness))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(correlation))
        .with_state(service)
}

fn valid_correlation_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Sets the correlation id of every request and response (ORCH-2009) and writes it into error
/// envelopes.
#[spectrace::implements("ORCH-2009")]
pub async fn correlation(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_correlation_id(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    request.extensions_mut().insert(CorrelationId(id.clone()));
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        response = error.into_response_with(&id);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// Data-plane keys (ORCH-3040): with none configured the data plane is open; otherwise every
/// data route needs one of them.
#[spectrace::implements("ORCH-3040")]
pub(crate) async fn data_plane_auth(
    State(service): State<Arc<Service>>,
    request: Request,
    next: Next,
) -> Response {
    if !service.data_keys.is_empty()
        && let Err(error) = service.data_keys.check(request.headers())
    {
        return error.into_response();
    }
    next.run(request).await
}

/// Control-plane keys (ORCH-3038, ORCH-3039): every control route needs one of them, checked
/// here once, before the handler reads the request.
#[spectrace::implements("ORCH-3038", "ORCH-3039")]
async fn control_plane_auth(
    State(service): State<Arc<Service>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(error) = service.control_keys.check(request.headers()) {
        return error.into_response();
    }
    next.run(request).await
}

fn yaml(document: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], document).into_response()
}

#[spectrace::implements("ORCH-2014")]
async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

#[spectrace::implements("ORCH-2014")]
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not take that method",
    )
}

/// A request body read strictly (ORCH-2012, ORCH-2013): `application/json`, at most
/// [`BODY_LIMIT`] bytes, one JSON object and nothing after it, no unknown field; a refusal names
/// the offending field.
#[spectrace::implements("ORCH-2012", "ORCH-2013")]
pub struct StrictJson<T>(pub T);

/// A request body type [`StrictJson`] reads.
pub trait Body: serde::de::DeserializeOwned {
    /// Whether JSON `null` may stand for a field's absence. The task API's and the control
    /// plane's request schemas have no nullable field, so there `null` is a value of the wrong
    /// type (ORCH-2012), while serde would read it as an absent `Option`.
    const NULL_IS_ABSENT: bool;
}

impl Body for api_types::EnqueueRequest {
    const NULL_IS_ABSENT: bool = false;
}

impl Body for api_types::DrainRequest {
    const NULL_IS_ABSENT: bool = false;
}

impl Body for api_types::ReloadRequest {
    const NULL_IS_ABSENT: bool = false;
}

/// The OpenAI-compatible surface reads the object itself, and OpenAI's fields are nullable.
impl Body for serde_json::Map<String, serde_json::Value> {
    const NULL_IS_ABSENT: bool = true;
}

impl<T, S> axum::extract::FromRequest<S> for StrictJson<T>
where
    T: Body,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state).await;
        json_body(&headers, body).map(StrictJson)
    }
}

/// Reads a JSON body strictly: [`body_bytes`], then [`parse_body`].
fn json_body<T: Body>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body_bytes(headers, body)?;
    parse_body(&bytes)
}

/// The body's bytes, when it is `application/json` of at most [`BODY_LIMIT`] bytes
/// (ORCH-2013).
#[spectrace::implements("ORCH-2013")]
fn body_bytes(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be application/json",
        ));
    }
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, "the body is larger than 1 MiB")
        } else {
            ApiError::new(ErrorCode::InvalidRequest, rejection.body_text())
        }
    })
}

/// One JSON object and nothing after it, with no unknown field and no `null` where the
/// contract has none; a refusal names the offending field (ORCH-2012).
#[spectrace::implements("ORCH-2012")]
fn parse_body<T: Body>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every request body of the contract is an object; serde would also read a struct from a
    // JSON array of its fields in order. A JSON text is whitespace then its value, so the first
    // other byte tells an object.
    let starts_an_object = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{');
    if !starts_an_object {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "invalid body: the body must be a JSON object",
        ));
    }
    // The path names the offending field when serde's own message does not (a wrong type,
    // an out-of-range number, an unknown enum value), as ORCH-2012 requires.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = if path.is_empty() || path == "." {
            format!("invalid body: {}", e.inner())
        } else {
            format!("invalid body: field `{path}`: {}", e.inner())
        };
        ApiError::new(ErrorCode::InvalidRequest, message)
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("invalid body: {e}")))?;
    if !T::NULL_IS_ABSENT
        && let Some(path) = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .as_ref()
            .and_then(null_member)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("invalid body: field `{path}`: null is not a value the contract allows"),
        ));
    }
    Ok(value)
}

/// The path (`a.b`, `a[0]`) of the first member whose value is `null`, depth first.
fn null_member(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Object(members) => members.iter().find_map(|(name, member)| match member {
            Value::Null => Some(name.clone()),
            other => null_member(other).map(|rest| {
                if rest.starts_with('[') {
                    format!("{name}{rest}")
                } else {
                    format!("{name}.{rest}")
                }
            }),
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| match item {
            Value::Null => Some(format!("[{i}]")),
            other => null_member(other).map(|rest| {
                if rest.starts_with('[') {
                    format!("[{i}]{rest}")
                } else {
                    format!("[{i}].{rest}")
                }
            }),
        }),
        _ => None,
    }
}

#[spectrace::implements("ORCH-2001")]
async fn enqueue(
    State(service): State<Arc<Service>>,
    axum::Extension(CorrelationId(correlation_id)): axum::Extension<CorrelationId>,
    StrictJson(request): StrictJson<api_types::EnqueueRequest>,
) -> Result<Response, ApiError> {
    let temperature = request.temperature.unwrap_or(0.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "invalid body: temperature must be between 0 and 2",
        ));
    }
    let priority = match request.priority {
        Some(api_types::Priority::Batch) => Priority::Batch,
        _ => Priority::Interactive,
    };
    let admitted = service.enqueue(EnqueueRequest {
        pool: request.pool.to_string(),
        prompt: request.prompt.to_string(),
        max_tokens: request.max_tokens.get(),
        priority,
        model: request.model.map(|m| m.to_string()),
        seed: request.seed,
        temperature,
        session_id: request.session_id.map(|s| s.to_string()),
        deadline_ms: request.deadline_ms.map(std::num::NonZeroU64::get),
        correlation_id,
        stop: Vec::new(),
    })?;
    let body = EnqueueResponse {
        task_id: admitted.task_id.clone(),
        pool: request.pool.to_string(),
        priority: api_priority(priority),
        queue_position: admitted.queue_position,
        predicted_start_ms: admitted.predicted_start_ms,
    };
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/tasks/{}/events", admitted.task_id)) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(session) = admitted.session {
        budget_headers(&mut headers, &session);
    }
    Ok((StatusCode::ACCEPTED, headers, axum::Json(body)).into_response())
}

/// The budgets a session has left after admitting a task, as response headers.
#[spectrace::implements("ORCH-3024")]
fn budget_headers(headers: &mut HeaderMap, session: &SessionView) {
    headers.insert(
        "x-budget-turns-remaining",
        HeaderValue::from(session.turns_remaining()),
    );
    headers.insert(
        "x-budget-tokens-remaining",
        HeaderValue::from(session.tokens_remaining()),
    );
}

fn find_task(service: &Service, task_id: &str) -> Result<Arc<Task>, ApiError> {
    service
        .task(task_id)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no task `{task_id}`")))
}

fn api_state(state: TaskState) -> api_types::TaskState {
    match state {
        TaskState::Queued => api_types::TaskState::Queued,
        TaskState::Running => api_types::TaskState::Running,
        TaskState::Completed => api_types::TaskState::Completed,
        TaskState::Failed => api_types::TaskState::Failed,
        TaskState::Cancelled => api_types::TaskState::Cancelled,
        TaskState::Dropped => api_types::TaskState::Dropped,
        TaskState::Expired => api_types::TaskState::Expired,
    }
}

#[spectrace::implements("ORCH-2011")]
async fn read_task(
    State(service): State<Arc<Service>>,
    Path(task_id): Path<String>,
) -> Result<axum::Json<TaskStatus>, ApiError> {
    let task = find_task(&service, &task_id)?;
    Ok(axum::Json(TaskStatus {
        task_id: task.id.clone(),
        pool: task.pool.clone(),
        priority: api_priority(task.priority),
        state: api_state(service.task_state(&task)),
        tokens_out: task.log.tokens(),
    }))
}

async fn cancel(
    State(service): State<Arc<Service>>,
    Path(task_id): Path<String>,
) -> Result<axum::Json<CancelResponse>, ApiError> {
    let task = find_task(&service, &task_id)?;
    let state = service.cancel_task(&task);
    Ok(axum::Json(CancelResponse {
        task_id: task.id.clone(),
        state: api_state(state),
    }))
}

/// Releases the stream (and cancels the task if it has not ended) when the response body is
/// dropped, which is how axum reports a client disconnect (ORCH-3026).
#[spectrace::implements("ORCH-3026")]
struct StreamGuard {
    service: Arc<Service>,
    task: Arc<Task>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.service.stream_closed(&self.task);
    }
}

/// Opens the task's one event stream, or refuses a second consumer while it is open.
#[spectrace::implements("ORCH-2014")]
fn claim_stream(service: &Service, task: &Task) -> Result<(), ApiError> {
    if service.open_stream(task) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::StreamConflict,
            "this task's event stream is already open",
        ))
    }
}

#[spectrace::implements("ORCH-2002", "ORCH-2010")]
async fn events(
    State(service): State<Arc<Service>>,
    Path(task_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let task = find_task(&service, &task_id)?;
    claim_stream(&service, &task)?;
    let (queue_position, predicted_start_ms) = service.task_position(&task);
    let started = StartedEvent {
        task_id: task.id.clone(),
        queue_position,
        predicted_start_ms,
    };
    let started = Event::default()
        .event("started")
        .data(serde_json::to_string(&started).unwrap_or_default());
    let keepalive = Duration::from_millis(service.config().sse.keepalive_ms);
    let guard = StreamGuard {
        service: Arc::clone(&service),
        task: Arc::clone(&task),
    };
    let following = futures::stream::unfold((guard, 0usize), |(guard, index)| async move {
        let next = guard.task.log.next(index).await?;
        let event = Event::default().event(next.name).data(next.data);
        Some((Ok(event), (guard, index + 1)))
    });
    let stream =
        futures::StreamExt::chain(futures::stream::once(async move { Ok(started) }), following);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive")))
}

#[spectrace::implements("ORCH-2004")]
async fn read_session(
    State(service): State<Arc<Service>>,
    Path(session_id): Path<String>,
) -> Result<axum::Json<Session>, ApiError> {
    let view = service
        .session(&session_id)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no session `{session_id}`")))?;
    Ok(axum::Json(Session {
        session_id,
        turns_used: view.turns_used,
        turns_max: view.turns_max,
        tokens_used: view.tokens_used,
        tokens_max: view.tokens_max,
        ttl_remaining_ms: view.ttl_remaining_ms,
    }))
}

#[spectrace::implements("ORCH-2005")]
async fn delete_session(
    State(service): State<Arc<Service>>,
    Path(session_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if service.delete_session(&session_id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no session `{session_id}`"),
        ))
    }
}

#[spectrace::implements("ORCH-2008", "ORCH-3051", "ORCH-3053", "ORCH-3063")]
async fn capabilities(State(service): State<Arc<Service>>) -> axum::Json<Capabilities> {
    let pools = service
        .pools()
        .values()
        .map(|pool| {
            let loaded = pool.loaded();
            let engine = loaded.engines.first();
            PoolCapability {
                id: pool.config.id.clone(),
                engine: engine.map_or(api_types::EngineKind::Sim, |e| e.kind()),
                engine_version: engine.map(|e| e.version()).unwrap_or_default(),
                model: loaded.model.name.clone(),
                model_digest: engine.map(|e| e.model_digest()).unwrap_or_default(),
                ctx_max: std::num::NonZeroU64::new(u64::from(pool.config.limits.ctx_max))
                    .unwrap_or(std::num::NonZeroU64::MIN),
                max_tokens_max: std::num::NonZeroU64::new(u64::from(pool.config.limits.max_tokens))
                    .unwrap_or(std::num::NonZeroU64::MIN),
                full_policy: api_policy(pool.config.queue.full_policy),
                queue_capacity: QueueCapacity {
                    interactive: u64::from(pool.config.queue.capacity.interactive),
                    batch: u64::from(pool.config.queue.capacity.batch),
                },
            }
        })
        .collect();
    axum::Json(Capabilities {
        api_version: API_VERSION.to_owned(),
        pools,
    })
}

#[spectrace::implements("ORCH-3028")]
async fn metrics(State(service): State<Arc<Service>>) -> Result<Response, ApiError> {
    service.refresh_gauges();
    let text = service
        .metrics
        .encode()
        .map_err(|_| ApiError::new(ErrorCode::Internal, "the metrics could not be encoded"))?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}

#[spectrace::implements("ORCH-2105")]
async fn liveness() -> axum::Json<api_types::Liveness> {
    axum::Json(api_types::Liveness {
        status: api_types::LivenessStatus::Live,
    })
}

#[spectrace::implements("ORCH-2105", "ORCH-3016", "ORCH-3032")]
async fn readiness(
    State(service): State<Arc<Service>>,
) -> Result<axum::Json<api_types::Readiness>, ApiError> {
    // A probe's 503 carries no retry hint: the contract declares no `Retry-After` for it, so
    // `retry_after_ms` stays null (ORCH-2006).
    if service.is_shutting_down() {
        return Err(ApiError::new(
            ErrorCode::ShuttingDown,
            "orchestratord is shutting down",
        ));
    }
    let not_ready = service.pools_not_ready();
    if not_ready.is_empty() {
        Ok(axum::Json(api_types::Readiness {
            status: api_types::ReadinessStatus::Ready,
        }))
    } else {
        Err(ApiError::new(
            ErrorCode::PoolUnavailable,
            format!("pools not ready: {}", not_ready.join(", ")),
        ))
    }
}

async fn drain(
    State(service): State<Arc<Service>>,
    Path(pool_id): Path<String>,
    StrictJson(request): StrictJson<api_types::DrainRequest>,
) -> Result<Response, ApiError> {
    let requested = request.deadline_ms.get();
    if requested > 3_600_000 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "invalid body: deadline_ms must be at most 3600000",
        ));
    }
    let deadline_ms = service.drain(&pool_id, requested)?;
    let body = api_types::DrainResponse {
        pool_id,
        draining: true,
        deadline_ms: std::num::NonZeroU64::new(deadline_ms).unwrap_or(std::num::NonZeroU64::MIN),
    };
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

async fn pool_health(
    State(service): State<Arc<Service>>,
    Path(pool_id): Path<String>,
) -> Result<axum::Json<api_types::PoolHealth>, ApiError> {
    Ok(axum::Json(service.pool_health(&pool_id)?))
}

async fn replica_sets(State(service): State<Arc<Service>>) -> axum::Json<api_types::ReplicaSets> {
    axum::Json(service.replica_sets())
}

async fn reload(
    State(service): State<Arc<Service>>,
    Path(pool_id): Path<String>,
    StrictJson(request): StrictJson<api_types::ReloadRequest>,
) -> Result<axum::Json<api_types::ReloadResponse>, ApiError> {
    let model = orchestrator_config::ModelConfig {
        name: request.model.name.to_string(),
        path: request.model.path.map(|p| p.to_string()),
        sha256: request.model.sha256.map(|s| s.to_string()),
    };
    let loaded = service.reload(&pool_id, model).await?;
    let engine = loaded.engines.first();
    Ok(axum::Json(api_types::ReloadResponse {
        pool_id,
        model: loaded.model.name.clone(),
        model_digest: engine.map(|e| e.model_digest()).unwrap_or_default(),
        engine_version: engine.map(|e| e.version()).unwrap_or_default(),
    }))
}
