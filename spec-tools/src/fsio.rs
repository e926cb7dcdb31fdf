//! Writing files so that nothing is lost: every file the tools write goes through
//! [`write_atomic`], so a reader sees the old content or the new content, never a part.
//!
//! The content goes to a temporary file in the target's directory, which is flushed to disk and
//! then renamed over the target; the directory is flushed too, so the rename survives a crash.
//! When the rename fails with `EXDEV` (the target is on another file system than its directory
//! entry suggests, e.g. a bind-mounted file), the content is copied into a second temporary
//! file created on the target's side and that one is renamed instead.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The two file-system operations whose failure modes matter here; tests inject failures.
pub trait RenameOps {
    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl RenameOps for RealFs {
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

/// Replaces `target` with `contents` atomically, creating missing parent directories.
pub fn write_atomic(target: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomic_with(&RealFs, target, contents)
}

/// [`write_atomic`] over injectable rename operations.
pub fn write_atomic_with(ops: &impl RenameOps, target: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = parent_dir(target);
    fs::create_dir_all(&dir)?;
    let staged = stage(&dir, target, contents)?;
    match ops.rename(staged.path(), target) {
        Ok(()) => {}
        Err(e) if is_cross_device(&e) => {
            // Copy into a fresh temporary file on the target's side, then rename that one.
            let copy = stage(&dir, target, &fs::read(staged.path())?)?;
            ops.rename(copy.path(), target)?;
            copy.disarm();
        }
        Err(e) => return Err(with_path(e, target)),
    }
    staged.disarm_if_gone();
    sync_dir(&dir)
}

fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `EXDEV`: the rename would cross file systems.
fn is_cross_device(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::CrossesDevices
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A temporary file beside the target, removed on drop unless it was renamed away.
struct Staged {
    path: PathBuf,
    armed: bool,
}

impl Staged {
    fn path(&self) -> &Path {
        &self.path
    }

    fn disarm(mut self) {
        self.armed = false;
    }

    fn disarm_if_gone(mut self) {
        if !self.path.exists() {
            self.armed = false;
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn stage(dir: &Path, target: &Path, contents: &[u8]) -> io::Result<Staged> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let (mut handle, path) = file.keep().map_err(|e| e.error)?;
    let staged = Staged { path, armed: true };
    write_and_sync(&mut handle, contents)?;
    set_mode_like(target, staged.path())?;
    Ok(staged)
}

fn write_and_sync(file: &mut File, contents: &[u8]) -> io::Result<()> {
    file.write_all(contents)?;
    file.sync_all()
}

/// Gives the new file the target's permissions, or `rw-r--r--` for a new target (temporary
/// files are created private).
fn set_mode_like(target: &Path, staged: &Path) -> io::Result<()> {
    let permissions = match fs::metadata(target) {
        Ok(meta) => meta.permissions(),
        Err(_) => default_permissions(staged)?,
    };
    fs::set_permissions(staged, permissions)
}

#[cfg(unix)]
fn default_permissions(_staged: &Path) -> io::Result<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions(staged: &Path) -> io::Result<fs::Permissions> {
    Ok(fs::metadata(staged)?.permissions())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Fails the first `fail_first` renames with EXDEV, then renames for real.
    struct CrossDevice {
        fail_first: Cell<usize>,
        calls: Cell<usize>,
    }

    impl RenameOps for CrossDevice {
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            self.calls.set(self.calls.get() + 1);
            if self.fail_first.get() > 0 {
                self.fail_first.set(self.fail_first.get() - 1);
                return Err(io::Error::from(io::ErrorKind::CrossesDevices));
            }
            fs::rename(from, to)
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_new_file_and_replaces_existing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/out.yaml");
        write_atomic(&target, b"one").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"one");
        write_atomic(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert!(leftovers(&dir.path().join("sub")).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_world_readable_and_existing_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_atomic(&target, b"x").unwrap();
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o644
        );
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
        write_atomic(&target, b"y").unwrap();
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn cross_device_rename_falls_back_to_copy_then_rename() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        fs::write(&target, b"old").unwrap();
        let ops = CrossDevice {
            fail_first: Cell::new(1),
            calls: Cell::new(0),
        };
        write_atomic_with(&ops, &target, b"new contents").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new contents");
        assert_eq!(
            ops.calls.get(),
            2,
            "one failed rename, one rename of the copy"
        );
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn failure_of_the_fallback_keeps_the_old_file_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        fs::write(&target, b"old").unwrap();
        let ops = CrossDevice {
            fail_first: Cell::new(2),
            calls: Cell::new(0),
        };
        let err = write_atomic_with(&ops, &target, b"new").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::CrossesDevices);
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn other_rename_errors_name_the_target() {
        struct Denied;
        impl RenameOps for Denied {
            fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
                Err(io::Error::from(io::ErrorKind::PermissionDenied))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let err = write_atomic_with(&Denied, &target, b"x").unwrap_err();
        assert!(err.to_string().contains("out"), "{err}");
        assert!(!target.exists());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_concurrent_reader_never_sees_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big.txt");
        let a = vec![b'a'; 1 << 20];
        let b = vec![b'b'; 1 << 20];
        write_atomic(&target, &a).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (done, target) = (Arc::clone(&done), target.clone());
            std::thread::spawn(move || {
                let mut reads = 0usize;
                while !done.load(Ordering::Relaxed) {
                    let seen = fs::read(&target).unwrap();
                    assert_eq!(seen.len(), 1 << 20, "partial file seen");
                    assert!(seen.iter().all(|&c| c == seen[0]), "mixed file seen");
                    reads += 1;
                }
                reads
            })
        };
        for round in 0..40 {
            write_atomic(&target, if round % 2 == 0 { &b } else { &a }).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let reads = reader.join().unwrap();
        assert!(reads > 0);
    }
}
