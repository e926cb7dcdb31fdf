//! The OpenAI-compatible surface: `POST /v1/chat/completions` and `POST /v1/completions`
//! (whole or streamed) and `GET /v1/models`, thin over [`Service`]. A completion, chat or text,
//! is a task: it is admitted by [`Service::enqueue`] into the same queues (its priority class
//! and deadline from request headers), under the same limits and session budgets, and read
//! from the task's event log like the task API's stream; when the client goes away the
//! response is dropped and the task is cancelled. The two kinds differ only in how the request
//! is read and in the objects sent back ([`response::Kind`]). Errors use OpenAI's shape with
//! the contract's error code.
//!
//! - [`request`]: reading and checking a request (pure).
//! - [`response`]: the objects sent back and the stop-sequence cut (pure).

pub mod request;
pub mod response;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_types::{EndEvent, ErrorCode, ErrorEvent, FinishReason};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::error::ApiError;
use crate::http::{CorrelationId, StrictJson};
use crate::service::{EnqueueRequest, Service, Task};
use request::{Admission, CompletionRequest, FieldError};
use response::{Identity, Kind, StopScanner, Usage};

/// The routes of the OpenAI-compatible surface, behind the data-plane keys, with every
/// refusal in OpenAI's error shape.
pub fn routes(service: Arc<Service>) -> Router<Arc<Service>> {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(text_completions))
        .route("/v1/models", get(models))
        .route_layer(axum::middleware::from_fn_with_state(
            service,
            crate::http::data_plane_auth,
        ))
        .layer(axum::middleware::from_fn(openai_errors))
}

/// The field a refusal is about, for the error's `param`.
#[derive(Debug, Clone)]
struct Param(String);

/// A refusal of this surface: the contract's error and, for a bad field, its name.
struct Refusal {
    error: ApiError,
    param: Option<String>,
}

impl From<FieldError> for Refusal {
    fn from(error: FieldError) -> Self {
        Self {
            error: ApiError::new(ErrorCode::InvalidRequest, error.message),
            param: Some(error.field),
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self { error, param: None }
    }
}

impl From<crate::service::ServiceError> for Refusal {
    fn from(error: crate::service::ServiceError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(param) = self.param {
            response.extensions_mut().insert(Param(param));
        }
        response
    }
}

/// Writes every refusal of these routes (the handlers', the keys' and the body reader's) in
/// OpenAI's shape `{"error": {"message", "type", "code", "param"}}` with the contract's code,
/// keeping the status and headers the contract gives it (`Retry-After` and `X-Backoff-Ms` on
/// 429).
#[spectrace::implements("ORCH-2208")]
async fn openai_errors(request: Request, next: Next) -> Response {
    let correlation_id = request
        .extensions()
        .get::<CorrelationId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let mut response = next.run(request).await;
    let Some(error) = response.extensions_mut().remove::<ApiError>() else {
        return response;
    };
    let param = response.extensions_mut().remove::<Param>().map(|p| p.0);
    let status = error.status().as_u16();
    let body = response::error_body(
        status,
        error.code,
        &error.message,
        param.as_deref(),
        &correlation_id,
    );
    let (parts, _) = error.into_response_with(&correlation_id).into_parts();
    Response::from_parts(parts, Body::from(body.to_string()))
}

#[spectrace::implements("ORCH-2203")]
async fn models(State(service): State<Arc<Service>>) -> Response {
    let names: Vec<String> = service
        .pools()
        .values()
        .map(|pool| pool.loaded().model.name.clone())
        .collect();
    axum::Json(response::model_list(names.iter().map(String::as_str))).into_response()
}

/// Gives the task's stream back when the response is dropped, and cancels the task if it has
/// not ended: how a client disconnect, streaming or not, stops the work.
struct Reader {
    service: Arc<Service>,
    task: Arc<Task>,
}

#[spectrace::implements("ORCH-2211")]
impl Drop for Reader {
    fn drop(&mut self) {
        self.service.stream_closed(&self.task);
    }
}

/// What the task's event log says next, for a completion.
enum Step {
    Text(String),
    End(EndEvent),
    Failed(ErrorEvent),
}

impl Reader {
    /// The event at `index`, read as a [`Step`]; `None` after the terminal event or on an
    /// event that is not one of these (`metrics`).
    async fn step(&self, index: usize) -> Option<Option<Step>> {
        let event = self.task.log.next(index).await?;
        let step = match event.name {
            "token" => serde_json::from_str::<Value>(&event.data)
                .ok()
                .and_then(|v| v["text"].as_str().map(|t| Step::Text(t.to_owned()))),
            "end" => serde_json::from_str(&event.data).ok().map(Step::End),
            "error" => serde_json::from_str(&event.data).ok().map(Step::Failed),
            _ => None,
        };
        Some(step)
    }
}

/// A completion's `finish_reason`: `stop` when its text was cut at a stop sequence, whatever the
/// task reports (ORCH-2206), or when the task itself ended by stopping (the engine's end of
/// sequence or the dispatcher's own stop check); `length` otherwise.
#[spectrace::implements("ORCH-2206")]
fn finish_reason(cut_at_stop: bool, task_finished: FinishReason) -> &'static str {
    if cut_at_stop || task_finished == FinishReason::Stop {
        "stop"
    } else {
        "length"
    }
}

