//! Generated files: write them (atomically) or, in `--check` mode, compare the committed copy
//! with what would be generated and show the difference. Shared by every generator.

use std::io::{self, Read};
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
    let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    match (
        check,
        file_matches(path, content.as_bytes()).map_err(with_path)?,
    ) {
        (_, Some(true)) => Ok(Emitted::Unchanged),
        (true, None) => Ok(Emitted::Missing),
        (true, Some(false)) => {
            let bytes = std::fs::read(path).map_err(with_path)?;
            let committed = String::from_utf8_lossy(&bytes);
            Ok(Emitted::Stale(unified_diff(display, &committed, content)))
        }
        (false, _) => {
            write_atomic(path, content.as_bytes())?;
            Ok(Emitted::Written)
        }
    }
}

/// Whether the file at `path` holds exactly `content`; `None` when there is no file. The file
/// is read in blocks into one small buffer: a committed copy of megabytes is compared without
/// being held in memory whole.
pub fn file_matches(path: &Path, content: &[u8]) -> io::Result<Option<bool>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let metadata = file.metadata()?;
    if metadata.is_file() && metadata.len() != content.len() as u64 {
        return Ok(Some(false));
    }
    let mut buffer = vec![0; 64 * 1024];
    let mut rest = content;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if read == 0 {
            return Ok(Some(rest.is_empty()));
        }
        match rest.split_at_checked(read) {
            Some((head, tail)) if head == &buffer[..read] => rest = tail,
            _ => return Ok(Some(false)),
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
    fn a_file_matches_its_exact_content_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        assert_eq!(file_matches(&path, b"").unwrap(), None);
        // Longer than one block of the buffer, so that the comparison spans several reads.
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        assert_eq!(file_matches(&path, &content).unwrap(), Some(true));
        let mut changed = content.clone();
        changed[150_000] ^= 1;
        assert_eq!(file_matches(&path, &changed).unwrap(), Some(false));
        assert_eq!(
            file_matches(&path, &content[..199_999]).unwrap(),
            Some(false)
        );
        std::fs::write(&path, b"").unwrap();
        assert_eq!(file_matches(&path, b"").unwrap(), Some(true));
        assert_eq!(file_matches(&path, b"a").unwrap(), Some(false));
        assert!(
            file_matches(dir.path(), b"a").is_err(),
            "a directory is not a file"
        );
    }

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
