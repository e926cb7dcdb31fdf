//! Writing files so that nothing is lost: every file the tools write goes through
//! [`write_atomic`], so a reader sees the old content or the new content, never a part.
//!
//! The content goes to a temporary file in the target's directory, which is flushed to disk and
//! then renamed over the target; the directory is flushed too, so the rename survives a crash.
//! When the rename fails with `EXDEV` (the target is on another file system than its directory
//! entry suggests, e.g. a bind-mounted file), the content is copied into a second temporary
//! file created on the target's side and that one is renamed instead.
//!
//! A generated *directory* (the static site) is replaced as a whole by [`replace_dir`]: the new
//! tree is written into a fresh staging directory beside the target, made durable, and then
//! swapped in, so a reader (or a failed build) never leaves a mix of old and new files, and no
//! file of an earlier build survives a rebuild.
//!
//! Temporary files and directories carry the writing process's id in their names
//! (`.NAME.<pid>.XXXXXX.tmp`, `.NAME.tmp-<pid>-XXXXXX`, `.NAME.old-<pid>-XXXXXX`). A process
//! killed mid-write leaves one behind; the next write of the same target removes those whose
//! process is gone ([`clean_stale`]), and never those of a process that still runs.

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
    clean_stale(&dir, &file_name(target));
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

/// The file name of `target`, or `out`.
fn file_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned())
}

/// What a temporary entry's name says: whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporary {
    /// A temporary file or staging directory of the process with this id.
    Of(u32),
    /// Not a temporary entry of this target.
    No,
}

/// Reads a name [`write_atomic`] or [`replace_dir`] gives its temporary entries for the target
/// named `name`.
fn temporary_of(entry: &str, name: &str) -> Temporary {
    let Some(rest) = entry.strip_prefix(&format!(".{name}.")) else {
        return Temporary::No;
    };
    let random = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    let pid_and_random = |s: &str, sep: char| -> Temporary {
        match s.split_once(sep) {
            Some((pid, rest)) if random(rest) => pid.parse().map_or(Temporary::No, Temporary::Of),
            _ => Temporary::No,
        }
    };
    if let Some(file) = rest.strip_suffix(".tmp") {
        return pid_and_random(file, '.');
    }
    match rest
        .strip_prefix("tmp-")
        .or_else(|| rest.strip_prefix("old-"))
    {
        Some(dir) => pid_and_random(dir, '-'),
        None => Temporary::No,
    }
}

/// Whether the process `pid` still runs. Without a way to tell (no `/proc`), every process
/// counts as running, so nothing is removed.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    !proc_root.join("self").exists() || proc_root.join(pid.to_string()).exists()
}

/// Removes the temporary files and staging directories for the target `name` in `dir` that
/// processes which no longer run left behind (killed mid-write). Best effort: what cannot be
/// removed stays for the next run.
pub fn clean_stale(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let Some(entry_name) = entry_name.to_str() else {
            continue;
        };
        let Temporary::Of(pid) = temporary_of(entry_name, name) else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        let path = entry.path();
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
    }
}