/// The events after a streamed completion's task ended: the text the stop scanner still held,
/// the chunk with the finish reason, the usage chunk if asked, and `[DONE]`.
#[spectrace::implements("ORCH-2202", "ORCH-2214")]
fn last_chunks(
    kind: Kind,
    who: &Identity,
    scanner: &mut StopScanner,
    end: &EndEvent,
    include_usage: bool,
) -> Vec<Event> {
    let mut events = Vec::new();
    let rest = scanner.finish();
    if !rest.is_empty() {
        events.push(sse_data(&kind.piece(who, &rest)));
    }
    let reason = finish_reason(scanner.stopped(), end.finish_reason);
    events.push(sse_data(&kind.finish(who, reason)));
    if include_usage {
        let usage = Usage {
            prompt_tokens: end.tokens_in,
            completion_tokens: end.tokens_out,
        };
        events.push(sse_data(&kind.usage_chunk(who, usage)));
    }
    events.push(Event::default().data("[DONE]"));
    events
}

/// The event that ends a streamed completion whose task failed: an error object in OpenAI's
/// shape with the task's error code, and no `[DONE]` after it.
#[spectrace::implements("ORCH-2202", "ORCH-2214", "ORCH-2219")]
fn failure_chunk(error: &ErrorEvent, correlation_id: &str) -> Event {
    let status = ApiError::new(error.code, "").status().as_u16();
    sse_data(&response::error_body(
        status,
        error.code,
        &error.message,
        None,
        correlation_id,
    ))
}

/// One `data:` event holding a JSON object.
fn sse_data(value: &Value) -> Event {
    Event::default().data(value.to_string())
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The pool serving `model`: the first by pool id.
#[spectrace::implements("ORCH-2204")]
fn pool_for(service: &Service, model: &str) -> Result<String, ApiError> {
    service
        .pools()
        .values()
        .find(|pool| pool.loaded().model.name == model)
        .map(|pool| pool.config.id.clone())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownModel,
                format!("no pool serves model `{model}`"),
            )
        })
}

/// Without `max_tokens`, as many tokens as the pool allows and its context leaves room for.
#[spectrace::implements("ORCH-2205")]
fn default_max_tokens(service: &Service, pool_id: &str, prompt: &str) -> u64 {
    let Some(pool) = service.pools().get(pool_id) else {
        return 1;
    };
    let limit = u64::from(pool.config.limits.max_tokens);
    let prompt_tokens = pool
        .loaded()
        .engines
        .first()
        .map_or(0, |engine| engine.count_tokens(prompt));
    let room = u64::from(pool.config.limits.ctx_max).saturating_sub(prompt_tokens);
    limit.min(room).max(1)
}

