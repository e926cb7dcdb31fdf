//! Custom cucumber-expression parameter types: `{method}`, `{body}`, `{priority}`, `{json}` and
//! `{names}`.

use std::str::FromStr;

use cucumber::Parameter;
use serde_json::Value;

/// An HTTP method: `{method}`.
#[derive(Debug, Clone, Parameter)]
#[param(name = "method", regex = "GET|POST|PUT|PATCH|DELETE|HEAD")]
pub struct Method(pub reqwest::Method);

impl FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        reqwest::Method::from_bytes(s.as_bytes())
            .map(Method)
            .map_err(|e| e.to_string())
    }
}

/// A request body written between backticks, exactly as sent: `{body}`. An empty body (two
/// backticks) sends no body.
#[derive(Debug, Clone, Parameter)]
#[param(name = "body", regex = "`[^`]*`")]
pub struct Body(pub String);

impl FromStr for Body {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('`')
            .and_then(|s| s.strip_suffix('`'))
            .map(|s| Body(s.to_owned()))
            .ok_or_else(|| format!("a body is written between backticks: {s}"))
    }
}

/// A priority class: `{priority}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(name = "priority", regex = "interactive|batch")]
pub enum Priority {
    /// `interactive`.
    Interactive,
    /// `batch`.
    Batch,
}

impl Priority {
    /// The contract's name of the class.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Batch => "batch",
        }
    }
}

impl FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interactive" => Ok(Priority::Interactive),
            "batch" => Ok(Priority::Batch),
            other => Err(format!("no priority class `{other}`")),
        }
    }
}

/// A JSON literal: a quoted string, a number, `true`, `false` or `null`: `{json}`.
#[derive(Debug, Clone, PartialEq, Parameter)]
#[param(
    name = "json",
    regex = r#""[^"]*"|-?[0-9]+(?:\.[0-9]+)?|true|false|null"#
)]
pub struct Json(pub Value);

impl FromStr for Json {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(s)
            .map(Json)
            .map_err(|e| format!("not a JSON literal `{s}`: {e}"))
    }
}

/// A comma-separated list of names, such as field or event names: `{names}`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "names", regex = r"[A-Za-z0-9_.-]+(?:, [A-Za-z0-9_.-]+)*")]
pub struct Names(pub Vec<String>);

impl FromStr for Names {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Names(split_list(s)))
    }
}

/// `"a, b, c"` → `["a", "b", "c"]`.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A table cell as JSON: an integer or decimal number, `true`, `false`, `null`, a quoted
/// string (quotes removed), or else the text itself as a string.
pub fn cell_value(cell: &str) -> Value {
    let cell = cell.trim();
    if let Ok(n) = cell.parse::<u64>() {
        return Value::from(n);
    }
    if let Ok(n) = cell.parse::<i64>() {
        return Value::from(n);
    }
    if cell.contains('.')
        && let Ok(x) = cell.parse::<f64>()
    {
        return Value::from(x);
    }
    match cell {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => cell
            .strip_prefix('"')
            .and_then(|c| c.strip_suffix('"'))
            .map_or_else(|| Value::from(cell), Value::from),
    }
}

/// The value at a dotted path (`queue_depth.interactive`, `pools.0.id`) of a JSON value.
pub fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(key),
    })
}
