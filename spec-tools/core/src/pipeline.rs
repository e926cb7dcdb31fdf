//! The pipeline (ARCHITECTURE.md, "Bird's-eye view") wired together for the `report`, `check` and `verify` commands:
//! config → requirement set → declared evidence → the run's records (evidence files and JUnit
//! reports; + reviewed fingerprints)
//! → compliance model → report files. Each stage is its own module; this one only calls them in order and collects
//! their diagnostics.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::compliance::records::{Run, read_runs};
use crate::compliance::{self, BuildOptions, ComplianceModel, Strength, Survivor};
use crate::config::{Config, ShardRule};
use crate::diag::Diagnostic;
use crate::id::IdPattern;
use crate::model::RequirementIndex;
use crate::paths::{GlobKey, Selector, relative_to};
use crate::render::index_yaml;
use crate::report;
use crate::requirements::{ExtractOptions, extract};
use crate::review::{self, Reviewed};
use crate::scan::{Scan, ScanOptions, junit_runs, scan};
use crate::strength::model::{MutantOutcome, StrengthReport};
use crate::strength::{plan, waivers};

/// Everything one run is judged on.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The requirement set.
    pub index: RequirementIndex,
    /// Declared evidence and links.
    pub scan: Scan,
    /// The run's evidence records.
    pub run: Run,
    /// The reviewed fingerprints as committed (`outputs.reviewed`; empty when the file is
    /// missing, so that every requirement counts as new and reviewed).
    pub reviewed: Reviewed,
    /// The model built from the above.
    pub model: ComplianceModel,
    /// Warnings of every stage (errors make [`load`] fail).
    pub warnings: Vec<Diagnostic>,
    /// The requirement index as YAML, when [`load_for_report`] rendered it already.
    pub index_yaml: Option<Result<String, String>>,
}

/// Runs every stage up to the model. `run_dirs` (the shards of one run) override
/// `outputs.run_dir`; their records are merged. An evidence item that ran in several shards is
/// a warning, or an error under `[gate] shards = "exactly-once"`.
pub fn load(
    root: &Path,
    config_path: Option<&Path>,
    run_dirs: &[PathBuf],
) -> Result<Loaded, Vec<Diagnostic>> {
    load_with(root, config_path, run_dirs, false)
}

/// [`load`] for a command that renders the report files ([`report_files`]): the requirement
/// index, which depends on the specs alone, is serialized on threads of its own while the
/// sources are scanned and the model is built, instead of after them.
pub fn load_for_report(
    root: &Path,
    config_path: Option<&Path>,
    run_dirs: &[PathBuf],
) -> Result<Loaded, Vec<Diagnostic>> {
    load_with(root, config_path, run_dirs, true)
}

fn load_with(
    root: &Path,
    config_path: Option<&Path>,
    run_dirs: &[PathBuf],
    render_index: bool,
) -> Result<Loaded, Vec<Diagnostic>> {
    let config = Config::load(root, config_path).map_err(|d| vec![d])?;
    let ids = IdPattern::new(&config.specs.id_pattern)
        .map_err(|message| vec![Diagnostic::error("spectrace.toml", None, message)])?;
    let dirs: Vec<(PathBuf, String)> = if run_dirs.is_empty() {
        vec![(
            root.join(&config.outputs.run_dir),
            config.outputs.run_dir.clone(),
        )]
    } else {
        run_dirs
            .iter()
            .map(|dir| (dir.clone(), shard_name(root, dir)))
            .collect()
    };
    // The run's records and the reviewed fingerprints do not depend on the specs or the
    // sources: they are read on a thread of their own while the specs are extracted and the
    // sources scanned. Errors keep the order of the stages.
    let (index, judged, index_yaml) = std::thread::scope(|scope| {
        let records = scope.spawn(|| read_runs(&dirs));
        let reviewed = scope.spawn(|| read_reviewed(root, &config.outputs.reviewed));
        let extraction = extract(&ExtractOptions {
            root: root.to_path_buf(),
            include: config.specs.include.clone(),
            ids: ids.clone(),
            strict: false,
        })?;
        let index = extraction.index;
        let (judged, index_yaml) = std::thread::scope(|inner| {
            let yaml = render_index.then(|| inner.spawn(|| index_yaml(&index)));
            let judged = judge(
                root,
                &config,
                &ids,
                &index,
                extraction.warnings,
                || {
                    records
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                },
                || {
                    reviewed
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                },
            );
            let yaml = yaml.map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (judged, yaml)
        });
        Ok::<_, Vec<Diagnostic>>((index, judged, index_yaml))
    })?;
    let (scan, run, reviewed, model, warnings) = judged?;
    Ok(Loaded {
        config,
        index,
        scan,
        run,
        reviewed,
        model,
        warnings,
        index_yaml,
    })
}

/// What [`judge`] returns: the scan, the run, the reviewed fingerprints, the model and the
/// warnings of every stage.
type Judged = (Scan, Run, Reviewed, ComplianceModel, Vec<Diagnostic>);

