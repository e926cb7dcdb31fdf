//! Evidence records: one JSON line per executed test outcome.
//!
//! A test annotated with [`crate::covers`] appends a record when the environment variable
//! [`EVIDENCE_DIR_ENV`] names a directory. Each test process appends to its own file,
//! `evidence-<pid>.jsonl`, one whole line per `write` call under a process-wide lock, so records
//! from parallel tests never interleave and a reader skips at most a truncated last line of a
//! process that was killed. A process per test (cargo-nextest) simply leaves one file per test.
//! These files are an append log, not generated outputs: nothing here rewrites a file.
//!
//! Other runners write the same records with [`append_record`]; `spectrace-cucumber` does so
//! for cucumber scenarios. `spectrace-core` reads them back (its `compliance::records`).

use serde::{Deserialize, Serialize};

/// Environment variable naming the directory evidence records go to.
pub const EVIDENCE_DIR_ENV: &str = "SPECTRACE_EVIDENCE_DIR";

/// Environment variable naming the shard a test process runs in (`ci-2`, `hash:2/4`): each
/// record carries it, so that merged runs can tell where every item ran.
pub const SHARD_ENV: &str = "SPECTRACE_SHARD";

/// What kind of evidence a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    /// An example-based test (the default).
    Test,
    /// A property test.
    Property,
    /// A contract check (OpenAPI, JSON Schema, metrics).
    Contract,
    /// A compile-fail test.
    Compile,
    /// An end-to-end test against a running server.
    E2e,
    /// A BDD scenario (Gherkin), recorded by a cucumber runner (`spectrace-cucumber`).
    Bdd,
    /// A test case read from a JUnit XML report (any test runner); never written as a record.
    Junit,
}

impl EvidenceKind {
    /// Every kind, in declaration order.
    pub const ALL: [EvidenceKind; 7] = [
        EvidenceKind::Test,
        EvidenceKind::Property,
        EvidenceKind::Contract,
        EvidenceKind::Compile,
        EvidenceKind::E2e,
        EvidenceKind::Bdd,
        EvidenceKind::Junit,
    ];

    /// The name used in records, reports and `#[covers(kind = "...")]`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Test => "test",
            EvidenceKind::Property => "property",
            EvidenceKind::Contract => "contract",
            EvidenceKind::Compile => "compile",
            EvidenceKind::E2e => "e2e",
            EvidenceKind::Bdd => "bdd",
            EvidenceKind::Junit => "junit",
        }
    }
}

impl std::fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an executed test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The test passed.
    Passed,
    /// The test failed (panicked, returned an error, or did not panic when it should have).
    Failed,
}

/// One executed test outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRecord {
    /// The requirement IDs the test covers.
    pub ids: Vec<String>,
    /// Full path of the test function (`crate::module::name`).
    pub test: String,
    /// Source file of the test, as the compiler names it (relative to the workspace root).
    pub file: String,
    /// Line of the test function's name.
    pub line: u32,
    /// Kind of evidence.
    pub kind: EvidenceKind,
    /// Pass or fail.
    pub outcome: Outcome,
    /// The failure message, for failed tests.
    pub message: Option<String>,
    /// The shard the test ran in ([`SHARD_ENV`]); absent when it was not set, and then the
    /// reader takes the name of the run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// The shard named by [`SHARD_ENV`], when it is set and not empty.
pub fn current_shard() -> Option<String> {
    std::env::var(SHARD_ENV)
        .ok()
        .filter(|shard| !shard.is_empty())
}

