//! The one error envelope (ORCH-2006): every 4xx/5xx answer is an [`ApiError`] turned into
//! `{"error": {code, message, retriable, retry_after_ms, policy, correlation_id}}` with the
//! headers its status needs (ORCH-2007: `Retry-After` and `X-Backoff-Ms` on 429).

use api_types::{ErrorBody, ErrorCode, ErrorEnvelope, FullPolicy};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orchestrator_core::pool::MAX_RETRY_AFTER_MS;

/// Header carrying the correlation id (ORCH-2009).
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// An error answer, before the correlation id is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[spectrace::implements("ORCH-2006")]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// A sentence for humans; never a key or credential.
    pub message: String,
    /// Retry hint in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// The pool's full policy, for `QUEUE_FULL`.
    pub policy: Option<FullPolicy>,
    /// `Allow` header value, for 405.
    pub allow: Option<String>,
}

impl ApiError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
            policy: None,
            allow: None,
        }
    }

    /// Adds a retry hint, kept within the envelope's bounds (1 ms to [`MAX_RETRY_AFTER_MS`]):
    /// a pool draining for an hour still asks for a retry within a minute.
    pub fn retry_after(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms.clamp(1, MAX_RETRY_AFTER_MS));
        self
    }

    /// Names the full policy.
    pub fn policy(mut self, policy: FullPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The HTTP status of the code.
    pub fn status(&self) -> StatusCode {
        use ErrorCode::*;
        match self.code {
            InvalidRequest => StatusCode::BAD_REQUEST,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            StreamConflict | ReloadFailed => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UnknownPool
            | UnknownModel
            | MaxTokensTooLarge
            | ContextTooLong
            | DeadlineInfeasible
            | SessionBudgetExhausted => StatusCode::UNPROCESSABLE_ENTITY,
            QueueFull => StatusCode::TOO_MANY_REQUESTS,
            PoolUnavailable | PoolDraining | ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            QueueEvicted | ShedLowPriority | DeadlineExceeded | DrainDeadline | TimeoutWall
            | TimeoutIdle | Cancelled | EngineError | Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether a client may retry the same request.
    pub fn retriable(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::QueueFull
                | ErrorCode::PoolUnavailable
                | ErrorCode::PoolDraining
                | ErrorCode::ShuttingDown
        )
    }

    /// The response, with the envelope naming `correlation_id`.
    pub fn into_response_with(self, correlation_id: &str) -> Response {
        let status = self.status();
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code,
                message: self.message.clone(),
                retriable: self.retriable(),
                retry_after_ms: self.retry_after_ms.and_then(std::num::NonZeroU64::new),
                policy: self.policy,
                correlation_id: correlation_id.to_owned(),
            },
        };
        let body = serde_json::to_string(&envelope).unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(ms) = self.retry_after_ms {
            let seconds = ms.div_ceil(1000).max(1);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            if status == StatusCode::TOO_MANY_REQUESTS {
                headers.insert("x-backoff-ms", HeaderValue::from(ms));
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(allow) = self
            .allow
            .as_deref()
            .and_then(|a| HeaderValue::from_str(a).ok())
        {
            headers.insert(header::ALLOW, allow);
        }
        (status, headers, body).into_response()
    }
}

/// An error whose body the middleware writes: handlers return this, and
/// [`crate::http::correlation`] turns it into the envelope with the request's correlation id.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is written once, by the middleware, when the correlation id is known.
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The envelope of a refusal by the service: its code, its sentence, and the retry hint and
/// full policy it carries.
impl From<crate::service::ServiceError> for ApiError {
    fn from(error: crate::service::ServiceError) -> Self {
        let mut api = ApiError::new(error.code(), error.to_string());
        if let Some(ms) = error.retry_after_ms() {
            api = api.retry_after(ms);
        }
        if let Some(policy) = error.policy() {
            api = api.policy(crate::service::api_policy(policy));
        }
        api
    }
}
