//! Measuring one child process: wall time and peak resident set size, the latter from the
//! kernel's accounting as returned by `wait4(2)` when the child is reaped.
//!
//! The only module with `unsafe`: two libc calls.

#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// What one run of a child cost.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// From just before spawning to just after reaping.
    pub wall: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
    /// How the child ended.
    pub status: ExitStatus,
}

/// Spawns `command`, waits for it with `wait4` and returns its wall time, peak RSS and exit
/// status. Stdio is whatever `command` was set up with.
pub fn run_measured(command: &mut Command) -> io::Result<Measurement> {
    let start = Instant::now();
    let child = command.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut raw_status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers and `timeval`s, for which all-zero
    // bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std never waits on it: we do not call
        // `wait` and dropping a `Child` does not reap); both pointers are to live, writable
        // locals of the right types for the duration of the call.
        let reaped = unsafe { libc::wait4(pid, &raw mut raw_status, 0, &raw mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let wall = start.elapsed();
    // Reaped above; dropping the handle only closes its (unused) pipes.
    drop(child);
    Ok(Measurement {
        wall,
        max_rss_kib: max_rss_kib(&usage),
        status: ExitStatus::from_raw(raw_status),
    })
}

/// `ru_maxrss` in KiB: Linux reports KiB, macOS bytes.
fn max_rss_kib(usage: &libc::rusage) -> u64 {
    let raw = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    if cfg!(target_os = "macos") {
        raw / 1024
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_child_and_its_exit_status() -> io::Result<()> {
        let ok = run_measured(&mut Command::new("true"))?;
        assert!(ok.status.success());
        assert!(ok.max_rss_kib > 0);
        let failed = run_measured(&mut Command::new("false"))?;
        assert_eq!(failed.status.code(), Some(1));
        Ok(())
    }
}
