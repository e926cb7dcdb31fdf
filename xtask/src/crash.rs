//! `cargo xtask ci:crash`: what `kill -9` leaves behind. On a generated repository of 10,000
//! requirements ([`scale_corpus`]), `spectrace report` and then `spectrace site` are each
//! started [`ROUNDS`] times and killed with `SIGKILL`: every other time after a random delay
//! within 0–110 % of their usual run time, and every other time a random few milliseconds
//! after writing began (a temporary appeared), alternating between two run records (so every run has something new to write).
//! After each kill:
//!
//! - every output file of `report` holds exactly its content before the run or the content the
//!   run would write (byte for byte), and the site directory is wholly the old site or wholly
//!   the new one;
//! - the same command run to the end writes the new outputs and leaves no temporary file or
//!   staging directory beside them: stale ones of the killed run are cleaned up.
//!
//! It prints how many kills landed while the command was writing (a temporary file or staging
//! directory was left, or some outputs were already new). Bounded in time: every run that must
//! finish has [`RUN_LIMIT`], and the whole test stops with a failure after [`TOTAL_LIMIT`].
//! Uses the debug `spectrace` the `test` gate built, or `--binary`'s: the `crash` gate of `ci`
//! passes the release build `ci:example` installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::bench::corpus::{self, Lcg};
use crate::bench::scale_corpus::{self, Shape};
use crate::workspace::Workspace;

/// Kills per command.
const ROUNDS: usize = 100;
/// The most one run that must finish may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// The most the whole test may take.
const TOTAL_LIMIT: Duration = Duration::from_secs(2_400);
/// The corpus.
const SHAPE: Shape = Shape {
    requirements: 10_000,
    tests_per_requirement: 1,
    cover_every: 2,
    shards: 1,
};
/// The run records, relative to the corpus root.
const RECORDS: &str = "reports/run/evidence-1000.jsonl";
/// What `spectrace report` writes, relative to the corpus root.
const REPORT_OUTPUTS: [&str; 4] = [
    "requirements/index.yaml",
    "COMPLIANCE.md",
    "reports/compliance.json",
    "reports/junit.xml",
];
/// The compliance model the site is built from, relative to the corpus root.
const MODEL: &str = "reports/compliance.json";
/// Where the site goes, relative to the corpus root.
const SITE: &str = "site/out";

