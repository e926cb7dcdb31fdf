//! The extract stage: spec files in, the requirement set out.
//!
//! Reads every spec matched by the include globs, parses each with [`crate::extract`], then
//! checks the set as a whole: one definition per ID across all specs, references to IDs that
//! exist. The result is sorted and free of anything that varies between runs.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Severity};
use crate::extract::{ParsedSpec, parse_spec};
use crate::id::{IdPattern, natural_cmp};
use crate::model::{RequirementIndex, SCHEMA_VERSION, SpecSummary};
use crate::paths::{GlobKey, Selector};

/// What the stage needs to know.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Directory that paths are relative to.
    pub root: PathBuf,
    /// Glob patterns relative to `root`.
    pub include: Vec<String>,
    /// The ID pattern.
    pub ids: IdPattern,
    /// Turn warnings into errors.
    pub strict: bool,
}

/// The requirement set and the warnings found while building it.
#[derive(Debug)]
pub struct Extraction {
    /// The sorted requirement set.
    pub index: RequirementIndex,
    /// Warnings (never errors).
    pub warnings: Vec<Diagnostic>,
}

/// Builds the requirement set, or returns every error (and warning) found.
pub fn extract(options: &ExtractOptions) -> Result<Extraction, Vec<Diagnostic>> {
    let files = find_specs(&options.root, &options.include)?;
    let parsed_all = parse_all(&files, &options.ids);
    let mut diagnostics = Vec::new();
    let mut specs = Vec::with_capacity(files.len());
    // Sized once: tens of thousands of requirements of a few hundred bytes each.
    let mut requirements = Vec::with_capacity(
        parsed_all
            .iter()
            .flatten()
            .map(|parsed| parsed.requirements.len())
            .sum(),
    );
    let mut mentions = Vec::with_capacity(files.len());
    for ((relative, _), parsed) in files.iter().zip(parsed_all) {
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        specs.push(SpecSummary {
            path: relative.clone(),
            title: parsed.title.unwrap_or_else(|| file_name(relative)),
            requirements: parsed.requirements.len(),
        });
        mentions.push((relative, parsed.mentions));
        requirements.extend(parsed.requirements);
        diagnostics.extend(parsed.diagnostics);
    }

    let mut by_id: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for r in &requirements {
        by_id.entry(&r.id).or_default().push((&r.spec, r.line));
    }
    for (id, locations) in &by_id {
        if let [(first_spec, first_line), _, ..] = locations.as_slice() {
            let all: Vec<String> = locations
                .iter()
                .map(|(spec, line)| format!("{spec}:{line}"))
                .collect();
            diagnostics.push(Diagnostic::error(
                *first_spec,
                Some(*first_line),
                format!(
                    "{id} is defined {} times: {}",
                    locations.len(),
                    all.join(", ")
                ),
            ));
        }
    }

    let defined: HashSet<&str> = by_id.keys().copied().collect();
    let mut dangling = BTreeSet::new();
    for (file, mentioned) in &mentions {
        for (id, line) in mentioned {
            if !defined.contains(id.as_str()) && dangling.insert((*file, *line, id.as_str())) {
                diagnostics.push(Diagnostic::warning(
                    file.as_str(),
                    Some(*line),
                    format!("{id} is mentioned but no spec defines it"),
                ));
            }
        }
    }

    if options.strict {
        for d in &mut diagnostics {
            d.severity = Severity::Error;
        }
    }
    diagnostics.sort();
    diagnostics.dedup();
    if crate::diag::has_errors(&diagnostics) {
        return Err(diagnostics);
    }

    requirements.sort_by(|a, b| natural_cmp(&a.id, &b.id));
    specs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Extraction {
        index: RequirementIndex {
            schema_version: SCHEMA_VERSION,
            specs,
            requirements,
        },
        warnings: diagnostics,
    })
}

/// Reads and parses every file, spread over the available cores; results keep the files' order,
/// so the outcome does not depend on scheduling.
fn parse_all(files: &[(String, PathBuf)], ids: &IdPattern) -> Vec<Result<ParsedSpec, Diagnostic>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(relative, path)| read_and_parse(relative, path, ids))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(results) => results,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn read_and_parse(relative: &str, path: &Path, ids: &IdPattern) -> Result<ParsedSpec, Diagnostic> {
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::error(relative, None, format!("cannot read: {e}")))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        let line = line_of_offset(e.as_bytes(), e.utf8_error().valid_up_to());
        Diagnostic::error(relative, Some(line), "not valid UTF-8")
    })?;
    Ok(parse_spec(relative, &source, ids))
}

