//! Reading an OpenAI chat completion request: which fields the server supports, which OpenAI
//! fields it refuses (by name, never ignored), how the messages become one prompt, and the
//! checks on each value. Pure: a JSON object in, a [`ChatRequest`] or a [`FieldError`] out.

use serde_json::{Map, Value};

/// Most stop sequences a request may give, as in OpenAI's API.
pub const MAX_STOP_SEQUENCES: usize = 4;

/// The fields of OpenAI's chat completion request the server supports.
const SUPPORTED: [&str; 10] = [
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "temperature",
    "stop",
    "user",
    "stream",
    "stream_options",
];

/// The fields of OpenAI's chat completion request the server does not support, each with the
/// one value it accepts because that value asks for nothing (OpenAI's default), if any.
const UNSUPPORTED: [(&str, Option<&str>); 26] = [
    ("audio", None),
    ("frequency_penalty", Some("0")),
    ("function_call", None),
    ("functions", None),
    ("logit_bias", None),
    ("logprobs", Some("false")),
    ("metadata", None),
    ("modalities", None),
    ("n", Some("1")),
    ("parallel_tool_calls", None),
    ("prediction", None),
    ("presence_penalty", Some("0")),
    ("prompt_cache_key", None),
    ("reasoning_effort", None),
    ("response_format", None),
    ("safety_identifier", None),
    ("service_tier", None),
    ("store", Some("false")),
    ("tool_choice", None),
    ("tools", None),
    ("top_logprobs", None),
    ("top_p", Some("1")),
    ("verbosity", None),
    ("web_search_options", None),
    ("top_k", None),
    ("n_probs", None),
];

/// A refused request: the field at fault (a JSON path such as `messages[1].role`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The offending field.
    pub field: String,
    /// A sentence naming it.
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, why: &str) -> Self {
        let field = field.into();
        let message = format!("invalid body: field `{field}`: {why}");
        Self { field, message }
    }
}

/// A valid chat completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model, which selects the pool.
    pub model: String,
    /// The messages rendered as one prompt ([`render_prompt`]).
    pub prompt: String,
    /// Most tokens to generate, if the client said.
    pub max_tokens: Option<u64>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// Sampling temperature, 0 to 2.
    pub temperature: f64,
    /// Stop sequences, at most [`MAX_STOP_SEQUENCES`], none empty.
    pub stop: Vec<String>,
    /// The end user, which names the session.
    pub user: Option<String>,
    /// Whether to answer with a stream of chunks.
    pub stream: bool,
    /// Whether a streamed answer ends with a usage chunk.
    pub include_usage: bool,
}

/// One message, reduced to what the prompt needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: String,
    /// Its text.
    pub content: String,
}

/// The prompt of a conversation: each message as `role: content` on its own line, then
/// `assistant:` for the reply. The same text enqueued as a task's prompt generates the same
/// tokens for the same seed.
pub fn render_prompt(messages: &[Message]) -> String {
    let mut prompt = String::new();
    for message in messages {
        prompt.push_str(&message.role);
        prompt.push_str(": ");
        prompt.push_str(&message.content);
        prompt.push('\n');
    }
    prompt.push_str("assistant:");
    prompt
}

