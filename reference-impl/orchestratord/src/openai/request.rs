//! Reading an OpenAI completion request, chat (`/v1/chat/completions`) or text
//! (`/v1/completions`): which fields the server supports, which OpenAI fields it refuses (by
//! name, never ignored), how the messages become one prompt, the checks on each value, and the
//! request headers that choose the priority class and the deadline. Pure: a JSON object (and
//! header values) in, a [`CompletionRequest`] (and [`Admission`]) or a [`FieldError`] out.

use orchestrator_core::Priority;
use serde_json::{Map, Value};

/// Most stop sequences a request may give, as in OpenAI's API.
pub const MAX_STOP_SEQUENCES: usize = 4;

/// The request header that picks the priority class of a completion's task.
pub const PRIORITY_HEADER: &str = "x-priority";

/// The request header that gives a completion's task a deadline, as the task API's
/// `deadline_ms`.
pub const DEADLINE_HEADER: &str = "x-deadline-ms";

/// The fields of a kind of completion request: those the server supports, and the OpenAI
/// fields it does not support, each with the one value it accepts because that value asks for
/// nothing (OpenAI's default), if any.
struct Fields {
    supported: &'static [&'static str],
    unsupported: &'static [(&'static str, Option<&'static str>)],
}

/// The fields of OpenAI's chat completion request.
#[spectrace::implements("ORCH-2207")]
const CHAT_FIELDS: Fields = Fields {
    supported: &[
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
    ],
    unsupported: &[
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
    ],
};

/// The fields of OpenAI's (legacy) text completion request.
#[spectrace::implements("ORCH-2217")]
const TEXT_FIELDS: Fields = Fields {
    supported: &[
        "model",
        "prompt",
        "max_tokens",
        "seed",
        "temperature",
        "stop",
        "user",
        "stream",
        "stream_options",
    ],
    unsupported: &[
        ("best_of", Some("1")),
        ("echo", Some("false")),
        ("frequency_penalty", Some("0")),
        ("logit_bias", None),
        ("logprobs", None),
        ("n", Some("1")),
        ("presence_penalty", Some("0")),
        ("suffix", None),
        ("top_p", Some("1")),
        ("top_k", None),
        ("n_probs", None),
    ],
};

/// A refused request: the field at fault (a JSON path such as `messages[1].role`, or a header
/// name) and why.
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

    fn header(name: &str, why: &str) -> Self {
        Self {
            field: name.to_owned(),
            message: format!("invalid header `{name}`: {why}"),
        }
    }
}

/// A valid completion request, chat or text: what the task is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    /// The model, which selects the pool.
    pub model: String,
    /// The prompt: the messages rendered ([`render_prompt`]), or a text completion's `prompt`.
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

/// How a completion's task is admitted, from the request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The priority class: [`PRIORITY_HEADER`], `interactive` when absent.
    pub priority: Priority,
    /// The relative deadline of [`DEADLINE_HEADER`], if given.
    pub deadline_ms: Option<u64>,
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
#[spectrace::implements("ORCH-2212")]
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
#[spectrace::implements("ORCH-2201")]
pub fn parse_chat(body: &Map<String, Value>) -> Result<CompletionRequest, FieldError> {
    refuse_unsupported(body, &CHAT_FIELDS)?;
    let model = parse_model(body)?;
    let messages = match field(body, "messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages
            .iter()
            .enumerate()
            .map(|(i, m)| parse_message(i, m))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(FieldError::new("messages", "must be a non-empty array")),
        None => return Err(FieldError::new("messages", "missing field")),
    };
    let max_tokens = parse_max_tokens(body)?;
    let max_completion_tokens = positive(
        field(body, "max_completion_tokens"),
        "max_completion_tokens",
    )?;
    if max_tokens.is_some() && max_completion_tokens.is_some() {
        return Err(FieldError::new(
            "max_tokens",
            "give either max_tokens or max_completion_tokens, not both",
        ));
    }
    parse_sampling(
        body,
        model,
        render_prompt(&messages),
        max_tokens.or(max_completion_tokens),
    )
}

