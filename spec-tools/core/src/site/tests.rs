#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::compliance::{self, ComplianceModel, Status};
use crate::evidence::{EvidenceKind, EvidenceRecord, Outcome};
use crate::extract::parse_spec;
use crate::id::IdPattern;
use crate::model::RequirementIndex;
use crate::scan::{DeclaredEvidence, Scan};

const FIXTURE: &str = "\
# Fixture spec

Intro with raw <script>alert(1)</script> inline.

<div onclick=\"steal()\">block html</div>

## 1. Queues & admission

- [FIX-0001] The queue MUST be bounded. <script>alert(1)</script>
- [FIX-0002] It SHOULD be fair.
  - nested detail without an ID

A paragraph that MAY hold [FIX-0003] a thing, see [other](other.md#a-b), [js](javascript:alert(1)),
[ext](https://example.com/x), [code](../src/lib.rs) and [here](#1-queues--admission).

### [FIX-0004] Heading requirement

The system MUST do the heading thing.

## 1. Queues & admission

> Quoted [FIX-0005] MUST be quoted.

1. Loose item [FIX-0006] MUST be loose.

2. Second loose item.
";

const OTHER: &str = "\
# Other

## A b

- [FIX-0007] Another MUST. `</script><script>alert(2)</script>`
";

fn specs() -> Vec<SpecSource> {
    vec![
        SpecSource {
            path: ".specs/fixture.md".to_owned(),
            markdown: FIXTURE.to_owned(),
        },
        SpecSource {
            path: ".specs/other.md".to_owned(),
            markdown: OTHER.to_owned(),
        },
    ]
}

fn declared(id: &str, line: u32, kind: EvidenceKind) -> DeclaredEvidence {
    DeclaredEvidence {
        ids: vec![id.to_owned()],
        test: format!("t::test_{line}"),
        file: "tests/a.rs".to_owned(),
        line,
        end_line: line,
        kind,
    }
}

fn record(id: &str, line: u32, kind: EvidenceKind, outcome: Outcome) -> EvidenceRecord {
    EvidenceRecord {
        ids: vec![id.to_owned()],
        test: format!("t::test_{line}"),
        file: "tests/a.rs".to_owned(),
        line,
        kind,
        outcome,
        message: (outcome == Outcome::Failed).then(|| "<b>boom</b> & more".to_owned()),
        shard: None,
    }
}

/// The model of the fixture, built by the real extract and compliance stages.
fn model() -> ComplianceModel {
    let ids = IdPattern::new("FIX-[0-9]{4}").unwrap();
    let mut requirements = Vec::new();
    for spec in specs() {
        let parsed = parse_spec(&spec.path, &spec.markdown, &ids);
        requirements.extend(parsed.requirements);
    }
    requirements.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(requirements.len(), 7, "{requirements:#?}");
    let index = RequirementIndex {
        schema_version: 1,
        specs: Vec::new(),
        requirements,
    };
    let scan = Scan {
        evidence: vec![
            declared("FIX-0001", 10, EvidenceKind::Test),
            declared("FIX-0002", 20, EvidenceKind::Test),
            declared("FIX-0003", 30, EvidenceKind::Property),
            declared("FIX-0007", 40, EvidenceKind::Bdd),
        ],
        ..Scan::default()
    };
    let records = [
        record("FIX-0001", 10, EvidenceKind::Test, Outcome::Passed),
        record("FIX-0002", 20, EvidenceKind::Test, Outcome::Failed),
        record("FIX-0007", 40, EvidenceKind::Bdd, Outcome::Passed),
    ];
    compliance::build(&index, &scan, &records)
}

fn options() -> SiteOptions {
    SiteOptions {
        repo_root: Some("../../".to_owned()),
    }
}

fn site() -> Site {
    build(&model(), &specs(), &options()).unwrap()
}

fn file<'a>(site: &'a Site, path: &str) -> &'a str {
    let file = site
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path} in the site"));
    std::str::from_utf8(&file.bytes).unwrap()
}

