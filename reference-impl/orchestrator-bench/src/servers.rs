//! The servers under test as child processes: orchestratord on a generated config, and the
//! minimal axum SSE baseline (this binary with `--baseline-server`). Both run pinned to the CPU
//! `--server-cpu` names, on loopback ports, and are killed when their [`Server`] is dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::routing::{get, post};
use futures::StreamExt;
use serde_json::json;

use crate::load::TOKENS_PER_TASK;

/// The pool whose queue is always full: the baseline answers 429 for it too.
pub const FULL_POOL: &str = "full";

/// The baseline: the two requests of a task, and a stream of `TOKENS_PER_TASK` token events and
/// one end event, with no queue, no scheduler and no engine behind them. Like orchestratord it
/// parses the request body; a task for [`FULL_POOL`] is answered 429, as orchestratord answers
/// it when that pool's queue is full.
pub async fn baseline_server(addr: SocketAddr) -> ExitCode {
    let counter = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/v1/tasks",
            post(move |body: axum::Json<serde_json::Value>| {
                let id = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    if body.0["pool"] == FULL_POOL {
                        return (
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "1")],
                            axum::Json(json!({"code": "QUEUE_FULL_REJECT", "message": "queue full"})),
                        );
                    }
                    (
                        axum::http::StatusCode::ACCEPTED,
                        [("retry-after", "0")],
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
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    config: Option<std::path::PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(config) = &self.config {
            let _ = std::fs::remove_file(config);
        }
    }
}

impl Server {
    /// Peak resident set size so far, in KiB (Linux `VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        rss_field(self.child.id(), "VmHWM:")
    }

    /// Current resident set size, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_field(self.child.id(), "VmRSS:")
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

fn rss_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU the servers are pinned to (`--server-cpu N`), if any. Set once in `main`.
pub static SERVER_CPU: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

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

/// Waits for the server to answer, at most two minutes: orchestratord listens only once every
/// replica passed its self-test, which for `bench streams` is 40 replicas of a slow sim engine.
async fn wait_until_up(base: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..4800 {
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

/// Starts orchestratord on `config`; `pin` puts it on the server CPU (see [`SERVER_CPU`]).
pub async fn start_orchestratord(binary: &str, config: &str, pin: bool) -> Result<Server, String> {
    let port = free_port().ok_or("no free port")?;
    let path = std::env::temp_dir().join(format!(
        "orchestrator-bench-{}-{port}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
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
        config: Some(path),
    };
    if wait_until_up(&server.base).await {
        Ok(server)
    } else {
        Err("orchestratord did not come up".into())
    }
}

/// Starts the baseline (this binary with `--baseline-server`), pinned like orchestratord.
pub async fn start_baseline() -> Result<Server, String> {
    let port = free_port().ok_or("no free port")?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
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
        config: None,
    };
    if wait_until_up(&server.base).await {
        Ok(server)
    } else {
        Err("the baseline did not come up".into())
    }
}

/// orchestratord's config for `bench server` and `bench soak`: pool `bench` (64 slots,
/// zero-delay sim engine, deep queues) and pool [`FULL_POOL`] (one slot whose task hangs, a
/// queue of one), and at most 1,000 ended tasks retained so that memory reaches its plateau
/// during the warm-up. `stream_open_ms` keeps its default (30 s): the benchmark's admission
/// tasks are never streamed, as a client that enqueues and goes away; the hanging task and
/// the one queued behind it get idle and wall limits longer than any run.
pub fn bench_config() -> String {
    format!(
        "pools:\n\
         \x20 - id: bench\n    engine:\n      kind: sim\n      token_delay_ms: 0\n    model:\n      name: sim-bench\n    slots: 64\n    queue:\n      capacity:\n        interactive: 4096\n        batch: 4096\n\
         \x20 - id: {FULL_POOL}\n    engine:\n      kind: sim\n      hang_after_tokens: 1\n    model:\n      name: sim-full\n    slots: 1\n    queue:\n      capacity:\n        interactive: 1\n        batch: 1\n\
         timeouts:\n  token_idle_ms: 86400000\n  task_wall_ms: 86400000\n\
         tasks:\n  retained_max: 1000\n"
    )
}

/// Fills [`FULL_POOL`] of an orchestratord on [`bench_config`]: one task in its slot (hanging
/// after one token) and one in its queue, so every further task for it is answered 429. Opens
/// both tasks' streams, so that `stream_open_ms` does not cancel them: the caller keeps the
/// returned responses for as long as the pool must stay full.
pub async fn fill_full_pool(server: &Server) -> Result<Vec<reqwest::Response>, String> {
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..2 {
        let body = json!({"pool": FULL_POOL, "prompt": "p", "max_tokens": 1000});
        let response = client
            .post(format!("{}/v1/tasks", server.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().as_u16() != 202 {
            return Err(format!(
                "filling pool `{FULL_POOL}`: answered {}",
                response.status()
            ));
        }
        let task: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        let id = task["task_id"].as_str().ok_or("no task_id")?;
        let stream = client
            .get(format!("{}/v1/tasks/{id}/events", server.base))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        streams.push(stream);
    }
    Ok(streams)
}
