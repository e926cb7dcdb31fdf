//! Which files the scan reads: the `[evidence]` globs of `spectrace.toml`, minus `exclude`.
//!
//! Owns one walk of the root that serves all three kinds of source. Globs use the `glob`
//! crate's syntax on paths relative to the root with `/` separators; `*` does not cross a `/`,
//! `**` matches any number of directories. The walk only enters a directory that some include
//! glob could match below and that no `exclude` glob of the form `DIR/**` covers entirely, so
//! `target/` or `.git/` cost nothing unless a glob asks for them. Symbolic links to files are
//! read; symbolic links to directories are not followed (a link cycle cannot hang the scan).
//! A glob that matches nothing is fine.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};

use crate::config::EvidenceConfig;
use crate::diag::Diagnostic;

/// The parser a file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SourceKind {
    /// `[evidence] rust`.
    Rust,
    /// `[evidence] features`.
    Gherkin,
    /// `[evidence] openapi`.
    OpenApi,
}

/// One file to scan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SourceFile {
    /// Path relative to the root, `/`-separated.
    pub(crate) relative: String,
    /// Which parser reads it.
    pub(crate) kind: SourceKind,
    /// Full path.
    pub(crate) path: PathBuf,
}

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// One include glob, whole and split into path components (for pruning).
#[derive(Debug)]
struct Include {
    kind: SourceKind,
    whole: Pattern,
    components: Vec<Pattern>,
    recursive_at: Option<usize>,
}

