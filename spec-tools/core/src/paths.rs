//! Which files a stage reads, and how paths are written: the one place that turns globs of
//! `spectrace.toml` into files and file paths into the `/`-separated, root-relative strings
//! that every output, diagnostic and evidence key carries.
//!
//! **Selection.** A [`Selector`] holds include globs, each tagged with what its files are for
//! (a spec, a Rust source, a JUnit report, …), and exclude globs. Globs use the `glob` crate's
//! syntax on paths relative to the root with `/` separators; `*` does not cross a `/`, `**`
//! matches any number of directories, a leading `./` means nothing. One walk of the root serves
//! every include: it only enters a directory that some include glob could match below and that
//! no `DIR/**` exclude covers entirely, so `target/` or `.git/` cost nothing unless a glob asks
//! for them. Symbolic links to files are read; symbolic links to directories are not followed
//! (a link cycle cannot hang a run). A glob that matches nothing is fine here; a stage that
//! needs a match says so itself.
//!
//! **Paths.** [`relative_to`] writes a path relative to the root with `/` separators — what
//! `file!()` records when the root is the Cargo workspace root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};

use crate::diag::Diagnostic;

/// One selected file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Selected<K> {
    /// Path relative to the root, `/`-separated.
    pub relative: String,
    /// What an include glob that matched it says it is for.
    pub kind: K,
    /// Full path.
    pub path: PathBuf,
}

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// One include glob, whole and split into path components (for pruning).
#[derive(Debug)]
struct Include<K> {
    kind: K,
    whole: Pattern,
    components: Vec<Pattern>,
    recursive_at: Option<usize>,
}

/// Tagged include globs and exclude globs, compiled; see the module documentation.
#[derive(Debug)]
pub struct Selector<K> {
    includes: Vec<Include<K>>,
    excludes: Vec<Pattern>,
    pruning: Vec<Pattern>,
}

/// Where a list of globs comes from, for error messages: `[section] key` of spectrace.toml.
#[derive(Debug, Clone, Copy)]
pub struct GlobKey<'a> {
    /// The table, e.g. `evidence`.
    pub section: &'a str,
    /// The key, e.g. `rust`.
    pub key: &'a str,
}

