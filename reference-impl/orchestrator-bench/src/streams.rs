//! `bench streams`: many concurrent event streams from one orchestratord pool on loopback.
//!
//! One pool sized for every stream at once (`replicas` × `slots` ≥ streams, queues as deep),
//! a `sim` engine slow enough (one token every [`TOKEN_DELAY_MS`] ms) that every stream is
//! still open when the last one opens. Each stream has its own HTTP/1.1 connection, driven by
//! hyper directly: enqueue, then read the task's events on the same connection.
//!
//! 1. **All streams**: opens them all, reads orchestratord's RSS once every one is open (RSS per
//!    open stream: growth over the idle server divided by the streams), then measures the time
//!    until every stream has ended. Every stream must carry exactly its `max_tokens` token
//!    events, indices 0, 1, … in order, and exactly one terminal event, last.
//! 2. **Half cancelled**: opens them all again and cancels every other one (POST cancel) once
//!    it has streamed a token. A cancelled stream must end with the `CANCELLED` error, carry
//!    exactly the tokens the task had when the cancel answered (its `tokens_out` afterwards),
//!    indices in order, and no token with a later index; the others as in round 1.
//!
//! Bounded: a fixed number of streams and a deadline per round. Targets: ≤ 20 KiB RSS per open
//! stream, no lost, repeated or late token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::servers::{self, Server};
use crate::stats::{self, Limit, Target, Unit};

/// Tokens of every stream.
const TOKENS: u64 = 64;
/// The sim engine's delay before each token: 64 tokens take 32 s, longer than opening every
/// stream takes on a busy two-core machine.
const TOKEN_DELAY_MS: u64 = 500;
/// Streams being opened at the same time.
const OPENING: usize = 128;
/// Most slots of one replica (the config's limit).
const MAX_SLOTS: u64 = 256;
/// Most RSS per open stream.
const KIB_PER_STREAM: f64 = 20.0;

/// One event a stream carried.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// A token event and its index.
    Token(u64),
    /// A terminal event: `end`, or `error` with its code.
    Terminal(String),
    /// Any other event (`started`, `metrics`).
    Other,
}

/// What a stream must have carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every one of `n` tokens, then `end`.
    Complete(u64),
    /// Exactly `n` tokens (the task's count after the cancel answered), then the `CANCELLED`
    /// error.
    Cancelled(u64),
}

/// Checks one stream's events against `expect`: tokens 0, 1, … with no gap or repeat, the
/// expected count, exactly one terminal event and nothing after it.
pub fn check_stream(events: &[Seen], expect: Expect) -> Result<(), String> {
    let mut next = 0;
    let mut terminal = None;
    for (position, event) in events.iter().enumerate() {
        if let Some(first) = &terminal {
            return Err(format!(
                "event {position} ({event:?}) after the terminal `{first}`"
            ));
        }
        match event {
            Seen::Token(index) if *index == next => next += 1,
            Seen::Token(index) if *index < next => {
                return Err(format!("token {index} repeated after token {}", next - 1));
            }
            Seen::Token(index) => return Err(format!("token {index} where {next} was due (gap)")),
            Seen::Terminal(name) => terminal = Some(name.clone()),
            Seen::Other => {}
        }
    }
    let (count, ending) = match expect {
        Expect::Complete(n) => (n, "end"),
        Expect::Cancelled(n) => (n, "error CANCELLED"),
    };
    match terminal {
        None => Err(format!("no terminal event after {next} tokens")),
        Some(name) if name != ending => Err(format!("ended `{name}`, expected `{ending}`")),
        Some(_) if next != count => Err(format!("{next} tokens, expected {count}")),
        Some(_) => Ok(()),
    }
}

