//! Evidence from cucumber-rs: one spectrace evidence record per executed scenario.
//!
//! Wrap the runner's writer in an [`EvidenceWriter`]; it watches cucumber's event stream and
//! passes every event on unchanged. When a scenario finishes, its step results become one
//! record ([`record`]) that the [`Recorder`] appends to `$SPECTRACE_EVIDENCE_DIR`, in the
//! format of the `spectrace` crate's `#[covers]`:
//!
//! ```no_run
//! # use cucumber::{World, WriterExt as _, writer};
//! # #[derive(Debug, Default, World)] struct MyWorld;
//! # async fn run() -> Result<(), String> {
//! let recorder = spectrace_cucumber::Recorder::from_config(std::path::PathBuf::from("."))?;
//! let writer = MyWorld::cucumber()
//!     .with_writer(spectrace_cucumber::EvidenceWriter::new(
//!         writer::Basic::stdout().summarized(),
//!         recorder,
//!     ))
//!     .run("features")
//!     .await;
//! let failed = writer.recorder().failed().count();
//! # let _ = failed; Ok(()) }
//! ```
//!
//! A record holds:
//!
//! - `ids`: the scenario's effective tags that are requirement IDs — inherited Feature → Rule
//!   → Scenario → Examples exactly as `spectrace scan` inherits them
//!   ([`spectrace_core::bdd`]) — sorted naturally and deduplicated;
//! - `test`: `"<Feature name>: <Scenario name>"`;
//! - `file`: the `.feature` file relative to the project root, `/`-separated;
//! - `line`: the line of the `Scenario:`/`Scenario Outline:` keyword, also for outline rows
//!   (the scanner keys declared evidence on `(file, line)`);
//! - `kind`: [`EvidenceKind::Bdd`];
//! - `outcome`: passed only when every step passed (so each matched exactly one step
//!   definition), at least one `Then` step ran, and it passed on its first try; otherwise
//!   failed, with a message naming the step that failed and why, saying that no `Then` step
//!   ran, or `flaky: passed on retry N` (cucumber's `--retry`: a scenario that needs a retry
//!   proves nothing).

use std::collections::HashMap;
use std::path::PathBuf;

use cucumber::event::{self, Source, StepError};
use cucumber::gherkin::{self, StepType};
use cucumber::{Event, Writer, parser, writer};
use spectrace::evidence::{
    EvidenceKind, EvidenceRecord, Outcome, append_record, current_shard, evidence_dir,
};
use spectrace_core::bdd::{effective_tags, scenario_label};
use spectrace_core::config::Config;
use spectrace_core::id::{IdPattern, natural_cmp};
use spectrace_core::paths::relative_to;

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// It matched one step definition, which returned normally.
    Passed,
    /// Its step definition panicked; the panic message.
    Failed(String),
    /// No step definition matches it (cucumber reports it as skipped).
    Undefined,
    /// More than one step definition matches it.
    Ambiguous(String),
}

/// One executed step (of the background or of the scenario itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRun {
    /// The keyword as written (`Given`, `And`, …).
    pub keyword: String,
    /// The step text.
    pub text: String,
    /// Its line in the feature file.
    pub line: usize,
    /// `Given`, `When` or `Then`; `And` and `But` take the type of the step before them.
    pub ty: StepType,
    /// How it ended.
    pub result: StepResult,
}

/// What happened in one run of a scenario, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioRun {
    /// Background and scenario steps that ran.
    pub steps: Vec<StepRun>,
    /// A failed `before` or `after` hook.
    pub hook_failure: Option<String>,
    /// Which try this was: 0 for the first, N for cucumber's Nth retry.
    pub retry: usize,
}

/// Why the scenario does not count as passed evidence, or `None` when it does.
pub fn failure(scenario: &gherkin::Scenario, run: &ScenarioRun, file: &str) -> Option<String> {
    if let Some(hook) = &run.hook_failure {
        return Some(hook.clone());
    }
    for step in &run.steps {
        let at = format!(
            "step `{} {}` ({file}:{})",
            step.keyword.trim(),
            step.text,
            step.line
        );
        match &step.result {
            StepResult::Passed => {}
            StepResult::Failed(message) => return Some(format!("{at} failed: {message}")),
            StepResult::Undefined => {
                return Some(format!("{at} matches no step definition"));
            }
            StepResult::Ambiguous(message) => {
                return Some(format!(
                    "{at} matches more than one step definition: {message}"
                ));
            }
        }
    }
    if let Some(missing) = scenario
        .steps
        .iter()
        .find(|s| !run.steps.iter().any(|r| r.line == s.position.line))
    {
        return Some(format!(
            "step `{} {}` ({file}:{}) did not run",
            missing.keyword.trim(),
            missing.value,
            missing.position.line
        ));
    }
    if !run.steps.iter().any(|s| s.ty == StepType::Then) {
        return Some("no Then step ran".to_owned());
    }
    if run.retry > 0 {
        // A scenario that needed a retry proves nothing about the behaviour.
        return Some(format!("flaky: passed on retry {}", run.retry));
    }
    None
}