/// Runs the test; exit 0 when every check held.
pub fn run(workspace: &Workspace, binary: Option<PathBuf>) -> ExitCode {
    let binary = binary.unwrap_or_else(|| workspace.binary("debug", "spectrace"));
    // Each run starts in the corpus directory: a relative `--binary` is made absolute first.
    let binary = std::path::absolute(&binary).unwrap_or(binary);
    match crash(workspace, &binary) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask ci:crash: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// File path (relative) → SHA-256 of the content.
type Snapshot = BTreeMap<String, [u8; 32]>;

fn crash(workspace: &Workspace, binary: &Path) -> Result<(), String> {
    if !binary.is_file() {
        return Err(format!(
            "no {} (build it: cargo build --workspace, or give --binary)",
            binary.display()
        ));
    }
    let started = Instant::now();
    let root = workspace.target.join("crash-corpus");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .map_err(|e| format!("cannot clear {}: {e}", root.display()))?;
    }
    let files = scale_corpus::generate(SHAPE);
    corpus::write(&root, &files).map_err(|e| format!("cannot write the corpus: {e}"))?;
    // Two runs: all records (A), and every other record dropped (B).
    let all = std::fs::read_to_string(root.join(RECORDS)).map_err(|e| e.to_string())?;
    let half: String = all.lines().step_by(2).map(|l| format!("{l}\n")).collect();
    let records = [all, half];
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    println!(
        "==> corpus: {} requirements, {} tests, in {}; seed {seed}",
        SHAPE.requirements,
        SHAPE.tests(),
        root.display()
    );
    let mut rng = Lcg(seed);

    // The outputs of each state, and how long a full run takes.
    let mut report_states: Vec<Snapshot> = Vec::new();
    let mut site_states: Vec<Snapshot> = Vec::new();
    let mut models: Vec<Vec<u8>> = Vec::new();
    let mut report_time = Duration::ZERO;
    let mut site_time = Duration::ZERO;
    for state in &records {
        write_records(&root, state)?;
        report_time = report_time.max(finish(binary, &root, "report")?);
        report_states.push(snapshot_files(&root, &REPORT_OUTPUTS)?);
        models.push(
            std::fs::read(root.join(MODEL)).map_err(|e| format!("cannot read {MODEL}: {e}"))?,
        );
        site_time = site_time.max(finish(binary, &root, "site")?);
        site_states.push(snapshot_tree(&root.join(SITE))?);
    }
    if report_states[0] == report_states[1] || site_states[0] == site_states[1] {
        return Err("the two run records give the same outputs: nothing new to write".into());
    }
    println!(
        "full runs: report {:.0} ms, site {:.0} ms (kills land within 0–110 % of that)",
        report_time.as_secs_f64() * 1e3,
        site_time.as_secs_f64() * 1e3
    );

    let mut state = 1; // The outputs on disk are those of state 1.
    let (mut report_running, mut report_landed) = (0, 0);
    for round in 1..=ROUNDS {
        deadline(started)?;
        let next = 1 - state;
        write_records(&root, &records[next])?;
        let before = snapshot_files(&root, &REPORT_OUTPUTS)?;
        let delay = random_delay(&mut rng, report_time);
        report_running += usize::from(kill_after(binary, &root, "report", delay, round)?);
        let after = snapshot_files(&root, &REPORT_OUTPUTS)?;
        let mut some_new = false;
        for path in REPORT_OUTPUTS {
            let now = after.get(path);
            let old = before.get(path);
            let new = report_states[next].get(path);
            if now != old && now != new {
                return Err(format!(
                    "report round {round}: {path} is neither its old nor its new content after \
                     a kill at {delay:?}"
                ));
            }
            some_new |= now == new && now != old;
        }
        let leftovers = temporaries(&root)?;
        if !leftovers.is_empty() || (some_new && after != report_states[next]) {
            report_landed += 1;
        }
        finish(binary, &root, "report")?;
        let done = snapshot_files(&root, &REPORT_OUTPUTS)?;
        if done != report_states[next] {
            return Err(format!(
                "report round {round}: the run after the kill wrote other outputs"
            ));
        }
        let left = temporaries(&root)?;
        if !left.is_empty() {
            return Err(format!(
                "report round {round}: temporary files left after a successful run: {left:?}"
            ));
        }
        state = next;
        if round.is_multiple_of(10) {
            println!(
                "report: {round}/{ROUNDS} ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "report: {ROUNDS} kills, {report_running} while it ran, {report_landed} of them while it \
         wrote; every output old or new, no temporary left"
    );

    let (mut site_running, mut site_landed) = (0, 0);
    for round in 1..=ROUNDS {
        deadline(started)?;
        let next = 1 - state;
        // The site reads only the model: put the state's in place (what `report` wrote for it).
        std::fs::write(root.join(MODEL), &models[next])
            .map_err(|e| format!("cannot write {MODEL}: {e}"))?;
        let before = snapshot_tree(&root.join(SITE))?;
        let delay = random_delay(&mut rng, site_time);
        site_running += usize::from(kill_after(binary, &root, "site", delay, round)?);
        let after = snapshot_tree(&root.join(SITE))?;
        if after != before && after != site_states[next] {
            return Err(format!(
                "site round {round}: {SITE} is neither wholly old nor wholly new after a kill at \
                 {delay:?}"
            ));
        }
        if !temporaries(&root)?.is_empty() || (after != before && after == site_states[next]) {
            site_landed += 1;
        }
        finish(binary, &root, "site")?;
        if snapshot_tree(&root.join(SITE))? != site_states[next] {
            return Err(format!(
                "site round {round}: the run after the kill built another site"
            ));
        }
        let left = temporaries(&root)?;
        if !left.is_empty() {
            return Err(format!(
                "site round {round}: temporary files or staging directories left after a \
                 successful run: {left:?}"
            ));
        }
        state = next;
        if round.is_multiple_of(10) {
            println!(
                "site: {round}/{ROUNDS} ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "site: {ROUNDS} kills, {site_running} while it ran, {site_landed} of them while it \
         wrote; the site wholly old or new, no staging directory left"
    );
    println!("ci:crash: ok ({:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}

fn deadline(started: Instant) -> Result<(), String> {
    if started.elapsed() > TOTAL_LIMIT {
        return Err(format!("took longer than {TOTAL_LIMIT:?}"));
    }
    Ok(())
}

fn write_records(root: &Path, text: &str) -> Result<(), String> {
    std::fs::write(root.join(RECORDS), text).map_err(|e| format!("cannot write {RECORDS}: {e}"))
}

/// A random delay within 0–110 % of `full`.
fn random_delay(rng: &mut Lcg, full: Duration) -> Duration {
    let permille = rng.below(1_100) as u32;
    full * permille / 1_000
}

fn command(binary: &Path, root: &Path, step: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .arg(step)
        .arg("--root")
        .arg(root)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Runs `spectrace STEP` to the end within [`RUN_LIMIT`]; its wall time.
fn finish(binary: &Path, root: &Path, step: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = command(binary, root, step)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            // `report` may exit 0 only: its outputs are written whatever the gate says.
            if !status.success() {
                return Err(format!("spectrace {step} ended with {status}"));
            }
            return Ok(start.elapsed());
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("spectrace {step} took longer than {RUN_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Starts `spectrace STEP`, sends it `SIGKILL` (when it still runs), reaps it; true when it
/// was still running. Odd rounds kill after `delay`; even rounds aim at the writing: they
/// wait until a temporary file or staging directory appears (writing has begun), then kill
/// after a fraction of `delay` (at most 20 ms), so that kills land inside the short window
/// in which files are written and renamed.
fn kill_after(
    binary: &Path,
    root: &Path,
    step: &str,
    delay: Duration,
    round: usize,
) -> Result<bool, String> {
    let start = Instant::now();
    let mut child = command(binary, root, step)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if round.is_multiple_of(2) {
        while start.elapsed() < RUN_LIMIT
            && child.try_wait().map_err(|e| e.to_string())?.is_none()
            && temporaries(root)?.is_empty()
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep((delay / 50).min(Duration::from_millis(20)));
    } else {
        std::thread::sleep(delay);
    }
    let running = child.try_wait().map_err(|e| e.to_string())?.is_none();
    if running {
        child.kill().map_err(|e| format!("cannot kill: {e}"))?;
    }
    child.wait().map_err(|e| e.to_string())?;
    Ok(running)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The digests of `paths` (relative to `root`) that exist.
fn snapshot_files(root: &Path, paths: &[&str]) -> Result<Snapshot, String> {
    let mut snapshot = Snapshot::new();
    for path in paths {
        match std::fs::read(root.join(path)) {
            Ok(bytes) => {
                snapshot.insert((*path).to_owned(), digest(&bytes));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {path}: {e}")),
        }
    }
    Ok(snapshot)
}

/// The digests of every file under `dir`, by relative path.
fn snapshot_tree(dir: &Path) -> Result<Snapshot, String> {
    fn walk(base: &Path, dir: &Path, out: &mut Snapshot) -> Result<(), String> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
        };
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                walk(base, &path, out)?;
            } else {
                let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
                let rel = path.strip_prefix(base).unwrap_or(&path);
                out.insert(rel.to_string_lossy().into_owned(), digest(&bytes));
            }
        }
        Ok(())
    }
    let mut out = Snapshot::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Temporary files and staging directories beside the outputs: names starting with `.` and
/// holding `.tmp` or `.old-` (what `fsio` creates).
fn temporaries(root: &Path) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for dir in [".", "requirements", "reports", "site"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && (name.contains(".tmp") || name.contains(".old-")) {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    Ok(found)
}