/// Raises this process's open-file limit to its hard limit (the servers it starts inherit it);
/// the soft limit afterwards.
fn raise_nofile() -> Result<u64, String> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).map_err(|e| format!("raising RLIMIT_NOFILE: {e}"))?;
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// orchestratord's config: one pool with a slot for every one of `streams`.
fn config(streams: u64) -> String {
    let slots = streams.min(MAX_SLOTS);
    let replicas = streams.div_ceil(slots);
    format!(
        "pools:\n  - id: streams\n    engine:\n      kind: sim\n      token_delay_ms: {TOKEN_DELAY_MS}\n    model:\n      name: sim-streams\n    replicas: {replicas}\n    slots: {slots}\n    queue:\n      capacity:\n        interactive: {streams}\n        batch: {streams}\n\
         timeouts:\n  stream_open_ms: 600000\n  token_idle_ms: 600000\n\
         tasks:\n  retained_max: {}\n",
        streams * 2
    )
}

/// One open stream: its task and the reader collecting its events.
struct Open {
    id: String,
    first_token: tokio::sync::oneshot::Receiver<()>,
    reader: tokio::task::JoinHandle<Result<Vec<Seen>, String>>,
}

/// Opens one stream: a connection, the enqueue, and the events request on that connection.
async fn open(addr: String, ended: Arc<AtomicU64>) -> Result<Open, String> {
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    let body = json!({"pool": "streams", "prompt": "p", "max_tokens": TOKENS}).to_string();
    let request = hyper::Request::post("/v1/tasks")
        .header("host", &addr)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("enqueue: {e}"))?;
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status.as_u16() != 202 {
        return Err(format!(
            "enqueue answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    let task: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let id = task["task_id"].as_str().ok_or("no task_id")?.to_owned();
    // The connection takes the next request once it has finished with the last one.
    sender
        .ready()
        .await
        .map_err(|e| format!("connection after enqueue: {e}"))?;
    let request = hyper::Request::get(format!("/v1/tasks/{id}/events"))
        .header("host", &addr)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("events: {e}"))?;
    if response.status().as_u16() != 200 {
        return Err(format!("events answered {}", response.status()));
    }
    let (first_tx, first_token) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        let mut first_tx = Some(first_tx);
        let mut events = http_body_util::BodyDataStream::new(response.into_body()).eventsource();
        let mut seen = Vec::new();
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| e.to_string())?;
            let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
            seen.push(match event.event.as_str() {
                "token" => {
                    if let Some(tx) = first_tx.take() {
                        let _ = tx.send(());
                    }
                    Seen::Token(data["index"].as_u64().unwrap_or(u64::MAX))
                }
                "end" => Seen::Terminal("end".into()),
                "error" => {
                    Seen::Terminal(format!("error {}", data["code"].as_str().unwrap_or("?")))
                }
                _ => Seen::Other,
            });
        }
        ended.fetch_add(1, Ordering::Relaxed);
        drop(sender);
        Ok(seen)
    });
    Ok(Open {
        id,
        first_token,
        reader,
    })
}

/// A stream's task, what it must carry, and a failure seen on the way.
type Decided = Result<(String, Expect, Option<String>), String>;

/// The task cancelling one stream.
type Canceller = tokio::task::JoinHandle<Decided>;

/// A round's outcome.
struct Round {
    rss_open_kib: u64,
    ended_before_all_open: u64,
    open_time: Duration,
    drain_time: Duration,
    failures: Vec<String>,
    cancelled: u64,
}

/// Cancels task `id` once its stream has carried a token; what the stream must then carry
/// (the task's token count after the cancel answered), and a wrong answer, if any.
async fn cancel_after_first_token(
    client: reqwest::Client,
    base: String,
    id: String,
    first_token: tokio::sync::oneshot::Receiver<()>,
) -> Decided {
    let _ = first_token.await;
    let answer: Value = client
        .post(format!("{base}/v1/tasks/{id}/cancel"))
        .send()
        .await
        .map_err(|e| format!("cancel: {e}"))?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let wrong =
        (answer["state"] != "cancelled").then(|| format!("task {id}: cancel answered {answer}"));
    let status: Value = client
        .get(format!("{base}/v1/tasks/{id}"))
        .send()
        .await
        .map_err(|e| format!("status: {e}"))?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let count = status["tokens_out"].as_u64().unwrap_or(u64::MAX);
    Ok((id, Expect::Cancelled(count), wrong))
}