/// Admits the completion as a task, in the priority class and with the deadline of its
/// headers, and claims its stream. Through [`Service::enqueue`], it is logged with the
/// request's correlation id, counted in the metrics and bounded by the task timeouts as any
/// task is.
#[spectrace::implements(
    "ORCH-2209",
    "ORCH-2210",
    "ORCH-2212",
    "ORCH-2215",
    "ORCH-2216",
    "ORCH-2219"
)]
fn admit(
    service: &Arc<Service>,
    request: &CompletionRequest,
    admission: Admission,
    correlation_id: String,
) -> Result<Reader, Refusal> {
    let pool = pool_for(service, &request.model)?;
    let max_tokens = request
        .max_tokens
        .unwrap_or_else(|| default_max_tokens(service, &pool, &request.prompt));
    let admitted = service.enqueue(EnqueueRequest {
        pool,
        prompt: request.prompt.clone(),
        max_tokens,
        priority: admission.priority,
        model: Some(request.model.clone()),
        seed: request.seed,
        temperature: request.temperature,
        session_id: request.user.clone(),
        deadline_ms: admission.deadline_ms,
        correlation_id,
        stop: request.stop.clone(),
    })?;
    let task = service.task(&admitted.task_id).ok_or_else(|| {
        ApiError::new(ErrorCode::Internal, "the admitted task could not be found")
    })?;
    if !service.open_stream(&task) {
        return Err(ApiError::new(ErrorCode::Internal, "the task's stream is already open").into());
    }
    Ok(Reader {
        service: Arc::clone(service),
        task,
    })
}

/// The admission headers of a request, read by [`request::parse_admission`].
fn admission(headers: &HeaderMap) -> Result<Admission, FieldError> {
    let value = |name: &str| headers.get(name).map(|v| v.to_str().ok());
    request::parse_admission(
        value(request::PRIORITY_HEADER),
        value(request::DEADLINE_HEADER),
    )
}

#[spectrace::implements("ORCH-2201", "ORCH-2202")]
async fn chat_completions(
    State(service): State<Arc<Service>>,
    axum::Extension(CorrelationId(correlation_id)): axum::Extension<CorrelationId>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<serde_json::Map<String, Value>>,
) -> Result<Response, Refusal> {
    let request = request::parse_chat(&body)?;
    complete(&service, Kind::Chat, &request, &headers, correlation_id).await
}

#[spectrace::implements("ORCH-2213", "ORCH-2214", "ORCH-2218")]
async fn text_completions(
    State(service): State<Arc<Service>>,
    axum::Extension(CorrelationId(correlation_id)): axum::Extension<CorrelationId>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<serde_json::Map<String, Value>>,
) -> Result<Response, Refusal> {
    let request = request::parse_text(&body)?;
    complete(&service, Kind::Text, &request, &headers, correlation_id).await
}

/// A completion of either kind: admitted as a task, then answered whole or streamed.
async fn complete(
    service: &Arc<Service>,
    kind: Kind,
    request: &CompletionRequest,
    headers: &HeaderMap,
    correlation_id: String,
) -> Result<Response, Refusal> {
    let admission = admission(headers)?;
    let reader = admit(service, request, admission, correlation_id)?;
    let who = Identity {
        id: format!("{}{}", kind.id_prefix(), reader.task.id),
        created: now_seconds(),
        model: request.model.clone(),
    };
    let scanner = StopScanner::new(request.stop.clone());
    if request.stream {
        let keepalive = Duration::from_millis(service.config().sse.keepalive_ms);
        let stream = chunks(kind, reader, who, scanner, request.include_usage);
        Ok(Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive"))
            .into_response())
    } else {
        whole(kind, reader, who, scanner).await
    }
}

