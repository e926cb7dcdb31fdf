//! `orchestrator-bench`: the load generator behind `cargo xtask bench server`.
//!
//! ```text
//! orchestrator-bench --orchestratord PATH [--seconds N] [--server-cpu N]
//!                                                         run every scenario, print the report
//! orchestrator-bench --baseline-server ADDR               serve the minimal SSE baseline
//! orchestrator-bench --orchestratord PATH --engine URL --model FILE --sha256 HEX [--runs N]
//!                                                         real-engine overhead (see `engine`)
//! ```
//!
//! Both servers run as child processes of this one (so their peak RSS is their own) on
//! loopback ports, pinned with `taskset` to the CPU `--server-cpu` names (`cargo xtask bench
//! server` passes CPU 0 and runs the load generator itself on CPU 1, so that neither's
//! scheduling shows up in the other's latencies), and are driven by the same client code in the
//! same run:
//!
//! 1. **Throughput**: 32 closed-loop clients enqueue a task of 256 tokens and read its event
//!    stream to the end, against orchestratord (zero-delay `sim` pool) and against the baseline,
//!    a minimal axum server that answers the same two requests and streams the same number of
//!    token events. Reports tasks/s, tokens/s and the ratio to the baseline.
//! 2. **Admission latency**: an open loop of 1,000 enqueue requests per second; p50/p99.
//! 3. **Overload**: a pool whose queue is always full, hit at 10,000 requests per second (10× the
//!    admission scenario); p99 of the 429 answers and orchestratord's RSS before and after.
//!
//! Exit 1 when a target is missed. Timing numbers are medians/percentiles of one run on a shared
//! machine: compare them with the baseline measured in the same run, not across runs.

// A benchmark report goes to stdout.
#![allow(clippy::print_stdout)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::routing::{get, post};
use futures::StreamExt;
use serde_json::json;

mod engine;

const TOKENS_PER_TASK: u64 = 256;
const CLIENTS: usize = 32;
/// Most open-loop requests in flight at once.
const IN_FLIGHT: usize = 64;

fn usage() -> ExitCode {
    eprintln!(
        "usage: orchestrator-bench --orchestratord PATH [--seconds N] [--server-cpu N] | --baseline-server ADDR\n       \
         orchestrator-bench --orchestratord PATH --engine URL --model FILE --sha256 HEX [--runs N]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("orchestrator-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.iter().any(|a| a == "--engine") {
        return runtime.block_on(engine_overhead(&args));
    }
    match args.as_slice() {
        [flag, addr] if flag == "--baseline-server" => match addr.parse::<SocketAddr>() {
            Ok(addr) => runtime.block_on(baseline_server(addr)),
            Err(e) => {
                eprintln!("orchestrator-bench: bad address {addr}: {e}");
                ExitCode::from(2)
            }
        },
        [flag, path, rest @ ..] if flag == "--orchestratord" => {
            let mut seconds = 5;
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().and_then(|v| v.parse().ok());
                match (flag.as_str(), value) {
                    ("--seconds", Some(n)) => seconds = n,
                    ("--server-cpu", Some(cpu)) => {
                        let _ = SERVER_CPU.set(cpu as usize);
                    }
                    _ => return usage(),
                }
            }
            runtime.block_on(run_all(path, Duration::from_secs(seconds)))
        }
        _ => usage(),
    }
}

/// `--engine …`: the orchestrator's overhead on a real llama.cpp server.
async fn engine_overhead(args: &[String]) -> ExitCode {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(binary), Some(url), Some(model), Some(sha256)) = (
        value("--orchestratord"),
        value("--engine"),
        value("--model"),
        value("--sha256"),
    ) else {
        return usage();
    };
    let runs = match value("--runs").map(|n| n.parse::<usize>()) {
        None => 7,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return usage(),
    };
    let under_test = engine::EngineUnderTest { url, model, sha256 };
    match engine::run(&binary, &under_test, runs).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orchestrator-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The baseline: the two requests of a task, and a stream of `TOKENS_PER_TASK` token events and
