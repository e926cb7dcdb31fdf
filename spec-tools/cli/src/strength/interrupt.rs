//! Ctrl-C and termination during `spectrace strength`. The first SIGINT, SIGTERM or SIGQUIT
//! only sets a flag; the run checks it while it waits for a command and before each mutant,
//! then stops the command's process group and returns an error, so the mutated file is
//! restored (the `Restore` guard of the mutant) and no report is written. A second signal ends
//! the process at once, as without this module.
//!
//! Without it, a signal would end spectrace before the restore, leaving a mutant in the tree
//! (`--in-place`) and the command's process group running: the commands run in process groups
//! of their own, so a terminal's Ctrl-C does not reach them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The exit code after an interruption: 128 plus SIGINT's number, as shells report it.
pub const EXIT_CODE: u8 = 130;

/// What the run reports when it stops for a signal.
pub const MESSAGE: &str =
    "interrupted: the mutated file is restored and the report is left as it was";

static REQUESTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handlers (once per process).
pub fn install() -> Result<(), String> {
    if REQUESTED.get().is_some() {
        return Ok(());
    }
    let flag = Arc::new(AtomicBool::new(false));
    register(signal_hook::consts::TERM_SIGNALS, &flag)?;
    let _ = REQUESTED.set(flag);
    Ok(())
}

/// Makes each of `signals` set `flag`, or end the process when `flag` is already set.
fn register(signals: &[i32], flag: &Arc<AtomicBool>) -> Result<(), String> {
    for &signal in signals {
        // Registered first, so that it sees the flag as it was before this signal: a second
        // signal finds it set and ends the process.
        signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(EXIT_CODE),
            Arc::clone(flag),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(flag)))
        .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    Ok(())
}

/// True once a termination signal arrived.
pub fn requested() -> bool {
    REQUESTED
        .get()
        .is_some_and(|flag| flag.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a signal of its own (the process-wide flag stays clear for the other tests): the first
    /// signal only sets the flag.
    #[test]
    fn a_signal_sets_the_flag_and_does_not_end_the_process() {
        let flag = Arc::new(AtomicBool::new(false));
        register(&[signal_hook::consts::SIGUSR2], &flag).unwrap();
        assert!(!flag.load(Ordering::SeqCst));
        signal_hook::low_level::raise(signal_hook::consts::SIGUSR2).unwrap();
        assert!(
            flag.load(Ordering::SeqCst),
            "the first signal is only recorded"
        );
        assert!(!requested());
    }
}