/// One round on `server`: opens `n` streams, at most [`OPENING`] at a time; with `cancel`,
/// every other one is cancelled as soon as it has carried a token, while the rest open.
async fn round(server: &Server, n: u64, cancel: bool) -> Result<Round, String> {
    let ended = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let opened: Vec<Result<(Open, Option<Canceller>), String>> = futures::stream::iter(0..n)
        .map(|i| {
            let (addr, ended) = (server.addr().to_owned(), Arc::clone(&ended));
            let (client, base) = (client.clone(), server.base.clone());
            async move {
                let mut stream = open(addr, ended).await?;
                let canceller = (cancel && i % 2 == 0).then(|| {
                    let (_, first_token) = tokio::sync::oneshot::channel();
                    let first_token = std::mem::replace(&mut stream.first_token, first_token);
                    let id = stream.id.clone();
                    tokio::spawn(cancel_after_first_token(client, base, id, first_token))
                });
                Ok((stream, canceller))
            }
        })
        .buffered(OPENING)
        .collect()
        .await;
    let open_time = started.elapsed();
    let ended_before_all_open = ended.load(Ordering::Relaxed);
    let rss_open_kib = server.rss_kib().unwrap_or(0);
    let all_open = Instant::now();
    let mut failures = Vec::new();
    let mut expectations = Vec::with_capacity(opened.len());
    let mut readers = Vec::with_capacity(opened.len());
    let mut cancelled = 0;
    for outcome in opened {
        let (stream, canceller) = outcome?;
        let expect = match canceller {
            None => Expect::Complete(TOKENS),
            Some(canceller) => {
                let (_, expect, wrong) = canceller.await.map_err(|e| e.to_string())??;
                cancelled += 1;
                failures.extend(wrong);
                expect
            }
        };
        expectations.push((stream.id, expect));
        readers.push(stream.reader);
    }
    for ((id, expect), reader) in expectations.into_iter().zip(readers) {
        match reader.await {
            Ok(Ok(seen)) => {
                if let Err(e) = check_stream(&seen, expect) {
                    failures.push(format!("task {id}: {e}"));
                }
            }
            Ok(Err(e)) => failures.push(format!("task {id}: {e}")),
            Err(e) => failures.push(format!("task {id}: reader: {e}")),
        }
    }
    Ok(Round {
        rss_open_kib,
        ended_before_all_open,
        open_time,
        drain_time: all_open.elapsed(),
        failures,
        cancelled,
    })
}