/// one end event, with no queue, no scheduler and no engine behind them.
async fn baseline_server(addr: SocketAddr) -> ExitCode {
    let counter = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/v1/tasks",
            post(move || {
                let id = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    (
                        axum::http::StatusCode::ACCEPTED,
                        axum::Json(json!({"task_id": id.to_string(), "queue_position": 0, "predicted_start_ms": 0})),
                    )
                }
            }),
        )
        .route(
            "/v1/tasks/{id}/events",
            get(|| async {
                let tokens = futures::stream::iter(0..TOKENS_PER_TASK).map(|i| {
                    Ok::<_, Infallible>(Event::default().event("token").data(json!({"index": i, "text": " word"}).to_string()))
                });
                let end = futures::stream::once(async {
                    Ok::<_, Infallible>(Event::default().event("end").data("{}"))
                });
                Sse::new(tokens.chain(end))
            }),
        );
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("orchestrator-bench: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Same socket options as orchestratord.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// A child server, killed on drop.
struct Server {
    child: Child,
    base: String,
    _config: Option<std::path::PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(config) = &self._config {
            let _ = std::fs::remove_file(config);
        }
    }
}

impl Server {
    /// Peak resident set size so far, in KiB (Linux `VmHWM`).
    fn peak_rss_kib(&self) -> Option<u64> {
        rss_field(self.child.id(), "VmHWM:")
    }

    /// Current resident set size, in KiB.
    fn rss_kib(&self) -> Option<u64> {
        rss_field(self.child.id(), "VmRSS:")
    }
}

