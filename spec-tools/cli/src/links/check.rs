//! The link check itself, on lychee-lib: links are extracted from each file by lychee-lib's
//! extractor (Markdown through pulldown-cmark, so code blocks and inline code are not links;
//! HTML through html5gum, with 1-based lines in `RawUri::span`), resolved ([`super::resolve`]),
//! then checked:
//!
//! - a local file must exist (lychee-lib's file checker);
//! - a fragment into HTML must name an element id (lychee-lib, `check_anchor_fragments`);
//! - a fragment into Markdown must be one of its GitHub heading anchors
//!   ([`super::anchors`]). lychee-lib slugs Markdown headings its own way, which differs from
//!   GitHub's: it keeps non-decimal numbers (`x²` → `x²`), drops combining marks, turns every
//!   white-space character into `-`, does not skip a `-1` suffix already taken by another
//!   heading, and compares the link's fragment lower-cased (so `#Intro` passes). A link it
//!   accepts can therefore be dead on GitHub; the unit test `lychee_markdown_slugs_differ`
//!   pins one such difference so a lychee-lib upgrade that fixes it is noticed;
//! - a fragment into any other file must be a GitHub line anchor inside the file;
//! - external URLs are listed; with `online` they are fetched with lychee-lib's client.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use futures::StreamExt;
use lychee_lib::extract::Extractor;
use lychee_lib::{
    ClientBuilder, ErrorKind, FileType, FragmentCheckerOptions, InputContent, Status, Uri,
};
use serde::Serialize;
use spectrace_core::diag::Diagnostic;
use spectrace_core::paths::relative_to;

use super::anchors::{check_line_fragment, check_markdown_fragment, line_count, markdown_anchors};
use super::resolve::{SourceKind, Target, resolve};

/// A link that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Broken {
    /// The file it is in, relative to the root.
    pub file: String,
    /// 1-based line of the link.
    pub line: usize,
    /// The link as written.
    pub target: String,
    /// Why it is broken.
    pub reason: String,
}

/// An external URL found in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct External {
    /// The file it is in, relative to the root.
    pub file: String,
    /// 1-based line of the link.
    pub line: usize,
    /// The URL as written.
    pub url: String,
}

/// The outcome of one check.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// Files read.
    pub files: usize,
    /// Local links checked (files, fragments).
    pub local: usize,
    /// Whether external URLs were fetched.
    pub online: bool,
    /// Broken links, sorted by file, line, target.
    pub broken: Vec<Broken>,
    /// External URLs, sorted by file, line, URL (fetched only when `online`).
    pub external: Vec<External>,
}

/// One link found in a file.
struct Found {
    file: String,
    line: usize,
    text: String,
    target: Target,
}

/// Checks every link of `files` (relative name, full path) under `root`. Errors are bad input:
/// an unreadable or non-UTF-8 file, a root that does not exist, a client that cannot start.
pub fn check(
    root: &Path,
    files: &[(String, PathBuf)],
    online: bool,
) -> Result<Outcome, Vec<Diagnostic>> {
    let root = root.canonicalize().map_err(|e| {
        vec![Diagnostic::error(
            root.display().to_string(),
            None,
            format!("cannot open the root: {e}"),
        )]
    })?;
    let found = extract_all(&root, files)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| vec![Diagnostic::error("<runtime>", None, e.to_string())])?;
    runtime.block_on(check_found(&root, files.len(), found, online))
}

