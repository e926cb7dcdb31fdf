//! Steps about a task's event stream (`GET /v1/tasks/{id}/events`): opening, reading,
//! disconnecting, and what the stream holds — framing, event order, terminal events.

use std::collections::BTreeSet;
use std::time::Duration;

use api_types::ErrorCode;
use cucumber::{then, when};
use orchestrator_client::sse::TaskEvent;
use serde_json::{Value, json};

use super::params::{Json, Names, split_list};
use super::reader::Reader;
use super::world::{Orch, WAIT};

/// The events a stream may carry (ORCH-2002).
const EVENT_NAMES: [&str; 5] = ["started", "token", "metrics", "end", "error"];

#[when(regex = r#"^I open the event stream of task "([^"]+)"(?: again)?$"#)]
async fn open(w: &mut Orch, name: String) {
    w.open_stream(&name).await;
}

#[when(expr = "I read the event stream of task {string}")]
async fn read_whole(w: &mut Orch, name: String) {
    w.finished_stream(&name, WAIT).await;
}

/// Reads the streams to their end at the same time.
#[when(expr = "I read the event streams of tasks {string} together")]
async fn read_together(w: &mut Orch, names: String) {
    let names = split_list(&names);
    for name in &names {
        w.reader(name).await;
    }
    let mut readers: Vec<(String, Reader)> = names
        .iter()
        .filter_map(|n| w.readers.remove(n).map(|r| (n.clone(), r)))
        .collect();
    let closed = futures::future::join_all(
        readers
            .iter_mut()
            .map(|(_, reader)| reader.read_to_end(WAIT)),
    )
    .await;
    for ((name, reader), closed) in readers.into_iter().zip(closed) {
        assert!(closed, "the event stream of task {name} did not end");
        w.readers.insert(name, reader);
    }
}

/// Reads the streams in the background from now on, so that each event's arrival time is when
/// the server sent it, whatever the next steps do.
#[when(expr = "I start reading the event streams of tasks {string}")]
async fn start_reading(w: &mut Orch, names: String) {
    for name in split_list(&names) {
        w.reader(&name).await;
        let mut reader = w
            .readers
            .remove(&name)
            .unwrap_or_else(|| panic!("no stream for task {name}"));
        let reading = tokio::spawn(async move {
            let closed = reader.read_to_end(WAIT).await;
            (reader, closed)
        });
        w.reading.insert(name, reading);
    }
}

#[when(expr = "I finish reading the event streams of tasks {string}")]
async fn finish_reading(w: &mut Orch, names: String) {
    for name in split_list(&names) {
        let reading = w
            .reading
            .remove(&name)
            .unwrap_or_else(|| panic!("the stream of task {name} is not being read"));
        let (reader, closed) = reading
            .await
            .unwrap_or_else(|e| panic!("reading the stream of task {name} failed: {e}"));
        assert!(
            closed,
            "the event stream of task {name} did not end: {:?}",
            reader.events
        );
        w.readers.insert(name, reader);
    }
}

#[when(expr = "I read {int} token(s) from the event stream of task {string}")]
async fn read_tokens(w: &mut Orch, count: usize, name: String) {
    let reader = w.reader(&name).await;
    let got = reader
        .read_until(WAIT, |events| {
            events
                .iter()
                .filter(|e| matches!(e, TaskEvent::Token(_)))
                .count()
                >= count
        })
        .await;
    assert!(
        got,
        "task {name} did not stream {count} tokens: {:?}",
        reader.events
    );
}

#[when(expr = "I read {int} event(s) from the event stream of task {string}")]
async fn read_events(w: &mut Orch, count: usize, name: String) {
    let reader = w.reader(&name).await;
    let got = reader
        .read_until(WAIT, |events| events.len() >= count)
        .await;
    assert!(
        got,
        "task {name} did not stream {count} events: {:?}",
        reader.events
    );
}

#[when(expr = "I listen to the event stream of task {string} for {int} ms")]
async fn listen(w: &mut Orch, name: String, ms: u64) {
    w.reader(&name)
        .await
        .listen(Duration::from_millis(ms))
        .await;
}

#[when(expr = "I disconnect from the event stream of task {string}")]
fn disconnect(w: &mut Orch, name: String) {
    w.readers
        .get_mut(&name)
        .unwrap_or_else(|| panic!("the event stream of task {name} is not open"))
        .disconnect();
}

#[then(
    expr = "the event stream of task {string} was answered with {int} and the content type {string}"
)]
fn answered_with(w: &mut Orch, name: String, status: u16, content_type: String) {
    let reader = opened(w, &name);
    assert_eq!(reader.status, status);
    let got = reader.content_type.as_deref().unwrap_or_default();
    assert!(
        got.starts_with(&content_type),
        "content type {got:?}, expected {content_type:?}"
    );
}

fn opened<'w>(w: &'w Orch, name: &str) -> &'w Reader {
    w.readers
        .get(name)
        .unwrap_or_else(|| panic!("the event stream of task {name} was never opened"))
}