/// A non-streaming completion: waits for the task's end, holding its stream, so that a
/// disconnect (which drops this future) cancels the task. A task that fails is answered with
/// its error code.
#[spectrace::implements("ORCH-2201", "ORCH-2213", "ORCH-2219")]
async fn whole(
    kind: Kind,
    reader: Reader,
    who: Identity,
    mut scanner: StopScanner,
) -> Result<Response, Refusal> {
    let mut text = String::new();
    let mut index = 0;
    while let Some(step) = reader.step(index).await {
        index += 1;
        match step {
            Some(Step::Text(piece)) => text.push_str(&scanner.push(&piece)),
            Some(Step::End(end)) => {
                text.push_str(&scanner.finish());
                let usage = Usage {
                    prompt_tokens: end.tokens_in,
                    completion_tokens: end.tokens_out,
                };
                let reason = finish_reason(scanner.stopped(), end.finish_reason);
                let body = kind.whole(&who, &text, reason, usage);
                return Ok(axum::Json(body).into_response());
            }
            Some(Step::Failed(error)) => {
                return Err(ApiError::new(error.code, error.message).into());
            }
            None => {}
        }
    }
    Err(ApiError::new(
        ErrorCode::Internal,
        "the task ended without a terminal event",
    )
    .into())
}

/// A streamed completion: the kind's opening chunk (a chat completion's assistant role), one
/// chunk per piece of text, a last chunk with the finish reason, the usage chunk if asked, and
/// `[DONE]`; a task that fails ends the stream with an error object instead.
#[spectrace::implements("ORCH-2202", "ORCH-2214")]
fn chunks(
    kind: Kind,
    reader: Reader,
    who: Identity,
    scanner: StopScanner,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let opening = kind.opening(&who).map(|value| sse_data(&value));
    let following = futures::stream::unfold(
        Some((reader, who, scanner, 0usize)),
        move |state| async move {
            let (reader, who, mut scanner, index) = state?;
            let step = reader.step(index).await?;
            let events = match step {
                Some(Step::Text(piece)) => {
                    let out = scanner.push(&piece);
                    let events = if out.is_empty() {
                        Vec::new()
                    } else {
                        vec![sse_data(&kind.piece(&who, &out))]
                    };
                    return Some((events, Some((reader, who, scanner, index + 1))));
                }
                Some(Step::End(end)) => last_chunks(kind, &who, &mut scanner, &end, include_usage),
                Some(Step::Failed(error)) => {
                    vec![failure_chunk(&error, &reader.task.correlation_id)]
                }
                None => return Some((Vec::new(), Some((reader, who, scanner, index + 1)))),
            };
            // The terminal event was read: the stream ends after these events, and the reader
            // is dropped with it.
            drop(reader);
            Some((events, None))
        },
    );
    futures::stream::iter(opening)
        .chain(following.flat_map(futures::stream::iter))
        .map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text cut at a stop sequence finishes with `stop` even when its task reports `length`:
    /// the stop sequence was completed by the last token `max_tokens` allowed.
    #[spectrace::covers("ORCH-2206", kind = "test")]
    #[test]
    fn a_text_cut_at_a_stop_sequence_finishes_with_stop_whatever_the_task_reports() {
        assert_eq!(finish_reason(true, FinishReason::Length), "stop");
        assert_eq!(finish_reason(true, FinishReason::Stop), "stop");
    }

    /// Without a cut, the task's own reason decides: the engine's end of sequence is `stop`,
    /// `max_tokens` reached is `length`.
    #[spectrace::covers("ORCH-2201", "ORCH-2213", kind = "test")]
    #[test]
    fn an_uncut_text_finishes_as_its_task_did() {
        assert_eq!(finish_reason(false, FinishReason::Stop), "stop");
        assert_eq!(finish_reason(false, FinishReason::Length), "length");
    }
}