/// The entries of `assets/search-index.js`.
fn search_index(site: &Site) -> Vec<serde_json::Value> {
    let js = file(site, "assets/search-index.js");
    let json = js
        .strip_prefix("window.SPECTRACE_INDEX = ")
        .and_then(|rest| rest.strip_suffix(";\n"))
        .unwrap();
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_file_names_are_stable() {
    let site = site();
    let names: Vec<&str> = site.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "assets/app.js",
            "assets/search-index.js",
            "assets/style.css",
            "index.html",
            "spec/fixture.html",
            "spec/other.html",
        ]
    );
    assert_eq!(site.pages, 3);
    assert!(site.warnings.is_empty(), "{:?}", site.warnings);
    assert_eq!(requirement_anchor("ORCH-3004"), "orch-3004");
    assert_eq!(requirement_anchor("OC/API 7"), "oc_api_7");
}

#[test]
fn spec_pages_are_named_by_stem_unless_stems_collide() {
    let names = spec_page_names([
        ".specs/orchestrator-spec.md",
        ".specs/a/x.md",
        ".specs/b/x.md",
    ]);
    assert_eq!(names[".specs/orchestrator-spec.md"], "orchestrator-spec");
    assert_eq!(names[".specs/a/x.md"], "specs-a-x");
    assert_eq!(names[".specs/b/x.md"], "specs-b-x");
}

#[test]
fn two_builds_are_identical() {
    assert_eq!(site(), site());
}

