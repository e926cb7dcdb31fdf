//! The orchestrator's overhead on real inference, behind `cargo xtask bench engine`:
//! the same completion (prompt, seed, temperature, 64 tokens) streamed from a llama.cpp server
//! directly and through orchestratord with a `llamacpp` pool on that server, alternated run by
//! run in one process. Reports per path the median time to first token and tokens per second
//! (decode rate after the first token), and the ratios.
//!
//! No target is set for these numbers; they describe the cost of the orchestrator (one more
//! HTTP hop, admission, event re-framing) next to real inference on this machine.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{Server, percentile, start_orchestratord};

const PROMPT: &str = "A haiku about autumn rain:\n";
const TOKENS: u64 = 64;
const SEED: u64 = 42;
const TEMPERATURE: f64 = 0.7;

/// What the benchmark needs to know about the engine.
pub struct EngineUnderTest {
    /// llama.cpp's base URL.
    pub url: String,
    /// The model file it serves.
    pub model: String,
    /// That file's SHA-256 (hex).
    pub sha256: String,
}

/// One streamed completion.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    ttft: Duration,
    decode_tokens_per_second: f64,
    tokens: Vec<String>,
}

/// Reads token texts from an SSE response: `pick` maps an event (name, data) to the token
/// text, or `None` for events that are not tokens.
async fn sample(
    started: Instant,
    response: reqwest::Response,
    pick: fn(&str, &Value) -> Option<String>,
) -> Result<Sample, String> {
    if !response.status().is_success() {
        return Err(format!("the stream answered {}", response.status()));
    }
    let mut events = response.bytes_stream().eventsource();
    let mut tokens = Vec::new();
    let (mut first, mut last) = (None, None);
    let mut other = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| e.to_string())?;
        let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        if !matches!(event.event.as_str(), "token" | "message") {
            other.push(format!("{}: {}", event.event, event.data));
        }
        if let Some(text) = pick(&event.event, &data) {
            let now = started.elapsed();
            first.get_or_insert(now);
            last = Some(now);
            tokens.push(text);
        }
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Err(format!(
            "no token arrived; other events: {}",
            other.join(" | ")
        ));
    };
    let decode = (last - first).as_secs_f64();
    let rate = if tokens.len() > 1 && decode > 0.0 {
        (tokens.len() - 1) as f64 / decode
    } else {
        f64::NAN
    };
    Ok(Sample {
        ttft: first,
        decode_tokens_per_second: rate,
        tokens,
    })
}

fn direct_token(_event: &str, data: &Value) -> Option<String> {
    (data["stop"] == false).then(|| data["content"].as_str().unwrap_or_default().to_owned())
}

fn orchestrated_token(event: &str, data: &Value) -> Option<String> {
    (event == "token").then(|| data["text"].as_str().unwrap_or_default().to_owned())
}

async fn direct(client: &reqwest::Client, engine: &EngineUnderTest) -> Result<Sample, String> {
    let started = Instant::now();
    let body = json!({
        "prompt": PROMPT, "n_predict": TOKENS, "seed": SEED, "temperature": TEMPERATURE,
        "stream": true, "cache_prompt": false,
    });
    let response = client
        .post(format!("{}/completion", engine.url))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    sample(started, response, direct_token).await
}

async fn orchestrated(client: &reqwest::Client, server: &Server) -> Result<Sample, String> {
    let started = Instant::now();
    let body = json!({
        "pool": "gemma", "prompt": PROMPT, "max_tokens": TOKENS, "seed": SEED,
        "temperature": TEMPERATURE,
    });
    let task: Value = client
        .post(format!("{}/v1/tasks", server.base))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = task["task_id"]
        .as_str()
        .ok_or_else(|| format!("no task id in {task}"))?;
    let response = client
        .get(format!("{}/v1/tasks/{id}/events", server.base))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    sample(started, response, orchestrated_token).await
}

fn config(engine: &EngineUnderTest) -> String {
    format!(
        "pools:\n  - id: gemma\n    engine:\n      kind: llamacpp\n      url: {}\n    model:\n      name: gemma3-270m\n      path: \"{}\"\n      sha256: \"{}\"\n    slots: 1\n    limits:\n      ctx_max: 2048\n      max_tokens: 256\n",
        engine.url, engine.model, engine.sha256
    )
}

fn median_ms(samples: &[Sample]) -> f64 {
    let mut values: Vec<f64> = samples.iter().map(|s| s.ttft.as_secs_f64() * 1e3).collect();
    percentile(&mut values, 50.0)
}

fn median_rate(samples: &[Sample]) -> f64 {
    let mut values: Vec<f64> = samples.iter().map(|s| s.decode_tokens_per_second).collect();
    percentile(&mut values, 50.0)
}

/// Runs `runs` alternated pairs and prints the report.
pub async fn run(binary: &str, engine: &EngineUnderTest, runs: usize) -> Result<(), String> {
    // Unpinned: llama.cpp uses both cores, and orchestratord must share them as in real use.
    let server = start_orchestratord(binary, &config(engine), false).await?;
    let client = reqwest::Client::new();
    // One warm-up of each path: page the model in, open connections.
    direct(&client, engine).await?;
    orchestrated(&client, &server).await?;
    let (mut via_engine, mut via_orchd) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate which path goes first, so neither always runs on a warmer machine.
        if run % 2 == 0 {
            via_engine.push(direct(&client, engine).await?);
            via_orchd.push(orchestrated(&client, &server).await?);
        } else {
            via_orchd.push(orchestrated(&client, &server).await?);
            via_engine.push(direct(&client, engine).await?);
        }
    }
    let same_tokens = via_engine
        .iter()
        .chain(&via_orchd)
        .all(|s| s.tokens == via_engine[0].tokens);
    let (ttft_engine, ttft_orchd) = (median_ms(&via_engine), median_ms(&via_orchd));
    let (rate_engine, rate_orchd) = (median_rate(&via_engine), median_rate(&via_orchd));
    println!(
        "real engine: llama.cpp at {}, {} tokens per completion, {runs} alternated runs per path",
        engine.url,
        via_engine[0].tokens.len()
    );
    println!("                         direct    via orchestratord   ratio");
    println!(
        "  time to first token  {ttft_engine:>8.1} ms  {ttft_orchd:>11.1} ms   {:>6.2}x  (+{:.1} ms)",
        ttft_orchd / ttft_engine,
        ttft_orchd - ttft_engine
    );
    println!(
        "  decode tokens/s      {rate_engine:>8.1}     {rate_orchd:>11.1}      {:>6.1} %",
        100.0 * rate_orchd / rate_engine
    );
    println!(
        "  same tokens on every run and both paths: {}",
        if same_tokens { "yes" } else { "NO" }
    );
    if same_tokens {
        Ok(())
    } else {
        Err("the same seed gave different tokens".into())
    }
}
