//! A task's event stream (`GET /v1/tasks/{task_id}/events`) as typed events.
//!
//! The generated client returns the raw byte stream for `text/event-stream`; [`events`] parses
//! it with an SSE parser (eventsource-stream, WHATWG rules: comments such as `: keep-alive` are
//! skipped) and decodes each event's `data` into the payload type named by its `event` field,
//! as the `x-sse-events` map of the contract declares.

use std::fmt;

use api_types::{EndEvent, ErrorEnvelope, ErrorEvent, MetricsEvent, StartedEvent, TokenEvent};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use progenitor_client::{ByteStream, Error};

use crate::data::Client;

/// One event of a task's stream.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent {
    /// `started`: always first.
    Started(StartedEvent),
    /// `token`: one generated token.
    Token(TokenEvent),
    /// `metrics`: progress while generating.
    Metrics(MetricsEvent),
    /// `end`: the task completed; terminal.
    End(EndEvent),
    /// `error`: the task ended with an error; terminal.
    Error(ErrorEvent),
}

impl TaskEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            TaskEvent::Started(_) => "started",
            TaskEvent::Token(_) => "token",
            TaskEvent::Metrics(_) => "metrics",
            TaskEvent::End(_) => "end",
            TaskEvent::Error(_) => "error",
        }
    }

    /// True for `end` and `error`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, TaskEvent::End(_) | TaskEvent::Error(_))
    }
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// The connection failed.
    Transport(String),
    /// The bytes are not a valid event stream.
    Framing(String),
    /// An event name the contract does not declare.
    UnknownEvent(String),
    /// The data of a declared event does not match its schema.
    Payload {
        /// The event name.
        event: String,
        /// The decoding error.
        message: String,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::Transport(m) => write!(f, "event stream transport error: {m}"),
            SseError::Framing(m) => write!(f, "malformed event stream: {m}"),
            SseError::UnknownEvent(name) => write!(f, "undeclared event `{name}`"),
            SseError::Payload { event, message } => {
                write!(
                    f,
                    "`{event}` event data does not match its schema: {message}"
                )
            }
        }
    }
}

impl std::error::Error for SseError {}

/// Decodes one event by name.
pub fn decode(event: &str, data: &str) -> Result<TaskEvent, SseError> {
    fn parse<T: serde::de::DeserializeOwned>(event: &str, data: &str) -> Result<T, SseError> {
        serde_json::from_str(data).map_err(|e| SseError::Payload {
            event: event.to_owned(),
            message: e.to_string(),
        })
    }
    Ok(match event {
        "started" => TaskEvent::Started(parse(event, data)?),
        "token" => TaskEvent::Token(parse(event, data)?),
        "metrics" => TaskEvent::Metrics(parse(event, data)?),
        "end" => TaskEvent::End(parse(event, data)?),
        "error" => TaskEvent::Error(parse(event, data)?),
        other => return Err(SseError::UnknownEvent(other.to_owned())),
    })
}

/// Parses a byte stream of Server-Sent Events into typed task events.
pub fn events<S, B, E>(bytes: S) -> impl Stream<Item = Result<TaskEvent, SseError>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: fmt::Display,
{
    bytes.eventsource().map(|item| match item {
        Ok(event) => decode(&event.event, &event.data),
        Err(EventStreamError::Transport(e)) => Err(SseError::Transport(e.to_string())),
        Err(EventStreamError::Utf8(e)) => Err(SseError::Framing(e.to_string())),
        Err(EventStreamError::Parser(e)) => Err(SseError::Framing(e.to_string())),
    })
}

impl Client {
    /// Opens a task's event stream and yields its parsed events (`streamTaskEvents`).
    pub async fn task_events(
        &self,
        task_id: &str,
        correlation_id: Option<&str>,
    ) -> Result<impl Stream<Item = Result<TaskEvent, SseError>> + use<>, Error<ErrorEnvelope>> {
        let response = self.stream_task_events(task_id, correlation_id).await?;
        let bytes: ByteStream = response.into_inner();
        Ok(events(bytes.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn parse_all(chunks: &[&str]) -> Vec<Result<TaskEvent, SseError>> {
        let owned: Vec<Result<Vec<u8>, std::io::Error>> =
            chunks.iter().map(|c| Ok(c.as_bytes().to_vec())).collect();
        block_on(events(futures::stream::iter(owned)).collect())
    }

    #[test]
    fn parses_events_across_chunk_boundaries_and_skips_comments() {
        let got = parse_all(&[
            ": keep-alive\n\nevent: started\ndata: {\"task_id\":\"t\",\"queue_",
            "position\":2,\"predicted_start_ms\":40}\n\n: keep-alive\n\n",
            "event: token\ndata: {\"index\":0,\"text\":\"Hi\"}\n\n",
            "event: error\ndata: {\"code\":\"CANCELLED\",\"message\":\"cancelled\",\"retriable\":false}\n\n",
        ]);
        let names: Vec<_> = got
            .iter()
            .map(|e| e.as_ref().map(TaskEvent::name).unwrap())
            .collect();
        assert_eq!(names, ["started", "token", "error"]);
        let Ok(TaskEvent::Started(started)) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(started.queue_position, 2);
        assert!(got[2].as_ref().unwrap().is_terminal());
    }

    #[test]
    fn undeclared_events_and_bad_payloads_are_errors() {
        let got = parse_all(&[
            "event: tokens\ndata: {}\n\n",
            "event: token\ndata: {\"index\":0}\n\n",
            "event: token\ndata: {\"index\":0,\"text\":\"a\",\"extra\":1}\n\n",
        ]);
        assert_eq!(got[0], Err(SseError::UnknownEvent("tokens".into())));
        assert!(matches!(&got[1], Err(SseError::Payload { event, .. }) if event == "token"));
        assert!(
            matches!(&got[2], Err(SseError::Payload { message, .. }) if message.contains("extra"))
        );
    }
}
