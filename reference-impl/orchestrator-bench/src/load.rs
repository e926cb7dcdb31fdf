//! The load the scenarios put on a server, one round at a time: closed-loop task clients
//! (throughput) and an open loop of enqueue requests at a fixed rate (admission, overload).
//! Both servers get the same client code; each round adds to the caller's totals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;

/// Tokens of every throughput task.
pub const TOKENS_PER_TASK: u64 = 256;
/// Closed-loop clients of the throughput scenario.
pub const CLIENTS: usize = 32;
/// Persistent connections of the open loop: most requests in flight at once.
const IN_FLIGHT: usize = 64;

/// What the throughput rounds of one server add up to.
pub struct Throughput {
    /// Tasks that streamed all their tokens.
    pub tasks: u64,
    /// Their tokens.
    pub tokens: u64,
    /// Tasks refused or cut short.
    pub failures: u64,
    /// Time under load.
    pub elapsed: Duration,
    /// Each task's time from enqueue to end of stream, in nanoseconds.
    pub latency: Histogram<u64>,
}

impl Throughput {
    /// Nothing measured yet.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            tasks: 0,
            tokens: 0,
            failures: 0,
            elapsed: Duration::ZERO,
            latency: crate::stats::histogram()?,
        })
    }

    /// Tasks per second over every round.
    pub fn tasks_per_second(&self) -> f64 {
        self.tasks as f64 / self.elapsed.as_secs_f64()
    }
}

/// One task end to end; the number of token events read.
async fn one_task(client: &reqwest::Client, base: &str) -> Option<u64> {
    let body =
        json!({"pool": "bench", "prompt": "benchmark prompt", "max_tokens": TOKENS_PER_TASK});
    let response = client
        .post(format!("{base}/v1/tasks"))
        .json(&body)
        .send()
        .await
        .ok()?;
    if response.status().as_u16() != 202 {
        return None;
    }
    let task: serde_json::Value = response.json().await.ok()?;
    let id = task["task_id"].as_str()?;
    let mut stream = client
        .get(format!("{base}/v1/tasks/{id}/events"))
        .send()
        .await
        .ok()?
        .bytes_stream();
    let mut text = Vec::new();
    while let Some(chunk) = stream.next().await {
        text.extend_from_slice(&chunk.ok()?);
    }
    let text = String::from_utf8_lossy(&text);
    Some(text.matches("event: token\n").count() as u64)
}

/// One round of `CLIENTS` closed-loop clients against `base` for `duration`, added to `into`.
pub async fn throughput_round(base: &str, duration: Duration, into: &mut Throughput) {
    let client = reqwest::Client::new();
    let tasks = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, base) = (client.clone(), base.to_owned());
            let (tasks, failures) = (Arc::clone(&tasks), Arc::clone(&failures));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while start.elapsed() < duration {
                    let began = Instant::now();
                    match one_task(&client, &base).await {
                        Some(n) if n == TOKENS_PER_TASK => {
                            tasks.fetch_add(1, Ordering::Relaxed);
                            latencies.push(began.elapsed());
                        }
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    for worker in workers {
        if let Ok(latencies) = worker.await {
            for latency in latencies {
                into.latency.saturating_record(nanos(latency));
            }
        }
    }
    into.elapsed += start.elapsed();
    let done = tasks.load(Ordering::Relaxed);
    into.tasks += done;
    into.tokens += done * TOKENS_PER_TASK;
    into.failures += failures.load(Ordering::Relaxed);
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// What the open-loop rounds of one server add up to.
pub struct OpenLoop {
    /// From the request's intended send time (its slot in the schedule) to its answer: corrected
    /// for coordinated omission, since a request held back by a slow server or a busy client
    /// still counts from when it should have left.
    pub corrected: Histogram<u64>,
    /// From the moment the request got a connection and was written to its answer.
    pub uncorrected: Histogram<u64>,
    /// Answers by HTTP status (0: no answer).
    pub statuses: BTreeMap<u16, u64>,
    /// Requests sent.
    pub sent: u64,
    /// Time under load.
    pub elapsed: Duration,
}

impl OpenLoop {
    /// Nothing measured yet.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            corrected: crate::stats::histogram()?,
            uncorrected: crate::stats::histogram()?,
            statuses: BTreeMap::new(),
            sent: 0,
            elapsed: Duration::ZERO,
        })
    }

    /// The share of answers with `status`.
    pub fn share(&self, status: u16) -> f64 {
        self.statuses.get(&status).copied().unwrap_or(0) as f64 / self.sent.max(1) as f64
    }

    /// Requests per second achieved.
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }
}

