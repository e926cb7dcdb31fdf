//! Generated files: write them (atomically) or, in `--check` mode, compare the committed copy
//! with what would be generated and show the difference. Shared by every generator.

use std::io;
use std::path::Path;

use similar::TextDiff;

use crate::fsio::write_atomic;

/// What happened to one generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emitted {
    /// The file was written (it was missing or different).
    Written,
    /// The file already had exactly this content; it was not touched.
    Unchanged,
    /// Check mode: the committed file differs; the unified diff (committed → generated).
    Stale(String),
    /// Check mode: there is no committed file.
    Missing,
}

/// Writes `content` to `path` unless it is already there; in check mode only compares.
/// `display` is the name used in the diff header.
pub fn emit(path: &Path, display: &str, content: &str, check: bool) -> io::Result<Emitted> {
    let current = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let unchanged = current.as_deref() == Some(content.as_bytes());
    match (check, unchanged, current) {
        (_, true, _) => Ok(Emitted::Unchanged),
        (true, false, None) => Ok(Emitted::Missing),
        (true, false, Some(bytes)) => {
            let committed = String::from_utf8_lossy(&bytes);
            Ok(Emitted::Stale(unified_diff(display, &committed, content)))
        }
        (false, false, _) => {
            write_atomic(path, content.as_bytes())?;
            Ok(Emitted::Written)
        }
    }
}

/// A unified diff from `old` (the committed file) to `new` (what would be generated).
pub fn unified_diff(display: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{display} (committed)"),
            &format!("{display} (generated)"),
        )
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_unchanged_then_check_detects_drift() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        assert_eq!(
            emit(&path, "out.yaml", "a\n", true).unwrap(),
            Emitted::Missing
        );
        assert!(!path.exists());
        assert_eq!(
            emit(&path, "out.yaml", "a\n", false).unwrap(),
            Emitted::Written
        );
        assert_eq!(
            emit(&path, "out.yaml", "a\n", false).unwrap(),
            Emitted::Unchanged
        );
        assert_eq!(
            emit(&path, "out.yaml", "a\n", true).unwrap(),
            Emitted::Unchanged
        );
        let Emitted::Stale(diff) = emit(&path, "out.yaml", "b\n", true).unwrap() else {
            panic!("expected a diff");
        };
        assert!(diff.contains("--- out.yaml (committed)"), "{diff}");
        assert!(diff.contains("-a\n+b\n"), "{diff}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a\n",
            "check mode never writes"
        );
    }
}
