//! `spectrace links`: the offline link and `#fragment` check of the documentation and the built
//! site. This module owns the command; the link checker's large dependency graph (lychee-lib)
//! is used only here, in the binary's package, never by the `spectrace` library.
//!
//! - `files` — which files (`[links]` of spectrace.toml);
//! - `resolve` — a link as written → local file and fragment, external URL, or broken;
//! - `anchors` — the fragments a Markdown file (GitHub heading anchors) or another file (line
//!   anchors) accepts;
//! - `check` — extraction and checks with lychee-lib;
//! - `output` — what is printed.

mod anchors;
mod check;
mod files;
mod output;
mod resolve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spectrace_core::config::Config;
use spectrace_core::diag::Diagnostic;

use super::{CHECK_FAILED, fail, print_stdout};

/// Options of `spectrace links`.
#[derive(Debug, Args)]
pub struct LinksArgs {
    /// Repository root: the `[links]` globs, the config file and the printed paths are relative
    /// to it; a link starting with `/` in Markdown resolves against it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check these files (relative to the root, repeatable) instead of those `[links]` selects.
    #[arg(value_name = "FILE")]
    files: Vec<String>,
    /// Also fetch external URLs (http, https, mailto); without it they are only listed.
    #[arg(long)]
    online: bool,
    /// Output format: `text` (broken links on stderr, external URLs on stdout) or `json` (the
    /// whole outcome on stdout).
    #[arg(long, value_enum, default_value = "text")]
    format: LinksFormat,
}

/// Output format of `spectrace links`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LinksFormat {
    /// Lines for people.
    Text,
    /// Pretty-printed JSON.
    Json,
}

/// Runs `spectrace links`.
pub fn run(args: &LinksArgs) -> ExitCode {
    let config = match Config::load(&args.root, args.config.as_deref()) {
        Ok(config) => config,
        Err(d) => return fail(&[d]),
    };
    let selected = if args.files.is_empty() {
        files::find_files(&args.root, &config.links.include, &config.links.exclude)
    } else {
        named_files(&args.root, &args.files)
    };
    let selected = match selected {
        Ok(selected) => selected,
        Err(diagnostics) => return fail(&diagnostics),
    };
    let outcome = match check::check(&args.root, &selected, args.online) {
        Ok(outcome) => outcome,
        Err(diagnostics) => return fail(&diagnostics),
    };
    let printed = match args.format {
        LinksFormat::Text => {
            let mut stderr = std::io::stderr().lock();
            let _ =
                std::io::Write::write_all(&mut stderr, output::broken_lines(&outcome).as_bytes());
            print_stdout(&output::external_lines(&outcome))
        }
        LinksFormat::Json => match serde_json::to_string_pretty(&outcome) {
            Ok(json) => print_stdout(&(json + "\n")),
            Err(e) => Err(Diagnostic::error("<output>", None, e.to_string())),
        },
    };
    if let Err(d) = printed {
        return fail(&[d]);
    }
    eprintln!("spectrace: {}", output::summary(&outcome));
    if outcome.broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHECK_FAILED)
    }
}

/// Files named on the command line: each must exist.
fn named_files(
    root: &std::path::Path,
    names: &[String],
) -> Result<Vec<(String, PathBuf)>, Vec<Diagnostic>> {
    let mut found = std::collections::BTreeMap::new();
    let mut errors = Vec::new();
    for name in names {
        let path = root.join(name);
        if path.is_file() {
            found.insert(spectrace_core::paths::relative_to(root, &path), path);
        } else {
            errors.push(Diagnostic::error(name.clone(), None, "no such file"));
        }
    }
    if errors.is_empty() {
        Ok(found.into_iter().collect())
    } else {
        Err(errors)
    }
}
