//! Reading the evidence records of a run: every `evidence-*.jsonl` file of the run directory
//! (see [`crate::evidence`]). A missing directory is a run in which nothing recorded evidence.
//! Several run directories (the shards of a CI matrix) are read into one [`Run`] by
//! [`read_runs`]; a record that names no shard of its own is taken to come from the shard
//! named after its directory.
//! A line that is not a record is an error naming `file:line`, except a last line without its
//! newline: that is the write of a process killed mid-line, reported as a warning and skipped.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::evidence::EvidenceRecord;

/// Records read from a run directory, and warnings about skipped partial lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// Every record, sorted by file, line, test and outcome.
    pub records: Vec<EvidenceRecord>,
    /// Partial last lines that were skipped.
    pub warnings: Vec<Diagnostic>,
}

/// Reads every `evidence-*.jsonl` file in `dir`; `display` names the directory in messages.
pub fn read_run(dir: &Path, display: &str) -> Result<Run, Vec<Diagnostic>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Run::default()),
        Err(e) => {
            return Err(vec![Diagnostic::error(
                display,
                None,
                format!("cannot read: {e}"),
            )]);
        }
    };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with("evidence-") && name.ends_with(".jsonl"))
        .collect();
    files.sort();
    let mut run = Run::default();
    let mut errors = Vec::new();
    for name in files {
        let shown = format!("{}/{name}", display.trim_end_matches('/'));
        match std::fs::read_to_string(dir.join(&name)) {
            Ok(text) => parse_into(&text, &shown, &mut run, &mut errors),
            Err(e) => errors.push(Diagnostic::error(&shown, None, format!("cannot read: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    run.sort();
    Ok(run)
}

/// Reads every directory of `dirs` (each with its display name, which also names the shard of
/// its records that name none) into one run, sorted.
pub fn read_runs(dirs: &[(std::path::PathBuf, String)]) -> Result<Run, Vec<Diagnostic>> {
    let mut run = Run::default();
    let mut errors = Vec::new();
    for (dir, display) in dirs {
        match read_run(dir, display) {
            Ok(part) => {
                let shard = display.trim_end_matches('/');
                run.records
                    .extend(part.records.into_iter().map(|mut record| {
                        if record.shard.is_none() {
                            record.shard = Some(shard.to_owned());
                        }
                        record
                    }));
                run.warnings.extend(part.warnings);
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    run.sort();
    Ok(run)
}

impl Run {
    /// Sorts the records by file, line, test and outcome, so that the model never depends on
    /// the order files were read in.
    pub fn sort(&mut self) {
        self.records.sort_by(|a, b| {
            (&a.file, a.line, &a.test, a.outcome, &a.shard)
                .cmp(&(&b.file, b.line, &b.test, b.outcome, &b.shard))
        });
    }
}

fn parse_into(text: &str, file: &str, run: &mut Run, errors: &mut Vec<Diagnostic>) {
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<EvidenceRecord>(line) {
            Ok(record) => run.records.push(record),
            Err(_) if i + 1 == lines.len() && !complete => run.warnings.push(Diagnostic::warning(
                file,
                Some(i + 1),
                "partial last line skipped (its process was stopped while writing)",
            )),
            Err(e) => errors.push(Diagnostic::error(
                file,
                Some(i + 1),
                format!("not an evidence record: {e}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_directories_merge_and_name_the_shard_of_their_records() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("evidence-1.jsonl"), format!("{RECORD}\n")).unwrap();
        let named = RECORD.replace("\"message\":null", "\"message\":null,\"shard\":\"ci-2\"");
        std::fs::write(b.join("evidence-1.jsonl"), format!("{named}\n{RECORD}\n")).unwrap();
        let run = read_runs(&[(a, "shards/a".into()), (b, "shards/b/".into())]).unwrap();
        let shards: Vec<Option<&str>> = run.records.iter().map(|r| r.shard.as_deref()).collect();
        assert_eq!(shards, [Some("ci-2"), Some("shards/a"), Some("shards/b")]);
        let missing = root.path().join("none");
        assert_eq!(
            read_runs(&[(missing, "none".into())]).unwrap(),
            Run::default()
        );
    }

    const RECORD: &str = r#"{"ids":["ORCH-2001"],"test":"server::a","file":"tests/server.rs","line":7,"kind":"e2e","outcome":"passed","message":null}"#;

    #[test]
    fn a_missing_directory_is_an_empty_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = read_run(&dir.path().join("none"), "none").unwrap();
        assert_eq!(run, Run::default());
    }

    #[test]
    fn records_of_every_file_are_read_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let later = RECORD.replace("\"line\":7", "\"line\":9");
        std::fs::write(dir.path().join("evidence-2.jsonl"), format!("{later}\n")).unwrap();
        std::fs::write(dir.path().join("evidence-1.jsonl"), format!("{RECORD}\n\n")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not evidence").unwrap();
        let run = read_run(dir.path(), "reports/run").unwrap();
        assert_eq!(run.records.len(), 2);
        assert_eq!(run.records[0].line, 7);
        assert!(run.warnings.is_empty());
    }

    #[test]
    fn a_partial_last_line_is_a_warning_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let partial = format!("{RECORD}\n{}", &RECORD[..20]);
        std::fs::write(dir.path().join("evidence-1.jsonl"), partial).unwrap();
        let run = read_run(dir.path(), "reports/run").unwrap();
        assert_eq!(run.records.len(), 1);
        assert_eq!(run.warnings[0].location(), "reports/run/evidence-1.jsonl:2");

        std::fs::write(
            dir.path().join("evidence-1.jsonl"),
            format!("oops\n{RECORD}\n"),
        )
        .unwrap();
        let errors = read_run(dir.path(), "reports/run").unwrap_err();
        assert_eq!(errors[0].location(), "reports/run/evidence-1.jsonl:1");
    }
}