/// The requirement IDs among the scenario's effective tags ([`effective_tags`]: Feature → Rule
/// → Scenario → the Examples block of an expanded outline row), sorted and deduplicated.
pub fn effective_ids(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
    ids: &IdPattern,
) -> Vec<String> {
    let mut found: Vec<String> = effective_tags(feature, rule, scenario)
        .filter(|tag| ids.is_id(tag))
        .map(str::to_owned)
        .collect();
    found.sort_by(|a, b| natural_cmp(a, b));
    found.dedup();
    found
}

/// The line of each outline's `Scenario Outline:` keyword, by the line of each of its
/// `Examples:` blocks, in an unexpanded parse of a feature file.
pub fn outline_lines(original: &gherkin::Feature) -> HashMap<usize, usize> {
    original
        .scenarios
        .iter()
        .chain(original.rules.iter().flat_map(|r| &r.scenarios))
        .flat_map(|s| {
            s.examples
                .iter()
                .map(|e| (e.position.line, s.position.line))
        })
        .collect()
}

/// The line of the scenario's keyword: its own position, or for an expanded outline row
/// (whose position cucumber moves to the example row) the outline's keyword line, found by
/// its Examples block in `outlines` (see [`outline_lines`]).
pub fn keyword_line(scenario: &gherkin::Scenario, outlines: &HashMap<usize, usize>) -> usize {
    scenario
        .examples
        .first()
        .and_then(|e| outlines.get(&e.position.line))
        .copied()
        .unwrap_or(scenario.position.line)
}

/// Where a scenario is declared: the facts a record needs besides the run.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    /// The feature (as cucumber ran it, outlines expanded).
    pub feature: &'a gherkin::Feature,
    /// The rule the scenario is in, if any.
    pub rule: Option<&'a gherkin::Rule>,
    /// The scenario (an expanded outline row for outlines).
    pub scenario: &'a gherkin::Scenario,
    /// The feature file, relative to the workspace root.
    pub file: &'a str,
    /// The line of the scenario's keyword.
    pub line: usize,
}

/// The evidence record of one finished scenario run.
pub fn record(declared: Declared<'_>, run: &ScenarioRun, ids: &IdPattern) -> EvidenceRecord {
    let message = failure(declared.scenario, run, declared.file);
    EvidenceRecord {
        ids: effective_ids(declared.feature, declared.rule, declared.scenario, ids),
        test: scenario_label(declared.feature, declared.scenario),
        file: declared.file.to_owned(),
        line: u32::try_from(declared.line).unwrap_or(u32::MAX),
        kind: EvidenceKind::Bdd,
        outcome: if message.is_some() {
            Outcome::Failed
        } else {
            Outcome::Passed
        },
        message,
        shard: None,
    }
}

/// Turns finished scenario runs into records, appends them to the evidence directory (when
/// there is one) and keeps a tally for the runner's verdict.
#[derive(Debug)]
pub struct Recorder {
    root: PathBuf,
    dir: Option<PathBuf>,
    ids: IdPattern,
    outlines: HashMap<PathBuf, HashMap<usize, usize>>,
    /// Every record made, in the order scenarios finished.
    pub records: Vec<EvidenceRecord>,
    /// Records that could not be written: the run must fail, since evidence that silently goes
    /// missing would read as "did not run".
    pub write_errors: Vec<String>,
    /// The shard every record carries (`SPECTRACE_SHARD` for [`Recorder::from_config`]).
    pub shard: Option<String>,
}

impl Recorder {
    /// Records relative to the project `root`, into the directory named by
    /// `SPECTRACE_EVIDENCE_DIR` (none: nothing is written), with the ID pattern of the
    /// project's `spectrace.toml` (`[specs] id_pattern`, or its default when there is no file).
    pub fn from_config(root: PathBuf) -> Result<Self, String> {
        let config = Config::load(&root, None).map_err(|d| d.to_string())?;
        let ids = IdPattern::new(&config.specs.id_pattern)?;
        let mut recorder = Self::new(root, evidence_dir(), ids);
        recorder.shard = current_shard();
        Ok(recorder)
    }