/// Reads a chat completion request from its JSON object. A field set to `null` counts as
/// absent, as in OpenAI's API.
pub fn parse_chat(body: &Map<String, Value>) -> Result<ChatRequest, FieldError> {
    for (name, value) in body {
        if value.is_null() || SUPPORTED.contains(&name.as_str()) {
            continue;
        }
        match UNSUPPORTED.iter().find(|(field, _)| *field == name) {
            Some((_, Some(neutral))) if asks_for_nothing(value, neutral) => {}
            Some((_, Some(neutral))) => {
                return Err(FieldError::new(
                    name,
                    &format!("this server does not support it (only {neutral} is accepted)"),
                ));
            }
            Some((_, None)) => {
                return Err(FieldError::new(name, "this server does not support it"));
            }
            None => return Err(FieldError::new(name, "unknown field")),
        }
    }
    let field = |name: &str| body.get(name).filter(|v| !v.is_null());
    let model = match field("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(_) => return Err(FieldError::new("model", "must be a non-empty string")),
        None => return Err(FieldError::new("model", "missing field")),
    };
    let messages = match field("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages
            .iter()
            .enumerate()
            .map(|(i, m)| parse_message(i, m))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(FieldError::new("messages", "must be a non-empty array")),
        None => return Err(FieldError::new("messages", "missing field")),
    };
    let max_tokens = positive(field("max_tokens"), "max_tokens")?;
    let max_completion_tokens = positive(field("max_completion_tokens"), "max_completion_tokens")?;
    if max_tokens.is_some() && max_completion_tokens.is_some() {
        return Err(FieldError::new(
            "max_tokens",
            "give either max_tokens or max_completion_tokens, not both",
        ));
    }
    let seed = match field("seed") {
        Some(value) => Some(
            value
                .as_u64()
                .ok_or_else(|| FieldError::new("seed", "must be an integer from 0 to 2^64-1"))?,
        ),
        None => None,
    };
    let temperature = match field("temperature") {
        Some(value) => value
            .as_f64()
            .filter(|t| (0.0..=2.0).contains(t))
            .ok_or_else(|| FieldError::new("temperature", "must be a number from 0 to 2"))?,
        None => 1.0,
    };
    let stop = parse_stop(field("stop"))?;
    let user = match field("user") {
        Some(Value::String(user)) if is_session_id(user) => Some(user.clone()),
        Some(_) => {
            return Err(FieldError::new(
                "user",
                "must be 1 to 128 characters of A-Z, a-z, 0-9, `.`, `_`, `:` or `-`",
            ));
        }
        None => None,
    };
    let stream = match field("stream") {
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err(FieldError::new("stream", "must be a boolean")),
        None => false,
    };
    let include_usage = match field("stream_options") {
        Some(Value::Object(options)) => parse_stream_options(options)?,
        Some(_) => return Err(FieldError::new("stream_options", "must be an object")),
        None => false,
    };
    if include_usage && !stream {
        return Err(FieldError::new(
            "stream_options",
            "is only allowed when `stream` is true",
        ));
    }
    Ok(ChatRequest {
        model,
        prompt: render_prompt(&messages),
        max_tokens: max_tokens.or(max_completion_tokens),
        seed,
        temperature,
        stop,
        user,
        stream,
        include_usage,
    })
}

/// True when `value` is the field's neutral value; numbers compare by value (`1` and `1.0`).
fn asks_for_nothing(value: &Value, neutral: &str) -> bool {
    match (value, serde_json::from_str::<Value>(neutral)) {
        (Value::Number(n), Ok(Value::Number(m))) => n.as_f64() == m.as_f64(),
        (value, Ok(neutral)) => *value == neutral,
        (_, Err(_)) => false,
    }
}

/// A session id the task API would accept: what a `user` may be.
fn is_session_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn positive(value: Option<&Value>, name: &str) -> Result<Option<u64>, FieldError> {
    match value {
        Some(value) => value
            .as_u64()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| FieldError::new(name, "must be a positive integer")),
        None => Ok(None),
    }
}

fn parse_stop(value: Option<&Value>) -> Result<Vec<String>, FieldError> {
    let stop = match value {
        None => Vec::new(),
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| FieldError::new(format!("stop[{i}]"), "must be a string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(FieldError::new(
                "stop",
                "must be a string or an array of strings",
            ));
        }
    };
    if stop.len() > MAX_STOP_SEQUENCES {
        return Err(FieldError::new(
            "stop",
            "at most 4 stop sequences are allowed",
        ));
    }
    if stop.iter().any(String::is_empty) {
        return Err(FieldError::new("stop", "a stop sequence must not be empty"));
    }
    Ok(stop)
}