fn stage(dir: &Path, target: &Path, contents: &[u8]) -> io::Result<Staged> {
    let name = file_name(target);
    let file = tempfile::Builder::new()
        .prefix(&format!(".{name}.{}.", std::process::id()))
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

/// Replaces the directory `target` with a new tree, as a whole.
///
/// `fill` writes the new tree into a fresh staging directory created next to `target`
/// (`.NAME.tmp-XXXXXX` in the same parent, so the final renames stay on one file system); a
/// `marker` file is added to it. The staged tree is then made durable (see [`sync_tree`]) and
/// swapped in: on Linux with one `renameat2(RENAME_EXCHANGE)`, so `target` always names a
/// complete tree; elsewhere (or when the file system cannot exchange) the old tree is first
/// renamed aside. The old tree is deleted last. When `fill` or any step before the swap fails,
/// the staging directory is removed and the old tree is left as it was.
///
/// An existing `target` must be empty or hold `marker` (a directory this function built):
/// a mistyped `--out .` must not replace a repository.
pub fn replace_dir(
    target: &Path,
    marker: &str,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    check_replaceable(target, marker)?;
    let parent = parent_dir(target);
    fs::create_dir_all(&parent)?;
    let name = file_name(target);
    clean_stale(&parent, &name);
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-{}-", std::process::id()))
        .tempdir_in(&parent)?;
    fill(staging.path())?;
    fs::write(staging.path().join(marker), MARKER_TEXT)?;
    // Staged files are private to the temporary directory; the tree is published as 0755.
    set_dir_public(staging.path())?;
    sync_tree(staging.path())?;
    let staged = staging.keep();
    let swapped = swap_in(&staged, target, &parent, &name);
    if swapped.is_err() {
        let _ = fs::remove_dir_all(&staged);
    }
    let old = swapped?;
    sync_dir(&parent)?;
    if let Some(old) = old {
        fs::remove_dir_all(&old).map_err(|e| with_path(e, &old))?;
    }
    Ok(())
}

/// What the marker file of a replaced directory says.
const MARKER_TEXT: &str = "This directory is generated and replaced as a whole on every build.\n";

fn check_replaceable(target: &Path, marker: &str) -> io::Result<()> {
    match fs::symlink_metadata(target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(with_path(e, target)),
        Ok(meta) if !meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}: exists and is not a directory", target.display()),
        )),
        Ok(_) => {
            let empty = fs::read_dir(target)?.next().is_none();
            if empty || target.join(marker).is_file() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{}: refusing to replace a non-empty directory without {marker} \
                         (it was not built by spectrace); remove it or choose another directory",
                        target.display()
                    ),
                ))
            }
        }
    }
}

#[cfg(unix)]
fn set_dir_public(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_dir_public(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Moves `staged` to `target`; returns where the old tree now is, if there was one.
fn swap_in(staged: &Path, target: &Path, parent: &Path, name: &str) -> io::Result<Option<PathBuf>> {
    if !target.exists() {
        fs::rename(staged, target).map_err(|e| with_path(e, target))?;
        return Ok(None);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE) {
            // The old tree now sits at the staging path.
            Ok(()) => return Ok(Some(staged.to_path_buf())),
            // The file system cannot exchange: fall back to two renames.
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(with_path(io::Error::from(e), target)),
        }
    }
    let aside = tempfile::Builder::new()
        .prefix(&format!(".{name}.old-{}-", std::process::id()))
        .tempdir_in(parent)?
        .keep();
    // `aside` exists (empty) so that its name is ours; rename replaces an empty directory.
    fs::rename(target, &aside).map_err(|e| with_path(e, target))?;
    if let Err(e) = fs::rename(staged, target) {
        // Put the old tree back.
        let _ = fs::rename(&aside, target);
        return Err(with_path(e, target));
    }
    Ok(Some(aside))
}

/// Writes `files` (paths relative to `dir`, with `/` separators) under `dir`, creating
/// directories. Not durable by itself: [`replace_dir`] syncs the tree at the end. A path
/// that is absolute or leaves `dir` (`..`) is an error.
pub fn write_tree(dir: &Path, files: &[(String, Vec<u8>)]) -> io::Result<()> {
    write_tree_reusing(dir, files, None)
}

/// [`write_tree`], taking over the files of `previous` (the tree being replaced) that already
/// hold the right bytes: such a file is hard-linked instead of written.
///
/// Measured for the 10,000-requirement benchmark site on the development machine: creating,
/// syncing and later deleting 10,000 small files is most of a rebuild's time (deleting a
/// synced tree frees every data block). A linked file costs a directory entry and no data, and
/// deleting the old tree then only drops names. A file that cannot be read or linked (another
/// file system, no hard links) is written as usual.
pub fn write_tree_reusing(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    previous: Option<&Path>,
) -> io::Result<()> {
    let mut made: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    for (rel, bytes) in files {
        let relative = Path::new(rel);
        let plain = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || rel.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{rel}: not a plain relative path"),
            ));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent()
            && !made.contains(parent)
        {
            fs::create_dir_all(parent)?;
            made.insert(parent.to_path_buf());
        }
        if let Some(previous) = previous
            && same_regular_file(&previous.join(relative), bytes)
            && fs::hard_link(previous.join(relative), &path).is_ok()
        {
            continue;
        }
        fs::write(&path, bytes).map_err(|e| with_path(e, &path))?;
    }
    Ok(())
}