    /// Records relative to the project `root`, into `dir` when given, with the requirement
    /// IDs `ids`.
    pub fn new(root: PathBuf, dir: Option<PathBuf>, ids: IdPattern) -> Self {
        Self {
            root,
            dir,
            ids,
            outlines: HashMap::new(),
            records: Vec::new(),
            write_errors: Vec::new(),
            shard: None,
        }
    }

    /// The records that failed.
    pub fn failed(&self) -> impl Iterator<Item = &EvidenceRecord> {
        self.records.iter().filter(|r| r.outcome == Outcome::Failed)
    }

    fn outlines_of(&mut self, path: Option<&PathBuf>) -> HashMap<usize, usize> {
        let Some(path) = path else {
            return HashMap::new();
        };
        self.outlines
            .entry(path.clone())
            .or_insert_with(|| {
                gherkin::Feature::parse_path(path, gherkin::GherkinEnv::default())
                    .map(|original| outline_lines(&original))
                    .unwrap_or_default()
            })
            .clone()
    }

    /// Makes, keeps and writes the record of a finished scenario run.
    pub fn finish(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        run: &ScenarioRun,
    ) {
        let file = feature
            .path
            .as_deref()
            .map(|p| relative_to(&self.root, p))
            .unwrap_or_default();
        let line = keyword_line(scenario, &self.outlines_of(feature.path.as_ref()));
        let declared = Declared {
            feature,
            rule,
            scenario,
            file: &file,
            line,
        };
        let mut record = record(declared, run, &self.ids);
        record.shard.clone_from(&self.shard);
        if let Some(dir) = &self.dir
            && let Err(e) = append_record(dir, &record)
        {
            self.write_errors.push(format!(
                "cannot record evidence for `{}` in {}: {e}",
                record.test,
                dir.display()
            ));
        }
        self.records.push(record);
    }
}

/// A run in progress, keyed by its feature, rule and scenario (compared by identity).
type RunKey = (
    Source<gherkin::Feature>,
    Option<Source<gherkin::Rule>>,
    Source<gherkin::Scenario>,
);

/// A [`Writer`] that records evidence and passes every event on to `inner` unchanged.
#[derive(Debug)]
pub struct EvidenceWriter<Wr> {
    inner: Wr,
    recorder: Recorder,
    running: HashMap<RunKey, ScenarioRun>,
}

fn panic_message(info: &event::Info) -> String {
    if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "the step panicked with a non-string payload".to_owned()
    }
}

fn step_run<W>(step: &gherkin::Step, event: &event::Step<W>) -> Option<StepRun> {
    let result = match event {
        event::Step::Started => return None,
        event::Step::Passed(..) => StepResult::Passed,
        event::Step::Skipped => StepResult::Undefined,
        event::Step::Failed(_, _, _, StepError::NotFound) => StepResult::Undefined,
        event::Step::Failed(_, _, _, StepError::AmbiguousMatch(e)) => {
            StepResult::Ambiguous(e.to_string())
        }
        event::Step::Failed(_, _, _, StepError::Panic(info)) => {
            StepResult::Failed(panic_message(info))
        }
    };
    Some(StepRun {
        keyword: step.keyword.clone(),
        text: step.value.clone(),
        line: step.position.line,
        ty: step.ty,
        result,
    })
}

impl<Wr> EvidenceWriter<Wr> {
    /// Wraps `inner`.
    pub fn new(inner: Wr, recorder: Recorder) -> Self {
        Self {
            inner,
            recorder,
            running: HashMap::new(),
        }
    }

    /// The wrapped writer.
    pub fn inner(&self) -> &Wr {
        &self.inner
    }