#[test]
fn raw_html_in_a_spec_is_shown_as_text_everywhere() {
    let site = site();
    let spec = file(&site, "spec/fixture.html");
    assert!(!spec.contains("<script>alert"), "{spec}");
    assert!(!spec.contains("<div onclick"), "{spec}");
    assert!(spec.contains("Intro with raw &lt;script&gt;alert(1)&lt;/script&gt; inline."));
    assert!(spec.contains("<pre><code>&lt;div onclick=\"steal()\"&gt;block html&lt;/div&gt;"));
    assert!(
        spec.contains("be bounded. &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{spec}"
    );
    let other = file(&site, "spec/other.html");
    assert!(!other.contains("</script><script>"), "{other}");
    assert!(
        other.contains("&lt;/script&gt;&lt;script&gt;alert(2)"),
        "{other}"
    );
    // Only the page's own script elements (head, and the index's at the end).
    for page in site.files.iter().filter(|f| f.path.ends_with(".html")) {
        let text = std::str::from_utf8(&page.bytes).unwrap();
        let scripts = text.matches("<script").count();
        let own = if page.path == "index.html" { 2 } else { 1 };
        assert_eq!(scripts, own, "{}", page.path);
    }
    // The search index: no `<` at all, so nothing can end a script element.
    let js = file(&site, "assets/search-index.js");
    assert!(!js.contains('<'), "{js}");
    assert!(js.contains("\\u003c/script>\\u003cscript>alert(2)"), "{js}");
    assert!(js.contains("\\u003cscript>alert(1)\\u003c/script>"), "{js}");
}

#[test]
fn test_text_is_escaped_by_the_templates() {
    let site = site();
    let req = file(&site, "spec/fixture.html");
    assert!(req.contains("&lt;b&gt;boom&lt;/b&gt; &amp; more"), "{req}");
    assert!(!req.contains("<b>boom"));
    let index = file(&site, "index.html");
    assert!(index.contains(">1. Queues &amp; admission</a>"), "{index}");
}

#[test]
fn every_template_is_html_escaped_whatever_its_name() {
    let mut env = pages::environment().unwrap();
    for name in ["x.txt", "x.md.j2", "x"] {
        env.add_template_owned(name.to_owned(), "{{ v }}".to_owned())
            .unwrap();
        let out = env
            .get_template(name)
            .unwrap()
            .render(minijinja::context! { v => "<a href='/x'>&</a>" })
            .unwrap();
        assert_eq!(out, "&lt;a href=&#39;/x&#39;&gt;&amp;&lt;/a&gt;", "{name}");
    }
    // Strict: an undefined variable is an error, not an empty string.
    let err = env
        .get_template("x")
        .unwrap()
        .render(minijinja::context! {});
    assert!(err.is_err());
}

#[test]
fn headings_get_the_anchors_the_extract_stage_computes() {
    let site = site();
    let spec = file(&site, "spec/fixture.html");
    for r in model()
        .requirements
        .iter()
        .filter(|r| r.spec == ".specs/fixture.md")
    {
        assert!(
            spec.contains(&format!(" id=\"{}\"", r.anchor)),
            "{}: {}",
            r.id,
            r.anchor
        );
    }
    assert!(spec.contains("<h2 id=\"1-queues--admission\">"), "{spec}");
    assert!(spec.contains("<h2 id=\"1-queues--admission-1\">"), "{spec}");
    assert!(spec.contains("<h1 id=\"fixture-spec\">"));
    let fix5 = model()
        .requirements
        .into_iter()
        .find(|r| r.id == "FIX-0005")
        .unwrap();
    assert_eq!(fix5.anchor, "1-queues--admission-1");
}

#[test]
fn each_requirement_block_carries_its_id_and_a_badge() {
    let site = site();
    let spec = file(&site, "spec/fixture.html");
    let badge = |id: &str, status: &str| {
        format!(
            "<a class=\"badge status-{status}\" href=\"#{id}\" title=\"{}: {status}\">{status}</a>",
            id.to_uppercase()
        )
    };
    for (open, id, status) in [
        ("<li class=\"req\" id=\"fix-0001\">", "fix-0001", "verified"),
        ("<li class=\"req\" id=\"fix-0002\">", "fix-0002", "failing"),
        (
            "<p class=\"req\" id=\"fix-0003\">",
            "fix-0003",
            "unverified",
        ),
        ("<p class=\"req\" id=\"fix-0005\">", "fix-0005", "uncovered"),
        (
            "<li class=\"req\" id=\"fix-0006\">",
            "fix-0006",
            "uncovered",
        ),
    ] {
        let expected = format!("{open}{}", badge(id, status));
        assert!(spec.contains(&expected), "{expected}\n{spec}");
        assert_eq!(spec.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
    }
    // A heading requirement: the heading keeps its slug, a span carries the ID and the badge.
    assert!(
        spec.contains(&format!(
            "<h3 id=\"fix-0004-heading-requirement\"><span class=\"req\" id=\"fix-0004\">[FIX-0004] Heading requirement {}</span></h3>",
            badge("fix-0004", "uncovered")
        )),
        "{spec}"
    );
    // Its details follow its block: the heading and the paragraph under it.
    assert!(
        spec.contains(
            "</span></h3>\n<p>The system MUST do the heading thing.</p>\n<div class=\"req-detail\" id=\"fix-0004-detail\">"
        ),
        "{spec}"
    );
    let entries = search_index(&site);
    let text_of = |id: &str| {
        entries.iter().find(|e| e["id"] == id).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        text_of("FIX-0004"),
        "[FIX-0004] Heading requirement The system MUST do the heading thing."
    );
    // A nested item without an ID belongs to its parent's block; the details close the item.
    assert!(text_of("FIX-0002").contains("nested detail without an ID"));
    let item = &spec[spec.find("id=\"fix-0002\"").unwrap()..];
    let nested = item.find("nested detail without an ID").unwrap();
    let detail = item
        .find("<div class=\"req-detail\" id=\"fix-0002-detail\">")
        .unwrap();
    assert!(nested < detail, "{item}");
    let after = &item[detail..];
    let after = &after[after.find("\n</div>").unwrap() + "\n</div>".len()..];
    assert!(after.trim_start().starts_with("</li>"), "{item}");
    // Other specs' requirements are on their own page.
    assert!(file(&site, "spec/other.html").contains("<li class=\"req\" id=\"fix-0007\">"));
}

#[test]
fn every_status_has_a_class_a_colour_rule_and_a_badge() {
    let mut model = model();
    let statuses: Vec<Status> = Status::ALL.iter().copied().cycle().take(7).collect();
    for (r, s) in model.requirements.iter_mut().zip(&statuses) {
        r.status = *s;
    }
    let site = build(&model, &specs(), &options()).unwrap();
    let css = file(&site, "assets/style.css");
    let index = file(&site, "index.html");
    for (r, s) in model.requirements.iter().zip(&statuses) {
        let s = s.as_str();
        assert!(
            css.contains(&format!(".status-{s}{{--st:var(--c-{s},var(--c-other))}}")),
            "{s}"
        );
        let spec_page = if r.spec.ends_with("other.md") {
            "spec/other.html"
        } else {
            "spec/fixture.html"
        };
        assert!(
            file(&site, spec_page).contains(&format!(
                "class=\"badge status-{s}\" href=\"#{}\"",
                r.id.to_lowercase()
            )),
            "{} {s}",
            r.id
        );
        assert!(
            index.contains(&format!("<option value=\"{s}\">{s}</option>")),
            "{s}"
        );
        assert!(css.contains(&format!("--c-{s}:")), "no colour for {s}");
    }
}

#[test]
fn requirement_details_show_links_and_every_evidence_item() {
    let site = site();
    let spec = file(&site, "spec/fixture.html");
    assert!(spec.contains("<meta name=\"viewport\""));
    assert!(spec.contains("<button id=\"theme-toggle\""));
    let detail = |page: &str, id: &str| -> String {
        let start = page
            .find(&format!("<div class=\"req-detail\" id=\"{id}-detail\">"))
            .unwrap_or_else(|| panic!("no details of {id}"));
        let rest = &page[start..];
        rest[..rest.find("\n</div>").unwrap()].to_owned()
    };
    let req = detail(spec, "fix-0002");
    assert!(
        req.contains("<div class=\"evidence\" id=\"fix-0002-evidence\">"),
        "{req}"
    );
    assert_eq!(req.matches("<li class=\"evidence-item").count(), 1);
    assert!(req.contains("<li class=\"evidence-item outcome-failed\"><b>test</b> <em>failed</em> <a href=\"../../../tests/a.rs#L20\">tests/a.rs:20</a> t::test_20<pre>"), "{req}");
    assert!(
        req.contains("<span class=\"rid\">FIX-0002</span> <b class=\"level-should\">SHOULD</b>"),
        "{req}"
    );
    let uncovered = detail(spec, "fix-0005");
    assert!(
        uncovered.contains("<h4>Evidence</h4><p>Nothing links"),
        "{uncovered}"
    );
    // Without a repository root, locations are not links.
    let plain = build(&model(), &specs(), &SiteOptions::default()).unwrap();
    assert!(
        detail(file(&plain, "spec/fixture.html"), "fix-0002")
            .contains("<code>tests/a.rs:20</code>")
    );
}

/// The fixture's model with strength: FIX-0001 implemented by one item and measured 1/3 with
/// two surviving mutants (one without its diff), FIX-0002 measured and stale since, the others
/// never measured.
fn model_with_strength() -> ComplianceModel {
    let mut model = model();
    let survivor = |name: &str, line: u32, diff: Option<&str>| compliance::Survivor {
        name: name.to_owned(),
        file: "src/queue.rs".to_owned(),
        line,
        diff: diff.map(str::to_owned),
    };
    let fix1 = &mut model.requirements[0];
    assert_eq!(fix1.id, "FIX-0001");
    fix1.implementations = vec![compliance::Link {
        file: "src/queue.rs".to_owned(),
        line: 12,
        target: "Queue::admit".to_owned(),
    }];
    fix1.strength = Some(compliance::Strength {
        caught: 1,
        missed: 2,
        waived: 1,
        unviable: 3,
        stale: false,
        survivors: vec![
            survivor(
                "src/queue.rs:14:19: replace * with + in Queue::admit",
                14,
                Some(
                    "--- src/queue.rs\n+++ src/queue.rs\n@@ -13,3 +13,3 @@\n     let a = 1;\n-    a * 2 < cap\n+    a + /* ~ changed by spectrace strength ~ */ 2 < cap\n }\n",
                ),
            ),
            survivor(
                "src/queue.rs:15:5: replace Queue::admit -> bool with true",
                15,
                None,
            ),
        ],
        unjudged_waiver: None,
    });
    let fix2 = &mut model.requirements[1];
    assert_eq!(fix2.id, "FIX-0002");
    fix2.strength = Some(compliance::Strength {
        caught: 2,
        missed: 0,
        waived: 0,
        unviable: 0,
        stale: true,
        survivors: Vec::new(),
        unjudged_waiver: None,
    });
    model
}

#[test]
fn strength_is_shown_beside_each_status_with_the_survivors_and_their_diffs() {
    let site = build(&model_with_strength(), &specs(), &options()).unwrap();
    let spec = file(&site, "spec/fixture.html");
    // Beside the status badge of each measured requirement, nothing beside the others.
    assert!(spec.contains("title=\"FIX-0001: verified\">verified</a> <span class=\"strength\" title=\"FIX-0001: evidence strength 1/3\">1/3</span> "), "{spec}");
    assert!(spec.contains("title=\"FIX-0002: failing\">failing</a> <span class=\"strength\" title=\"FIX-0002: evidence strength stale\">stale</span> "), "{spec}");
    assert!(
        spec.contains("title=\"FIX-0003: unverified\">unverified</a> A paragraph"),
        "{spec}"
    );
    assert_eq!(
        spec.matches("<span class=\"strength\"").count(),
        2,
        "{spec}"
    );

    let detail = |page: &str, id: &str| -> String {
        let start = page
            .find(&format!("<div class=\"req-detail\" id=\"{id}-detail\">"))
            .unwrap_or_else(|| panic!("no details of {id}"));
        let rest = &page[start..];
        rest[..rest.find("\n</div>").unwrap()].to_owned()
    };
    let fix1 = detail(spec, "fix-0001");
    // The implementing item, linked to its line.
    assert!(fix1.contains("<h4>Implementations</h4><ul>\n<li><a href=\"../../../src/queue.rs#L12\">src/queue.rs:12</a> <code>Queue::admit</code></li>"), "{fix1}");
    // The strength, then every surviving mutant: file:line linked, the mutation as
    // cargo-mutants names it, and its diff line by line, escaped.
    assert!(fix1.contains("<div class=\"strength-detail\" id=\"fix-0001-strength\"><h4>Strength</h4><p><b class=\"strength\">1/3</b> mutants of its implementing items caught by its evidence · 1 waived as equivalent · 3 unviable</p>"), "{fix1}");
    assert_eq!(fix1.matches("<li class=\"survivor\">").count(), 2, "{fix1}");
    assert!(fix1.contains("<li class=\"survivor\">survived: <a href=\"../../../src/queue.rs#L14\">src/queue.rs:14</a> <code>replace * with + in Queue::admit</code><pre class=\"diff\"><span class=\"diff-file\">--- src/queue.rs</span><span class=\"diff-file\">+++ src/queue.rs</span><span class=\"diff-hunk\">@@ -13,3 +13,3 @@</span><span class=\"diff-ctx\">     let a = 1;</span><span class=\"diff-del\">-    a * 2 &lt; cap</span><span class=\"diff-add\">+    a + /* ~ changed by spectrace strength ~ */ 2 &lt; cap</span><span class=\"diff-ctx\"> }</span></pre></li>"), "{fix1}");
    assert!(fix1.contains("<li class=\"survivor\">survived: <a href=\"../../../src/queue.rs#L15\">src/queue.rs:15</a> <code>replace Queue::admit -&gt; bool with true</code></li>"), "{fix1}");
    // The strength comes before the evidence.
    assert!(fix1.find("-strength\"").unwrap() < fix1.find("-evidence\"").unwrap());
    let fix2 = detail(spec, "fix-0002");
    assert!(fix2.contains("<p><b class=\"strength\">stale</b>: measured 2/2, but its implementing items or evidence changed since</p></div>"), "{fix2}");
    assert!(!fix2.contains("survivor"), "{fix2}");
    assert!(!detail(spec, "fix-0003").contains("Strength"));

    // The worst gaps and the search list show it beside the status too.
    let index = file(&site, "index.html");
    assert!(index.contains(">FIX-0002</a> <span class=\"level\">SHOULD</span> <span class=\"badge status-failing\">failing</span> <span class=\"strength\" title=\"evidence strength\">stale</span> It SHOULD be fair</li>"), "{index}");
    assert!(index.contains(">FIX-0003</a> <span class=\"level\">MAY</span> <span class=\"badge status-unverified\">unverified</span> A paragraph"), "{index}");
    let entries = search_index(&site);
    let strength = |i: usize| entries[i].get("strength").cloned();
    assert_eq!(strength(0), Some(serde_json::json!("1/3")));
    assert_eq!(strength(1), Some(serde_json::json!("stale")));
    assert_eq!(strength(2), None, "unmeasured: no strength at all");
    assert!(pages::APP_JS.contains("r.strength"));

    // Without a repository root, locations are shown, not linked.
    let plain = build(&model_with_strength(), &specs(), &SiteOptions::default()).unwrap();
    let fix1 = detail(file(&plain, "spec/fixture.html"), "fix-0001");
    assert!(
        fix1.contains("survived: <code>src/queue.rs:14</code>"),
        "{fix1}"
    );
    assert!(
        fix1.contains("<li><code>src/queue.rs:12</code> <code>Queue::admit</code></li>"),
        "{fix1}"
    );
}

#[test]
fn the_mutation_is_the_name_without_its_location() {
    assert_eq!(
        pages::mutation_of("src/a.rs:30:59: replace == with != in place"),
        "replace == with != in place"
    );
    assert_eq!(pages::mutation_of("replace x"), "replace x");
}

#[test]
fn spec_links_are_rewritten_for_the_site() {
    let site = site();
    let spec = file(&site, "spec/fixture.html");
    assert!(
        spec.contains("<a href=\"../spec/other.html#a-b\">other</a>"),
        "{spec}"
    );
    assert!(spec.contains("<a href=\"#\">js</a>"), "{spec}");
    assert!(
        spec.contains("<a href=\"https://example.com/x\">ext</a>"),
        "{spec}"
    );
    assert!(
        spec.contains("<a href=\"../../../src/lib.rs\">code</a>"),
        "{spec}"
    );
    assert!(
        spec.contains("<a href=\"../spec/fixture.html#1-queues--admission\">here</a>"),
        "{spec}"
    );
    assert!(!spec.contains("javascript:"));
    let plain = build(&model(), &specs(), &SiteOptions::default()).unwrap();
    assert!(file(&plain, "spec/fixture.html").contains("<a href=\"../src/lib.rs\">code</a>"));
}

#[test]
fn the_search_index_has_one_entry_per_requirement() {
    let site = site();
    let js = file(&site, "assets/search-index.js");
    let json = js
        .strip_prefix("window.SPECTRACE_INDEX = ")
        .and_then(|rest| rest.strip_suffix(";\n"))
        .unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "FIX-0001", "FIX-0002", "FIX-0003", "FIX-0004", "FIX-0005", "FIX-0006", "FIX-0007"
        ]
    );
    let fix2 = &entries[1];
    assert_eq!(
        fix2,
        &serde_json::json!({
            "id": "FIX-0002",
            "level": "should",
            "status": "failing",
            "title": "It SHOULD be fair",
            "section": "1. Queues & admission",
            "sec": "spec/fixture.html#1-queues--admission",
            "spec": "spec/fixture.html#fix-0002",
            "page": "spec/fixture.html#fix-0002",
            "kinds": ["test"],
            "text": "[FIX-0002] It SHOULD be fair. nested detail without an ID",
        })
    );
    assert_eq!(entries[6]["kinds"], serde_json::json!(["bdd"]));
    assert_eq!(entries[4]["kinds"], serde_json::json!([]));
    assert_eq!(entries[4]["sec"], "spec/fixture.html#1-queues--admission-1");
}

