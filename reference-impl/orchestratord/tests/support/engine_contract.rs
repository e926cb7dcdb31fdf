//! The adapter contract (ORCH-3059): one suite every engine passes, run against `sim` in
//! `engine_contract.rs` and against a real llama.cpp server in `llamacpp.rs`.
//!
//! Each check returns `Err` with the reason instead of panicking, so that the `sim` suite can
//! also show that every check fails on an engine that breaks its part of the contract.

use std::time::{Duration, Instant};

use futures::StreamExt;
use orchestratord::engine::{Engine, EngineEvent, Generate};

/// How long one generation may take in these checks (the real engine makes about 40
/// tokens per second here; a cancelled slot frees in well under a second).
const PATIENCE: Duration = Duration::from_secs(30);

fn request(prompt: &str, max_tokens: u64, seed: u64) -> Generate {
    Generate {
        prompt: prompt.to_owned(),
        max_tokens,
        seed,
        temperature: 0.8,
    }
}

/// Collects a generation: its tokens and how it ended (`None` for the `max_tokens` limit).
pub async fn run(
    engine: &dyn Engine,
    request: Generate,
) -> Result<(Vec<String>, Option<EngineEvent>), String> {
    let mut stream = engine.generate(request);
    let mut tokens = Vec::new();
    loop {
        let next = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .map_err(|_| format!("no event within {} s", PATIENCE.as_secs()))?;
        match next {
            Some(EngineEvent::Token(text)) => tokens.push(text),
            Some(EngineEvent::Failed(reason)) => {
                return Err(format!("the engine failed: {reason}"));
            }
            Some(EngineEvent::Stopped) => {
                if stream.next().await.is_some() {
                    return Err("an event followed `Stopped`".to_owned());
                }
                return Ok((tokens, Some(EngineEvent::Stopped)));
            }
            None => return Ok((tokens, None)),
        }
    }
}

/// Healthy, with a version and a `sha256:` model digest.
pub async fn health_and_identity(engine: &dyn Engine) -> Result<(), String> {
    if !engine.health().await {
        return Err("the engine reports itself unhealthy".to_owned());
    }
    if engine.version().trim().is_empty() {
        return Err("the engine has no version".to_owned());
    }
    let digest = engine.model_digest();
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "`{digest}` is not `sha256:` and 64 lowercase hex digits"
        ));
    }
    Ok(())
}

/// Prompt tokens are counted, and a longer prompt has more of them.
pub async fn counts_prompt_tokens(engine: &dyn Engine) -> Result<(), String> {
    let short = engine.count_tokens("Write a haiku");
    let long =
        engine.count_tokens("Write a haiku about the sea, the wind and the long grey autumn rain");
    if short == 0 || long <= short {
        return Err(format!(
            "counted {short} tokens for a short prompt and {long} for a longer one"
        ));
    }
    Ok(())
}

/// A generation streams tokens and ends at `max_tokens` at the latest; without a stop it
/// gives exactly `max_tokens`.
pub async fn streams_up_to_max_tokens(engine: &dyn Engine) -> Result<(), String> {
    let (tokens, end) = run(engine, request("Write a haiku about rust", 8, 7)).await?;
    match end {
        None if tokens.len() == 8 => Ok(()),
        Some(EngineEvent::Stopped) if !tokens.is_empty() && tokens.len() <= 8 => Ok(()),
        _ => Err(format!(
            "8 tokens asked, {} given, ended by {end:?}",
            tokens.len()
        )),
    }
}

/// The same seed, prompt and parameters give the same token sequence.
pub async fn same_seed_same_tokens(engine: &dyn Engine, seed: u64) -> Result<Vec<String>, String> {
    let prompt = "Write a haiku about the sea";
    let (first, _) = run(engine, request(prompt, 12, seed)).await?;
    let (second, _) = run(engine, request(prompt, 12, seed)).await?;
    if first != second {
        return Err(format!("seed {seed} gave {first:?}, then {second:?}"));
    }
    if first.concat().trim().is_empty() {
        return Err(format!("seed {seed} gave no text"));
    }
    Ok(first)
}

/// Dropping the streams of `slots` long generations frees their slots: a new generation's
/// first token then arrives within `patience`, long before the dropped ones could have
/// finished.
pub async fn cancel_frees_the_slot(
    engine: &dyn Engine,
    slots: usize,
    patience: Duration,
) -> Result<(), String> {
    let long = request("Tell a very long story about a lighthouse keeper", 1500, 1);
    let mut held = Vec::new();
    for _ in 0..slots {
        let mut stream = engine.generate(long.clone());
        match tokio::time::timeout(PATIENCE, stream.next()).await {
            Ok(Some(EngineEvent::Token(_))) => held.push(stream),
            other => return Err(format!("a long generation did not start: {other:?}")),
        }
    }
    drop(held);
    let started = Instant::now();
    let mut next = engine.generate(request("Write a haiku", 1, 2));
    match tokio::time::timeout(patience, next.next()).await {
        Ok(Some(EngineEvent::Token(_))) => Ok(()),
        Ok(other) => Err(format!("after the cancel, the engine gave {other:?}")),
        Err(_) => Err(format!(
            "no token {:.1} s after cancelling {slots} generations: their slots stayed busy",
            started.elapsed().as_secs_f64()
        )),
    }
}