fn rss_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU the servers are pinned to (`--server-cpu N`), if any. Set once in `main`.
static SERVER_CPU: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// `taskset -c <server cpu> program` when `--server-cpu` was given (and `pin`), else `program`.
/// The choice is the caller's (`cargo xtask bench server` checks the machine): this process
/// runs pinned itself, so its own view of the CPUs says nothing about the machine's.
fn server_command(program: impl AsRef<std::ffi::OsStr>, pin: bool) -> Command {
    match SERVER_CPU.get().filter(|_| pin) {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn free_port() -> Option<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    Some(listener.local_addr().ok()?.port())
}

async fn wait_until_up(base: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/v1/tasks/none"))
            .send()
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// Starts orchestratord on `config`; `pin` puts it on the server CPU (see [`pinning`]).
async fn start_orchestratord(binary: &str, config: &str, pin: bool) -> Result<Server, String> {
    let port = free_port().ok_or("no free port")?;
    let path = std::env::temp_dir().join(format!(
        "orchestrator-bench-{}-{port}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    // Server and load generator on separate cores when the machine allows it (`taskset`), so
    // neither's scheduling delays show up in the other's numbers.
    let mut command = server_command(binary, pin);
    let child = command
        .arg("--config")
        .arg(&path)
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e}"))?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _config: Some(path),
    };
    if wait_until_up(&server.base).await {
        Ok(server)
    } else {
        Err("orchestratord did not come up".into())
    }
}

async fn start_baseline() -> Result<Server, String> {
    let port = free_port().ok_or("no free port")?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    // Pinned like orchestratord, so the two servers get the same CPU.
    let mut command = server_command(me, true);
    let child = command
        .arg("--baseline-server")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _config: None,
    };
    if wait_until_up(&server.base).await {
        Ok(server)
    } else {
        Err("the baseline did not come up".into())
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

/// Tasks and tokens per second with `CLIENTS` closed-loop clients.
async fn throughput(base: &str, duration: Duration) -> (f64, f64, u64) {
    let client = reqwest::Client::new();
    let tasks = Arc::new(AtomicU64::new(0));
    let tokens = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, base) = (client.clone(), base.to_owned());
            let (tasks, tokens, failures) = (
                Arc::clone(&tasks),
                Arc::clone(&tokens),
                Arc::clone(&failures),
            );
            tokio::spawn(async move {
                while start.elapsed() < duration {
                    match one_task(&client, &base).await {
                        Some(n) if n == TOKENS_PER_TASK => {
                            tasks.fetch_add(1, Ordering::Relaxed);
                            tokens.fetch_add(n, Ordering::Relaxed);
                        }
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let seconds = start.elapsed().as_secs_f64();
    (
        tasks.load(Ordering::Relaxed) as f64 / seconds,
        tokens.load(Ordering::Relaxed) as f64 / seconds,
        failures.load(Ordering::Relaxed),
    )
}

/// Latencies (ms) of enqueue requests sent at `rate` per second for `duration` (open loop), the
/// statuses seen, and the rate achieved. Requests go over `IN_FLIGHT` persistent HTTP/1.1
/// connections driven by hyper directly, with one body serialized once: the less the client
/// spends per request, the less of itself it measures. A request that finds no free connection
/// waits for one, and that wait counts in its latency. tokio's timer ticks in whole
/// milliseconds, so requests leave in bursts of one millisecond's worth; the baseline server
/// gets the same bursts.
async fn open_loop(
    base: &str,
    rate: u64,
    duration: Duration,
    max_tokens: u64,
) -> (Vec<f64>, Vec<u16>, f64) {
    let Some(addr) = base.strip_prefix("http://").map(str::to_owned) else {
        return (Vec::new(), Vec::new(), 0.0);
    };
    let (free_tx, free_rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..IN_FLIGHT {
        let Ok(stream) = tokio::net::TcpStream::connect(&addr).await else {
            return (Vec::new(), Vec::new(), 0.0);
        };
        let _ = stream.set_nodelay(true);
        let Ok((sender, connection)) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
        else {
            return (Vec::new(), Vec::new(), 0.0);
        };
        tokio::spawn(connection);
        let _ = free_tx.send(sender);
    }
    let free_rx = Arc::new(tokio::sync::Mutex::new(free_rx));
    let body = bytes_body(max_tokens);
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let total = (duration.as_secs_f64() * rate as f64) as u64;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for _ in 0..total {
        ticker.tick().await;
        let (free_rx, free_tx, body, host) = (
            Arc::clone(&free_rx),
            free_tx.clone(),
            body.clone(),
            addr.clone(),
        );
        handles.push(tokio::spawn(async move {
            let sent = Instant::now();
            let Some(mut sender) = free_rx.lock().await.recv().await else {
                return (0.0, 0);
            };
            let request = hyper::Request::post("/v1/tasks")
                .header("host", host)
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(body));
            let status = match request {
                Ok(request) => match sender.send_request(request).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = http_body_util::BodyExt::collect(response.into_body()).await;
                        status
                    }
                    Err(_) => 0,
                },
                Err(_) => 0,
            };
            let _ = free_tx.send(sender);
            (sent.elapsed().as_secs_f64() * 1000.0, status)
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses = Vec::new();
    for handle in handles {
        if let Ok((ms, status)) = handle.await {
            latencies.push(ms);
            statuses.push(status);
        }
    }
    let achieved = statuses.len() as f64 / started.elapsed().as_secs_f64();
    (latencies, statuses, achieved)
}

fn bytes_body(max_tokens: u64) -> bytes::Bytes {
    bytes::Bytes::from(
        json!({"pool": "bench", "prompt": "p", "max_tokens": max_tokens}).to_string(),
    )
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// Latency percentiles in milliseconds, on one line.
fn shape(latencies: &mut [f64]) -> String {
    let parts: Vec<String> = [50.0, 90.0, 99.0, 99.9, 100.0]
        .iter()
        .map(|p| format!("p{p} {:.3}", percentile(latencies, *p)))
        .collect();
    format!("{} ms", parts.join(", "))
}

/// The same open loop against the baseline server, which answers at once: the floor that this
/// client, the kernel and the machine put under every latency measured here.
async fn baseline_latencies(rate: u64, duration: Duration) -> Result<String, String> {
    let baseline = start_baseline().await?;
    let (mut latencies, _, _) = open_loop(&baseline.base, rate, duration, 1).await;
    Ok(shape(&mut latencies))
}

fn pool_config(slots: u32, engine: &str, capacity: u32) -> String {
    format!(
        "pools:\n  - id: bench\n    engine:\n      kind: sim\n      {engine}\n    model:\n      name: sim-bench\n    slots: {slots}\n    queue:\n      capacity:\n        interactive: {capacity}\n        batch: {capacity}\ntimeouts:\n  stream_open_ms: 600000\n  token_idle_ms: 600000\n"
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

async fn run_all(binary: &str, duration: Duration) -> ExitCode {
    match run(binary, duration).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("orchestrator-bench: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(binary: &str, duration: Duration) -> Result<bool, String> {
    println!(
        "== throughput: {CLIENTS} clients, {TOKENS_PER_TASK} tokens per task, {} s each",
        duration.as_secs()
    );
    let baseline = start_baseline().await?;
    let (base_tasks, base_tokens, base_failures) = throughput(&baseline.base, duration).await;
    let baseline_rss = baseline.peak_rss_kib();
    drop(baseline);
    let orchestrator =
        start_orchestratord(binary, &pool_config(64, "token_delay_ms: 0", 4096), true).await?;
    let (tasks, tokens, failures) = throughput(&orchestrator.base, duration).await;
    let throughput_rss = orchestrator.peak_rss_kib();
    let ratio = tasks / base_tasks;
    println!(
        "  baseline       {base_tasks:>9.0} tasks/s {base_tokens:>11.0} tokens/s  failures {base_failures}  peak RSS {} KiB",
        baseline_rss.unwrap_or(0)
    );
    println!(
        "  orchestratord  {tasks:>9.0} tasks/s {tokens:>11.0} tokens/s  failures {failures}  peak RSS {} KiB",
        throughput_rss.unwrap_or(0)
    );
    println!("  ratio to baseline: {:.1} %", ratio * 100.0);

    println!(
        "== admission latency at 1,000 tasks/s (open loop, {} s)",
        duration.as_secs()
    );
    let (mut admission, statuses, admission_rate) =
        open_loop(&orchestrator.base, 1000, duration, 1).await;
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let (p50, p99) = (
        percentile(&mut admission, 50.0),
        percentile(&mut admission, 99.0),
    );
    println!(
        "  {} requests ({admission_rate:.0}/s achieved), {accepted} accepted: p50 {p50:.3} ms, p99 {p99:.3} ms",
        statuses.len()
    );
    drop(orchestrator);
    println!("  orchestratord 202s  {}", shape(&mut admission));
    let floor = baseline_latencies(1000, duration).await?;
    println!("  baseline 202s       {floor}");

    println!(
        "== overload: 10,000 requests/s against a full queue ({} s)",
        duration.as_secs()
    );
    let full =
        start_orchestratord(binary, &pool_config(1, "hang_after_tokens: 1", 1), true).await?;
    // Fill the slot (its task hangs after one token) and the queue.
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let body = json!({"pool": "bench", "prompt": "p", "max_tokens": 1000});
        let _ = client
            .post(format!("{}/v1/tasks", full.base))
            .json(&body)
            .send()
            .await;
    }
    let rss_before = full.rss_kib().unwrap_or(0);
    let (mut rejected, statuses, overload_rate) = open_loop(&full.base, 10_000, duration, 1).await;
    let rss_after = full.rss_kib().unwrap_or(0);
    let share_429 =
        statuses.iter().filter(|s| **s == 429).count() as f64 / statuses.len().max(1) as f64;
    let p99_429 = percentile(&mut rejected, 99.0);
    println!(
        "  {} requests ({overload_rate:.0}/s achieved), {:.1} % answered 429: p99 {p99_429:.3} ms; RSS {rss_before} KiB before, {rss_after} KiB after",
        statuses.len(),
        share_429 * 100.0
    );
    println!("  orchestratord 429s  {}", shape(&mut rejected));
    let floor = baseline_latencies(10_000, duration).await?;
    println!("  baseline 202s       {floor}");
    drop(full);

    let flat = rss_after <= rss_before + 16 * 1024;
    let targets = [
        (
            format!(
                "throughput >= 60 % of the baseline ({:.1} %)",
                ratio * 100.0
            ),
            ratio >= 0.6,
        ),
        (
            format!("admission p99 <= 1 ms at 1,000 tasks/s ({p99:.3} ms)"),
            p99 <= 1.0,
        ),
        (
            format!("overload answered with 429 ({:.1} %)", share_429 * 100.0),
            share_429 >= 0.99,
        ),
        (
            format!("429 p99 <= 1 ms at 10x overload ({p99_429:.3} ms)"),
            p99_429 <= 1.0,
        ),
        (
            format!("flat memory under overload ({rss_before} -> {rss_after} KiB, <= +16 MiB)"),
            flat,
        ),
        (
            format!("tokens/s >= 100,000 ({tokens:.0})"),
            tokens >= 100_000.0,
        ),
    ];
    println!("== targets");
    let mut all = true;
    for (what, ok) in &targets {
        println!("  {:<4} {what}", verdict(*ok));
        all &= *ok;
    }
    Ok(all)
}