/// The frames of a raw stream that are events, not comments (`: keep-alive`).
fn event_frames(raw: &str) -> Vec<&str> {
    raw.split("\n\n")
        .filter(|f| !f.is_empty())
        .filter(|f| !f.lines().all(|l| l.starts_with(':')))
        .collect()
}

#[then(
    expr = "every event of the stream of task {string} is one event line, one data line with a JSON object, and a blank line"
)]
fn framing(w: &mut Orch, name: String) {
    let raw = opened(w, &name).raw();
    assert!(
        raw.ends_with("\n\n"),
        "the stream does not end with a blank line: {raw:?}"
    );
    let frames = event_frames(&raw);
    assert!(!frames.is_empty(), "no event in {raw:?}");
    for frame in frames {
        let lines: Vec<&str> = frame.split('\n').collect();
        let [event, data] = lines.as_slice() else {
            panic!("not one event line and one data line: {frame:?}")
        };
        let event_name = event
            .strip_prefix("event: ")
            .unwrap_or_else(|| panic!("no `event:` line: {frame:?}"));
        assert!(!event_name.is_empty(), "{frame:?}");
        let data = data
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("no `data:` line: {frame:?}"));
        let value: Value = serde_json::from_str(data)
            .unwrap_or_else(|e| panic!("the data is not JSON ({e}): {frame:?}"));
        assert!(
            value.is_object(),
            "the data is not a JSON object: {frame:?}"
        );
    }
}

#[then(expr = "the stream of task {string} uses no event but {names}")]
fn only_events(w: &mut Orch, name: String, allowed: Names) {
    let allowed: BTreeSet<&str> = allowed.0.iter().map(String::as_str).collect();
    let reader = opened(w, &name);
    for event in &reader.events {
        assert!(allowed.contains(event.name()), "event {}", event.name());
    }
    for frame in event_frames(&reader.raw()) {
        let event_name = frame
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("event: "))
            .unwrap_or_default();
        assert!(
            allowed.contains(event_name) && EVENT_NAMES.contains(&event_name),
            "event {event_name:?} in {frame:?}"
        );
    }
}

#[then(expr = "the stream of task {string} starts with a started event")]
async fn starts_with_started(w: &mut Orch, name: String) {
    let id = w.task(&name).id.clone();
    let reader = w.finished_stream(&name, WAIT).await;
    let Some(TaskEvent::Started(started)) = reader.events.first() else {
        panic!(
            "the stream does not start with `started`: {:?}",
            reader.events
        )
    };
    assert_eq!(started.task_id, id);
}

#[then(expr = "the stream of task {string} has {int} token event(s)")]
async fn token_count(w: &mut Orch, name: String, count: usize) {
    let reader = w.finished_stream(&name, WAIT).await;
    assert_eq!(reader.tokens(), count, "{:?}", reader.events);
}

fn exactly_one_terminal_last(name: &str, reader: &Reader) {
    let terminals = reader.events.iter().filter(|e| e.is_terminal()).count();
    assert_eq!(terminals, 1, "task {name}: {:?}", reader.events);
    assert!(
        reader.last().is_some_and(TaskEvent::is_terminal),
        "task {name}: the terminal event is not the last: {:?}",
        reader.events
    );
}

#[then(expr = "the stream of task {string} has exactly one terminal event, and it is the last")]
async fn one_terminal(w: &mut Orch, name: String) {
    let reader = w.finished_stream(&name, WAIT).await;
    exactly_one_terminal_last(&name, reader);
}

#[then(expr = "the stream of task {string} ends with an end event")]
async fn ends_with_end(w: &mut Orch, name: String) {
    let reader = w.finished_stream(&name, WAIT).await;
    exactly_one_terminal_last(&name, reader);
    assert!(
        matches!(reader.last(), Some(TaskEvent::End(_))),
        "task {name}: {:?}",
        reader.events
    );
}

#[then(expr = "the stream of task {string} ends with an end event within {int} ms")]
async fn ends_with_end_within(w: &mut Orch, name: String, ms: u64) {
    let reader = w.finished_stream(&name, Duration::from_millis(ms)).await;
    exactly_one_terminal_last(&name, reader);
    assert!(
        matches!(reader.last(), Some(TaskEvent::End(_))),
        "task {name}: {:?}",
        reader.events
    );
}

#[then(expr = "the stream of task {string} ends with the error {string}")]
async fn ends_with_error(w: &mut Orch, name: String, code: String) {
    let reader = w.finished_stream(&name, WAIT).await;
    exactly_one_terminal_last(&name, reader);
    let Some(TaskEvent::Error(error)) = reader.last() else {
        panic!("task {name} did not end with an error: {:?}", reader.events)
    };
    let expected: ErrorCode = serde_json::from_value(json!(code))
        .unwrap_or_else(|e| panic!("{code} is not an error code of the contract: {e}"));
    assert_eq!(error.code, expected, "task {name}: {error:?}");
    assert!(!error.message.is_empty());
}

