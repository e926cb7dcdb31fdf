//! The static compliance site: the compliance model and the spec files
//! it names in, the site's files (relative path, bytes) out, sorted by path. Pure: no I/O; the
//! CLI reads `compliance.json` and the specs and writes the tree with
//! [`crate::fsio::replace_dir`].
//!
//! Layout (stable URLs, all links relative, works from `file://`; a handful of files plus one
//! per spec, so a build creates few files):
//!
//! | file | content |
//! |---|---|
//! | `index.html` | dashboard: totals by level × status, a bar per section (inline SVG), the worst gaps, search and filters (each requirement listed with its status and strength) |
//! | `spec/NAME.html` | a spec rendered, each requirement block with `id="orch-3004"` (its URL: `spec/NAME.html#orch-3004`), a status badge and its strength, and its details after it: level, fingerprint, contract and implementation links (`file#L12`), strength with each surviving mutant and its diff, evidence |
//! | `assets/style.css`, `assets/app.js` | shared style (light and dark) and code (theme, search) |
//! | `assets/search-index.js` | one object per requirement, for the search |
//!
//! Templates (`templates/site/*.html.j2`) and assets (`site/assets/`) are compiled in. Every
//! template is rendered with HTML auto-escaping and strict undefined behaviour, and every piece
//! of spec or test text reaches the page as escaped text: raw HTML in a spec is shown, not run.

mod dashboard;
mod index;
mod markdown;
mod pages;

use std::collections::{BTreeMap, HashMap};

use crate::compliance::{ComplianceModel, RequirementStatus, Status};

/// A spec file the model names, with its Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecSource {
    /// Path relative to the repository root, as in the model (`.specs/orchestrator-spec.md`).
    pub path: String,
    /// The file's text.
    pub markdown: String,
}

/// How the site is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteOptions {
    /// The repository root as a relative URL from the site's root directory (`../../` for
    /// `site/out`), when the site is built inside the repository: links from specs to other
    /// repository files, and evidence, contract and implementation locations, then point at
    /// the files. `None`: those stay unlinked (spec links as written).
    pub repo_root: Option<String>,
}

/// One file of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    /// Path relative to the site root, `/`-separated.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// The built site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Every file, sorted by path.
    pub files: Vec<SiteFile>,
    /// How many of them are HTML pages.
    pub pages: usize,
    /// Things the reader should know (a requirement whose block was not found in its spec:
    /// the model is older than the spec).
    pub warnings: Vec<String>,
}

/// The marker file [`crate::fsio::replace_dir`] keeps in a built site's directory.
pub const MARKER: &str = ".spectrace-site";