/// Reads a text completion request from its JSON object: `prompt` is a non-empty string, or an
/// array holding exactly one, and is the task's prompt unchanged. A field set to `null` counts
/// as absent.
#[spectrace::implements("ORCH-2213")]
pub fn parse_text(body: &Map<String, Value>) -> Result<CompletionRequest, FieldError> {
    refuse_unsupported(body, &TEXT_FIELDS)?;
    let model = parse_model(body)?;
    let prompt = match field(body, "prompt") {
        Some(Value::String(prompt)) if !prompt.is_empty() => prompt.clone(),
        Some(Value::Array(prompts)) => match prompts.as_slice() {
            [Value::String(prompt)] if !prompt.is_empty() => prompt.clone(),
            _ => {
                return Err(FieldError::new(
                    "prompt",
                    "an array must hold exactly one non-empty string (this server takes one prompt per request, and no token arrays)",
                ));
            }
        },
        Some(_) => {
            return Err(FieldError::new(
                "prompt",
                "must be a non-empty string or an array of one",
            ));
        }
        None => return Err(FieldError::new("prompt", "missing field")),
    };
    let max_tokens = parse_max_tokens(body)?;
    parse_sampling(body, model, prompt, max_tokens)
}

/// Reads the request headers that choose how the task is admitted: [`PRIORITY_HEADER`]
/// (`interactive` or `batch`) and [`DEADLINE_HEADER`] (milliseconds, at least 1). Each is given
/// as its value, `None` when absent; a value that is not text is passed as `Some(None)`.
#[spectrace::implements("ORCH-2215", "ORCH-2216")]
pub fn parse_admission(
    priority: Option<Option<&str>>,
    deadline: Option<Option<&str>>,
) -> Result<Admission, FieldError> {
    let priority = match priority {
        None => Priority::Interactive,
        Some(Some("interactive")) => Priority::Interactive,
        Some(Some("batch")) => Priority::Batch,
        Some(_) => {
            return Err(FieldError::header(
                "X-Priority",
                "must be `interactive` or `batch`",
            ));
        }
    };
    let deadline_ms = match deadline {
        None => None,
        Some(value) => Some(
            value
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    FieldError::header(
                        "X-Deadline-Ms",
                        "must be a whole number of milliseconds from 1 to 2^64-1",
                    )
                })?,
        ),
    };
    Ok(Admission {
        priority,
        deadline_ms,
    })
}

/// The field's value, `None` when absent or `null`.
fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