/// Every file under `root` matched by the globs of `evidence`, sorted by path, or every invalid
/// glob and unreadable directory.
pub(crate) fn find_sources(
    root: &Path,
    evidence: &EvidenceConfig,
) -> Result<Vec<SourceFile>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut includes = Vec::new();
    for (kind, key, globs) in [
        (SourceKind::Rust, "rust", &evidence.rust),
        (SourceKind::Gherkin, "features", &evidence.features),
        (SourceKind::OpenApi, "openapi", &evidence.openapi),
    ] {
        for glob in globs {
            match include(kind, glob) {
                Ok(include) => includes.push(include),
                Err(e) => errors.push(invalid_glob(key, glob, &e)),
            }
        }
    }
    let mut excludes = Vec::new();
    let mut pruning = Vec::new();
    for glob in &evidence.exclude {
        let glob = normalize(glob);
        match Pattern::new(glob) {
            Ok(pattern) => excludes.push(pattern),
            Err(e) => errors.push(invalid_glob("exclude", glob, &e)),
        }
        let whole_dir = if glob == "**" {
            Some("**")
        } else {
            glob.strip_suffix("/**")
        };
        if let Some(Ok(dir)) = whole_dir.map(Pattern::new) {
            pruning.push(dir);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let walk = Walk {
        includes: &includes,
        excludes: &excludes,
        pruning: &pruning,
    };
    let mut found = BTreeSet::new();
    let mut dirs = vec![(root.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, components)) = dirs.pop() {
        let relative_dir = components.join("/");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(cannot_read_dir(root, &relative_dir, &e));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    errors.push(cannot_read_dir(root, &relative_dir, &e));
                    continue;
                }
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let file_type = entry.file_type().ok();
            let is_dir = file_type.is_some_and(|t| t.is_dir());
            if file_type.is_some_and(|t| t.is_symlink()) && path.is_dir() {
                continue;
            }
            let mut child = components.clone();
            child.push(name);
            if is_dir {
                if walk.enters(&child) {
                    dirs.push((path, child));
                }
                continue;
            }
            let relative = child.join("/");
            if walk.excluded(&relative) {
                continue;
            }
            for kind in walk.kinds(&relative) {
                found.insert(SourceFile {
                    relative: relative.clone(),
                    kind,
                    path: path.clone(),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(found.into_iter().collect())
    } else {
        errors.sort();
        Err(errors)
    }
}

struct Walk<'a> {
    includes: &'a [Include],
    excludes: &'a [Pattern],
    pruning: &'a [Pattern],
}

impl Walk<'_> {
    /// Whether a directory can hold a file to scan.
    fn enters(&self, components: &[String]) -> bool {
        let relative = components.join("/");
        if self
            .pruning
            .iter()
            .any(|p| p.matches_with(&relative, OPTIONS))
        {
            return false;
        }
        self.includes.iter().any(|include| {
            components.iter().enumerate().all(|(i, name)| {
                if include.recursive_at.is_some_and(|at| at <= i) {
                    return true;
                }
                // The last component of a glob names files, not directories.
                i + 1 < include.components.len()
                    && include.components[i].matches_with(name, OPTIONS)
            })
        })
    }

    fn excluded(&self, relative: &str) -> bool {
        self.excludes
            .iter()
            .any(|p| p.matches_with(relative, OPTIONS))
    }

    fn kinds(&self, relative: &str) -> BTreeSet<SourceKind> {
        self.includes
            .iter()
            .filter(|include| include.whole.matches_with(relative, OPTIONS))
            .map(|include| include.kind)
            .collect()
    }
}

fn include(kind: SourceKind, glob: &str) -> Result<Include, glob::PatternError> {
    let glob = normalize(glob);
    let whole = Pattern::new(glob)?;
    let parts: Vec<&str> = glob.split('/').collect();
    let recursive_at = parts.iter().position(|part| *part == "**");
    let components = parts
        .iter()
        .map(|part| Pattern::new(part))
        .collect::<Result<_, _>>()?;
    Ok(Include {
        kind,
        whole,
        components,
        recursive_at,
    })
}

/// Globs are relative to the root: a leading `./` means nothing.
fn normalize(glob: &str) -> &str {
    let mut glob = glob;
    while let Some(rest) = glob.strip_prefix("./") {
        glob = rest;
    }
    glob
}

fn invalid_glob(key: &str, glob: &str, e: &glob::PatternError) -> Diagnostic {
    Diagnostic::error(
        crate::config::CONFIG_FILE,
        None,
        format!("invalid glob `{glob}` in [evidence] {key}: {e}"),
    )
}

fn cannot_read_dir(root: &Path, relative: &str, e: &std::io::Error) -> Diagnostic {
    let name = if relative.is_empty() {
        root.display().to_string()
    } else {
        relative.to_owned()
    };
    Diagnostic::error(name, None, format!("cannot read directory: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }

    fn config(rust: &[&str], features: &[&str], exclude: &[&str]) -> EvidenceConfig {
        let strings = |globs: &[&str]| globs.iter().map(|g| (*g).to_owned()).collect();
        EvidenceConfig {
            rust: strings(rust),
            features: strings(features),
            openapi: Vec::new(),
            exclude: strings(exclude),
        }
    }

    fn found(root: &Path, evidence: &EvidenceConfig) -> Vec<(String, SourceKind)> {
        find_sources(root, evidence)
            .unwrap()
            .into_iter()
            .map(|f| (f.relative, f.kind))
            .collect()
    }

    #[test]
    fn globs_select_excludes_remove_and_results_are_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "src/lib.rs",
            "src/a/b.rs",
            "src/notes.txt",
            "target/debug/build.rs",
            "crates/x/target/gen.rs",
            "fixtures/bad.rs",
            "features/a.feature",
            "features/deep/b.feature",
        ] {
            touch(dir.path(), file);
        }
        let evidence = config(
            &["**/*.rs"],
            &["features/*.feature"],
            &["**/target/**", "fixtures/**"],
        );
        assert_eq!(
            found(dir.path(), &evidence),
            [
                ("features/a.feature".to_owned(), SourceKind::Gherkin),
                ("src/a/b.rs".to_owned(), SourceKind::Rust),
                ("src/lib.rs".to_owned(), SourceKind::Rust),
            ]
        );
    }

    #[test]
    fn star_does_not_cross_directories_and_dot_slash_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["tests/a.rs", "tests/sub/b.rs", ".hidden/c.rs"] {
            touch(dir.path(), file);
        }
        let evidence = config(&["./tests/*.rs", ".hidden/**/*.rs"], &[], &[]);
        assert_eq!(
            found(dir.path(), &evidence),
            [
                (".hidden/c.rs".to_owned(), SourceKind::Rust),
                ("tests/a.rs".to_owned(), SourceKind::Rust),
            ]
        );
    }

    #[test]
    fn no_match_is_fine_and_bad_globs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(found(dir.path(), &config(&["nothing/**/*.rs"], &[], &[])).is_empty());
        let errors = find_sources(dir.path(), &config(&["a/**b/*.rs"], &[], &["[x"])).unwrap_err();
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0]
                .starts_with("spectrace.toml: error: invalid glob `a/**b/*.rs` in [evidence] rust"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("`[x` in [evidence] exclude"),
            "{messages:?}"
        );
    }

    #[test]
    fn a_missing_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let errors = find_sources(&missing, &config(&["**/*.rs"], &[], &[])).unwrap_err();
        assert!(
            errors[0].message.starts_with("cannot read directory"),
            "{errors:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_directories_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "src/a.rs");
        std::os::unix::fs::symlink(dir.path().join("src"), dir.path().join("src/loop")).unwrap();
        let evidence = config(&["**/*.rs"], &[], &[]);
        assert_eq!(
            found(dir.path(), &evidence),
            [("src/a.rs".to_owned(), SourceKind::Rust)]
        );
    }
}