/// Runs both rounds with `n` streams; prints the report.
pub async fn run(binary: &str, n: u64) -> Result<bool, String> {
    let nofile = raise_nofile()?;
    // Each stream is one socket here and one in orchestratord; leave room for the rest.
    if nofile < n + 256 {
        return Err(format!(
            "RLIMIT_NOFILE is {nofile}: too low for {n} streams (raise the hard limit)"
        ));
    }
    let server = servers::start_orchestratord(binary, &config(n), true).await?;
    // Let every replica come up before the idle reading.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_kib().unwrap_or(0);
    let deadline = Duration::from_millis(TOKENS * TOKEN_DELAY_MS) + Duration::from_secs(300);
    println!(
        "== streams: {n} concurrent streams of {TOKENS} tokens (sim, {TOKEN_DELAY_MS} ms per token), RLIMIT_NOFILE {nofile}"
    );
    let full = tokio::time::timeout(deadline, round(&server, n, false))
        .await
        .map_err(|_| format!("round 1 took longer than {} s", deadline.as_secs()))??;
    let per_stream = (full.rss_open_kib as f64 - idle as f64) / n as f64;
    println!(
        "  round 1: opened in {:.2} s ({} ended before the last opened); RSS idle {idle} KiB, all open {} KiB: {per_stream:.2} KiB per stream; drained in {:.2} s after the last opened",
        full.open_time.as_secs_f64(),
        full.ended_before_all_open,
        full.rss_open_kib,
        full.drain_time.as_secs_f64()
    );
    for failure in full.failures.iter().take(10) {
        println!("    {failure}");
    }
    let half = tokio::time::timeout(deadline, round(&server, n, true))
        .await
        .map_err(|_| format!("round 2 took longer than {} s", deadline.as_secs()))??;
    println!(
        "  round 2: opened in {:.2} s, {} cancelled after their first token, drained in {:.2} s",
        half.open_time.as_secs_f64(),
        half.cancelled,
        half.drain_time.as_secs_f64()
    );
    for failure in half.failures.iter().take(10) {
        println!("    {failure}");
    }
    println!("  peak RSS {} KiB", server.peak_rss_kib().unwrap_or(0));
    let count = |what: &str, value: f64, most: f64| Target {
        what: what.into(),
        value,
        limit: Limit::AtMost(most),
        unit: Unit::Count,
    };
    let targets = [
        Target {
            what: "RSS per open stream".into(),
            value: per_stream,
            limit: Limit::AtMost(KIB_PER_STREAM),
            unit: Unit::KiB,
        },
        count(
            "streams that ended before the last one opened (all open at once)",
            full.ended_before_all_open as f64,
            0.0,
        ),
        count(
            "streams with a lost, repeated or late token or a wrong ending, round 1",
            full.failures.len() as f64,
            0.0,
        ),
        count(
            "streams with a lost, repeated or late token or a wrong ending, round 2",
            half.failures.len() as f64,
            0.0,
        ),
    ];
    let (text, all) = stats::verdicts(&targets);
    println!("== targets");
    print!("{text}");
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(range: std::ops::Range<u64>) -> Vec<Seen> {
        range.map(Seen::Token).collect()
    }

    #[test]
    fn a_complete_stream_passes() {
        let mut events = vec![Seen::Other];
        events.extend(tokens(0..3));
        events.push(Seen::Other);
        events.push(Seen::Terminal("end".into()));
        assert_eq!(check_stream(&events, Expect::Complete(3)), Ok(()));
    }

    #[test]
    fn gaps_repeats_short_counts_and_late_events_fail() {
        let end = Seen::Terminal("end".into());
        let gap = [Seen::Token(0), Seen::Token(2), end.clone()];
        assert!(
            check_stream(&gap, Expect::Complete(3))
                .unwrap_err()
                .contains("gap")
        );
        let repeat = [Seen::Token(0), Seen::Token(0), end.clone()];
        assert!(
            check_stream(&repeat, Expect::Complete(2))
                .unwrap_err()
                .contains("repeated")
        );
        let short = [Seen::Token(0), end.clone()];
        assert!(
            check_stream(&short, Expect::Complete(2))
                .unwrap_err()
                .contains("1 tokens")
        );
        let after = [Seen::Token(0), end.clone(), Seen::Token(1)];
        assert!(
            check_stream(&after, Expect::Complete(1))
                .unwrap_err()
                .contains("after")
        );
        let twice = [Seen::Token(0), end.clone(), end];
        assert!(check_stream(&twice, Expect::Complete(1)).is_err());
        assert!(
            check_stream(&[Seen::Token(0)], Expect::Complete(1))
                .unwrap_err()
                .contains("no terminal")
        );
    }

    #[test]
    fn a_cancelled_stream_carries_exactly_the_tokens_before_the_cancel() {
        let cancelled = Seen::Terminal("error CANCELLED".into());
        let mut events = tokens(0..5);
        events.push(cancelled.clone());
        assert_eq!(check_stream(&events, Expect::Cancelled(5)), Ok(()));
        // A token generated after the cancel answered (tokens_out was 4).
        assert!(check_stream(&events, Expect::Cancelled(4)).is_err());
        // Ended `end`: the cancel did not take.
        let mut ended = tokens(0..5);
        ended.push(Seen::Terminal("end".into()));
        assert!(check_stream(&ended, Expect::Cancelled(5)).is_err());
    }
}