/// Whether `path` is a regular file (not a link) holding exactly `bytes`.
fn same_regular_file(path: &Path, bytes: &[u8]) -> bool {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => {
            fs::read(path).is_ok_and(|old| old == bytes)
        }
        _ => false,
    }
}

/// Makes a freshly written tree durable: `fsync` of every file written for it and of every
/// directory in it. Files hard-linked from the previous tree (more than one link while that
/// tree exists) hold data that was synced when it was first written; their new names are made
/// durable by the `fsync` of their directory.
///
/// Only the tree's own files are flushed, never the whole file system (`syncfs` would also
/// wait for every other process's dirty pages). The files are synced from a few threads at
/// once, so the file system can commit them together instead of one journal commit after
/// another.
pub fn sync_tree(dir: &Path) -> io::Result<()> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    collect_tree(dir, &mut files, &mut dirs)?;
    sync_all_parallel(&files)?;
    for dir in dirs.iter().rev() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Every regular file with a single link under `dir` into `files`, and every directory
/// (`dir` first, parents before children) into `dirs`.
fn collect_tree(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) -> io::Result<()> {
    dirs.push(dir.to_path_buf());
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_tree(&entry.path(), files, dirs)?;
        } else if kind.is_file() && single_link(&entry)? {
            files.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(unix)]
fn single_link(entry: &fs::DirEntry) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    Ok(entry.metadata()?.nlink() <= 1)
}

#[cfg(not(unix))]
fn single_link(_entry: &fs::DirEntry) -> io::Result<bool> {
    Ok(true)
}

/// How many threads sync files at once.
const SYNC_THREADS: usize = 8;

