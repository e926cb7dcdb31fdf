//! Which files `spectrace links` reads: the `[links]` globs of spectrace.toml, relative to the
//! root, minus `exclude`; never anything under a `target/` directory. An include glob that
//! matches nothing is not an error (the built site is absent until `spectrace site` runs).

use std::path::{Path, PathBuf};

use spectrace_core::diag::Diagnostic;
use spectrace_core::requirements::matching_files;

/// Every file matching `include` and no `exclude` glob, as (path relative to the root with `/`
/// separators, full path), sorted, without duplicates.
pub fn find_files(
    root: &Path,
    include: &[String],
    exclude: &[String],
) -> Result<Vec<(String, PathBuf)>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let excludes: Vec<glob::Pattern> = exclude
        .iter()
        .filter_map(|pattern| match glob::Pattern::new(pattern) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(bad_glob("exclude", pattern, &e.to_string()));
                None
            }
        })
        .collect();
    let found = matching_files(
        root,
        include,
        |relative| !is_excluded(relative, &excludes),
        |pattern, e| bad_glob("include", pattern, &e.to_string()),
    );
    match found {
        Ok(found) if errors.is_empty() => Ok(found),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

fn bad_glob(key: &str, pattern: &str, error: &str) -> Diagnostic {
    Diagnostic::error(
        spectrace_core::config::CONFIG_FILE,
        None,
        format!("invalid glob in links.{key} `{pattern}`: {error}"),
    )
}

/// Under a `target/` directory (Cargo's output, never scanned) or matched by an exclude glob.
fn is_excluded(relative: &str, excludes: &[glob::Pattern]) -> bool {
    relative.split('/').any(|part| part == "target") || excludes.iter().any(|p| p.matches(relative))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn write(root: &Path, rel: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }

    fn names(found: &[(String, PathBuf)]) -> Vec<&str> {
        found.iter().map(|(r, _)| r.as_str()).collect()
    }

    #[test]
    fn globs_select_sorted_files_and_target_is_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "README.md",
            "docs/b.md",
            "docs/a/c.md",
            "docs/skip.md",
            "target/doc/x.md",
            "docs/target/y.md",
            "site/out/index.html",
            "notes.txt",
        ] {
            write(root, rel);
        }
        let include = [
            "*.md",
            "docs/**/*.md",
            "target/**/*.md",
            "site/out/**/*.html",
            "nothing/*.md",
        ]
        .map(str::to_owned);
        let found = find_files(root, &include, &["docs/skip.md".to_owned()]).unwrap();
        assert_eq!(
            names(&found),
            [
                "README.md",
                "docs/a/c.md",
                "docs/b.md",
                "site/out/index.html"
            ]
        );
    }

    #[test]
    fn a_bad_glob_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let errors = find_files(dir.path(), &["a/***".to_owned()], &["[".to_owned()]).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{text:?}");
        assert!(text[0].contains("links.exclude `[`"), "{text:?}");
        assert!(text[1].contains("links.include `a/***`"), "{text:?}");
    }
}
