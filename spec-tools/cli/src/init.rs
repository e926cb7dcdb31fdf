//! `spectrace init`: sets up a project in the root directory. Looks at what is there
//! ([`spectrace_core::init::detect`]), writes the planned files atomically — all of them or,
//! when one exists with other content and `--force` is not given, none — and prints the next
//! steps. A file that already holds exactly what would be written is left alone, so running
//! `init` twice changes nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spectrace_core::diag::Diagnostic;
use spectrace_core::fsio::write_atomic;
use spectrace_core::init::{Detected, detect, plan};

use super::{BAD_INPUT, fail};

/// Options of `spectrace init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project to set up.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// The start of every requirement ID: `REQ` gives REQ-0001, REQ-0002, …
    #[arg(long, value_name = "PREFIX", default_value = "REQ")]
    prefix: String,
    /// Overwrite spectrace.toml and .specs/requirements.md when they exist.
    #[arg(long)]
    force: bool,
}

/// What happens to one planned file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Keep,
    Overwrite,
    Refuse,
}

/// `spectrace init`.
pub fn run(args: &InitArgs) -> ExitCode {
    let detected = match detect(&args.root) {
        Ok(detected) => detected,
        Err(diagnostics) => return fail(&diagnostics),
    };
    let files = match plan(&detected, &args.prefix) {
        Ok(files) => files,
        Err(message) => return fail(&[Diagnostic::error("--prefix", None, message)]),
    };
    let actions: Vec<Action> = files
        .iter()
        .map(|file| match std::fs::read(args.root.join(file.path)).ok() {
            None => Action::Create,
            Some(bytes) if bytes == file.content.as_bytes() => Action::Keep,
            Some(_) if args.force => Action::Overwrite,
            Some(_) => Action::Refuse,
        })
        .collect();
    let refused: Vec<&str> = files
        .iter()
        .zip(&actions)
        .filter(|(_, action)| **action == Action::Refuse)
        .map(|(file, _)| file.path)
        .collect();
    if !refused.is_empty() {
        for path in &refused {
            eprintln!(
                "{path}: error: exists with other content; spectrace init does not overwrite it \
                 (--force does)"
            );
        }
        eprintln!("spectrace init: nothing was written");
        return ExitCode::from(BAD_INPUT);
    }
    let mut done = Vec::new();
    for (file, action) in files.iter().zip(&actions) {
        if *action == Action::Keep {
            done.push(format!("{} (unchanged)", file.path));
            continue;
        }
        if let Err(e) = write_atomic(&args.root.join(file.path), file.content.as_bytes()) {
            return fail(&[Diagnostic::error(
                file.path,
                None,
                format!("cannot write: {e}"),
            )]);
        }
        let how = if *action == Action::Overwrite {
            "overwritten"
        } else {
            "written"
        };
        done.push(format!("{} ({how})", file.path));
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "spectrace init: {}", found(&detected));
    let _ = writeln!(err, "spectrace init: {}", done.join(", "));
    let _ = write!(err, "{}", next_steps(&detected, &args.prefix));
    ExitCode::SUCCESS
}

/// One line saying what detection found.
fn found(detected: &Detected) -> String {
    let mut parts = Vec::new();
    if detected.cargo {
        parts.push("a Cargo project".to_owned());
    }
    if detected.features {
        parts.push("Gherkin features".to_owned());
    }
    if !detected.openapi.is_empty() {
        parts.push(format!("OpenAPI ({})", detected.openapi.join(", ")));
    }
    if !detected.junit_dirs.is_empty() {
        let dirs: Vec<&str> = detected
            .junit_dirs
            .iter()
            .map(|d| if d.is_empty() { "." } else { d.as_str() })
            .collect();
        parts.push(format!("JUnit reports in {}", dirs.join(", ")));
    }
    if parts.is_empty() {
        "found no tests, features, OpenAPI documents or JUnit reports yet".to_owned()
    } else {
        format!("found {}", parts.join(", "))
    }
}

fn next_steps(detected: &Detected, prefix: &str) -> String {
    let id = format!("{prefix}-0001");
    let mut steps = vec![format!(
        "write your requirements in .specs/requirements.md, one list item each: \
         `- The limiter MUST refuse a request over the limit. [{id}]`"
    )];
    if detected.cargo {
        steps.push(
            "cargo add --dev spectrace    (from a clone of spectrace, until it is on crates.io: \
             cargo add --dev spectrace --path <clone>/spec-tools/spectrace)"
                .to_owned(),
        );
        steps.push(format!(
            "annotate the test that proves it: #[spectrace::covers(\"{id}\")] above #[test]"
        ));
    } else {
        steps.push(format!(
            "name the requirement in the test that proves it — `test_refuses[{id}]`, or a \
             `requirement` property — and list its JUnit report under [evidence] junit and \
             its command under [verify] suites in spectrace.toml"
        ));
    }
    steps.push(
        "spectrace verify    runs the suites with evidence recording on and writes COMPLIANCE.md"
            .to_owned(),
    );
    steps.push(
        "spectrace check     the gate: exit 1 while a MUST or SHOULD is not verified".to_owned(),
    );
    let mut text = String::from("Next steps:\n");
    for (i, step) in steps.iter().enumerate() {
        text.push_str(&format!("  {}. {step}\n", i + 1));
    }
    text.push_str("In CI: spectrace verify && spectrace check\n");
    text
}