    /// The records made so far.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn observe<W>(&mut self, event: &event::Cucumber<W>) {
        let event::Cucumber::Feature(feature, feature_event) = event else {
            return;
        };
        let (rule, scenario, retryable) = match feature_event {
            event::Feature::Scenario(scenario, ev) => (None, scenario, ev),
            event::Feature::Rule(rule, event::Rule::Scenario(scenario, ev)) => {
                (Some(rule), scenario, ev)
            }
            _ => return,
        };
        let key = (feature.clone(), rule.cloned(), scenario.clone());
        match &retryable.event {
            event::Scenario::Started => {
                self.running.insert(key, ScenarioRun::default());
            }
            event::Scenario::Hook(which, event::Hook::Failed(_, info)) => {
                let run = self.running.entry(key).or_default();
                run.hook_failure
                    .get_or_insert_with(|| format!("{which} hook failed: {}", panic_message(info)));
            }
            event::Scenario::Background(step, ev) | event::Scenario::Step(step, ev) => {
                if let Some(step_run) = step_run(step, ev) {
                    self.running.entry(key).or_default().steps.push(step_run);
                }
            }
            event::Scenario::Finished => {
                let mut run = self.running.remove(&key).unwrap_or_default();
                let failed = failure(scenario, &run, "").is_some();
                // A failed run that cucumber retries is not the scenario's outcome yet.
                if failed && retryable.retries.is_some_and(|r| r.left > 0) {
                    return;
                }
                run.retry = retryable.retries.map_or(0, |r| r.current);
                self.recorder
                    .finish(feature, rule.map(|r| &**r), scenario, &run);
            }
            event::Scenario::Hook(..) | event::Scenario::Log(_) => {}
        }
    }
}

impl<W, Wr: Writer<W>> Writer<W> for EvidenceWriter<Wr> {
    type Cli = Wr::Cli;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<W>>>,
        cli: &Self::Cli,
    ) {
        if let Ok(ev) = &event {
            self.observe(&ev.value);
        }
        self.inner.handle_event(event, cli).await;
    }
}

impl<W, Wr> writer::Stats<W> for EvidenceWriter<Wr>
where
    Wr: writer::Stats<W>,
{
    fn passed_steps(&self) -> usize {
        self.inner.passed_steps()
    }

    fn skipped_steps(&self) -> usize {
        self.inner.skipped_steps()
    }

    fn failed_steps(&self) -> usize {
        self.inner.failed_steps()
    }

    fn retried_steps(&self) -> usize {
        self.inner.retried_steps()
    }

    fn parsing_errors(&self) -> usize {
        self.inner.parsing_errors()
    }

    fn hook_errors(&self) -> usize {
        self.inner.hook_errors()
    }
}

/// The events reach this writer before normalization, but every run is keyed by its scenario,
/// so interleaving does not matter; the wrapped writer's output is what must be normalized.
impl<Wr: writer::Normalized> writer::Normalized for EvidenceWriter<Wr> {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

    use super::*;
    use cucumber::feature::Ext as _;

    const FEATURE: &str = "\
@ORCH-2001
Feature: Queues

  Background:
    Given a pool

  @ORCH-2007 @slow
  Scenario: A full queue refuses
    When I enqueue
    Then it is refused

  Rule: Policies
    @ORCH-3005
    Scenario Outline: Each policy <policy>
      When the queue is full under <policy>
      Then the outcome is <outcome>

      @ORCH-2007
      Examples: refusing
        | policy | outcome |
        | reject | 429     |

      Examples: evicting
        | policy   | outcome |
        | drop-lru | evicted |
";

    fn ids() -> IdPattern {
        IdPattern::new("ORCH-[0-9]{4}").unwrap()
    }

    fn parsed() -> (gherkin::Feature, gherkin::Feature) {
        let original = gherkin::Feature::parse(FEATURE, gherkin::GherkinEnv::default()).unwrap();
        let expanded = original.clone().expand_examples().unwrap();
        (original, expanded)
    }

