//! Structured logs (ORCH-3027): one JSON object per line with `ts` (RFC 3339, UTC), `level`
//! and `msg`, and for task events every field of the spec, `null` where it does not apply yet.
//!
//! The sink is injectable so tests can read what was logged; by default it is standard error.
//! Nothing logged carries a prompt or a credential.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

/// Where log lines go.
pub type Sink = Arc<Mutex<dyn Write + Send>>;

/// A JSON-lines logger.
#[derive(Clone)]
pub struct Logger {
    sink: Sink,
}

impl Default for Logger {
    fn default() -> Self {
        Self::new(Arc::new(Mutex::new(std::io::stderr())))
    }
}

/// The names of the task fields every task event carries (ORCH-3027).
pub const TASK_FIELDS: [&str; 13] = [
    "task_id",
    "correlation_id",
    "pool",
    "priority",
    "session_id",
    "replica_id",
    "queue_position",
    "predicted_start_ms",
    "tokens_in",
    "tokens_out",
    "outcome",
    "engine",
    "engine_version",
];

/// The fields of a task event (ORCH-3027).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFields {
    /// Public task id.
    pub task_id: String,
    /// Correlation id of the enqueue request.
    pub correlation_id: String,
    /// Pool id.
    pub pool: String,
    /// `interactive` or `batch`.
    pub priority: String,
    /// Session id.
    pub session_id: Option<String>,
    /// Replica, once dispatched.
    pub replica_id: Option<String>,
    /// Queue position at admission.
    pub queue_position: Option<u64>,
    /// Predicted start at admission.
    pub predicted_start_ms: Option<u64>,
    /// Prompt tokens.
    pub tokens_in: Option<u64>,
    /// Tokens generated, at the end.
    pub tokens_out: Option<u64>,
    /// Terminal state, at the end.
    pub outcome: Option<String>,
    /// Engine kind.
    pub engine: Option<String>,
    /// Engine version.
    pub engine_version: Option<String>,
}

/// An in-memory log, readable while the logger writes to it.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logger {
    /// A logger writing to `sink`.
    pub fn new(sink: Sink) -> Self {
        Self { sink }
    }

    /// A logger that drops everything (tests, `--self-test`).
    pub fn discard() -> Self {
        Self::new(Arc::new(Mutex::new(std::io::sink())))
    }

    /// A logger writing into memory, and the handle to read it.
    pub fn captured() -> (Self, Captured) {
        let captured = Captured::default();
        (Self::new(Arc::new(Mutex::new(captured.clone()))), captured)
    }

    /// Writes one line; a failing sink never stops the server.
    pub fn log(&self, level: &str, msg: &str, fields: Map<String, Value>) {
        let mut line = Map::new();
        line.insert(
            "ts".into(),
            json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
        );
        line.insert("level".into(), json!(level));
        line.insert("msg".into(), json!(msg));
        line.extend(fields);
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = sink.write_all(text.as_bytes());
    }

    /// A task event (`task admitted`, `task dispatched`, `task ended`).
    #[spectrace::implements("ORCH-3027")]
    pub fn task(&self, msg: &str, fields: &TaskFields) {
        let map = json!({
            "task_id": fields.task_id,
            "correlation_id": fields.correlation_id,
            "pool": fields.pool,
            "priority": fields.priority,
            "session_id": fields.session_id,
            "replica_id": fields.replica_id,
            "queue_position": fields.queue_position,
            "predicted_start_ms": fields.predicted_start_ms,
            "tokens_in": fields.tokens_in,
            "tokens_out": fields.tokens_out,
            "outcome": fields.outcome,
            "engine": fields.engine,
            "engine_version": fields.engine_version,
        });
        if let Value::Object(map) = map {
            self.log("info", msg, map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[spectrace::covers("ORCH-3027")]
    #[test]
    fn one_json_object_per_line_with_every_field() {
        let (logger, captured) = Logger::captured();
        logger.task(
            "task admitted",
            &TaskFields {
                task_id: "t".into(),
                correlation_id: "c".into(),
                pool: "default".into(),
                priority: "batch".into(),
                queue_position: Some(3),
                ..TaskFields::default()
            },
        );
        let text = captured.text();
        assert_eq!(text.lines().count(), 1);
        let line: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["msg"], "task admitted");
        assert_eq!(line["level"], "info");
        assert!(line["ts"].as_str().unwrap().ends_with('Z'));
        assert_eq!(line["queue_position"], 3);
        assert_eq!(line["replica_id"], Value::Null);
        for field in TASK_FIELDS {
            assert!(line.get(field).is_some(), "{field}");
        }
    }
}
