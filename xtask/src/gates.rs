//! A gate runner shared by `ci` and `regen`: named gates of one or more commands, run in
//! order with live output, stopping at the first failure, then a summary table.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::run_streaming;
use crate::term::{self, Style, paint};
use crate::workspace::Workspace;

/// A named step of a pipeline: its commands run in order and must all succeed.
#[derive(Debug)]
pub struct Gate {
    /// Short name, such as `clippy`.
    pub name: String,
    /// Commands, each run from wherever its `current_dir` says.
    pub commands: Vec<Command>,
}

impl Gate {
    /// A gate of one command.
    pub fn single(name: &str, command: Command) -> Self {
        Self {
            name: name.to_owned(),
            commands: vec![command],
        }
    }
}

/// How a gate ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok(Duration),
    Failed { reason: String, after: Duration },
    Skipped,
}

/// Prints each gate and its commands without running anything.
pub fn list(gates: &[Gate], workspace: &Workspace) {
    let width = name_width(gates);
    for (i, gate) in gates.iter().enumerate() {
        for (j, command) in gate.commands.iter().enumerate() {
            let label = if j == 0 { gate.name.as_str() } else { "" };
            let number = if j == 0 {
                format!("{}.", i + 1)
            } else {
                String::new()
            };
            println!(
                "{number:>3} {label:<width$}  {}",
                workspace.display(command)
            );
        }
    }
}

/// Runs `gates` in order, stopping at the first failure, and prints a summary titled
/// `title`. True when every gate passed.
pub fn run(title: &str, mut gates: Vec<Gate>, workspace: &Workspace) -> bool {
    let color = term::color_enabled();
    let total = gates.len();
    let started = Instant::now();
    let mut outcomes = vec![Outcome::Skipped; total];
    for (i, gate) in gates.iter_mut().enumerate() {
        let header = format!("==> [{}/{total}] {}", i + 1, gate.name);
        println!("{}", paint(&header, Style::Bold, color));
        let outcome = run_gate(gate, workspace, color);
        let footer = match &outcome {
            Outcome::Ok(took) => format!("<== {}: ok ({})", gate.name, term::seconds(*took)),
            Outcome::Failed { reason, after } => format!(
                "<== {}: FAILED ({reason}) after {}",
                gate.name,
                term::seconds(*after)
            ),
            Outcome::Skipped => String::new(),
        };
        let failed = matches!(outcome, Outcome::Failed { .. });
        let style = if failed { Style::Red } else { Style::Green };
        println!("{}", paint(&footer, style, color));
        if let Some(slot) = outcomes.get_mut(i) {
            *slot = outcome;
        }
        if failed {
            break;
        }
    }
    print_summary(title, &gates, &outcomes, started.elapsed(), color);
    outcomes.iter().all(|o| matches!(o, Outcome::Ok(_)))
}

fn run_gate(gate: &mut Gate, workspace: &Workspace, color: bool) -> Outcome {
    let started = Instant::now();
    for command in &mut gate.commands {
        term::pass_color(command, color);
        let line = format!("$ {}", workspace.display(command));
        println!("{}", paint(&line, Style::Dim, color));
        if let Err(reason) = run_streaming(command) {
            return Outcome::Failed {
                reason,
                after: started.elapsed(),
            };
        }
    }
    Outcome::Ok(started.elapsed())
}

fn print_summary(title: &str, gates: &[Gate], outcomes: &[Outcome], took: Duration, color: bool) {
    let width = name_width(gates).max("total".len());
    println!();
    println!("{}", paint(&format!("{title} summary"), Style::Bold, color));
    println!("  {:<width$}  {:<7}  {:>8}", "gate", "result", "time");
    for (gate, outcome) in gates.iter().zip(outcomes) {
        let (result, style, time, note) = match outcome {
            Outcome::Ok(d) => ("ok", Style::Green, term::seconds(*d), String::new()),
            Outcome::Failed { reason, after } => {
                ("FAILED", Style::Red, term::seconds(*after), reason.clone())
            }
            Outcome::Skipped => ("skipped", Style::Dim, "-".to_owned(), String::new()),
        };
        // Pad before painting: escape codes have no width.
        let result = paint(&format!("{result:<7}"), style, color);
        let line = format!("  {:<width$}  {result}  {time:>8}  {note}", gate.name);
        println!("{}", line.trim_end());
    }
    println!(
        "  {:<width$}  {:<7}  {:>8}",
        "total",
        "",
        term::seconds(took)
    );
    let passed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Ok(_)))
        .count();
    let verdict = if passed == gates.len() {
        paint(
            &format!("{title}: all {passed} passed"),
            Style::Green,
            color,
        )
    } else {
        paint(
            &format!("{title}: FAILED ({passed} of {} passed)", gates.len()),
            Style::Red,
            color,
        )
    };
    println!("{verdict}");
}

fn name_width(gates: &[Gate]) -> usize {
    gates.iter().map(|g| g.name.len()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn stops_at_the_first_failing_gate() {
        let workspace = Workspace::locate().unwrap();
        let marker = std::env::temp_dir().join(format!("xtask-gates-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let touch = sh(&format!("touch '{}'", marker.display()));
        let gates = vec![
            Gate::single("first", sh("exit 0")),
            Gate {
                name: "second".to_owned(),
                commands: vec![sh("exit 3"), sh("exit 0")],
            },
            Gate::single("third", touch),
        ];
        assert!(!run("test", gates, &workspace));
        assert!(!marker.exists(), "a gate after the failure ran");
    }

    #[test]
    fn passes_when_every_command_of_every_gate_passes() {
        let workspace = Workspace::locate().unwrap();
        let gates = vec![
            Gate::single("one", sh("exit 0")),
            Gate {
                name: "two".to_owned(),
                commands: vec![sh("true"), sh("true")],
            },
        ];
        assert!(run("test", gates, &workspace));
    }
}