    fn passing_run(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> ScenarioRun {
        let background = feature.background.iter().flat_map(|b| &b.steps);
        let steps = background
            .chain(&scenario.steps)
            .map(|s| StepRun {
                keyword: s.keyword.clone(),
                text: s.value.clone(),
                line: s.position.line,
                ty: s.ty,
                result: StepResult::Passed,
            })
            .collect();
        ScenarioRun {
            steps,
            hook_failure: None,
            retry: 0,
        }
    }

    fn record_of(
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        outlines: &HashMap<usize, usize>,
        run: &ScenarioRun,
    ) -> EvidenceRecord {
        let declared = Declared {
            feature,
            rule,
            scenario,
            file: "features/queues.feature",
            line: keyword_line(scenario, outlines),
        };
        record(declared, run, &ids())
    }

    #[test]
    fn a_passing_scenario_records_its_inherited_ids_name_file_and_line() {
        let (original, expanded) = parsed();
        let outlines = outline_lines(&original);
        let scenario = &expanded.scenarios[0];
        let run = passing_run(&expanded, scenario);
        assert_eq!(
            record_of(&expanded, None, scenario, &outlines, &run),
            EvidenceRecord {
                ids: vec!["ORCH-2001".into(), "ORCH-2007".into()],
                test: "Queues: A full queue refuses".into(),
                file: "features/queues.feature".into(),
                line: 8,
                kind: EvidenceKind::Bdd,
                outcome: Outcome::Passed,
                message: None,
                shard: None,
            }
        );
    }

    #[test]
    fn outline_rows_carry_rule_and_examples_tags_and_the_outline_line() {
        let (original, expanded) = parsed();
        let outlines = outline_lines(&original);
        let rule = &expanded.rules[0];
        assert_eq!(rule.scenarios.len(), 2);
        let records: Vec<EvidenceRecord> = rule
            .scenarios
            .iter()
            .map(|s| {
                let run = passing_run(&expanded, s);
                record_of(&expanded, Some(rule), s, &outlines, &run)
            })
            .collect();
        assert_eq!(records[0].ids, ["ORCH-2001", "ORCH-2007", "ORCH-3005"]);
        assert_eq!(records[1].ids, ["ORCH-2001", "ORCH-3005"]);
        assert_eq!(records[0].test, "Queues: Each policy reject");
        assert_eq!(records[1].test, "Queues: Each policy drop-lru");
        // The `Scenario Outline:` keyword, not the example rows (21 and 25).
        assert_eq!((records[0].line, records[1].line), (14, 14));
        assert!(records.iter().all(|r| r.outcome == Outcome::Passed));
    }

    #[test]
    fn a_failed_step_fails_the_record_naming_the_step_and_the_reason() {
        let (_, expanded) = parsed();
        let scenario = &expanded.scenarios[0];
        let mut run = passing_run(&expanded, scenario);
        run.steps[2].result = StepResult::Failed("expected 429, got 202".into());
        run.steps.truncate(3);
        let r = record_of(&expanded, None, scenario, &HashMap::new(), &run);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(
            r.message.as_deref(),
            Some(
                "step `Then it is refused` (features/queues.feature:10) failed: expected 429, got 202"
            )
        );
    }

    #[test]
    fn undefined_ambiguous_and_missing_steps_fail() {
        let (_, expanded) = parsed();
        let scenario = &expanded.scenarios[0];
        let mut run = passing_run(&expanded, scenario);
        run.steps[1].result = StepResult::Undefined;
        let r = record_of(&expanded, None, scenario, &HashMap::new(), &run);
        assert_eq!(
            r.message.as_deref(),
            Some("step `When I enqueue` (features/queues.feature:9) matches no step definition")
        );
        run.steps[1].result = StepResult::Ambiguous("2 definitions".into());
        let r = record_of(&expanded, None, scenario, &HashMap::new(), &run);
        assert!(
            r.message
                .unwrap()
                .contains("more than one step definition: 2 definitions")
        );
        let mut run = passing_run(&expanded, scenario);
        run.steps.pop();
        let r = record_of(&expanded, None, scenario, &HashMap::new(), &run);
        assert_eq!(
            r.message.as_deref(),
            Some("step `Then it is refused` (features/queues.feature:10) did not run")
        );
    }

    #[test]
    fn a_scenario_without_a_then_step_fails() {
        let text = "Feature: F\n  Scenario: S\n    Given a pool\n    When I enqueue\n";
        let feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap();
        let scenario = &feature.scenarios[0];
        let run = passing_run(&feature, scenario);
        let r = record_of(&feature, None, scenario, &HashMap::new(), &run);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.message.as_deref(), Some("no Then step ran"));
        assert!(r.ids.is_empty());
    }

    #[test]
    fn a_failed_hook_fails_the_record() {
        let (_, expanded) = parsed();
        let scenario = &expanded.scenarios[0];
        let mut run = passing_run(&expanded, scenario);
        run.hook_failure = Some("Before hook failed: boom".into());
        let r = record_of(&expanded, None, scenario, &HashMap::new(), &run);
        assert_eq!(r.message.as_deref(), Some("Before hook failed: boom"));
    }