/// `fsync` of each file, from up to [`SYNC_THREADS`] threads; the first error wins.
fn sync_all_parallel(files: &[PathBuf]) -> io::Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let chunk = files.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> io::Result<()> {
                    for path in part {
                        File::open(path)
                            .and_then(|f| f.sync_all())
                            .map_err(|e| with_path(e, path))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(io::Error::other("a sync thread panicked")))
        })
    })
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

    fn tree(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                    out.push(format!("{rel}={}", fs::read_to_string(&p).unwrap()));
                }
            }
        }
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    fn siblings(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn replace_dir_creates_then_replaces_without_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("site/out");
        let first = files(&[("index.html", "one"), ("req/a.html", "a")]);
        replace_dir(&target, ".built", |d| write_tree(d, &first)).unwrap();
        assert_eq!(
            tree(&target),
            [
                ".built=".to_owned() + MARKER_TEXT,
                "index.html=one".into(),
                "req/a.html=a".into()
            ]
        );
        let second = files(&[("index.html", "two"), ("spec/s.html", "s")]);
        replace_dir(&target, ".built", |d| write_tree(d, &second)).unwrap();
        assert_eq!(
            tree(&target),
            [
                ".built=".to_owned() + MARKER_TEXT,
                "index.html=two".into(),
                "spec/s.html=s".into()
            ]
        );
        assert_eq!(
            siblings(&dir.path().join("site")),
            ["out"],
            "no staging or old tree left"
        );
    }

    #[test]
    fn a_failed_build_leaves_the_old_tree_intact() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        replace_dir(&target, ".built", |d| {
            write_tree(d, &files(&[("index.html", "old")]))
        })
        .unwrap();
        let before = tree(&target);
        let err = replace_dir(&target, ".built", |d| {
            write_tree(d, &files(&[("index.html", "new"), ("extra.html", "x")]))?;
            Err(io::Error::other("rendering failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "rendering failed");
        assert_eq!(tree(&target), before);
        assert_eq!(
            siblings(dir.path()),
            ["out"],
            "the staging directory is removed"
        );
        // A bad path inside the tree fails the same way.
        let err = replace_dir(&target, ".built", |d| {
            write_tree(d, &files(&[("../escape", "x")]))
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(tree(&target), before);
        assert_eq!(siblings(dir.path()), ["out"]);
    }

    #[test]
    fn replace_dir_refuses_foreign_directories_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("repo");
        fs::create_dir_all(&foreign).unwrap();
        fs::write(foreign.join("Cargo.toml"), "x").unwrap();
        let err = replace_dir(&foreign, ".built", |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("refusing to replace"), "{err}");
        assert_eq!(siblings(&foreign), ["Cargo.toml"]);
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let err = replace_dir(&file, ".built", |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        // An empty directory may be replaced.
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        replace_dir(&empty, ".built", |d| write_tree(d, &files(&[("a", "1")]))).unwrap();
        assert_eq!(
            tree(&empty),
            [".built=".to_owned() + MARKER_TEXT, "a=1".into()]
        );
    }

    #[cfg(unix)]
    #[test]
    fn unchanged_files_of_the_old_tree_are_linked_and_changed_ones_written() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let first = files(&[
            ("same.html", "same"),
            ("changed.html", "old"),
            ("gone.html", "x"),
        ]);
        replace_dir(&target, ".built", |d| write_tree(d, &first)).unwrap();
        let inode = |name: &str| fs::metadata(target.join(name)).unwrap().ino();
        let (same, changed) = (inode("same.html"), inode("changed.html"));
        let second = files(&[
            ("same.html", "same"),
            ("changed.html", "new"),
            ("added.html", "+"),
        ]);
        replace_dir(&target, ".built", |d| {
            write_tree_reusing(d, &second, Some(&target))
        })
        .unwrap();
        assert_eq!(
            tree(&target),
            [
                ".built=".to_owned() + MARKER_TEXT,
                "added.html=+".into(),
                "changed.html=new".into(),
                "same.html=same".into()
            ]
        );
        assert_eq!(inode("same.html"), same, "an unchanged file is linked");
        assert_ne!(inode("changed.html"), changed);
        assert_eq!(
            fs::metadata(target.join("same.html")).unwrap().nlink(),
            1,
            "the old name is gone"
        );
        assert_eq!(siblings(dir.path()), ["out"]);
    }

    #[test]
    fn temporary_names_say_whose_they_are() {
        assert_eq!(
            temporary_of(".out.json.123.aB3xYz.tmp", "out.json"),
            Temporary::Of(123)
        );
        assert_eq!(temporary_of(".out.tmp-77-Qw12er", "out"), Temporary::Of(77));
        assert_eq!(temporary_of(".out.old-77-Qw12er", "out"), Temporary::Of(77));
        for other in [
            "out.json",
            ".out.json.aB3xYz.tmp",
            ".out.json.12.tmp",
            ".other.123.aB3xYz.tmp",
            ".out.tmp-x-Qw12er",
            ".out.json.123.a-b.tmp",
        ] {
            assert_eq!(temporary_of(other, "out.json"), Temporary::No, "{other}");
            assert_eq!(temporary_of(other, "out"), Temporary::No, "{other}");
        }
    }

    /// A process id that is not running: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("COMPLIANCE.md");
        let dead = dead_pid();
        let live = std::process::id();
        let stale_file = format!(".COMPLIANCE.md.{dead}.Ab12Cd.tmp");
        let live_file = format!(".COMPLIANCE.md.{live}.Ab12Cd.tmp");
        fs::write(dir.path().join(&stale_file), "partial").unwrap();
        fs::write(dir.path().join(&live_file), "being written").unwrap();
        fs::write(dir.path().join("keep.txt"), "x").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(
            siblings(dir.path()),
            [
                live_file.clone(),
                "COMPLIANCE.md".to_owned(),
                "keep.txt".to_owned()
            ]
        );

        let site = dir.path().join("out");
        let stale_dir = dir.path().join(format!(".out.tmp-{dead}-Zz99Yy"));
        fs::create_dir_all(stale_dir.join("spec")).unwrap();
        fs::write(stale_dir.join("spec/a.html"), "half").unwrap();
        let live_dir = dir.path().join(format!(".out.tmp-{live}-Zz99Yy"));
        fs::create_dir_all(&live_dir).unwrap();
        replace_dir(&site, ".built", |d| write_tree(d, &files(&[("a", "1")]))).unwrap();
        assert!(
            !stale_dir.exists(),
            "a dead run's staging directory is removed"
        );
        assert!(live_dir.exists(), "a live run's staging directory is kept");
    }

    #[test]
    fn write_tree_rejects_paths_outside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["/abs", "a/../../b", "", "./a"] {
            let err = write_tree(dir.path(), &files(&[(bad, "x")])).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        assert!(siblings(dir.path()).is_empty());
    }
}
