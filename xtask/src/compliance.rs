//! `cargo xtask compliance`: the main job. Builds the workspace in the test gate's mode, then
//! runs `spectrace verify`, which runs the suites of `[verify]` in spectrace.toml (the
//! workspace tests against the reference server with its built-in engine, and the real-engine
//! suites) with evidence recording on and writes COMPLIANCE.md, reports/compliance.json, reports/reviewed.yaml and
//! reports/junit.xml; then applies the gate (`spectrace check`), builds the static site
//! (`spectrace site` → site/out/) and says where the report and the site are.

use std::process::ExitCode;

use crate::process::run_streaming;
use crate::workspace::Workspace;

/// Builds, verifies, checks. Exit 0 when the gate passes.
pub fn run(workspace: &Workspace) -> ExitCode {
    let mut build = workspace.cargo(["test", "--workspace", "--no-run"]);
    println!("==> build: {}", workspace.display(&build));
    if let Err(reason) = run_streaming(&mut build) {
        eprintln!("xtask compliance: build failed: {reason}");
        return ExitCode::FAILURE;
    }
    let spectrace = workspace.binary("debug", "spectrace");
    let mut verify = workspace.command(&spectrace, ["verify"]);
    println!("==> verify: {}", workspace.display(&verify));
    let verified = run_streaming(&mut verify);
    let mut check = workspace.command(&spectrace, ["check"]);
    println!("==> gate: {}", workspace.display(&check));
    let gate = run_streaming(&mut check);
    let mut site = workspace.command(&spectrace, ["site"]);
    println!("==> site: {}", workspace.display(&site));
    let built = run_streaming(&mut site);
    println!(
        "report: {}  (also reports/compliance.json, reports/junit.xml, reports/reviewed.yaml)",
        workspace.root.join("COMPLIANCE.md").display()
    );
    if built.is_ok() {
        let shown = format!(
            "{}/index.html",
            workspace.outputs.site.trim_end_matches('/')
        );
        println!(
            "site: {shown}  ({})",
            file_url(&workspace.root.join(&shown))
        );
    }
    match (verified, gate, built) {
        (Ok(()), Ok(()), Ok(())) => ExitCode::SUCCESS,
        (_, _, Err(reason)) => {
            eprintln!("xtask compliance: the site was not built ({reason})");
            ExitCode::FAILURE
        }
        (Err(reason), _, _) => {
            eprintln!("xtask compliance: a suite failed ({reason}); the report shows what");
            ExitCode::FAILURE
        }
        (_, Err(reason), _) => {
            eprintln!("xtask compliance: the gate failed ({reason})");
            ExitCode::FAILURE
        }
    }
}

/// A `file://` URL for an absolute path, with the characters a URL cannot hold percent-encoded.
fn file_url(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    let mut url = String::from("file://");
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(byte as char);
            }
            other => url.push_str(&format!("%{other:02X}")),
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_percent_encode_what_a_url_cannot_hold() {
        assert_eq!(
            file_url(std::path::Path::new("/work/my repo/site/out/index.html")),
            "file:///work/my%20repo/site/out/index.html"
        );
    }
}