    #[test]
    fn the_recorder_writes_one_line_per_scenario_with_a_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("features")).unwrap();
        let path = root.join("features").join("queues.feature");
        std::fs::write(&path, FEATURE).unwrap();
        let original = gherkin::Feature::parse_path(&path, gherkin::GherkinEnv::default()).unwrap();
        let expanded = original.expand_examples().unwrap();
        let evidence = dir.path().join("evidence");
        let mut recorder = Recorder::new(root.clone(), Some(evidence.clone()), ids());
        let rule = &expanded.rules[0];
        for scenario in &rule.scenarios {
            recorder.finish(&expanded, Some(rule), scenario, &ScenarioRun::default());
        }
        assert!(recorder.write_errors.is_empty());
        let files: Vec<_> = std::fs::read_dir(&evidence).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        let written: Vec<EvidenceRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(written, recorder.records);
        assert_eq!(written.len(), 2);
        assert!(
            written
                .iter()
                .all(|r| r.file == "features/queues.feature" && r.line == 14)
        );
        // Nothing ran: a failure, naming the first step that did not run.
        assert_eq!(recorder.failed().count(), 2);
        assert!(
            written[0]
                .message
                .as_deref()
                .unwrap()
                .contains("did not run")
        );
    }

    /// A writer that drops every event, to stand inside [`EvidenceWriter`].
    struct Sink;

    impl Writer<()> for Sink {
        type Cli = cucumber::cli::Empty;

        async fn handle_event(
            &mut self,
            _: parser::Result<Event<event::Cucumber<()>>>,
            _: &Self::Cli,
        ) {
        }
    }

    /// Drives an [`EvidenceWriter`] with cucumber's events for tries of the first scenario of
    /// [`FEATURE`]: each try is `(retries, whether its Then step passes)`.
    fn drive(tries: &[(Option<event::Retries>, bool)]) -> Vec<EvidenceRecord> {
        use std::sync::Arc;
        let (_, expanded) = parsed();
        let feature = Source::new(expanded);
        let scenario = Source::new(feature.scenarios[0].clone());
        let step = |i: usize| Source::new(scenario.steps[i].clone());
        let background = Source::new(feature.background.as_ref().unwrap().steps[0].clone());
        let captures = regex::Regex::new("").unwrap().capture_locations();
        let scenario_event = |ev: event::Scenario<()>, retries| {
            Ok(Event::new(event::Cucumber::scenario(
                feature.clone(),
                None::<Source<gherkin::Rule>>,
                scenario.clone(),
                ev.with_retries(retries),
            )))
        };
        let run = |retries, passes: bool| {
            let then = if passes {
                event::Scenario::step_passed(step(1), captures.clone(), None)
            } else {
                event::Scenario::step_failed(
                    step(1),
                    None,
                    None,
                    None,
                    StepError::Panic(Arc::new("expected 429, got 202".to_owned())),
                )
            };
            vec![
                scenario_event(event::Scenario::Started, retries),
                scenario_event(
                    event::Scenario::background_step_passed(
                        background.clone(),
                        captures.clone(),
                        None,
                    ),
                    retries,
                ),
                scenario_event(
                    event::Scenario::step_passed(step(0), captures.clone(), None),
                    retries,
                ),
                scenario_event(then, retries),
                scenario_event(event::Scenario::Finished, retries),
            ]
        };
        let mut writer = EvidenceWriter::new(Sink, Recorder::new(PathBuf::new(), None, ids()));
        futures::executor::block_on(async {
            for &(retries, passes) in tries {
                for ev in run(retries, passes) {
                    writer.handle_event(ev, &cucumber::cli::Empty).await;
                }
            }
        });
        writer.recorder().records.clone()
    }

    #[test]
    fn the_writer_records_each_scenario_from_cucumber_events_once_it_finishes() {
        let first = Some(event::Retries::initial(1));
        let last = first.and_then(event::Retries::next_try);
        // A failed try that cucumber will retry is not the outcome yet; the last try is.
        let records = drive(&[(first, false), (last, false)]);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].outcome, Outcome::Failed);
        assert_eq!(records[0].line, 8);
        assert_eq!(
            records[0].message.as_deref(),
            Some("step `Then it is refused` (:10) failed: expected 429, got 202")
        );
        let records = drive(&[(None, true)]);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].outcome, Outcome::Passed);
    }

    #[test]
    fn a_scenario_that_passes_only_on_a_retry_is_recorded_as_flaky() {
        let first = Some(event::Retries::initial(2));
        let second = first.and_then(event::Retries::next_try);
        let records = drive(&[(first, false), (second, true)]);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].outcome, Outcome::Failed);
        assert_eq!(
            records[0].message.as_deref(),
            Some("flaky: passed on retry 1")
        );
        // Passing on the first try with retries allowed is a plain pass.
        let records = drive(&[(first, true)]);
        assert_eq!(records[0].outcome, Outcome::Passed);
    }
}
