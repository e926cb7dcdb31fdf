//! The scenario's world: the configuration the `Given` steps build, the orchestratord started
//! from it (lazily, by the first step that talks to it), the last answer, and the tasks and
//! event streams the scenario refers to by name.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::reader::Reader;
use super::server::Server;

/// How long a step waits for something that should happen (a state, an event, an answer)
/// before it fails. Generous: the machine may be loaded.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often a step polls for a state.
pub const POLL: Duration = Duration::from_millis(10);

/// The prompt of a task whose prompt the scenario does not give.
pub const DEFAULT_PROMPT: &str = "Write a haiku about queues.";

/// What orchestratord is started from.
#[derive(Debug, Clone)]
pub enum Setup {
    /// The configuration document the `Given` steps build (JSON, which is YAML).
    Document(Value),
    /// A configuration file's text, as given.
    Text(String),
    /// No configuration file: `orchestratord::default_config()`, with the control key that
    /// `ORCHESTRATORD_API_KEY` would hold (orchestratord reads it only in this mode).
    ZeroConfig {
        /// The key, if the variable is set.
        api_key: Option<String>,
    },
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (fails the step when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An admitted task.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// Its id.
    pub id: String,
    /// The `202` body.
    pub body: Value,
}

/// Keeps a background task running until the world is dropped.
#[derive(Debug)]
pub struct Background(pub tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The world of one scenario.
#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct Orch {
    /// What orchestratord is started from.
    pub setup: Setup,
    /// The control keys configured, in clear (the operator's steps present the first).
    pub control_keys: Vec<String>,
    /// The running server.
    pub server: Option<Server>,
    /// Why orchestratord refused to start.
    pub refusal: Option<String>,
    /// The HTTP client, fresh per scenario.
    pub http: reqwest::Client,
    /// The `Authorization` header the client's requests carry.
    pub credentials: Option<String>,
    /// The last answer.
    pub last: Option<Answer>,
    /// The last correlation id sent.
    pub sent_correlation_id: Option<String>,
    /// Admitted tasks by name.
    pub tasks: BTreeMap<String, Admitted>,
    /// Event streams by task name.
    pub readers: BTreeMap<String, Reader>,
    /// Event streams being read in the background, by task name: the reader and whether the
    /// server closed the stream.
    pub reading: BTreeMap<String, tokio::task::JoinHandle<(Reader, bool)>>,
    /// `tokens_out` of each cancelled task right after its cancel was answered.
    pub tokens_at_cancel: BTreeMap<String, u64>,
    /// Values of `replicas_ready` seen by a watcher, by pool.
    pub watched: BTreeMap<String, std::sync::Arc<std::sync::Mutex<Vec<u64>>>>,
    /// Background work of the scenario (watchers).
    pub background: Vec<Background>,
    /// Files the scenario writes (keys, models).
    pub scratch: tempfile::TempDir,
}

impl Orch {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            setup: Setup::Document(json!({ "pools": [] })),
            control_keys: Vec::new(),
            server: None,
            refusal: None,
            http: reqwest::Client::new(),
            credentials: None,
            last: None,
            sent_correlation_id: None,
            tasks: BTreeMap::new(),
            readers: BTreeMap::new(),
            reading: BTreeMap::new(),
            tokens_at_cancel: BTreeMap::new(),
            watched: BTreeMap::new(),
            background: Vec::new(),
            scratch: tempfile::tempdir()?,
        })
    }

    /// The configuration document, for a `Given` step to change.
    pub fn document(&mut self) -> &mut Value {
        assert!(
            self.server.is_none() && self.refusal.is_none(),
            "the configuration cannot change once orchestratord has started"
        );
        match &mut self.setup {
            Setup::Document(doc) => doc,
            other => panic!("this scenario starts orchestratord from {other:?}"),
        }
    }

    /// The pool `id` of the configuration document.
    pub fn pool(&mut self, id: &str) -> &mut Value {
        let pools = self.document()["pools"]
            .as_array_mut()
            .unwrap_or_else(|| panic!("the configuration has no pool list"));
        pools
            .iter_mut()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("no pool `{id}` is configured; add it with a Given step"))
    }

    /// The pool `id` as configured so far (also once the server runs).
    pub fn pool_config(&self, id: &str) -> Option<&Value> {
        match &self.setup {
            Setup::Document(doc) => doc["pools"]
                .as_array()
                .and_then(|pools| pools.iter().find(|p| p["id"] == id)),
            _ => None,
        }
    }

    /// Writes `content` into a file of the scenario's scratch directory; its path.
    pub fn scratch_file(&self, name: &str, content: &[u8]) -> String {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
        path.to_string_lossy().into_owned()
    }

    /// Starts orchestratord from the setup; on failure keeps the reason in `refusal`.
    pub async fn start(&mut self) {
        if self.server.is_some() || self.refusal.is_some() {
            return;
        }
        match self.start_server().await {
            Ok(server) => self.server = Some(server),
            Err(reason) => self.refusal = Some(reason),
        }
    }

    async fn start_server(&self) -> Result<Server, String> {
        use orchestratord::auth::Keys;
        let (config, keys) = match &self.setup {
            Setup::ZeroConfig { api_key } => (
                orchestratord::default_config(),
                Keys::new(api_key.iter().cloned()),
            ),
            Setup::Document(doc) => self.load(&doc.to_string())?,
            Setup::Text(text) => self.load(text)?,
        };
        Server::start(config, keys).await
    }

    /// As `orchestratord --config FILE` does: validate and load the file, then resolve the
    /// control keys it names.
    fn load(
        &self,
        text: &str,
    ) -> Result<(orchestrator_config::Config, orchestratord::auth::Keys), String> {
        let config = orchestrator_config::load_yaml(text).map_err(|e| e.to_string())?;
        let keys = orchestratord::auth::Keys::resolve(&config.auth.control_keys)?;
        Ok((config, keys))
    }

    /// The server's base URL, starting it if needed; fails the step when it refused to start.
    pub async fn base(&mut self) -> String {
        self.start().await;
        match (&self.server, &self.refusal) {
            (Some(server), _) => server.base.clone(),
            (None, Some(reason)) => panic!("orchestratord refused to start: {reason}"),
            (None, None) => panic!("orchestratord did not start"),
        }
    }

    /// A request to `path` carrying the scenario's credentials.
    pub async fn request(
        &mut self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base().await);
        let request = self.http.request(method, url).timeout(WAIT);
        match &self.credentials {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
            None => request,
        }
    }

    /// A request to `path` with the operator's control key.
    pub async fn operator_request(
        &mut self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let key = self
            .control_keys
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no control plane key is configured for the operator"));
        let url = format!("{}{path}", self.base().await);
        self.http
            .request(method, url)
            .timeout(WAIT)
            .bearer_auth(key)
    }

    /// Sends a request and keeps its answer as the last one.
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> &Answer {
        let answer = fetch(request).await;
        self.last.insert(answer)
    }

    /// The last answer.
    pub fn answer(&self) -> &Answer {
        self.last
            .as_ref()
            .unwrap_or_else(|| panic!("no request has been answered yet"))
    }

    /// The admitted task named `name`.
    pub fn task(&self, name: &str) -> &Admitted {
        self.tasks
            .get(name)
            .unwrap_or_else(|| panic!("no admitted task named `{name}`"))
    }

    /// Enqueues `body` as the task `name`; remembers it when admitted.
    pub async fn enqueue(&mut self, name: &str, body: Value) -> &Answer {
        let request = self
            .request(reqwest::Method::POST, "/v1/tasks")
            .await
            .json(&body);
        let answer = fetch(request).await;
        if answer.status == 202 {
            let body = answer.json();
            let id = body["task_id"]
                .as_str()
                .unwrap_or_else(|| panic!("202 without a task_id: {body}"))
                .to_owned();
            self.tasks.insert(name.to_owned(), Admitted { id, body });
        }
        self.last.insert(answer)
    }

    /// Enqueues the task `name` and fails the step unless it is admitted.
    pub async fn enqueue_admitted(&mut self, name: &str, body: Value) {
        let answer = self.enqueue(name, body).await;
        assert_eq!(
            answer.status,
            202,
            "task {name} not admitted: {}",
            answer.text()
        );
    }

    /// The task's status (`GET /v1/tasks/{id}`), without touching the last answer.
    pub async fn status_of(&mut self, name: &str) -> Value {
        let path = format!("/v1/tasks/{}", self.task(name).id);
        let answer = fetch(self.request(reqwest::Method::GET, &path).await).await;
        assert_eq!(answer.status, 200, "reading task {name}: {}", answer.text());
        answer.json()
    }

    /// Polls the task until its state is `state`; fails the step after `within`.
    pub async fn wait_for_state(&mut self, name: &str, state: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let status = self.status_of(name).await;
            if status["state"] == state {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "task {name} did not reach the state {state} within {within:?}: {status}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Opens the event stream of the task `name`. A `200` becomes the task's reader; any other
    /// answer (or a second `200`) is kept as the last answer.
    pub async fn open_stream(&mut self, name: &str) {
        let path = format!("/v1/tasks/{}/events", self.task(name).id);
        let request = self.request(reqwest::Method::GET, &path).await;
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if status == 200 && !self.readers.contains_key(name) {
            self.readers.insert(name.to_owned(), Reader::new(response));
            self.last = Some(Answer {
                status,
                headers,
                body: Vec::new(),
            });
        } else {
            let body = if status == 200 {
                Vec::new()
            } else {
                response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default()
            };
            self.last = Some(Answer {
                status,
                headers,
                body,
            });
        }
    }

    /// The task's reader, opening its stream first when needed.
    pub async fn reader(&mut self, name: &str) -> &mut Reader {
        if !self.readers.contains_key(name) {
            self.open_stream(name).await;
        }
        self.readers
            .get_mut(name)
            .unwrap_or_else(|| panic!("the event stream of task {name} could not be opened"))
    }

    /// The task's whole stream: read until the server closes it (fails the step after `within`).
    pub async fn finished_stream(&mut self, name: &str, within: Duration) -> &Reader {
        let reader = self.reader(name).await;
        if !reader.ended {
            let closed = reader.read_to_end(within).await;
            assert!(
                closed,
                "the event stream of task {name} did not end within {within:?}; events so far: {:?}",
                reader.events
            );
        }
        reader
    }
}

/// Sends a request and reads the whole answer (fails the step when there is none).
pub async fn fetch(request: reqwest::RequestBuilder) -> Answer {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("the request failed: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("the body could not be read: {e}"))
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}