/// Every file under `root` matching one of `include`, as (path relative to root with `/`
/// separators, full path), sorted and without duplicates. No match at all is an error.
pub fn find_specs(
    root: &Path,
    include: &[String],
) -> Result<Vec<(String, PathBuf)>, Vec<Diagnostic>> {
    let key = GlobKey {
        section: "specs",
        key: "include",
    };
    let found = Selector::new(&[((), key, include)], &[])?.select(root)?;
    if found.is_empty() {
        return Err(vec![Diagnostic::error(
            root.display().to_string(),
            None,
            format!("no spec file matches {}", include.join(", ")),
        )]);
    }
    Ok(found.into_iter().map(|f| (f.relative, f.path)).collect())
}

fn file_name(relative: &str) -> String {
    relative.rsplit('/').next().unwrap_or(relative).to_owned()
}

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::DEFAULT_ID_PATTERN;
    use std::fs;

    fn options(root: &Path) -> ExtractOptions {
        ExtractOptions {
            root: root.to_path_buf(),
            include: vec![".specs/**/*.md".to_owned()],
            ids: IdPattern::new(DEFAULT_ID_PATTERN).unwrap(),
            strict: false,
        }
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn messages(diags: &[Diagnostic]) -> Vec<String> {
        diags.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn sorted_set_with_spec_summaries() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            ".specs/b.md",
            "# B spec\n\n- It MUST x. [ORCH-1000]\n",
        );
        write(
            dir.path(),
            ".specs/sub/a.md",
            "- It MAY y. [ORCH-0999]\n- It SHOULD z, see ORCH-1000. [ORCH-2000]\n",
        );
        let out = extract(&options(dir.path())).unwrap();
        let ids: Vec<_> = out
            .index
            .requirements
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, ["ORCH-0999", "ORCH-1000", "ORCH-2000"]);
        let specs: Vec<_> = out
            .index
            .specs
            .iter()
            .map(|s| (s.path.as_str(), s.title.as_str(), s.requirements))
            .collect();
        assert_eq!(
            specs,
            [(".specs/b.md", "B spec", 1), (".specs/sub/a.md", "a.md", 2)]
        );
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn duplicates_name_every_location() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            ".specs/a.md",
            "- A MUST x. [ORCH-1000]\n\n- B MUST y. [ORCH-1000]\n",
        );
        write(dir.path(), ".specs/b.md", "\n- C MUST z. [ORCH-1000]\n");
        let errs = extract(&options(dir.path())).unwrap_err();
        assert_eq!(
            messages(&errs),
            [
                ".specs/a.md:1: error: ORCH-1000 is defined 3 times: .specs/a.md:1, .specs/a.md:3, .specs/b.md:2"
            ]
        );
    }

    #[test]
    fn dangling_references_warn_and_fail_under_strict() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            ".specs/a.md",
            "- A MUST follow ORCH-4242. [ORCH-1000]\n",
        );
        let out = extract(&options(dir.path())).unwrap();
        assert_eq!(
            messages(&out.warnings),
            [".specs/a.md:1: warning: ORCH-4242 is mentioned but no spec defines it"]
        );
        let mut strict = options(dir.path());
        strict.strict = true;
        let errs = extract(&strict).unwrap_err();
        assert_eq!(
            messages(&errs),
            [".specs/a.md:1: error: ORCH-4242 is mentioned but no spec defines it"]
        );
    }

    #[test]
    fn unreadable_and_non_utf8_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".specs/ok.md", "- A MUST x. [ORCH-1000]\n");
        fs::write(
            dir.path().join(".specs/bad.md"),
            b"line one\nline \xff two\n",
        )
        .unwrap();
        let errs = extract(&options(dir.path())).unwrap_err();
        assert_eq!(messages(&errs), [".specs/bad.md:2: error: not valid UTF-8"]);
    }

    #[test]
    fn no_matching_spec_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let errs = extract(&options(dir.path())).unwrap_err();
        assert!(
            errs[0]
                .message
                .contains("no spec file matches .specs/**/*.md")
        );
    }

    #[test]
    fn output_is_independent_of_where_the_root_is() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        for dir in [&one, &two] {
            write(
                dir.path(),
                ".specs/a.md",
                "## S\n\n- A MUST x. [ORCH-1000]\n",
            );
        }
        let a = extract(&options(one.path())).unwrap().index;
        let b = extract(&options(two.path())).unwrap().index;
        assert_eq!(a, b);
        assert_eq!(a.requirements[0].spec, ".specs/a.md");
    }
}
