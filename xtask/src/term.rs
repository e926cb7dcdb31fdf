//! Terminal presentation: whether to use colour, and how durations read.

use std::io::IsTerminal;
use std::process::Command;
use std::time::Duration;

/// Colour is for a person at a terminal: on when stdout is one, off in CI (`CI=true`) and
/// when `NO_COLOR` is set (<https://no-color.org>).
pub fn color_enabled() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stdout().is_terminal() && !ci && !no_color
}

/// Lets a child cargo colour its output like ours. Children inherit our stdio, so this only
/// matters where cargo's own detection would not see the terminal; an explicit
/// `CARGO_TERM_COLOR` from the caller always wins, and without colour nothing is set.
pub fn pass_color(command: &mut Command, color: bool) {
    if color && std::env::var_os("CARGO_TERM_COLOR").is_none() {
        command.env("CARGO_TERM_COLOR", "always");
    }
}

/// ANSI styles used in headers and summaries.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Headers.
    Bold,
    /// Success.
    Green,
    /// Failure.
    Red,
    /// Not run.
    Dim,
}

/// `text` in `style` when `color` is on, else as is.
pub fn paint(text: &str, style: Style, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match style {
        Style::Bold => "1",
        Style::Green => "1;32",
        Style::Red => "1;31",
        Style::Dim => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Seconds with one decimal, such as `12.3s`.
pub fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_have_one_decimal() {
        assert_eq!(seconds(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(seconds(Duration::ZERO), "0.0s");
    }

    #[test]
    fn no_escape_codes_without_color() {
        assert_eq!(paint("ok", Style::Green, false), "ok");
        assert_eq!(paint("ok", Style::Green, true), "\x1b[1;32mok\x1b[0m");
    }
}
