//! What the OpenAI-compatible surface sends: the completion objects and the stream's chunks of
//! each [`Kind`] of completion, the model list and the error body, and the [`StopScanner`] that
//! cuts generated text at a stop sequence without ever sending part of one. Pure: values in,
//! JSON out.

use api_types::ErrorCode;
use serde_json::{Value, json};

/// Token counts of a finished completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Generated tokens.
    pub completion_tokens: u64,
}

impl Usage {
    fn to_json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        })
    }
}

/// The `id`, `created` and `model` every object of one completion repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// [`Kind::id_prefix`] and the task id.
    pub id: String,
    /// Unix time in seconds when the request was admitted.
    pub created: u64,
    /// The model that served it.
    pub model: String,
}

/// The kind of completion a route answers: a chat completion (`/v1/chat/completions`) or a
/// text completion (`/v1/completions`). The task behind either is the same; only the objects
/// sent back differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `chat.completion` and `chat.completion.chunk` objects.
    Chat,
    /// `text_completion` objects, whole and in chunks.
    Text,
}

impl Kind {
    /// What the `id` of a completion starts with, before the task id.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Chat => "chatcmpl-",
            Kind::Text => "cmpl-",
        }
    }

    /// The answer of a non-streaming completion.
    #[spectrace::implements("ORCH-2201", "ORCH-2213")]
    pub fn whole(self, who: &Identity, text: &str, finish_reason: &str, usage: Usage) -> Value {
        match self {
            Kind::Chat => chat_completion(who, text, finish_reason, usage),
            Kind::Text => text_completion(who, text, finish_reason, usage),
        }
    }

    /// The chunk a stream starts with, before any text: the assistant role of a chat
    /// completion; none for a text completion.
    #[spectrace::implements("ORCH-2202", "ORCH-2214")]
    pub fn opening(self, who: &Identity) -> Option<Value> {
        match self {
            Kind::Chat => Some(chat_chunk(
                who,
                json!({"role": "assistant", "content": ""}),
                None,
            )),
            Kind::Text => None,
        }
    }

    /// The chunk carrying one piece of generated text.
    #[spectrace::implements("ORCH-2202", "ORCH-2214")]
    pub fn piece(self, who: &Identity, text: &str) -> Value {
        match self {
            Kind::Chat => chat_chunk(who, json!({"content": text}), None),
            Kind::Text => text_chunk(who, text, None),
        }
    }

    /// The chunk that ends the text, with its finish reason and no text.
    #[spectrace::implements("ORCH-2202", "ORCH-2214")]
    pub fn finish(self, who: &Identity, finish_reason: &str) -> Value {
        match self {
            Kind::Chat => chat_chunk(who, json!({}), Some(finish_reason)),
            Kind::Text => text_chunk(who, "", Some(finish_reason)),
        }
    }

    /// The last chunk of a stream that asked for usage: no choice, the usage.
    #[spectrace::implements("ORCH-2202", "ORCH-2214")]
    pub fn usage_chunk(self, who: &Identity, usage: Usage) -> Value {
        let object = match self {
            Kind::Chat => "chat.completion.chunk",
            Kind::Text => "text_completion",
        };
        json!({
            "id": who.id,
            "object": object,
            "created": who.created,
            "model": who.model,
            "choices": [],
            "usage": usage.to_json(),
        })
    }
}

/// The answer of a non-streaming text completion.
#[spectrace::implements("ORCH-2213")]
pub fn text_completion(who: &Identity, text: &str, finish_reason: &str, usage: Usage) -> Value {
    json!({
        "id": who.id,
        "object": "text_completion",
        "created": who.created,
        "model": who.model,
        "choices": [{
            "text": text,
            "index": 0,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": usage.to_json(),
    })
}

/// One chunk of a streamed text completion: a piece of `text` for choice 0 and its
/// `finish_reason`.
#[spectrace::implements("ORCH-2214")]
pub fn text_chunk(who: &Identity, text: &str, finish_reason: Option<&str>) -> Value {
    json!({
        "id": who.id,
        "object": "text_completion",
        "created": who.created,
        "model": who.model,
        "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish_reason}],
    })
}

/// The answer of a non-streaming chat completion.
#[spectrace::implements("ORCH-2201")]
pub fn chat_completion(who: &Identity, text: &str, finish_reason: &str, usage: Usage) -> Value {
    json!({
        "id": who.id,
        "object": "chat.completion",
        "created": who.created,
        "model": who.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish_reason,
        }],
        "usage": usage.to_json(),
    })
}

/// One chunk of a streamed chat completion: `delta` for choice 0 and its `finish_reason`.
#[spectrace::implements("ORCH-2202")]
pub fn chat_chunk(who: &Identity, delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": who.id,
        "object": "chat.completion.chunk",
        "created": who.created,
        "model": who.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
}