#[test]
fn the_dashboard_has_totals_bars_and_the_worst_gaps_first() {
    let model = model();
    let site = build(&model, &specs(), &options()).unwrap();
    let index = file(&site, "index.html");
    for contract in [
        "<input id=\"search\" type=\"search\"",
        "<select id=\"filter-level\"",
        "<select id=\"filter-status\"",
        "<select id=\"filter-section\"",
        "<select id=\"filter-kind\"",
        "<span id=\"result-count\">7</span>",
        "<ul id=\"results\">",
        "<button id=\"theme-toggle\"",
        "<meta name=\"viewport\"",
    ] {
        assert!(index.contains(contract), "{contract}");
    }
    // MUST: 2 verified… per level, and the totals row.
    assert!(index.contains("<tr class=\"level-must\"><th>MUST</th><td class=\"status-verified\">2</td><td class=\"status-unverified\">0</td><td class=\"status-suspect\">0</td><td class=\"status-uncovered\">3</td><td class=\"status-failing\">0</td><td>5</td></tr>"), "{index}");
    assert!(index.contains("<tr class=\"level-all\"><th>all</th>"));
    // One bar per section.
    let sections: std::collections::BTreeSet<(&str, &str)> = model
        .requirements
        .iter()
        .map(|r| (r.spec.as_str(), r.anchor.as_str()))
        .collect();
    assert_eq!(index.matches("<svg class=\"bar\"").count(), sections.len());
    assert!(index.contains("<svg class=\"bar\" viewBox=\"0 0 3 1\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"1 verified, 1 unverified, 1 failing\"><title>1 verified, 1 unverified, 1 failing</title><rect class=\"status-verified\" x=\"0\" width=\"1\" height=\"1\"/><rect class=\"status-unverified\" x=\"1\" width=\"1\" height=\"1\"/><rect class=\"status-failing\" x=\"2\" width=\"1\" height=\"1\"/></svg>"), "{index}");
    // Gaps: MUST before SHOULD before MAY; within a level failing, uncovered, suspect,
    // unverified (the status rank, reversed); then ID.
    let gaps = &index[index.find("<ol class=\"gaps\">").unwrap()..];
    let gaps = &gaps[..gaps.find("</ol>").unwrap()];
    let order: Vec<usize> = ["FIX-0004", "FIX-0005", "FIX-0006", "FIX-0002", "FIX-0003"]
        .iter()
        .map(|id| gaps.find(&format!(">{id}</a>")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{gaps}");
    assert!(!gaps.contains("FIX-0001") && !gaps.contains("FIX-0007"));
    // Filters offer what the model has.
    assert!(index.contains("<option value=\"bdd\">bdd</option><option value=\"property\">property</option><option value=\"test\">test</option>"), "{index}");
    assert!(index.contains("<option value=\"spec/fixture.html#1-queues--admission-1\">Fixture spec › 1. Queues &amp; admission</option>"), "{index}");
}

#[test]
fn gap_ranks_put_failing_first_and_verified_nowhere() {
    let ranked: Vec<Option<u8>> = Status::ALL.iter().map(|&s| gap_rank(s)).collect();
    for (s, rank) in Status::ALL.iter().zip(&ranked) {
        assert_eq!(rank.is_none(), *s == Status::Verified, "{s}");
    }
    assert!(gap_rank(Status::Failing) < gap_rank(Status::Uncovered));
    assert!(gap_rank(Status::Uncovered) < gap_rank(Status::Suspect));
    assert!(gap_rank(Status::Suspect) < gap_rank(Status::Unverified));
}

#[test]
fn a_model_older_than_its_spec_warns_and_still_builds() {
    let mut model = model();
    model.requirements[0].line = 2;
    let site = build(&model, &specs(), &options()).unwrap();
    assert_eq!(site.warnings.len(), 1, "{:?}", site.warnings);
    assert!(site.warnings[0].starts_with(".specs/fixture.md:2: no block defines FIX-0001"));
    let index = file(&site, "assets/search-index.js");
    assert!(
        index.contains("\"text\":\"The queue MUST be bounded\""),
        "{index}"
    );
}

#[test]
fn a_spec_that_was_not_given_is_an_error() {
    let err = build(&model(), &specs()[..1], &options()).unwrap_err();
    assert!(
        err.starts_with(".specs/other.md: the spec of FIX-0007"),
        "{err}"
    );
}

#[test]
fn the_model_is_read_from_compliance_json() {
    let model = model();
    let text = crate::report::compliance_json(&model).unwrap();
    assert_eq!(parse_model(&text).unwrap(), model);
    let (line, message) =
        parse_model("{\n  \"schema_version\": 1,\n  \"totals\": 3\n}").unwrap_err();
    assert_eq!(line, Some(3), "{message}");
    let (_, message) = parse_model(&text.replacen(
        &format!(
            "\"schema_version\": {}",
            crate::compliance::COMPLIANCE_SCHEMA_VERSION
        ),
        "\"schema_version\": 99",
        1,
    ))
    .unwrap_err();
    assert!(message.contains("schema_version 99"), "{message}");
    assert_eq!(spec_paths(&model), [".specs/fixture.md", ".specs/other.md"]);
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    /// Markdown lines, `{id}` replaced by a fresh ID per line.
    const LINES: &[&str] = &[
        "# Title",
        "## Section & more",
        "## Section & more",
        "### [{id}] Heading requirement",
        "Paragraph that MUST hold [{id}] here.",
        "- [{id}] Item MUST be.",
        "  - nested [{id}] SHOULD be.",
        "  - nested without an ID",
        "> Quoted [{id}] MAY be.",
        "1. Loose [{id}] MUST.",
        "",
        "",
        "<div>[{id}] in html</div>",
        "Text with <script>x</script> [{id}] MUST.",
        "```",
        "| a | [{id}] |",
        "|---|---|",
        "[link [{id}]](other.md) MUST",
        "`[{id}]` in code MUST",
    ];

    proptest! {
        #[test]
        fn any_spec_renders_every_requirement_block_and_no_raw_html(
            picks in prop::collection::vec(0..LINES.len(), 0..30)
        ) {
            let text: String = picks
                .iter()
                .enumerate()
                .map(|(n, &i)| LINES[i].replace("{id}", &format!("FIX-{n:04}")) + "\n")
                .collect();
            let ids = IdPattern::new("FIX-[0-9]{4}").unwrap();
            let parsed = parse_spec(".specs/s.md", &text, &ids);
            let marks: HashMap<usize, markdown::Mark> = parsed
                .requirements
                .iter()
                .map(|r| {
                    (r.line, markdown::Mark {
                        id: r.id.clone(),
                        anchor: r.id.to_lowercase(),
                        status: "verified",
                        strength: None,
                        detail: format!("<aside id=\"{}-detail\"></aside>", r.id.to_lowercase()),
                    })
                })
                .collect();
            let names = spec_page_names([".specs/s.md"]);
            let links = markdown::LinkContext {
                spec_path: ".specs/s.md",
                page_name: "s",
                spec_pages: &names,
                repo_root: None,
            };
            let rendered = markdown::render_spec(&text, &marks, &links);
            for r in &parsed.requirements {
                prop_assert!(rendered.blocks.contains_key(&r.id), "{} not found in\n{text}", r.id);
                prop_assert_eq!(
                    rendered.html.matches(&format!(" id=\"{}\"", r.id.to_lowercase())).count(),
                    1,
                    "{}", &text
                );
                // Its details, once, after its anchor.
                let detail = format!("<aside id=\"{}-detail\"></aside>", r.id.to_lowercase());
                prop_assert_eq!(rendered.html.matches(&detail).count(), 1, "{}", &text);
                let at = |s: &str| rendered.html.find(s).unwrap_or(usize::MAX);
                prop_assert!(at(&format!(" id=\"{}\"", r.id.to_lowercase())) < at(&detail), "{}", &text);
                // The section's heading has the anchor the extract stage gave it.
                prop_assert!(
                    r.anchor.is_empty() || rendered.html.contains(&format!(" id=\"{}\"", r.anchor)),
                    "{}", &text
                );
            }
            prop_assert!(!rendered.html.contains("<script"));
            prop_assert!(!rendered.html.contains("<div"));
        }
    }
}
