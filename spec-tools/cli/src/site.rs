//! Part of the `spectrace` binary: `spectrace site`. Reads the compliance model
//! (`outputs.compliance_json`) and the spec files it names, builds the site with
//! [`spectrace_core::site::build`] and replaces the output directory as a whole with
//! [`spectrace_core::fsio::replace_dir`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use spectrace_core::config::Config;
use spectrace_core::diag::Diagnostic;
use spectrace_core::fsio::{replace_dir, write_tree_reusing};
use spectrace_core::paths::relative_to;
use spectrace_core::site::{MARKER, SiteOptions, SpecSource, build, parse_model, spec_paths};

use super::fail;

/// Options of `spectrace site`.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Repository root: the configured paths and the specs the model names are relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Configuration file [default: <root>/spectrace.toml, if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output directory, replaced as a whole [default: `outputs.site` of the config under the
    /// root, else site/out].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// `spectrace site`.
pub fn run(args: &SiteArgs) -> ExitCode {
    let config = match Config::load(&args.root, args.config.as_deref()) {
        Ok(config) => config,
        Err(d) => return fail(&[d]),
    };
    let model_name = config.outputs.compliance_json.clone();
    let text = match std::fs::read_to_string(args.root.join(&model_name)) {
        Ok(text) => text,
        Err(e) => {
            return fail(&[Diagnostic::error(
                &model_name,
                None,
                format!("cannot read the compliance model: {e}; run `spectrace report` first"),
            )]);
        }
    };
    let model = match parse_model(&text) {
        Ok(model) => model,
        Err((line, message)) => {
            return fail(&[Diagnostic::error(
                &model_name,
                line,
                format!("not a compliance model: {message}; run `spectrace report` to rewrite it"),
            )]);
        }
    };
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for path in spec_paths(&model) {
        match std::fs::read_to_string(args.root.join(&path)) {
            Ok(markdown) => specs.push(SpecSource { path, markdown }),
            Err(e) => errors.push(Diagnostic::error(
                &path,
                None,
                format!("cannot read this spec, which {model_name} names: {e}"),
            )),
        }
    }
    if !errors.is_empty() {
        return fail(&errors);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.root.join(&config.outputs.site));
    let options = SiteOptions {
        repo_root: repo_root_from(&args.root, &out),
    };
    let site = match build(&model, &specs, &options) {
        Ok(site) => site,
        Err(message) => return fail(&[Diagnostic::error(&model_name, None, message)]),
    };
    for warning in &site.warnings {
        eprintln!("spectrace: warning: {warning}");
    }
    let bytes: usize = site.files.iter().map(|f| f.bytes.len()).sum();
    let (pages, count) = (site.pages, site.files.len());
    let files: Vec<(String, Vec<u8>)> = site.files.into_iter().map(|f| (f.path, f.bytes)).collect();
    let display = display(&args.root, &out);
    // Files of the current site that do not change are linked, not written again.
    let previous = out.join(MARKER).is_file().then_some(out.as_path());
    if let Err(e) = replace_dir(&out, MARKER, |dir| {
        write_tree_reusing(dir, &files, previous)
    }) {
        return fail(&[Diagnostic::error(
            &display,
            None,
            format!("cannot write the site: {e}"),
        )]);
    }
    let size = if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    };
    eprintln!(
        "spectrace: site: {} pages, {} files, {size} → {display}/",
        pages, count,
    );
    eprintln!("spectrace: open {display}/index.html");
    ExitCode::SUCCESS
}

/// `out` relative to `root` when it lies inside it, else as given.
fn display(root: &Path, out: &Path) -> String {
    match (absolute(root), absolute(out)) {
        (Some(root), Some(out)) if out.starts_with(&root) && out != root => {
            relative_to(&root, &out)
        }
        _ => out.display().to_string(),
    }
}

/// The repository root as a relative URL from the site directory (`../../` for `site/out`),
/// when the site lies inside the repository.
fn repo_root_from(root: &Path, out: &Path) -> Option<String> {
    let root = absolute(root)?;
    let out = absolute(out)?;
    let depth = out.strip_prefix(&root).ok()?.components().count();
    (depth > 0).then(|| "../".repeat(depth))
}

/// `path` made absolute, `.` and `..` resolved through its nearest existing ancestor (the
/// output directory need not exist yet).
fn absolute(path: &Path) -> Option<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut full = real;
            for part in rest.iter().rev() {
                full.push(part);
            }
            return Some(full);
        }
        let name = existing.file_name()?.to_owned();
        rest.push(name);
        if !existing.pop() {
            return None;
        }
        if existing.as_os_str().is_empty() {
            existing = PathBuf::from(".");
        }
    }
}
