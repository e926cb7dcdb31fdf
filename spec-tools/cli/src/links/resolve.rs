//! One link as written in a file → what it points at (pure logic, no I/O): a local file and
//! fragment, an external URL, something never checked (`tel:`, `data:`, `javascript:`), or a
//! link that is broken whatever is on disk.
//!
//! Relative links resolve against the file they are in, as GitHub and browsers do. A link
//! starting with `/` in Markdown resolves against the repository root (GitHub's rule); in HTML
//! it is broken, since the site must work from `file://`, where `/` is the file system's root.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use url::Url;

/// The kind of file a link was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Markdown, rendered by GitHub.
    Markdown,
    /// HTML, opened in a browser (the built site).
    Html,
}

impl SourceKind {
    /// The kind of a file from its name: `.html`/`.htm` are HTML, anything else Markdown.
    pub fn of(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".html") || lower.ends_with(".htm") {
            SourceKind::Html
        } else {
            SourceKind::Markdown
        }
    }
}

/// What a link points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file or directory on disk.
    Local {
        /// The file's URL without its fragment (what lychee-lib checks).
        url: Url,
        /// The path, absolute.
        path: PathBuf,
        /// The fragment, percent-decoded; `None` when there is none.
        fragment: Option<String>,
    },
    /// A URL on the network (http, https, mailto, …): listed, fetched only with `--online`.
    External(String),
    /// A link no checker can judge (`tel:`, `data:`, `javascript:`): neither checked nor listed.
    Ignored,
    /// Broken whatever is on disk, for this reason.
    Broken(String),
}

/// Schemes that name no resource to check.
const IGNORED_SCHEMES: [&str; 4] = ["tel", "data", "javascript", "sms"];

/// Resolves `text`, a link found in the file at `source` (absolute), with the repository root
/// at `root` (absolute). `plain_text` is true for a URL found in running text rather than in a
/// link (an e-mail address there has no `mailto:`).
pub fn resolve(
    text: &str,
    source: &Path,
    root: &Path,
    kind: SourceKind,
    plain_text: bool,
) -> Target {
    let text = text.trim();
    if text.starts_with("//") {
        return Target::External(text.to_owned());
    }
    if let Ok(url) = Url::parse(text) {
        return match url.scheme() {
            "file" => local(url, root),
            scheme if IGNORED_SCHEMES.contains(&scheme) => Target::Ignored,
            _ => Target::External(text.to_owned()),
        };
    }
    if plain_text {
        // Running text yields only URLs with a scheme (parsed above) and e-mail addresses.
        return Target::External(text.to_owned());
    }
    let joined = if let Some(rooted) = text.strip_prefix('/') {
        match kind {
            SourceKind::Html => {
                return Target::Broken(
                    "a root-relative link does not resolve when the site is opened from file://"
                        .to_owned(),
                );
            }
            SourceKind::Markdown => {
                Url::from_directory_path(root).and_then(|base| base.join(rooted).map_err(|_| ()))
            }
        }
    } else {
        Url::from_file_path(source).and_then(|base| base.join(text).map_err(|_| ()))
    };
    match joined {
        Ok(url) => local(url, root),
        Err(()) => Target::Broken("not a valid link".to_owned()),
    }
}

/// A `file:` URL → [`Target::Local`], or broken when it leaves the repository.
fn local(mut url: Url, root: &Path) -> Target {
    let fragment = url
        .fragment()
        .map(|f| percent_decode_str(f).decode_utf8_lossy().into_owned());
    url.set_fragment(None);
    url.set_query(None);
    let Ok(path) = url.to_file_path() else {
        return Target::Broken("not a valid file path".to_owned());
    };
    if !path.starts_with(root) {
        return Target::Broken("points outside the repository".to_owned());
    }
    Target::Local {
        url,
        path,
        fragment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        PathBuf::from("/repo")
    }

    fn md(text: &str) -> Target {
        resolve(
            text,
            Path::new("/repo/docs/guide.md"),
            &root(),
            SourceKind::Markdown,
            false,
        )
    }

    fn local_parts(target: Target) -> (String, Option<String>) {
        match target {
            Target::Local { path, fragment, .. } => (path.display().to_string(), fragment),
            other => panic!("not local: {other:?}"),
        }
    }

    #[test]
    fn relative_links_resolve_against_the_file() {
        assert_eq!(
            local_parts(md(
                "../.specs/orchestrator-spec.md#316-api-contracts--determinism"
            )),
            (
                "/repo/.specs/orchestrator-spec.md".to_owned(),
                Some("316-api-contracts--determinism".to_owned())
            )
        );
        assert_eq!(
            local_parts(md("#intro")),
            ("/repo/docs/guide.md".to_owned(), Some("intro".to_owned()))
        );
        assert_eq!(
            local_parts(md("img/a%20b.png")),
            ("/repo/docs/img/a b.png".to_owned(), None)
        );
        assert_eq!(
            local_parts(md("x.rs?plain=1#L3")),
            ("/repo/docs/x.rs".to_owned(), Some("L3".to_owned()))
        );
    }

    #[test]
    fn fragments_are_percent_decoded() {
        assert_eq!(
            local_parts(md("#%C3%BCber-gr%C3%B6%C3%9Fe")).1.as_deref(),
            Some("über-größe")
        );
    }

    #[test]
    fn root_relative_links_use_the_repository_root_in_markdown_only() {
        assert_eq!(
            local_parts(md("/README.md")),
            ("/repo/README.md".to_owned(), None)
        );
        let html = resolve(
            "/req/orch-3004.html",
            Path::new("/repo/site/out/index.html"),
            &root(),
            SourceKind::Html,
            false,
        );
        assert!(matches!(html, Target::Broken(r) if r.contains("file://")));
    }

    #[test]
    fn links_leaving_the_repository_are_broken() {
        assert_eq!(
            md("../../etc/passwd"),
            Target::Broken("points outside the repository".to_owned())
        );
    }

    #[test]
    fn schemes_decide_external_and_ignored() {
        assert_eq!(
            md("https://example.com/x#y"),
            Target::External("https://example.com/x#y".to_owned())
        );
        assert_eq!(
            md("mailto:a@example.com"),
            Target::External("mailto:a@example.com".to_owned())
        );
        assert_eq!(
            md("//cdn.example.com/x.js"),
            Target::External("//cdn.example.com/x.js".to_owned())
        );
        assert_eq!(md("tel:+123"), Target::Ignored);
        assert_eq!(md("javascript:void(0)"), Target::Ignored);
        let mail = resolve(
            "a@example.com",
            Path::new("/repo/README.md"),
            &root(),
            SourceKind::Markdown,
            true,
        );
        assert_eq!(mail, Target::External("a@example.com".to_owned()));
    }

    #[test]
    fn source_kind_follows_the_extension() {
        assert_eq!(SourceKind::of("site/out/index.HTML"), SourceKind::Html);
        assert_eq!(SourceKind::of("a.htm"), SourceKind::Html);
        assert_eq!(SourceKind::of("README.md"), SourceKind::Markdown);
    }
}