/// Waits until `at`: sleeps while it is more than two milliseconds away (tokio's timer ticks
/// in whole milliseconds), then yields until it has passed, so that requests leave on their
/// schedule rather than in millisecond bursts.
async fn pace_until(at: Instant) {
    let now = Instant::now();
    if at > now + Duration::from_millis(2) {
        tokio::time::sleep_until((at - Duration::from_millis(1)).into()).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

/// One round of enqueue requests for `pool` at `rate` per second for `duration` (open loop),
/// added to `into`. Requests go over `IN_FLIGHT` persistent HTTP/1.1 connections driven by
/// hyper directly, with one body serialized once: the less the client spends per request, the
/// less of itself it measures. A request that finds no free connection waits for one; that
/// wait counts in its corrected latency, not in its uncorrected one.
pub async fn open_loop_round(
    addr: &str,
    pool: &str,
    rate: u64,
    duration: Duration,
    into: &mut OpenLoop,
) -> Result<(), String> {
    let (free_tx, free_rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..IN_FLIGHT {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake with {addr}: {e}"))?;
        tokio::spawn(connection);
        let _ = free_tx.send(sender);
    }
    let free_rx = Arc::new(tokio::sync::Mutex::new(free_rx));
    let body =
        bytes::Bytes::from(json!({"pool": pool, "prompt": "p", "max_tokens": 1}).to_string());
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let total = (duration.as_secs_f64() * rate as f64) as u32;
    let started = Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for i in 0..total {
        let intended = started + interval * i;
        pace_until(intended).await;
        let (free_rx, free_tx, body, host) = (
            Arc::clone(&free_rx),
            free_tx.clone(),
            body.clone(),
            addr.to_owned(),
        );
        handles.push(tokio::spawn(async move {
            let Some(mut sender) = free_rx.lock().await.recv().await else {
                return (Duration::ZERO, Duration::ZERO, 0);
            };
            let written = Instant::now();
            let request = hyper::Request::post("/v1/tasks")
                .header("host", host)
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(body));
            let ready = sender.ready().await;
            let status = match request {
                Ok(request) if ready.is_ok() => match sender.send_request(request).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = http_body_util::BodyExt::collect(response.into_body()).await;
                        status
                    }
                    Err(_) => 0,
                },
                _ => 0,
            };
            let answered = Instant::now();
            let _ = free_tx.send(sender);
            (answered - intended, answered - written, status)
        }));
    }
    for handle in handles {
        if let Ok((corrected, uncorrected, status)) = handle.await {
            into.corrected.saturating_record(nanos(corrected));
            into.uncorrected.saturating_record(nanos(uncorrected));
            *into.statuses.entry(status).or_insert(0) += 1;
            into.sent += 1;
        }
    }
    into.elapsed += started.elapsed();
    Ok(())
}

/// Percentile `p` of `values` (nearest rank), sorting them; NaN when empty.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// The rows both `bench server` and `bench soak` open with: tasks per second of each server
/// (orchestratord first, then the baseline) and the closed loop's task latencies.
pub fn throughput_rows(throughput: &[Throughput; 2]) -> Vec<crate::stats::Row> {
    let mut rows = vec![crate::stats::Row {
        label: "throughput (tasks)".into(),
        orchestratord: throughput[0].tasks_per_second(),
        baseline: throughput[1].tasks_per_second(),
        unit: crate::stats::Unit::PerSecond,
    }];
    rows.extend(crate::stats::latency_rows(
        "task",
        "closed loop",
        &throughput[0].latency,
        &throughput[1].latency,
    ));
    rows
}
