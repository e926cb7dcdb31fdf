//! One reader of a task's event stream: the raw bytes (for framing and keep-alive comments) and
//! the typed events of `orchestrator_client::sse` (for everything else), from one connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use orchestrator_client::sse::{SseError, TaskEvent, events};

type Events = Pin<Box<dyn Stream<Item = Result<TaskEvent, SseError>> + Send>>;

/// An open (or finished) event stream.
pub struct Reader {
    /// HTTP status of the stream's response.
    pub status: u16,
    /// Its `Content-Type`.
    pub content_type: Option<String>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Every event read so far, in order.
    pub events: Vec<TaskEvent>,
    stream: Option<Events>,
    /// True once the server closed the stream.
    pub ended: bool,
    /// When the first `token` event arrived.
    pub first_token_at: Option<Instant>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("status", &self.status)
            .field("events", &self.events.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Starts reading a `200` event-stream response.
    pub fn new(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&raw);
        let bytes = response.bytes_stream().inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(chunk);
            }
        });
        Self {
            status,
            content_type,
            raw,
            events: Vec::new(),
            stream: Some(Box::pin(events(bytes))),
            ended: false,
            first_token_at: None,
        }
    }

    /// Every byte received so far, as text.
    pub fn raw(&self) -> String {
        let raw = self.raw.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&raw).into_owned()
    }

    /// Number of `token` events so far.
    pub fn tokens(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, TaskEvent::Token(_)))
            .count()
    }

    /// The last event read, if any.
    pub fn last(&self) -> Option<&TaskEvent> {
        self.events.last()
    }

    /// Reads one more event, waiting until `deadline`; false when the stream ended or the time
    /// ran out. An event the contract does not allow fails the step.
    async fn step(&mut self, deadline: Instant) -> bool {
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.next()).await {
            Err(_) => false,
            Ok(None) => {
                self.ended = true;
                self.stream = None;
                false
            }
            Ok(Some(Err(e))) => panic!("the event stream broke its contract: {e}"),
            Ok(Some(Ok(event))) => {
                if matches!(event, TaskEvent::Token(_)) && self.first_token_at.is_none() {
                    self.first_token_at = Some(Instant::now());
                }
                self.events.push(event);
                true
            }
        }
    }

    /// Reads until `done` holds for the events so far; false when the stream ended or `within`
    /// passed first.
    pub async fn read_until(
        &mut self,
        within: Duration,
        done: impl Fn(&[TaskEvent]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + within;
        while !done(&self.events) {
            if !self.step(deadline).await {
                return done(&self.events);
            }
        }
        true
    }

    /// Reads until the server closes the stream; false when `within` passed first.
    pub async fn read_to_end(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.step(deadline).await {}
        self.ended
    }

    /// Reads whatever arrives during `period`.
    pub async fn listen(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        while self.step(deadline).await {}
    }

    /// Closes the connection, as a client that goes away does.
    pub fn disconnect(&mut self) {
        self.stream = None;
    }
}
