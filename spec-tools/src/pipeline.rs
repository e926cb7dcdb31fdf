//! The pipeline of BRIEF §2 wired together for the `report`, `check` and `verify` commands:
//! config → requirement set → declared evidence → the run's records → compliance model →
//! report files. Each stage is its own module; this one only calls them in order and collects
//! their diagnostics.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::compliance::records::{Run, read_run};
use crate::compliance::{self, ComplianceModel};
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::id::IdPattern;
use crate::model::RequirementIndex;
use crate::report;
use crate::requirements::{ExtractOptions, extract, relative_to};
use crate::scan::{Scan, ScanOptions, scan};

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
    /// The model built from the above.
    pub model: ComplianceModel,
    /// Warnings of every stage (errors make [`load`] fail).
    pub warnings: Vec<Diagnostic>,
}

/// Runs every stage up to the model. `run_dir` overrides `outputs.run_dir`.
pub fn load(
    root: &Path,
    config_path: Option<&Path>,
    run_dir: Option<&Path>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let config = Config::load(root, config_path).map_err(|d| vec![d])?;
    let ids = IdPattern::new(&config.specs.id_pattern)
        .map_err(|message| vec![Diagnostic::error("spectrace.toml", None, message)])?;
    let extraction = extract(&ExtractOptions {
        root: root.to_path_buf(),
        include: config.specs.include.clone(),
        ids: ids.clone(),
        strict: false,
    })?;
    let mut warnings = extraction.warnings;
    let index = extraction.index;
    let known: BTreeSet<String> = index.requirements.iter().map(|r| r.id.clone()).collect();
    let scanned = scan(&ScanOptions {
        root: root.to_path_buf(),
        evidence: config.evidence.clone(),
        ids,
        known,
    })?;
    warnings.extend(scanned.warnings);
    let run_dir = run_dir.map_or_else(|| root.join(&config.outputs.run_dir), Path::to_path_buf);
    let mut run = read_run(&run_dir, &relative_to(root, &run_dir))?;
    warnings.extend(run.warnings.iter().cloned());
    // Tests in excluded files are not evidence (spec-tools' own tests use fixture IDs).
    let excluded = exclude_patterns(&config.evidence.exclude)?;
    run.records
        .retain(|r| !excluded.iter().any(|p| p.matches(&r.file)));
    let unknown: Vec<Diagnostic> = compliance::unknown_record_ids(&index, &run.records)
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
    let model = compliance::build(&index, &scanned.scan, &run.records);
    Ok(Loaded {
        config,
        index,
        scan: scanned.scan,
        run,
        model,
        warnings,
    })
}

/// The `[evidence] exclude` globs.
fn exclude_patterns(globs: &[String]) -> Result<Vec<glob::Pattern>, Vec<Diagnostic>> {
    globs
        .iter()
        .map(|g| {
            glob::Pattern::new(g).map_err(|e| {
                vec![Diagnostic::error(
                    "spectrace.toml",
                    None,
                    format!("evidence.exclude: bad glob `{g}`: {e}"),
                )]
            })
        })
        .collect()
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

/// `COMPLIANCE.md`, `compliance.json` and `junit.xml` for `loaded`, at their configured paths.
pub fn report_files(root: &Path, loaded: &Loaded) -> Result<Vec<ReportFile>, Diagnostic> {
    let outputs = &loaded.config.outputs;
    let render_error = |e: String| Diagnostic::error("<report>", None, e);
    let markdown = report::compliance_markdown(
        &loaded.index,
        &loaded.model,
        &prefix_to_root(&outputs.compliance_md),
    )
    .map_err(render_error)?;
    let json = report::compliance_json(&loaded.model).map_err(render_error)?;
    let junit = report::junit_xml(&loaded.model, &loaded.config.gate);
    Ok([
        (&outputs.compliance_md, markdown),
        (&outputs.compliance_json, json),
        (&outputs.junit, junit),
    ]
    .into_iter()
    .map(|(path, content)| ReportFile {
        path: root.join(path),
        display: path.clone(),
        content,
    })
    .collect())
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