/// The model list: one entry per distinct model name, in the order given.
#[spectrace::implements("ORCH-2203")]
pub fn model_list<'a>(models: impl IntoIterator<Item = &'a str>) -> Value {
    let mut seen = Vec::new();
    for model in models {
        if !seen.contains(&model) {
            seen.push(model);
        }
    }
    let data: Vec<Value> = seen
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "orchestratord"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// OpenAI's error `type` for the status of a refusal.
#[spectrace::implements("ORCH-2208")]
pub fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

/// The error body: OpenAI's shape, with the contract's error code as `code` and the field at
/// fault, if any, as `param`.
#[spectrace::implements("ORCH-2208")]
pub fn error_body(
    status: u16,
    code: ErrorCode,
    message: &str,
    param: Option<&str>,
    correlation_id: &str,
) -> Value {
    json!({
        "error": {
            "message": message,
            "type": error_type(status),
            "code": code,
            "param": param,
            "correlation_id": correlation_id,
        }
    })
}

/// Cuts generated text at the first stop sequence. Text goes out as soon as no stop sequence
/// can begin in it; a tail that could be the start of one is held back until the next token
/// decides.
#[derive(Debug, Clone, Default)]
pub struct StopScanner {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

#[spectrace::implements("ORCH-2206")]
impl StopScanner {
    /// A scanner for these stop sequences (none: text passes through).
    pub fn new(stops: Vec<String>) -> Self {
        Self {
            stops,
            held: String::new(),
            stopped: false,
        }
    }

    /// True once a stop sequence was seen; everything after it is dropped.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Takes the next piece of text; returns what may be sent now.
    pub fn push(&mut self, text: &str) -> String {
        if self.stopped {
            return String::new();
        }
        self.held.push_str(text);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|stop| self.held.find(stop.as_str()))
            .min();
        if let Some(at) = first_stop {
            self.stopped = true;
            let out = self.held[..at].to_owned();
            self.held.clear();
            return out;
        }
        let keep = self.partial_stop_len();
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_owned();
        self.held.drain(..cut);
        out
    }

    /// The text held back, once the generation ended without completing a stop sequence.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// Length of the longest tail of the held text that is a proper prefix of a stop sequence.
    fn partial_stop_len(&self) -> usize {
        let held = self.held.as_str();
        (1..=held.len())
            .rev()
            .filter(|n| held.is_char_boundary(held.len() - n))
            .find(|n| {
                let tail = &held[held.len() - n..];
                self.stops
                    .iter()
                    .any(|stop| stop.len() > *n && stop.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cut(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut scanner = StopScanner::new(stops.iter().map(|s| (*s).to_owned()).collect());
        let mut out: String = pieces.iter().map(|p| scanner.push(p)).collect();
        let stopped = scanner.stopped();
        out.push_str(&scanner.finish());
        (out, stopped)
    }

    #[spectrace::covers("ORCH-2206", kind = "test")]
    #[test]
    fn text_is_cut_before_the_first_stop_even_across_pieces() {
        assert_eq!(cut(&["END"], &["a b", " E", "ND c"]), ("a b ".into(), true));
        assert_eq!(cut(&["x", "b"], &["abcx"]), ("a".into(), true));
        assert_eq!(cut(&["END"], &["a E", "nd"]), ("a End".into(), false));
        assert_eq!(cut(&[], &["a", "b"]), ("ab".into(), false));
    }

    #[spectrace::covers("ORCH-2206", kind = "test")]
    #[test]
    fn a_possible_start_of_a_stop_is_held_back_until_decided() {
        let mut scanner = StopScanner::new(vec!["END".into()]);
        assert_eq!(scanner.push("ab E"), "ab ");
        assert_eq!(scanner.push("N"), "");
        assert_eq!(scanner.push("x"), "ENx");
    }

    proptest! {
        /// However the text is split into pieces, what goes out is the text up to the first
        /// stop sequence (all of it when there is none).
        #[spectrace::covers("ORCH-2206", kind = "property")]
        #[test]
        fn the_output_does_not_depend_on_how_the_text_is_split(
            text in "[abc ]{0,40}",
            stop in "[abc]{1,3}",
            splits in proptest::collection::vec(0usize..40, 0..8),
        ) {
            let mut points: Vec<usize> = splits.into_iter().filter(|s| *s <= text.len()).collect();
            points.sort_unstable();
            let mut pieces = Vec::new();
            let mut last = 0;
            for point in points {
                pieces.push(&text[last..point]);
                last = point;
            }
            pieces.push(&text[last..]);
            let expected = text.find(&stop).map_or(text.as_str(), |at| &text[..at]);
            let (out, stopped) = cut(&[stop.as_str()], &pieces);
            prop_assert_eq!(out, expected);
            prop_assert_eq!(stopped, text.contains(&stop));
        }
    }

    #[spectrace::covers("ORCH-2208", kind = "test")]
    #[test]
    fn errors_have_openais_shape_with_the_contract_code() {
        let body = error_body(429, ErrorCode::QueueFull, "full", None, "c-1");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(body["error"]["code"], "QUEUE_FULL");
        assert_eq!(body["error"]["message"], "full");
        assert_eq!(body["error"]["param"], Value::Null);
        let body = error_body(400, ErrorCode::InvalidRequest, "m", Some("tools"), "c");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "tools");
        assert_eq!(error_type(503), "server_error");
        for (status, kind) in [
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (409, "invalid_request_error"),
            (422, "invalid_request_error"),
            (429, "rate_limit_error"),
            (500, "server_error"),
        ] {
            assert_eq!(error_type(status), kind, "{status}");
        }
    }

    #[spectrace::covers("ORCH-2203", kind = "test")]
    #[test]
    fn the_model_list_names_each_model_once() {
        let list = model_list(["a", "b", "a"]);
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(list["object"], "list");
        assert_eq!(list["data"][0]["object"], "model");
    }

    #[spectrace::covers("ORCH-2206", kind = "test")]
    #[test]
    fn text_of_several_bytes_a_character_is_never_cut_inside_one() {
        // Without a stop sequence, and with one that could begin in the held text.
        assert_eq!(
            cut(&[], &["h\u{e9}", "\u{1f600}", "!"]),
            ("h\u{e9}\u{1f600}!".into(), false)
        );
        let mut scanner = StopScanner::new(vec!["\u{e9}\u{e8}".into()]);
        assert_eq!(scanner.push("a\u{e9}"), "a");
        assert_eq!(scanner.push("\u{1f600}"), "\u{e9}\u{1f600}");
        assert_eq!(scanner.push("\u{e9}\u{e8}b"), "");
        assert!(scanner.stopped());
    }
}