/// A requirement's anchor on its spec page: the lower-cased ID, with characters that do not
/// belong in a URL fragment replaced by `_`.
pub fn requirement_anchor(id: &str) -> String {
    id.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Page names of the specs (`spec/NAME.html`): the file stem, or — for specs whose stems
/// collide — the whole path with every non-alphanumeric run turned into `-`.
pub fn spec_page_names<'a>(paths: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
    let paths: Vec<&str> = paths.into_iter().collect();
    let stem = |path: &str| -> String {
        let file = path.rsplit('/').next().unwrap_or(path);
        let stem = file.strip_suffix(".md").unwrap_or(file);
        sanitize(stem)
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for path in &paths {
        *counts.entry(stem(path)).or_default() += 1;
    }
    paths
        .iter()
        .map(|&path| {
            let name = stem(path);
            let name = if counts.get(&name).copied().unwrap_or(0) > 1 {
                sanitize(path.strip_suffix(".md").unwrap_or(path))
            } else {
                name
            };
            (path.to_owned(), name)
        })
        .collect()
}

fn sanitize(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "spec".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// How urgent a status is in the "worst gaps" list, 0 most: the reverse of the status rank
/// ([`Status::ALL`], best first), so failing, uncovered, suspect, unverified; `None` for a
/// status that is no gap (verified).
pub fn gap_rank(status: Status) -> Option<u8> {
    if status == Status::Verified {
        return None;
    }
    let position = Status::ALL.iter().position(|&s| s == status).unwrap_or(0);
    u8::try_from(Status::ALL.len() - 1 - position).ok()
}

/// A requirement's strength as COMPLIANCE.md writes it (`7/9`, `stale`), or `None` when it
/// was never measured (COMPLIANCE.md's `—`; the site shows nothing).
pub(crate) fn strength_label(r: &RequirementStatus) -> Option<String> {
    r.strength
        .as_ref()
        .map(|s| crate::report::strength_label(Some(s)))
}

/// What the pages need of one requirement besides the model: where it is and its text.
#[derive(Debug, Clone)]
pub(crate) struct Located<'m> {
    pub req: &'m RequirementStatus,
    /// `spec/NAME.html`.
    pub spec_page: String,
    /// The requirement's URL: `spec/NAME.html#orch-3004`.
    pub page: String,
    /// [`requirement_anchor`]: the requirement's anchor on its spec page.
    pub anchor: String,
    /// The defining block's plain text.
    pub text: String,
}

/// Reads `compliance.json` text. The error carries the line of the problem, when known.
pub fn parse_model(text: &str) -> Result<ComplianceModel, (Option<usize>, String)> {
    let model: ComplianceModel = serde_json::from_str(text)
        .map_err(|e| (Some(e.line()).filter(|&l| l > 0), e.to_string()))?;
    if model.schema_version != crate::compliance::COMPLIANCE_SCHEMA_VERSION {
        return Err((
            None,
            format!(
                "schema_version {} is not the supported version {}",
                model.schema_version,
                crate::compliance::COMPLIANCE_SCHEMA_VERSION
            ),
        ));
    }
    Ok(model)
}

/// The spec files a model names, sorted, without repeats.
pub fn spec_paths(model: &ComplianceModel) -> Vec<String> {
    let paths: std::collections::BTreeSet<&str> =
        model.requirements.iter().map(|r| r.spec.as_str()).collect();
    paths.into_iter().map(str::to_owned).collect()
}

/// Builds the whole site.
pub fn build(
    model: &ComplianceModel,
    specs: &[SpecSource],
    options: &SiteOptions,
) -> Result<Site, String> {
    let sources: BTreeMap<&str, &SpecSource> = specs.iter().map(|s| (s.path.as_str(), s)).collect();
    let mut by_spec: BTreeMap<&str, Vec<&RequirementStatus>> = BTreeMap::new();
    for r in &model.requirements {
        if !sources.contains_key(r.spec.as_str()) {
            return Err(format!(
                "{}: the spec of {} was not given to the site builder",
                r.spec, r.id
            ));
        }
        by_spec.entry(r.spec.as_str()).or_default().push(r);
    }
    let names = spec_page_names(sources.keys().copied());
    let env = pages::environment()?;
    let mut warnings = Vec::new();
    let mut rendered_specs = Vec::new();
    let mut located: Vec<Located<'_>> = Vec::with_capacity(model.requirements.len());
    for (path, source) in &sources {
        let name = names.get(*path).cloned().unwrap_or_default();
        let requirements = by_spec.remove(path).unwrap_or_default();
        let mut marks: HashMap<usize, markdown::Mark> = HashMap::with_capacity(requirements.len());
        for r in &requirements {
            let anchor = requirement_anchor(&r.id);
            let detail = pages::requirement_detail(&env, r, &anchor, options.repo_root.as_deref())?;
            marks.insert(
                r.line,
                markdown::Mark {
                    id: r.id.clone(),
                    anchor,
                    status: r.status.as_str(),
                    strength: strength_label(r),
                    detail,
                },
            );
        }
        let links = markdown::LinkContext {
            spec_path: path,
            page_name: &name,
            spec_pages: &names,
            repo_root: options.repo_root.as_deref(),
        };
        let mut rendered = markdown::render_spec(&source.markdown, &marks, &links);
        for r in &requirements {
            let block = rendered.blocks.remove(&r.id);
            if block.is_none() {
                warnings.push(format!(
                    "{}:{}: no block defines {} there; compliance.json is older than the spec \
                     (run `spectrace report`)",
                    r.spec, r.line, r.id
                ));
            }
            let block = block.unwrap_or_else(|| markdown::Block {
                text: r.title.clone(),
            });
            let anchor = requirement_anchor(&r.id);
            located.push(Located {
                req: r,
                spec_page: format!("spec/{name}.html"),
                page: format!("spec/{name}.html#{anchor}"),
                anchor,
                text: block.text,
            });
        }
        let title = rendered
            .title
            .take()
            .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_owned());
        rendered_specs.push((path.to_string(), name, title, rendered.html, requirements));
    }
    // Back to the model's order (by ID).
    let order: HashMap<&str, usize> = model
        .requirements
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    located.sort_by_key(|l| order.get(l.req.id.as_str()).copied().unwrap_or(usize::MAX));

    let mut files: Vec<SiteFile> = Vec::with_capacity(rendered_specs.len() + 6);
    for (path, name, title, html, requirements) in &rendered_specs {
        let page = pages::spec_page(&env, path, title, html, requirements)?;
        files.push(SiteFile {
            path: format!("spec/{name}.html"),
            bytes: page.into_bytes(),
        });
    }
    let spec_list: Vec<pages::SpecLink> = rendered_specs
        .iter()
        .map(|(path, name, title, _, requirements)| pages::SpecLink {
            path: path.clone(),
            title: title.clone(),
            href: format!("spec/{name}.html"),
            count: requirements.len(),
        })
        .collect();
    let dash = dashboard::dashboard(model, &located, &spec_list);
    files.push(SiteFile {
        path: "index.html".to_owned(),
        bytes: pages::index_page(&env, &dash)?.into_bytes(),
    });
    let pages_count = files.len();
    let entries = index::entries(&located);
    let json = index::to_json(&entries)?;
    files.push(SiteFile {
        path: "assets/search-index.js".to_owned(),
        bytes: format!("window.SPECTRACE_INDEX = {json};\n").into_bytes(),
    });
    files.push(SiteFile {
        path: "assets/style.css".to_owned(),
        bytes: pages::stylesheet().into_bytes(),
    });
    files.push(SiteFile {
        path: "assets/app.js".to_owned(),
        bytes: pages::APP_JS.as_bytes().to_vec(),
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Site {
        files,
        pages: pages_count,
        warnings,
    })
}

#[cfg(test)]
mod tests;
