//! The `llamacpp` engine: a llama.cpp server (`llama-server`, or the one the `xllamacpp` wheel
//! embeds) over HTTP.
//!
//! | adapter operation | llama.cpp endpoint |
//! |---|---|
//! | connect: version, served model, slots | `GET /props` (`build_info`, `model_path`, `total_slots`) |
//! | health | `GET /health` (200 `{"status":"ok"}`) |
//! | count prompt tokens | none: an upper bound, UTF-8 bytes + 1 (admission never waits on an engine, ORCH-3047) |
//! | generate | `POST /completion` with `stream: true`, `n_predict`, `seed`, `temperature` |
//! | cancel | dropping the stream closes the upstream connection; llama.cpp frees the slot when it next writes to it |
//!
//! Decisions:
//! - orchestratord does not start or stop llama.cpp. On load it checks the configured model
//!   file (checksum, ORCH-3050) and that the server serves that very file (`model_path`), so
//!   the digest it reports (ORCH-3051) is the digest of what generates the tokens. A reload to
//!   another file therefore fails with `RELOAD_FAILED` and the old model keeps serving.
//! - Every replica of a `llamacpp` pool talks to the one server at `url`; the server needs at
//!   least `replicas × slots` parallel slots (`--parallel`), else the load fails.
//! - llama.cpp seeds are 32-bit and `0xFFFFFFFF` means "random": a 64-bit seed is folded to
//!   32 bits (high half XOR low half) and `0xFFFFFFFF` becomes `0xFFFFFFFE`.
//! - Prompt caching is off (`cache_prompt: false`): a cached prefix changes the batch shapes,
//!   and with them the floating-point results, so the same seed could give other tokens.
//! - Each streamed chunk is one token (its text may be empty while llama.cpp holds back an
//!   incomplete UTF-8 sequence). The final chunk's `stop_type` says how the text ended:
//!   `limit` is the `max_tokens` limit, anything else is a stop (finish reason `stop`).

use std::path::Path;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use serde::Deserialize;

use super::{Engine, EngineEvent, Generate, ModelArtifact};

/// How long connecting and the small JSON calls may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected llama.cpp server.
#[derive(Debug, Clone)]
#[spectrace::implements("ORCH-3063")]
pub struct LlamacppEngine {
    base: String,
    client: reqwest::Client,
    version: String,
    digest: String,
}

/// The parts of `GET /props` the adapter reads.
#[derive(Debug, Deserialize)]
struct Props {
    #[serde(default)]
    build_info: Option<String>,
    #[serde(default)]
    model_path: Option<String>,
    #[serde(default)]
    total_slots: Option<u32>,
}