impl<K: Copy + Ord> Selector<K> {
    /// Compiles `includes` (each list tagged with its kind and its key) and `excludes`, or
    /// returns every invalid glob.
    pub fn new(
        includes: &[(K, GlobKey<'_>, &[String])],
        excludes: &[(GlobKey<'_>, &[String])],
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        for (kind, key, globs) in includes {
            for glob in *globs {
                match include(*kind, glob) {
                    Ok(include) => compiled.push(include),
                    Err(e) => errors.push(invalid_glob(*key, glob, &e)),
                }
            }
        }
        let mut patterns = Vec::new();
        let mut pruning = Vec::new();
        for (key, globs) in excludes {
            for glob in *globs {
                let glob = normalize(glob);
                match Pattern::new(glob) {
                    Ok(pattern) => patterns.push(pattern),
                    Err(e) => errors.push(invalid_glob(*key, glob, &e)),
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
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            includes: compiled,
            excludes: patterns,
            pruning,
        })
    }

    /// True when an exclude glob matches `relative` (a path relative to the root).
    pub fn excludes(&self, relative: &str) -> bool {
        self.excludes
            .iter()
            .any(|p| p.matches_with(relative, OPTIONS))
    }

    /// Every file under `root` that an include glob matches and no exclude glob does, once per
    /// kind that matches it, sorted by path then kind; or every directory that could not be
    /// read.
    pub fn select(&self, root: &Path) -> Result<Vec<Selected<K>>, Vec<Diagnostic>> {
        let mut errors = Vec::new();
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
                    if self.enters(&child) {
                        dirs.push((path, child));
                    }
                    continue;
                }
                let relative = child.join("/");
                if self.excludes(&relative) {
                    continue;
                }
                for kind in self.kinds(&relative) {
                    found.insert(Selected {
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

    /// Whether a directory can hold a selected file.
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

    fn kinds(&self, relative: &str) -> BTreeSet<K> {
        self.includes
            .iter()
            .filter(|include| include.whole.matches_with(relative, OPTIONS))
            .map(|include| include.kind)
            .collect()
    }
}

fn include<K>(kind: K, glob: &str) -> Result<Include<K>, glob::PatternError> {
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

fn invalid_glob(key: GlobKey<'_>, glob: &str, e: &glob::PatternError) -> Diagnostic {
    Diagnostic::error(
        crate::config::CONFIG_FILE,
        None,
        format!(
            "invalid glob `{glob}` in [{}] {}: {e}",
            key.section, key.key
        ),
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

/// `path` relative to `root`, with `/` separators and without `.` components. When `path` is
/// not under `root` as written, both are resolved (symbolic links, `..`) and compared again;
/// a path outside the root is returned whole, `/`-separated.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let relative = path
        .strip_prefix(root)
        .ok()
        .map(Path::to_path_buf)
        .or_else(|| {
            let (path, root) = (path.canonicalize().ok()?, root.canonicalize().ok()?);
            path.strip_prefix(root).ok().map(Path::to_path_buf)
        });
    let shown = relative.as_deref().unwrap_or(path);
    let parts: Vec<_> = shown
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = parts.join("/");
    // The root component of an absolute path is `/` itself, which the join doubles.
    match joined.strip_prefix("//") {
        Some(rest) => format!("/{rest}"),
        None => joined,
    }
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

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Kind {
        Rust,
        Feature,
    }

    const RUST: GlobKey<'static> = GlobKey {
        section: "evidence",
        key: "rust",
    };
    const FEATURES: GlobKey<'static> = GlobKey {
        section: "evidence",
        key: "features",
    };
    const EXCLUDE: GlobKey<'static> = GlobKey {
        section: "evidence",
        key: "exclude",
    };

    fn strings(globs: &[&str]) -> Vec<String> {
        globs.iter().map(|g| (*g).to_owned()).collect()
    }

    fn selector(rust: &[&str], features: &[&str], exclude: &[&str]) -> Selector<Kind> {
        try_selector(rust, features, exclude).unwrap()
    }

    fn try_selector(
        rust: &[&str],
        features: &[&str],
        exclude: &[&str],
    ) -> Result<Selector<Kind>, Vec<Diagnostic>> {
        Selector::new(
            &[
                (Kind::Rust, RUST, &strings(rust)),
                (Kind::Feature, FEATURES, &strings(features)),
            ],
            &[(EXCLUDE, &strings(exclude))],
        )
    }

    fn found(root: &Path, selector: &Selector<Kind>) -> Vec<(String, Kind)> {
        selector
            .select(root)
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
        let selector = selector(
            &["**/*.rs"],
            &["features/*.feature"],
            &["**/target/**", "fixtures/**"],
        );
        assert_eq!(
            found(dir.path(), &selector),
            [
                ("features/a.feature".to_owned(), Kind::Feature),
                ("src/a/b.rs".to_owned(), Kind::Rust),
                ("src/lib.rs".to_owned(), Kind::Rust),
            ]
        );
        assert!(selector.excludes("crates/x/target/gen.rs"));
        assert!(!selector.excludes("src/lib.rs"));
    }

    #[test]
    fn a_file_matched_by_two_kinds_is_selected_once_per_kind() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "x/both.rs");
        let selector = selector(&["x/*.rs"], &["**/both.rs"], &[]);
        assert_eq!(
            found(dir.path(), &selector),
            [
                ("x/both.rs".to_owned(), Kind::Rust),
                ("x/both.rs".to_owned(), Kind::Feature),
            ]
        );
    }

    #[test]
    fn star_does_not_cross_directories_and_dot_slash_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["tests/a.rs", "tests/sub/b.rs", ".hidden/c.rs"] {
            touch(dir.path(), file);
        }
        let selector = selector(&["./tests/*.rs", ".hidden/**/*.rs"], &[], &[]);
        assert_eq!(
            found(dir.path(), &selector),
            [
                (".hidden/c.rs".to_owned(), Kind::Rust),
                ("tests/a.rs".to_owned(), Kind::Rust),
            ]
        );
    }

    #[test]
    fn no_match_is_fine_and_bad_globs_are_errors_naming_their_key() {
        let dir = tempfile::tempdir().unwrap();
        assert!(found(dir.path(), &selector(&["nothing/**/*.rs"], &[], &[])).is_empty());
        let errors = try_selector(&["a/**b/*.rs"], &[], &["[x"]).unwrap_err();
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
        let errors = selector(&["**/*.rs"], &[], &[])
            .select(&missing)
            .unwrap_err();
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
        assert_eq!(
            found(dir.path(), &selector(&["**/*.rs"], &[], &[])),
            [("src/a.rs".to_owned(), Kind::Rust)]
        );
    }

    #[test]
    fn relative_paths_use_slashes_and_resolve_links_to_the_root() {
        let root = Path::new("/ws");
        assert_eq!(
            relative_to(root, Path::new("/ws/features/a/b.feature")),
            "features/a/b.feature"
        );
        assert_eq!(relative_to(root, Path::new("/ws/./x.md")), "x.md");
        assert_eq!(
            relative_to(root, Path::new("/elsewhere/c.feature")),
            "/elsewhere/c.feature"
        );
        assert_eq!(relative_to(Path::new("."), Path::new("./a/b")), "a/b");
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            touch(dir.path(), "real/f.txt");
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path().join("real"), &link).unwrap();
            assert_eq!(
                relative_to(&dir.path().join("real"), &link.join("f.txt")),
                "f.txt"
            );
        }
    }
}
