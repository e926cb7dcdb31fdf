//! Which files `spectrace links` reads: the `[links]` globs of spectrace.toml, relative to the
//! root, minus `exclude`; never anything under a `target/` directory. An include glob that
//! matches nothing is not an error (the built site is absent until `spectrace site` runs).

use std::path::{Path, PathBuf};

use spectrace_core::diag::Diagnostic;
use spectrace_core::paths::{GlobKey, Selector};

/// Every file matching `include` and no `exclude` glob, never under a `target/` directory, as
/// (path relative to the root with `/` separators, full path), sorted, without duplicates.
pub fn find_files(
    root: &Path,
    include: &[String],
    exclude: &[String],
) -> Result<Vec<(String, PathBuf)>, Vec<Diagnostic>> {
    let key = |key| GlobKey {
        section: "links",
        key,
    };
    // Cargo's output is never read, wherever it is.
    let target = ["**/target/**".to_owned()];
    let selector = Selector::new(
        &[((), key("include"), include)],
        &[(key("exclude"), exclude), (key("exclude"), &target)],
    )?;
    Ok(selector
        .select(root)?
        .into_iter()
        .map(|f| (f.relative, f.path))
        .collect())
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
        assert!(text[0].contains("`a/***` in [links] include"), "{text:?}");
        assert!(text[1].contains("`[` in [links] exclude"), "{text:?}");
    }
}
