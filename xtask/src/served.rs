//! What the gates that drive a real orchestratord from a Python client share (`ci:openai-sdk`,
//! `ci:schemathesis`): a venv under the target directory holding exactly the pinned packages
//! of a `requirements.txt`, the orchestratord binary built as the test gate builds it, and a
//! [`Server`] started on `127.0.0.1:0` whose address is read from its `listening on` line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// What orchestratord prints once it listens, before the URL.
const LISTENING: &str = "orchestratord: listening on ";
/// How long start-up (configuration, preload of the sim pools) may take before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `command` with live output, echoing it first; `Err` names the command.
pub fn step(workspace: &Workspace, mut command: Command) -> Result<(), String> {
    println!("$ {}", workspace.display(&command));
    run_streaming(&mut command).map_err(|e| format!("`{}`: {e}", workspace.display(&command)))
}

/// The venv `<target>/<name>` (created when missing) with the packages of `requirements`
/// (relative to the workspace root) installed; returns its `python3`.
pub fn venv(workspace: &Workspace, name: &str, requirements: &str) -> Result<PathBuf, String> {
    let venv = workspace.target.join(name);
    let python = venv.join("bin").join("python3");
    if !python.is_file() {
        step(
            workspace,
            workspace.command(
                "python3",
                ["-m".as_ref(), "venv".as_ref(), venv.as_os_str()],
            ),
        )?;
    }
    step(
        workspace,
        workspace.command(
            &python,
            [
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                requirements,
            ],
        ),
    )?;
    Ok(python)
}

/// Builds the orchestratord binary with `--workspace` (the test gate's feature resolution, so
/// nothing is rebuilt for another feature set).
pub fn build_orchestratord(workspace: &Workspace) -> Result<(), String> {
    step(
        workspace,
        workspace.cargo(["build", "--workspace", "--bin", "orchestratord"]),
    )
}

/// A key for this run only: the server and the client both get it from us.
pub fn run_key(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A running orchestratord; dropping it kills it.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Where its stderr goes.
    pub log: PathBuf,
    child: Child,
}

impl Server {
    /// Starts the debug build with `config` and the environment `env` (the keys the
    /// configuration names), sends its stderr to `log`, and waits for its address.
    pub fn start(
        workspace: &Workspace,
        config: &Path,
        log: &Path,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let binary = workspace.binary("debug", "orchestratord");
        let mut command = workspace.command(
            &binary,
            [
                "--config".as_ref(),
                config.as_os_str(),
                "--addr".as_ref(),
                "127.0.0.1:0".as_ref(),
            ],
        );
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("orchestratord has no stderr")?;
        let mut file =
            File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let (sender, receiver) = mpsc::channel();
        // Copies every line to the log, and hands over the first `listening on` line.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(file, "{line}");
                if let Some(url) = line.strip_prefix(LISTENING) {
                    let _ = sender.send(url.to_owned());
                }
            }
        });
        let mut server = Server {
            url: String::new(),
            log: log.to_owned(),
            child,
        };
        server.url = receiver.recv_timeout(START_TIMEOUT).map_err(|_| {
            format!(
                "orchestratord did not say where it listens (see {})",
                log.display()
            )
        })?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