/// Reads each file and extracts its links with lychee-lib.
fn extract_all(root: &Path, files: &[(String, PathBuf)]) -> Result<Vec<Found>, Vec<Diagnostic>> {
    // Neither HTML5ever, nor links in code (verbatim), nor wiki links.
    let extractor = Extractor::new(false, false, false);
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (relative, path) in files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                errors.push(Diagnostic::error(
                    relative.clone(),
                    None,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        let source = root.join(relative);
        let kind = SourceKind::of(relative);
        let file_type = match kind {
            SourceKind::Markdown => FileType::Markdown,
            SourceKind::Html => FileType::Html,
        };
        for raw in extractor.extract(&InputContent::from_string(&text, file_type)) {
            let target = resolve(&raw.text, &source, root, kind, raw.element.is_none());
            found.push(Found {
                file: relative.clone(),
                line: raw.span.line.get(),
                text: raw.text.trim().to_owned(),
                target,
            });
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// What a local target file offers to fragments, read once per file.
enum Anchors {
    /// A Markdown file's heading anchors and HTML ids.
    Markdown(HashSet<String>),
    /// Another file's line count.
    Lines(usize),
    /// An HTML file: lychee-lib checks its ids.
    Html,
    /// A directory: no fragment resolves in it.
    Directory,
    /// The file could not be read.
    Unreadable(String),
}

/// lychee-lib's client and what was learnt about each target file, so that every file is
/// checked and read once however many links point at it.
struct LocalChecker<'a> {
    root: &'a Path,
    client: lychee_lib::Client,
    /// Per target file: lychee-lib's verdict on the file itself.
    exists: HashMap<PathBuf, Result<(), String>>,
    /// Per target file: which fragments it offers.
    anchors: HashMap<PathBuf, Anchors>,
    /// Per HTML file URL with its fragment: lychee-lib's verdict.
    html_fragments: HashMap<String, Result<(), String>>,
}

impl LocalChecker<'_> {
    /// Whether a local target resolves, or why not.
    async fn check(
        &mut self,
        url: &url::Url,
        path: &Path,
        fragment: Option<&str>,
    ) -> Result<(), String> {
        let file_verdict = match self.exists.get(path) {
            Some(verdict) => verdict.clone(),
            None => {
                let status = self.client.check_file(&Uri::from(url.clone())).await;
                let verdict = file_status(&status, self.root, path);
                self.exists.insert(path.to_path_buf(), verdict.clone());
                verdict
            }
        };
        file_verdict?;
        let Some(fragment) = fragment else {
            return Ok(());
        };
        let offered = self
            .anchors
            .entry(path.to_path_buf())
            .or_insert_with(|| read_anchors(path));
        let reason = match offered {
            Anchors::Markdown(set) => check_markdown_fragment(set, fragment),
            Anchors::Lines(lines) => check_line_fragment(fragment, *lines),
            Anchors::Directory if fragment.is_empty() => None,
            Anchors::Directory => Some(format!("`#{fragment}` points into a directory")),
            Anchors::Unreadable(reason) => Some(reason.clone()),
            Anchors::Html => return self.check_html_fragment(url, fragment).await,
        };
        reason.map_or(Ok(()), Err)
    }

    /// An element id in an HTML file, checked by lychee-lib.
    async fn check_html_fragment(&mut self, url: &url::Url, fragment: &str) -> Result<(), String> {
        let mut with_fragment = url.clone();
        with_fragment.set_fragment(Some(fragment));
        let key = with_fragment.to_string();
        if let Some(verdict) = self.html_fragments.get(&key) {
            return verdict.clone();
        }
        let status = self.client.check_file(&Uri::from(with_fragment)).await;
        let verdict = fragment_status(&status, fragment);
        self.html_fragments.insert(key, verdict.clone());
        verdict
    }
}

/// lychee-lib's client as `spectrace links` uses it: HTML `#fragments` checked against element
/// ids, text fragments (`#:~:text=`) not.
fn lychee_client() -> Result<lychee_lib::Client, ErrorKind> {
    ClientBuilder::builder()
        .fragment_checker_options(FragmentCheckerOptions {
            check_anchor_fragments: true,
            check_text_fragments: false,
        })
        .build()
        .client()
}

async fn check_found(
    root: &Path,
    files: usize,
    found: Vec<Found>,
    online: bool,
) -> Result<Outcome, Vec<Diagnostic>> {
    let client =
        lychee_client().map_err(|e| vec![Diagnostic::error("<lychee>", None, e.to_string())])?;
    let mut local = LocalChecker {
        root,
        client,
        exists: HashMap::new(),
        anchors: HashMap::new(),
        html_fragments: HashMap::new(),
    };
    let mut outcome = Outcome {
        files,
        online,
        ..Outcome::default()
    };
    let mut broken = BTreeSet::new();
    let mut external = BTreeSet::new();
    for Found {
        file,
        line,
        text,
        target,
    } in found
    {
        let verdict = match target {
            Target::Ignored => continue,
            Target::External(url) => {
                external.insert(External { file, line, url });
                continue;
            }
            Target::Broken(reason) => Err(reason),
            Target::Local {
                url,
                path,
                fragment,
            } => {
                outcome.local += 1;
                local.check(&url, &path, fragment.as_deref()).await
            }
        };
        if let Err(reason) = verdict {
            broken.insert(Broken {
                file,
                line,
                target: text,
                reason,
            });
        }
    }
    if online {
        broken.extend(fetch(&local.client, &external).await);
    }
    outcome.broken = broken.into_iter().collect();
    outcome.external = external.into_iter().collect();
    Ok(outcome)
}

/// Fetches every distinct external URL once (eight at a time); each failure is reported at
/// every place the URL appears.
async fn fetch(client: &lychee_lib::Client, external: &BTreeSet<External>) -> Vec<Broken> {
    let mut places: BTreeMap<&str, Vec<&External>> = BTreeMap::new();
    for e in external {
        places.entry(e.url.as_str()).or_default().push(e);
    }
    let verdicts: Vec<(&str, Option<String>)> = futures::stream::iter(places.keys().copied())
        .map(|url| async move {
            let uri = if url.starts_with("//") {
                Uri::try_from(format!("https:{url}").as_str())
            } else if !url.contains(':') && url.contains('@') {
                Uri::try_from(format!("mailto:{url}").as_str())
            } else {
                Uri::try_from(url)
            };
            let reason = match uri {
                Err(e) => Some(e.to_string()),
                Ok(uri) => match client.check(uri).await {
                    Err(e) => Some(e.to_string()),
                    Ok(response) => online_failure(response.status()),
                },
            };
            (url, reason)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut broken = Vec::new();
    for (url, reason) in verdicts {
        if let Some(reason) = reason {
            for place in places.get(url).into_iter().flatten() {
                broken.push(Broken {
                    file: place.file.clone(),
                    line: place.line,
                    target: url.to_owned(),
                    reason: reason.clone(),
                });
            }
        }
    }
    broken
}

/// Why a fetched URL failed, or `None` when it did not (excluded or unsupported URLs, such as
/// e-mail addresses without lychee-lib's `email-check` feature, are not failures).
fn online_failure(status: &Status) -> Option<String> {
    match status {
        Status::Ok(_) | Status::Cached(_) | Status::Excluded | Status::Unsupported(_) => None,
        other => Some(other.to_string()),
    }
}

/// lychee-lib's verdict on a local file (no fragment) as a reason.
fn file_status(status: &Status, root: &Path, path: &Path) -> Result<(), String> {
    match status {
        s if s.is_success() => Ok(()),
        Status::Error(ErrorKind::InvalidFilePath(_)) => {
            Err(format!("no such file `{}`", relative_to(root, path)))
        }
        other => Err(other.to_string()),
    }
}

/// lychee-lib's verdict on an HTML fragment as a reason.
fn fragment_status(status: &Status, fragment: &str) -> Result<(), String> {
    match status {
        s if s.is_success() => Ok(()),
        Status::Error(ErrorKind::InvalidFragment(_)) => {
            Err(format!("no element with id `{fragment}`"))
        }
        other => Err(other.to_string()),
    }
}

/// What fragments a target file offers (see [`Anchors`]).
fn read_anchors(path: &Path) -> Anchors {
    if path.is_dir() {
        return Anchors::Directory;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".html") || name.ends_with(".htm") {
        return Anchors::Html;
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Anchors::Unreadable(format!("cannot read the target: {e}")),
    };
    if name.ends_with(".md") || name.ends_with(".markdown") {
        match String::from_utf8(bytes) {
            Ok(text) => Anchors::Markdown(markdown_anchors(&text)),
            Err(_) => Anchors::Unreadable("the target is not UTF-8 Markdown".to_owned()),
        }
    } else {
        Anchors::Lines(line_count(&bytes))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// lychee-lib's Markdown fragment check accepts a link GitHub would not resolve: it compares
    /// the fragment lower-cased and keeps `²` in slugs. If this starts failing, lychee-lib now
    /// slugs like GitHub and `anchors.rs` could defer to it.
    #[test]
    fn lychee_markdown_slugs_differ() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("spec.md");
        std::fs::write(&file, "# Intro\n\n## Area x²\n").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = lychee_client().unwrap();
        let lychee_accepts = |fragment: &str| {
            let mut url = url::Url::from_file_path(&file).unwrap();
            url.set_fragment(Some(fragment));
            runtime
                .block_on(client.check_file(&Uri::from(url)))
                .is_success()
        };
        let github = markdown_anchors("# Intro\n\n## Area x²\n");
        // GitHub: `#Intro` and `#area-x²` are dead, `#area-x` is the anchor.
        assert!(check_markdown_fragment(&github, "Intro").is_some());
        assert!(check_markdown_fragment(&github, "area-x").is_none());
        assert!(lychee_accepts("Intro"));
        assert!(lychee_accepts("area-x%C2%B2"));
        assert!(!lychee_accepts("area-x"));
    }

    fn run(root: &Path, rels: &[&str]) -> Outcome {
        let files: Vec<(String, PathBuf)> = rels
            .iter()
            .map(|r| ((*r).to_owned(), root.join(r)))
            .collect();
        check(root, &files, false).unwrap()
    }

    #[test]
    fn a_second_run_gives_the_same_sorted_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("b.md"),
            "[z](missing-z.md) [a](missing-a.md)\n\n[again](missing-a.md) <https://example.org>\n",
        )
        .unwrap();
        std::fs::write(root.join("a.md"), "[b](b.md#nope)\n").unwrap();
        let first = run(root, &["a.md", "b.md"]);
        let second = run(root, &["a.md", "b.md"]);
        assert_eq!(first.broken, second.broken);
        let lines: Vec<String> = first
            .broken
            .iter()
            .map(|b| format!("{}:{} {}", b.file, b.line, b.target))
            .collect();
        assert_eq!(
            lines,
            [
                "a.md:1 b.md#nope",
                "b.md:1 missing-a.md",
                "b.md:1 missing-z.md",
                "b.md:3 missing-a.md"
            ]
        );
        assert_eq!(first.local, 4);
        assert_eq!(first.external.len(), 1);
    }
}