/// One chunk of a streamed `/completion`.
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    content: String,
    #[serde(default)]
    stop: bool,
    #[serde(default)]
    stop_type: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl LlamacppEngine {
    /// Connects to the server at `url`, checks that it serves `artifact`'s file and has at
    /// least `slots` parallel slots, and reads its version.
    #[spectrace::implements("ORCH-3061")]
    pub async fn connect(url: &str, artifact: &ModelArtifact, slots: u32) -> Result<Self, String> {
        let Some(path) = &artifact.path else {
            return Err(format!(
                "model `{}` has no `path`: the llamacpp engine needs the model file to check \
                 and report its digest (ORCH-3050, ORCH-3051)",
                artifact.name
            ));
        };
        let base = url.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .connect_timeout(CALL_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let props: Props = client
            .get(format!("{base}/props"))
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("cannot reach llama.cpp at {base}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("llama.cpp at {base} sent unreadable /props: {e}"))?;
        if let Some(served) = &props.model_path
            && !same_file(Path::new(served), path)
        {
            return Err(format!(
                "llama.cpp at {base} serves `{served}`, not the configured model file `{}`",
                path.display()
            ));
        }
        if let Some(total) = props.total_slots
            && total < slots
        {
            return Err(format!(
                "llama.cpp at {base} has {total} parallel slots, the pool needs {slots} \
                 (replicas × slots)"
            ));
        }
        let build = props.build_info.unwrap_or_else(|| "unknown".to_owned());
        Ok(Self {
            base,
            client,
            version: format!("llama.cpp {build}"),
            digest: artifact.digest.clone(),
        })
    }
}

/// True when both paths name the same file (after resolving links and relative parts).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// An upper bound of the tokens llama.cpp makes of `prompt`, without asking it: every token of
/// its tokenizers covers at least one byte of text (byte fallback included), plus the BOS
/// token it adds.
pub fn prompt_token_bound(prompt: &str) -> u64 {
    prompt.len() as u64 + 1
}

/// A 64-bit seed as a llama.cpp seed (see the module documentation).
pub fn engine_seed(seed: u64) -> u32 {
    let folded = ((seed >> 32) ^ (seed & u64::from(u32::MAX))) as u32;
    if folded == u32::MAX {
        u32::MAX - 1
    } else {
        folded
    }
}

/// Where a streamed completion is.
enum Phase {
    /// The request has not been sent yet.
    Start(Box<reqwest::RequestBuilder>),
    /// Reading chunks.
    Streaming(BoxStream<'static, Result<String, String>>),
    /// One more event to give, then the end.
    Last(EngineEvent),
    Done,
}

/// What one chunk means for the stream: events to give and whether it ended.
fn interpret(data: &str) -> (Option<EngineEvent>, Option<EngineEvent>, bool) {
    let chunk: Chunk = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        Err(e) => {
            let message = format!("llama.cpp sent an unreadable chunk: {e}");
            return (Some(EngineEvent::Failed(message)), None, true);
        }
    };
    if let Some(error) = chunk.error {
        let message = format!("llama.cpp failed: {error}");
        return (Some(EngineEvent::Failed(message)), None, true);
    }
    if !chunk.stop {
        return (Some(EngineEvent::Token(chunk.content)), None, false);
    }
    let token = (!chunk.content.is_empty()).then_some(EngineEvent::Token(chunk.content));
    let end = match chunk.stop_type.as_deref() {
        Some("limit") => None,
        _ => Some(EngineEvent::Stopped),
    };
    match token {
        Some(token) => (Some(token), end, true),
        None => (end, None, true),
    }
}

async fn step(phase: Phase) -> Option<(EngineEvent, Phase)> {
    match phase {
        Phase::Done => None,
        Phase::Last(event) => Some((event, Phase::Done)),
        Phase::Start(request) => {
            let response = match (*request).send().await {
                Ok(response) => response,
                Err(e) => {
                    let message = format!("cannot reach llama.cpp: {e}");
                    return Some((EngineEvent::Failed(message), Phase::Done));
                }
            };
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                let message = format!("llama.cpp answered {status}: {}", body.trim());
                return Some((EngineEvent::Failed(message), Phase::Done));
            }
            let chunks = response
                .bytes_stream()
                .eventsource()
                .map(|event| event.map(|e| e.data).map_err(|e| e.to_string()))
                .boxed();
            Box::pin(step(Phase::Streaming(chunks))).await
        }
        Phase::Streaming(mut chunks) => loop {
            let data = match chunks.next().await {
                None => {
                    let message = "llama.cpp closed the stream before its final chunk".to_owned();
                    return Some((EngineEvent::Failed(message), Phase::Done));
                }
                Some(Err(e)) => {
                    let message = format!("the llama.cpp stream broke: {e}");
                    return Some((EngineEvent::Failed(message), Phase::Done));
                }
                Some(Ok(data)) => data,
            };
            if data.trim().is_empty() {
                continue;
            }
            let (first, then, ended) = interpret(&data);
            let next = match (ended, then) {
                (false, _) => Phase::Streaming(chunks),
                (true, Some(event)) => Phase::Last(event),
                (true, None) => Phase::Done,
            };
            match first {
                Some(event) => return Some((event, next)),
                None => return None,
            }
        },
    }
}

impl Engine for LlamacppEngine {
    fn kind(&self) -> api_types::EngineKind {
        api_types::EngineKind::Llamacpp
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn model_digest(&self) -> String {
        self.digest.clone()
    }

    fn count_tokens(&self, prompt: &str) -> u64 {
        prompt_token_bound(prompt)
    }

    #[spectrace::implements("ORCH-3061", "ORCH-3062")]
    fn generate(&self, request: Generate) -> BoxStream<'static, EngineEvent> {
        let body = serde_json::json!({
            "prompt": request.prompt,
            "n_predict": request.max_tokens,
            "seed": engine_seed(request.seed),
            "temperature": request.temperature,
            "stream": true,
            "cache_prompt": false,
        });
        let start = self
            .client
            .post(format!("{}/completion", self.base))
            .json(&body);
        futures::stream::unfold(Phase::Start(Box::new(start)), step).boxed()
    }

    #[spectrace::implements("ORCH-3061")]
    fn health(&self) -> BoxFuture<'static, bool> {
        let request = self
            .client
            .get(format!("{}/health", self.base))
            .timeout(CALL_TIMEOUT);
        async move {
            match request.send().await {
                Ok(response) => response.status().is_success(),
                Err(_) => false,
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_bound_counts_bytes_and_the_bos_token() {
        assert_eq!(prompt_token_bound(""), 1);
        assert_eq!(prompt_token_bound("héllo"), 7);
    }

    #[test]
    fn seeds_fold_to_32_bits_and_never_mean_random() {
        assert_eq!(engine_seed(42), 42);
        assert_eq!(engine_seed(0x0000_0001_0000_0001), 0);
        assert_eq!(engine_seed(u64::from(u32::MAX)), u32::MAX - 1);
        assert_eq!(engine_seed(u64::MAX), 0);
    }

    #[test]
    fn chunks_map_to_tokens_and_endings() {
        let token = interpret(r#"{"content":" rust","stop":false}"#);
        assert_eq!(
            token,
            (Some(EngineEvent::Token(" rust".into())), None, false)
        );
        let limit = interpret(r#"{"content":"","stop":true,"stop_type":"limit"}"#);
        assert_eq!(limit, (None, None, true));
        let eos = interpret(r#"{"content":"","stop":true,"stop_type":"eos"}"#);
        assert_eq!(eos, (Some(EngineEvent::Stopped), None, true));
        let word = interpret(r#"{"content":"!","stop":true,"stop_type":"word"}"#);
        let expected = (
            Some(EngineEvent::Token("!".into())),
            Some(EngineEvent::Stopped),
            true,
        );
        assert_eq!(word, expected);
        let (failed, _, ended) = interpret(r#"{"error":{"code":500,"message":"boom"}}"#);
        assert!(matches!(failed, Some(EngineEvent::Failed(m)) if m.contains("boom")) && ended);
        let (garbage, _, ended) = interpret("not json");
        assert!(matches!(garbage, Some(EngineEvent::Failed(_))) && ended);
    }
}