#[then(regex = r#"^the error event of task "([^"]+)" is (not )?retriable$"#)]
async fn error_event_retriable(w: &mut Orch, name: String, not: String) {
    let reader = w.finished_stream(&name, WAIT).await;
    let Some(TaskEvent::Error(error)) = reader.last() else {
        panic!("task {name} did not end with an error: {:?}", reader.events)
    };
    assert_eq!(error.retriable, not.is_empty(), "{error:?}");
}

#[then(expr = "the server closed the stream of task {string} after its terminal event")]
async fn closed_after_terminal(w: &mut Orch, name: String) {
    let reader = w.finished_stream(&name, WAIT).await;
    assert!(reader.ended, "the stream is still open");
    let raw = reader.raw();
    let frames = event_frames(&raw);
    let last = frames.last().copied().unwrap_or_default();
    assert!(
        last.starts_with("event: end\n") || last.starts_with("event: error\n"),
        "the last frame is not terminal: {last:?}"
    );
    let tail = raw
        .rsplit_once(last)
        .map(|(_, tail)| tail)
        .unwrap_or_default();
    assert_eq!(tail, "\n\n", "bytes after the terminal event: {tail:?}");
}

fn end_event_data(reader: &Reader, name: &str) -> Value {
    let raw = reader.raw();
    let frame = event_frames(&raw)
        .into_iter()
        .find(|f| f.starts_with("event: end\n"))
        .unwrap_or_else(|| panic!("task {name} has no end event: {raw:?}"))
        .to_owned();
    let data = frame
        .split_once("\ndata: ")
        .map(|(_, data)| data)
        .unwrap_or_else(|| panic!("no data line: {frame:?}"));
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"))
}

#[then(expr = "the end event of task {string} has the fields {names}")]
async fn end_fields(w: &mut Orch, name: String, fields: Names) {
    let reader = w.finished_stream(&name, WAIT).await;
    let data = end_event_data(reader, &name);
    for field in &fields.0 {
        assert!(
            data.get(field).is_some(),
            "the end event lacks {field}: {data}"
        );
    }
}

#[then(expr = "the end event of task {string} reports {string} as {json}")]
async fn end_field(w: &mut Orch, name: String, field: String, expected: Json) {
    let reader = w.finished_stream(&name, WAIT).await;
    let data = end_event_data(reader, &name);
    assert_eq!(
        data[field.as_str()],
        expected.0,
        "end event of task {name}: {data}"
    );
}

#[then(expr = "the end event of task {string} ran on a replica of pool {string}")]
async fn end_replica_of(w: &mut Orch, name: String, pool: String) {
    let reader = w.finished_stream(&name, WAIT).await;
    let data = end_event_data(reader, &name);
    let replica = data["replica_id"].as_str().unwrap_or_default();
    let index = replica
        .strip_prefix(&format!("{pool}-"))
        .unwrap_or_else(|| panic!("replica {replica:?} is not one of pool {pool}"));
    assert!(index.parse::<u32>().is_ok(), "replica {replica:?}");
}

#[then(
    expr = "the stream of task {string} received at least {int} keep-alive comments before its first token"
)]
fn keep_alives(w: &mut Orch, name: String, count: usize) {
    let raw = opened(w, &name).raw();
    let before_token = raw.split("event: token").next().unwrap_or_default();
    let seen = before_token.matches(": keep-alive\n\n").count();
    assert!(seen >= count, "{seen} keep-alive comments: {raw:?}");
}

#[then(expr = "the stream of task {string} has no token event after the cancel answer")]
async fn no_token_after_cancel(w: &mut Orch, name: String) {
    let at_cancel = *w
        .tokens_at_cancel
        .get(&name)
        .unwrap_or_else(|| panic!("task {name} was not cancelled"));
    let reader = w.finished_stream(&name, WAIT).await;
    let streamed = reader.tokens() as u64;
    assert_eq!(
        streamed, at_cancel,
        "the stream has {streamed} tokens, the task had {at_cancel} when its cancel was answered"
    );
    let tokens_out = w.status_of(&name).await["tokens_out"].as_u64();
    assert_eq!(
        tokens_out,
        Some(at_cancel),
        "the task kept producing tokens"
    );
}

#[then(expr = "the tasks {string} produced their first tokens in that order")]
fn first_token_order(w: &mut Orch, names: String) {
    let names = split_list(&names);
    let mut seen: Vec<(std::time::Instant, String)> = names
        .iter()
        .map(|name| {
            let at = opened(w, name)
                .first_token_at
                .unwrap_or_else(|| panic!("task {name} produced no token"));
            (at, name.clone())
        })
        .collect();
    seen.sort();
    let order: Vec<String> = seen.into_iter().map(|(_, name)| name).collect();
    assert_eq!(
        order, names,
        "the order in which the tasks produced their first token"
    );
}
