//! Running a child process with its output streamed live, and saying why it failed.

use std::process::{Command, ExitStatus, Stdio};

/// Runs `command` with our stdin, stdout and stderr, and waits for it. `Err` says why it did
/// not succeed: `exit code 1`, `killed by signal 9`, or `could not start …`.
pub fn run_streaming(command: &mut Command) -> Result<(), String> {
    let status = command
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| {
            format!(
                "could not start `{}`: {e}",
                command.get_program().to_string_lossy()
            )
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(describe_failure(status))
    }
}

/// `exit code N` or `killed by signal N`.
pub fn describe_failure(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    status.to_string()
}