/// The stages after the extraction: the sources scanned, then the run's records and the
/// reviewed fingerprints (`records` and `reviewed` wait for their readers) merged into the
/// model. `warnings` are the extraction's.
fn judge(
    root: &Path,
    config: &Config,
    ids: &IdPattern,
    index: &RequirementIndex,
    mut warnings: Vec<Diagnostic>,
    records: impl FnOnce() -> Result<Run, Vec<Diagnostic>>,
    reviewed: impl FnOnce() -> Result<Reviewed, Diagnostic>,
) -> Result<Judged, Vec<Diagnostic>> {
    let known: BTreeSet<String> = index.requirements.iter().map(|r| r.id.clone()).collect();
    let scan_options = ScanOptions {
        root: root.to_path_buf(),
        evidence: config.evidence.clone(),
        ids: ids.clone(),
        known,
    };
    let scanned = scan(&scan_options)?;
    warnings.extend(scanned.warnings);
    let declared = scanned.scan;
    let mut run = records()?;
    let reviewed = reviewed().map_err(|d| vec![d])?;
    warnings.extend(run.warnings.iter().cloned());
    // Tests in excluded files are not evidence (spec-tools' own tests use fixture IDs).
    let excluded = Selector::<()>::new(
        &[],
        &[(
            GlobKey {
                section: "evidence",
                key: "exclude",
            },
            &config.evidence.exclude,
        )],
    )?;
    run.records.retain(|r| !excluded.excludes(&r.file));
    // JUnit reports are both declaration (in the scan) and run.
    run.records.extend(junit_runs(&scan_options)?);
    run.sort();
    let unknown: Vec<Diagnostic> = compliance::unknown_record_ids(index, &run.records)
        .into_iter()
        .map(|(record, id)| {
            Diagnostic::error(
                &record.file,
                Some(record.line as usize),
                format!(
                    "evidence of `{}` names {id}, which no spec defines",
                    record.test
                ),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let exactly_once = config.gate.shards == ShardRule::ExactlyOnce;
    let duplicates: Vec<Diagnostic> = compliance::duplicates(&run.records)
        .into_iter()
        .map(|d| {
            let message = format!(
                "`{}` ran in {} shards: {}{}",
                d.test,
                d.shards.len(),
                d.shards.join(", "),
                if exactly_once {
                    " ([gate] shards = \"exactly-once\")"
                } else {
                    ""
                }
            );
            let line = Some(d.line as usize);
            if exactly_once {
                Diagnostic::error(&d.file, line, message)
            } else {
                Diagnostic::warning(&d.file, line, message)
            }
        })
        .collect();
    if exactly_once && !duplicates.is_empty() {
        return Err(duplicates);
    }
    warnings.extend(duplicates);
    let (strength, strength_warnings) = read_strength(
        root,
        &config.outputs.strength,
        &config.outputs.strength_waivers,
        &declared,
    )?;
    warnings.extend(strength_warnings);
    let options = BuildOptions {
        rule: config.gate.evidence,
        reviewed,
        strength,
    };
    let model = compliance::build_with(index, &declared, &run.records, &options);
    // Lent to the model for its build, not copied: thousands of entries.
    let reviewed = options.reviewed;
    Ok((declared, run, reviewed, model, warnings))
}

/// The name of the shard a run directory holds: its path relative to `root` when it lies
/// inside, else as given, `/`-separated.
fn shard_name(root: &Path, dir: &Path) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (root, full) = (absolute(root), absolute(dir));
    if full.starts_with(&root) && full != root {
        relative_to(&root, &full)
    } else {
        dir.to_string_lossy().replace('\\', "/")
    }
}

/// Per requirement ID its strength, and the warnings about the strength waivers.
pub type StrengthByRequirement = (BTreeMap<String, Strength>, Vec<Diagnostic>);

/// The strength of each requirement in `path` (relative to `root`; a missing file measures
/// nothing), marked stale where the fingerprint of its implementing items and evidence as they
/// are now differs from the one measured, and with the reason of its waiver without a mutant
/// (in `waivers_path`, see [`crate::strength::waivers`]) while none of its mutants is judged.
/// The warnings name such waivers that no longer apply.
pub fn read_strength(
    root: &Path,
    path: &str,
    waivers_path: &str,
    scan: &Scan,
) -> Result<StrengthByRequirement, Vec<Diagnostic>> {
    let read_file = |path: &str| match std::fs::read_to_string(root.join(path)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(vec![Diagnostic::error(
            path,
            None,
            format!("cannot read: {e}"),
        )]),
    };
    let waivers = match read_file(waivers_path)? {
        Some(text) => waivers::parse(waivers_path, &text).map_err(|d| vec![d])?,
        None => Vec::new(),
    };
    let Some(text) = read_file(path)? else {
        return Ok((BTreeMap::new(), Vec::new()));
    };
    let report = StrengthReport::parse(path, &text)
        .map_err(|message| vec![Diagnostic::error(path, None, message)])?;
    let mut files: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut read = |file: &str| {
        files
            .entry(file.to_owned())
            .or_insert_with(|| std::fs::read_to_string(root.join(file)).ok())
            .clone()
    };
    let strength: BTreeMap<String, Strength> = report
        .requirements
        .iter()
        .map(|r| {
            let items = plan::items(scan, &r.id);
            let evidence = plan::evidence(scan, &r.id);
            let now = plan::fingerprint(&items, &evidence, &mut read);
            let judged = r.caught + r.missed;
            let strength = Strength {
                caught: r.caught,
                missed: r.missed,
                waived: r.waived,
                unviable: r.unviable,
                stale: now != r.fingerprint,
                survivors: r
                    .mutants
                    .iter()
                    .filter(|m| m.outcome == MutantOutcome::Missed && m.waived.is_none())
                    .map(|m| Survivor {
                        name: m.name.clone(),
                        file: m.file.clone(),
                        line: m.line,
                        diff: m.diff.clone(),
                    })
                    .collect(),
                unjudged_waiver: waivers::unjudged_reason(&waivers, &r.id)
                    .filter(|_| judged == 0)
                    .map(str::to_owned),
            };
            (r.id.clone(), strength)
        })
        .collect();
    let warnings = waivers
        .iter()
        .filter(|w| w.mutant.is_none())
        .filter_map(|w| {
            let problem = match strength.get(&w.id) {
                None => format!(
                    "the waiver of {} without a mutant names a requirement {path} does not measure",
                    w.id
                ),
                Some(s) if s.judged() > 0 => format!(
                    "the waiver of {} without a mutant no longer applies: {} of its mutants {} judged ({} caught); remove it",
                    w.id,
                    s.judged(),
                    if s.judged() == 1 { "is" } else { "are" },
                    s.caught
                ),
                Some(_) => return None,
            };
            Some(Diagnostic::warning(waivers_path, None, problem))
        })
        .collect();
    Ok((strength, warnings))
}

/// Reads `path` (relative to `root`) as reviewed fingerprints; a missing file is an empty map.
pub fn read_reviewed(root: &Path, path: &str) -> Result<Reviewed, Diagnostic> {
    match std::fs::read_to_string(root.join(path)) {
        Ok(text) => review::parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Reviewed::new()),
        Err(e) => Err(Diagnostic::error(path, None, format!("cannot read: {e}"))),
    }
}

/// One file `report` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// Where it goes.
    pub path: PathBuf,
    /// Its path relative to the root, for messages.
    pub display: String,
    /// Its content.
    pub content: String,
}