/// The evidence directory named by [`EVIDENCE_DIR_ENV`], when it is set and not empty.
pub fn evidence_dir() -> Option<std::path::PathBuf> {
    std::env::var_os(EVIDENCE_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
}

/// Appends `record` to this process's evidence file in `dir` (see the module documentation).
/// For runners other than the `covers` attribute, such as the BDD runner.
pub fn append_record(dir: &std::path::Path, record: &EvidenceRecord) -> std::io::Result<()> {
    runtime::append(dir, record)
}

/// Runtime support for the expansion of `#[covers]`.
pub mod runtime {
    use std::any::Any;
    use std::fmt::Debug;
    use std::fs::OpenOptions;
    use std::future::Future;
    use std::io::Write;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::path::Path;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    pub use super::EvidenceKind;
    use super::{EvidenceRecord, Outcome};

    /// Whether the test is expected to panic (`#[should_panic]`).
    #[derive(Debug, Clone, Copy)]
    pub enum ShouldPanic {
        /// No `#[should_panic]`.
        No,
        /// `#[should_panic(expected = "...")]` (a bare `#[should_panic]` does not compile under
        /// `#[covers]`).
        WithMessage(&'static str),
    }

    /// Static facts about one annotated test, built by the macro.
    #[derive(Debug)]
    pub struct TestMeta {
        /// Requirement IDs.
        pub ids: &'static [&'static str],
        /// `module_path!()::name`.
        pub test: &'static str,
        /// `file!()`.
        pub file: &'static str,
        /// Line of the test's name.
        pub line: u32,
        /// Evidence kind.
        pub kind: EvidenceKind,
        /// Expected panic.
        pub should_panic: ShouldPanic,
    }

    /// A test function's return value, as the test harness judges it.
    pub trait TestResult {
        /// `Some(message)` when the value makes the test fail.
        fn failure(&self) -> Option<String>;
    }

    impl TestResult for () {
        fn failure(&self) -> Option<String> {
            None
        }
    }

    impl<T, E: Debug> TestResult for Result<T, E> {
        fn failure(&self) -> Option<String> {
            self.as_ref().err().map(|e| format!("Error: {e:?}"))
        }
    }

    /// Runs a synchronous test body, records its outcome, and passes the result or the panic on
    /// to the test harness unchanged.
    pub fn run_sync<R: TestResult>(meta: &TestMeta, body: impl FnOnce() -> R) -> R {
        let result = catch_unwind(AssertUnwindSafe(body));
        finish(meta, result)
    }

    /// Runs an asynchronous test body (inside the test's runtime), records its outcome, and
    /// passes the result or the panic on unchanged.
    pub async fn run_async<R: TestResult>(meta: &TestMeta, body: impl Future<Output = R>) -> R {
        let result = CatchUnwind {
            inner: Box::pin(body),
        }
        .await;
        finish(meta, result)
    }

    struct CatchUnwind<F: Future> {
        inner: Pin<Box<F>>,
    }

    impl<F: Future> Future for CatchUnwind<F> {
        type Output = Result<F::Output, Box<dyn Any + Send>>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let inner = &mut self.inner;
            match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
                Err(payload) => Poll::Ready(Err(payload)),
            }
        }
    }

    fn finish<R: TestResult>(meta: &TestMeta, result: Result<R, Box<dyn Any + Send>>) -> R {
        finish_into(super::evidence_dir().as_deref(), meta, result)
    }

    /// Records the outcome of `result` into `dir` (when given), then returns the test's value
    /// or resumes its panic.
    pub(crate) fn finish_into<R: TestResult>(
        dir: Option<&Path>,
        meta: &TestMeta,
        result: Result<R, Box<dyn Any + Send>>,
    ) -> R {
        match result {
            Ok(value) => {
                let failure = match meta.should_panic {
                    ShouldPanic::No => value.failure(),
                    ShouldPanic::WithMessage(_) => {
                        Some("test did not panic as expected".to_owned())
                    }
                };
                record(dir, meta, failure);
                value
            }
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                let failure = match meta.should_panic {
                    ShouldPanic::No => Some(message),
                    ShouldPanic::WithMessage(expected) if message.contains(expected) => None,
                    ShouldPanic::WithMessage(expected) => Some(format!(
                        "panic did not contain expected string `{expected}`: {message}"
                    )),
                };
                record(dir, meta, failure);
                resume_unwind(payload)
            }
        }
    }

    fn panic_message(payload: &(dyn Any + Send)) -> String {
        if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "test panicked with a non-string payload".to_owned()
        }
    }

    static WRITE_LOCK: Mutex<()> = Mutex::new(());

    /// Appends the record when there is a directory. A record that cannot be written fails the
    /// test: evidence that silently goes missing would read as "did not run".
    fn record(dir: Option<&Path>, meta: &TestMeta, failure: Option<String>) {
        let Some(dir) = dir else {
            return;
        };
        let record = EvidenceRecord {
            ids: meta.ids.iter().map(|id| (*id).to_owned()).collect(),
            test: meta.test.to_owned(),
            file: meta.file.to_owned(),
            line: meta.line,
            kind: meta.kind,
            outcome: if failure.is_some() {
                Outcome::Failed
            } else {
                Outcome::Passed
            },
            message: failure,
            shard: super::current_shard(),
        };
        if let Err(e) = append(dir, &record) {
            panic!("spectrace: cannot record evidence for {}: {e}", meta.test);
        }
    }

    pub(super) fn append(dir: &Path, record: &EvidenceRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let _guard = WRITE_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("evidence-{}.jsonl", std::process::id()));
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::runtime::*;
    use super::*;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::path::Path;

    fn meta(should_panic: ShouldPanic) -> TestMeta {
        TestMeta {
            ids: &["ORCH-2002", "ORCH-2007"],
            test: "crate::tests::fixture",
            file: "spec-tools/spectrace/src/evidence.rs",
            line: 7,
            kind: EvidenceKind::Property,
            should_panic,
        }
    }

    fn records(dir: &Path) -> Vec<EvidenceRecord> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            out.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<EvidenceRecord>(l).unwrap()),
            );
        }
        out
    }

    fn outcome_of<R: TestResult>(
        should_panic: ShouldPanic,
        body: impl FnOnce() -> R,
    ) -> EvidenceRecord {
        let dir = tempfile::tempdir().unwrap();
        let m = meta(should_panic);
        let result = catch_unwind(AssertUnwindSafe(body));
        let _ = catch_unwind(AssertUnwindSafe(|| {
            finish_into(Some(dir.path()), &m, result)
        }));
        let mut all = records(dir.path());
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn passing_test_records_every_field() {
        let r = outcome_of(ShouldPanic::No, || ());
        assert_eq!(
            r,
            EvidenceRecord {
                ids: vec!["ORCH-2002".into(), "ORCH-2007".into()],
                test: "crate::tests::fixture".into(),
                file: "spec-tools/spectrace/src/evidence.rs".into(),
                line: 7,
                kind: EvidenceKind::Property,
                outcome: Outcome::Passed,
                message: None,
                shard: current_shard(),
            }
        );
    }

    #[test]
    fn the_shard_is_written_only_when_there_is_one() {
        let mut record = EvidenceRecord {
            ids: vec!["ORCH-2002".into()],
            test: "t".into(),
            file: "f.rs".into(),
            line: 1,
            kind: EvidenceKind::Test,
            outcome: Outcome::Passed,
            message: None,
            shard: None,
        };
        let plain = serde_json::to_string(&record).unwrap();
        assert!(!plain.contains("shard"), "{plain}");
        record.shard = Some("hash:2/4".into());
        let sharded = serde_json::to_string(&record).unwrap();
        assert!(sharded.ends_with(",\"shard\":\"hash:2/4\"}"), "{sharded}");
        let back: EvidenceRecord = serde_json::from_str(&sharded).unwrap();
        assert_eq!(back, record);
        let old: EvidenceRecord = serde_json::from_str(&plain).unwrap();
        assert_eq!(old.shard, None);
    }

    #[test]
    fn panic_is_recorded_with_its_message_and_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        let m = meta(ShouldPanic::No);
        let overflow = std::hint::black_box(3);
        let result = catch_unwind(|| -> () { panic!("queue overflowed by {overflow}") });
        let resumed = catch_unwind(AssertUnwindSafe(|| {
            finish_into(Some(dir.path()), &m, result)
        }));
        let payload = resumed.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().unwrap(),
            "queue overflowed by 3"
        );
        let r = &records(dir.path())[0];
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.message.as_deref(), Some("queue overflowed by 3"));
    }

    #[test]
    fn err_results_fail() {
        let r = outcome_of(ShouldPanic::No, || -> Result<(), String> {
            Err("bad".into())
        });
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.message.as_deref(), Some("Error: \"bad\""));
        let ok = outcome_of(ShouldPanic::No, || -> Result<u8, String> { Ok(1) });
        assert_eq!(ok.outcome, Outcome::Passed);
    }

    #[test]
    fn should_panic_inverts_the_outcome() {
        let r = outcome_of(ShouldPanic::WithMessage("x"), || -> () { panic!("x") });
        assert_eq!(r.outcome, Outcome::Passed);
        let r = outcome_of(ShouldPanic::WithMessage("x"), || ());
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.message.as_deref(), Some("test did not panic as expected"));
        let r = outcome_of(ShouldPanic::WithMessage("full"), || -> () {
            panic!("queue full")
        });
        assert_eq!(r.outcome, Outcome::Passed);
        let r = outcome_of(ShouldPanic::WithMessage("full"), || -> () {
            panic!("empty")
        });
        assert_eq!(r.outcome, Outcome::Failed);
    }

    #[test]
    fn no_directory_records_nothing() {
        let m = meta(ShouldPanic::No);
        finish_into::<()>(None, &m, Ok(()));
    }

    #[test]
    fn async_bodies_catch_panics_across_polls() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        struct YieldOnce(bool);
        impl Future for YieldOnce {
            type Output = ();
            fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                if self.0 {
                    Poll::Ready(())
                } else {
                    self.0 = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }
        }
        // Under spec-tools/, which spectrace.toml excludes: should a run record it, it is no
        // evidence for the orchestrator spec.
        static META: TestMeta = TestMeta {
            ids: &["SPECTRACE-0002"],
            test: "t",
            file: "spec-tools/spectrace/src/evidence.rs",
            line: 1,
            kind: EvidenceKind::Test,
            should_panic: ShouldPanic::No,
        };
        let mut fut = Box::pin(run_async(&META, async {
            YieldOnce(false).await;
            if META.line == 1 {
                panic!("after a yield");
            }
        }));
        let mut cx = Context::from_waker(Waker::noop());
        let polled = catch_unwind(AssertUnwindSafe(|| {
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            let _ = fut.as_mut().poll(&mut cx);
        }));
        let payload = polled.unwrap_err();
        assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "after a yield");
    }
}