fn parse_stream_options(options: &Map<String, Value>) -> Result<bool, FieldError> {
    let mut include_usage = false;
    for (name, value) in options {
        match (name.as_str(), value) {
            (_, Value::Null) => {}
            ("include_usage", Value::Bool(flag)) => include_usage = *flag,
            ("include_usage", _) => {
                return Err(FieldError::new(
                    "stream_options.include_usage",
                    "must be a boolean",
                ));
            }
            (other, _) => {
                return Err(FieldError::new(
                    format!("stream_options.{other}"),
                    "this server does not support it",
                ));
            }
        }
    }
    Ok(include_usage)
}

fn parse_message(index: usize, message: &Value) -> Result<Message, FieldError> {
    let at = |name: &str| format!("messages[{index}].{name}");
    let Value::Object(message) = message else {
        return Err(FieldError::new(
            format!("messages[{index}]"),
            "must be an object",
        ));
    };
    for (name, value) in message {
        if !matches!(name.as_str(), "role" | "content" | "name") && !value.is_null() {
            return Err(FieldError::new(at(name), "this server does not support it"));
        }
    }
    let role = match message.get("role") {
        Some(Value::String(role))
            if matches!(role.as_str(), "system" | "developer" | "user" | "assistant") =>
        {
            role.clone()
        }
        Some(_) => {
            return Err(FieldError::new(
                at("role"),
                "must be `system`, `developer`, `user` or `assistant`",
            ));
        }
        None => return Err(FieldError::new(at("role"), "missing field")),
    };
    if let Some(name) = message.get("name").filter(|v| !v.is_null())
        && !name.is_string()
    {
        return Err(FieldError::new(at("name"), "must be a string"));
    }
    let content = match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                let part_at = format!("messages[{index}].content[{i}]");
                match (part.get("type"), part.get("text")) {
                    (Some(Value::String(kind)), Some(Value::String(part_text)))
                        if kind == "text" =>
                    {
                        // A text part has `type` and `text`; another field is refused by name
                        // unless null (ORCH-2207).
                        let extra = part
                            .as_object()
                            .into_iter()
                            .flatten()
                            .find(|(name, value)| {
                                !matches!(name.as_str(), "type" | "text") && !value.is_null()
                            });
                        if let Some((name, _)) = extra {
                            return Err(FieldError::new(
                                format!("{part_at}.{name}"),
                                "this server does not support it",
                            ));
                        }
                        text.push_str(part_text);
                    }
                    (Some(Value::String(kind)), _) if kind != "text" => {
                        return Err(FieldError::new(
                            format!("{part_at}.type"),
                            "only `text` parts are supported",
                        ));
                    }
                    _ => {
                        return Err(FieldError::new(
                            part_at,
                            "must be an object with `type: text` and a string `text`",
                        ));
                    }
                }
            }
            text
        }
        Some(_) => {
            return Err(FieldError::new(
                at("content"),
                "must be a string or an array of text parts",
            ));
        }
        None => return Err(FieldError::new(at("content"), "missing field")),
    };
    Ok(Message { role, content })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<ChatRequest, FieldError> {
        parse_chat(body.as_object().unwrap())
    }

    fn minimal() -> Value {
        json!({"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut body = minimal();
        body[field] = value;
        body
    }

    #[spectrace::covers("ORCH-2201", kind = "test")]
    #[test]
    fn a_minimal_request_takes_the_defaults() {
        let request = parse(minimal()).unwrap();
        assert_eq!(request.model, "sim-small");
        assert_eq!(request.prompt, "user: hi\nassistant:");
        assert_eq!(request.max_tokens, None);
        assert_eq!(request.temperature, 1.0);
        assert!(!request.stream && !request.include_usage);
        assert!(request.stop.is_empty() && request.user.is_none() && request.seed.is_none());
    }

    #[spectrace::covers("ORCH-2201", kind = "test")]
    #[test]
    fn messages_render_one_line_each_then_the_assistant_turn() {
        let body = with(
            "messages",
            json!([
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a "}, {"type": "text", "text": "haiku"}], "name": "ann"},
            ]),
        );
        assert_eq!(
            parse(body).unwrap().prompt,
            "system: be brief\nuser: a haiku\nassistant:"
        );
    }

    #[spectrace::covers("ORCH-2205", kind = "test")]
    #[test]
    fn parameters_are_read_and_checked() {
        let mut body = minimal();
        body["max_completion_tokens"] = json!(7);
        body["seed"] = json!(42);
        body["temperature"] = json!(0.5);
        body["stop"] = json!(["a", "b"]);
        body["user"] = json!("u-1");
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let request = parse(body).unwrap();
        assert_eq!(request.max_tokens, Some(7));
        assert_eq!(request.seed, Some(42));
        assert_eq!(request.temperature, 0.5);
        assert_eq!(request.stop, ["a", "b"]);
        assert_eq!(request.user.as_deref(), Some("u-1"));
        assert!(request.stream && request.include_usage);
        assert_eq!(
            parse(with("stop", json!("x"))).unwrap().stop,
            ["x"],
            "a single stop string"
        );
        assert_eq!(
            parse(with("max_tokens", json!(3))).unwrap().max_tokens,
            Some(3)
        );
        for (field, value, named) in [
            ("max_tokens", json!(0), "max_tokens"),
            ("max_completion_tokens", json!(-1), "max_completion_tokens"),
            ("seed", json!(1.5), "seed"),
            ("temperature", json!(2.5), "temperature"),
            ("stop", json!(["a", "b", "c", "d", "e"]), "stop"),
            ("stop", json!([""]), "stop"),
            ("stop", json!([1]), "stop[0]"),
            ("user", json!("has spaces"), "user"),
            ("stream", json!("yes"), "stream"),
            (
                "stream_options",
                json!({"include_usage": true}),
                "stream_options",
            ),
            ("messages", json!([]), "messages"),
            (
                "messages",
                json!([{"role": "tool", "content": "x"}]),
                "messages[0].role",
            ),
            ("messages", json!([{"role": "user"}]), "messages[0].content"),
            (
                "messages",
                json!([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
                "messages[0].content[0].type",
            ),
            (
                "messages",
                json!([{"role": "user", "content": "x", "tool_calls": []}]),
                "messages[0].tool_calls",
            ),
            (
                "messages",
                json!([{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]}]),
                "messages[0].content[0].cache_control",
            ),
            ("model", json!(""), "model"),
        ] {
            let error = parse(with(field, value.clone())).unwrap_err();
            assert_eq!(error.field, named, "{field}: {value}");
            assert!(error.message.contains(&format!("`{named}`")), "{error:?}");
        }
        let mut both = with("max_tokens", json!(3));
        both["max_completion_tokens"] = json!(4);
        assert_eq!(parse(both).unwrap_err().field, "max_tokens");
        let mut no_model = minimal();
        no_model.as_object_mut().unwrap().remove("model");
        assert_eq!(parse(no_model).unwrap_err().field, "model");
    }

    #[spectrace::covers("ORCH-2207", kind = "test")]
    #[test]
    fn unsupported_fields_are_refused_by_name_unless_they_ask_for_nothing() {
        for (field, value) in [
            ("tools", json!([])),
            ("response_format", json!({"type": "json_object"})),
            ("n", json!(2)),
            ("top_p", json!(0.5)),
            ("logprobs", json!(true)),
            ("frequency_penalty", json!(0.1)),
            ("not_an_openai_field", json!(1)),
        ] {
            let error = parse(with(field, value)).unwrap_err();
            assert_eq!(error.field, field);
            assert!(error.message.contains(&format!("`{field}`")));
        }
        for (field, value) in [
            ("n", json!(1)),
            ("top_p", json!(1)),
            ("top_p", json!(1.0)),
            ("frequency_penalty", json!(0.0)),
            ("logprobs", json!(false)),
            ("presence_penalty", json!(0)),
            ("tools", Value::Null),
            ("seed", Value::Null),
        ] {
            assert!(parse(with(field, value)).is_ok(), "{field}");
        }
    }
}