/// The requirement index (`outputs.index`), `COMPLIANCE.md`, `compliance.json`, `junit.xml` and
/// `reviewed.yaml` (existing entries kept, new requirements added at their current
/// fingerprint, removed ones dropped) for `loaded`, at their configured paths. The index is
/// here so that `report` leaves every generated file current, which `check` demands.
///
/// The five are independent renderings of the same data, each a few megabytes at 10,000
/// requirements, so they are rendered on threads of their own: the wall time is the slowest
/// one's, not the sum.
pub fn report_files(root: &Path, loaded: &Loaded) -> Result<Vec<ReportFile>, Diagnostic> {
    let outputs = &loaded.config.outputs;
    let markdown_prefix = prefix_to_root(&outputs.compliance_md);
    type Render<'a> = Box<dyn FnOnce() -> Result<String, String> + Send + 'a>;
    let renders: [(&String, Render<'_>); 5] = [
        (
            &outputs.index,
            Box::new(|| match &loaded.index_yaml {
                Some(text) => text.clone(),
                None => index_yaml(&loaded.index),
            }),
        ),
        (
            &outputs.compliance_md,
            Box::new(|| {
                report::compliance_markdown(&loaded.index, &loaded.model, &markdown_prefix)
            }),
        ),
        (
            &outputs.compliance_json,
            Box::new(|| report::compliance_json(&loaded.model)),
        ),
        (
            &outputs.junit,
            Box::new(|| Ok(report::junit_xml(&loaded.model, &loaded.config.gate))),
        ),
        (
            &outputs.reviewed,
            Box::new(|| review::render(&review::reconcile(&loaded.reviewed, &loaded.index))),
        ),
    ];
    let rendered: Vec<(&String, Result<String, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = renders
            .into_iter()
            .map(|(path, render)| (path, scope.spawn(render)))
            .collect();
        workers
            .into_iter()
            .map(|(path, worker)| match worker.join() {
                Ok(result) => (path, result),
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    rendered
        .into_iter()
        .map(|(path, content)| {
            Ok(ReportFile {
                path: root.join(path),
                display: path.clone(),
                content: content
                    .map_err(|e| Diagnostic::error(path, None, format!("cannot render: {e}")))?,
            })
        })
        .collect()
}

/// `../` once per directory of `path` (a path relative to the root), so that links written into
/// that file reach repository paths.
pub fn prefix_to_root(path: &str) -> String {
    let depth = Path::new(path)
        .parent()
        .map_or(0, |parent| parent.components().count());
    "../".repeat(depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_climbs_one_level_per_directory() {
        assert_eq!(prefix_to_root("COMPLIANCE.md"), "");
        assert_eq!(prefix_to_root("docs/COMPLIANCE.md"), "../");
        assert_eq!(prefix_to_root("a/b/c.md"), "../../");
    }
}
