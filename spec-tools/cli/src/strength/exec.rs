//! Running one command of a strength measurement: from a given directory, with a fresh evidence
//! directory, its output to a log file, stopped with its whole process group when it runs past
//! its timeout. Also where the runs happen: the working tree itself (`--in-place`) or copies of
//! it, one per job, each with its own Cargo target directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spectrace_core::evidence::{EVIDENCE_DIR_ENV, EvidenceRecord, Outcome};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Exit status 0.
    Passed,
    /// Any other exit.
    Failed,
    /// Stopped at the timeout.
    TimedOut,
}

/// Where one job runs: its tree (the root, or a copy) and the target directory it builds into.
#[derive(Debug, Clone)]
pub struct Place {
    /// The tree the commands run in.
    pub tree: PathBuf,
    /// `CARGO_TARGET_DIR` of its builds (`None`: the tree's own configuration).
    pub target: Option<PathBuf>,
    /// A scratch directory of this job: evidence directories and logs.
    pub scratch: PathBuf,
}

/// Runs `argv` in `place`, logging into `log`, with `SPECTRACE_EVIDENCE_DIR` set to an emptied
/// directory of the job; returns how it ended, how long it took, and the evidence records it
/// left.
pub fn run(
    place: &Place,
    argv: &[String],
    timeout: Option<Duration>,
    log: &Path,
) -> Result<(Ended, Duration, Vec<EvidenceRecord>), String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("an empty command".to_owned());
    };
    let evidence = place.scratch.join("evidence");
    match std::fs::remove_dir_all(&evidence) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot empty {}: {e}", evidence.display())),
    }
    std::fs::create_dir_all(&evidence)
        .map_err(|e| format!("cannot create {}: {e}", evidence.display()))?;
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&place.tree)
        .env(EVIDENCE_DIR_ENV, &evidence)
        // A mutant's failing run must leave nothing in the tree: no proptest regression seed
        // (a tracked file in many projects) and no pending insta snapshot.
        .env("PROPTEST_DISABLE_FAILURE_PERSISTENCE", "1")
        .env("INSTA_UPDATE", "no")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(target) = &place.target {
        command.env("CARGO_TARGET_DIR", target);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break if status.success() {
                    Ended::Passed
                } else {
                    Ended::Failed
                };
            }
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for `{program}`: {e}")),
        }
        if timeout.is_some_and(|limit| started.elapsed() > limit) {
            stop(&mut child);
            break Ended::TimedOut;
        }
        if super::interrupt::requested() {
            stop(&mut child);
            return Err(super::interrupt::MESSAGE.to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    Ok((ended, took, read_records(&evidence)))
}

/// Stops the child and everything it started (its process group), then reaps it.
fn stop(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        if let Some(pid) = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The records under `dir`; a line that does not parse is skipped (a killed test may leave
/// half a line).
fn read_records(dir: &Path) -> Vec<EvidenceRecord> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            records.extend(
                text.lines()
                    .filter_map(|line| serde_json::from_str::<EvidenceRecord>(line).ok()),
            );
        }
    }
    records
}

/// `file:line` of the records that failed.
pub fn failed_items(records: &[EvidenceRecord]) -> Vec<String> {
    let mut failed: Vec<String> = records
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| format!("{}:{}", r.file, r.line))
        .collect();
    failed.sort();
    failed.dedup();
    failed
}

/// Makes `tree` hold exactly the files `files` lists (paths relative to `root`), copying only
/// those whose bytes differ, so that an unchanged file keeps its modification time and Cargo's
/// incremental build of the copy stays warm.
pub fn sync_tree(root: &Path, tree: &Path, files: &[String]) -> Result<usize, String> {
    let mut copied = 0;
    for file in files {
        let from = root.join(file);
        let to = tree.join(file);
        let Ok(bytes) = std::fs::read(&from) else {
            // Listed but gone (deleted in the working tree): not part of the copy.
            continue;
        };
        if std::fs::read(&to).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&to, &bytes).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
        copied += 1;
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn place(dir: &Path) -> Place {
        Place {
            tree: dir.to_path_buf(),
            target: None,
            scratch: dir.join("scratch"),
        }
    }

    fn sh(script: &str) -> Vec<String> {
        ["sh", "-c", script].map(str::to_owned).to_vec()
    }

    #[cfg(unix)]
    #[test]
    fn commands_pass_fail_and_time_out_with_their_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let place = place(dir.path());
        std::fs::create_dir_all(&place.scratch).unwrap();
        let log = dir.path().join("log");
        let record = r#"{"ids":["R-1"],"test":"t","file":"tests/a.rs","line":3,"kind":"test","outcome":"failed","message":"m"}"#;
        let (ended, _, records) = run(
            &place,
            &sh(&format!(
                "echo '{record}' > \"$SPECTRACE_EVIDENCE_DIR/evidence-1.jsonl\"; exit 3"
            )),
            None,
            &log,
        )
        .unwrap();
        assert_eq!(ended, Ended::Failed);
        assert_eq!(failed_items(&records), ["tests/a.rs:3"]);
        let (ended, _, records) = run(&place, &sh("exit 0"), None, &log).unwrap();
        assert_eq!(ended, Ended::Passed);
        assert!(
            records.is_empty(),
            "each run starts with an empty evidence directory"
        );
        // The child and the grandchild it leaves behind are both stopped.
        let (ended, took, _) = run(
            &place,
            &sh("sleep 30 & sleep 30; exit 0"),
            Some(Duration::from_millis(200)),
            &log,
        )
        .unwrap();
        assert_eq!(ended, Ended::TimedOut);
        assert!(took < Duration::from_secs(30));
        assert!(run(&place, &[], None, &log).is_err());
    }

    #[test]
    fn a_tree_sync_copies_only_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/a.rs"), "a").unwrap();
        std::fs::write(root.join("b.toml"), "b").unwrap();
        let files = [
            "src/a.rs".to_owned(),
            "b.toml".to_owned(),
            "gone.rs".to_owned(),
        ];
        assert_eq!(sync_tree(&root, &tree, &files).unwrap(), 2);
        assert_eq!(sync_tree(&root, &tree, &files).unwrap(), 0);
        std::fs::write(root.join("b.toml"), "b2").unwrap();
        assert_eq!(sync_tree(&root, &tree, &files).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(tree.join("b.toml")).unwrap(), "b2");
    }
}