/// Refuses, by name, every field that is neither supported nor `null` nor, for an OpenAI field
/// this server does not support, the value that asks for nothing.
#[spectrace::implements("ORCH-2207", "ORCH-2217")]
fn refuse_unsupported(body: &Map<String, Value>, fields: &Fields) -> Result<(), FieldError> {
    for (name, value) in body {
        if value.is_null() || fields.supported.contains(&name.as_str()) {
            continue;
        }
        match fields.unsupported.iter().find(|(field, _)| *field == name) {
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
    Ok(())
}

fn parse_model(body: &Map<String, Value>) -> Result<String, FieldError> {
    match field(body, "model") {
        Some(Value::String(model)) if !model.is_empty() => Ok(model.clone()),
        Some(_) => Err(FieldError::new("model", "must be a non-empty string")),
        None => Err(FieldError::new("model", "missing field")),
    }
}

#[spectrace::implements("ORCH-2205")]
fn parse_max_tokens(body: &Map<String, Value>) -> Result<Option<u64>, FieldError> {
    positive(field(body, "max_tokens"), "max_tokens")
}

/// The fields both kinds share: `seed`, `temperature`, `stop`, `user`, `stream` and
/// `stream_options`.
#[spectrace::implements("ORCH-2205")]
fn parse_sampling(
    body: &Map<String, Value>,
    model: String,
    prompt: String,
    max_tokens: Option<u64>,
) -> Result<CompletionRequest, FieldError> {
    let seed = match field(body, "seed") {
        Some(value) => Some(
            value
                .as_u64()
                .ok_or_else(|| FieldError::new("seed", "must be an integer from 0 to 2^64-1"))?,
        ),
        None => None,
    };
    let temperature = match field(body, "temperature") {
        Some(value) => value
            .as_f64()
            .filter(|t| (0.0..=2.0).contains(t))
            .ok_or_else(|| FieldError::new("temperature", "must be a number from 0 to 2"))?,
        None => 1.0,
    };
    let stop = parse_stop(field(body, "stop"))?;
    let user = match field(body, "user") {
        Some(Value::String(user)) if is_session_id(user) => Some(user.clone()),
        Some(_) => {
            return Err(FieldError::new(
                "user",
                "must be 1 to 128 characters of A-Z, a-z, 0-9, `.`, `_`, `:` or `-`",
            ));
        }
        None => None,
    };
    let stream = match field(body, "stream") {
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err(FieldError::new("stream", "must be a boolean")),
        None => false,
    };
    let include_usage = match field(body, "stream_options") {
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
    Ok(CompletionRequest {
        model,
        prompt,
        max_tokens,
        seed,
        temperature,
        stop,
        user,
        stream,
        include_usage,
    })
}

/// True when `value` is the field's neutral value; numbers compare by value (`1` and `1.0`).
#[spectrace::implements("ORCH-2207", "ORCH-2217")]
fn asks_for_nothing(value: &Value, neutral: &str) -> bool {
    match (value, serde_json::from_str::<Value>(neutral)) {
        (Value::Number(n), Ok(Value::Number(m))) => n.as_f64() == m.as_f64(),
        (value, Ok(neutral)) => *value == neutral,
        (_, Err(_)) => false,
    }
}

/// A session id the task API would accept: what a `user` may be.
#[spectrace::implements("ORCH-2210")]
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

#[spectrace::implements("ORCH-2206")]
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

#[spectrace::implements("ORCH-2202", "ORCH-2214")]
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

    fn parse(body: Value) -> Result<CompletionRequest, FieldError> {
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

    fn text(body: Value) -> Result<CompletionRequest, FieldError> {
        parse_text(body.as_object().unwrap())
    }

    #[spectrace::covers("ORCH-2213", kind = "test")]
    #[test]
    fn a_text_prompt_is_one_string_taken_unchanged() {
        for prompt in [json!("Once\nupon"), json!(["Once\nupon"])] {
            let request = text(json!({"model": "m", "prompt": prompt})).unwrap();
            assert_eq!(request.prompt, "Once\nupon");
            assert_eq!(request.max_tokens, None);
            assert_eq!(request.temperature, 1.0);
        }
        for prompt in [
            json!(["a", "b"]),
            json!([]),
            json!([[1]]),
            json!([1]),
            json!(""),
            json!([""]),
            json!({}),
        ] {
            let error = text(json!({"model": "m", "prompt": prompt})).unwrap_err();
            assert_eq!(error.field, "prompt", "{prompt}");
            assert!(error.message.contains("`prompt`"));
        }
        assert_eq!(text(json!({"model": "m"})).unwrap_err().field, "prompt");
        assert_eq!(text(json!({"prompt": "p"})).unwrap_err().field, "model");
    }

    #[spectrace::covers("ORCH-2217", kind = "test")]
    #[test]
    fn unsupported_text_fields_are_refused_by_name_unless_they_ask_for_nothing() {
        let with = |field: &str, value: Value| {
            let mut body = json!({"model": "m", "prompt": "p"});
            body[field] = value;
            text(body)
        };
        for (field, value) in [
            ("echo", json!(true)),
            ("suffix", json!("x")),
            ("best_of", json!(3)),
            ("logprobs", json!(0)),
            ("n", json!(2)),
            ("logit_bias", json!({})),
            ("top_p", json!(0.9)),
            ("max_completion_tokens", json!(3)),
            ("messages", json!([])),
        ] {
            let error = with(field, value).unwrap_err();
            assert_eq!(error.field, field);
            assert!(error.message.contains(&format!("`{field}`")));
        }
        for (field, value) in [
            ("echo", json!(false)),
            ("best_of", json!(1)),
            ("n", json!(1.0)),
            ("suffix", Value::Null),
            ("logprobs", Value::Null),
            ("presence_penalty", json!(0)),
        ] {
            assert!(with(field, value).is_ok(), "{field}");
        }
        let request = with("stop", json!(["\n"])).unwrap();
        assert_eq!(request.stop, ["\n"]);
    }

    #[spectrace::covers("ORCH-2215", "ORCH-2216", kind = "test")]
    #[test]
    fn the_admission_headers_pick_the_class_and_the_deadline() {
        let ok = |p, d| parse_admission(p, d).unwrap();
        assert_eq!(
            ok(None, None),
            Admission {
                priority: Priority::Interactive,
                deadline_ms: None
            }
        );
        assert_eq!(ok(Some(Some("batch")), None).priority, Priority::Batch);
        assert_eq!(
            ok(Some(Some("interactive")), None).priority,
            Priority::Interactive
        );
        assert_eq!(ok(None, Some(Some("1"))).deadline_ms, Some(1));
        assert_eq!(
            ok(None, Some(Some("18446744073709551615"))).deadline_ms,
            Some(u64::MAX)
        );
        for priority in [Some("BATCH"), Some(""), None] {
            let error = parse_admission(Some(priority), None).unwrap_err();
            assert_eq!(error.field, "X-Priority");
            assert!(error.message.contains("`X-Priority`"));
        }
        for deadline in [Some("0"), Some("-1"), Some("1e3"), Some(" 5"), None] {
            let error = parse_admission(None, Some(deadline)).unwrap_err();
            assert_eq!(error.field, "X-Deadline-Ms", "{deadline:?}");
        }
    }

    #[spectrace::covers("ORCH-2201", kind = "test")]
    #[test]
    fn messages_must_be_a_non_empty_array() {
        let mut missing = minimal();
        missing.as_object_mut().unwrap().remove("messages");
        for body in [
            with("messages", json!([])),
            with("messages", json!({"role": "user", "content": "hi"})),
            with("messages", json!("hi")),
            missing,
        ] {
            let error = parse(body.clone()).unwrap_err();
            assert_eq!(error.field, "messages", "{body}");
            assert!(error.message.contains("`messages`"), "{error:?}");
        }
    }

    #[spectrace::covers("ORCH-2210", kind = "test")]
    #[test]
    fn user_must_be_a_session_id() {
        let longest = "a".repeat(128);
        for user in ["s-1", "a.b_c:d-E9", longest.as_str()] {
            assert_eq!(
                parse(with("user", json!(user))).unwrap().user.as_deref(),
                Some(user)
            );
        }
        let too_long = "a".repeat(129);
        for user in ["", "has spaces", "ümlaut", "a/b", too_long.as_str()] {
            let error = parse(with("user", json!(user))).unwrap_err();
            assert_eq!(error.field, "user", "{user:?}");
        }
        assert_eq!(
            text(json!({"model": "m", "prompt": "p", "user": "has spaces"}))
                .unwrap_err()
                .field,
            "user"
        );
    }

    #[spectrace::covers("ORCH-2206", kind = "test")]
    #[test]
    fn stop_is_a_string_or_at_most_four_non_empty_strings() {
        assert_eq!(parse(with("stop", json!("\n"))).unwrap().stop, ["\n"]);
        let four = parse(with("stop", json!(["a", "b", "c", "d"]))).unwrap();
        assert_eq!(four.stop, ["a", "b", "c", "d"]);
        for value in [
            json!(["a", "b", "c", "d", "e"]),
            json!(["a", ""]),
            json!(""),
            json!(7),
        ] {
            assert_eq!(
                parse(with("stop", value.clone())).unwrap_err().field,
                "stop",
                "{value}"
            );
        }
    }

    #[spectrace::covers("ORCH-2202", "ORCH-2214", kind = "test")]
    #[test]
    fn include_usage_is_what_stream_options_says() {
        for (options, include_usage) in [
            (json!({"include_usage": true}), true),
            (json!({"include_usage": false}), false),
            (json!({"include_usage": null}), false),
            (json!({}), false),
        ] {
            let mut chat = with("stream", json!(true));
            chat["stream_options"] = options.clone();
            assert_eq!(
                parse(chat).unwrap().include_usage,
                include_usage,
                "{options}"
            );
            let body =
                json!({"model": "m", "prompt": "p", "stream": true, "stream_options": options});
            assert_eq!(
                text(body).unwrap().include_usage,
                include_usage,
                "{options}"
            );
        }
    }
}
